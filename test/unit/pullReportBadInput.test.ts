/**
 * `soci-eks pull-report` on bad input: every file, stdin and kubectl answer that is not what the flag expects gets
 * one line naming the flag, the value and the fix (exit 2), never a raw ENOENT or TypeError; stdin on a terminal is
 * refused instead of waited on; 150,000 pulls make one report; text from events cannot drive the terminal.
 */
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import { mkdtempSync, rmSync } from "fs";
import { tmpdir } from "os";
import * as path from "path";
import { after, describe, it } from "node:test";
import { CliIo, defaultIo, runPullReport } from "../../cli/pullreport/main";
import { buildReport, formatReport, printable, reportJson } from "../../cli/pullreport/report";
import { readEvents } from "../../cli/pullreport/events";

/** An io whose files are `files`, whose stdin is `stdin` (a terminal when undefined), and which records its output. */
function io(files: Record<string, string>, stdin?: string, kubectl?: (args: string[]) => string) {
  let out = "";
  let err = "";
  const value: CliIo = {
    stdin: () => {
      if (stdin === undefined) throw new Error("stdin read although it is a terminal");
      return stdin;
    },
    stdinIsTerminal: () => stdin === undefined,
    readFile: (p) => {
      if (!(p in files)) throw Object.assign(new Error(`ENOENT: no such file or directory, open '${p}'`), { code: "ENOENT" });
      return files[p];
    },
    kubectl: (args) => {
      if (!kubectl) throw new Error("kubectl not expected");
      return kubectl(args);
    },
    out: (t) => (out += t),
    err: (t) => (err += t),
  };
  return { io: value, out: () => out, err: () => err };
}

/** One kubelet Pulled event. */
function pulled(node: string, image: string, seconds: number, at = "2026-12-01T10:00:00Z"): Record<string, unknown> {
  return {
    reason: "Pulled",
    type: "Normal",
    message: `Successfully pulled image "${image}" in ${seconds}s (${seconds}s including waiting)`,
    source: { component: "kubelet", host: node },
    involvedObject: { kind: "Pod", namespace: "default", name: `p-${node}` },
    firstTimestamp: at,
  };
}

const NODES = JSON.stringify({ kind: "NodeList", items: [{ kind: "Node", metadata: { name: "n1", labels: { "eks.amazonaws.com/nodegroup": "g", "soci-eks/mode": "lazy" } } }] });
const EVENTS = JSON.stringify({ kind: "EventList", items: [pulled("n1", "img:1", 2)] });

/** The problem lines of a refusal. */
function problems(err: string): string[] {
  return err.split("\n").filter((l) => l.startsWith("  - ")).map((l) => l.slice(4));
}

/** Asserts a clean refusal: exit 2, nothing on stdout, one problem line per expectation, no raw error text. */
function refused(code: number, run: ReturnType<typeof io>, expected: RegExp[]): void {
  assert.equal(code, 2, run.err());
  assert.equal(run.out(), "");
  assert.match(run.err(), /^soci-eks pull-report: \d+ problems?; nothing was printed:\n/);
  assert.doesNotMatch(run.err(), /TypeError|SyntaxError|ENOENT|EISDIR|at .*\.js:\d+/);
  const lines = problems(run.err());
  assert.equal(lines.length, expected.length, lines.join("\n"));
  expected.forEach((re, i) => assert.match(lines[i], re));
  for (const l of lines) assert.match(l, /\S \S.*[.?] [A-Z].*\.$/, l);
}

describe("pull-report: bad input gets the flag, the value and the fix", () => {
  it("a missing --file, --nodes, --pods or --marker: 'does not exist', all at once", () => {
    const r = io({});
    const code = runPullReport(["--file", "events.json", "--nodes", "nodes.json", "--pods", "pods.json", "--marker", "degraded"], r.io);
    refused(code, r, [
      /^--file: 'events\.json' does not exist\. Pass what `kubectl get events -A -o json` prints/,
      /^--nodes: 'nodes\.json' does not exist\. Pass what `kubectl get nodes -o json` prints\.$/,
      /^--pods: 'pods\.json' does not exist\. Pass what `kubectl get pods -A -o json` prints\.$/,
      /^--marker: 'degraded' does not exist\. Pass a copy of a node's \/run\/soci-eks\/degraded/,
    ]);
  });

  it("real files: a missing one and a directory, read through the process's own io", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "pull-report-"));
    after(() => rmSync(dir, { recursive: true, force: true }));
    let err = "";
    const real = { ...defaultIo, stdinIsTerminal: () => false, out: () => assert.fail("printed"), err: (t: string) => (err += t) };
    assert.equal(runPullReport(["--file", path.join(dir, "nope.json")], real), 2);
    assert.match(err, /--file: '.*nope\.json' does not exist\./);
    err = "";
    assert.equal(runPullReport(["--file", dir], real), 2);
    assert.match(err, /--file: '.*' is a directory, not a file\./);
    assert.doesNotMatch(err, /ENOENT|EISDIR/);
  });

  const BAD_EVENTS: [string, string, RegExp][] = [
    ["plain text", "LAST SEEN   TYPE     REASON\n5m   Normal   Pulled", /is not JSON: line 1 does not parse/],
    ["JSON lines with a broken line", `${JSON.stringify(pulled("n1", "a", 1))}\n{"reason":`, /is not JSON: line 2 does not parse/],
    ["a number", "42", /is JSON but not a list of events \(it is a number\)/],
    ["a string", '"events"', /is JSON but not a list of events \(it is a string\)/],
    ["null", "null", /is JSON but not a list of events \(it is a null\)/],
    ["items that is not a list", '{"items": 5}', /is JSON with an 'items' field that is not a list/],
    ["a NodeList", NODES, /holds 1 item\(s\), none of them a Kubernetes Event \(they are Node objects\)/],
    ["a list of numbers", "[1, 2, 3]", /holds 3 item\(s\), none of them a Kubernetes Event/],
    ["events whose message is not a string", JSON.stringify({ items: [{ reason: "Pulled", message: 5 }] }), /holds 1 item\(s\), none of them a Kubernetes Event/],
    // An item that says it is an Event gets the field that is wrong, not "none of them an Event (they are Event objects)"
    [
      "an Event whose involvedObject is null",
      JSON.stringify({ kind: "EventList", items: [{ kind: "Event", message: "Successfully pulled", involvedObject: null }] }),
      /holds 1 item\(s\) and no readable Event: item 0 says kind Event, but 'reason' is absent and 'involvedObject' is null; an Event needs a string 'reason' or an 'involvedObject' object/,
    ],
    ["an Event whose message is a number", JSON.stringify({ items: [{ kind: "Event", reason: "Pulled", message: 5 }] }), /holds 1 item\(s\) and no readable Event: item 0 says kind Event, but 'message' is a number, not a string/],
  ];
  for (const [what, text, reason] of BAD_EVENTS) {
    it(`--file holding ${what}`, () => {
      const r = io({ "events.json": text });
      refused(runPullReport(["--file", "events.json"], r.io), r, [new RegExp(`^--file: 'events\\.json' ${reason.source}.*\\. Pass what \`kubectl get events -A -o json\` prints`)]);
    });
    it(`stdin holding ${what}`, () => {
      const r = io({}, text);
      refused(runPullReport([], r.io), r, [new RegExp(`^stdin ${reason.source}`)]);
    });
  }

  const BAD_LISTS: [string, string, RegExp][] = [
    ["not JSON", "NAME STATUS", /is not JSON \(/],
    ["an object without items", '{"kind":"NodeList"}', /is not a (Node|Pod)List/],
    ["items that is a string", '{"items":"n1"}', /is not a (Node|Pod)List/],
    ["an EventList", EVENTS, /is an EventList, not a (Node|Pod)List/],
    ["a list of Events", JSON.stringify({ kind: "List", items: [{ kind: "Event", message: "m" }] }), /holds Event objects, not (Node|Pod)s/],
    ["a bare array", "[]", /is not a (Node|Pod)List/],
  ];
  for (const [what, text, reason] of BAD_LISTS) {
    for (const flag of ["--nodes", "--pods"]) {
      it(`${flag} holding ${what}`, () => {
        const r = io({ "events.json": EVENTS, "list.json": text });
        refused(runPullReport(["--file", "events.json", flag, "list.json"], r.io), r, [new RegExp(`^${flag}: 'list\\.json' ${reason.source}`)]);
      });
    }
  }

  it("empty stdin (`: | soci-eks pull-report`) and an empty --file: exit 2, saying what was empty and what to pipe in", () => {
    for (const text of ["", "  \n"]) {
      const r = io({}, text);
      refused(runPullReport([], r.io), r, [/^stdin was empty\. Pipe in what `kubectl get events -A -o json` prints \(kubectl get events -A -o json \| soci-eks pull-report\), or pass --file events\.json or --kubectl\.$/]);
      const f = io({ "events.json": text });
      refused(runPullReport(["--file", "events.json"], f.io), f, [/^--file: 'events\.json' is empty\. Pass what `kubectl get events -A -o json` prints/]);
    }
    // An event list with no items is what kubectl prints for a quiet cluster: a report, not an error.
    const quiet = io({}, JSON.stringify({ kind: "EventList", items: [] }));
    assert.equal(runPullReport([], quiet.io), 0, quiet.err());
    assert.match(quiet.out(), /No kubelet "Successfully pulled image" events found/);
  });

  it("--pods whose items are all malformed: the report says the pods file had no usable items, not 'pass --pods'", () => {
    // An event without source.host or reportingInstance: only --pods can place it on a node.
    const hostless = { ...pulled("n1", "img:1", 2), source: { component: "kubelet" } };
    const events = JSON.stringify({ kind: "EventList", items: [hostless] });
    const pods = JSON.stringify({ kind: "PodList", items: [{ kind: "Pod", metadata: { name: 5 } }, { kind: "Pod", spec: { nodeName: "n1" } }] });
    const given = io({ "events.json": events, "pods.json": pods });
    assert.equal(runPullReport(["--file", "events.json", "--pods", "pods.json"], given.io), 0, given.err());
    assert.match(given.out(), /1 pulls with no node \(the --pods file had no usable items \(none has metadata\.name and spec\.nodeName\)\)/);
    assert.doesNotMatch(given.out(), /pass --pods/);
    const json = io({ "events.json": events, "pods.json": pods });
    assert.equal(runPullReport(["--file", "events.json", "--pods", "pods.json", "--json"], json.io), 0);
    assert.match(JSON.parse(json.out()).notes[0], /no node for default\/p-n1; the --pods file had no usable items/);
    // Without --pods the hint is to pass it; with pods that do not include this one, that the file lacks it.
    const none = io({ "events.json": events });
    assert.equal(runPullReport(["--file", "events.json"], none.io), 0);
    assert.match(none.out(), /1 pulls with no node \(pass --pods\)/);
    const other = io({ "events.json": events, "pods.json": JSON.stringify({ kind: "PodList", items: [{ kind: "Pod", metadata: { name: "q", namespace: "default" }, spec: { nodeName: "n1" } }] }) });
    assert.equal(runPullReport(["--file", "events.json", "--pods", "pods.json"], other.io), 0);
    assert.match(other.out(), /1 pulls with no node \(the --pods file has no such pod with spec\.nodeName\)/);
  });

  it("--marker holding something else", () => {
    const r = io({ "events.json": EVENTS, m: "hello\n" });
    refused(runPullReport(["--file", "events.json", "--marker", "m"], r.io), r, [/^--marker: 'm' is not a soci-eks marker \(no reason= line\)\. Pass a copy/]);
  });

  it("wrong-typed fields inside events and nodes are dropped, never a TypeError", () => {
    const weird = [
      { ...pulled("n1", "img:1", 3), source: "n1", involvedObject: 7, metadata: [], firstTimestamp: 12, count: "x" },
      { ...pulled("n1", "img:1", 4), reportingInstance: 5, source: { host: ["n1"] } },
      { reason: 5, message: "Successfully pulled image \"x\" in 1s", involvedObject: { kind: "Pod", name: 5 } },
      { reason: "Pulled", message: "Successfully pulled image \"y\" in 1s", source: { host: "n1" }, eventTime: { when: "now" } },
    ];
    const nodes = JSON.stringify({ items: [{ metadata: { name: "n1", labels: { "eks.amazonaws.com/nodegroup": 5, "soci-eks/mode": "lazy" } } }, { metadata: "n2" }, 7, { metadata: { name: 9 } }] });
    for (const json of [false, true]) {
      const r = io({ "e.json": JSON.stringify(weird), "n.json": nodes });
      const args = ["--file", "e.json", "--nodes", "n.json", ...(json ? ["--json"] : [])];
      assert.equal(runPullReport(args, r.io), 0, r.err());
      assert.doesNotMatch(r.err(), /TypeError/);
      if (json) assert.ok(JSON.parse(r.out()).counted.pulls >= 1);
    }
  });

  it("deterministic fuzz: 400 events with fields replaced by values of every JSON type never throw", () => {
    const kinds: unknown[] = [null, 0, -1, 1.5, "", "x", true, [], [1], {}, { a: 1 }, "\u001b[2J"];
    let seed = 42;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const fields = ["reason", "message", "type", "count", "firstTimestamp", "lastTimestamp", "eventTime", "source", "reportingInstance", "involvedObject", "metadata"];
    const events = Array.from({ length: 400 }, (_, i) => {
      const e: Record<string, unknown> = pulled(`n${i % 3}`, `img:${i % 5}`, 1 + (i % 7));
      for (let k = 0; k < 3; k++) e[fields[rand(fields.length)]] = kinds[rand(kinds.length)];
      return e;
    });
    for (const input of [JSON.stringify({ items: events }), events.map((e) => JSON.stringify(e)).join("\n")]) {
      const r = io({ "e.json": input, "n.json": NODES });
      const code = runPullReport(["--file", "e.json", "--nodes", "n.json"], r.io);
      assert.ok(code === 0 || code === 2, `exit ${code}: ${r.err()}`);
      assert.doesNotMatch(r.err(), /TypeError|RangeError/);
    }
  });

  it("stdin on a terminal is refused at once (no silent wait), naming the ways to give events", () => {
    const r = io({});
    refused(runPullReport([], r.io), r, [/^stdin is a terminal, so there are no events to read\. Pipe them in \(kubectl get events -A -o json \| soci-eks pull-report\), or pass --file events\.json or --kubectl\.$/]);
    // --nodes alone does not give events either.
    const r2 = io({ "n.json": NODES });
    refused(runPullReport(["--nodes", "n.json"], r2.io), r2, [/^stdin is a terminal/]);
  });

  it("a real terminal: the built command under a pseudo-terminal (script(1)) exits 2 at once instead of waiting", (t) => {
    if (spawnSync("script", ["--version"], { encoding: "utf8" }).status !== 0) {
      t.skip("script(1) (util-linux) is not installed, so no pseudo-terminal can be made here");
      return;
    }
    const cli = path.resolve(__dirname, "..", "..", "cli", "main.js");
    const r = spawnSync("script", ["-qec", `${JSON.stringify(process.execPath)} ${JSON.stringify(cli)} pull-report`, "/dev/null"], { encoding: "utf8", timeout: 30_000, stdio: ["ignore", "pipe", "pipe"] });
    assert.equal(r.error, undefined, "timed out: the command waited on the terminal");
    assert.equal(r.status, 2, r.stdout + r.stderr);
    assert.match(r.stdout, /stdin is a terminal, so there are no events to read/);
  });

  it("flag mistakes: a typo with its nearest flag, a missing value, --context without --kubectl, a repeated --file", () => {
    const r = io({ "e.json": EVENTS });
    refused(runPullReport(["--fille", "e.json"], r.io), r, [/^--fille is not an option of soci-eks pull-report\. Did you mean --file\?/]);
    const r2 = io({ "e.json": EVENTS });
    refused(runPullReport(["--file", "e.json", "--nodes"], r2.io), r2, [/^--nodes needs a value\. Write --nodes VALUE, e\.g\. --nodes nodes\.json\./]);
    const r3 = io({ "e.json": EVENTS });
    refused(runPullReport(["--file", "e.json", "--context", "prod"], r3.io), r3, [/^--context: 'prod' only applies with --kubectl\. Add --kubectl, or drop --context\.$/]);
    const r4 = io({ "e.json": EVENTS });
    refused(runPullReport(["--file", "e.json", "--file", "f.json"], r4.io), r4, [/^--file: \["e\.json","f\.json"\] is given more than once; it takes one value\. Pass --file once\.$/]);
  });

  it("kubectl missing or failing: exit 1 with kubectl's reason and what to check", () => {
    const r = io({}, undefined, () => {
      throw Object.assign(new Error("spawnSync kubectl ENOENT"), { code: "ENOENT" });
    });
    assert.equal(runPullReport(["--kubectl"], r.io), 1);
    assert.match(r.err(), /^soci-eks pull-report: `kubectl get events -A -o json` failed: kubectl was not found on PATH\. Check that kubectl reaches the cluster/);
    const r2 = io({}, undefined, () => {
      throw Object.assign(new Error("Command failed"), { status: 1, stderr: "error: context \"x\" does not exist\n" });
    });
    assert.equal(runPullReport(["--kubectl", "--context", "x"], r2.io), 1);
    assert.match(r2.err(), /`kubectl --context x get events -A -o json` failed: error: context "x" does not exist\./);
    const r3 = io({}, undefined, () => "NAME STATUS");
    refused(runPullReport(["--kubectl"], r3.io), r3, [/^--kubectl: 'kubectl get events -A -o json' is not JSON: line 1/, /^--kubectl: 'kubectl get nodes -o json' is not JSON/, /^--kubectl: 'kubectl get pods -A -o json' is not JSON/]);
  });
});

describe("pull-report: scale and terminal safety", () => {
  it("150,000 pulls of one image in one group make one report (no spread of the samples onto the call stack)", () => {
    const base = Date.parse("2026-12-01T00:00:00Z");
    const items = Array.from({ length: 150_000 }, (_, i) => pulled(`n${i}`, "img:big", 1 + (i % 1000) / 100, new Date(base + i * 1000).toISOString()));
    const text = JSON.stringify({ kind: "EventList", items });
    const events = readEvents(text);
    assert.equal(events.length, 150_000);
    const report = buildReport(events);
    assert.equal(report.rows.length, 1);
    assert.equal(report.rows[0].pulls, 150_000);
    assert.equal(report.rows[0].minMs, 1000);
    assert.equal(report.rows[0].maxMs, 10_990);
    // The same through the command, from stdin.
    const r = io({}, text);
    assert.equal(runPullReport(["--json"], r.io), 0, r.err());
    assert.equal(JSON.parse(r.out()).rows[0].pulls, 150_000);
  });

  it("escape sequences and bidirectional overrides from events and labels are shown as escapes, in the table and in JSON", () => {
    const evil = "img\u001b[31m:red\u001b]0;owned\u0007\u009b2J\u202e";
    const events = JSON.stringify({ items: [pulled("n1", evil, 2), pulled("n\u001b[1Abad", "img:2", 1)] });
    const nodes = JSON.stringify({ items: [{ metadata: { name: "n1", labels: { "eks.amazonaws.com/nodegroup": "g\u001b[0m", "soci-eks/mode": "lazy", "soci-eks/degraded": "x\u001b[2K" } } }] });
    for (const json of [false, true]) {
      const r = io({ "e.json": events, "n.json": nodes, "m/degraded": "reason=x\u001b[31m\npolicy=fallback\n" });
      assert.equal(runPullReport(["--file", "e.json", "--nodes", "n.json", "--marker", "m/degraded", ...(json ? ["--json"] : [])], r.io), 0, r.err());
      assert.doesNotMatch(r.out(), /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/, "a raw control character reached the terminal");
      if (json) {
        assert.ok(JSON.parse(r.out()).rows.some((row: { image: string }) => row.image === evil), "JSON keeps the value, escaped");
      } else {
        assert.match(r.out(), /img\\x1b\[31m:red\\x1b\]0;owned\\x07\\x9b2J\\u202e/);
        assert.match(r.out(), /x\\x1b\[31m/);
      }
    }
    assert.equal(printable("a\tb\nc"), "a\\x09b\\x0ac");
    assert.equal(formatReport(buildReport([])).includes("\u001b"), false);
    assert.equal(reportJson(buildReport([])).length > 0, true);
  });
});
