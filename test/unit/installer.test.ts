import { strict as assert } from "assert";
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, statSync, truncateSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import * as path from "path";
import { after, before, describe, it } from "node:test";
import { parse as parseYaml } from "yaml";
import { parse as parseToml } from "smol-toml";
import { bootstrapOptions } from "../helpers/options";
import { editNodeFiles, killAllWithEnv, prepareRoot, processesWithEnv, replaceInNodeFiles, runBash, snapshot } from "../helpers/installer";
import { spawn } from "child_process";
import { fakeReleaseTarball, imdsHandler, LoopbackServer, sha256 } from "../helpers/mirror";
import { mirrorShapeProblems } from "../../validation/mirrorTrust";

const VERSION = "0.16.1";
const ASSET = `soci-snapshotter-${VERSION}-linux-amd64.tar.gz`;
const tarball = fakeReleaseTarball(VERSION);
const digest = sha256(tarball);
/** The release settings of a document for amd64 nodes that pins `pinned` (the tarball's digest unless given). */
const release = (mirrorBaseUrl: string, pinned = digest) => ({ version: VERSION, mirrorBaseUrl, sha256: { amd64: pinned } });
/** A tarball with the same layout whose bytes differ: what a compromised mirror would serve. */
const replaced = fakeReleaseTarball(`${VERSION}-replaced`);

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
    // A mirror whose tarball was replaced together with its .sha256sum, which then matches the replaced bytes.
    badMirror.serve(`/v${VERSION}/${ASSET}`, replaced);
    badMirror.serve(`/v${VERSION}/${ASSET}.sha256sum`, `${sha256(replaced)}  ${ASSET}\n`);
    mirrorUrl = await mirror.start();
    badMirrorUrl = await badMirror.start();
    env = { AWS_EC2_METADATA_SERVICE_ENDPOINT: await imds.start(), SOCI_EKS_RETRY_BASE_DELAY: "0" };
  });

  after(async () => {
    await Promise.all([mirror.stop(), badMirror.stop(), imds.stop()]);
    for (const r of roots) rmSync(r, { recursive: true, force: true });
  });

  it("installs a good release, verified against the digest in the user data (nothing else fetched), and a second run changes nothing", async () => {
    const root = newRoot();
    const opts = bootstrapOptions({
      release: release(mirrorUrl),
      extraEcrRegistries: ["444455556666.dkr.ecr.eu-west-1.amazonaws.com"],
    });
    const script = await prepareRoot(root, opts);
    const first = await runBash(script, { ...env, SOCI_EKS_ROOT: root });
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stderr, new RegExp(`sha256 ${digest} verified`));
    assert.deepEqual([...mirror.requests.keys()].filter((k) => k.endsWith(".sha256sum")), [], "no checksum is fetched from the mirror");
    for (const bin of ["soci", "soci-snapshotter-grpc"]) {
      const p = path.join(root, "usr/local/bin", bin);
      assert.equal(statSync(p).mode & 0o777, 0o755);
    }
    assert.equal(readFileSync(path.join(root, "var/lib/soci-eks/installed-release"), "utf8"), `${ASSET} sha256:${digest}\n`);
    assertWired(root);
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

  it("downloads from a mirror on a bracketed IPv6 literal (http://[::1]:port), as validation accepts it", async () => {
    // IPv6 loopback must be up: a machine without it fails here rather than skipping.
    const v6 = new LoopbackServer();
    v6.serve(`/v${VERSION}/${ASSET}`, tarball);
    const base = await v6.start("::1");
    try {
      assert.match(base, /^http:\/\/\[::1\]:\d+$/);
      assert.deepEqual(mirrorShapeProblems(`${base}/soci`, (k) => k), [], "validation accepts the URL");
      const root = newRoot();
      const script = await prepareRoot(root, bootstrapOptions({ release: release(base) }));
      const run = await runBash(script, { ...env, SOCI_EKS_ROOT: root });
      assert.equal(run.code, 0, run.stderr);
      assert.equal(v6.requests.get(`/v${VERSION}/${ASSET}`), 1);
      assert.match(run.stderr, new RegExp(`downloading http://\\[::1\\]:\\d+/v${VERSION.replace(/\./g, "\\.")}/`));
      assertWired(root);
    } finally {
      await v6.stop();
    }
  });

  it("logs a mirror URL without anything up to its last @ (an install.env written by hand)", async () => {
    const root = newRoot();
    // Validation refuses such a URL; the renderer is called directly, as a hand-edited install.env would read.
    const withCredentials = mirrorUrl.replace("http://", "http://user:s3cretTOK@");
    const script = await prepareRoot(root, bootstrapOptions({ release: release(withCredentials) }));
    const run = await runBash(script, { ...env, SOCI_EKS_ROOT: root });
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stderr, /downloading 127\.0\.0\.1:\d+\/v0\.16\.1\//);
    assert.doesNotMatch(run.stderr, /s3c|retTOK|user:/, run.stderr);
  });

  it("downloads again when an installed binary is gone", async () => {
    const root = newRoot();
    const script = await prepareRoot(root, bootstrapOptions({ release: release(mirrorUrl) }));
    assert.equal((await runBash(script, { ...env, SOCI_EKS_ROOT: root })).code, 0);
    const downloads = mirror.requests.get(`/v${VERSION}/${ASSET}`) ?? 0;
    rmSync(path.join(root, "usr/local/bin/soci-snapshotter-grpc"));
    const run = await runBash(script, { ...env, SOCI_EKS_ROOT: root });
    assert.equal(run.code, 0, run.stderr);
    assert.doesNotMatch(run.stderr, /already installed/);
    assert.equal(mirror.requests.get(`/v${VERSION}/${ASSET}`), downloads + 1);
    assert.match(readFileSync(path.join(root, "usr/local/bin/soci-snapshotter-grpc"), "utf8"), /stand-in/);
  });

  it("refuses a replaced tarball whose mirror serves a matching .sha256sum, installing nothing, and falls back (default policy)", async () => {
    const root = newRoot();
    const script = await prepareRoot(root, bootstrapOptions({ release: release(badMirrorUrl) }));
    const run = await runBash(script, { ...env, SOCI_EKS_ROOT: root });
    assert.equal(run.code, 0, "fallback: the failure is handled and the node joins without SOCI");
    assert.match(run.stderr, new RegExp(`checksum-mismatch: ${ASSET.replace(/\./g, "\\.")} has sha256 ${sha256(replaced)}, not the pinned ${digest}`));
    assert.equal(badMirror.requests.get(`/v${VERSION}/${ASSET}.sha256sum`), undefined, "the mirror's checksum is never fetched");
    assert.match(run.stderr, /DEGRADED \(onSociFailure=fallback\): checksum-mismatch: .*labelled soci-eks\/degraded=checksum-mismatch\. Fix: /);
    assert.equal(existsSync(path.join(root, "usr/local/bin/soci-snapshotter-grpc")), false);
    assert.equal(existsSync(path.join(root, "var/lib/soci-eks/installed-release")), false);
    assertFellBack(root, "checksum-mismatch");
  });

  /**
   * The fallback's traces in a throwaway root: the nodeadm drop-in (a symlink to this boot's state in /run), read
   * by the real nodeadm in the lab; no SOCI wiring anywhere.
   */
  function assertFellBack(root: string, reason: string): void {
    const marker = readFileSync(path.join(root, "run/soci-eks/degraded"), "utf8");
    assert.match(marker, new RegExp(`^reason=${reason}\npolicy=fallback\nmessage=.+\nfix=.+\n$`));
    assert.equal(readFileSync(path.join(root, "var/lib/soci-eks/degraded"), "utf8"), marker, "a copy of the marker on disk");
    const dropIn = parseYaml(readFileSync(path.join(root, "etc/eks/nodeadm.d/90-soci-eks.yaml"), "utf8"));
    assert.equal(dropIn.kind, "NodeConfig");
    assert.deepEqual(dropIn.spec.featureGates, { FastImagePull: false });
    assert.deepEqual(dropIn.spec.kubelet.flags, [`--node-labels=soci-eks/degraded=${reason},soci-eks/mode=off`]);
    assert.deepEqual(dropIn.spec.kubelet.config.registerWithTaints, [{ key: "soci-eks/degraded", value: reason, effect: "PreferNoSchedule" }]);
    assert.equal(dropIn.spec.containerd, undefined, "the user data keeps CRI on overlayfs; nothing to undo");
    assert.equal(dropIn.spec.kubelet.config.imageServiceEndpoint, undefined);
    assertNotWired(root);
    assert.equal(existsSync(path.join(root, "run/systemd/system/kubelet.service.d/05-soci-eks-failed.conf")), false);
  }

  /** No SOCI wiring: neither the drop-in nor containerd's ordering on SOCI. */
  function assertNotWired(root: string): void {
    const target = path.join(root, "run/soci-eks/nodeadm.yaml");
    if (existsSync(target)) assert.doesNotMatch(readFileSync(target, "utf8"), /snapshotter = "soci"|imageServiceEndpoint: unix:\/\/\/run\/soci/);
    assert.equal(existsSync(path.join(root, "run/systemd/system/containerd.service.d/10-soci-eks.conf")), false);
  }

  /** The SOCI wiring, handed to nodeadm-run only after a successful run. */
  function assertWired(root: string): void {
    assert.equal(lstatSync(path.join(root, "etc/eks/nodeadm.d/90-soci-eks.yaml")).isSymbolicLink(), true);
    assert.equal(readlinkSync(path.join(root, "etc/eks/nodeadm.d/90-soci-eks.yaml")), path.join(root, "run/soci-eks/nodeadm.yaml"));
    const wiring = parseYaml(readFileSync(path.join(root, "run/soci-eks/nodeadm.yaml"), "utf8"));
    assert.equal(wiring.spec.kubelet.config.imageServiceEndpoint, "unix:///run/soci-snapshotter-grpc/soci-snapshotter-grpc.sock");
    assert.equal((parseToml(wiring.spec.containerd.config) as any).plugins["io.containerd.cri.v1.images"].snapshotter, "soci");
    assert.match(readFileSync(path.join(root, "run/systemd/system/containerd.service.d/10-soci-eks.conf"), "utf8"), /^Requires=soci-snapshotter\.socket$/m);
    for (const gone of ["run/soci-eks/degraded", "run/soci-eks/failed", "var/lib/soci-eks/degraded", "run/systemd/system/kubelet.service.d/05-soci-eks-failed.conf"]) {
      assert.equal(existsSync(path.join(root, gone)), false, gone);
    }
  }

  it("onSociFailure fail: exits 1, holds kubelet back with the cause, writes no fallback drop-in", async () => {
    const root = newRoot();
    const script = await prepareRoot(root, bootstrapOptions({ release: release(badMirrorUrl), onSociFailure: "fail" }));
    const run = await runBash(script, { ...env, SOCI_EKS_ROOT: root });
    assert.equal(run.code, 1);
    assert.match(run.stderr, /FAILED \(onSociFailure=fail\): checksum-mismatch: .*kubelet will not start; the node never joins\. Fix: /);
    assert.match(readFileSync(path.join(root, "run/soci-eks/failed"), "utf8"), /^reason=checksum-mismatch\npolicy=fail\n/);
    assert.match(readFileSync(path.join(root, "var/lib/soci-eks/failed"), "utf8"), /^reason=checksum-mismatch\npolicy=fail\n/);
    // A runtime drop-in (/run): it holds for this boot; the installer decides again at the next one.
    const hold = readFileSync(path.join(root, "run/systemd/system/kubelet.service.d/05-soci-eks-failed.conf"), "utf8");
    assert.match(hold, /^ExecStartPre=\/bin\/sh -c 'cat \/run\/soci-eks\/failed >&2; .*exit 1'$/m);
    const dropIn = parseYaml(readFileSync(path.join(root, "etc/eks/nodeadm.d/90-soci-eks.yaml"), "utf8"));
    assert.deepEqual(dropIn.spec, {}, "nothing for nodeadm-run to change: kubelet is held");
    assertNotWired(root);
    assert.equal(existsSync(path.join(root, "usr/local/bin/soci-snapshotter-grpc")), false);
  });

  it("a later clean run removes an earlier run's fallback", async () => {
    const root = newRoot();
    const script = await prepareRoot(root, bootstrapOptions({ release: release(badMirrorUrl) }));
    assert.equal((await runBash(script, { ...env, SOCI_EKS_ROOT: root })).code, 0);
    assertFellBack(root, "checksum-mismatch");
    replaceInNodeFiles(root, "etc/soci-eks/install.env", /^SOCI_EKS_MIRROR_BASE_URL='.*'$/m, `SOCI_EKS_MIRROR_BASE_URL='${mirrorUrl}'`);
    const run = await runBash(script, { ...env, SOCI_EKS_ROOT: root });
    assert.equal(run.code, 0, run.stderr);
    assert.equal(existsSync(path.join(root, "usr/local/bin/soci-snapshotter-grpc")), true);
    assertWired(root);
  });

  it("an instance-agnostic document's amd64=…,arm64=… digests: the node takes its architecture's", async () => {
    const root = newRoot();
    const script = await prepareRoot(root, bootstrapOptions({ release: { version: VERSION, mirrorBaseUrl: mirrorUrl, sha256: { amd64: digest, arm64: "f".repeat(64) } } }));
    replaceInNodeFiles(root, "etc/soci-eks/install.env", /^SOCI_EKS_SOCI_SHA256='[0-9a-f]{64}'$/m, `SOCI_EKS_SOCI_SHA256='arm64=${"f".repeat(64)},amd64=${digest}'`);
    const run = await runBash(script, { ...env, SOCI_EKS_ROOT: root });
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stderr, new RegExp(`sha256 ${digest} verified`));
    assertWired(root);
  });

  for (const policy of ["fallback", "fail"] as const) {
    it(`no digest for the node's architecture in the user data: nothing downloaded, onSociFailure=${policy} (digest-missing)`, async () => {
      const root = newRoot();
      const script = await prepareRoot(root, bootstrapOptions({ release: release(mirrorUrl), onSociFailure: policy }));
      replaceInNodeFiles(root, "etc/soci-eks/install.env", /^SOCI_EKS_SOCI_SHA256='[0-9a-f]{64}'$/m, `SOCI_EKS_SOCI_SHA256='arm64=${digest}'`);
      const downloads = mirror.requests.get(`/v${VERSION}/${ASSET}`) ?? 0;
      const run = await runBash(script, { ...env, SOCI_EKS_ROOT: root });
      assert.equal(run.code, policy === "fail" ? 1 : 0, run.stderr);
      assert.match(run.stderr, new RegExp(`digest-missing: no sha256 for ${ASSET.replace(/\./g, "\\.")} in .*install\\.env`));
      assert.equal(mirror.requests.get(`/v${VERSION}/${ASSET}`) ?? 0, downloads, "nothing downloaded");
      assert.equal(existsSync(path.join(root, "usr/local/bin/soci-snapshotter-grpc")), false);
      if (policy === "fallback") assertFellBack(root, "digest-missing");
      else assert.match(readFileSync(path.join(root, "run/soci-eks/failed"), "utf8"), /^reason=digest-missing\npolicy=fail\n/);
      assertNotWired(root);
    });
  }

  it("refuses the tarball when the pinned digest does not match", async () => {
    const root = newRoot();
    const wrong = "f".repeat(64);
    const script = await prepareRoot(root, bootstrapOptions({ release: release(mirrorUrl, wrong) }));
    const run = await runBash(script, { ...env, SOCI_EKS_ROOT: root });
    assertFellBack(root, "checksum-mismatch");
    assert.match(run.stderr, new RegExp(`checksum-mismatch: .* has sha256 ${digest}, not the pinned ${wrong}`));
    assert.equal(existsSync(path.join(root, "usr/local/bin/soci")), false);
  });

  it("re-installs when the pinned digest changes", async () => {
    const root = newRoot();
    const script = await prepareRoot(root, bootstrapOptions({ release: release(mirrorUrl) }));
    assert.equal((await runBash(script, { ...env, SOCI_EKS_ROOT: root })).code, 0);
    const downloads = mirror.requests.get(`/v${VERSION}/${ASSET}`) ?? 0;
    replaceInNodeFiles(root, "etc/soci-eks/install.env", /^SOCI_EKS_SOCI_SHA256='[0-9a-f]{64}'$/m, `SOCI_EKS_SOCI_SHA256='${"e".repeat(64)}'`);
    const run = await runBash(script, { ...env, SOCI_EKS_ROOT: root });
    assert.match(run.stderr, /checksum-mismatch/, "a different pinned digest must trigger a fresh, verified download");
    assert.equal(mirror.requests.get(`/v${VERSION}/${ASSET}`), downloads + 1);
  });

  it("applies the policy the shell part passed when the node's files lack install.env", async () => {
    for (const policy of ["fallback", "fail"] as const) {
      const root = newRoot();
      const script = await prepareRoot(root, bootstrapOptions({ release: release(mirrorUrl), onSociFailure: policy }));
      editNodeFiles(root, (entries) => entries.filter((e) => e.path !== "/etc/soci-eks/install.env"));
      const run = await runBash(script, { ...env, SOCI_EKS_ROOT: root });
      assert.match(run.stderr, /config-missing: .*install\.env is missing/);
      if (policy === "fallback") assertFellBack(root, "config-missing");
      else assert.match(readFileSync(path.join(root, "run/soci-eks/failed"), "utf8"), /^reason=config-missing\npolicy=fail\n/);
    }
  });

  it("still installs when IMDS is unreachable, giving the helper only the extra registries", async () => {
    const root = newRoot();
    const opts = bootstrapOptions({
      release: release(mirrorUrl),
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

  describe("the node-files archive cannot be unpacked: the installer (outside the archive) applies the policy", () => {
    const damages: [string, string, (file: string) => void][] = [
      ["16 bytes zeroed mid-archive", "node-files-corrupt", (f) => {
        const b = readFileSync(f);
        b.fill(0, Math.floor(b.length / 2), Math.floor(b.length / 2) + 16);
        writeFileSync(f, b);
      }],
      ["cut to half", "node-files-corrupt", (f) => truncateSync(f, Math.floor(statSync(f).size / 2))],
      ["gzip trailer cut (every member intact)", "node-files-corrupt", (f) => truncateSync(f, statSync(f).size - 8)],
      ["missing", "node-files-missing", (f) => rmSync(f)],
    ];
    for (const [what, reason, damage] of damages) {
      for (const policy of ["fallback", "fail"] as const) {
        it(`${what}, onSociFailure=${policy}: ${policy === "fail" ? "kubelet held" : "degraded"} (${reason}), nothing of the archive on the node`, async () => {
          const root = newRoot();
          const script = await prepareRoot(root, bootstrapOptions({ release: release(mirrorUrl), onSociFailure: policy }));
          damage(path.join(root, "usr/local/libexec/soci-eks/node-files.gz"));
          const run = await runBash(script, { ...env, SOCI_EKS_ROOT: root });
          assert.equal(run.code, policy === "fail" ? 1 : 0, run.stderr);
          assert.equal(existsSync(path.join(root, "etc/soci-eks/soci-snapshotter-grpc.toml")), false, "no member unpacked");
          assert.equal(existsSync(path.join(root, "etc/systemd/system/soci-snapshotter.service")), false);
          assert.doesNotMatch(run.stderr, /downloading /, "nothing downloaded");
          if (policy === "fail") {
            assert.match(run.stderr, new RegExp(`FAILED \\(onSociFailure=fail\\): ${reason}: `));
            assert.match(readFileSync(path.join(root, "run/soci-eks/failed"), "utf8"), new RegExp(`^reason=${reason}\n`));
            assert.equal(existsSync(path.join(root, "run/systemd/system/kubelet.service.d/05-soci-eks-failed.conf")), true);
            assertNotWired(root);
          } else {
            assert.match(run.stderr, new RegExp(`DEGRADED \\(onSociFailure=fallback\\): ${reason}: `));
            assertFellBack(root, reason);
            // No soci-eks-install.service redoes this at the next boot: the degraded drop-in is kept on disk.
            assert.equal(lstatSync(path.join(root, "etc/eks/nodeadm.d/90-soci-eks.yaml")).isFile(), true);
          }
        });
      }
    }
  });

  for (const policy of ["fallback", "fail"] as const) {
    it(`a command failing inside an installer function reaches the ERR trap (set -E), onSociFailure=${policy}`, async () => {
      const root = newRoot();
      const script = await prepareRoot(root, bootstrapOptions({ release: release(mirrorUrl), onSociFailure: policy }));
      // write_docker_config's `mkdir -p /root/.docker` fails: a file is in the way.
      mkdirSync(path.join(root, "root"), { recursive: true });
      writeFileSync(path.join(root, "root/.docker"), "in the way\n");
      const run = await runBash(script, { ...env, SOCI_EKS_ROOT: root });
      assert.equal(run.code, policy === "fail" ? 1 : 0, run.stderr);
      assert.match(run.stderr, /installer-error: line \d+: mkdir -p "\$\{DOCKER_CONFIG_FILE%\/\*\}" failed/);
      assert.match(readFileSync(path.join(root, `run/soci-eks/${policy === "fail" ? "failed" : "degraded"}`), "utf8"), /^reason=installer-error\n/);
      assertNotWired(root);
    });
  }

  it("a mirror that stalls is cut at the minimum rate and given up at the overall deadline", async () => {
    const stall = new LoopbackServer((_req, res) => {
      res.writeHead(200, { "Content-Length": 50_000_000 });
      res.write(Buffer.alloc(1000)); // then nothing: the connection stays open
      return true;
    });
    const url = await stall.start();
    try {
      const root = newRoot();
      const script = await prepareRoot(root, bootstrapOptions({ release: release(url) }));
      const t0 = Date.now();
      const run = await runBash(script, {
        ...env, SOCI_EKS_ROOT: root, SOCI_EKS_DOWNLOAD_DEADLINE: "6", SOCI_EKS_DOWNLOAD_SPEED_TIME: "2", SOCI_EKS_DOWNLOAD_MIN_RATE: "10000",
      });
      const seconds = (Date.now() - t0) / 1000;
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stderr, /download deadline \(6s\) reached/);
      assert.match(run.stderr, /Will retry/, "curl cut a stalled attempt and tried again");
      assert.match(run.stderr, /DEGRADED \(onSociFailure=fallback\): download-failed: could not download .* within 6s/);
      assert.ok(seconds < 15, `gave up after ${seconds} s (deadline 6 s)`);
      assert.ok((stall.requests.get(`/v${VERSION}/${ASSET}`) ?? 0) >= 2, "a stalled attempt is cut and retried within the deadline");
      assertFellBack(root, "download-failed");
    } finally {
      await stall.stop();
    }
  });

  for (const policy of ["fallback", "fail"] as const) {
    it(`an installer killed mid-run leaves onSociFailure=${policy}'s state for this boot, never the wiring`, async () => {
      const stall = new LoopbackServer((_req, res) => {
        res.writeHead(200, { "Content-Length": 50_000_000 });
        res.write(Buffer.alloc(1000));
        return true;
      });
      const url = await stall.start();
      try {
        const root = newRoot();
        const script = await prepareRoot(root, bootstrapOptions({ release: release(url), onSociFailure: policy }));
        const child = spawn("bash", [script], { env: { ...process.env, ...env, SOCI_EKS_ROOT: root }, stdio: ["ignore", "ignore", "pipe"] });
        let stderr = "";
        await new Promise<void>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`the installer never started its download: ${stderr}`)), 30_000);
          child.stderr.on("data", (d) => {
            stderr += d.toString();
            if (stderr.includes("downloading ")) {
              clearTimeout(timer);
              resolve();
            }
          });
        });
        const closed = new Promise((resolve) => child.on("close", resolve));
        // as systemd kills a unit (its whole cgroup): every process of this install
        killAllWithEnv("SOCI_EKS_ROOT", root);
        await closed;
        assert.deepEqual(processesWithEnv("SOCI_EKS_ROOT", root), []);
        assertNotWired(root);
        if (policy === "fail") {
          assert.match(readFileSync(path.join(root, "run/soci-eks/failed"), "utf8"), /^reason=not-verified\n/);
          assert.equal(existsSync(path.join(root, "run/systemd/system/kubelet.service.d/05-soci-eks-failed.conf")), true);
        } else {
          const dropIn = parseYaml(readFileSync(path.join(root, "etc/eks/nodeadm.d/90-soci-eks.yaml"), "utf8"));
          assert.deepEqual(dropIn.spec.kubelet.flags, ["--node-labels=soci-eks/degraded=not-verified,soci-eks/mode=off"]);
        }
      } finally {
        await stall.stop();
      }
    });
  }

  it("the degraded drop-in keeps the taints nodeadm-config rendered (EKS's, Karpenter's) and extends a --register-with-taints flag", async () => {
    const root = newRoot();
    const script = await prepareRoot(root, bootstrapOptions({ release: release(badMirrorUrl) }));
    mkdirSync(path.join(root, "etc/kubernetes/kubelet/config.json.d"), { recursive: true });
    writeFileSync(path.join(root, "etc/kubernetes/kubelet/config.json"), JSON.stringify({ kind: "KubeletConfiguration" }));
    writeFileSync(path.join(root, "etc/kubernetes/kubelet/config.json.d/40-nodeadm.conf"), JSON.stringify({
      registerWithTaints: [{ key: "karpenter.sh/unregistered", effect: "NoExecute" }, { key: "team", value: "a", effect: "NoSchedule" }],
    }));
    mkdirSync(path.join(root, "etc/eks/kubelet"), { recursive: true });
    writeFileSync(path.join(root, "etc/eks/kubelet/environment"), 'NODEADM_KUBELET_ARGS="--node-ip=10.0.0.1 --register-with-taints=gpu=yes:NoSchedule"\n');
    const run = await runBash(script, { ...env, SOCI_EKS_ROOT: root });
    assert.equal(run.code, 0, run.stderr);
    const dropIn = parseYaml(readFileSync(path.join(root, "etc/eks/nodeadm.d/90-soci-eks.yaml"), "utf8"));
    assert.deepEqual(dropIn.spec.kubelet.config.registerWithTaints, [
      { key: "karpenter.sh/unregistered", effect: "NoExecute" },
      { key: "team", value: "a", effect: "NoSchedule" },
      { key: "soci-eks/degraded", value: "checksum-mismatch", effect: "PreferNoSchedule" },
    ]);
    assert.deepEqual(dropIn.spec.kubelet.flags, [
      "--node-labels=soci-eks/degraded=checksum-mismatch,soci-eks/mode=off",
      "--register-with-taints=gpu=yes:NoSchedule,soci-eks/degraded=checksum-mismatch:PreferNoSchedule",
    ]);
  });

});
