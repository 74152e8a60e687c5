/**
 * Go `time.Duration.String()` texts, as kubelet prints them in `Pulled` events: `748.412356ms`, `3.879042277s`,
 * `1m17.503896045s`, `2m29.103s`, `1h2m3s`, `0s`, `1.5µs`.
 */

const UNIT_MS: Record<string, number> = {
  h: 3_600_000,
  m: 60_000,
  s: 1000,
  ms: 1,
  us: 1e-3,
  "µs": 1e-3, // U+00B5 MICRO SIGN, what Go prints
  "μs": 1e-3, // U+03BC GREEK SMALL LETTER MU, which Go also accepts
  ns: 1e-6,
};

const PART = /(\d+(?:\.\d*)?|\.\d+)(h|ms|us|µs|μs|ns|m|s)/gy;

/** Milliseconds in a Go duration string, or `undefined` when it is not one. */
export function parseGoDuration(text: string): number | undefined {
  const s = text.trim();
  if (s === "0") return 0;
  const body = s.startsWith("-") || s.startsWith("+") ? s.slice(1) : s;
  if (!body) return undefined;
  PART.lastIndex = 0;
  let total = 0;
  let consumed = 0;
  let m: RegExpExecArray | null;
  while ((m = PART.exec(body)) !== null) {
    total += parseFloat(m[1]) * UNIT_MS[m[2]];
    consumed = PART.lastIndex;
  }
  if (consumed !== body.length || consumed === 0) return undefined;
  // Round away float noise below a nanosecond.
  const ms = Math.round(total * 1e6) / 1e6;
  return s.startsWith("-") ? -ms : ms;
}

/** `850ms`, `4.69s`, `1m9.2s`: short, human, for tables. */
export function formatMs(ms: number): string {
  if (!Number.isFinite(ms)) return "-";
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)}s`;
  const minutes = Math.floor(ms / 60_000);
  const seconds = (ms - minutes * 60_000) / 1000;
  return `${minutes}m${seconds.toFixed(1)}s`;
}

/** `72.1 MB`, `10.8 GB` (decimal units, as registries and kubelet's byte counts are usually quoted). */
export function formatBytes(bytes: number | undefined): string {
  if (bytes === undefined || !Number.isFinite(bytes)) return "-";
  const units = ["B", "kB", "MB", "GB", "TB"];
  let v = bytes;
  let i = 0;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return i === 0 ? `${v} B` : `${v.toFixed(1)} ${units[i]}`;
}
