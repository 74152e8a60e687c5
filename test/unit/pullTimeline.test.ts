import { strict as assert } from "assert";
import { describe, it } from "node:test";
import { pullTimeline } from "../../lab/report/timeline";

// Synthetic SOCI log lines in the daemon's JSON shape (logrus): the arithmetic of the split, not a measurement.
const T0 = Date.parse("2026-12-07T10:00:00.000Z");
const line = (ms: number, msg: string, key?: string): string =>
  JSON.stringify({ level: msg === "prepare" ? "debug" : "info", msg, ...(key ? { key } : {}), time: new Date(T0 + ms).toISOString().replace("Z", "123456Z") });

describe("pull timeline from SOCI's log (lab/report/timeline.ts)", () => {
  it("splits the pull into before the first Prepare, inside SOCI's Prepare calls, between them, and after the last", () => {
    const log = [
      line(-50, "prepare", "earlier-pull"), // before the window: ignored
      line(100, "prepare", "extract-1"),
      line(600, "remote snapshot successfully prepared.", "extract-1"),
      line(650, "prepare", "extract-2"),
      line(700, "local snapshot successfully prepared", "extract-2"),
      "not json",
      line(720, "some other line", "extract-2"),
      line(800, "prepare", "extract-3"),
      line(860, "remote snapshot successfully prepared.", "extract-3"),
    ].join("\n");
    const t = pullTimeline(log, T0, T0 + 1000)!;
    assert.equal(t.layers.length, 3);
    assert.deepEqual(t.layers.map((l) => l.kind), ["remote", "local", "remote"]);
    assert.equal(t.before_first_ms, 100.1); // the sub-millisecond digits of the log's timestamps are kept
    assert.equal(t.in_prepare_ms, 500 + 50 + 60);
    assert.equal(t.between_ms, 50 + 100);
    assert.equal(t.longest_prepare_ms, 500);
    assert.equal(Math.round(t.after_last_ms), 140);
    assert.deepEqual(t.layers.map((l) => l.gap_before_ms), [0, 50, 100]);
  });

  it("a Prepare without an answer line is kept as unknown; no Prepare in the window gives null", () => {
    const t = pullTimeline([line(10, "prepare", "a")].join("\n"), T0, T0 + 100)!;
    assert.equal(t.layers[0].kind, "unknown");
    assert.equal(pullTimeline(line(500, "prepare", "a"), T0, T0 + 100), null);
    assert.equal(pullTimeline("", T0, T0 + 100), null);
  });
});
