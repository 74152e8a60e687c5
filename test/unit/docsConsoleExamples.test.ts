import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import * as path from "path";
import { after, describe, it } from "node:test";
import { fencedBlocks } from "../helpers/readme";
import { TEST_ONLY_SOCI_SHA256 } from "../helpers/options";

// Every ```console block in README.md and docs/ shows a `$ soci-eks ...` command and what it prints. Each one is run
// here as written, by bash, with `soci-eks` on PATH (this checkout's built CLI), and its output (stdout and stderr
// together) must be exactly what the page shows. `$SOCI_SHA256` stands for a release digest; the working directory
// holds `events.json`, an empty EventList, for the pull-report example.
const REPO = path.resolve(__dirname, "..", "..", "..");
const CLI = path.join(REPO, "dist", "cli", "main.js");
const PAGES = ["README.md", ...readdirSync(path.join(REPO, "docs")).filter((f) => f.endsWith(".md")).map((f) => path.join("docs", f))];

const work = mkdtempSync(path.join(tmpdir(), "soci-eks-console-"));
after(() => rmSync(work, { recursive: true, force: true }));
const binDir = path.join(work, "bin");
const cwd = path.join(work, "cwd");
for (const d of [binDir, cwd]) mkdirSync(d, { recursive: true });
writeFileSync(path.join(binDir, "soci-eks"), `#!/bin/sh\nexec "${process.execPath}" "${CLI}" "$@"\n`);
chmodSync(path.join(binDir, "soci-eks"), 0o755);
writeFileSync(path.join(cwd, "events.json"), JSON.stringify({ apiVersion: "v1", kind: "EventList", items: [] }));

interface ConsoleExample {
  page: string;
  line: number;
  command: string;
  output: string;
}

const examples: ConsoleExample[] = PAGES.flatMap((page) =>
  fencedBlocks(readFileSync(path.join(REPO, page), "utf8"), ["console"]).map((b) => {
    const [first, ...rest] = b.code.replace(/\n$/, "").split("\n");
    return { page, line: b.line, command: first, output: rest.join("\n") };
  }),
);

describe("console examples in README.md and docs/ print what they show", () => {
  it("there are examples to check (docs/cli.md and docs/pull-report.md show real output)", () => {
    assert.ok(examples.some((e) => e.page === path.join("docs", "cli.md")), "no console block in docs/cli.md");
    assert.ok(examples.some((e) => e.page === path.join("docs", "pull-report.md")), "no console block in docs/pull-report.md");
  });

  for (const e of examples) {
    it(`${e.page}:${e.line}: ${e.command.slice(0, 80)}`, () => {
      assert.match(e.command, /^\$ soci-eks /, "a console block starts with `$ soci-eks ...`, the command whose output follows");
      const r = spawnSync("bash", ["-c", `${e.command.slice(2)} 2>&1`], {
        cwd,
        encoding: "utf8",
        env: { ...process.env, PATH: `${binDir}:${process.env.PATH ?? "/usr/bin:/bin"}`, SOCI_SHA256: TEST_ONLY_SOCI_SHA256 },
      });
      assert.equal(r.stdout.replace(/\n$/, ""), e.output, `${e.page}:${e.line} shows other output than the command prints`);
    });
  }
});
