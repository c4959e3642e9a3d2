import {
  type ApiResult,
  createFramewireClient,
  describeProblem,
  type Job,
  type NodeList,
  type Problem,
  uploadDestination,
} from "@framewire/shared/client";

export type { ApiResult, Job, Problem };
export { describeProblem };
export type JobOutput = Job["outputs"][number];
type FileEntry = NonNullable<JobOutput["files"]>[number];
/** A file that can still be fetched (retention deletes outputs, and their links go null). */
export type OutputFile = FileEntry & { url: string };
/** An output whose files are still stored. */
export type LiveOutput = Omit<JobOutput, "url" | "files"> & { url: string; files?: OutputFile[] };
export type FleetSummary = NodeList;

/** The output with its links, or null once retention deleted it. */
export function liveOutput(output: JobOutput): LiveOutput | null {
  const { url, files } = output;
  if (url === null) return null;
  return { ...output, url, files: files?.filter((f): f is OutputFile => f.url !== null) };
}

/**
 * The API calls the console makes: the typed client (`@framewire/shared/client`, which bundles no
 * zod, NATS or database code) on the page's own origin, plus an upload with progress events.
 */
export function createApi(apiKey: string) {
  const origin = window.location.origin;
  const client = createFramewireClient({ baseUrl: origin, apiKey });

  /**
   * Asks where to put the file, then PUTs it with XMLHttpRequest (fetch reports no upload
   * progress). The API key goes only to this edge, never to a presigned storage URL.
   */
  async function upload(
    file: File,
    onProgress: (fraction: number) => void,
    signal: AbortSignal,
  ): Promise<ApiResult<{ id: string }>> {
    signal.throwIfAborted();
    // The size is required when uploads go straight to S3: the presigned PUT is signed for it.
    const asked = await client.uploads.create({
      content_type: file.type || "application/octet-stream",
      size_bytes: file.size,
    });
    if (!asked.ok) return asked;
    const ticket = asked.data;
    const destination = uploadDestination(origin, ticket);
    return new Promise((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      xhr.open(ticket.method, destination.url);
      if (destination.withKey) xhr.setRequestHeader("authorization", `Bearer ${apiKey}`);
      const sent = new Set<string>();
      for (const [name, value] of Object.entries(ticket.headers)) {
        // The browser sets these itself (and refuses to be told).
        if (/^(content-length|host)$/i.test(name)) continue;
        xhr.setRequestHeader(name, value);
        sent.add(name.toLowerCase());
      }
      if (!sent.has("content-type"))
        xhr.setRequestHeader("content-type", file.type || "application/octet-stream");
      xhr.upload.onprogress = (e) => {
        if (e.lengthComputable) onProgress(e.loaded / e.total);
      };
      xhr.onload = () => {
        const headers = new Headers();
        let body: unknown = null;
        try {
          body = xhr.responseText ? JSON.parse(xhr.responseText) : null;
        } catch {
          // A storage service may answer with XML or nothing: the status says enough.
        }
        if (xhr.status >= 200 && xhr.status < 300) {
          onProgress(1);
          resolve({ ok: true, status: xhr.status, data: { id: ticket.id }, headers });
        } else {
          const problem: Problem =
            body && typeof body === "object" && "code" in body
              ? (body as Problem)
              : {
                  type: "about:blank",
                  title: "The upload was refused",
                  detail: `The storage answered ${xhr.status}.`,
                  status: xhr.status,
                  code: "internal",
                };
          resolve({ ok: false, status: xhr.status, problem, headers });
        }
      };
      xhr.onerror = () => reject(new Error("The upload failed: the connection was lost."));
      xhr.onabort = () => reject(new DOMException("The upload was canceled.", "AbortError"));
      signal.addEventListener("abort", () => xhr.abort(), { once: true });
      xhr.send(file);
    });
  }

  return {
    jobs: client.jobs,
    admin: client.admin,
    upload,
    me: client.me,
    fleet: client.admin.nodes,
    deadLetters: () => client.admin.deadLetters(50),
  };
}

export type Api = ReturnType<typeof createApi>;
