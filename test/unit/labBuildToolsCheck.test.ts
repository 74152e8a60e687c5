import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import { appendFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import * as path from "path";
import { after, describe, it } from "node:test";

// lab/build-tools.sh --check, which lab/run.sh runs when LAB_SKIP_BUILD=1: binaries in lab/.bin built from other module
// sources than the checkout holds are refused instead of being run as if they were current. The cases copy the script
// and one small module (labtools, standard library only) into a scratch lab, build it there with the real Go, then edit
// a source file, and check without Go on PATH. Each case has its own scratch lab. `npm test`'s setup installs Go (it
// builds the Karpenter merge program), so a missing Go fails these cases.
const REPO = path.resolve(__dirname, "..", "..", "..");
const GO_DIRS = ["/usr/local/go/bin", ...(process.env.PATH ?? "").split(":")].filter((d) => d !== "");
const GO = GO_DIRS.map((d) => path.join(d, "go")).find((p) => existsSync(p));

const scratch = mkdtempSync(path.join(tmpdir(), "soci-eks-build-tools-"));
after(() => rmSync(scratch, { recursive: true, force: true }));

let labs = 0;
/** A scratch lab: a copy of build-tools.sh and of the labtools module, nothing built yet. */
function scratchLab(): string {
  const lab = path.join(scratch, `lab-${++labs}`);
  mkdirSync(path.join(lab, "tools"), { recursive: true });
  cpSync(path.join(REPO, "lab", "build-tools.sh"), path.join(lab, "build-tools.sh"));
  cpSync(path.join(REPO, "lab", "tools", "labtools"), path.join(lab, "tools", "labtools"), { recursive: true });
  return lab;
}

/** Runs LAB's build-tools.sh; `withGo: false` leaves every directory holding a `go` off PATH. */
function buildTools(lab: string, args: string[], withGo: boolean): { status: number | null; stderr: string } {
  const pathDirs = (process.env.PATH ?? "/usr/bin:/bin").split(":").filter((d) => withGo || !existsSync(path.join(d, "go")));
  const env: NodeJS.ProcessEnv = { ...process.env, PATH: pathDirs.join(":"), LAB_SKIP_APT: "1" };
  delete env.LAB_BIN_DIR;
  if (withGo && GO) env.PATH = `${path.dirname(GO)}:${env.PATH}`;
  const r = spawnSync("bash", [path.join(lab, "build-tools.sh"), ...args], { encoding: "utf8", env });
  return { status: r.status, stderr: r.stderr };
}

/** A scratch lab with labtools built by the real Go. */
function builtLab(): string {
  assert.ok(GO, "no go on PATH or in /usr/local/go/bin: run scripts/setup.sh test");
  const lab = scratchLab();
  const built = buildTools(lab, ["labtools"], true);
  assert.equal(built.status, 0, built.stderr);
  return lab;
}

describe("lab/build-tools.sh --check (LAB_SKIP_BUILD=1)", () => {
  it("accepts binaries built from the sources the checkout holds, without Go on PATH", () => {
    const lab = builtLab();
    const stamp = readFileSync(path.join(lab, ".bin", ".stamps", "mkimage"), "utf8").split("\n");
    assert.match(stamp[1], /^sources=[0-9a-f]{64}$/);
    const check = buildTools(lab, ["--check", "labtools"], false);
    assert.equal(check.status, 0, check.stderr);
    assert.match(check.stderr, /binaries in .* match this checkout/);
  });

  it("refuses binaries built before a source file changed, naming the target and the command that rebuilds it", () => {
    const lab = builtLab();
    appendFileSync(path.join(lab, "tools", "labtools", "cmd", "labpause", "main.go"), "\n// edited after the build\n");
    const check = buildTools(lab, ["--check", "labtools"], false);
    assert.equal(check.status, 1, check.stderr);
    for (const bin of ["mkimage", "labentry", "labpause", "countproxy"]) {
      assert.match(check.stderr, new RegExp(`labtools: \\S+/${bin} was built from other sources .*rebuild it with lab/build-tools.sh labtools`));
    }
    const rebuilt = buildTools(lab, ["labtools"], true);
    assert.equal(rebuilt.status, 0, rebuilt.stderr);
    assert.match(rebuilt.stderr, /labtools: building/);
    assert.equal(buildTools(lab, ["--check", "labtools"], false).status, 0);
  });

  it("refuses a stamp without a sources line (written by an older build-tools.sh)", () => {
    const lab = builtLab();
    const stampFile = path.join(lab, ".bin", ".stamps", "labentry");
    writeFileSync(stampFile, readFileSync(stampFile, "utf8").split("\n")[0] + "\n");
    const check = buildTools(lab, ["--check", "labtools"], false);
    assert.equal(check.status, 1);
    assert.match(check.stderr, /labentry was built from other sources/);
    assert.doesNotMatch(check.stderr, /mkimage was built/);
  });

  it("lists a binary that is not built, and leaves it to the section that needs it", () => {
    const lab = builtLab();
    rmSync(path.join(lab, ".bin", "countproxy"));
    const check = buildTools(lab, ["--check", "labtools"], false);
    assert.equal(check.status, 0, check.stderr);
    assert.match(check.stderr, /labtools: countproxy is not in \S+ \(a section that needs it will say so\)/);
  });

  it("refuses an unknown target name, and a target whose module is missing", () => {
    const lab = scratchLab();
    const unknown = buildTools(lab, ["--check", "labtool"], false);
    assert.equal(unknown.status, 1);
    assert.match(unknown.stderr, /unknown target 'labtool' \(targets: soci containerd/);
    const noModule = buildTools(lab, ["--check", "nodeadm-sim"], false);
    assert.equal(noModule.status, 1);
    assert.match(noModule.stderr, /missing \S+nodeadm-sim\/go\.mod/);
  });
});
