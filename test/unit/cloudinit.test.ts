import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import * as path from "path";
import { after, describe, it } from "node:test";
import { renderUserData } from "../../userdata";
import { al2023NodeFiles, INSTALLER_PATH, INSTALLER_SCRIPT, nodeAsset, runInstallerPart } from "../../userdata/al2023";
import { NODE_FILES_BUNDLE } from "../../userdata/paths";
import { bundleGzip } from "../../userdata/bundle";
import { assembleMime } from "../../userdata/mime";
import { bootstrapOptions } from "../helpers/options";
import { REPO_ROOT } from "../helpers/sociWiring";
import { unbundleWithInstaller } from "../helpers/userdata";

/** Debian's python3 carries the cloud-init package; a pyenv python on PATH would not. */
const PYTHON = "/usr/bin/python3";
const CONSUMER = path.join(REPO_ROOT, "test/consumers/cloudinit_consume.py");
const workdirs: string[] = [];

interface CloudInitReport {
  parts: { contentType: string; filename: string; bytes: number }[];
  unhandled: string[];
  scripts: string[];
  write_files: string[];
}

function consume(text: string): { status: number | null; report?: CloudInitReport; stderr: string; workdir: string } {
  const workdir = mkdtempSync(path.join(tmpdir(), "soci-eks-cloudinit-"));
  workdirs.push(workdir);
  const file = path.join(workdir, "user-data");
  writeFileSync(file, text);
  const r = spawnSync(PYTHON, [CONSUMER, file, workdir, path.join(workdir, "root")], { encoding: "utf8" });
  return { status: r.status, report: r.status === 0 ? JSON.parse(r.stdout) : undefined, stderr: r.stderr, workdir };
}

describe("cloud-init (Debian's cloud-init package) consumes the user data", () => {
  after(() => workdirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

  for (const mode of ["lazy", "parallel"] as const) {
    it(`${mode}: runs our script, writes our files (the installer among them), leaves the NodeConfig to nodeadm`, () => {
      const { status, report, stderr, workdir } = consume(renderUserData("al2023", bootstrapOptions({ mode })).text);
      assert.equal(status, 0, stderr);
      assert.deepEqual(report!.parts.map((p) => p.contentType), ["application/node.eks.aws", "text/cloud-config", "text/x-shellscript"]);
      assert.deepEqual(report!.unhandled, ["application/node.eks.aws"]);
      assert.deepEqual(report!.scripts, ["part-003"]);
      const written = readFileSync(path.join(workdir, "cloud/instance/scripts/part-003"), "utf8");
      assert.equal(written, runInstallerPart("fallback"));
      // cloud-init's write_files wrote the installer (gz+b64, 0755) and then the node-files archive (b64, 0600)
      assert.deepEqual(report!.write_files, [INSTALLER_PATH, NODE_FILES_BUNDLE]);
      const installerOnNode = path.join(workdir, "root", INSTALLER_PATH);
      assert.equal(statSync(installerOnNode).mode & 0o777, 0o755);
      // the installer is the commented source minus its comment lines, empty lines and indentation
      const installer = readFileSync(installerOnNode, "utf8");
      assert.equal(installer, nodeAsset(INSTALLER_SCRIPT));
      const source = readFileSync(path.join(REPO_ROOT, "userdata/scripts/al2023-install-soci.sh"), "utf8");
      assert.deepEqual(
        installer.split("\n").filter((l) => !/^\s*#/.test(l) && l !== ""),
        source.split("\n").filter((l) => !/^\s*#/.test(l) && l.trim() !== "").map((l) => l.trim()),
      );
      const bundle = path.join(workdir, "root", NODE_FILES_BUNDLE);
      assert.equal(statSync(bundle).mode & 0o777, 0o600);
      const expected = al2023NodeFiles(bootstrapOptions({ mode }));
      assert.ok(readFileSync(bundle).equals(bundleGzip(expected)));
      // The installer's unbundle writes every file with its mode (test/unit/merge.test.ts runs the shell part itself,
      // end to end)
      const un = unbundleWithInstaller(readFileSync(bundle), path.join(workdir, "root"));
      assert.equal(un.status, 0, un.stderr);
      for (const f of expected) {
        assert.equal(readFileSync(path.join(workdir, "root", f.path), "utf8"), f.content, f.path);
        assert.equal(statSync(path.join(workdir, "root", f.path)).mode & 0o777, parseInt(f.permissions, 8), f.path);
      }
      assert.deepEqual(expected.map((f) => f.path), [
        "/etc/soci-eks/install.env",
        "/etc/soci-eks/soci-snapshotter-grpc.toml",
        "/usr/local/libexec/soci-eks/setup-soci.sh",
        "/usr/local/libexec/soci-eks/nodeadm-soci.yaml",
        "/usr/local/libexec/soci-eks/containerd-soci.conf",
        "/etc/systemd/system/soci-snapshotter.service",
        "/etc/systemd/system/soci-snapshotter.socket",
        "/etc/systemd/system/soci-eks-install.service",
        ...(mode === "lazy"
          ? ["/usr/local/libexec/soci-eks/soci-store-gc.sh", "/etc/systemd/system/soci-eks-store-gc.service", "/etc/systemd/system/soci-eks-store-gc.timer"]
          : []),
      ]);
    });
  }

  it("off: only a NodeConfig, nothing for cloud-init to run", () => {
    const { status, report, stderr } = consume(renderUserData("al2023", bootstrapOptions({ mode: "off" })).text);
    assert.equal(status, 0, stderr);
    assert.deepEqual(report!.scripts, []);
    assert.deepEqual(report!.write_files, []);
  });

  it("rejects a cloud-config that cloud-init's schema refuses (the check can fail)", () => {
    const bad = assembleMime([{ contentType: "text/cloud-config", content: "#cloud-config\nwrite_files:\n  - content: x\n" }]);
    const { status, stderr } = consume(bad);
    assert.notEqual(status, 0);
    assert.match(stderr, /SchemaValidationError|path/);
  });
});
