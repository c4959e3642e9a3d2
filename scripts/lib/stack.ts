import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createWriteStream, existsSync } from "node:fs";
import { chmod, mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { createConnection, createServer } from "node:net";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { checkApiKey, createTenant, issueApiKey } from "../../edge/src/auth/api-keys";
import { openDatabase } from "../../edge/src/nodejs/database";
import { type CompiledEntry, compiledEntries, compiledFile } from "./compiled-entries";

/**
 * Starts the all-in-one stack as child processes: nats-server (JetStream), the edge, the progress
 * gateway and processing nodes. Used by `npm start` and by the end-to-end tests (on free ports).
 */

export const repoRoot = resolve(fileURLToPath(new URL("../..", import.meta.url)));

export interface StackOptions {
  dataDir: string;
  /** 0 picks a free port. */
  ports: { api: number; gateway: number; nats: number };
  /** Variable names for the one-line "port in use" error. */
  portVariables?: { api: string; gateway: string; nats: string };
  engine?: "auto" | "native" | "wasm";
  nodes?: number;
  slots?: number;
  logLevel?: string;
  /** Where child output goes: the terminal, or a log file per process under dataDir/logs. */
  output: "inherit" | "files";
  extraNodeEnv?: Record<string, string>;
  /** Extra settings for the edge (e.g. webhook retry timing in tests). */
  extraEdgeEnv?: Record<string, string>;
  /** Extra settings for the gateway (e.g. FW_METRICS_TOKEN in tests). */
  extraGatewayEnv?: Record<string, string>;
  /** Use an existing NATS (e.g. a test cluster) instead of starting nats-server. */
  nats?: { url: string; replicas: 1 | 3 | 5 };
  /**
   * Run the compiled build in this folder (scripts/build.ts) with plain `node`, from its parent
   * folder, instead of the TypeScript sources through tsx.
   */
  compiledDir?: string;
}

export interface Stack {
  apiUrl: string;
  progressUrl: string;
  natsUrl: string;
  apiKey: string;
  tenantId: string;
  secrets: { tokenSecret: string; nodeToken: string };
  processes: Map<string, ChildProcess>;
  startNode(name: string, env?: Record<string, string>): ChildProcess;
  /** Stops the edge (SIGTERM, as a deploy would) and starts it again on the same port. */
  restartEdge(): Promise<void>;
  stop(): Promise<void>;
}

export class PortInUseError extends Error {}

async function ensurePortFree(port: number, variable: string): Promise<void> {
  if (port === 0) return;
  await new Promise<void>((resolvePort, reject) => {
    const server = createServer();
    server.once("error", () =>
      reject(new PortInUseError(`port ${port} is already in use: set ${variable} to a free port`)),
    );
    server.listen(port, "127.0.0.1", () => server.close(() => resolvePort()));
  });
}

export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolvePort(port));
    });
  });
}

/** Resolves with the port a child reports in its IPC `listening` message. */
function listeningPort(what: string, child: ChildProcess, logFile: string | null, timeoutMs = 30_000) {
  return new Promise<number>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${what} did not start listening within ${timeoutMs} ms`)),
      timeoutMs,
    );
    child.on("message", (message: { type?: string; port?: number }) => {
      if (message?.type === "listening" && typeof message.port === "number") {
        clearTimeout(timer);
        resolve(message.port);
      }
    });
    child.once("exit", async (code) => {
      clearTimeout(timer);
      const log = logFile ? await readFile(logFile, "utf8").catch(() => "") : "";
      const tail = log.trim().split("\n").slice(-8).join("\n  ");
      reject(new Error(`${what} exited with code ${code} during start-up${tail ? `:\n  ${tail}` : ""}`));
    });
  });
}

/** Polls `check` until it holds; fails early, with the last lines of its log, if `child` exits. */
export async function waitFor(
  what: string,
  check: () => Promise<boolean>,
  child: ChildProcess,
  logFile: string | null,
  timeoutMs = 30_000,
) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) {
      // Say why: the last lines the process wrote, when its output goes to a file.
      const log = logFile ? await readFile(logFile, "utf8").catch(() => "") : "";
      const tail = log.trim().split("\n").slice(-8).join("\n  ");
      throw new Error(
        `${what} exited with code ${child.exitCode} during start-up${tail ? `:\n  ${tail}` : ""}`,
      );
    }
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what} did not become ready within ${timeoutMs} ms`);
}

/**
 * The ports a nats-server started with `--ports_file_dir dir` listens on (null for a listener it
 * doesn't have), or null until it has written them: its ports file appears once its listeners are up.
 */
export async function natsListenPorts(
  dir: string,
  child: ChildProcess,
): Promise<{ nats: number; websocket: number | null; monitoring: number | null } | null> {
  const text = await readFile(join(dir, `nats-server_${child.pid}.ports`), "utf8").catch(() => null);
  if (!text) return null;
  const ports = JSON.parse(text) as { nats?: string[]; websocket?: string[]; monitoring?: string[] };
  const portOf = (urls: string[] | undefined) => {
    const port = Number(urls?.[0] ? new URL(urls[0]).port : 0);
    return port > 0 ? port : null;
  };
  const nats = portOf(ports.nats);
  return nats === null
    ? null
    : { nats, websocket: portOf(ports.websocket), monitoring: portOf(ports.monitoring) };
}

/** Waits until something accepts TCP connections on a loopback port (or the child exits). */
export async function waitForTcpPort(what: string, port: number, child: ChildProcess, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await tcpOpen(port))) {
    if (child.exitCode !== null) throw new Error(`${what} exited with ${child.exitCode}`);
    if (Date.now() > deadline) throw new Error(`${what} did not start listening on ${port}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const tcpOpen = (port: number) =>
  new Promise<boolean>((resolveOpen) => {
    const socket = createConnection({ port, host: "127.0.0.1" });
    socket.once("connect", () => {
      socket.end();
      resolveOpen(true);
    });
    socket.once("error", () => resolveOpen(false));
  });

const httpOk = async (url: string) => (await fetch(url, { signal: AbortSignal.timeout(1000) })).ok;

async function loadSecrets(dataDir: string) {
  const file = join(dataDir, "secrets.json");
  if (existsSync(file)) return JSON.parse(await readFile(file, "utf8")) as Stack["secrets"];
  const secrets = {
    tokenSecret: randomBytes(32).toString("hex"),
    nodeToken: randomBytes(32).toString("hex"),
  };
  await writeFile(file, JSON.stringify(secrets, null, 2), { mode: 0o600 });
  return secrets;
}

/** Reuses the local key recorded in local.json while it is still valid; otherwise makes a tenant and key. */
async function provisionLocalKey(dbUrl: string, dataDir: string) {
  const { db, close } = await openDatabase(dbUrl);
  try {
    const file = join(dataDir, "local.json");
    if (existsSync(file)) {
      const previous = JSON.parse(await readFile(file, "utf8")) as { apiKey?: string };
      if (previous.apiKey) {
        const check = await checkApiKey(db, previous.apiKey, Date.now());
        if (check.ok) return { apiKey: previous.apiKey, tenantId: check.tenantId };
      }
    }
    const tenantId = await createTenant(db, "local");
    const issued = await issueApiKey(db, {
      tenantId,
      name: "local",
      scopes: ["jobs:read", "jobs:write", "admin"],
    });
    return { apiKey: issued.key, tenantId };
  } finally {
    close();
  }
}

/**
 * nats-server can't notice its launcher dying (the TS children can, through IPC). If a launcher
 * was killed hard, the nats-server it left on this data dir is found by its pid file and stopped.
 */
async function stopLeftoverNats(dataDir: string): Promise<void> {
  const pidFile = join(dataDir, "nats.pid");
  const pid = Number((await readFile(pidFile, "utf8").catch(() => "")).trim());
  if (!pid) return;
  const cmdline = await readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => "");
  if (!cmdline.includes("nats-server") || !cmdline.includes(join(dataDir, "nats"))) return;
  process.kill(pid, "SIGTERM");
  for (let i = 0; i < 100 && existsSync(`/proc/${pid}`); i++) await new Promise((r) => setTimeout(r, 50));
}

export async function startStack(options: StackOptions): Promise<Stack> {
  const dataDir = resolve(options.dataDir);
  await stopLeftoverNats(dataDir);
  const vars = options.portVariables ?? {
    api: "FW_API_PORT",
    gateway: "FW_GATEWAY_PORT",
    nats: "FW_NATS_PORT",
  };
  if (!options.nats) await ensurePortFree(options.ports.nats, vars.nats);
  await ensurePortFree(options.ports.api, vars.api);
  await ensurePortFree(options.ports.gateway, vars.gateway);
  // The data folder holds the database (with webhook signing secrets), the local API key and every
  // tenant's media: owner-only, also when it was made before by an older version. The processes
  // started from here (nats-server, the edge, the nodes) inherit the umask.
  process.umask(0o077);
  await mkdir(join(dataDir, "logs"), { recursive: true, mode: 0o700 });
  await mkdir(join(dataDir, "storage"), { recursive: true, mode: 0o700 });
  await chmod(dataDir, 0o700);

  const apiPort = options.ports.api || (await freePort());
  const apiUrl = `http://127.0.0.1:${apiPort}`;
  const dbUrl = `file:${join(dataDir, "framewire.db")}`;
  const secrets = await loadSecrets(dataDir);
  const processes = new Map<string, ChildProcess>();

  const logOf = (name: string) => (options.output === "files" ? join(dataDir, "logs", `${name}.log`) : null);
  const launch = (name: string, command: string, args: string[], env: Record<string, string>) => {
    // The compiled build runs as an image would: outside the repository, with no loader hooks.
    const inherited = options.compiledDir ? { ...process.env, NODE_OPTIONS: "" } : process.env;
    const child = spawn(command, args, {
      cwd: options.compiledDir ? dirname(options.compiledDir) : repoRoot,
      env: { ...inherited, ...env },
      // Own process group: Ctrl-C reaches only the launcher, which stops children in order
      // (nodes drain before NATS goes away). The IPC channel lets a child notice the launcher
      // dying (its 'disconnect' event) and stop itself rather than linger.
      detached: true,
      stdio:
        options.output === "inherit"
          ? ["ignore", "inherit", "inherit", "ipc"]
          : ["ignore", "pipe", "pipe", "ipc"],
    });
    if (options.output === "files") {
      const log = createWriteStream(join(dataDir, "logs", `${name}.log`), { flags: "a" });
      child.stdout?.pipe(log);
      child.stderr?.pipe(log);
    }
    processes.set(name, child);
    return child;
  };
  const start = (name: string, entry: CompiledEntry, env: Record<string, string>) =>
    options.compiledDir
      ? launch(name, process.execPath, [join(options.compiledDir, compiledFile(entry))], env)
      : launch(name, process.execPath, ["--import", "tsx", compiledEntries[entry]], env);

  const stopOne = (child: ChildProcess) =>
    new Promise<void>((done) => {
      if (child.exitCode !== null || child.signalCode !== null) return done();
      const kill = setTimeout(() => child.kill("SIGKILL"), 10_000);
      child.once("exit", () => {
        clearTimeout(kill);
        done();
      });
      child.kill("SIGTERM");
    });
  /** Reverse start order: processing nodes and the gateway first, then the edge, NATS last. */
  const stop = async () => {
    const children = [...processes.values()].reverse();
    const first = children.filter((c) => c !== processes.get("nats") && c !== processes.get("edge"));
    await Promise.all(first.map(stopOne));
    for (const name of ["edge", "nats"]) {
      const child = processes.get(name);
      if (child) await stopOne(child);
    }
  };

  try {
    let natsUrl = options.nats?.url ?? "";
    if (!options.nats) {
      // Port 0: nats-server picks a free one itself (-1) and writes it to its ports file, so two
      // stacks on one machine can never end up sharing one server (a port picked here could be
      // taken before nats-server binds it, and the readiness probe would then reach the other's).
      const portsDir = join(dataDir, "nats-ports");
      await rm(portsDir, { recursive: true, force: true });
      await mkdir(portsDir, { recursive: true });
      const nats = launch(
        "nats",
        "nats-server",
        [
          "-js",
          "-a",
          "127.0.0.1",
          "-p",
          options.ports.nats ? String(options.ports.nats) : "-1",
          "--ports_file_dir",
          portsDir,
          "-sd",
          join(dataDir, "nats"),
          "-P",
          join(dataDir, "nats.pid"),
        ],
        {},
      );
      let natsPort = 0;
      await waitFor(
        "nats-server",
        async () => {
          natsPort = (await natsListenPorts(portsDir, nats))?.nats ?? 0;
          return natsPort > 0 && (await tcpOpen(natsPort));
        },
        nats,
        logOf("nats"),
      );
      natsUrl = `nats://127.0.0.1:${natsPort}`;
    }

    const { apiKey, tenantId } = await provisionLocalKey(dbUrl, dataDir);
    const logLevel = options.logLevel ?? "info";
    const common = {
      FW_NATS_URL: natsUrl,
      FW_NATS_REPLICAS: String(options.nats?.replicas ?? 1),
      FW_LOG_LEVEL: logLevel,
      FW_STORAGE_DIR: join(dataDir, "storage"),
    };

    // The gateway binds a port of its own choosing (0 = any) and reports it over IPC before the
    // edge starts: a port picked here and bound seconds later can meanwhile be taken as the
    // ephemeral port of some outgoing connection.
    const gateway = start("gateway", "gateway", {
      ...common,
      FW_GATEWAY_PORT: String(options.ports.gateway),
      FW_TOKEN_SECRET: secrets.tokenSecret,
      ...options.extraGatewayEnv,
    });
    const gatewayPort = await listeningPort("gateway", gateway, logOf("gateway"));
    const progressUrl = `ws://127.0.0.1:${gatewayPort}`;

    const startEdge = async () => {
      const edge = start("edge", "edge", {
        ...common,
        FW_API_PORT: String(apiPort),
        FW_DB_URL: dbUrl,
        FW_PUBLIC_URL: apiUrl,
        FW_PROGRESS_URL: progressUrl,
        FW_TOKEN_SECRET: secrets.tokenSecret,
        FW_NODE_TOKEN: secrets.nodeToken,
        ...options.extraEdgeEnv,
      });
      // The edge says when it holds the port; only then is a health answer surely its own.
      const port = await listeningPort("edge", edge, logOf("edge"), 60_000);
      if (port !== apiPort) throw new Error(`the edge listens on ${port}, not on ${apiPort}`);
      await waitFor("edge", () => httpOk(`${apiUrl}/v1/health`), edge, logOf("edge"));
    };
    await startEdge();
    const restartEdge = async () => {
      const edge = processes.get("edge");
      if (edge) await stopOne(edge);
      await startEdge();
    };

    const startNode = (name: string, env: Record<string, string> = {}) =>
      start(name, "node", {
        ...common,
        FW_EDGE_URL: apiUrl,
        FW_NODE_TOKEN: secrets.nodeToken,
        FW_WORK_DIR: join(dataDir, "work", name),
        FW_NODE_ID: name,
        FW_ENGINE: options.engine ?? "auto",
        FW_SLOTS: String(options.slots ?? 1),
        ...options.extraNodeEnv,
        ...env,
      });
    for (let i = 1; i <= (options.nodes ?? 1); i++) startNode(`node-${i}`);

    const local = { apiUrl, progressUrl, apiKey };
    // The database and NATS addresses are for the CLI's operator commands (doctor, backup, restore).
    await writeFile(
      join(dataDir, "local.json"),
      `${JSON.stringify({ ...local, dbUrl, natsUrl }, null, 2)}\n`,
      { mode: 0o600 },
    );
    return { ...local, natsUrl, tenantId, secrets, processes, startNode, restartEdge, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
