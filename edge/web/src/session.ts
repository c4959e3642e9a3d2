/**
 * The API key lives in this tab's sessionStorage (gone when the tab closes) and in memory; it is
 * never put in a URL.
 */
const storageKey = "framewire.apiKey";

export function loadKey(): string | null {
  try {
    return sessionStorage.getItem(storageKey);
  } catch {
    return null;
  }
}

export function saveKey(key: string | null): void {
  try {
    if (key) sessionStorage.setItem(storageKey, key);
    else sessionStorage.removeItem(storageKey);
  } catch {
    // Storage may be disabled: the key then lives in memory for this page only.
  }
}

/** `fw_<prefix>_<secret>` → the prefix, which is safe to show. */
export function keyPrefix(key: string): string {
  const [, prefix] = key.split("_");
  return prefix ? `fw_${prefix}_…` : "fw_…";
}
