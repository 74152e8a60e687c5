import { strict as assert } from "assert";
import { SOCI_CONFIG } from "../../userdata/paths";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import * as path from "path";
import { after, before, describe, it } from "node:test";
import { parse as parseToml } from "smol-toml";
import { AT_BOOT, DEFAULT_SOCI_VERSION, NodeBootstrapOptions, parallelTuning, renderUserData } from "../../userdata";
import { readAsset } from "../../userdata/assets";
import { prepareRoot, runBash } from "../helpers/installer";
import { fakeReleaseTarball, imdsHandler, LoopbackServer, sha256 } from "../helpers/mirror";
import { cloudConfigFiles } from "../helpers/userdata";

/**
 * One document for many instance types (instance and architecture AT_BOOT): the installer decides on the node,
 * and must decide what the renderer would have rendered for that instance type.
 */
describe("instance-agnostic user data: the node decides architecture and parallelism at boot", () => {
  const mirror = new LoopbackServer();
  const imds = new LoopbackServer(imdsHandler("111122223333", "us-west-2"));
  const tarball = fakeReleaseTarball(DEFAULT_SOCI_VERSION);
  const work = mkdtempSync(path.join(tmpdir(), "soci-eks-atboot-"));
  let mirrorUrl = "";
  let env: Record<string, string> = {};
  let n = 0;
  after(async () => {
    await Promise.all([mirror.stop(), imds.stop()]);
    rmSync(work, { recursive: true, force: true });
  });
  before(async () => {
    for (const arch of ["amd64", "arm64"]) {
      const asset = `soci-snapshotter-${DEFAULT_SOCI_VERSION}-linux-${arch}.tar.gz`;
      mirror.serve(`/v${DEFAULT_SOCI_VERSION}/${asset}`, tarball);
    }
    mirrorUrl = await mirror.start();
    env = { AWS_EC2_METADATA_SERVICE_ENDPOINT: await imds.start(), SOCI_EKS_RETRY_BASE_DELAY: "0" };
  });
  const options = (mode: "lazy" | "parallel" = "lazy"): NodeBootstrapOptions => ({
    mode,
    release: { version: DEFAULT_SOCI_VERSION, mirrorBaseUrl: mirrorUrl, sha256: { amd64: sha256(tarball), arm64: sha256(tarball) } },
    instance: AT_BOOT,
    architecture: AT_BOOT,
  });
  const boot = async (machine: string, vcpus: number, memTotalKiB: number, mode: "lazy" | "parallel" = "lazy") => {
    const root = path.join(work, `root-${n++}`);
    const installer = await prepareRoot(root, options(mode));
    const meminfo = path.join(root, "meminfo");
    writeFileSync(meminfo, `MemTotal:       ${memTotalKiB} kB\nMemFree:         1000 kB\n`);
    const r = await runBash(installer, { ...env, SOCI_EKS_ROOT: root, SOCI_EKS_MACHINE: machine, SOCI_EKS_NPROC: String(vcpus), SOCI_EKS_MEMINFO: meminfo });
    return { root, ...r };
  };

  it("renders the same document whatever the instance, with the decisions left to the node", async () => {
    const text = renderUserData("al2023", options()).text;
    const env = (await cloudConfigFiles(text)).find((f) => f.path === "/etc/soci-eks/install.env")!.content;
    assert.match(env, /^SOCI_EKS_ARCH='auto'$/m);
    assert.match(env, /^SOCI_EKS_TUNING='at-boot'$/m);
  });

  // MemTotal is what the kernel leaves of EC2's nominal memory (e.g. 15.3 GiB of a 16 GiB type).
  const cases: [string, number, number, number][] = [
    ["t3.small (2 vCPU, 2 GiB)", 2, 1_970_000, 2048],
    ["c7i.large (2 vCPU, 4 GiB)", 2, 3_900_000, 4096],
    ["m7i.large (2 vCPU, 8 GiB: MemTotal below 8 GiB still counts as 8)", 2, 7_950_000, 8192],
    ["m7i.xlarge (4 vCPU, 16 GiB)", 4, 15_998_312, 16384],
    ["c7gd.2xlarge (8 vCPU, 16 GiB)", 8, 15_900_000, 16384],
    ["m7i.4xlarge (16 vCPU, 64 GiB)", 16, 64_900_000, 65536],
    ["m7i.48xlarge (192 vCPU, 768 GiB)", 192, 790_000_000, 786432],
  ];
  for (const [name, vcpus, memKiB, memoryMiB] of cases) {
    it(`sizes SOCI like the renderer would for ${name}`, async () => {
      const r = await boot("x86_64", vcpus, memKiB);
      assert.equal(r.code, 0, r.stderr);
      const p = (parseToml(readFileSync(path.join(r.root, SOCI_CONFIG.slice(1)), "utf8")) as Record<string, any>).pull_modes.parallel_pull_unpack;
      const t = parallelTuning({ vcpus, memoryMiB });
      assert.deepEqual(
        [p.max_concurrent_downloads, p.max_concurrent_downloads_per_image, p.concurrent_download_chunk_size, p.max_concurrent_unpacks, p.max_concurrent_unpacks_per_image],
        [t.maxConcurrentDownloads, t.maxConcurrentDownloadsPerImage, t.chunkSize, t.maxConcurrentUnpacks, t.maxConcurrentUnpacksPerImage],
      );
      // The memory figure only decides the chunk size (at 8 GiB); above that, rounding MemTotal up may land below nominal.
      assert.match(r.stderr, new RegExp(`sized SOCI for ${vcpus} vCPUs: `));
    });
  }

  it("picks the release for the node's architecture: x86_64 → amd64, aarch64 → arm64", async () => {
    for (const [machine, arch] of [["x86_64", "amd64"], ["aarch64", "arm64"]]) {
      const r = await boot(machine, 4, 16_000_000, "parallel");
      assert.equal(r.code, 0, r.stderr);
      assert.match(readFileSync(path.join(r.root, "var/lib/soci-eks/installed-release"), "utf8"), new RegExp(`-linux-${arch}\\.tar\\.gz sha256:${sha256(tarball)}`));
    }
  });

  it("refuses an architecture SOCI has no release for, pointing at the NodePool (fallback: the node joins without SOCI)", async () => {
    const r = await boot("riscv64", 4, 16_000_000);
    assert.equal(r.code, 0, "onSociFailure fallback (the default): the installer degrades the node, it does not fail the boot");
    assert.match(r.stderr, /DEGRADED \(onSociFailure=fallback\): unsupported-arch: no soci-snapshotter release for 'riscv64' \(uname -m\)\. .*Fix: see docs\/boot-and-failures\.md#reasons/);
  });

  it("Bottlerocket cannot decide at boot: parallel mode needs one instance type's facts", () => {
    assert.throws(() => renderUserData("bottlerocket", options("parallel")), /Bottlerocket settings are static/);
  });

  describe("ssd, instance-agnostic: the kubelet check where the instance has no instance-store NVMe disk", () => {
    const script = path.join(work, "verify-local-storage.sh");
    const run = (byId: string, noInstanceStore: boolean) => {
      writeFileSync(script, readAsset("scripts/verify-local-storage.sh"));
      const envFile = path.join(work, `ls-${n++}.env`);
      const notMounted = mkdtempSync(path.join(work, "mnt-"));
      writeFileSync(envFile, `SOCI_EKS_ARRAY_MOUNT='${notMounted}'\nSOCI_EKS_ARRAY_DIRS='${work}'\n${noInstanceStore ? "SOCI_EKS_NO_INSTANCE_STORE='root-volume'\n" : ""}`);
      return runBash(script, { SOCI_EKS_LOCAL_STORAGE_ENV: envFile, SOCI_EKS_DISK_BY_ID: byId });
    };

    it("renders SOCI_EKS_NO_INSTANCE_STORE=root-volume only for instance-agnostic documents", async () => {
      const agnostic = await cloudConfigFiles(renderUserData("al2023", { ...options(), localStorage: { raid0: true } }).text);
      assert.match(agnostic.find((f) => f.path === "/etc/soci-eks/local-storage.env")!.content, /^SOCI_EKS_NO_INSTANCE_STORE='root-volume'$/m);
    });

    it("no instance-store disk at all: warns and lets kubelet start on the root volume", async () => {
      const empty = path.join(work, "by-id-empty");
      mkdirSync(empty, { recursive: true });
      writeFileSync(path.join(empty, "nvme-Amazon_Elastic_Block_Store_vol0123"), "");
      const r = await run(empty, true);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, /WARNING: this instance type has no NVMe instance-store disk; .* stay on the root volume \(require karpenter\.k8s\.aws\/instance-local-nvme in the NodePool/);
    });

    it("disks present but no array: still keeps kubelet off the root volume", async () => {
      const withDisk = path.join(work, "by-id-disk");
      mkdirSync(withDisk, { recursive: true });
      symlinkSync("/dev/null", path.join(withDisk, "nvme-Amazon_EC2_NVMe_Instance_Storage_AWS1234"));
      const r = await run(withDisk, true);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /nothing is mounted at .*kubelet will not start on the root volume/);
    });

    it("per-type documents (no root-volume choice) fail without disks, as before", async () => {
      const empty = path.join(work, "by-id-none");
      mkdirSync(empty, { recursive: true });
      const r = await run(empty, false);
      assert.equal(r.code, 1);
    });
  });
});
