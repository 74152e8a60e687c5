/**
 * Mutation checks: break the renderer or the installer the way a careless edit would,
 * and prove the same checks the suite relies on catch it. If one of these passes
 * with the mutation in place, the suite has a blind spot.
 */
import { strict as assert } from "assert";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import * as path from "path";
import { after, afterEach, before, describe, it } from "node:test";
import { stringify } from "smol-toml";
import * as containerdConfig from "../../userdata/containerdConfig";
import * as paths from "../../userdata/paths";
import { renderUserData } from "../../userdata";
import { bootstrapOptions } from "../helpers/options";
import { editNodeFiles, prepareRoot, runBash } from "../helpers/installer";
import { fakeReleaseTarball, LoopbackServer, sha256 } from "../helpers/mirror";
import { REPO_ROOT, sociWiringProblems } from "../helpers/sociWiring";

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

describe("mutations of the renderer are caught", () => {
  const original = containerdConfig.renderContainerdBaseConfig;
  const originalEndpoint = paths.SOCI_IMAGE_SERVICE_ENDPOINT;
  afterEach(() => {
    (containerdConfig as Mutable<typeof containerdConfig>).renderContainerdBaseConfig = original;
    (paths as Mutable<typeof paths>).SOCI_IMAGE_SERVICE_ENDPOINT = originalEndpoint;
  });

  it("the unmutated renderer passes", async () => {
    assert.deepEqual(await sociWiringProblems(renderUserData("al2023", bootstrapOptions()).text, "lazy"), []);
  });

  it("removing the soci proxy plugin fails the wiring check", async () => {
    (containerdConfig as Mutable<typeof containerdConfig>).renderContainerdBaseConfig = () => {
      const cfg = containerdConfig.containerdBaseConfig();
      delete cfg.proxy_plugins;
      return stringify(cfg);
    };
    const problems = await sociWiringProblems(renderUserData("al2023", bootstrapOptions()).text, "lazy");
    assert.ok(problems.includes("soci proxy plugin missing or wrong"), problems.join("; "));
  });

  it("using containerd 1.x CRI keys fails the wiring check", async () => {
    (containerdConfig as Mutable<typeof containerdConfig>).renderContainerdBaseConfig = () =>
      stringify({
        version: 2,
        plugins: { "io.containerd.grpc.v1.cri": { containerd: { snapshotter: "overlayfs" } } },
        proxy_plugins: containerdConfig.containerdBaseConfig().proxy_plugins as Record<string, unknown>,
      });
    const problems = await sociWiringProblems(renderUserData("al2023", bootstrapOptions()).text, "lazy");
    assert.ok(problems.includes("containerd 1.x CRI keys on containerd 2.x"), problems.join("; "));
    assert.ok(problems.includes("containerd config is not version 3"), problems.join("; "));
  });

  it("a user data that points CRI at SOCI before SOCI serves (fail open) fails the wiring check", async () => {
    (containerdConfig as Mutable<typeof containerdConfig>).renderContainerdBaseConfig = () =>
      stringify({ ...containerdConfig.containerdBaseConfig(), ...containerdConfig.containerdSociWiring() });
    const problems = await sociWiringProblems(renderUserData("al2023", bootstrapOptions()).text, "lazy");
    assert.ok(problems.some((p) => p.startsWith("the user data's CRI snapshotter is not overlayfs")), problems.join("; "));
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
  const tarball = fakeReleaseTarball(VERSION);
  before(async () => {
    mirror.serve(`/v${VERSION}/${ASSET}`, tarball);
    url = await mirror.start();
  });
  after(async () => {
    await mirror.stop();
    for (const r of roots) rmSync(r, { recursive: true, force: true });
  });

  /** Steps 1 to 5 of the installer travel in the node-files archive: a mutation of them is made there. */
  const SETUP = "/usr/local/libexec/soci-eks/setup-soci.sh";
  const mutateSetup = (root: string, mutate: (text: string) => string): void =>
    editNodeFiles(root, (entries) =>
      entries.map((e) => {
        if (e.path !== SETUP) return e;
        const real = e.content.toString();
        const mutated = mutate(real);
        assert.notEqual(mutated, real, "the mutation must find what it changes");
        return { ...e, content: mutated };
      }),
    );

  const installWithBadChecksum = async (mutate?: (text: string) => string) => {
    const root = mkdtempSync(path.join(tmpdir(), "soci-eks-mut-"));
    roots.push(root);
    // The user data pins a digest the mirror's tarball does not have.
    const script = await prepareRoot(root, bootstrapOptions({ release: { version: VERSION, mirrorBaseUrl: url, sha256: { amd64: "0".repeat(64) } } }));
    if (mutate) mutateSetup(root, mutate);
    const run = await runBash(script, { SOCI_EKS_ROOT: root, SOCI_EKS_RETRY_BASE_DELAY: "0", AWS_EC2_METADATA_SERVICE_ENDPOINT: "http://127.0.0.1:9" });
    return { ...run, installed: existsSync(path.join(root, "usr/local/bin/soci-snapshotter-grpc")) };
  };

  it("the real installer refuses a tarball whose checksum does not match", async () => {
    const run = await installWithBadChecksum();
    assert.equal(run.installed, false, run.stderr);
    assert.match(run.stderr, /DEGRADED \(onSociFailure=fallback\): checksum-mismatch/);
  });

  it("an installer without the checksum comparison would install it, so the check above can fail", async () => {
    const run = await installWithBadChecksum((t) => t.replace(/\[\[ "\$\{actual\}" == "\$\{sha\}" \]\] \|\| soci_failed checksum-mismatch [^\n]*\n/, ""));
    assert.equal(run.installed, true, "without the comparison the bad tarball installs; the suite's mismatch test would fail");
  });

  it("an installer without set -E would not apply the policy when a command fails inside a function", async () => {
    const real = readFileSync(path.join(REPO_ROOT, "userdata/scripts/al2023-install-soci.sh"), "utf8");
    const noErrtrace = (t: string) => t.replace(/^set -Eeuo pipefail$/m, "set -euo pipefail");
    const mutated = noErrtrace(real);
    assert.notEqual(mutated, real);
    const failInFunction = async (scriptText?: string) => {
      const root = mkdtempSync(path.join(tmpdir(), "soci-eks-mut-"));
      roots.push(root);
      const opts = bootstrapOptions({ release: { version: VERSION, mirrorBaseUrl: url, sha256: { amd64: sha256(tarball) } }, onSociFailure: "fail", extraEcrRegistries: ["444455556666.dkr.ecr.eu-west-1.amazonaws.com"] });
      const script = await prepareRoot(root, opts, scriptText);
      // setup-soci.sh, sourced by the installer, sets its own options: take -E out there too
      if (scriptText !== undefined) mutateSetup(root, noErrtrace);
      mkdirSync(path.join(root, "root"), { recursive: true });
      writeFileSync(path.join(root, "root/.docker"), "a file where a directory must go\n");
      const run = await runBash(script, { SOCI_EKS_ROOT: root, SOCI_EKS_RETRY_BASE_DELAY: "0", AWS_EC2_METADATA_SERVICE_ENDPOINT: "http://127.0.0.1:9" });
      return { ...run, marker: existsSync(path.join(root, "run/soci-eks/failed")) ? readFileSync(path.join(root, "run/soci-eks/failed"), "utf8") : "" };
    };
    // The user data pins the digest the tarball really has: the install succeeds up to the Docker config.
    const good = await failInFunction();
    assert.match(good.stderr, /FAILED \(onSociFailure=fail\): installer-error/);
    assert.match(good.marker, /^reason=installer-error\n/);
    const bad = await failInFunction(mutated);
    assert.doesNotMatch(bad.stderr, /installer-error/, "without -E the ERR trap does not fire in functions");
    assert.match(bad.marker, /^reason=not-verified\n/, "the state written first still holds the node back: fail closed even then");
  });
});
