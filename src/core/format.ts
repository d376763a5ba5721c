/** The texts every area shows the same way: an error's message, a duration and a size. */

/** The message of anything thrown: an Error's message (or its code, e.g. ECONNREFUSED, when it has none). */
export function errorText(e: unknown): string {
  const o = e as { message?: unknown; code?: unknown } | null | undefined;
  if (o && typeof o === 'object') {
    if (typeof o.message === 'string' && o.message) return o.message;
    if (typeof o.code === 'string' && o.code) return o.code;
  }
  return e instanceof Error ? e.name : String(e);
}

/** A duration as the UI shows it everywhere (uptime, backup age, how long a backup took): "42 s", "5 min", "3 h 12 min", "2 days 4 h". */
export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h} h${m % 60 ? ` ${m % 60} min` : ''}`;
  const d = Math.floor(h / 24);
  return `${d} days${h % 24 ? ` ${h % 24} h` : ''}`;
}

/** A size for people: "1.5 MB" (1024-based, one decimal under 10). */
export function formatBytes(n: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}
