import { strict as assert } from "assert";
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import * as path from "path";
import { gunzipSync, gzipSync } from "zlib";
import { after, describe, it } from "node:test";
import { bundleGzip, readBundle } from "../../userdata/bundle";
import { unbundleWithInstaller } from "../helpers/userdata";

const FILES = [
  { path: "/etc/soci-eks/install.env", content: "SOCI_EKS_MODE='lazy'\n", permissions: "0644" },
  { path: "/usr/local/libexec/soci-eks/x.sh", content: "#!/usr/bin/env bash\necho 'two\n\nlines, a trailing blank'\n\n", permissions: "0755" },
  { path: "/etc/systemd/system/soci-snapshotter.service", content: "[Unit]\nDescription=ünïcode bytes\n", permissions: "0644" },
  { path: "/usr/local/libexec/soci-eks/empty", content: "", permissions: "0600" },
];

describe("bundleGzip: the node-files bundle, as the installer's unbundle writes it", () => {
  const work = mkdtempSync(path.join(tmpdir(), "soci-eks-bundle-test-"));
  after(() => rmSync(work, { recursive: true, force: true }));
  let n = 0;
  const root = () => {
    const r = path.join(work, `root-${++n}`);
    mkdirSync(r, { recursive: true });
    return r;
  };

  it("every file byte for byte with its mode, through the installer's own unbundle (bash)", () => {
    const r = root();
    const run = unbundleWithInstaller(bundleGzip(FILES), r);
    assert.equal(run.status, 0, run.stderr);
    for (const f of FILES) {
      assert.ok(readFileSync(path.join(r, f.path)).equals(Buffer.from(f.content)), f.path);
      assert.equal(statSync(path.join(r, f.path)).mode & 0o777, parseInt(f.permissions, 8), f.path);
    }
    assert.deepEqual(readFileSync(path.join(r, "run/soci-eks/unbundled"), "utf8").trim().split("\n"), FILES.map((f) => path.join(r, f.path)));
    assert.deepEqual(readBundle(bundleGzip(FILES), gunzipSync).map((e) => [e.path, e.permissions, e.content.toString()]), FILES.map((f) => [f.path, f.permissions, f.content]));
  });

  it("replaces a symlink of the same name (the AMI's units) without touching its target", () => {
    const r = root();
    const unit = path.join(r, "etc/systemd/system/soci-snapshotter.service");
    mkdirSync(path.dirname(unit), { recursive: true });
    writeFileSync(path.join(r, "ami-unit"), "the AMI's\n");
    symlinkSync(path.join(r, "ami-unit"), unit);
    assert.equal(unbundleWithInstaller(bundleGzip(FILES), r).status, 0);
    assert.equal(lstatSync(unit).isSymbolicLink(), false);
    assert.equal(readFileSync(path.join(r, "ami-unit"), "utf8"), "the AMI's\n");
  });

  it("fails on a bundle whose last file is cut short (the check can fail)", () => {
    const raw = gunzipSync(bundleGzip(FILES));
    const r = root();
    const run = unbundleWithInstaller(gzipSync(raw.subarray(0, raw.length - 5)), r);
    assert.notEqual(run.status, 0);
  });

  it("is deterministic, and refuses paths it could not carry", () => {
    assert.ok(bundleGzip(FILES).equals(bundleGzip(FILES.map((f) => ({ ...f })))));
    assert.ok(!bundleGzip(FILES).equals(bundleGzip([{ ...FILES[0], content: "SOCI_EKS_MODE='lazx'\n" }, ...FILES.slice(1)])));
    const bad: [string, string][] = [["etc/relative", "0644"], ["/with space", "0644"], ["/a/../b", "0644"], ["/a//b", "0644"], ["/ok", "644"], ["/ok", "0999"]];
    for (const [p, mode] of bad) assert.throws(() => bundleGzip([{ path: p, content: "x", permissions: mode }]), /bundle:/, `${p} ${mode}`);
    assert.throws(() => bundleGzip([FILES[0], FILES[0]]), /appears twice/);
    assert.throws(() => bundleGzip([{ path: "/nul", content: Buffer.from([1, 0, 2]), permissions: "0644" }]), /NUL/);
    assert.equal(existsSync(path.join(work, "nothing")), false);
  });
});
