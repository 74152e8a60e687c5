import { strict as assert } from "assert";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "fs";
import * as path from "path";
import { after, describe, it } from "node:test";
import * as ts from "typescript";
import { REPO_ROOT } from "../helpers/sociWiring";

const HEADING = "## Already on @pulumi/eks? Add SOCI in one line.";

/** The first ```ts block under a README heading. */
function exampleUnder(heading: string): string {
  const readme = readFileSync(path.join(REPO_ROOT, "README.md"), "utf8");
  const start = readme.indexOf(`\n${heading}\n`);
  assert.ok(start >= 0, `README has no section '${heading}'`);
  const block = /```ts\n([\s\S]*?)```/.exec(readme.slice(start));
  assert.ok(block, `no TypeScript example under '${heading}'`);
  return block[1];
}

const OPTIONS: ts.CompilerOptions = {
  strict: true,
  noEmit: true,
  target: ts.ScriptTarget.ES2022,
  module: ts.ModuleKind.CommonJS,
  moduleResolution: ts.ModuleResolutionKind.Node10,
  esModuleInterop: true,
  skipLibCheck: true,
  resolveJsonModule: true,
  baseUrl: REPO_ROOT,
  // `soci-eks` is this package: its entry point (package.json "types") built from components/index.ts.
  paths: { "soci-eks": ["components/index.ts"] },
};

describe("README: the @pulumi/eks plug-in example", () => {
  // Inside the repository (under dist/, ignored by git) so that @pulumi/eks resolves from node_modules.
  const dir = mkdtempSync(path.join(REPO_ROOT, "dist", "readme-example-"));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const example = exampleUnder(HEADING);
  const good = path.join(dir, "index.ts");
  const broken = path.join(dir, "broken.ts");
  writeFileSync(good, example);
  // The same example with a mode that does not exist: proves the check sees the plug-in's types.
  writeFileSync(broken, example.replace('sociMode: "lazy"', 'sociMode: "fastest"'));
  // One program for both files (type-checking @pulumi/aws is the slow part).
  const program = ts.createProgram([good, broken], OPTIONS);
  const diagnosticsOf = (file: string) =>
    ts.getPreEmitDiagnostics(program, program.getSourceFile(file)).map((d) => ts.flattenDiagnosticMessageText(d.messageText, "\n"));

  it("type-checks against the package's entry point and @pulumi/eks 4.x", () => {
    assert.deepEqual(diagnosticsOf(good), []);
    // The example uses the plug-in, not something else that happens to compile.
    assert.match(example, /\.\.\.soci\.managedNodeGroupArgs/);
    assert.match(example, /transforms: soci\.transforms/);
  });

  it("a type error in the example would be reported (the check is live)", () => {
    assert.notEqual(example, readFileSync(broken, "utf8"));
    const diagnostics = diagnosticsOf(broken);
    assert.ok(diagnostics.some((d) => d.includes('"fastest"')), diagnostics.join("\n"));
  });
});
