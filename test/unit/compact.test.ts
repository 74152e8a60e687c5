import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import { mkdtempSync, rmSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import * as path from "path";
import { after, describe, it } from "node:test";
import { nodeAsset } from "../../userdata/al2023";
import { stripFullLineComments } from "../../userdata/compact";

describe("scripts and units as the node gets them (comment lines stripped)", () => {
  const work = mkdtempSync(path.join(tmpdir(), "soci-eks-compact-"));
  after(() => rmSync(work, { recursive: true, force: true }));

  it("keeps the shebang, names the source, drops only full-line comments", () => {
    const out = stripFullLineComments("#!/usr/bin/env bash\n# doc\n  # indented doc\necho '# not a comment' # trailing\n", "userdata/scripts/x.sh");
    assert.equal(out, "#!/usr/bin/env bash\n# soci-eks userdata/scripts/x.sh (comments stripped; the commented file is in the soci-eks package)\necho '# not a comment' # trailing\n");
  });

  it("refuses a script with a heredoc (its # lines could be data), but not a here-string", () => {
    assert.throws(() => stripFullLineComments("#!/bin/sh\ncat <<EOF\n# data\nEOF\n", "h.sh"), /h\.sh has a heredoc/);
    assert.throws(() => stripFullLineComments("#!/bin/sh\ncat <<-'EOF'\nx\nEOF\n", "h.sh"), /heredoc/);
    assert.doesNotMatch(stripFullLineComments('#!/bin/sh\njq . <<<"${x}"\n', "s.sh"), /heredoc/);
  });

  for (const script of ["scripts/al2023-install-soci.sh", "scripts/import-pause.sh", "scripts/verify-local-storage.sh", "scripts/run-installer.sh"]) {
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
});
