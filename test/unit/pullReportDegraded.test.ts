import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import { mkdtempSync, readFileSync, rmSync } from "fs";
import { tmpdir } from "os";
import * as path from "path";
import { describe, it } from "node:test";
import { CliIo, runPullReport } from "../../cli/pullreport/main";
import { buildReport, DEGRADED_LABEL, formatReport, MODE_LABEL, NODEGROUP_LABEL, parseMarker } from "../../cli/pullreport/report";
import { REPO_ROOT } from "../helpers/sociWiring";
import { pulled } from "../helpers/pullEvents";

const NODES = new Map<string, Record<string, string>>([
  ["a", { [NODEGROUP_LABEL]: "ng-lazy", [MODE_LABEL]: "lazy" }],
  ["b", { [NODEGROUP_LABEL]: "ng-lazy", [MODE_LABEL]: "lazy" }],
  ["c", { [NODEGROUP_LABEL]: "ng-lazy", [MODE_LABEL]: "lazy", [DEGRADED_LABEL]: "download-failed" }],
  ["idle", { [NODEGROUP_LABEL]: "ng-lazy", [MODE_LABEL]: "lazy", [DEGRADED_LABEL]: "packages-missing" }],
]);

/**
 * A marker file exactly as the installer writes it: the installer's own definitions (everything before it
 * sets its ERR trap: variables and functions only) and its apply_policy, run by bash in a throwaway root.
 */
function installerMarker(state: "degraded" | "failed", reason: string, message: string): string {
  const script = readFileSync(path.join(REPO_ROOT, "userdata/scripts/al2023-install-soci.sh"), "utf8");
  const defs = script.slice(0, script.indexOf("\ntrap 'on_err"));
  assert.match(defs, /^apply_policy\(\) \{$/m, "the installer defines apply_policy() before its ERR trap");
  const dir = mkdtempSync(path.join(tmpdir(), "marker-"));
  try {
    const policy = state === "failed" ? "fail" : "fallback";
    const res = spawnSync("bash", ["-c", `${defs}\nPOLICY=$1\nMARKER=${state}\napply_policy "$2" "$3"`, "x", policy, reason, message], {
      encoding: "utf8",
      env: { ...process.env, SOCI_EKS_ROOT: dir },
    });
    assert.equal(res.status, 0, res.stderr);
    return readFileSync(path.join(dir, "run/soci-eks", state), "utf8");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe("pull report: nodes that joined without SOCI (issue 12)", () => {
  it("lists nodes labelled soci-eks/degraded with their reason, and keeps their stock pulls out of the lazy row", () => {
    const events = [pulled("a", "310ms", "2026-01-01T00:00:01Z"), pulled("b", "330ms", "2026-01-01T00:00:02Z"), pulled("c", "9.1s", "2026-01-01T00:00:03Z")];
    const r = buildReport(events, { nodeLabels: NODES });
    assert.deepEqual(r.rows.map((x) => [x.mode, x.pulls]), [["lazy", 2], ["lazy (degraded)", 1]]);
    assert.equal(r.rows[0].notLazy, 0, "the degraded node's 9 s pull does not count against the lazy row");
    assert.deepEqual(r.degradedNodes, [
      { node: "c", nodeGroup: "ng-lazy", reason: "download-failed" },
      { node: "idle", nodeGroup: "ng-lazy", reason: "packages-missing" },
    ]);
    const text = formatReport(r);
    assert.match(text, /2 node\(s\) joined without SOCI \(label soci-eks\/degraded/);
    assert.match(text, /^ {2}c \(node group ng-lazy\): download-failed$/m);
    assert.match(text, /^ {2}idle \(node group ng-lazy\): packages-missing$/m);
  });

  it("says nothing about degraded nodes when there are none", () => {
    const r = buildReport([pulled("a", "310ms", "2026-01-01T00:00:01Z")], { nodeLabels: new Map([["a", NODES.get("a")!]]) });
    assert.deepEqual(r.degradedNodes, []);
    assert.doesNotMatch(formatReport(r), /without SOCI|DEGRADED|FAILED/);
  });

  it("reads the installer's own marker files (--marker), degraded and failed", () => {
    const degraded = parseMarker(installerMarker("degraded", "download-failed", "could not download http://m/x.tar.gz"), "/var/lib/soci-eks/degraded");
    assert.deepEqual(degraded, {
      source: "/var/lib/soci-eks/degraded",
      state: "degraded",
      reason: "download-failed",
      policy: "fallback",
      message: "could not download http://m/x.tar.gz",
      fix: "see docs/boot-and-failures.md#reasons (soci-eks)",
    });
    const failed = parseMarker(installerMarker("failed", "checksum-mismatch", "checksum mismatch for a.tar.gz"), "node-7/failed");
    assert.equal(failed.state, "failed");
    assert.equal(failed.policy, "fail");
    assert.throws(() => parseMarker("hello\n", "x"), /is not a soci-eks marker \(no reason= line\)/);
  });

  it("the CLI prints the markers it is given, also with no events", () => {
    const files: Record<string, string> = {
      "events.json": JSON.stringify({ items: [] }),
      "/var/lib/soci-eks/failed": installerMarker("failed", "pause-import-failed", "could not import /etc/eks/pause.tar into SOCI"),
    };
    let out = "";
    const io: CliIo = { stdin: () => "", stdinIsTerminal: () => false, readFile: (p) => files[p], kubectl: () => "", out: (t) => (out += t), err: () => undefined };
    assert.equal(runPullReport(["--file", "events.json", "--marker", "/var/lib/soci-eks/failed"], io), 0);
    assert.match(
      out,
      /\/var\/lib\/soci-eks\/failed: FAILED: kubelet held back, the node never joins \(onSociFailure=fail\): pause-import-failed: could not import \/etc\/eks\/pause.tar into SOCI\. Fix: see docs\/boot-and-failures\.md#reasons \(soci-eks\)/,
    );
  });
});
