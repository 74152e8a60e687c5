/**
 * Mutation checks: break the renderer or the installer the way a careless edit would,
 * and prove the same checks the suite relies on catch it. If one of these passes
 * with the mutation in place, the suite has a blind spot.
 */
import { strict as assert } from "assert";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "fs";
import { tmpdir } from "os";
import * as path from "path";
import { after, afterEach, before, describe, it } from "node:test";
import { stringify } from "smol-toml";
import * as containerdConfig from "../../userdata/containerdConfig";
import * as paths from "../../userdata/paths";
import { renderUserData } from "../../userdata";
import { bootstrapOptions } from "../helpers/options";
import { prepareRoot, runBash } from "../helpers/installer";
import { fakeReleaseTarball, LoopbackServer } from "../helpers/mirror";
import { REPO_ROOT, sociWiringProblems } from "../helpers/sociWiring";

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

describe("mutations of the renderer are caught", () => {
  const original = containerdConfig.renderContainerdSociConfig;
  const originalEndpoint = paths.SOCI_IMAGE_SERVICE_ENDPOINT;
  afterEach(() => {
    (containerdConfig as Mutable<typeof containerdConfig>).renderContainerdSociConfig = original;
    (paths as Mutable<typeof paths>).SOCI_IMAGE_SERVICE_ENDPOINT = originalEndpoint;
  });

  it("the unmutated renderer passes", async () => {
    assert.deepEqual(await sociWiringProblems(renderUserData("al2023", bootstrapOptions()).text, "lazy"), []);
  });

  it("removing the soci proxy plugin fails the wiring check", async () => {
    (containerdConfig as Mutable<typeof containerdConfig>).renderContainerdSociConfig = () => {
      const cfg = containerdConfig.containerdSociConfig();
      delete cfg.proxy_plugins;
      return stringify(cfg);
    };
    const problems = await sociWiringProblems(renderUserData("al2023", bootstrapOptions()).text, "lazy");
    assert.ok(problems.includes("soci proxy plugin missing or wrong"), problems.join("; "));
  });

  it("using containerd 1.x CRI keys fails the wiring check", async () => {
    (containerdConfig as Mutable<typeof containerdConfig>).renderContainerdSociConfig = () =>
      stringify({
        version: 2,
        plugins: { "io.containerd.grpc.v1.cri": { containerd: { snapshotter: "soci", disable_snapshot_annotations: false } } },
        proxy_plugins: containerdConfig.containerdSociConfig().proxy_plugins as Record<string, unknown>,
      });
    const problems = await sociWiringProblems(renderUserData("al2023", bootstrapOptions()).text, "lazy");
    assert.ok(problems.includes("containerd 1.x CRI keys on containerd 2.x"), problems.join("; "));
    assert.ok(problems.includes("containerd config is not version 3"), problems.join("; "));
  });

  it("dropping or misdirecting kubelet's imageServiceEndpoint fails the wiring check", async () => {
    (paths as Mutable<typeof paths>).SOCI_IMAGE_SERVICE_ENDPOINT = "unix:///run/containerd/containerd.sock";
    const problems = await sociWiringProblems(renderUserData("al2023", bootstrapOptions()).text, "lazy");
    assert.ok(problems.includes("kubelet imageServiceEndpoint does not point at SOCI"), problems.join("; "));
  });
});

describe("mutations of the installer are caught", () => {
  const VERSION = "0.16.1";
  const ASSET = `soci-snapshotter-${VERSION}-linux-amd64.tar.gz`;
  const mirror = new LoopbackServer();
  let url = "";
  const roots: string[] = [];
  before(async () => {
    mirror.serve(`/v${VERSION}/${ASSET}`, fakeReleaseTarball(VERSION));
    mirror.serve(`/v${VERSION}/${ASSET}.sha256sum`, `${"0".repeat(64)}  ${ASSET}\n`);
    url = await mirror.start();
  });
  after(async () => {
    await mirror.stop();
    for (const r of roots) rmSync(r, { recursive: true, force: true });
  });

  const installWithBadChecksum = async (scriptText?: string) => {
    const root = mkdtempSync(path.join(tmpdir(), "soci-eks-mut-"));
    roots.push(root);
    const script = await prepareRoot(root, bootstrapOptions({ release: { version: VERSION, mirrorBaseUrl: url } }), scriptText);
    const run = await runBash(script, { SOCI_EKS_ROOT: root, SOCI_EKS_RETRY_BASE_DELAY: "0", AWS_EC2_METADATA_SERVICE_ENDPOINT: "http://127.0.0.1:9" });
    return { ...run, installed: existsSync(path.join(root, "usr/local/bin/soci-snapshotter-grpc")) };
  };

  it("the real installer refuses a tarball whose checksum does not match", async () => {
    const run = await installWithBadChecksum();
    assert.equal(run.installed, false, run.stderr);
    assert.match(run.stderr, /DEGRADED \(onSociFailure=fallback\): checksum-mismatch/);
  });

  it("an installer without the checksum comparison would install it, so the check above can fail", async () => {
    const real = readFileSync(path.join(REPO_ROOT, "userdata/scripts/al2023-install-soci.sh"), "utf8");
    const mutated = real.replace(/if \[\[ "\$\{actual\}" != "\$\{expected\}" \]\]; then\n[\s\S]*?\n\s*fi\n/, "");
    assert.notEqual(mutated, real, "the mutation must find the checksum comparison to remove");
    const run = await installWithBadChecksum(mutated);
    assert.equal(run.installed, true, "without the comparison the bad tarball installs; the suite's mismatch test would fail");
  });
});
