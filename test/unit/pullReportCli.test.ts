import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import { readFileSync } from "fs";
import * as path from "path";
import { describe, it } from "node:test";
import { CliIo, runPullReport, USAGE } from "../../cli/pullreport/main";
import { buildReport, Report } from "../../cli/pullreport/report";
import { readEvents, readNodeLabels } from "../../cli/pullreport/events";

const REPO_ROOT = path.resolve(__dirname, "..", "..", "..");
const FIXTURES = path.join(REPO_ROOT, "test", "fixtures", "events");
const fixture = (name: string) => readFileSync(path.join(FIXTURES, name), "utf8");
const CHONK_1G = "ghcr.io/converged-computing/container-chonks-run1:9-layers-size-1176249324-bytes";
const CHONK_10G = "ghcr.io/converged-computing/container-chonks-run1:9-layers-size-10902729561-bytes";

function fakeIo(files: Record<string, string>, stdin = "", kubectl?: (args: string[]) => string) {
  const out: string[] = [];
  const err: string[] = [];
  const calls: string[][] = [];
  const io: CliIo = {
    stdin: () => stdin,
    stdinIsTerminal: () => false,
    readFile: (p) => {
      if (!(p in files)) throw Object.assign(new Error(`ENOENT: no such file or directory, open '${p}'`), { code: "ENOENT" });
      return files[p];
    },
    kubectl: (args) => {
      calls.push(args);
      if (!kubectl) throw new Error("kubectl not expected");
      return kubectl(args);
    },
    out: (t) => out.push(t),
    err: (t) => err.push(t),
  };
  return { io, out: () => out.join(""), err: () => err.join(""), calls };
}

describe("pull report over the real EKS 1.27 events, nodes relabelled as a SOCI group and a stock group", () => {
  const report = buildReport(readEvents(fixture("eks-1.27.kubectl-events.json")), {
    nodeLabels: readNodeLabels(fixture("eks-1.27.nodes-relabelled.json")),
  });

  it("groups pulls by node group, mode and image", () => {
    const row = (group: string, image: string) => report.rows.find((r) => r.nodeGroup === group && r.image === image);
    const lazy = row("soci-lazy", CHONK_10G)!;
    const stock = row("stock", CHONK_10G)!;
    assert.equal(lazy.mode, "lazy");
    assert.equal(stock.mode, "off");
    // The four real pulls of the 10.9 GB image: 46.78s, 46.84s, 46.99s, 47.03s (two on one node, at the same time).
    const all = [lazy, stock].flatMap((r) => [r.minMs, r.maxMs]);
    assert.ok(all.every((ms) => ms > 46_700 && ms < 47_100), JSON.stringify(all));
    assert.equal(lazy.pulls + stock.pulls, 4);
    assert.equal(lazy.medianWaitingMs !== undefined, true);
    assert.equal(lazy.imageSizeBytes, undefined, "kubelet 1.27 does not report a size");
  });

  it("computes the speed-up against the stock (off) group of the same image, and none for the stock group", () => {
    for (const r of report.rows) {
      if (r.mode === "off") assert.equal(r.speedupVsOff, undefined);
    }
    const lazy = report.rows.find((r) => r.mode === "lazy" && r.image === CHONK_1G)!;
    const stock = report.rows.find((r) => r.mode === "off" && r.image === CHONK_1G)!;
    assert.equal(lazy.speedupVsOff, Math.round((stock.medianMs / lazy.medianMs) * 100) / 100);
    // Both groups pulled through overlayfs, so the "speed-up" is about 1: the arithmetic, not a SOCI result.
    assert.ok(Math.abs(lazy.speedupVsOff! - 1) < 0.05);
  });

  it("counts already-present and warm repeat pulls apart from cold pulls", () => {
    assert.equal(report.counted.alreadyPresent, 12);
    assert.equal(report.counted.unparsed, 0);
    assert.equal(report.counted.unknownNode, 0);
    const withWarm = buildReport(readEvents(fixture("eks-1.27.kubectl-events.json")), { includeWarm: true });
    assert.equal(withWarm.counted.warmSkipped, 0);
    assert.equal(withWarm.counted.pulls, report.counted.pulls + report.counted.warmSkipped);
  });

  it("a pull that starts after the same image finished on that node is warm; concurrent ones are cold", () => {
    const ev = (t: string, dur: string, node = "n1") => ({
      reason: "Pulled",
      message: `Successfully pulled image "x:1" in ${dur} (${dur} including waiting)`,
      firstTimestamp: t,
      source: { component: "kubelet", host: node },
      involvedObject: { kind: "Pod", namespace: "d", name: `p-${t}` },
    });
    const events = [ev("2026-01-01T00:01:00Z", "60s"), ev("2026-01-01T00:01:01Z", "59.5s"), ev("2026-01-01T00:05:00Z", "300ms"), ev("2026-01-01T00:05:00Z", "61s", "n2")];
    const r = buildReport(events);
    assert.equal(r.counted.pulls, 3);
    assert.equal(r.counted.warmSkipped, 1);
    assert.equal(r.rows[0].minMs, 59_500);
  });
});

describe("npm run pull-report", () => {
  const files = {
    "events.json": fixture("eks-1.27.kubectl-events.json"),
    "nodes.json": fixture("eks-1.27.nodes-relabelled.json"),
    "exporter.ndjson": fixture("eks-1.27.events.ndjson"),
  };

  it("--json prints the report object", () => {
    const f = fakeIo(files);
    assert.equal(runPullReport(["--file", "events.json", "--nodes", "nodes.json", "--json"], f.io), 0);
    const report = JSON.parse(f.out()) as Report;
    assert.deepEqual(Object.keys(report).sort(), ["counted", "degradedNodes", "markers", "notes", "rows"]);
    assert.deepEqual(Object.keys(report.rows[0]).filter((k) => !["medianWaitingMs", "imageSizeBytes", "speedupVsOff", "notLazy"].includes(k)), [
      "nodeGroup",
      "mode",
      "image",
      "pulls",
      "nodes",
      "minMs",
      "medianMs",
      "meanMs",
      "maxMs",
    ]);
    const expected = buildReport(readEvents(files["events.json"]), { nodeLabels: readNodeLabels(files["nodes.json"]) });
    assert.deepEqual(report, JSON.parse(JSON.stringify(expected)));
    assert.equal(f.err(), "");
  });

  it("prints a table with one line per node group, mode and image, and a footer", () => {
    const f = fakeIo(files);
    assert.equal(runPullReport(["--file", "events.json", "--nodes", "nodes.json"], f.io), 0);
    const lines = f.out().split("\n");
    assert.match(lines[0], /^NODE GROUP\s+MODE\s+IMAGE\s+PULLS\s+NODES\s+MEDIAN\s+MIN\s+MAX\s+SIZE\s+VS OFF\s+NOT LAZY\?$/);
    const lazy10g = lines.find((l) => l.startsWith("soci-lazy") && l.includes(CHONK_10G))!;
    assert.match(lazy10g, /^soci-lazy\s+lazy\s+\S+\s+\d+\s+\d+\s+46\.\ds\s+46\.\ds\s+4[67]\.\ds\s+-\s+1\.0x\s+\d+$/);
    assert.match(f.out(), /\d+ pulls counted;.*; 12 "already present" events/);
  });

  it("reads stdin (exporter NDJSON) and warns that node groups need --nodes", () => {
    const f = fakeIo({}, files["exporter.ndjson"]);
    assert.equal(runPullReport(["--image", "chonks"], f.io), 0);
    assert.match(f.err(), /no --nodes given/);
    const body = f.out().split("\n").filter((l) => l.includes("container-chonks"));
    assert.ok(body.length >= 6);
    for (const l of body) assert.match(l, /^-\s+-\s+ghcr\.io/);
    assert.ok(!f.out().includes("coredns"), "--image filters");
  });

  it("--kubectl runs kubectl for events, nodes and pods, with --context", () => {
    const f = fakeIo({}, "", (args) => {
      if (args.includes("events")) return files["events.json"];
      if (args.includes("nodes")) return files["nodes.json"];
      return JSON.stringify({ items: [] });
    });
    assert.equal(runPullReport(["--kubectl", "--context", "lab", "--json"], f.io), 0);
    assert.deepEqual(f.calls, [
      ["--context", "lab", "get", "events", "-A", "-o", "json"],
      ["--context", "lab", "get", "nodes", "-o", "json"],
      ["--context", "lab", "get", "pods", "-A", "-o", "json"],
    ]);
    assert.ok((JSON.parse(f.out()) as Report).rows.some((r) => r.mode === "lazy"));
  });

  it("usage errors and a missing file exit 2 with the flag, the value and the fix; --help exits 0", () => {
    let f = fakeIo(files);
    assert.equal(runPullReport(["--frobnicate"], f.io), 2);
    assert.match(f.err(), /^soci-eks pull-report: 1 problem; nothing was printed:\n {2}- --frobnicate is not an option of soci-eks pull-report\. Run soci-eks pull-report --help/);
    f = fakeIo(files);
    assert.equal(runPullReport(["--kubectl", "--file", "events.json"], f.io), 2);
    assert.match(f.err(), /--file: 'events\.json' and --kubectl both give the events\./);
    f = fakeIo(files);
    assert.equal(runPullReport(["--file", "missing.json"], f.io), 2);
    assert.match(f.err(), /\n {2}- --file: 'missing\.json' does not exist\. Pass what `kubectl get events -A -o json` prints/);
    assert.doesNotMatch(f.err(), /ENOENT/);
    f = fakeIo(files);
    assert.equal(runPullReport(["--help"], f.io), 0);
    assert.equal(f.out(), USAGE);
  });

  it("the built entry point runs as a program (node dist/cli/pullreport/main.js)", () => {
    const r = spawnSync(process.execPath, [path.join(REPO_ROOT, "dist/cli/pullreport/main.js"), "--nodes", path.join(FIXTURES, "eks-1.27.nodes.json"), "--json"], {
      input: files["exporter.ndjson"],
      encoding: "utf8",
    });
    assert.equal(r.status, 0, r.stderr);
    const report = JSON.parse(r.stdout) as Report;
    assert.ok(report.rows.every((row) => row.nodeGroup === "workers" && row.mode === "-"));
    assert.ok(report.counted.pulls > 20);
  });
});
