/**
 * The bench's recorded prefetch (`lazy-rec` rows): what `soci-eks-prefetch record` recorded for a workload, set against
 * what the workload's entrypoint reads by its definition. Pure functions: no I/O (lab/report/recordingMain.ts reads the
 * files; lab/lib/bench-workloads.sh calls it).
 *
 * - {@link entrypointReads} turns a workload's definition (the image's entrypoint argv and mkimage's shape) into the
 *   byte ranges the lab's entrypoint (lab/tools/labtools/cmd/labentry) reads at start.
 * - {@link compareRecording} checks that the recording covers every one of those bytes, and says what else it holds
 *   (read-ahead, other files) and what `soci-eks-prefetch apply` made of it (spans, artifacts, skipped files).
 */

/** A byte range: [offset, length]. */
export type Range = [number, number];

/** A reads file, as `soci-eks-prefetch record` writes it and `apply` reads it (docs/index-builder.md). */
export interface ReadsFile {
  version: number;
  /** "record" or "list". */
  source: string;
  platform?: string;
  /** How long the recording ran, and how it ended ("exited N", "timeout", "interrupted"). */
  seconds?: number;
  ended?: string;
  /** Per file, the ranges read; no ranges: the whole file. */
  files: Array<{ path: string; ranges?: Range[] }>;
}

/** One file of `soci-eks-prefetch apply --summary`. */
export interface ApplyFile {
  path: string;
  layer: number;
  readBytes: number;
  ranges: Range[] | null;
  spans: number;
  spanBytes: number;
  skipped?: string;
}

/** `soci-eks-prefetch apply --summary` (tools/soci-eks-prefetch/apply.go, Summary). */
export interface ApplySummary {
  source: string;
  platforms: Array<{
    platform: string;
    files: ApplyFile[] | null;
    prefetchFiles: number;
    readBytes: number;
    spans: number;
    spanBytes: number;
    artifacts: number;
  }>;
}

/**
 * A bench workload's definition: the image's entrypoint argv (the lab's entrypoint: `-frac F` then files or
 * directories) and the data layers mkimage writes (`/data/L<nn>/f<nnn>.bin`, `filesPerLayer` files of
 * `layerBytes / filesPerLayer` bytes, the last one taking the remainder).
 */
export interface WorkloadDefinition {
  argv: string[];
  layers: number;
  layerBytes: number;
  filesPerLayer: number;
}

/** The entrypoint's flags that take a value (lab/tools/labtools/cmd/labentry). */
const VALUE_FLAGS = new Set(["frac", "steps", "every"]);

/** The lab entrypoint's default `-frac`. */
const DEFAULT_FRAC = 0.06;

/** The data files mkimage writes for a definition, with their sizes, in the order a lexical walk visits them. */
export function imageDataFiles(def: Pick<WorkloadDefinition, "layers" | "layerBytes" | "filesPerLayer">): Array<{ path: string; size: number }> {
  for (const k of ["layers", "layerBytes", "filesPerLayer"] as const) {
    if (!Number.isInteger(def[k]) || def[k] <= 0) throw new Error(`workload definition: ${k} = ${def[k]}, want a positive integer`);
  }
  const per = Math.floor(def.layerBytes / def.filesPerLayer);
  const out: Array<{ path: string; size: number }> = [];
  for (let l = 1; l <= def.layers; l++) {
    for (let i = 0; i < def.filesPerLayer; i++) {
      const size = i === def.filesPerLayer - 1 ? def.layerBytes - per * (def.filesPerLayer - 1) : per;
      out.push({ path: `/data/L${String(l).padStart(2, "0")}/f${String(i).padStart(3, "0")}.bin`, size });
    }
  }
  return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/**
 * What the lab's entrypoint reads at start for a workload definition: for each argument (a file or a directory, walked
 * in lexical order), the first `floor(size * frac)` bytes of every regular file, as labentry computes it. Only the data
 * files mkimage writes are modelled: an argument that names anything else (such as /bin) is refused.
 */
export function entrypointReads(def: WorkloadDefinition): ReadsFile {
  const args = def.argv.slice(1);
  let frac = DEFAULT_FRAC;
  const roots: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const m = /^--?([a-z]+)(?:=(.*))?$/.exec(args[i]);
    if (m && roots.length === 0) {
      const value = m[2] ?? (VALUE_FLAGS.has(m[1]) ? args[++i] : undefined);
      if (m[1] === "frac") {
        frac = Number(value);
        if (!Number.isFinite(frac) || frac < 0 || frac > 1) throw new Error(`entrypoint -frac ${value}: want a number in [0, 1]`);
      } else if (!["hold", "steps", "every"].includes(m[1])) {
        throw new Error(`entrypoint flag ${args[i]} is not one of the lab entrypoint's (-frac, -hold, -steps, -every)`);
      }
      continue;
    }
    roots.push(args[i].length > 1 ? args[i].replace(/\/+$/, "") : args[i]);
  }
  if (roots.length === 0) throw new Error(`entrypoint ${def.argv.join(" ")} names no file or directory to read`);
  const data = imageDataFiles(def);
  const files: ReadsFile["files"] = [];
  for (const root of roots) {
    if (!root.startsWith("/data")) throw new Error(`entrypoint reads ${root}: only the image's /data files are modelled`);
    const under = data.filter((f) => root === "/data" || f.path === root || f.path.startsWith(`${root}/`));
    if (under.length === 0) throw new Error(`entrypoint reads ${root}, which is not in the image (${def.layers} data layers of ${def.filesPerLayer} files)`);
    for (const f of under) {
      // labentry: want := int64(float64(info.Size()) * frac)
      const want = Math.trunc(f.size * frac);
      files.push(want > 0 ? { path: f.path, ranges: [[0, want]] } : { path: f.path, ranges: [] });
    }
  }
  return { version: 1, source: "definition", platform: "linux/amd64", files };
}

/** Sorts ranges and merges overlapping or touching ones (as `soci-eks-prefetch` does); empty ones are dropped. */
export function mergeRanges(rs: Range[]): Range[] {
  const sorted = rs.filter(([o, n]) => o >= 0 && n > 0).sort((a, b) => a[0] - b[0]);
  const out: Range[] = [];
  for (const [o, n] of sorted) {
    const last = out[out.length - 1];
    if (last && o <= last[0] + last[1]) {
      last[1] = Math.max(last[0] + last[1], o + n) - last[0];
    } else {
      out.push([o, n]);
    }
  }
  return out;
}

const total = (rs: Range[]): number => rs.reduce((n, [, len]) => n + len, 0);

/** Bytes of `a` that `b` also holds (both merged). */
export function overlapBytes(a: Range[], b: Range[]): number {
  let n = 0;
  for (const [ao, al] of a) {
    for (const [bo, bl] of b) {
      const lo = Math.max(ao, bo);
      const hi = Math.min(ao + al, bo + bl);
      if (hi > lo) n += hi - lo;
    }
  }
  return n;
}

/** A path as the reads files and SOCI's zTOCs compare it: absolute, no trailing or doubled slashes. */
function clean(p: string): string {
  const parts: string[] = [];
  for (const s of p.split("/")) {
    if (s === "" || s === ".") continue;
    if (s === "..") parts.pop();
    else parts.push(s);
  }
  return `/${parts.join("/")}`;
}

/** The skip reason `apply` gives a file in a layer without zTOC: that layer is pulled whole, so its files need no prefetch. */
const UNINDEXED_SKIP = /layer without zTOC/;

/** A recording set against the workload's definition and `apply`'s summary. */
export interface RecordingCheck {
  workload: string;
  /** The recording: how long, how it ended, and what it holds. */
  recorded: { seconds: number | null; ended: string | null; files: number; ranges: number; bytes: number };
  /** What the entrypoint reads by the workload's definition. */
  definition: { files: number; bytes: number };
  /** Bytes of the definition's reads that the recording holds; missing = the rest. */
  covered_bytes: number;
  missing_bytes: number;
  /** Definition files the recording lacks some bytes of (at most 5 named). */
  missing_files: number;
  missing_examples: Array<{ path: string; missing_bytes: number }>;
  /** Recorded bytes of the definition's files beyond what the entrypoint reads (the kernel's read-ahead). */
  beyond_bytes: number;
  /** Recorded files the definition does not name (e.g. the entrypoint binary), with their bytes (at most 5 named). */
  other_files: number;
  other_bytes: number;
  other_examples: string[];
  /** What `soci-eks-prefetch apply` made of the recording (null: not applied). */
  prefetch: {
    files: number;
    read_bytes: number;
    spans: number;
    span_bytes: number;
    artifacts: number;
    skipped: Array<{ path: string; reason: string }>;
  } | null;
  /** True when the recording covers every byte the entrypoint reads and nothing it needs was left out of prefetch. */
  ok: boolean;
  problems: string[];
}

/**
 * Checks a recording against the workload's definition: every byte the entrypoint reads must be in the recording, the
 * container must not have failed, and `apply` (when given) must not have skipped a file the entrypoint reads, except
 * one in a layer without zTOC (pulled whole anyway).
 */
export function compareRecording(workload: string, definition: ReadsFile, recorded: ReadsFile, apply?: ApplySummary | null): RecordingCheck {
  const problems: string[] = [];
  const rec = new Map<string, Range[]>();
  for (const f of recorded.files) {
    const p = clean(f.path);
    rec.set(p, mergeRanges([...(rec.get(p) ?? []), ...(f.ranges ?? [])]));
  }
  const def = new Map<string, Range[]>();
  for (const f of definition.files) {
    const p = clean(f.path);
    def.set(p, mergeRanges([...(def.get(p) ?? []), ...(f.ranges ?? [])]));
  }
  if (definition.files.some((f) => f.ranges === undefined)) throw new Error("the definition's reads must give ranges (whole files have no size here)");
  if (recorded.files.some((f) => f.ranges === undefined)) problems.push("the recording lists whole files without ranges: not what `record` writes");

  let defBytes = 0;
  let covered = 0;
  let beyond = 0;
  const missing: Array<{ path: string; missing_bytes: number }> = [];
  for (const [p, want] of def) {
    const have = rec.get(p) ?? [];
    const w = total(want);
    const c = overlapBytes(want, have);
    defBytes += w;
    covered += c;
    beyond += total(have) - c;
    if (c < w) missing.push({ path: p, missing_bytes: w - c });
  }
  const others = [...rec.keys()].filter((p) => !def.has(p));
  const otherBytes = others.reduce((n, p) => n + total(rec.get(p)!), 0);
  const recBytes = [...rec.values()].reduce((n, rs) => n + total(rs), 0);
  const recRanges = [...rec.values()].reduce((n, rs) => n + rs.length, 0);

  if (missing.length > 0) {
    const ex = missing.slice(0, 3).map((m) => `${m.path} (${m.missing_bytes} bytes)`).join(", ");
    problems.push(`the recording misses ${defBytes - covered} of the ${defBytes} bytes the entrypoint reads, in ${missing.length} of ${def.size} files: ${ex}${missing.length > 3 ? ", ..." : ""}`);
  }
  const ended = recorded.ended ?? null;
  if (recorded.source !== "record") problems.push(`the reads file's source is '${recorded.source}', not 'record'`);
  if (ended !== null && /^exited [1-9]/.test(ended)) problems.push(`the recorded container ${ended}: it did not run as it does on a node`);
  if (ended !== null && /^(failed|interrupted)/.test(ended)) problems.push(`the recording ${ended}`);

  let prefetch: RecordingCheck["prefetch"] = null;
  if (apply) {
    const plat = apply.platforms.find((x) => x.platform === (recorded.platform ?? "")) ?? apply.platforms[0];
    if (!plat) {
      problems.push("`apply` prefetched no platform");
    } else {
      const files = plat.files ?? [];
      const skipped = files.filter((f) => f.skipped).map((f) => ({ path: f.path, reason: f.skipped! }));
      prefetch = { files: plat.prefetchFiles, read_bytes: plat.readBytes, spans: plat.spans, span_bytes: plat.spanBytes, artifacts: plat.artifacts, skipped };
      const lost = skipped.filter((s) => def.has(clean(s.path)) && !UNINDEXED_SKIP.test(s.reason));
      if (lost.length > 0) problems.push(`\`apply\` left out ${lost.length} file(s) the entrypoint reads: ${lost.slice(0, 3).map((s) => `${s.path} (${s.reason})`).join(", ")}`);
      if (plat.spans === 0) problems.push("`apply` wrote no prefetch span");
    }
  }
  return {
    workload,
    recorded: { seconds: recorded.seconds ?? null, ended, files: rec.size, ranges: recRanges, bytes: recBytes },
    definition: { files: def.size, bytes: defBytes },
    covered_bytes: covered,
    missing_bytes: defBytes - covered,
    missing_files: missing.length,
    missing_examples: missing.slice(0, 5),
    beyond_bytes: beyond,
    other_files: others.length,
    other_bytes: otherBytes,
    other_examples: others.slice(0, 5),
    prefetch,
    ok: problems.length === 0,
    problems,
  };
}

/** A failed recording, for the report: the row fails with this reason. */
export interface RecordingFailure {
  workload: string;
  ok: false;
  problems: string[];
}

const mb = (b: number): string => (b / 1e6).toFixed(2);

/** The report's section on recordings: one table row per workload, then each problem. */
export function renderRecordings(recordings: Record<string, RecordingCheck | RecordingFailure>): string[] {
  const entries = Object.entries(recordings);
  if (entries.length === 0) return [];
  const lines: string[] = [];
  lines.push("## Recorded prefetch (`lazy-rec`)", "");
  lines.push(
    "Each workload's image ran once under `soci-eks-prefetch record` (runc, own namespaces, loopback-only network, time-limited; the recording is cached beside the image, keyed by its digest and the recorder's inputs), and its `lazy-rec` index was built from that recording with `soci-eks-prefetch apply`. Definition = what the entrypoint reads by the workload's definition (its argv and the image's files). Covered = bytes of the definition the recording holds (all of them, or the row fails); beyond = recorded bytes of those files past what the entrypoint reads (kernel read-ahead); other = recorded files the definition does not name. Prefetch = what `apply` wrote: files, spans, their compressed MB, artifacts (one per layer); a run may fetch at most those spans with the index and the un-indexed layers (+5%).",
    "",
  );
  lines.push("| workload | recorded (s, end) | files / ranges / MB recorded | definition: files / MB | covered MB | beyond MB | other files (MB) | prefetch: files / spans / MB / artifacts | verdict |");
  lines.push("|---|---|---|---|---|---|---|---|---|");
  const problems: string[] = [];
  for (const [wl, r] of entries) {
    if (!("recorded" in r)) {
      lines.push(`| ${wl} | – | – | – | – | – | – | – | FAILED |`);
      for (const p of r.problems) problems.push(`- ${wl}: ${p}`);
      continue;
    }
    const pf = r.prefetch ? `${r.prefetch.files} / ${r.prefetch.spans} / ${mb(r.prefetch.span_bytes)} / ${r.prefetch.artifacts}` : "–";
    const other = r.other_files > 0 ? `${r.other_files} (${mb(r.other_bytes)}: ${r.other_examples.join(", ")}${r.other_files > r.other_examples.length ? ", ..." : ""})` : "0";
    lines.push(
      `| ${wl} | ${r.recorded.seconds === null ? "–" : r.recorded.seconds.toFixed(2)} s, ${r.recorded.ended ?? "–"} | ${r.recorded.files} / ${r.recorded.ranges} / ${mb(r.recorded.bytes)} | ${r.definition.files} / ${mb(r.definition.bytes)} | ${mb(r.covered_bytes)} | ${mb(r.beyond_bytes)} | ${other} | ${pf} | ${r.ok ? "covers every byte read" : "FAILED"} |`,
    );
    for (const p of r.problems) problems.push(`- ${wl}: ${p}`);
  }
  lines.push("");
  if (problems.length > 0) lines.push("Recording problems (their `lazy-rec` runs fail):", "", ...problems, "");
  return lines;
}
