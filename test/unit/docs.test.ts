/**
 * The README and docs/ as a reader gets them: the README stays short with a table of contents, every relative link
 * and anchor in a Markdown file of the npm package resolves inside that package, every fenced block opens and closes,
 * every docs page the README, the CLI's help and the error messages point to ships in the npm package, counts in the
 * docs follow the code, and no project history leaks into user text.
 */
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import { existsSync, readdirSync, readFileSync, statSync } from "fs";
import * as path from "path";
import { describe, it } from "node:test";
import { REPO_ROOT } from "../helpers/sociWiring";
import { BUILT_IN_INSTANCE_TYPES } from "../../cli/instanceTable";

const README = "README.md";
const DOC_PAGES = readdirSync(path.join(REPO_ROOT, "docs"))
  .filter((f) => f.endsWith(".md"))
  .map((f) => `docs/${f}`);
const USER_TEXT = [README, ...DOC_PAGES];
/** Where user-facing messages and help live: their `docs/<page>.md` mentions must ship with the package. */
const SOURCE_DIRS = ["cli", "validation", "components", "userdata", "provider"];

const read = (rel: string): string => readFileSync(path.join(REPO_ROOT, rel), "utf8");

/** The text without fenced code blocks and inline code, where `[x](y)` is not a link. */
function prose(markdown: string): string {
  return markdown.replace(/^(```+)[^\n]*\n[\s\S]*?^\1\s*$/gm, "").replace(/`[^`\n]*`/g, "");
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens; repeats get -1, -2, ... */
export function headingAnchors(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  const text = markdown.replace(/^(```+)[^\n]*\n[\s\S]*?^\1\s*$/gm, "");
  for (const m of text.matchAll(/^#{1,6}\s+(.+?)\s*#*\s*$/gm)) {
    const base = m[1]
      .replace(/\[([^\]]*)\]\([^)]*\)/g, "$1")
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, "")
      .replace(/\s/g, "-");
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    anchors.add(n === 0 ? base : `${base}-${n}`);
  }
  return anchors;
}

interface Link {
  from: string;
  target: string;
}

/** Relative links of a Markdown file's text (`[text](target)`), external ones left out. */
function relativeLinks(from: string, markdown: string): Link[] {
  return [...prose(markdown).matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)]
    .map((m) => m[1])
    .filter((t) => !/^[a-z][a-z0-9+.-]*:/i.test(t))
    .map((target) => ({ from, target }));
}

let packCache: Set<string> | undefined;
/** Every file the npm tarball would contain (`npm pack --dry-run`, without running `prepare`), packed once. */
function packedFiles(): Set<string> {
  if (packCache) return packCache;
  const r = spawnSync("npm", ["pack", "--dry-run", "--json", "--ignore-scripts"], { cwd: REPO_ROOT, encoding: "utf8" });
  assert.equal(r.status, 0, `npm pack --dry-run failed: ${r.stderr}`);
  const [pack] = JSON.parse(r.stdout) as { files: { path: string }[] }[];
  packCache = new Set(pack.files.map((f) => f.path));
  return packCache;
}

/**
 * Relative links of the package's Markdown files that do not work in the installed package: a target outside the
 * package, a file or folder that is not in its file list, or an anchor that no heading of the target page has.
 * `files` is the package's file list (paths relative to its root); `readText` reads one of them.
 */
export function packageLinkProblems(files: Set<string>, readText: (rel: string) => string): { problems: string[]; checked: number } {
  const folders = new Set<string>();
  for (const f of files) for (let d = path.posix.dirname(f); d !== "."; d = path.posix.dirname(d)) folders.add(d);
  const problems: string[] = [];
  let checked = 0;
  for (const file of [...files].filter((f) => f.endsWith(".md")).sort()) {
    for (const { target } of relativeLinks(file, readText(file))) {
      checked++;
      const [rel, anchor] = target.split("#");
      const resolved = rel === "" ? file : path.posix.normalize(path.posix.join(path.posix.dirname(file), rel)).replace(/\/$/, "");
      if (resolved === ".." || resolved.startsWith("../")) {
        problems.push(`${file}: ${target} (outside the package)`);
      } else if (!files.has(resolved) && !folders.has(resolved)) {
        problems.push(`${file}: ${target} (${resolved} is not in the package)`);
      } else if (anchor !== undefined && resolved.endsWith(".md") && !headingAnchors(readText(resolved)).has(anchor)) {
        problems.push(`${file}: ${target} (no heading #${anchor} in ${resolved})`);
      }
    }
  }
  return { problems, checked };
}

/**
 * Broken code fences in Markdown: a fence line with an info string inside an open block of the same kind (a second
 * opening fence, which becomes block content and closes nothing; the block's real end then closes it early) and a
 * block still open at the end. A shorter fence, or one of the other character, is content.
 */
export function fenceProblems(markdown: string): string[] {
  const problems: string[] = [];
  let open: { char: string; length: number; line: number } | undefined;
  markdown.split("\n").forEach((text, i) => {
    const m = /^\s*(`{3,}|~{3,})(.*)$/.exec(text);
    if (!m) return;
    const [, fence, info] = m;
    if (open === undefined) {
      open = { char: fence[0], length: fence.length, line: i + 1 };
    } else if (fence[0] === open.char && fence.length >= open.length) {
      if (info.trim() === "") open = undefined;
      else problems.push(`line ${i + 1}: an opening fence inside the block opened at line ${open.line}`);
    }
  });
  if (open) problems.push(`line ${open.line}: a block that is never closed`);
  return problems;
}

/** Source files (.ts, .sh, .yaml) under a directory, outside node_modules. */
function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (rel: string): void => {
    for (const e of readdirSync(path.join(REPO_ROOT, rel), { withFileTypes: true })) {
      const child = path.join(rel, e.name);
      if (e.isDirectory()) {
        if (e.name !== "node_modules" && e.name !== "dist") walk(child);
      } else if (/\.(ts|sh|ya?ml)$/.test(e.name)) out.push(child);
    }
  };
  walk(dir);
  return out;
}

/** `docs/<page>.md` mentions in the README and in user-facing sources (help, error messages, doc comments). */
function docsMentions(): Link[] {
  const files = [README, ...SOURCE_DIRS.flatMap(sourceFiles), "index.ts"];
  return files.flatMap((from) => [...read(from).matchAll(/\bdocs\/([A-Za-z0-9._-]+\.md)\b/g)].map((m) => ({ from, target: `docs/${m[1]}` })));
}

describe("README.md: short, with a table of contents", () => {
  const readme = read(README);
  const lines = readme.split("\n").length;

  it("is at most 300 lines", () => {
    assert.ok(lines <= 300, `README.md has ${lines} lines`);
  });

  it("links every one of its sections from a table of contents before the first section", () => {
    const firstSection = readme.search(/^## /m);
    const toc = readme.slice(0, firstSection);
    const sections = [...readme.matchAll(/^## (.+)$/gm)].map((m) => m[1]);
    assert.ok(sections.length >= 6, `${sections.length} sections`);
    for (const s of sections) {
      const anchor = [...headingAnchors(`## ${s}`)][0];
      assert.ok(toc.includes(`](#${anchor})`), `the table of contents lacks '${s}' (#${anchor})`);
    }
  });

  it("has the sections a newcomer needs: why, install, supported versions, the two commands, examples, settings, troubleshooting, docs", () => {
    for (const s of ["Why", "Install", "Supported versions", "The two commands", "Examples", "Main settings", "Troubleshooting on a node", "Documentation"]) {
      assert.match(readme, new RegExp(`^## ${s}$`, "m"), s);
    }
    assert.equal([...readme.matchAll(/^### \d\. /gm)].length, 3, "three numbered examples");
  });

  it("links every docs page", () => {
    for (const page of DOC_PAGES) assert.ok(readme.includes(`](${page})`), `README.md does not link ${page}`);
  });
});

describe("links in the npm package's Markdown (README.md, docs/)", () => {
  it("every relative link of every packed Markdown file points to a file or folder in the package, and every anchor to a heading", () => {
    const files = packedFiles();
    const markdown = [...files].filter((f) => f.endsWith(".md"));
    for (const f of USER_TEXT) assert.ok(markdown.includes(f), `${f} is not in the npm package`);
    const { problems, checked } = packageLinkProblems(files, read);
    assert.deepEqual(problems, []);
    assert.ok(checked >= 50, `${checked} links checked`);
  });

  it("the checker can fail: a link out of the package, to an unpacked file and to a missing anchor are reported", () => {
    const anchors = headingAnchors("# A page\n## When a SOCI step fails (`onSociFailure`)\n## Notes\n## Notes\n```md\n## Not a heading\n```\n");
    assert.deepEqual([...anchors], ["a-page", "when-a-soci-step-fails-onsocifailure", "notes", "notes-1"]);
    const texts: Record<string, string> = {
      "README.md": "[a](docs/a.md#a-page) [b](docs/b.md) [lab](lab/README.md) [ex](examples/x) [ex/](examples/x/) `[c](docs/c.md)`\n",
      "docs/a.md": "# A page\n[r](../README.md) [self](#a-page) [s](#gone) [up](../../outside.md) [n](a.md#notes) [py](../examples/x/main.py)\n",
      "examples/x/Pulumi.yaml": "",
    };
    const { problems, checked } = packageLinkProblems(new Set(Object.keys(texts)), (f) => texts[f]);
    assert.equal(checked, 11);
    assert.deepEqual(problems, [
      "README.md: docs/b.md (docs/b.md is not in the package)",
      "README.md: lab/README.md (lab/README.md is not in the package)",
      "docs/a.md: #gone (no heading #gone in docs/a.md)",
      "docs/a.md: ../../outside.md (outside the package)",
      "docs/a.md: a.md#notes (no heading #notes in docs/a.md)",
      "docs/a.md: ../examples/x/main.py (examples/x/main.py is not in the package)",
    ]);
  });

  it("every docs/ page the README, the CLI's help and the error messages mention exists and ships in the npm package", () => {
    const packed = packedFiles();
    const mentions = docsMentions();
    assert.ok(mentions.some((m) => m.from.startsWith("cli/")), "the CLI mentions a docs page");
    assert.ok(mentions.some((m) => m.from.startsWith("components/")), "an error message mentions a docs page");
    const missing = mentions.filter((m) => !existsSync(path.join(REPO_ROOT, m.target)) || !packed.has(m.target));
    assert.deepEqual(missing, []);
    // Links from one shipped page to another must work in the package too.
    for (const page of DOC_PAGES) assert.ok(packed.has(page), `${page} is not in the npm package`);
    for (const f of ["README.md", "LICENSE", "package.json", "dist/components/index.js", "dist/cli/main.js"]) assert.ok(packed.has(f), f);
  });
});

describe("counts and tables in docs/ follow the code", () => {
  it("docs/cli.md's built-in instance types: the count and the families are the table's", () => {
    const doc = read("docs/cli.md").replace(/\s+/g, " ");
    const m = /facts for (\d+) common EKS node types \(([^)]*)\)/.exec(doc);
    assert.ok(m, "docs/cli.md states the number of built-in types");
    const types = Object.keys(BUILT_IN_INSTANCE_TYPES);
    assert.equal(Number(m[1]), types.length);
    const families = new Set(types.map((t) => t.split(".")[0]));
    const listed = new Set<string>();
    for (const part of m[2].replace(/, and /g, ", ").split(/,\s*/)) {
      const single = /^(?:and )?([a-z0-9-]+)\.[a-z0-9]+/.exec(part.trim());
      if (single) listed.add(single[1]);
      else part.trim().split("/").forEach((f) => listed.add(f));
    }
    assert.deepEqual([...listed].sort(), [...families].sort());
  });

  it("README's supported @pulumi/* ranges and Node.js are package.json's", () => {
    const pkg = JSON.parse(read("package.json")) as { peerDependencies: Record<string, string>; engines: { node: string } };
    const readme = read(README);
    for (const [name, range] of Object.entries(pkg.peerDependencies)) {
      const m = /^>=(\d+\.\d+\.\d+) <(\d+)\.0\.0$/.exec(range);
      assert.ok(m, `${name}: ${range}`);
      assert.ok(readme.includes(`| \`${name}\` | ≥ ${m[1]} < ${m[2]} |`), `README.md states ${name} ${range}`);
    }
    const node = /^>=(\d+)$/.exec(pkg.engines.node);
    assert.ok(node, pkg.engines.node);
    assert.match(readme, new RegExp(`^\\| Node\\.js \\| ${node[1]} or newer`, "m"));
  });

  it("README's TypeScript and Node.js rows are the consumer test's ends", () => {
    const readme = read(README);
    const run = read("test/consumer/run.sh");
    const low = /^TS_LOW=(\d+)\.(\d+)\.(\d+)$/m.exec(run);
    const current = /^TS_CURRENT_RANGE=\^(\d+)$/m.exec(run);
    assert.ok(low && current, "test/consumer/run.sh sets TS_LOW and TS_CURRENT_RANGE");
    const row = readme.split("\n").find((l) => l.startsWith("| TypeScript |"));
    assert.ok(row, "README.md has a TypeScript row");
    assert.ok(row.includes(`| ${low[1]}.${low[2]} or newer; ${current[1]}.x `), row);
    assert.ok(row.includes(`| ${low[1]}.${low[2]}.${low[3]} (\`node10\`) and the newest ${current[1]}.x (\`nodenext\`) |`), row);
    const engines = (JSON.parse(read("package.json")) as { engines: { node: string } }).engines.node.replace(">=", "");
    const node22 = JSON.parse(read("test/consumer/node22/package.json")) as { optionalDependencies: Record<string, string> };
    const majors = new Set(Object.values(node22.optionalDependencies).map((v) => v.split(".")[0]));
    assert.equal(majors.size, 1, "one Node.js version for every platform");
    assert.match(readme, new RegExp(`^\\| Node\\.js \\| .* \\| ${engines} and ${[...majors][0]} \\|$`, "m"));
  });
});

describe("user text has no project history", () => {
  // Upstream references (owner/repo#123, "upstream #1069") are facts about other projects and stay.
  const HISTORY: [RegExp, string][] = [
    [/\b(?:before|since|after|in|from) issue \d+/i, "an issue of this project"],
    [/\bissue \d+\b/i, "an issue of this project"],
    [/\bbefore this release\b/i, "a previous release"],
    [/^#+ .*\(\d{4}-\d{2}-\d{2}\)/m, "a dated heading"],
    [/\bthe old (?:rule|format|default|config)\b/i, "an old behaviour"],
    [/\bwas (?:soci's|the default)\b/i, "a previous default"],
  ];
  for (const file of USER_TEXT) {
    it(file, () => {
      const text = read(file);
      for (const [re, what] of HISTORY) assert.doesNotMatch(text, re, `${file} mentions ${what}`);
    });
  }
  it("the check can fail", () => {
    assert.ok(HISTORY.some(([re]) => re.test("(the config before issue 11)")));
    assert.ok(HISTORY.some(([re]) => re.test("## Known limits (2026-11-30)")));
  });

  // Messages, help and doc comments (they ship in the .d.ts files) state what soci-eks does, not what it did. Facts
  // about other projects ("EKS no longer creates it") stay: the words below are about soci-eks's own past.
  const SOURCE_HISTORY: [RegExp, string][] = [
    [/\b(?:earlier|previous|older) releases?\b/i, "a previous release"],
    [/\bno longer (?:carries|pushes|mounts|takes|has|exists?|an option)\b/i, "something soci-eks did before"],
    [/\b(?:was|were) (?:renamed|removed)\b/i, "a rename or removal"],
    ...HISTORY,
  ];
  it("sources: messages, help and doc comments (cli, validation, components, userdata, provider)", () => {
    const hits = SOURCE_DIRS.flatMap(sourceFiles).flatMap((file) =>
      read(file)
        .split("\n")
        .flatMap((line, i) => SOURCE_HISTORY.filter(([re]) => re.test(line)).map(([, what]) => `${file}:${i + 1} mentions ${what}: ${line.trim()}`)),
    );
    assert.deepEqual(hits, []);
  });
  it("the source check can fail", () => {
    for (const text of ["/** Options of earlier releases that the builder no longer has */", "`the node role soci-eks creates no longer carries AmazonEKS_CNI_Policy`", "is no longer an option"]) {
      assert.ok(SOURCE_HISTORY.some(([re]) => re.test(text)), text);
    }
    assert.ok(!SOURCE_HISTORY.some(([re]) => re.test("reached end of extended support; EKS no longer creates it")), "a fact about EKS is not history");
  });
});

describe("code fences in README.md and docs/", () => {
  for (const file of USER_TEXT) {
    it(`${file}: every fenced block opens once and closes`, () => {
      assert.deepEqual(fenceProblems(read(file)), []);
    });
  }

  it("the check can fail: a doubled opening fence and an unclosed block are reported; nested shorter fences are content", () => {
    assert.deepEqual(fenceProblems("## The parts\n\n```mermaid\n```mermaid\nflowchart LR\n```\n"), [
      "line 4: an opening fence inside the block opened at line 3",
    ]);
    assert.deepEqual(fenceProblems("```\n```bash\nls\n```\n"), ["line 2: an opening fence inside the block opened at line 1"]);
    assert.deepEqual(fenceProblems("text\n```bash\nls\n"), ["line 2: a block that is never closed"]);
    assert.deepEqual(fenceProblems("````md\n```bash\nls\n```\n````\n~~~\n```yaml\n~~~\n  ```bash\n  ls\n  ```\n"), []);
  });
});

describe("docs/ directory", () => {
  it("holds only Markdown pages", () => {
    for (const f of readdirSync(path.join(REPO_ROOT, "docs"))) assert.ok(f.endsWith(".md") && statSync(path.join(REPO_ROOT, "docs", f)).isFile(), f);
  });
});
