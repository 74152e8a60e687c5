import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { describe, it } from "node:test";
import {
  ApplySummary,
  ReadsFile,
  RecordingCheck,
  compareRecording,
  entrypointReads,
  imageDataFiles,
  mergeRanges,
  overlapBytes,
  renderRecordings,
} from "../../lab/report/recording";

// The bench's recorded-prefetch check (lab/report/recording.ts) on synthetic recordings built here: no measured figure.
const MiB = 1 << 20;
const ref = { argv: ["/bin/entry", "-frac", "0.06", "/data"], layers: 9, layerBytes: 120 * MiB, filesPerLayer: 4 };

/** A recording that read each definition file's ranges rounded up to 128 KiB (the kernel's read-ahead) and the entry. */
function recordingOf(def: ReadsFile, over: Partial<ReadsFile> = {}): ReadsFile {
  const ra = 128 << 10;
  return {
    version: 1,
    source: "record",
    platform: "linux/amd64",
    seconds: 0.12,
    ended: "exited 0",
    files: [
      { path: "/bin/entry", ranges: [[0, 671744], [679936, 442368]] },
      ...def.files.map((f) => ({ path: f.path, ranges: (f.ranges ?? []).map(([o, n]): [number, number] => [o, Math.ceil(n / ra) * ra]) })),
    ],
    ...over,
  };
}

function applyOf(rec: ReadsFile, skip: Record<string, string> = {}): ApplySummary {
  const files = rec.files.map((f) => ({
    path: f.path,
    layer: f.path === "/bin/entry" ? 0 : Number(f.path.slice(7, 9)),
    readBytes: (f.ranges ?? []).reduce((n, r) => n + r[1], 0),
    ranges: f.ranges ?? null,
    spans: f.path === "/bin/entry" ? 0 : 2,
    spanBytes: f.path === "/bin/entry" ? 0 : 4 * MiB,
    ...(f.path === "/bin/entry" ? { skipped: "in a layer without zTOC (pulled whole)" } : skip[f.path] ? { skipped: skip[f.path] } : {}),
  }));
  const kept = files.filter((f) => !f.skipped);
  return {
    source: "record",
    platforms: [{ platform: "linux/amd64", files, prefetchFiles: kept.length, readBytes: kept.reduce((n, f) => n + f.readBytes, 0), spans: 54, spanBytes: 54 * 2 * MiB, artifacts: 9 }],
  };
}

describe("recorded prefetch: the workload's definition (lab/report/recording.ts)", () => {
  it("mkimage's data files: names, sizes (the last file of a layer takes the remainder), lexical order", () => {
    const files = imageDataFiles({ layers: 2, layerBytes: 16 * MiB, filesPerLayer: 8000 });
    assert.equal(files.length, 16000);
    const l1 = files.filter((f) => f.path.startsWith("/data/L01/"));
    assert.equal(l1.reduce((n, f) => n + f.size, 0), 16 * MiB);
    assert.equal(l1.find((f) => f.path === "/data/L01/f000.bin")!.size, Math.floor((16 * MiB) / 8000));
    assert.equal(l1.find((f) => f.path === "/data/L01/f7999.bin")!.size, 16 * MiB - Math.floor((16 * MiB) / 8000) * 7999);
    const names = files.map((f) => f.path);
    assert.deepEqual(names, [...names].sort(), "a lexical walk, as filepath.WalkDir visits them");
    assert.ok(names.indexOf("/data/L01/f1000.bin") < names.indexOf("/data/L01/f999.bin"));
    assert.throws(() => imageDataFiles({ layers: 0, layerBytes: 1, filesPerLayer: 1 }), /layers = 0/);
  });

  it("ref: the first floor(size * frac) bytes of every file under /data, as the entrypoint computes them", () => {
    const r = entrypointReads(ref);
    assert.equal(r.files.length, 36);
    assert.deepEqual(r.files[0], { path: "/data/L01/f000.bin", ranges: [[0, Math.trunc(30 * MiB * 0.06)]] });
    assert.equal(r.files.reduce((n, f) => n + f.ranges![0][1], 0), 36 * Math.trunc(30 * MiB * 0.06));
    // -frac left out: the entrypoint's default, 0.06
    assert.deepEqual(entrypointReads({ ...ref, argv: ["/bin/entry", "/data/L02"] }).files.map((f) => f.ranges![0][1]), Array(4).fill(Math.trunc(30 * MiB * 0.06)));
    // --frac=1 and -hold are the entrypoint's flags too
    assert.deepEqual(entrypointReads({ ...ref, argv: ["/bin/entry", "--frac=1", "-hold", "/data/L03/f001.bin"] }).files, [{ path: "/data/L03/f001.bin", ranges: [[0, 30 * MiB]] }]);
  });

  it("big: whole named files; files: every file of one layer", () => {
    const big = entrypointReads({ argv: ["/bin/entry", "-frac", "1", "/data/L03/f003.bin", "/data/L06/f006.bin"], layers: 32, layerBytes: 120 * MiB, filesPerLayer: 16 });
    assert.deepEqual(big.files, [
      { path: "/data/L03/f003.bin", ranges: [[0, 7.5 * MiB]] },
      { path: "/data/L06/f006.bin", ranges: [[0, 7.5 * MiB]] },
    ]);
    const files = entrypointReads({ argv: ["/bin/entry", "-frac", "1", "/data/L01"], layers: 8, layerBytes: 16 * MiB, filesPerLayer: 8000 });
    assert.equal(files.files.length, 8000);
    assert.equal(files.files.reduce((n, f) => n + f.ranges![0][1], 0), 16 * MiB);
  });

  it("a definition the model cannot follow is refused, not guessed", () => {
    assert.throws(() => entrypointReads({ ...ref, argv: ["/bin/entry", "-x", "/data"] }), /not one of the lab entrypoint's/);
    assert.throws(() => entrypointReads({ ...ref, argv: ["/bin/entry", "-frac", "2", "/data"] }), /-frac 2/);
    assert.throws(() => entrypointReads({ ...ref, argv: ["/bin/entry", "/"] }), /only the image's \/data files/);
    assert.throws(() => entrypointReads({ ...ref, argv: ["/bin/entry", "/data/L10"] }), /not in the image/);
    assert.throws(() => entrypointReads({ ...ref, argv: ["/bin/entry", "-frac", "1"] }), /names no file/);
    // after the first path, the entrypoint's flag parsing stops: "-frac" is then a path
    assert.throws(() => entrypointReads({ ...ref, argv: ["/bin/entry", "/data", "-frac", "1"] }), /only the image's \/data files/);
  });

  it("ranges: merged when they overlap or touch; overlap counts shared bytes", () => {
    assert.deepEqual(mergeRanges([[10, 5], [0, 10], [20, 1], [14, 2], [30, 0]]), [[0, 16], [20, 1]]);
    assert.equal(overlapBytes([[0, 100]], [[50, 100], [10, 5]]), 55);
    assert.equal(overlapBytes([[0, 10]], []), 0);
  });
});

describe("recorded prefetch: a recording against the definition", () => {
  const def = entrypointReads(ref);

  it("a recording that holds every read byte passes, and says what it holds beyond them", () => {
    const rec = recordingOf(def);
    const c = compareRecording("ref", def, rec, applyOf(rec));
    assert.equal(c.ok, true, c.problems.join("; "));
    assert.equal(c.missing_bytes, 0);
    assert.equal(c.covered_bytes, c.definition.bytes);
    assert.equal(c.definition.files, 36);
    assert.equal(c.recorded.files, 37);
    assert.equal(c.other_files, 1);
    assert.deepEqual(c.other_examples, ["/bin/entry"]);
    assert.equal(c.other_bytes, 671744 + 442368);
    assert.equal(c.beyond_bytes, c.recorded.bytes - c.covered_bytes - c.other_bytes, "read-ahead past the reads");
    assert.ok(c.beyond_bytes > 0);
    assert.deepEqual(c.prefetch && { spans: c.prefetch.spans, artifacts: c.prefetch.artifacts }, { spans: 54, artifacts: 9 });
    assert.equal(c.prefetch!.skipped.length, 1, "the entry binary's layer has no zTOC: skipped, and that is fine");
  });

  it("one byte short, or a file missing: the recording fails and names what it misses", () => {
    const short = recordingOf(def);
    short.files[5] = { path: short.files[5].path, ranges: [[0, def.files[4].ranges![0][1] - 1]] };
    const c = compareRecording("ref", def, short);
    assert.equal(c.ok, false);
    assert.equal(c.missing_bytes, 1);
    assert.equal(c.missing_files, 1);
    assert.deepEqual(c.missing_examples, [{ path: def.files[4].path, missing_bytes: 1 }]);
    assert.match(c.problems[0], /misses 1 of the \d+ bytes the entrypoint reads, in 1 of 36 files: \/data\/L02\/f000\.bin \(1 bytes\)/);

    const gone = recordingOf(def);
    gone.files = gone.files.filter((f) => !f.path.startsWith("/data/L09/"));
    const g = compareRecording("ref", def, gone);
    assert.equal(g.ok, false);
    assert.equal(g.missing_files, 4);
    assert.equal(g.missing_bytes, 4 * Math.trunc(30 * MiB * 0.06));
  });

  it("a recording starting later in the file does not cover its start", () => {
    const late = recordingOf(def);
    late.files[1] = { path: late.files[1].path, ranges: [[4096, 4 * MiB]] };
    const c = compareRecording("ref", def, late);
    assert.equal(c.ok, false);
    assert.equal(c.missing_bytes, 4096);
  });

  it("paths compare cleaned: a doubled slash is the same file", () => {
    const rec = recordingOf(def);
    rec.files = rec.files.map((f) => ({ ...f, path: f.path.replace("/data/", "/data//") }));
    assert.equal(compareRecording("ref", def, rec).ok, true);
  });

  it("a container that failed, a list instead of a recording, or a failed prefetch write fail the check", () => {
    assert.match(compareRecording("ref", def, recordingOf(def, { ended: "exited 1" })).problems.join(), /exited 1/);
    assert.equal(compareRecording("ref", def, recordingOf(def, { ended: "timeout" })).ok, true, "a timeout with every read recorded is fine");
    assert.match(compareRecording("ref", def, recordingOf(def, { source: "list" })).problems.join(), /source is 'list'/);
    const rec = recordingOf(def);
    const skipped = compareRecording("ref", def, rec, applyOf(rec, { "/data/L01/f002.bin": "not in the image (created at run time, or a path outside the layers)" }));
    assert.equal(skipped.ok, false);
    assert.match(skipped.problems.join(), /left out 1 file\(s\) the entrypoint reads: \/data\/L01\/f002\.bin/);
    const none = applyOf(rec);
    none.platforms[0].spans = 0;
    assert.match(compareRecording("ref", def, rec, none).problems.join(), /no prefetch span/);
  });

  it("the report: one line per workload with its figures; a failed recording fails visibly", () => {
    const rec = recordingOf(def);
    const ok: RecordingCheck = compareRecording("ref", def, rec, applyOf(rec));
    const md = renderRecordings({ ref: ok, big: { workload: "big", ok: false, problems: ["recording failed: soci-eks-prefetch record exit 124 (timed out after 900 s)"] } }).join("\n");
    assert.match(md, /## Recorded prefetch \(`lazy-rec`\)/);
    assert.match(md, /\| ref \| 0\.12 s, exited 0 \| 37 \/ \d+ \/ [\d.]+ \| 36 \/ 67\.95 \| 67\.95 \| [\d.]+ \| 1 \([\d.]+: \/bin\/entry\) \| 36 \/ 54 \/ 113\.25 \/ 9 \| covers every byte read \|/);
    assert.match(md, /\| big \| – \|.*\| FAILED \|/);
    assert.match(md, /- big: recording failed: soci-eks-prefetch record exit 124/);
    assert.deepEqual(renderRecordings({}), []);
  });
});

describe("recorded prefetch: the CLI the bench calls (dist/lab/report/recordingMain.js)", () => {
  const main = path.resolve(__dirname, "..", "..", "lab", "report", "recordingMain.js");
  const cli = (...args: string[]) => spawnSync(process.execPath, [main, ...args], { encoding: "utf8" });

  it("definition, then compare, from files; bad arguments exit 2 with the reason", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "recording-"));
    try {
      const d = cli("definition", "--cmd", "/bin/entry,-frac,1,/data/L01", "--layers", "8", "--layer-bytes", String(16 * MiB), "--files", "8000");
      assert.equal(d.status, 0, d.stderr);
      const def = JSON.parse(d.stdout) as ReadsFile;
      assert.equal(def.files.length, 8000);
      fs.writeFileSync(path.join(dir, "def.json"), d.stdout);
      fs.writeFileSync(path.join(dir, "rec.json"), JSON.stringify(recordingOf(def)));
      const c = cli("compare", "--workload", "files", "--definition", path.join(dir, "def.json"), "--recorded", path.join(dir, "rec.json"));
      assert.equal(c.status, 0, c.stderr);
      assert.equal((JSON.parse(c.stdout) as RecordingCheck).ok, true);
      const bad = cli("definition", "--cmd", "/bin/entry,/data", "--layers", "x", "--layer-bytes", "1", "--files", "1");
      assert.equal(bad.status, 2);
      assert.match(bad.stderr, /--layers x: want a positive integer/);
      assert.match(cli("compare", "--workload", "x").stderr, /missing --definition/);
      assert.equal(cli("frobnicate").status, 2);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
