import { strict as assert } from "assert";
import { readFileSync } from "fs";
import * as path from "path";
import { describe, it } from "node:test";
import { formatBytes, formatMs, parseGoDuration } from "../../cli/pullreport/duration";
import { eventNode, eventTime, parsePulledMessage, readEvents, readNodeLabels } from "../../cli/pullreport/events";

const FIXTURES = path.resolve(__dirname, "..", "..", "..", "test", "fixtures", "events");
const fixture = (name: string) => readFileSync(path.join(FIXTURES, name), "utf8");

interface MessageCase {
  message: string;
  expect: { kind: string; image?: string; pullMs?: number; waitingMs?: number; sizeBytes?: number };
  source: string;
}

describe("kubelet Pulled messages (real texts, test/fixtures/events/messages.json)", () => {
  const cases = JSON.parse(fixture("messages.json")) as MessageCase[];
  it("the table covers every format the report claims to read", () => {
    const kinds = cases.map((c) => c.expect.kind);
    assert.ok(kinds.includes("present") && kinds.includes("unparsed"));
    assert.ok(cases.some((c) => c.expect.sizeBytes !== undefined), "1.28+ with Image size");
    assert.ok(cases.some((c) => c.expect.kind === "pulled" && c.expect.waitingMs === undefined), "before 'including waiting'");
    assert.ok(cases.some((c) => /\din \d+m/.test(c.message) || / in \d+m/.test(c.message)), "minute durations");
    assert.ok(cases.some((c) => / in \d+ms /.test(c.message) || / in [\d.]+ms /.test(c.message)), "millisecond durations");
    for (const c of cases) assert.ok(c.source.length > 10, `source for ${c.message}`);
  });
  for (const c of cases) {
    it(`${c.expect.kind}: ${c.message.slice(0, 110)}`, () => {
      const got = parsePulledMessage(c.message);
      assert.equal(got.kind, c.expect.kind);
      if (got.kind === "unparsed") return;
      assert.equal(got.image, c.expect.image);
      if (got.kind === "pulled") {
        assert.equal(got.pullMs, c.expect.pullMs);
        assert.equal(got.waitingMs, c.expect.waitingMs);
        assert.equal(got.sizeBytes, c.expect.sizeBytes);
      }
    });
  }
  it("says why a message without a duration is skipped", () => {
    const got = parsePulledMessage('Successfully pulled image "docker.io/library/fedora:32"');
    assert.deepEqual(got, { kind: "unparsed", reason: "kubelet before 1.19 did not report a duration" });
  });
});

describe("every Pulled event in the real fixtures parses", () => {
  for (const file of ["eks-1.27.events.ndjson", "gke-1.30.events.ndjson", "eks-1.27.kubectl-events.json"]) {
    it(file, () => {
      const pulled = readEvents(fixture(file)).filter((e) => e.reason === "Pulled");
      assert.ok(pulled.length >= 40, `${pulled.length} Pulled events`);
      for (const e of pulled) {
        const p = parsePulledMessage(e.message ?? "");
        assert.notEqual(p.kind, "unparsed", e.message);
        if (p.kind === "pulled") assert.ok(p.pullMs > 0 && p.pullMs < 600_000, e.message);
      }
    });
  }
});

describe("Go durations", () => {
  const table: [string, number | undefined][] = [
    ["850ms", 850],
    ["748.412356ms", 748.412356],
    ["3.879042277s", 3879.042277],
    ["1m9.208s", 69208],
    ["2m47.1s", 167100],
    ["2m47s", 167000],
    ["1m17.503896045s", 77503.896045],
    ["1h2m3s", 3723000],
    ["0s", 0],
    ["0", 0],
    ["1.5µs", 0.0015],
    ["1.5μs", 0.0015],
    ["250ns", 0.00025],
    ["12us", 0.012],
    ["-1.5s", -1500],
    ["", undefined],
    ["1.5", undefined],
    ["3 s", undefined],
    ["1m9.2x", undefined],
    ["s", undefined],
  ];
  for (const [text, ms] of table) {
    it(`${JSON.stringify(text)} → ${ms}`, () => assert.equal(parseGoDuration(text), ms));
  }
  it("formats for tables", () => {
    assert.equal(formatMs(850), "850ms");
    assert.equal(formatMs(4688), "4.69s");
    assert.equal(formatMs(46780.58), "46.8s");
    assert.equal(formatMs(69208), "1m9.2s");
    assert.equal(formatMs(167100), "2m47.1s");
    assert.equal(formatBytes(72099410), "72.1 MB");
    assert.equal(formatBytes(10778400361), "10.8 GB");
    assert.equal(formatBytes(undefined), "-");
  });
});

describe("reading events and nodes", () => {
  it("reads kubernetes-event-exporter NDJSON, skipping its log lines", () => {
    const text = fixture("eks-1.27.events.ndjson");
    assert.match(text.split("\n")[0], /"level":"info"/);
    const events = readEvents(text);
    assert.equal(events.length, text.trim().split("\n").length - 1);
  });
  it("reads a kubectl List, a bare array and a single event", () => {
    const list = JSON.parse(fixture("eks-1.27.kubectl-events.json"));
    assert.equal(readEvents(JSON.stringify(list)).length, list.items.length);
    assert.equal(readEvents(JSON.stringify(list.items)).length, list.items.length);
    assert.equal(readEvents(JSON.stringify(list.items[0])).length, 1);
    assert.deepEqual(readEvents("  \n"), []);
  });
  it("rejects input that is neither JSON nor JSON lines, naming the line", () => {
    assert.throws(() => readEvents('{"reason":"Pulled","message":"x"}\nLAST SEEN   TYPE'), /is not JSON: line 2 does not parse/);
  });
  it("maps nodes to labels and events to nodes (source.host, else reportingInstance, else the pod's node)", () => {
    const labels = readNodeLabels(fixture("eks-1.27.nodes.json"));
    assert.equal(labels.size, 4);
    for (const l of labels.values()) assert.equal(l["eks.amazonaws.com/nodegroup"], "workers");
    assert.equal(eventNode({ source: { host: "a" }, reportingInstance: "b" }), "a");
    assert.equal(eventNode({ source: {}, reportingInstance: "b" }), "b");
    const pods = new Map([["ns/p", "c"]]);
    assert.equal(eventNode({ involvedObject: { kind: "Pod", namespace: "ns", name: "p" } }, pods), "c");
    assert.equal(eventNode({ involvedObject: { kind: "Pod", namespace: "ns", name: "q" } }, pods), undefined);
  });
  it("takes eventTime, else firstTimestamp", () => {
    assert.equal(eventTime({ eventTime: "2024-11-11T00:35:01.123456Z", firstTimestamp: "2024-11-11T00:00:00Z" }), Date.parse("2024-11-11T00:35:01.123Z"));
    assert.equal(eventTime({ eventTime: null, firstTimestamp: "2024-11-11T00:00:00Z" }), Date.parse("2024-11-11T00:00:00Z"));
    assert.equal(eventTime({}), 0);
  });
});
