import { formatBytes, formatMs } from "./duration";
import { eventNode, eventTime, KubeEvent, parsePulledMessage } from "./events";

export const NODEGROUP_LABEL = "eks.amazonaws.com/nodegroup";
export const MODE_LABEL = "soci-eks/mode";
/** Set by the installer's fallback (`onSociFailure: fallback`): the node joined without SOCI; the value is the reason. */
export const DEGRADED_LABEL = "soci-eks/degraded";
/** Appended to a degraded node's mode: its pulls are stock pulls and get rows of their own. */
export const DEGRADED_SUFFIX = " (degraded)";
/** Shown when a node has no such label, or the node is unknown. */
export const UNKNOWN = "-";

/** One pull, attributed to its node. */
export interface PullSample {
  node: string;
  nodeGroup: string;
  mode: string;
  image: string;
  pullMs: number;
  waitingMs?: number;
  sizeBytes?: number;
  namespace?: string;
  pod?: string;
  time: number;
  /**
   * Started before any earlier pull of this image on this node had finished. A pull that starts after one finished
   * finds the layers cached (imagePullPolicy Always still "pulls") and is warm. Concurrent pulls on one node are both
   * cold: containerd shares the download and both wait for it.
   */
  cold: boolean;
}

/** Pull times of one image in one node group. */
export interface ReportRow {
  nodeGroup: string;
  mode: string;
  image: string;
  pulls: number;
  nodes: number;
  minMs: number;
  medianMs: number;
  meanMs: number;
  maxMs: number;
  /** Median of "including waiting", when kubelet reported it. */
  medianWaitingMs?: number;
  /** From kubelet's `Image size: N bytes.` (kubelet 1.28+). */
  imageSizeBytes?: number;
  /** Median of the same image in node groups with mode `off`, divided by this row's median. */
  speedupVsOff?: number;
  /**
   * Lazy rows only: pulls that look like full downloads (see {@link looksNotLazy}). Kubelet's events carry no
   * layer information, so this is inferred from durations: it can miss (every pull degraded and no `off` group)
   * and can flag a slow registry. The node's own signal is SOCI's fuse_mount_failure_count (docs/troubleshooting.md).
   */
  notLazy?: number;
}

/** A lazy pull this many times slower than the row's fastest (and at least {@link NOT_LAZY_MIN_EXTRA_MS} slower) looks like a full download. */
export const NOT_LAZY_VS_FASTEST = 5;
export const NOT_LAZY_MIN_EXTRA_MS = 2000;
/** ...or one that took at least this fraction of the stock (`off`) median of the same image. */
export const NOT_LAZY_VS_OFF = 0.5;

/**
 * Whether a lazy pull looks like it was not lazy. A lazy pull fetches the SOCI index and zTOCs, not the layers;
 * a layer SOCI could not mount lazily is fetched whole during the pull, which makes that pull as slow
 * as a stock one, or many times slower than the lazy pulls of the same image that worked.
 */
export function looksNotLazy(pullMs: number, fastestLazyMs: number, lazyPulls: number, offMedianMs?: number): boolean {
  if (offMedianMs !== undefined && offMedianMs > 0 && pullMs >= NOT_LAZY_VS_OFF * offMedianMs) return true;
  return lazyPulls >= 3 && pullMs >= NOT_LAZY_VS_FASTEST * fastestLazyMs && pullMs - fastestLazyMs >= NOT_LAZY_MIN_EXTRA_MS;
}

/** A node labelled {@link DEGRADED_LABEL}. */
export interface DegradedNode {
  node: string;
  nodeGroup: string;
  reason: string;
}

/**
 * A node's own marker file, `/run/soci-eks/degraded` (fallback) or `/run/soci-eks/failed` (fail): the
 * installer writes `reason=`, `policy=`, `message=` and `fix=` lines. A failed node never joins, so its marker
 * (read on the node, or from its console output) is the only record the report can show.
 */
export interface NodeMarker {
  source: string;
  state: "degraded" | "failed";
  reason: string;
  policy?: string;
  message?: string;
  fix?: string;
}

/** A file given as a marker that is not one. */
export class MarkerError extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = "MarkerError";
  }
}

/** Parses a marker file; `source` names it in the report. Throws a {@link MarkerError} when it is not a marker. */
export function parseMarker(text: string, source: string): NodeMarker {
  const fields: Record<string, string> = {};
  for (const line of text.split("\n")) {
    const eq = line.indexOf("=");
    if (eq > 0) fields[line.slice(0, eq).trim()] = line.slice(eq + 1).trim();
  }
  if (!fields.reason) throw new MarkerError(`is not a soci-eks marker (no reason= line)`);
  const state = fields.policy === "fail" || /(^|\/)failed$/.test(source) ? "failed" : "degraded";
  return { source, state, reason: fields.reason, policy: fields.policy, message: fields.message, fix: fields.fix };
}

export interface Report {
  rows: ReportRow[];
  /** Nodes labelled soci-eks/degraded (from --nodes), sorted by node name. */
  degradedNodes: DegradedNode[];
  /** Marker files given with --marker. */
  markers: NodeMarker[];
  counted: { pulls: number; warmSkipped: number; alreadyPresent: number; unparsed: number; unknownNode: number };
  /** Why some Pulled events were not counted (first few of each reason). */
  notes: string[];
  /** With pulls that have no node: what to do about them ({@link unknownNodeHint}). */
  unknownNodeHint?: string;
}

export interface ReportOptions {
  /** Node name → labels (`kubectl get nodes -o json`). Without it node group and mode are `-`. */
  nodeLabels?: Map<string, Record<string, string>>;
  /** `namespace/pod` → node, for events without `source.host`/`reportingInstance`. */
  podNodes?: Map<string, string>;
  /** Count repeat pulls of an image on the same node too (default: only the first, cold one). */
  includeWarm?: boolean;
  /** Only images whose reference contains this text. */
  imageFilter?: string;
  /** Marker files read on nodes (see {@link NodeMarker}). */
  markers?: NodeMarker[];
}

/**
 * What to do about pulls with no node: without --pods, pass it; with --pods that had no pod with a name and a node
 * (every item malformed, or no pod scheduled), say so rather than ask for the flag the user gave.
 */
export function unknownNodeHint(podNodes: ReadonlyMap<string, string> | undefined): string {
  if (podNodes === undefined) return "pass --pods";
  if (podNodes.size === 0) return "the --pods file had no usable items (none has metadata.name and spec.nodeName)";
  return "the --pods file has no such pod with spec.nodeName";
}

/** The `Pulled` events, attributed to node, node group and mode. */
export function collectSamples(events: KubeEvent[], opts: ReportOptions = {}): { samples: PullSample[]; counted: Report["counted"]; notes: string[] } {
  const counted = { pulls: 0, warmSkipped: 0, alreadyPresent: 0, unparsed: 0, unknownNode: 0 };
  const notes: string[] = [];
  const pulled = events
    .filter((e) => e.reason === "Pulled" && (e.involvedObject?.kind ?? "Pod") === "Pod")
    .map((e) => ({ e, t: eventTime(e) }))
    .sort((a, b) => a.t - b.t);
  const samples: PullSample[] = [];
  /** (node, image) → when its first pull finished. Event times have second granularity, hence the slack. */
  const firstDone = new Map<string, number>();
  const SLACK_MS = 1000;
  for (const { e, t } of pulled) {
    const parsed = parsePulledMessage(e.message ?? "");
    if (parsed.kind === "present") {
      if (!opts.imageFilter || parsed.image.includes(opts.imageFilter)) counted.alreadyPresent++;
      continue;
    }
    if (parsed.kind === "unparsed") {
      counted.unparsed++;
      if (notes.length < 10) notes.push(`skipped (${parsed.reason}): ${e.message}`);
      continue;
    }
    if (opts.imageFilter && !parsed.image.includes(opts.imageFilter)) continue;
    const node = eventNode(e, opts.podNodes);
    if (!node) {
      counted.unknownNode++;
      if (notes.length < 10) notes.push(`no node for ${e.involvedObject?.namespace}/${e.involvedObject?.name}; ${unknownNodeHint(opts.podNodes)}`);
    }
    const labels = node ? opts.nodeLabels?.get(node) : undefined;
    const key = `${node ?? "?"}\u0000${parsed.image}`;
    const started = t - (parsed.waitingMs ?? parsed.pullMs);
    const done = firstDone.get(key);
    const cold = done === undefined || t === 0 || started < done - SLACK_MS;
    if (done === undefined) firstDone.set(key, t);
    if (!cold && !opts.includeWarm) {
      counted.warmSkipped++;
      continue;
    }
    counted.pulls++;
    samples.push({
      node: node ?? UNKNOWN,
      nodeGroup: labels?.[NODEGROUP_LABEL] ?? UNKNOWN,
      mode: (labels?.[MODE_LABEL] ?? UNKNOWN) + (labels?.[DEGRADED_LABEL] ? DEGRADED_SUFFIX : ""),
      image: parsed.image,
      pullMs: parsed.pullMs,
      ...(parsed.waitingMs !== undefined ? { waitingMs: parsed.waitingMs } : {}),
      ...(parsed.sizeBytes !== undefined ? { sizeBytes: parsed.sizeBytes } : {}),
      namespace: e.involvedObject?.namespace,
      pod: e.involvedObject?.name,
      time: t,
      cold,
    });
  }
  return { samples, counted, notes };
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

const round = (ms: number) => Math.round(ms * 1000) / 1000;

/** The smallest and largest of a non-empty list, in one pass (no spread: a list may hold hundreds of thousands). */
function extremes(values: readonly number[]): { min: number; max: number } {
  let min = Infinity;
  let max = -Infinity;
  for (const v of values) {
    if (v < min) min = v;
    if (v > max) max = v;
  }
  return { min, max };
}

/** Groups samples by node group, mode and image; adds the speed-up against `off` groups. */
export function buildReport(events: KubeEvent[], opts: ReportOptions = {}): Report {
  const { samples, counted, notes } = collectSamples(events, opts);
  const groups = new Map<string, PullSample[]>();
  for (const s of samples) {
    const key = JSON.stringify([s.nodeGroup, s.mode, s.image]);
    const list = groups.get(key);
    if (list) list.push(s);
    else groups.set(key, [s]);
  }
  const rows: ReportRow[] = [...groups.entries()].map(([key, list]) => {
    const [nodeGroup, mode, image] = JSON.parse(key) as [string, string, string];
    const ms = list.map((s) => s.pullMs);
    const waits = list.filter((s) => s.waitingMs !== undefined).map((s) => s.waitingMs as number);
    const sizes = list.filter((s) => s.sizeBytes !== undefined).map((s) => s.sizeBytes as number);
    const { min, max } = extremes(ms);
    const row: ReportRow = {
      nodeGroup,
      mode,
      image,
      pulls: list.length,
      nodes: new Set(list.map((s) => s.node)).size,
      minMs: round(min),
      medianMs: round(median(ms)),
      meanMs: round(ms.reduce((a, b) => a + b, 0) / ms.length),
      maxMs: round(max),
    };
    if (waits.length) row.medianWaitingMs = round(median(waits));
    if (sizes.length) row.imageSizeBytes = extremes(sizes).max;
    return row;
  });
  // The stock baseline: groups whose nodes say soci-eks/mode=off.
  for (const row of rows) {
    if (row.mode === "off") continue;
    const off = samples.filter((s) => s.mode === "off" && s.image === row.image).map((s) => s.pullMs);
    if (off.length && row.medianMs > 0) row.speedupVsOff = Math.round((median(off) / row.medianMs) * 100) / 100;
    if (row.mode === "lazy") {
      const ms = groups.get(JSON.stringify([row.nodeGroup, row.mode, row.image]))!.map((s) => s.pullMs);
      const offMedian = off.length ? median(off) : undefined;
      row.notLazy = ms.filter((m) => looksNotLazy(m, row.minMs, ms.length, offMedian)).length;
    }
  }
  rows.sort((a, b) => a.image.localeCompare(b.image) || a.mode.localeCompare(b.mode) || a.nodeGroup.localeCompare(b.nodeGroup));
  const degradedNodes = [...(opts.nodeLabels ?? new Map<string, Record<string, string>>()).entries()]
    .filter(([, labels]) => labels[DEGRADED_LABEL])
    .map(([node, labels]) => ({ node, nodeGroup: labels[NODEGROUP_LABEL] ?? UNKNOWN, reason: labels[DEGRADED_LABEL] }))
    .sort((a, b) => a.node.localeCompare(b.node));
  return { rows, degradedNodes, markers: opts.markers ?? [], counted, notes, ...(counted.unknownNode ? { unknownNodeHint: unknownNodeHint(opts.podNodes) } : {}) };
}

/**
 * Text from events, node labels and marker files as the terminal should show it: control characters (C0, DEL, C1:
 * escape sequences, line breaks inside a cell) and bidirectional overrides become visible `\xNN`/`\uNNNN` escapes,
 * so an Event cannot move the cursor, recolour or rewrite the screen.
 */
export function printable(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g, (c) => {
    const code = c.charCodeAt(0);
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, "0")}` : `\\u${code.toString(16).padStart(4, "0")}`;
  });
}

/** The report as JSON, with the characters JSON leaves raw (DEL, C1, bidirectional overrides) escaped too. */
export function reportJson(report: Report): string {
  return JSON.stringify(report, null, 2).replace(/[\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

function pad(rows: string[][]): string {
  const cells = rows.map((r) => r.map(printable));
  const widths = cells[0].map((_, i) => cells.reduce((w, r) => Math.max(w, r[i].length), 0));
  return cells.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join("  ").trimEnd()).join("\n");
}

/** The human table. */
export function formatReport(report: Report): string {
  const header = ["NODE GROUP", "MODE", "IMAGE", "PULLS", "NODES", "MEDIAN", "MIN", "MAX", "SIZE", "VS OFF", "NOT LAZY?"];
  const lines = report.rows.map((r) => [
    r.nodeGroup,
    r.mode,
    r.image,
    String(r.pulls),
    String(r.nodes),
    formatMs(r.medianMs),
    formatMs(r.minMs),
    formatMs(r.maxMs),
    formatBytes(r.imageSizeBytes),
    r.speedupVsOff !== undefined ? `${r.speedupVsOff.toFixed(1)}x` : "-",
    r.notLazy !== undefined ? String(r.notLazy) : "-",
  ]);
  const c = report.counted;
  const footer =
    `${c.pulls} pulls counted` +
    (c.warmSkipped ? `; ${c.warmSkipped} warm pulls skipped (started after the same image finished on the same node; --all counts them)` : "") +
    (c.alreadyPresent ? `; ${c.alreadyPresent} "already present" events` : "") +
    (c.unparsed ? `; ${c.unparsed} messages without a duration` : "") +
    (c.unknownNode ? `; ${c.unknownNode} pulls with no node (${report.unknownNodeHint ?? "pass --pods"})` : "");
  const health = formatHealth(report);
  if (!lines.length) return `No kubelet "Successfully pulled image" events found.\n${footer}\n${health}`;
  const suspect = report.rows.reduce((n, r) => n + (r.notLazy ?? 0), 0);
  const notLazy = suspect
    ? `\n${suspect} lazy pulls look like full downloads (NOT LAZY?: >= ${NOT_LAZY_VS_OFF * 100}% of the stock median, or >= ${NOT_LAZY_VS_FASTEST}x the fastest lazy pull of the image and ${NOT_LAZY_MIN_EXTRA_MS / 1000}s slower). Events carry no layer data: confirm on the node with SOCI's fuse_mount_failure_count (docs/troubleshooting.md).\n`
    : "";
  return `${pad([header, ...lines])}\n\n${footer}\n${notLazy}${health}`;
}

/** Degraded nodes (label) and node markers, after the table; empty when there are none. */
function formatHealth(report: Report): string {
  const out: string[] = [];
  if (report.degradedNodes.length) {
    out.push(
      `${report.degradedNodes.length} node(s) joined without SOCI (label ${DEGRADED_LABEL}; their pulls are stock pulls, in rows marked${DEGRADED_SUFFIX}):`,
      ...report.degradedNodes.map((d) => printable(`  ${d.node} (node group ${d.nodeGroup}): ${d.reason}`)),
      "  Details on the node: /run/soci-eks/degraded and journalctl -t soci-eks (docs/boot-and-failures.md).",
    );
  }
  for (const m of report.markers) {
    const what = m.state === "failed" ? "FAILED: kubelet held back, the node never joins" : "DEGRADED: joined without SOCI";
    out.push(printable(`${m.source}: ${what} (onSociFailure=${m.policy ?? "?"}): ${m.reason}${m.message ? `: ${m.message}` : ""}${m.fix ? `. Fix: ${m.fix}` : ""}`));
  }
  return out.length ? `\n${out.join("\n")}\n` : "";
}
