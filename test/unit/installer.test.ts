import { strict as assert } from "assert";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "fs";
import { tmpdir } from "os";
import * as path from "path";
import { after, before, describe, it } from "node:test";
import { parse as parseYaml } from "yaml";
import { parse as parseToml } from "smol-toml";
import { bootstrapOptions } from "../helpers/options";
import { prepareRoot, replaceInFile, runBash, snapshot } from "../helpers/installer";
import { fakeReleaseTarball, imdsHandler, LoopbackServer, sha256 } from "../helpers/mirror";

const VERSION = "0.16.1";
const ASSET = `soci-snapshotter-${VERSION}-linux-amd64.tar.gz`;
const tarball = fakeReleaseTarball(VERSION);
const digest = sha256(tarball);

describe("installer script, run by bash in a throwaway root against a loopback mirror", () => {
  const mirror = new LoopbackServer();
  const badMirror = new LoopbackServer();
  const imds = new LoopbackServer(imdsHandler("111122223333", "us-west-2"));
  let mirrorUrl = "";
  let badMirrorUrl = "";
  let env: Record<string, string> = {};
  const roots: string[] = [];

  const newRoot = (): string => {
    const root = mkdtempSync(path.join(tmpdir(), "soci-eks-root-"));
    roots.push(root);
    return root;
  };

  before(async () => {
    mirror.serve(`/v${VERSION}/${ASSET}`, tarball);
    mirror.serve(`/v${VERSION}/${ASSET}.sha256sum`, `${digest}  ${ASSET}\n`);
    badMirror.serve(`/v${VERSION}/${ASSET}`, tarball);
    badMirror.serve(`/v${VERSION}/${ASSET}.sha256sum`, `${"0".repeat(64)}  ${ASSET}\n`);
    mirrorUrl = await mirror.start();
    badMirrorUrl = await badMirror.start();
    env = { AWS_EC2_METADATA_SERVICE_ENDPOINT: await imds.start(), SOCI_EKS_RETRY_BASE_DELAY: "0" };
  });

  after(async () => {
    await Promise.all([mirror.stop(), badMirror.stop(), imds.stop()]);
    for (const r of roots) rmSync(r, { recursive: true, force: true });
  });

  it("installs a good release, verified against its published .sha256sum, and a second run changes nothing", async () => {
    const root = newRoot();
    const opts = bootstrapOptions({
      release: { version: VERSION, mirrorBaseUrl: mirrorUrl },
      extraEcrRegistries: ["444455556666.dkr.ecr.eu-west-1.amazonaws.com"],
    });
    const script = await prepareRoot(root, opts);
    const first = await runBash(script, { ...env, SOCI_EKS_ROOT: root });
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stderr, /verifying against the published soci-snapshotter-0\.16\.1-linux-amd64\.tar\.gz\.sha256sum/);
    assert.match(first.stderr, new RegExp(`sha256 ${digest} verified`));
    for (const bin of ["soci", "soci-snapshotter-grpc"]) {
      const p = path.join(root, "usr/local/bin", bin);
      assert.equal(statSync(p).mode & 0o777, 0o755);
    }
    assert.equal(readFileSync(path.join(root, "var/lib/soci-eks/installed-release"), "utf8"), `${ASSET} sha256:${digest}\n`);
    const docker = JSON.parse(readFileSync(path.join(root, "root/.docker/config.json"), "utf8"));
    assert.deepEqual(docker.credHelpers, {
      "111122223333.dkr.ecr.us-west-2.amazonaws.com": "ecr-login",
      "444455556666.dkr.ecr.eu-west-1.amazonaws.com": "ecr-login",
    });
    assert.equal(statSync(path.join(root, "root/.docker/config.json")).mode & 0o777, 0o600);
    assert.equal(mirror.requests.get(`/v${VERSION}/${ASSET}`), 1);

    const before = snapshot(root);
    const binMtime = statSync(path.join(root, "usr/local/bin/soci-snapshotter-grpc")).mtimeMs;
    const requestsBefore = mirror.totalRequests();
    const second = await runBash(script, { ...env, SOCI_EKS_ROOT: root });
    assert.equal(second.code, 0, second.stderr);
    assert.match(second.stderr, /is already installed; skipping download/);
    assert.deepEqual(snapshot(root), before);
    assert.equal(statSync(path.join(root, "usr/local/bin/soci-snapshotter-grpc")).mtimeMs, binMtime);
    assert.equal(mirror.totalRequests(), requestsBefore, "the second run must not download anything");
  });

  it("refuses a tarball whose published checksum does not match, installing nothing, and falls back (default policy)", async () => {
    const root = newRoot();
    const script = await prepareRoot(root, bootstrapOptions({ release: { version: VERSION, mirrorBaseUrl: badMirrorUrl } }));
    const run = await runBash(script, { ...env, SOCI_EKS_ROOT: root });
    assert.equal(run.code, 0, "fallback: the failure is handled and the node joins without SOCI");
    assert.match(run.stderr, new RegExp(`checksum mismatch for ${ASSET.replace(/\./g, "\\.")}: expected 0{64}, got ${digest}; refusing to install`));
    assert.match(run.stderr, /DEGRADED \(onSociFailure=fallback\): checksum-mismatch: .*labelled soci-eks\/degraded=checksum-mismatch\. Fix: /);
    assert.equal(existsSync(path.join(root, "usr/local/bin/soci-snapshotter-grpc")), false);
    assert.equal(existsSync(path.join(root, "var/lib/soci-eks/installed-release")), false);
    assertFellBack(root, "checksum-mismatch");
  });

  /** The fallback's traces in a throwaway root; the NodeConfig drop-in is read by the real nodeadm in the lab. */
  function assertFellBack(root: string, reason: string): void {
    const marker = readFileSync(path.join(root, "var/lib/soci-eks/degraded"), "utf8");
    assert.match(marker, new RegExp(`^reason=${reason}\npolicy=fallback\nmessage=.+\nfix=.+\n$`));
    const dropIn = parseYaml(readFileSync(path.join(root, "etc/eks/nodeadm.d/90-soci-eks-fallback.yaml"), "utf8"));
    assert.equal(dropIn.kind, "NodeConfig");
    assert.deepEqual(dropIn.spec.featureGates, { FastImagePull: false });
    assert.deepEqual(dropIn.spec.kubelet, {
      config: { imageServiceEndpoint: "unix:///run/containerd/containerd.sock" },
      flags: [`--node-labels=soci-eks/degraded=${reason}`],
    });
    const cri = (parseToml(dropIn.spec.containerd.config) as any).plugins["io.containerd.cri.v1.images"];
    assert.deepEqual({ ...cri }, { snapshotter: "overlayfs", disable_snapshot_annotations: true });
    assert.equal(existsSync(path.join(root, "etc/systemd/system/containerd.service.d/10-soci-eks.conf")), false);
    assert.equal(existsSync(path.join(root, "etc/systemd/system/kubelet.service.d/05-soci-eks-failed.conf")), false);
  }

  it("onSociFailure fail: exits 1, holds kubelet back with the cause, writes no fallback drop-in", async () => {
    const root = newRoot();
    const script = await prepareRoot(root, bootstrapOptions({ release: { version: VERSION, mirrorBaseUrl: badMirrorUrl }, onSociFailure: "fail" }));
    const run = await runBash(script, { ...env, SOCI_EKS_ROOT: root });
    assert.equal(run.code, 1);
    assert.match(run.stderr, /FAILED \(onSociFailure=fail\): checksum-mismatch: .*kubelet will not start; the node never joins\. Fix: /);
    assert.match(readFileSync(path.join(root, "var/lib/soci-eks/failed"), "utf8"), /^reason=checksum-mismatch\npolicy=fail\n/);
    const hold = readFileSync(path.join(root, "etc/systemd/system/kubelet.service.d/05-soci-eks-failed.conf"), "utf8");
    assert.match(hold, /^ExecStartPre=\/bin\/sh -c 'cat \/var\/lib\/soci-eks\/failed >&2; .*exit 1'$/m);
    assert.equal(existsSync(path.join(root, "etc/eks/nodeadm.d/90-soci-eks-fallback.yaml")), false);
    assert.equal(existsSync(path.join(root, "usr/local/bin/soci-snapshotter-grpc")), false);
  });

  it("a later clean run removes an earlier run's fallback", async () => {
    const root = newRoot();
    const script = await prepareRoot(root, bootstrapOptions({ release: { version: VERSION, mirrorBaseUrl: badMirrorUrl } }));
    assert.equal((await runBash(script, { ...env, SOCI_EKS_ROOT: root })).code, 0);
    assertFellBack(root, "checksum-mismatch");
    replaceInFile(path.join(root, "etc/soci-eks/install.env"), /^SOCI_EKS_MIRROR_BASE_URL='.*'$/m, `SOCI_EKS_MIRROR_BASE_URL='${mirrorUrl}'`);
    const run = await runBash(script, { ...env, SOCI_EKS_ROOT: root });
    assert.equal(run.code, 0, run.stderr);
    assert.equal(existsSync(path.join(root, "usr/local/bin/soci-snapshotter-grpc")), true);
    assert.equal(existsSync(path.join(root, "etc/eks/nodeadm.d/90-soci-eks-fallback.yaml")), false);
    assert.equal(existsSync(path.join(root, "var/lib/soci-eks/degraded")), false);
  });

  it("uses a digest pinned in the user data instead of the published file", async () => {
    const root = newRoot();
    const mirrorOnlyTarball = new LoopbackServer();
    mirrorOnlyTarball.serve(`/v${VERSION}/${ASSET}`, tarball);
    const url = await mirrorOnlyTarball.start();
    try {
      const script = await prepareRoot(root, bootstrapOptions({ release: { version: VERSION, mirrorBaseUrl: url, sha256: digest } }));
      const run = await runBash(script, { ...env, SOCI_EKS_ROOT: root });
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stderr, /verifying against the sha256 pinned in the user data/);
      assert.equal(mirrorOnlyTarball.requests.get(`/v${VERSION}/${ASSET}.sha256sum`), undefined);
    } finally {
      await mirrorOnlyTarball.stop();
    }
  });

  it("refuses the tarball when the pinned digest does not match", async () => {
    const root = newRoot();
    const wrong = "f".repeat(64);
    const script = await prepareRoot(root, bootstrapOptions({ release: { version: VERSION, mirrorBaseUrl: mirrorUrl, sha256: wrong } }));
    const run = await runBash(script, { ...env, SOCI_EKS_ROOT: root });
    assertFellBack(root, "checksum-mismatch");
    assert.match(run.stderr, new RegExp(`checksum mismatch for .*: expected ${wrong}, got ${digest}`));
    assert.equal(existsSync(path.join(root, "usr/local/bin/soci")), false);
  });

  it("re-installs when the pinned digest changes", async () => {
    const root = newRoot();
    const script = await prepareRoot(root, bootstrapOptions({ release: { version: VERSION, mirrorBaseUrl: mirrorUrl } }));
    assert.equal((await runBash(script, { ...env, SOCI_EKS_ROOT: root })).code, 0);
    const downloads = mirror.requests.get(`/v${VERSION}/${ASSET}`) ?? 0;
    replaceInFile(path.join(root, "etc/soci-eks/install.env"), /^SOCI_EKS_SOCI_SHA256=''$/m, `SOCI_EKS_SOCI_SHA256='${"e".repeat(64)}'`);
    const run = await runBash(script, { ...env, SOCI_EKS_ROOT: root });
    assert.match(run.stderr, /checksum mismatch/, "a different pinned digest must trigger a fresh, verified download");
    assert.equal(mirror.requests.get(`/v${VERSION}/${ASSET}`), downloads + 1);
  });

  it("says so clearly when the cloud-config part did not run, and falls back (the policy is unknown: the default)", async () => {
    const root = newRoot();
    const script = await prepareRoot(root, bootstrapOptions({ release: { version: VERSION, mirrorBaseUrl: mirrorUrl } }));
    rmSync(path.join(root, "etc/soci-eks/install.env"));
    const run = await runBash(script, { ...env, SOCI_EKS_ROOT: root });
    assert.match(run.stderr, /install\.env is missing: the cloud-config part of the user data did not run/);
    assertFellBack(root, "config-missing");
  });

  it("still installs when IMDS is unreachable, giving the helper only the extra registries", async () => {
    const root = newRoot();
    const opts = bootstrapOptions({
      release: { version: VERSION, mirrorBaseUrl: mirrorUrl },
      extraEcrRegistries: ["444455556666.dkr.ecr.eu-west-1.amazonaws.com"],
    });
    const script = await prepareRoot(root, opts);
    const imdsDown = "http://127.0.0.1:9"; // discard port: connection refused at once
    const run = await runBash(script, { AWS_EC2_METADATA_SERVICE_ENDPOINT: imdsDown, SOCI_EKS_RETRY_BASE_DELAY: "0", SOCI_EKS_ROOT: root });
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stderr, /could not read the instance identity from IMDS/);
    const docker = JSON.parse(readFileSync(path.join(root, "root/.docker/config.json"), "utf8"));
    assert.deepEqual(docker.credHelpers, { "444455556666.dkr.ecr.eu-west-1.amazonaws.com": "ecr-login" });
  });
});
