/** Small, locale-aware formatting for what the console shows. */

export function formatBytes(bytes: number | null | undefined): string {
  if (bytes === null || bytes === undefined) return "—";
  const units = ["B", "KB", "MB", "GB", "TB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${value.toFixed(value < 10 && unit > 0 ? 1 : 0)} ${units[unit]}`;
}

/** 75.4 → "1:15.4"; 3725 → "1:02:05". */
export function formatDuration(seconds: number | null | undefined, precise = false): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return "—";
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  const ss = precise ? s.toFixed(1).padStart(4, "0") : String(Math.floor(s)).padStart(2, "0");
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${ss}` : `${m}:${ss}`;
}

export function formatEta(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined) return "—";
  if (seconds < 1) return "< 1 s";
  if (seconds < 60) return `${Math.round(seconds)} s`;
  return `${Math.floor(seconds / 60)} min ${Math.round(seconds % 60)} s`;
}

export function formatBitrate(bitsPerSecond: number | null | undefined): string {
  if (!bitsPerSecond) return "—";
  return bitsPerSecond >= 1e6
    ? `${(bitsPerSecond / 1e6).toFixed(1)} Mb/s`
    : `${Math.round(bitsPerSecond / 1e3)} kb/s`;
}

const relative = new Intl.RelativeTimeFormat("en", { numeric: "auto" });

/** "12 s ago", "3 min ago", else the date. */
export function formatAgo(iso: string | null, now = Date.now()): string {
  if (!iso) return "—";
  const seconds = Math.round((Date.parse(iso) - now) / 1000);
  if (Math.abs(seconds) < 60) return relative.format(seconds, "second");
  if (Math.abs(seconds) < 3600) return relative.format(Math.round(seconds / 60), "minute");
  if (Math.abs(seconds) < 86400) return relative.format(Math.round(seconds / 3600), "hour");
  return new Date(iso).toLocaleString();
}

export function formatTime(iso: string | null): string {
  return iso ? new Date(iso).toLocaleString() : "—";
}

/** job_01jz… → the last 8 characters, enough to tell jobs apart in a list. */
export function shortId(id: string): string {
  return `…${id.slice(-8)}`;
}
