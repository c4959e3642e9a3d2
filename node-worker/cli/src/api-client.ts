import { createReadStream, createWriteStream } from "node:fs";
import { stat } from "node:fs/promises";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { ReadableStream as WebReadableStream } from "node:stream/web";
import type { JobSpecInput, KeyCreate } from "@framewire/shared";
import { type ApiResult, createFramewireClient, uploadDestination } from "@framewire/shared/client";
import { CliError, exitCodes } from "./exit-codes";

/**
 * The slice of the API the CLI uses: the typed client (`@framewire/shared/client`) with its answers
 * turned into values or CliErrors (3: the API refused; 4: it could not be reached).
 */
export function createApiClient(apiUrl: string, apiKey: string) {
  const base = apiUrl.replace(/\/+$/, "");
  const client = createFramewireClient({ baseUrl: base, apiKey });

  async function unwrap<T>(call: () => Promise<ApiResult<T>>, where = new URL(base).host): Promise<T> {
    let result: ApiResult<T>;
    try {
      result = await call();
    } catch (error) {
      throw new CliError(`cannot reach ${where}: ${(error as Error).cause ?? error}`, exitCodes.unreachable);
    }
    if (!result.ok)
      throw new CliError(`${result.problem.code}: ${result.problem.detail}`, exitCodes.apiRefused);
    return result.data;
  }

  return {
    /** Asks where to PUT the file, then streams it there (the edge itself or a presigned S3 URL). */
    async upload(path: string): Promise<string> {
      const { size } = await stat(path).catch(() => {
        throw new CliError(`no such file: ${path}`, exitCodes.usage);
      });
      const target = await unwrap(() => client.uploads.create({ size_bytes: size }));
      const body = Readable.toWeb(createReadStream(path)) as unknown as ReadableStream<Uint8Array>;
      const host = new URL(uploadDestination(base, target).url).host;
      await unwrap(() => client.uploads.put(target, body, { contentLength: size }), host);
      return target.id;
    },
    createJob: (spec: JobSpecInput) => unwrap(() => client.jobs.create(spec)),
    getJob: (id: string) => unwrap(() => client.jobs.get(id)),
    listJobs: (query: Parameters<typeof client.jobs.list>[0]) => unwrap(() => client.jobs.list(query)),
    cancelJob: (id: string) => unwrap(() => client.jobs.cancel(id)),
    admin: {
      listTenants: () => unwrap(() => client.admin.listTenants()),
      createTenant: (name: string) => unwrap(() => client.admin.createTenant(name)),
      listKeys: (tenantId?: string) => unwrap(() => client.admin.listKeys(tenantId)),
      createKey: (tenantId: string, body: KeyCreate) => unwrap(() => client.admin.createKey(tenantId, body)),
      revokeKey: (id: string) => unwrap(() => client.admin.revokeKey(id)),
      keyJobs: (id: string, limit?: number) =>
        unwrap(() => client.admin.keyJobs(id, limit === undefined ? {} : { limit })),
      rotateKey: (id: string, graceSec?: number) =>
        unwrap(() =>
          client.admin.rotateKey(id, graceSec === undefined ? {} : { grace_period_sec: graceSec }),
        ),
    },
    async download(url: string, destination: string): Promise<void> {
      const response = await fetch(url).catch((error: unknown) => {
        throw new CliError(`cannot download ${url}: ${String(error)}`, exitCodes.unreachable);
      });
      if (!response.ok || !response.body)
        throw new CliError(`download answered HTTP ${response.status}`, exitCodes.apiRefused);
      await pipeline(
        Readable.fromWeb(response.body as WebReadableStream<Uint8Array>),
        createWriteStream(destination),
      );
    },
  };
}

export type ApiClient = ReturnType<typeof createApiClient>;
