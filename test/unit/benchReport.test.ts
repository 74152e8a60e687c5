import { strict as assert } from "assert";
import { describe, it } from "node:test";
import { BenchMeta, BenchRun, checkTargets, floorOf, renderMarkdown, renderSvg, stats, summarize } from "../../lab/report/benchReport";

// Synthetic runs built here (no measured figure is asserted): the report's arithmetic and shape only.
function run(over: Partial<BenchRun> & Pick<BenchRun, "condition" | "workload" | "row" | "mode" | "run">, readyMs: number): BenchRun {
  return {
    condition_label: `${over.condition} label`,
    link: { rate_bytes_per_s: 1_000_000, conn_rate_bytes_per_s: 0, ttfb_ms: 0 },
    label: `${over.row} label`,
    span_mib: over.mode === "lazy" ? 4 : null,
    ok: true,
    degraded: false,
    degraded_reasons: "",
    phases_ms: { pull: readyMs / 4, last_snapshot_prepared: null, sandbox: 10, create: 10, start: 20, app_read: readyMs / 2, ready: readyMs },
    warm_start_ms: over.mode === "off" ? 500 : null,
    app_read_bytes: 2_000_000,
    registry: { bytes: 10_000_000, requests: 12, range_requests: over.mode === "lazy" ? 10 : 0 },
    fuse_mounts: over.mode === "lazy" ? 3 : 0,
    whole_indexed_layer_gets: 0,
    soci_store_bytes: 0,
    lazy_max_bytes: null,
    soci_snapshotter: over.mode === "off" ? null : { rss_peak_kib: 40_960, cpu_s: 1.5 },
    containerd: { rss_peak_kib: 81_920, cpu_s: 2 },
    soci_metrics: null,
    index: over.mode === "lazy" ? { span_bytes: 4 << 20, ztoc_bytes: 300_000, index_manifest_bytes: 5_000, unindexed_bytes: 695_000 } : null,
    ready_line: "LAB-READY",
    ...over,
  };
}

const meta: BenchMeta = {
  date: "20260101T000000Z",
  command: "BENCH_RUNS=3 npm run bench",
  cpus: 2,
  kernel: "test",
  loadavg_before: "0.1 0.1 0.1",
  loadavg_after: "0.2 0.2 0.2",
  parallel_tuning_rendered_for: "m6i.large,2,8192",
  runs_per_row: 3,
  default_span_mib: 4,
  workloads: {
    "ref-4": {
      description: "test image <with> markup & quotes \"",
      layers: 3,
      image_bytes: 100_000_000,
      indexed_layers: 2,
      span_bytes: 4 << 20,
      ztoc_bytes: 300_000,
      index_manifest_bytes: 5_000,
      unindexed_bytes: 695_000,
      read_files: 4,
      read_bytes_per_file: 500_000,
    },
  },
  soci_content_store_lazy: "soci",
  gc_pressure: false,
  software: { containerd: "v2.2.4" },
};

function runs(): BenchRun[] {
  const out: BenchRun[] = [];
  for (let r = 1; r <= 3; r++) {
    out.push(run({ condition: "link", workload: "ref", row: "off", mode: "off", run: r }, 10_000 + r * 100));
    out.push(run({ condition: "link", workload: "ref", row: "parallel", mode: "parallel", run: r }, 8_000 + r * 100));
    out.push(run({ condition: "link", workload: "ref", row: "lazy", mode: "lazy", run: r }, 2_000 + r * 100));
  }
  return out;
}

describe("bench report", () => {
  it("stats: min, median (odd and even counts), max, and null for nothing", () => {
    assert.deepEqual(stats([3, 1, 2]), { min: 1, median: 2, max: 3 });
    assert.deepEqual(stats([4, 1, 3, 2]), { min: 1, median: 2.5, max: 4 });
    assert.equal(stats([]), null);
  });

  it("the floor is the reads + index + un-indexed layers at the link rate, plus the stock start cost", () => {
    const f = floorOf(2_000_000, { ztoc_bytes: 300_000, index_manifest_bytes: 5_000, unindexed_bytes: 695_000 }, 1_000_000, 500);
    assert.equal(f.bytes, 3_000_000);
    assert.equal(f.wire_ms, 3_000);
    assert.equal(f.ms, f.wire_ms + f.start_ms);
    assert.equal(f.start_ms, 500);
  });

  it("floorOf: reads of gzip layers count at the layers' compression ratio (the registry serves compressed bytes)", () => {
    const index = { ztoc_bytes: 300_000, index_manifest_bytes: 5_000, unindexed_bytes: 695_000 };
    assert.equal(floorOf(2_000_000, { ...index, indexed_compression_ratio: 0.25 }, 1_000_000, 0).bytes, 1_500_000);
    // a ratio above 1 (tar headers around incompressible data) counts as 1
    assert.equal(floorOf(2_000_000, { ...index, indexed_compression_ratio: 1.02 }, 1_000_000, 0).bytes, 3_000_000);
  });

  it("summarize: rows in run order, speed-up against the same condition's stock row, lazy x of floor", () => {
    const s = summarize(runs());
    assert.deepEqual(s.map((r) => r.row), ["off", "parallel", "lazy"]);
    const [off, par, lazy] = s;
    assert.equal(off.speedup_vs_stock, 1);
    assert.equal(par.speedup_vs_stock, off.ready_ms!.median / par.ready_ms!.median);
    assert.ok(lazy.floor, "a lazy row has a floor");
    assert.equal(lazy.floor!.start_ms, off.warm_start_ms, "the floor's start cost is the stock rows' warm start");
    assert.equal(lazy.x_of_floor, lazy.ready_ms!.median / lazy.floor!.ms);
    assert.equal(off.floor, null);
    assert.equal(lazy.soci_rss_peak_kib!.median, 40_960);
  });

  it("a failed or degraded run is counted but left out of the times", () => {
    const rs = runs();
    rs.push(run({ condition: "link", workload: "ref", row: "lazy", mode: "lazy", run: 4, ok: false, degraded: true, degraded_reasons: "fuse mounts 1 < 2" }, 50_000));
    const lazy = summarize(rs).find((r) => r.row === "lazy")!;
    assert.equal(lazy.n, 4);
    assert.equal(lazy.ok, 3);
    assert.equal(lazy.degraded, 1);
    assert.ok(lazy.ready_ms!.max < 50_000);
  });

  it("targets (issue 21): judged from the rows, NOT RUN (null) when the bench did not run them", () => {
    const t = checkTargets(summarize(runs()));
    const lazy = summarize(runs()).find((r) => r.row === "lazy")!;
    assert.equal(t.find((c) => c.target === "ref lazy <= 1.3x its floor (link)")!.met, lazy.x_of_floor! <= 1.3);
    assert.equal(t.find((c) => c.target === "ref lazy <= 1.6x its floor (ttfb)")!.met, null);
    assert.equal(t.find((c) => c.target === "big lazy >= 15x stock")!.met, null);
    assert.equal(t.find((c) => c.target.startsWith("SOCI parallel"))!.met, true);
    // 10 MB served against a floor of 2 MB read + 1 MB of index and un-indexed layers
    assert.equal(t.find((c) => c.target.startsWith("lazy registry bytes"))!.met, false);
    assert.equal(t.find((c) => c.target === "0 degraded runs")!.met, true);
    const slow = runs().map((r) => (r.row === "parallel" ? { ...r, phases_ms: { ...r.phases_ms, ready: 10_800 } } : r));
    assert.equal(checkTargets(summarize(slow)).find((c) => c.target.startsWith("SOCI parallel"))!.met, false, "0.94x");
    const bad = [...runs(), run({ condition: "link", workload: "ref", row: "lazy", mode: "lazy", run: 4, ok: false, degraded: true, degraded_reasons: "config: x" }, 0)];
    assert.equal(checkTargets(summarize(bad)).find((c) => c.target === "0 degraded runs")!.met, false);
  });

  it("targets: lazy-pf stands for the product where the bench ran it", () => {
    const rs = [...runs(), ...[1, 2, 3].map((r) => run({ condition: "link", workload: "ref", row: "lazy-pf", mode: "lazy", run: r }, 1_000))];
    const c = checkTargets(summarize(rs)).find((x) => x.target === "ref lazy <= 1.3x its floor (link)")!;
    assert.match(c.detail, /^lazy-pf: 1\.00 s/);
  });

  it("Markdown: a table per condition and workload with x stock and x of floor, the targets and every run", () => {
    const md = renderMarkdown(meta, summarize(runs()), runs());
    assert.match(md, /## ref image, link label \(`link`\)/);
    assert.match(md, /\| row \| ok \| median s \(min–max\) \| x stock \| x of floor \(floor s\) \|/);
    assert.match(md, /^## Targets$/m);
    assert.equal(md.split("\n").filter((l) => l.startsWith("| link | ref |")).length, 9, "one line per run");
    assert.match(md, /load average 0\.1 0\.1 0\.1 before and 0\.2 0\.2 0\.2 after/);
  });

  it("after the pull: medians of what lazy runs fetched on demand, in the row table and every run's line", () => {
    const rs = runs().map((r) => (r.row === "lazy" ? { ...r, registry: { ...r.registry, after_pull_bytes: 2_000_000 * r.run, after_pull_requests: r.run } } : r));
    const s = summarize(rs);
    const lazy = s.find((r) => r.row === "lazy")!;
    assert.equal(lazy.after_pull_bytes, 4_000_000);
    assert.equal(lazy.after_pull_requests, 2);
    assert.equal(s.find((r) => r.row === "off")!.after_pull_bytes, null, "not counted: null, not 0");
    const md = renderMarkdown(meta, s, rs);
    assert.match(md, /\| 10\.0 \| 12 \(10\) \| 4\.0 \(2\) \|/);
    assert.match(md, /\| link \| ref \| lazy \| 3 \| true \|.*\| 6\.0 \(3\) \|/);
  });

  it("targets: a lazy-rec row with no ok run fails the target (its recording failed), it is not 'not run'", () => {
    const rs = [...runs(), ...[1, 2].map((r) => run({ condition: "link", workload: "ref", row: "lazy-rec", mode: "lazy", run: r, ok: false, degraded: true, degraded_reasons: "recording: recording failed" }, 0))];
    const c = checkTargets(summarize(rs)).find((x) => x.target === "ref lazy <= 1.3x its floor (link)")!;
    assert.equal(c.met, false);
    assert.equal(c.detail, "lazy-rec: no run of 2 was ok");
  });

  it("Markdown: the recordings section when the bench recorded workloads", () => {
    const m: BenchMeta = { ...meta, recordings: { big: { workload: "big", ok: false, problems: ["recording failed: exit 1"] } } };
    const md = renderMarkdown(m, summarize(runs()), runs());
    assert.match(md, /## Recorded prefetch \(`lazy-rec`\)[\s\S]*- big: recording failed: exit 1[\s\S]*## ref image/);
    assert.doesNotMatch(renderMarkdown(meta, summarize(runs()), runs()), /Recorded prefetch/);
  });

  it("SVG: one bar per row with an ok run, a floor mark per lazy row, text escaped", () => {
    const m = { ...meta, date: "<&>" };
    const svg = renderSvg(m, summarize(runs()));
    assert.ok(svg.startsWith("<svg xmlns=\"http://www.w3.org/2000/svg\""));
    assert.ok(svg.trimEnd().endsWith("</svg>"));
    assert.equal((svg.match(/<rect /g) ?? []).length, 1 + 3, "background + 3 bars");
    assert.equal((svg.match(/stroke-dasharray/g) ?? []).length, 1, "one floor mark");
    assert.ok(svg.includes("&lt;&amp;&gt;") && !svg.includes("<&>"));
  });
});
