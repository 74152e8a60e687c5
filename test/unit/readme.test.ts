import { strict as assert } from "assert";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import * as path from "path";
import { after, describe, it } from "node:test";
import * as ts from "typescript";
import { blockFileName, tsBlocks } from "../helpers/readme";
import { REPO_ROOT } from "../helpers/sociWiring";

const README = path.join(REPO_ROOT, "README.md");
const DOCS = path.join(REPO_ROOT, "docs");
const workdirs: string[] = [];

/**
 * Type-checks files as a consumer's strict CommonJS Pulumi program would: `soci-eks` resolves to this
 * build's declarations (dist/components), `@pulumi/*` to this repository's node_modules.
 */
function diagnostics(files: Record<string, string>): string[] {
  const dir = mkdtempSync(path.join(tmpdir(), "soci-eks-readme-"));
  workdirs.push(dir);
  const names = Object.entries(files).map(([name, code]) => {
    writeFileSync(path.join(dir, name), code);
    return path.join(dir, name);
  });
  const program = ts.createProgram(names, {
    strict: true,
    noEmit: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.CommonJS,
    moduleResolution: ts.ModuleResolutionKind.Node10,
    esModuleInterop: true,
    skipLibCheck: true,
    types: [],
    baseUrl: REPO_ROOT,
    paths: { "soci-eks": ["dist/components/index"], "@pulumi/*": ["node_modules/@pulumi/*"] },
    typeRoots: [path.join(REPO_ROOT, "node_modules/@types")],
  });
  return ts.getPreEmitDiagnostics(program).map((d) => {
    const where = d.file && d.start !== undefined ? `${path.basename(d.file.fileName)}:${d.file.getLineAndCharacterOfPosition(d.start).line + 1}: ` : "";
    return where + ts.flattenDiagnosticMessageText(d.messageText, "\n");
  });
}

/** Files that must not compile: the checker has to report them (proves it can fail). */
const BROKEN: Record<string, string> = {
  "broken-tla.ts":
    'import { SociNodeGroup } from "soci-eks";\nconst g = await SociNodeGroup.create("g", { clusterName: "c", subnetIds: ["s"], instanceType: "m7i.xlarge" });\nexport const name = g.nodeGroupName;\n',
  "broken-mode.ts":
    'import { SociNodeGroup } from "soci-eks";\nexport = async () => SociNodeGroup.create("g", { clusterName: "c", subnetIds: ["s"], instanceType: "m7i.xlarge", sociMode: "fast" });\n',
};

/** Every TypeScript block of README.md and of each docs/*.md page, named after its page and line. */
function allBlocks(): Record<string, string> {
  const files: Record<string, string> = {};
  for (const b of tsBlocks(readFileSync(README, "utf8"))) files[blockFileName(b)] = b.code;
  for (const page of readdirSync(DOCS).filter((f) => f.endsWith(".md"))) {
    for (const b of tsBlocks(readFileSync(path.join(DOCS, page), "utf8"))) files[blockFileName(b, `docs-${page.replace(/\.md$/, "")}`)] = b.code;
  }
  return files;
}

describe("TypeScript blocks of README.md and docs/", () => {
  after(() => workdirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
  const readmeBlocks = tsBlocks(readFileSync(README, "utf8"));
  const blocks = allBlocks();
  // One program for all blocks and the broken files (a program over @pulumi/aws's types is slow to build).
  let found: string[] | undefined;
  const all = (): string[] => (found ??= diagnostics({ ...blocks, ...BROKEN }));

  it("has the library examples (none is skipped because the extractor missed it)", () => {
    assert.ok(readmeBlocks.length >= 2, `found ${readmeBlocks.length} ts blocks in README.md`);
    assert.ok(readmeBlocks.some((b) => b.code.includes("SociCluster.create(")));
    const docsBlocks = Object.keys(blocks).filter((n) => n.startsWith("docs-"));
    for (const page of ["bottlerocket", "index-builder", "pull-report"]) {
      assert.ok(docsBlocks.some((n) => n.startsWith(`docs-${page}-L`)), `docs/${page}.md has a ts block: ${docsBlocks.join(", ")}`);
    }
  });

  it("every block compiles under strict tsc as a CommonJS Pulumi program against the package's declarations", () => {
    assert.deepEqual(all().filter((d) => !d.startsWith("broken-")), []);
  });

  it("the check can fail: top-level await in CommonJS and a wrong sociMode are reported", () => {
    const broken = all().filter((d) => d.startsWith("broken-"));
    assert.ok(broken.some((d) => d.startsWith("broken-tla.ts:2: ") && /top-level 'await'/i.test(d)), broken.join("\n"));
    assert.ok(broken.some((d) => d.startsWith("broken-mode.ts:2: ") && /"fast"/.test(d)), broken.join("\n"));
  });
});
