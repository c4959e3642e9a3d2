/**
 * Rewritten HLS playlists and DASH manifests, kept per storage key and signing slice.
 *
 * Why: every URI in them is re-signed on each request (an HMAC each, ~25 µs), with no API key in
 * front (players hold the link), and a manifest may list hundreds of thousands: an attack-surface
 * review stalled the edge 5.6 s with 4 concurrent GETs of a 100k-URI manifest. Signed at the start
 * of the slice (`linkSliceMs`), the body is the same for every request of the slice, so it is made
 * once, and requests that arrive while it is being made wait for that one.
 *
 * A rewrite that a retried job's new files make stale lasts a slice at most (a minute), as long as
 * players may keep a copy anyway (`Cache-Control: max-age=60`). Bounded by characters held; a body
 * larger than a quarter of that is made every time (and the per-IP limit in front still holds).
 */
export interface PlaylistCache {
  get(key: string, slice: number, render: () => Promise<string>): Promise<{ body: string; bytes: number }>;
}

export function createPlaylistCache(maxChars = 64 * 1024 * 1024): PlaylistCache {
  const done = new Map<string, { body: string; bytes: number }>();
  const making = new Map<string, Promise<{ body: string; bytes: number }>>();
  let chars = 0;
  /** The newest slice asked for: bodies of older ones are never asked for again. */
  let newest = Number.NEGATIVE_INFINITY;
  const keep = (id: string, entry: { body: string; bytes: number }) => {
    if (entry.body.length > maxChars / 4) return;
    done.set(id, entry);
    chars += entry.body.length;
    for (const [oldest, old] of done) {
      if (chars <= maxChars) break;
      done.delete(oldest);
      chars -= old.body.length;
    }
  };
  return {
    get(key, slice, render) {
      if (slice > newest) {
        newest = slice;
        done.clear();
        chars = 0;
      }
      const id = `${slice}\u0000${key}`;
      const hit = done.get(id);
      if (hit) return Promise.resolve(hit);
      let pending = making.get(id);
      if (!pending) {
        pending = render()
          .then((body) => {
            const entry = { body, bytes: new TextEncoder().encode(body).byteLength };
            keep(id, entry);
            return entry;
          })
          .finally(() => making.delete(id));
        making.set(id, pending);
      }
      return pending;
    },
  };
}
