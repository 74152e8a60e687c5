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

/** The first column of README's "What happens when…" table. */
function readmeRows(): string[] {
  const readme = readFileSync(path.join(REPO_ROOT, "README.md"), "utf8");
  const start = readme.indexOf("### What happens when");
  assert.notEqual(start, -1, "README has a 'What happens when' section");
  const section = readme.slice(start, readme.indexOf("\n#", start + 1));
  return section
    .split("\n")
    .filter((line) => /^\| `[a-z0-9-]+` \|/.test(line))
    .map((line) => /^\| `([a-z0-9-]+)` \|/.exec(line)![1]);
}

describe("README's 'What happens when…' table and the lab's fault cases", () => {
  it("list the same cases, each once", () => {
    const cases = labCases();
    const rows = readmeRows();
    assert.equal(new Set(cases).size, cases.length, `a case id repeats in lab/lib/faults.sh: ${cases.join(", ")}`);
    assert.deepEqual([...rows].sort(), [...cases].sort());
    assert.ok(cases.length >= 10, `${cases.length} fault cases`);
  });

  it("a row's policy matches what its case asserts", () => {
    const sh = readFileSync(path.join(REPO_ROOT, "lab/lib/faults.sh"), "utf8");
    const readme = readFileSync(path.join(REPO_ROOT, "README.md"), "utf8");
    for (const [, kind, id] of sh.matchAll(/expect_(soci|degraded|failed) ([a-z0-9][a-z0-9-]*)\b/g)) {
      const row = readme.split("\n").find((l) => l.startsWith(`| \`${id}\` |`))!;
      const expected = { soci: /joins on SOCI/, degraded: /joins degraded/, failed: /never joins/ }[kind]!;
      assert.match(row, expected, id);
    }
  });
});
