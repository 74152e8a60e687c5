/**
 * Where a pull's time goes, layer by layer, from soci-snapshotter-grpc's own log (JSON lines, debug level, as the lab
 * runs it). containerd's unpacker calls the snapshotter's Prepare once per layer, one after another (containerd v2.2.4
 * core/unpack/unpacker.go); SOCI logs `prepare` when a call arrives and `remote snapshot successfully prepared.` (or
 * `local snapshot successfully prepared`) when it answers. So, within the CRI pull:
 *   - before the first Prepare: containerd resolves the image and fetches manifest and config;
 *   - inside Prepare: SOCI's own work for that layer (the index and zTOCs on the first, resolving the layer, metadata,
 *     prefetch, the FUSE mount);
 *   - between one layer's answer and the next layer's Prepare: containerd (and the gRPC round trip);
 *   - after the last answer: containerd finishing the pull (image record, labels).
 * No interceptor and no patched binary: only timestamps both programs already log. Pure functions: no I/O.
 */

/** One Prepare call of the pull, in milliseconds from the pull request. */
export interface LayerPrepare {
  /** The snapshot key containerd asked for. */
  key: string;
  start_ms: number;
  end_ms: number;
  /** How SOCI answered: a FUSE mount (remote), a layer it fetched itself (local), or no answer line (unknown). */
  kind: "remote" | "local" | "unknown";
  /** Time since the previous layer's answer (containerd's share before this call); the first layer's is 0. */
  gap_before_ms: number;
}

/** The pull phase split by who was working. */
export interface PullTimeline {
  layers: LayerPrepare[];
  /** Pull request to the first Prepare. */
  before_first_ms: number;
  /** Sum of the time inside SOCI's Prepare calls. */
  in_prepare_ms: number;
  /** Sum of the gaps between one answer and the next Prepare. */
  between_ms: number;
  /** The last answer to the end of the CRI pull. */
  after_last_ms: number;
  /** The longest single Prepare (usually the first: index and zTOCs). */
  longest_prepare_ms: number;
}

interface LogLine {
  time?: string;
  msg?: string;
  key?: string;
}

/** Parses SOCI's JSON log lines; lines that are not JSON objects with a time are skipped. */
function parseLines(text: string): Array<LogLine & { t: number }> {
  const out: Array<LogLine & { t: number }> = [];
  for (const raw of text.split("\n")) {
    if (!raw.startsWith("{")) continue;
    let l: LogLine;
    try {
      l = JSON.parse(raw) as LogLine;
    } catch {
      continue;
    }
    const t = l.time ? Date.parse(l.time) + subMs(l.time) : NaN;
    if (Number.isFinite(t)) out.push({ ...l, t });
  }
  return out;
}

/** The sub-millisecond part of an RFC 3339 timestamp that Date.parse drops. */
function subMs(time: string): number {
  const m = /\.(\d+)/.exec(time);
  if (!m || m[1].length <= 3) return 0;
  return Number(`0.${m[1].slice(3)}`);
}

/**
 * The pull's per-layer timeline from SOCI's log: Prepare calls that started inside [t0Ms, endMs] (epoch milliseconds;
 * the bench's pull request and the CRI pull's return). Returns null when the log has no Prepare in that window.
 */
export function pullTimeline(sociLog: string, t0Ms: number, endMs: number): PullTimeline | null {
  const lines = parseLines(sociLog);
  const layers: LayerPrepare[] = [];
  const open = new Map<string, LayerPrepare>();
  for (const l of lines) {
    if (l.t < t0Ms || l.t > endMs || !l.key) continue;
    if (l.msg === "prepare") {
      const p: LayerPrepare = { key: l.key, start_ms: l.t - t0Ms, end_ms: l.t - t0Ms, kind: "unknown", gap_before_ms: 0 };
      open.set(l.key, p);
      layers.push(p);
    } else if (l.msg === "remote snapshot successfully prepared." || l.msg === "local snapshot successfully prepared") {
      const p = open.get(l.key);
      if (!p) continue;
      p.end_ms = l.t - t0Ms;
      p.kind = l.msg.startsWith("remote") ? "remote" : "local";
      open.delete(l.key);
    }
  }
  if (layers.length === 0) return null;
  let between = 0;
  let inPrepare = 0;
  let longest = 0;
  for (let i = 0; i < layers.length; i++) {
    const d = layers[i].end_ms - layers[i].start_ms;
    inPrepare += d;
    longest = Math.max(longest, d);
    if (i > 0) {
      layers[i].gap_before_ms = Math.max(0, layers[i].start_ms - layers[i - 1].end_ms);
      between += layers[i].gap_before_ms;
    }
  }
  const last = layers[layers.length - 1];
  const r = (v: number): number => Math.round(v * 10) / 10;
  return {
    layers: layers.map((l) => ({ ...l, start_ms: r(l.start_ms), end_ms: r(l.end_ms), gap_before_ms: r(l.gap_before_ms) })),
    before_first_ms: r(layers[0].start_ms),
    in_prepare_ms: r(inPrepare),
    between_ms: r(between),
    after_last_ms: r(Math.max(0, endMs - t0Ms - last.end_ms)),
    longest_prepare_ms: r(longest),
  };
}
