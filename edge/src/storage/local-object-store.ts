import { type DownloadTokenClaims, signToken } from "@framewire/shared";
import { type FileStore, type ObjectStore, ObjectTooLargeError } from "./object-store";

/**
 * The local folder as the edge's object store: uploads are PUT to this edge, downloads are links to
 * `/files/<key>?token=` signed with the token secret (HMAC; see shared/src/token.ts).
 */
export function createLocalObjectStore(
  files: FileStore,
  options: { publicUrl: string; tokenSecret: string; downloadTtlSec: number },
): ObjectStore {
  return {
    kind: "local",
    bytes: files,
    async uploadTarget(upload) {
      return {
        url: `${options.publicUrl}/v1/uploads/${upload.id}`,
        method: "PUT",
        headers: {},
        expires_at: null,
      };
    },
    async downloadUrl(key, now) {
      const claims: DownloadTokenClaims = { key, exp: Math.floor(now / 1000) + options.downloadTtlSec };
      const token = await signToken(options.tokenSecret, "download", claims);
      return `${options.publicUrl}/files/${key}?token=${token}`;
    },
    async readText(key, maxBytes) {
      const file = await files.get(key);
      if (!file) return null;
      if (file.sizeBytes > maxBytes) {
        await file.body.cancel();
        throw new ObjectTooLargeError(key, maxBytes);
      }
      return new Response(file.body).text();
    },
    head: (key) => files.stat(key),
    deleteTree: (key) => files.deleteTree(key),
    async probe(key) {
      const content = `framewire probe ${key}`;
      await files.put(key, new Response(content).body as ReadableStream<Uint8Array>, 1024);
      const back = await files.get(key);
      const text = back ? await new Response(back.body).text() : null;
      await files.deleteTree(key);
      if (text !== content) throw new Error("the probe object read back differs from what was written");
    },
  };
}
