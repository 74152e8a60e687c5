import { RecordingCheck, RecordingFailure, renderRecordings } from "./recording";
import { PullTimeline } from "./timeline";

/**
 * The pull bench's report (lab/lib/bench-node.sh writes one JSON line per run): summary statistics per row, the floor
 * of each lazy row, the issue's targets, and the Markdown and SVG renderings. Pure functions: no I/O.
 */

/** Phases of one run, in milliseconds (null when the run did not get that far). */
export interface Phases {
  /** CRI pull request to the pull's return. */
  pull: number | null;
  /** Pull request to SOCI's last "snapshot successfully prepared" log line (SOCI modes). */
  last_snapshot_prepared: number | null;
  /** RunPodSandbox. */
  sandbox: number | null;
  /** CreateContainer. */
  create: number | null;
  /** CreateContainer's return to the entrypoint's first stamp (inside the container). */
  start: number | null;
  /** The entrypoint's start stamp to its ready stamp: the app's reads. */
  app_read: number | null;
  /** Pull request to the ready stamp: the figure the bench is about. */
  ready: number | null;
}

/** Resource use of a daemon at the ready line. */
export interface ProcStats {
  rss_peak_kib: number;
  cpu_s: number;
}

/** One run, as bench-node.sh writes it. */
export interface BenchRun {
  condition: string;
  condition_label: string;
  link: { rate_bytes_per_s: number; conn_rate_bytes_per_s: number; ttfb_ms: number };
  workload: string;
  row: string;
  label: string;
  mode: "off" | "parallel" | "lazy";
  span_mib: number | null;
  run: number;
  ok: boolean;
  degraded: boolean;
  degraded_reasons: string;
  phases_ms: Phases;
  warm_start_ms: number | null;
  app_read_bytes: number | null;
  /**
   * Through the counting proxy. after_pull_*: the requests it logged after the pull returned (GET bytes): for a lazy
   * run, the on-demand fetches of the container's reads (absent in results written before they were counted).
   */
  registry: { bytes: number; requests: number; range_requests: number; after_pull_bytes?: number; after_pull_requests?: number };
  fuse_mounts: number;
  whole_indexed_layer_gets: number;
  soci_store_bytes: number;
  lazy_max_bytes: number | null;
  /** Busy share of the whole machine's CPU during the run (every process on the host, other users included). */
  machine_cpu_busy_pct?: number | null;
  soci_snapshotter: ProcStats | null;
  containerd: ProcStats | null;
  soci_metrics: Record<string, number> | null;
  index: {
    span_bytes: number;
    ztoc_bytes: number;
    index_manifest_bytes: number;
    unindexed_bytes: number;
    /** Compressed / uncompressed bytes of the indexed layers (at most 1); absent in reports before it was recorded. */
    indexed_compression_ratio?: number;
  } | null;
  /** The row's edits of our SOCI config (lab/config syntax), checked against `config dump` before the run. */
  soci_edits?: string[];
  /** The pull phase layer by layer (SOCI rows), from SOCI's log (lab/report/timeline.ts). */
  pull_timeline?: PullTimeline | null;
  ready_line: string;
}

/** Facts about one workload's image and one of its SOCI indexes. */
export interface WorkloadFacts {
  description: string;
  layers: number;
  image_bytes: number;
  indexed_layers: number;
  span_bytes: number;
  ztoc_bytes: number;
  index_manifest_bytes: number;
  unindexed_bytes: number;
  read_files: number;
  read_bytes_per_file: number;
  /** Spans the index's prefetch artifacts list, and the compressed bytes of a recorded index's spans (`-rec`). */
  prefetch_spans?: number;
  recorded_span_bytes?: number | null;
}

/** What the bench records about the machine and the run as a whole. */
export interface BenchMeta {
  date: string;
  command: string;
  cpus: number;
  kernel: string;
  loadavg_before: string;
  loadavg_after: string;
  parallel_tuning_rendered_for: string;
  runs_per_row: number;
  default_span_mib: number;
  /** Keyed `<workload>-<span MiB>`. */
  workloads: Record<string, WorkloadFacts>;
  /** Per workload with a `lazy-rec` row: its recording set against what the entrypoint reads (lab/report/recording.ts). */
  recordings?: Record<string, RecordingCheck | RecordingFailure>;
  soci_content_store_lazy: string;
  gc_pressure: boolean;
  software: Record<string, string>;
}

/** min, median and max of some numbers. */
export interface Stats {
  min: number;
  median: number;
  max: number;
}

/** The floor of a lazy row: the least a lazy start can cost on this link. */
export interface Floor {
  /** What must cross the link: the app's reads, the index (zTOCs + index manifest) and the un-indexed layers. */
  bytes: number;
  /** The bytes at the link's total rate. */
  wire_ms: number;
  /** The stock start cost: the stock node starting the image already present (median). */
  start_ms: number;
  ms: number;
}

/** One row of the summary: a condition, a workload and a node setup. */
export interface RowSummary {
  condition: string;
  condition_label: string;
  workload: string;
  row: string;
  label: string;
  mode: string;
  n: number;
  ok: number;
  degraded: number;
  /** Pull request to ready, over ok runs. */
  ready_ms: Stats | null;
  /** Median of each phase over ok runs. */
  phases_ms: Partial<Record<keyof Phases, number>>;
  registry_bytes: number | null;
  registry_requests: number | null;
  range_requests: number | null;
  /** Medians of the bytes and requests fetched after the pull (lazy rows: on demand); null when not counted. */
  after_pull_bytes: number | null;
  after_pull_requests: number | null;
  soci_rss_peak_kib: Stats | null;
  soci_cpu_s: number | null;
  containerd_rss_peak_kib: number | null;
  containerd_cpu_s: number | null;
  warm_start_ms: number | null;
  /** Median busy share of the machine's CPU during the runs (all processes on the host). */
  machine_cpu_busy_pct: number | null;
  /** Stock median / this row's median (same condition and workload); > 1 is faster than stock. */
  speedup_vs_stock: number | null;
  floor: Floor | null;
  /** This row's median / its floor (lazy rows). */
  x_of_floor: number | null;
  /** Median of SOCI's resolve cache misses (lazy rows): the image's indexed layers when nothing was resolved twice. */
  resolve_misses: number | null;
  /** Medians over ok runs of the pull phase's split (SOCI rows with a timeline). */
  pull_split: { layers: number; before_first_ms: number; in_prepare_ms: number; between_ms: number; after_last_ms: number; longest_prepare_ms: number } | null;
}

/** An issue target, checked on one results file. */
export interface TargetCheck {
  target: string;
  met: boolean | null;
  detail: string;
}

export function stats(values: number[]): Stats | null {
  if (values.length === 0) return null;
  const v = [...values].sort((a, b) => a - b);
  const mid = Math.floor(v.length / 2);
  const median = v.length % 2 === 1 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
  return { min: v[0], median, max: v[v.length - 1] };
}

function median(values: Array<number | null | undefined>): number | null {
  const s = stats(values.filter((x): x is number => typeof x === "number"));
  return s ? s.median : null;
}

/**
 * The floor of a lazy start: (reads + index + un-indexed layers) at the link's total rate, plus the stock start cost.
 * The app reads uncompressed bytes and the registry serves compressed ones: reads count at the indexed layers'
 * compression ratio (1 when the report does not carry it).
 */
export function floorOf(
  appReadBytes: number,
  index: { ztoc_bytes: number; index_manifest_bytes: number; unindexed_bytes: number; indexed_compression_ratio?: number },
  rateBytesPerS: number,
  stockStartMs: number,
): Floor {
  const bytes = appReadBytes * Math.min(index.indexed_compression_ratio ?? 1, 1) + index.ztoc_bytes + index.index_manifest_bytes + index.unindexed_bytes;
  const wire = rateBytesPerS > 0 ? (bytes / rateBytesPerS) * 1000 : 0;
  return { bytes, wire_ms: wire, start_ms: stockStartMs, ms: wire + stockStartMs };
}

const key = (r: { condition: string; workload: string; row: string }): string => `${r.condition}|${r.workload}|${r.row}`;

/** Summarises the runs per condition, workload and row, in the order the rows first ran. */
export function summarize(runs: BenchRun[]): RowSummary[] {
  const groups = new Map<string, BenchRun[]>();
  for (const r of runs) {
    const k = key(r);
    const g = groups.get(k);
    if (g) g.push(r);
    else groups.set(k, [r]);
  }
  // The stock start cost per workload and condition (any condition's stock runs when this one has none).
  const warm = new Map<string, number | null>();
  const warmAny = new Map<string, number | null>();
  for (const [, g] of groups) {
    if (g[0].mode !== "off" || g[0].row !== "off") continue;
    const w = median(g.filter((r) => r.ok).map((r) => r.warm_start_ms));
    warm.set(`${g[0].condition}|${g[0].workload}`, w);
    if (g[0].condition === "link" || !warmAny.has(g[0].workload)) warmAny.set(g[0].workload, w);
  }
  const out: RowSummary[] = [];
  for (const [, g] of groups) {
    const ok = g.filter((r) => r.ok);
    // a misconfigured run carries no link or index: describe the row by its first ok run
    const first = ok[0] ?? g[0];
    const phaseNames: Array<keyof Phases> = ["pull", "last_snapshot_prepared", "sandbox", "create", "start", "app_read", "ready"];
    const phases: Partial<Record<keyof Phases, number>> = {};
    for (const p of phaseNames) {
      const m = median(ok.map((r) => r.phases_ms[p]));
      if (m !== null) phases[p] = m;
    }
    const sociRss = stats(ok.flatMap((r) => (r.soci_snapshotter ? [r.soci_snapshotter.rss_peak_kib] : [])));
    const startCost = warm.get(`${first.condition}|${first.workload}`) ?? warmAny.get(first.workload) ?? null;
    const readBytes = median(ok.map((r) => r.app_read_bytes));
    let floor: Floor | null = null;
    if (first.mode === "lazy" && first.index && startCost !== null && readBytes !== null) {
      floor = floorOf(readBytes, first.index, first.link.rate_bytes_per_s, startCost);
    }
    const ready = stats(ok.flatMap((r) => (r.phases_ms.ready !== null ? [r.phases_ms.ready] : [])));
    const tls = ok.flatMap((r) => (r.pull_timeline ? [r.pull_timeline] : []));
    const pullSplit =
      tls.length > 0
        ? {
            layers: median(tls.map((t) => t.layers.length))!,
            before_first_ms: median(tls.map((t) => t.before_first_ms))!,
            in_prepare_ms: median(tls.map((t) => t.in_prepare_ms))!,
            between_ms: median(tls.map((t) => t.between_ms))!,
            after_last_ms: median(tls.map((t) => t.after_last_ms))!,
            longest_prepare_ms: median(tls.map((t) => t.longest_prepare_ms))!,
          }
        : null;
    out.push({
      condition: first.condition,
      condition_label: first.condition_label,
      workload: first.workload,
      row: first.row,
      label: first.label,
      mode: first.mode,
      n: g.length,
      ok: ok.length,
      degraded: g.filter((r) => r.degraded).length,
      ready_ms: ready,
      phases_ms: phases,
      registry_bytes: median(ok.map((r) => r.registry.bytes)),
      registry_requests: median(ok.map((r) => r.registry.requests)),
      range_requests: median(ok.map((r) => r.registry.range_requests)),
      after_pull_bytes: median(ok.map((r) => r.registry.after_pull_bytes)),
      after_pull_requests: median(ok.map((r) => r.registry.after_pull_requests)),
      soci_rss_peak_kib: sociRss,
      soci_cpu_s: median(ok.map((r) => r.soci_snapshotter?.cpu_s)),
      containerd_rss_peak_kib: median(ok.map((r) => r.containerd?.rss_peak_kib)),
      containerd_cpu_s: median(ok.map((r) => r.containerd?.cpu_s)),
      warm_start_ms: median(ok.map((r) => r.warm_start_ms)),
      machine_cpu_busy_pct: median(ok.map((r) => r.machine_cpu_busy_pct)),
      speedup_vs_stock: null,
      floor,
      x_of_floor: floor && ready ? ready.median / floor.ms : null,
      pull_split: pullSplit,
      resolve_misses: median(ok.map((r) => r.soci_metrics?.['soci_fs_operation_count{operation_type="resolve_cache_miss"}'])),
    });
  }
  for (const s of out) {
    const stock = out.find((o) => o.condition === s.condition && o.workload === s.workload && o.row === "off");
    if (stock?.ready_ms && s.ready_ms) s.speedup_vs_stock = stock.ready_ms.median / s.ready_ms.median;
  }
  return out;
}

function find(rows: RowSummary[], condition: string, workload: string, row: string): RowSummary | undefined {
  return rows.find((r) => r.condition === condition && r.workload === workload && r.row === row);
}

const x = (v: number): string => `${v.toFixed(2)}x`;
const sec = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;

/**
 * The lazy row that stands for the product on a condition and workload: `lazy-rec` (the image indexed with the byte
 * ranges a recording of it read, as SociIndexBuilder's `prefetch.record` option builds it) where the bench ran it, else
 * `lazy-pf` (whole files listed), else `lazy`.
 */
export function productLazy(rows: RowSummary[], condition: string, workload: string): RowSummary | undefined {
  return find(rows, condition, workload, "lazy-rec") ?? find(rows, condition, workload, "lazy-pf") ?? find(rows, condition, workload, "lazy");
}

/** Issue 21's ceilings for lazy time over its floor, per condition. */
export const FLOOR_TARGETS: ReadonlyArray<{ condition: string; max: number }> = [
  { condition: "link", max: 1.3 },
  { condition: "ttfb", max: 1.6 },
  { condition: "conncap", max: 2 },
];

/** The issue's targets (issue 21), checked on this file's rows; null where the bench did not run the rows. */
export function checkTargets(rows: RowSummary[]): TargetCheck[] {
  const checks: TargetCheck[] = [];
  for (const wl of ["ref", "big"]) {
    for (const { condition, max } of FLOOR_TARGETS) {
      const target = `${wl} lazy <= ${max}x its floor (${condition})`;
      const r = productLazy(rows, condition, wl);
      checks.push(
        r?.x_of_floor != null && r.floor && r.ready_ms
          ? {
              target,
              met: r.x_of_floor <= max,
              detail: `${r.row}: ${sec(r.ready_ms.median)} = ${x(r.x_of_floor)} of the floor ${sec(r.floor.ms)} (${sec(r.floor.start_ms)} stock start + ${(r.floor.bytes / 1e6).toFixed(1)} MB at the link rate)`,
            }
          : r && r.ok === 0
            ? { target, met: false, detail: `${r.row}: no run of ${r.n} was ok` }
            : { target, met: null, detail: `not run (${condition} ${wl} lazy-rec, lazy-pf or lazy with a stock row)` },
      );
    }
  }
  const bigLazy = productLazy(rows, "link", "big");
  checks.push(
    bigLazy?.speedup_vs_stock != null
      ? { target: "big lazy >= 15x stock", met: bigLazy.speedup_vs_stock >= 15, detail: `${bigLazy.row}: ${x(bigLazy.speedup_vs_stock)} (${sec(bigLazy.ready_ms!.median)} vs stock ${sec(find(rows, "link", "big", "off")!.ready_ms!.median)})` }
      : { target: "big lazy >= 15x stock", met: null, detail: "not run (link big lazy and off rows)" },
  );
  const par = rows.filter((r) => r.row === "parallel" && r.speedup_vs_stock != null);
  checks.push(
    par.length > 0
      ? {
          target: "SOCI parallel (ours) >= 0.95x stock on every row",
          met: par.every((r) => r.speedup_vs_stock! >= 0.95),
          detail: par.map((r) => `${r.condition}/${r.workload}: ${x(r.speedup_vs_stock!)}`).join("; "),
        }
      : { target: "SOCI parallel (ours) >= 0.95x stock on every row", met: null, detail: "not run (parallel and off rows)" },
  );
  const lazyRows = rows.filter((r) => ["lazy", "lazy-rec", "lazy-pf"].includes(r.row) && r.floor && r.registry_bytes !== null);
  checks.push(
    lazyRows.length > 0
      ? {
          target: "lazy registry bytes <= 1.3x (bytes read + index)",
          met: lazyRows.every((r) => r.registry_bytes! <= 1.3 * r.floor!.bytes),
          detail: lazyRows.map((r) => `${r.condition}/${r.workload}/${r.row}: ${x(r.registry_bytes! / r.floor!.bytes)}`).join("; "),
        }
      : { target: "lazy registry bytes <= 1.3x (bytes read + index)", met: null, detail: "not run (lazy rows)" },
  );
  const degraded = rows.reduce((n, r) => n + r.degraded, 0);
  const failed = rows.reduce((n, r) => n + (r.n - r.ok), 0);
  checks.push({
    target: "0 degraded runs",
    met: rows.length > 0 ? degraded === 0 : null,
    detail: `${degraded} degraded (misconfigured or not lazy), ${failed} failed in all, of ${rows.reduce((n, r) => n + r.n, 0)} runs`,
  });
  return checks;
}

const mb = (b: number | null): string => (b === null ? "–" : (b / 1e6).toFixed(1));
const s2 = (ms: number | null | undefined): string => (ms == null ? "–" : (ms / 1000).toFixed(2));
const mib = (kib: number | null | undefined): string => (kib == null ? "–" : (kib / 1024).toFixed(0));

/** The results as Markdown: conditions, a summary table per condition and workload, the targets, every run. */
export function renderMarkdown(meta: BenchMeta, rows: RowSummary[], runs: BenchRun[]): string {
  const lines: string[] = [];
  lines.push(`# Pull-to-ready benchmark (${meta.date})`, "");
  lines.push(`Command: \`${meta.command}\`. Machine: ${meta.cpus} vCPU, kernel ${meta.kernel}, load average ${meta.loadavg_before} before and ${meta.loadavg_after} after (1/5/15 min).`);
  lines.push(`Software: ${Object.entries(meta.software).map(([k, v]) => `${k} ${v}`).join(", ")}. Parallel tuning rendered for ${meta.parallel_tuning_rendered_for.replace(/,/g, " / ")} (type, vCPU, MiB). ${meta.runs_per_row} cold runs per row; SOCI content store in lazy mode: ${meta.soci_content_store_lazy}; containerd GC pressure: ${meta.gc_pressure}.`);
  lines.push("");
  lines.push("Time = CRI pull request to the entrypoint's ready stamp (taken inside the container). Phases (medians): pull = the CRI pull; snap = pull request to SOCI's last prepared snapshot; start = CreateContainer's return to the entrypoint's first stamp; read = the entrypoint's reads. Registry = bytes and requests through the lab's counting proxy, which also shapes the link; after pull = what it served after the pull returned (lazy rows: the container's on-demand fetches). RSS / CPU = soci-snapshotter-grpc's peak RSS (VmHWM) and CPU seconds (with waited-for children such as unpigz) at the ready line; containerd's likewise. Busy = the machine's CPU busy share during the run (all cores, every process: registry, proxy, node daemons and other users of the machine). Floor (lazy rows) = (bytes the app read + zTOCs + index manifest + un-indexed layers) at the link's total rate + the stock start cost (the stock node starting the image already present).");
  lines.push("");
  const workloads = [...new Set(rows.map((r) => r.workload))];
  for (const w of workloads) {
    const facts = Object.entries(meta.workloads).find(([k]) => k === `${w}-${meta.default_span_mib}`)?.[1];
    if (facts) {
      lines.push(`Workload \`${w}\`: ${facts.description}; ${facts.layers} layers, ${mb(facts.image_bytes)} MB compressed; the entrypoint reads ${mb(facts.read_files * facts.read_bytes_per_file)} MB (${((facts.read_files * facts.read_bytes_per_file * 100) / facts.image_bytes).toFixed(2)}% of the compressed bytes).`);
    }
  }
  lines.push("");
  const edits = new Map<string, string[]>();
  for (const r of runs) if (r.soci_edits?.length && !edits.has(r.row)) edits.set(r.row, r.soci_edits);
  if (edits.size > 0) {
    lines.push("Rows' edits of our SOCI config (made with lab/config; each run's file was checked against `soci-snapshotter-grpc config dump` before it ran):", "");
    for (const [row, e] of edits) lines.push(`- \`${row}\`: ${e.map((x) => `\`${x}\``).join(", ")}`);
    lines.push("");
  }
  lines.push(...renderRecordings(meta.recordings ?? {}));
  const groups = [...new Set(rows.map((r) => `${r.condition}|${r.workload}`))];
  for (const gk of groups) {
    const g = rows.filter((r) => `${r.condition}|${r.workload}` === gk);
    lines.push(`## ${g[0].workload} image, ${g[0].condition_label} (\`${g[0].condition}\`)`, "");
    lines.push("| row | ok | median s (min–max) | x stock | x of floor (floor s) | pull s | snap s | start s | read s | registry MB | requests (ranges) | after pull MB (requests) | resolve misses | SOCI RSS MiB (max) | SOCI CPU s | containerd CPU s | busy % |");
    lines.push("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    for (const r of g) {
      const t = r.ready_ms ? `${s2(r.ready_ms.median)} (${s2(r.ready_ms.min)}–${s2(r.ready_ms.max)})` : "–";
      const fl = r.floor && r.x_of_floor !== null ? `${x(r.x_of_floor)} (${s2(r.floor.ms)})` : "";
      const rss = r.soci_rss_peak_kib ? `${mib(r.soci_rss_peak_kib.median)} (${mib(r.soci_rss_peak_kib.max)})` : "–";
      lines.push(
        `| ${r.label} | ${r.ok}/${r.n}${r.degraded ? `, ${r.degraded} degraded` : ""} | ${t} | ${r.speedup_vs_stock === null ? "–" : x(r.speedup_vs_stock)} | ${fl} | ${s2(r.phases_ms.pull)} | ${s2(r.phases_ms.last_snapshot_prepared)} | ${s2(r.phases_ms.start)} | ${s2(r.phases_ms.app_read)} | ${mb(r.registry_bytes)} | ${r.registry_requests ?? "–"} (${r.range_requests ?? "–"}) | ${r.after_pull_bytes === null ? "–" : `${mb(r.after_pull_bytes)} (${r.after_pull_requests ?? "–"})`} | ${r.resolve_misses ?? "–"} | ${rss} | ${r.soci_cpu_s?.toFixed(2) ?? "–"} | ${r.containerd_cpu_s?.toFixed(2) ?? "–"} | ${r.machine_cpu_busy_pct ?? "–"} |`,
      );
    }
    const stock = g.find((r) => r.row === "off");
    if (stock?.warm_start_ms != null) lines.push("", `Stock start cost (image present, median): ${s2(stock.warm_start_ms)} s.`);
    lines.push("");
  }
  const split = rows.filter((r) => r.pull_split);
  if (split.length > 0) {
    lines.push("## The pull phase, split (SOCI rows; medians, from SOCI's log)", "");
    lines.push("containerd's unpacker calls SOCI's Prepare once per layer, one after another. Before = pull request to the first Prepare (containerd resolving the image); SOCI = the sum of the time inside SOCI's Prepare calls (index and zTOCs, layer resolve, metadata, prefetch, FUSE mount); between = the sum of the gaps from one answer to the next call (containerd and the gRPC round trip); after = the last answer to the pull's return.", "");
    lines.push("| condition | workload | row | pull s | layers | before s | SOCI s (longest) | between s | after s |");
    lines.push("|---|---|---|---|---|---|---|---|---|");
    for (const r of split) {
      const p = r.pull_split!;
      lines.push(`| ${r.condition} | ${r.workload} | ${r.label} | ${s2(r.phases_ms.pull)} | ${p.layers} | ${s2(p.before_first_ms)} | ${s2(p.in_prepare_ms)} (${s2(p.longest_prepare_ms)}) | ${s2(p.between_ms)} | ${s2(p.after_last_ms)} |`);
    }
    lines.push("");
    // one run layer by layer: the product's lazy row on the big image's open link, the run with the median time
    const big = productLazy(rows, "link", "big");
    const bigRuns = big ? runs.filter((r) => r.ok && r.pull_timeline && r.condition === "link" && r.workload === "big" && r.row === big.row) : [];
    if (big && bigRuns.length > 0) {
      const sorted = [...bigRuns].sort((a, b) => (a.phases_ms.ready ?? 0) - (b.phases_ms.ready ?? 0));
      const m = sorted[Math.floor((sorted.length - 1) / 2)];
      const t = m.pull_timeline!;
      lines.push(`Layer by layer: \`${big.row}\` on the big image, open link, run ${m.run} (ms from the pull request):`, "");
      lines.push("| # | Prepare at | SOCI ms | gap before ms | answer |");
      lines.push("|---|---|---|---|---|");
      t.layers.forEach((l, i) => lines.push(`| ${i + 1} | ${l.start_ms.toFixed(0)} | ${(l.end_ms - l.start_ms).toFixed(0)} | ${l.gap_before_ms.toFixed(0)} | ${l.kind} |`));
      lines.push("");
    }
  }
  lines.push("## Targets", "");
  for (const c of checkTargets(rows)) lines.push(`- ${c.met === null ? "NOT RUN" : c.met ? "MET" : "NOT MET"}: ${c.target}: ${c.detail}`);
  lines.push("", "## Every run", "");
  lines.push("| condition | workload | row | run | ok | ready s | pull s | registry MB | requests | after pull MB (requests) | FUSE mounts | SOCI RSS MiB | SOCI CPU s | degraded because |");
  lines.push("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
  for (const r of runs) {
    lines.push(
      `| ${r.condition} | ${r.workload} | ${r.row} | ${r.run} | ${r.ok} | ${s2(r.phases_ms.ready)} | ${s2(r.phases_ms.pull)} | ${mb(r.registry.bytes)} | ${r.registry.requests} | ${r.registry.after_pull_bytes == null ? "–" : `${mb(r.registry.after_pull_bytes)} (${r.registry.after_pull_requests ?? "–"})`} | ${r.fuse_mounts} | ${mib(r.soci_snapshotter?.rss_peak_kib)} | ${r.soci_snapshotter?.cpu_s.toFixed(2) ?? "–"} | ${r.degraded_reasons} |`,
    );
  }
  lines.push("");
  return lines.join("\n");
}

function esc(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

/** A horizontal bar chart of time-to-ready (median, min–max whisker) per row, one panel per condition and workload,
 * each on its own linear scale; lazy rows carry their floor as a dashed mark. */
export function renderSvg(meta: BenchMeta, rows: RowSummary[]): string {
  const width = 960;
  const labelW = 360;
  const plotW = width - labelW - 90;
  const barH = 16;
  const gap = 6;
  const parts: string[] = [];
  let y = 40;
  const groups = [...new Set(rows.map((r) => `${r.condition}|${r.workload}`))];
  for (const gk of groups) {
    const g = rows.filter((r) => `${r.condition}|${r.workload}` === gk);
    const max = Math.max(1, ...g.map((r) => Math.max(r.ready_ms?.max ?? 0, r.floor?.ms ?? 0)));
    const scale = (ms: number): number => (ms / max) * plotW;
    parts.push(`<text x="10" y="${y + 12}" font-weight="bold">${esc(`${g[0].workload} image, ${g[0].condition_label}`)}</text>`);
    y += 22;
    for (const r of g) {
      const fill = r.mode === "off" ? "#888888" : r.mode === "parallel" ? "#4a7bd0" : "#2e9e5b";
      parts.push(`<text x="${labelW - 6}" y="${y + barH - 4}" text-anchor="end">${esc(r.label)}</text>`);
      if (r.ready_ms) {
        const m = r.ready_ms;
        parts.push(`<rect x="${labelW}" y="${y}" width="${scale(m.median).toFixed(1)}" height="${barH}" fill="${fill}"/>`);
        parts.push(`<line x1="${(labelW + scale(m.min)).toFixed(1)}" x2="${(labelW + scale(m.max)).toFixed(1)}" y1="${y + barH / 2}" y2="${y + barH / 2}" stroke="#000" stroke-width="1"/>`);
        const tail = r.speedup_vs_stock !== null && r.row !== "off" ? ` (${x(r.speedup_vs_stock)} stock)` : "";
        parts.push(`<text x="${(labelW + scale(m.max) + 4).toFixed(1)}" y="${y + barH - 4}">${esc(`${s2(m.median)} s${tail}`)}</text>`);
      } else {
        parts.push(`<text x="${labelW + 4}" y="${y + barH - 4}" fill="#b00">no ok run</text>`);
      }
      if (r.floor) {
        const fx = (labelW + scale(r.floor.ms)).toFixed(1);
        parts.push(`<line x1="${fx}" x2="${fx}" y1="${y - 2}" y2="${y + barH + 2}" stroke="#d04a4a" stroke-width="2" stroke-dasharray="3,2"/>`);
      }
      y += barH + gap;
    }
    y += 14;
  }
  const height = y + 30;
  const title = `Time to ready per row (median bar, min–max line, floor dashed red), ${meta.date}, ${meta.cpus} vCPU, load ${meta.loadavg_before} → ${meta.loadavg_after}`;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="10" y="20" font-size="14">${esc(title)}</text>`,
    ...parts,
    `<text x="10" y="${height - 10}" fill="#555">${esc("Each panel has its own linear scale. Grey: stock; blue: SOCI parallel; green: SOCI lazy.")}</text>`,
    "</svg>",
    "",
  ].join("\n");
}
