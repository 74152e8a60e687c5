import { strict as assert } from "assert";
import { describe, it } from "node:test";
import { buildReport, formatReport, looksNotLazy, MODE_LABEL, NODEGROUP_LABEL } from "../../cli/pullreport/report";
import { pulled } from "../helpers/pullEvents";

function labels(nodes: Record<string, string>): Map<string, Record<string, string>> {
  return new Map(Object.entries(nodes).map(([n, mode]) => [n, { [NODEGROUP_LABEL]: `ng-${mode}`, [MODE_LABEL]: mode }]));
}

describe("pull report: lazy pulls that were not lazy (issue 11)", () => {
  it("flags a lazy pull many times slower than the fastest lazy pull of the image", () => {
    const events = [pulled("a", "310ms", "2026-01-01T00:00:01Z"), pulled("b", "330ms", "2026-01-01T00:00:02Z"), pulled("c", "6.1s", "2026-01-01T00:00:03Z"), pulled("d", "300ms", "2026-01-01T00:00:04Z")];
    const r = buildReport(events, { nodeLabels: labels({ a: "lazy", b: "lazy", c: "lazy", d: "lazy" }) });
    assert.equal(r.rows.length, 1);
    assert.equal(r.rows[0].notLazy, 1);
    assert.match(formatReport(r), /1 lazy pulls look like full downloads/);
  });

  it("flags lazy pulls as slow as half the stock median, even when every lazy pull degraded", () => {
    const events = [pulled("a", "9.2s", "2026-01-01T00:00:01Z"), pulled("b", "8.8s", "2026-01-01T00:00:02Z"), pulled("s", "13.7s", "2026-01-01T00:00:03Z")];
    const r = buildReport(events, { nodeLabels: labels({ a: "lazy", b: "lazy", s: "off" }) });
    const lazy = r.rows.find((x) => x.mode === "lazy")!;
    assert.equal(lazy.notLazy, 2);
    assert.equal(r.rows.find((x) => x.mode === "off")!.notLazy, undefined, "only lazy rows are judged");
  });

  it("flags nothing when lazy pulls are uniformly fast, or too few to compare without a stock baseline", () => {
    const fast = [pulled("a", "310ms", "2026-01-01T00:00:01Z"), pulled("b", "900ms", "2026-01-01T00:00:02Z"), pulled("c", "1.2s", "2026-01-01T00:00:03Z")];
    assert.equal(buildReport(fast, { nodeLabels: labels({ a: "lazy", b: "lazy", c: "lazy" }) }).rows[0].notLazy, 0);
    const two = [pulled("a", "310ms", "2026-01-01T00:00:01Z"), pulled("b", "9s", "2026-01-01T00:00:02Z")];
    const r = buildReport(two, { nodeLabels: labels({ a: "lazy", b: "lazy" }) });
    assert.equal(r.rows[0].notLazy, 0);
    assert.doesNotMatch(formatReport(r), /look like full downloads/);
  });

  it("looksNotLazy: the thresholds", () => {
    assert.equal(looksNotLazy(6100, 300, 3), true);
    assert.equal(looksNotLazy(1400, 300, 3), false, "5x but not 2 s slower");
    assert.equal(looksNotLazy(6100, 300, 2), false, "two pulls: no outlier test");
    assert.equal(looksNotLazy(6850, 6850, 1, 13700), true, "half the stock median");
    assert.equal(looksNotLazy(6800, 6800, 1, 13700), false);
  });
});
