import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import { mkdtempSync, rmSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import * as path from "path";
import { after, describe, it } from "node:test";
import { nodeAsset } from "../../userdata/al2023";
import { compactShellScript, stripFullLineComments } from "../../userdata/compact";
import { readAsset } from "../../userdata/assets";
import { readdirSync } from "fs";
import { REPO_ROOT } from "../helpers/sociWiring";

describe("scripts and units as the node gets them (comment lines stripped)", () => {
  const work = mkdtempSync(path.join(tmpdir(), "soci-eks-compact-"));
  after(() => rmSync(work, { recursive: true, force: true }));

  it("keeps the shebang, names the source, drops only full-line comments", () => {
    const out = stripFullLineComments("#!/usr/bin/env bash\n# doc\n  # indented doc\necho '# not a comment' # trailing\n", "userdata/scripts/x.sh");
    assert.equal(out, "#!/usr/bin/env bash\n# soci-eks userdata/scripts/x.sh, compacted\necho '# not a comment' # trailing\n");
  });

  it("refuses a script with a heredoc (its # lines could be data), but not a here-string", () => {
    assert.throws(() => stripFullLineComments("#!/bin/sh\ncat <<EOF\n# data\nEOF\n", "h.sh"), /h\.sh has a heredoc/);
    assert.throws(() => stripFullLineComments("#!/bin/sh\ncat <<-'EOF'\nx\nEOF\n", "h.sh"), /heredoc/);
    assert.doesNotMatch(stripFullLineComments('#!/bin/sh\njq . <<<"${x}"\n', "s.sh"), /heredoc/);
  });

  for (const script of ["scripts/al2023-install-soci.sh", "scripts/al2023-setup-soci.sh", "scripts/verify-local-storage.sh", "scripts/run-installer.sh"]) {
    it(`${script}: the stripped script still parses and is shellcheck-clean`, () => {
      const file = path.join(work, path.basename(script));
      writeFileSync(file, nodeAsset(script));
      const parse = spawnSync("bash", ["-n", file], { encoding: "utf8" });
      assert.equal(parse.status, 0, parse.stderr);
      // The `# shellcheck source=` directives went with the comments: sourcing the generated env files is expected.
      const lint = spawnSync("shellcheck", ["-e", "SC1090,SC1091", file], { encoding: "utf8" });
      assert.equal(lint.status, 0, lint.stdout);
    });
  }

  it("compactShellScript drops comment lines, empty lines, indentation and trailing blanks", () => {
    const out = compactShellScript("#!/usr/bin/env bash\n# doc\nf() {\n  if x; then  \n\n    # note\n    echo 'a  b' # keep\n  fi\n}\n", "s.sh");
    assert.equal(out, "#!/usr/bin/env bash\nf() {\nif x; then\necho 'a  b' # keep\nfi\n}\n");
  });

  const SCRIPTS = readdirSync(path.join(REPO_ROOT, "userdata/scripts")).filter((f) => f.endsWith(".sh")).map((f) => `scripts/${f}`);
  it("every shipped script is compacted", () => assert.ok(SCRIPTS.length >= 5, SCRIPTS.join(" ")));
  for (const script of SCRIPTS) {
    it(`${script}: bash reads the same program from the compacted script (bash --pretty-print of both is equal)`, () => {
      const pretty = (text: string, name: string): string => {
        const file = path.join(work, name);
        writeFileSync(file, text);
        const r = spawnSync("bash", ["--pretty-print", file], { encoding: "utf8" });
        assert.equal(r.status, 0, r.stderr);
        // Blank lines between commands are layout (bash prints one where a comment line was); lines inside strings
        // are never touched by the compaction, so a blank line there stays in both.
        return r.stdout.split("\n").filter((l) => l.trim() !== "").join("\n");
      };
      const original = pretty(readAsset(script), "original.sh");
      assert.ok(original.length > 60, "bash printed the program");
      assert.equal(pretty(nodeAsset(script), "compacted.sh"), original);
    });
  }

  it("keeps lines inside multi-line strings as they are (and the check would see if it did not)", () => {
    const text = "#!/bin/sh\n  echo 'a\n   # b'  \n  x=\"1\n  2\" # c\n  y=$'q\\'\n   r'\n  z=1\n";
    assert.equal(compactShellScript(text, "ml.sh"), "#!/bin/sh\necho 'a\n   # b'  \nx=\"1\n  2\" # c\ny=$'q\\'\n   r'\nz=1\n");
    const file = path.join(work, "ml.sh");
    writeFileSync(file, text);
    const before = spawnSync("bash", ["--pretty-print", file], { encoding: "utf8" }).stdout;
    writeFileSync(file, text.replace("\n   # b", "\n# b"));
    assert.notEqual(spawnSync("bash", ["--pretty-print", file], { encoding: "utf8" }).stdout, before);
    assert.throws(() => compactShellScript("#!/bin/sh\necho 'open\n", "o.sh"), /o\.sh: a quoted string is not closed/);
  });
});
