import { strict as assert } from "assert";
import { execFileSync, spawnSync } from "child_process";
import { readdirSync, readFileSync } from "fs";
import * as path from "path";
import { describe, it } from "node:test";
import { REPO_ROOT } from "../helpers/sociWiring";

const scriptDirs = ["userdata/scripts", "components/scripts", "lab", "scripts", "test/consumer", "provider/scripts"];

function shellScripts(): string[] {
  const out: string[] = [];
  for (const dir of scriptDirs) {
    let names: string[] = [];
    try {
      names = readdirSync(path.join(REPO_ROOT, dir));
    } catch {
      continue;
    }
    for (const n of names) if (n.endsWith(".sh")) out.push(path.join(dir, n));
  }
  return out;
}

describe("shell scripts", () => {
  it("shellcheck is installed (the suite must not silently skip it)", () => {
    assert.match(execFileSync("shellcheck", ["--version"]).toString(), /version: \d+\.\d+/);
  });

  for (const script of shellScripts()) {
    it(`${script} is shellcheck-clean`, () => {
      const r = spawnSync("shellcheck", ["-x", script], { cwd: REPO_ROOT, encoding: "utf8" });
      assert.equal(r.status, 0, r.stdout + r.stderr);
    });
    it(`${script} runs with set -euo pipefail under bash (and -E where it traps ERR)`, () => {
      const text = readFileSync(path.join(REPO_ROOT, script), "utf8");
      assert.match(text, /^#!\/usr\/bin\/env bash\n/);
      assert.match(text, /^set -E?euo pipefail$/m);
      // An ERR trap without errtrace never fires inside functions (or command substitutions).
      if (/^\s*trap .* ERR$/m.test(text)) assert.match(text, /^set -Eeuo pipefail$/m, "a script that traps ERR must set -E");
      const r = spawnSync("bash", ["-n", script], { cwd: REPO_ROOT, encoding: "utf8" });
      assert.equal(r.status, 0, r.stderr);
    });
  }
});
