import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import * as path from "path";
import { after, describe, it } from "node:test";
import { REPO_ROOT } from "../helpers/sociWiring";

const SETUP = path.join(REPO_ROOT, "scripts/setup.sh");
const CURRENT = path.join(REPO_ROOT, "scripts/node-modules-current.js");
const dirs: string[] = [];
function tmp(prefix: string): string {
  const d = mkdtempSync(path.join(tmpdir(), prefix));
  dirs.push(d);
  return d;
}

/** A bin directory with only the commands setup.sh itself uses, plus stubs; no shellcheck, jq, pigz, ... */
function bareBin(stubs: Record<string, string>): string {
  const bin = tmp("soci-eks-setup-bin-");
  for (const cmd of ["bash", "node", "dirname", "id", "find", "touch"]) {
    const which = spawnSync("bash", ["-c", `command -v ${cmd}`], { encoding: "utf8" }).stdout.trim();
    symlinkSync(which, path.join(bin, cmd));
  }
  for (const [name, body] of Object.entries(stubs)) {
    writeFileSync(path.join(bin, name), `#!/bin/sh\n${body}\n`);
    chmodSync(path.join(bin, name), 0o755);
  }
  return bin;
}

function runSetup(args: string[], env: Record<string, string>): { status: number | null; stderr: string } {
  const r = spawnSync("/bin/bash", [SETUP, ...args], { encoding: "utf8", env: { HOME: process.env.HOME ?? "/root", ...env } });
  return { status: r.status, stderr: r.stderr };
}

/** A project directory with a package-lock.json and a node_modules tree built from `installed`. */
function project(locked: Record<string, { version: string; optional?: boolean }>, installed: Record<string, string>): string {
  const dir = tmp("soci-eks-lock-");
  const packages: Record<string, object> = { "": { name: "p", version: "1.0.0" } };
  for (const [name, e] of Object.entries(locked)) packages[`node_modules/${name}`] = e;
  writeFileSync(path.join(dir, "package-lock.json"), JSON.stringify({ lockfileVersion: 3, packages }));
  mkdirSync(path.join(dir, "node_modules"));
  for (const [name, version] of Object.entries(installed)) {
    mkdirSync(path.join(dir, "node_modules", name), { recursive: true });
    writeFileSync(path.join(dir, "node_modules", name, "package.json"), JSON.stringify({ name, version }));
  }
  return dir;
}

function current(dir: string): { status: number | null; stdout: string } {
  const r = spawnSync(process.execPath, [CURRENT, dir], { encoding: "utf8" });
  return { status: r.status, stdout: r.stdout };
}

describe("scripts/setup.sh (npm test's pretest, npm run lab's prelab)", () => {
  after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

  it("names every missing Debian package, why it is needed, and the command that installs them", () => {
    const bin = bareBin({ "apt-get": "echo apt-get must not run in --check mode >&2; exit 99" });
    const { status, stderr } = runSetup(["--check", "test"], { PATH: bin });
    assert.equal(status, 1, stderr);
    assert.doesNotMatch(stderr, /must not run/);
    assert.match(stderr, /shellcheck +lints every shell script/);
    assert.match(stderr, /amazon-ecr-credential-helper +the node installer/);
    assert.match(stderr, /sudo apt-get update && sudo apt-get install -y --no-install-recommends shellcheck jq pigz fuse3 amazon-ecr-credential-helper curl\n/);
  });

  it("without apt-get, says so instead of printing an apt-get command", () => {
    const { status, stderr } = runSetup(["--check", "test"], { PATH: bareBin({}) });
    assert.equal(status, 1);
    assert.match(stderr, /not a Debian machine \(no apt-get\)/);
    assert.doesNotMatch(stderr, /sudo apt-get/);
  });

  it("lab: refuses a Go older than 1.24 and says where to get one", () => {
    const bin = bareBin({ go: "echo go1.19.8", "apt-get": "exit 99" });
    const { status, stderr } = runSetup(["--check", "lab"], { PATH: bin });
    assert.equal(status, 1);
    assert.match(stderr, /needs Go >= 1\.24; found: go1\.19\.8\./);
    assert.match(stderr, /https:\/\/go\.dev\/dl\//);
  });

  it("lab: LAB_SKIP_BUILD=1 does not ask for Go", () => {
    const bin = bareBin({ go: "echo go1.19.8", "apt-get": "exit 99" });
    const { stderr } = runSetup(["--check", "lab"], { PATH: bin, LAB_SKIP_BUILD: "1" });
    assert.doesNotMatch(stderr, /needs Go/);
  });

  it("consumer: asks for git (the consumer test installs from git), and only for what the consumer test needs", () => {
    const bin = bareBin({ "apt-get": "exit 99" });
    const { status, stderr } = runSetup(["--check", "consumer"], { PATH: bin });
    assert.equal(status, 1, stderr);
    assert.match(stderr, /git +the consumer test installs the package from git/);
    assert.match(stderr, /sudo apt-get install -y --no-install-recommends git\n/);
    assert.doesNotMatch(stderr, /shellcheck|runc/);
  });

  it("consumer: with git present, checks the locked Node.js 22 of test/consumer/node22 and names what is missing", () => {
    // A copy of the parts of the repository setup.sh reads, with an empty root lockfile and the real node22 lockfile.
    const repo = tmp("soci-eks-setup-repo-");
    mkdirSync(path.join(repo, "scripts"));
    for (const f of ["setup.sh", "node-modules-current.js"]) copyFileSync(path.join(REPO_ROOT, "scripts", f), path.join(repo, "scripts", f));
    writeFileSync(path.join(repo, "package-lock.json"), JSON.stringify({ lockfileVersion: 3, packages: { "": {} } }));
    mkdirSync(path.join(repo, "node_modules"));
    const node22 = path.join(repo, "test/consumer/node22");
    mkdirSync(node22, { recursive: true });
    const lock = JSON.parse(readFileSync(path.join(REPO_ROOT, "test/consumer/node22/package-lock.json"), "utf8")) as { packages: Record<string, { version?: string }> };
    writeFileSync(path.join(node22, "package-lock.json"), JSON.stringify(lock));
    const pkg = `node-${process.platform}-${process.arch}`;
    const bin = bareBin({ git: "echo git version 2.39.5", "apt-get": "exit 99" });
    const check = () => spawnSync("/bin/bash", [path.join(repo, "scripts/setup.sh"), "--check", "consumer"], { encoding: "utf8", env: { HOME: process.env.HOME ?? "/root", PATH: bin } });

    const locked = lock.packages[`node_modules/${pkg}`];
    let r = check();
    assert.equal(r.status, 1, r.stderr);
    assert.doesNotMatch(r.stderr, /missing for the consumer profile/);
    if (!locked) {
      assert.match(r.stderr, new RegExp(`no ${pkg} in test/consumer/node22/package-lock.json`));
      return;
    }
    assert.match(r.stderr, new RegExp(`Node 22 for the consumer test: test/consumer/node22/node_modules/${pkg}/bin/node is missing`));
    const dir = path.join(node22, "node_modules", pkg);
    mkdirSync(path.join(dir, "bin"), { recursive: true });
    writeFileSync(path.join(dir, "bin/node"), "#!/bin/sh\necho v22\n");
    chmodSync(path.join(dir, "bin/node"), 0o755);
    writeFileSync(path.join(dir, "package.json"), JSON.stringify({ name: pkg, version: "0.0.1" }));
    r = check();
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, new RegExp(`node_modules/${pkg} is 0\\.0\\.1, package-lock.json says ${locked.version!.replace(/\./g, "\\.")}`));
    writeFileSync(path.join(dir, "package.json"), JSON.stringify({ name: pkg, version: locked.version }));
    r = check();
    assert.equal(r.status, 0, r.stderr);
  });

  it("SOCI_EKS_SKIP_SETUP=1 checks nothing", () => {
    const { status, stderr } = runSetup(["--check", "test"], { PATH: bareBin({}), SOCI_EKS_SKIP_SETUP: "1" });
    assert.equal(status, 0, stderr);
  });

  it("an unknown profile is an error", () => {
    assert.equal(runSetup(["tests"], { PATH: bareBin({}) }).status, 2);
  });
});

describe("scripts/node-modules-current.js (decides whether setup runs npm ci)", () => {
  it("current when every locked package is installed at its locked version; a missing optional one is fine", () => {
    const dir = project({ a: { version: "1.2.3" }, "@s/b": { version: "4.0.0" }, c: { version: "1.0.0", optional: true } }, { a: "1.2.3", "@s/b": "4.0.0" });
    assert.deepEqual(current(dir), { status: 0, stdout: "" });
  });

  it("stale when a version differs, a package is missing, or node_modules is absent", () => {
    assert.deepEqual(current(project({ a: { version: "1.2.3" } }, { a: "1.2.4" })), {
      status: 1,
      stdout: "node_modules/a is 1.2.4, package-lock.json says 1.2.3\n",
    });
    assert.deepEqual(current(project({ a: { version: "1.2.3" } }, {})), {
      status: 1,
      stdout: "node_modules/a is not installed (locked: 1.2.3)\n",
    });
    const dir = project({}, {});
    rmSync(path.join(dir, "node_modules"), { recursive: true });
    assert.deepEqual(current(dir), { status: 1, stdout: "node_modules is missing\n" });
  });
});
