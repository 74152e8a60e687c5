import { strict as assert } from "assert";
import { readFileSync } from "fs";
import * as path from "path";
import { describe, it } from "node:test";
import { REPO_ROOT } from "../helpers/sociWiring";

/** The case ids lab/lib/faults.sh asserts (each one PASS/FAIL line in the lab). */
function labCases(): string[] {
  const sh = readFileSync(path.join(REPO_ROOT, "lab/lib/faults.sh"), "utf8");
  return [...sh.matchAll(/(?:expect_(?:soci|degraded|failed)|verdict) ([a-z0-9][a-z0-9-]*)\b/g)].map((m) => m[1]);
}

const PAGE = "docs/boot-and-failures.md";
const HEADING = "## Every failure case the lab boots";

/** The first column of the fault-case table in docs/boot-and-failures.md. */
function docRows(): string[] {
  const doc = readFileSync(path.join(REPO_ROOT, PAGE), "utf8");
  const start = doc.indexOf(HEADING);
  assert.notEqual(start, -1, `${PAGE} has a '${HEADING}' section`);
  const section = doc.slice(start, doc.indexOf("\n#", start + 1));
  return section
    .split("\n")
    .filter((line) => /^\| `[a-z0-9-]+` \|/.test(line))
    .map((line) => /^\| `([a-z0-9-]+)` \|/.exec(line)![1]);
}

describe("docs/boot-and-failures.md's fault-case table and the lab's fault cases", () => {
  it("list the same cases, each once", () => {
    const cases = labCases();
    const rows = docRows();
    assert.equal(new Set(cases).size, cases.length, `a case id repeats in lab/lib/faults.sh: ${cases.join(", ")}`);
    assert.deepEqual([...rows].sort(), [...cases].sort());
    assert.ok(cases.length >= 10, `${cases.length} fault cases`);
  });

  it("a row's policy matches what its case asserts", () => {
    const sh = readFileSync(path.join(REPO_ROOT, "lab/lib/faults.sh"), "utf8");
    const doc = readFileSync(path.join(REPO_ROOT, PAGE), "utf8");
    for (const [, kind, id] of sh.matchAll(/expect_(soci|degraded|failed) ([a-z0-9][a-z0-9-]*)\b/g)) {
      const row = doc.split("\n").find((l) => l.startsWith(`| \`${id}\` |`))!;
      const expected = { soci: /joins on SOCI/, degraded: /joins degraded/, failed: /never joins/ }[kind]!;
      assert.match(row, expected, id);
    }
  });
});

describe("docs/boot-and-failures.md's Reasons table and the installer's reasons", () => {
  it("has one row for every reason the installer can give (the node's fix= points there)", () => {
    const scripts = ["al2023-install-soci.sh", "al2023-setup-soci.sh", "al2023-size-soci.sh"].map((f) => readFileSync(path.join(REPO_ROOT, "userdata/scripts", f), "utf8")).join("\n");
    const reasons = new Set([...scripts.matchAll(/(?:soci_failed|apply_policy) ([a-z][a-z-]*) "/g)].map((m) => m[1]));
    const doc = readFileSync(path.join(REPO_ROOT, PAGE), "utf8");
    const start = doc.indexOf("### Reasons");
    assert.notEqual(start, -1, `${PAGE} has a '### Reasons' section`);
    const rows = doc.slice(start, doc.indexOf("\n#", start + 1)).split("\n").filter((l) => /^\| `[a-z-]+` \|/.test(l)).map((l) => /^\| `([a-z-]+)` \|/.exec(l)![1]);
    assert.ok(reasons.size >= 15, [...reasons].join(" "));
    assert.deepEqual([...rows].sort(), [...reasons].sort());
    assert.match(scripts, /FIX="see docs\/boot-and-failures\.md#reasons/);
  });
});
