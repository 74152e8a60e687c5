import { strict as assert } from "assert";
import { SOCI_CONFIG } from "../../userdata/paths";
import { spawnSync } from "child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import * as path from "path";
import { gzipSync } from "zlib";
import { after, before, describe, it } from "node:test";
import { parse as parseYaml } from "yaml";
import { parse as parseToml } from "smol-toml";
import { AT_BOOT, DEFAULT_SOCI_VERSION, NodeBootstrapOptions, parallelTuning, renderUserData } from "../../userdata";
import { al2023NodeConfig, al2023NodeFiles, al2023WriteFiles, INSTALLER_SCRIPT, NODECONFIG_CONTENT_TYPE } from "../../userdata/al2023";
import { renderCloudConfig } from "../../userdata/cloudConfig";
import { MIME_BOUNDARY } from "../../userdata/mime";
import { renderNodeConfig } from "../../userdata/nodeConfig";
import { readAsset } from "../../userdata/assets";
import { runBash } from "../helpers/installer";
import { fakeReleaseTarball, imdsHandler, LoopbackServer, sha256 } from "../helpers/mirror";
import { M7I_XLARGE, TEST_ONLY_DIGESTS } from "../helpers/options";
import { REPO_ROOT } from "../helpers/sociWiring";
import { karpenterMerge, karpenterMergeMissing } from "../helpers/karpenterMerge";

/**
 * Every AL2023 document we can render goes through the two mergers that sit between us and a node,
 * then through Debian's cloud-init (its own MIME walk, part handlers and write_files module), and the
 * shell part cloud-init wrote runs the installer against a loopback mirror:
 *  - karpenter: Karpenter v1.15.2's own bootstrap code (`bootstrap.Nodeadm{...}.Script()`: its NodeConfig, its MIME
 *    re-serialization), run by lab/.bin/karpenter-merge (test/helpers/karpenterMerge.ts);
 *  - eks: our model of an EKS managed node group's NodeConfig part appended to our document (test/consumers/mime_merge.py).
 * Sizes after both mergers are asserted in userDataSize.test.ts.
 */

const PYTHON = "/usr/bin/python3";
const MERGER = path.join(REPO_ROOT, "test/consumers/mime_merge.py");
const CONSUMER = path.join(REPO_ROOT, "test/consumers/cloudinit_consume.py");
/** An EKS cluster CA is ~1.4 KB of base64; both mergers copy it into their NodeConfig. */
const CA = Buffer.alloc(1100, 7).toString("base64");
const CLUSTER = { name: "soci-lab", apiServerEndpoint: "https://0123456789ABCDEF0123456789ABCDEF.gr7.us-west-2.eks.amazonaws.com", certificateAuthority: CA, serviceCidr: "10.100.0.0/16" };
const MERGER_CLUSTER = [CLUSTER.name, CLUSTER.apiServerEndpoint, CA, CLUSTER.serviceCidr].join(",");
const M7G_XLARGE = { instanceType: "m7g.xlarge", vcpus: 4, memoryMiB: 16384, architectures: ["arm64" as const], gpus: 0 };

type Merger = "karpenter" | "eks";

interface Variant {
  name: string;
  options: NodeBootstrapOptions;
  /** The EC2NodeClass has instanceStorePolicy RAID0: Karpenter's NodeConfig asks for it. */
  karpenterRaid0: boolean;
}

/** lazy/parallel/off × storage × cluster × sizing (extra ECR registries ride with the cluster fields), plus arm64. */
function variants(mirrorBaseUrl: string, digest: string): Variant[] {
  const out: Variant[] = [];
  const storages = [
    { name: "ebs", localStorage: undefined, karpenterRaid0: false },
    { name: "ssd", localStorage: { raid0: true }, karpenterRaid0: false },
    { name: "ssd-by-karpenter-keep-soci", localStorage: { raid0: true, arrayBuiltByKarpenter: true, keepSociOnRootVolume: true }, karpenterRaid0: true },
  ];
  for (const mode of ["lazy", "parallel", "off"] as const) {
    for (const storage of storages) {
      for (const withCluster of [false, true]) {
        for (const atBoot of [false, true]) {
          const options: NodeBootstrapOptions = {
            mode,
            release: { version: DEFAULT_SOCI_VERSION, mirrorBaseUrl, sha256: { amd64: digest, arm64: digest } },
            instance: atBoot ? AT_BOOT : M7I_XLARGE,
            architecture: atBoot ? AT_BOOT : "x86_64",
            ...(storage.localStorage ? { localStorage: storage.localStorage } : {}),
            ...(withCluster ? { cluster: CLUSTER, extraEcrRegistries: ["444455556666.dkr.ecr.eu-west-1.amazonaws.com", "777788889999.dkr.ecr.us-east-1.amazonaws.com"] } : {}),
          };
          const name = `${mode} ${storage.name} ${withCluster ? "cluster+extra-ecr" : "no-cluster"} ${atBoot ? "instance-agnostic" : "m7i.xlarge"}`;
          out.push({ name, options, karpenterRaid0: storage.karpenterRaid0 });
        }
      }
    }
  }
  out.push({
    name: "lazy ebs no-cluster m7g.xlarge (arm64)",
    options: { mode: "lazy", release: { version: DEFAULT_SOCI_VERSION, mirrorBaseUrl, sha256: { amd64: digest, arm64: digest } }, instance: M7G_XLARGE, architecture: "arm64" },
    karpenterRaid0: false,
  });
  return out;
}

/** The document format before issue 14: gzip parts sent as application/x-gzip with Content-Transfer-Encoding base64. */
function legacyDocument(options: NodeBootstrapOptions): string {
  const b64 = (s: string): string => (gzipSync(Buffer.from(s), { level: 9 }).toString("base64").match(/.{1,76}/g) ?? []).join("\n");
  const files = al2023WriteFiles(options).map((f) => ({ ...f }));
  const cloudConfig = renderCloudConfig(files);
  return [
    "MIME-Version: 1.0",
    `Content-Type: multipart/mixed; boundary="${MIME_BOUNDARY}"`,
    "",
    `--${MIME_BOUNDARY}`,
    `Content-Type: ${NODECONFIG_CONTENT_TYPE}`,
    "",
    renderNodeConfig(al2023NodeConfig(options)),
    `--${MIME_BOUNDARY}`,
    "Content-Type: application/x-gzip",
    "Content-Transfer-Encoding: base64",
    "",
    b64(cloudConfig),
    `--${MIME_BOUNDARY}`,
    "Content-Type: application/x-gzip",
    "Content-Transfer-Encoding: base64",
    "",
    b64(readAsset(INSTALLER_SCRIPT)),
    `--${MIME_BOUNDARY}--`,
    "",
  ].join("\n");
}

interface Report {
  parts: { contentType: string; filename: string; bytes: number }[];
  unhandled: string[];
  scripts: string[];
  write_files: string[];
}

describe("every AL2023 document survives Karpenter's and EKS's merge, and cloud-init then writes and runs all of it", () => {
  const mirror = new LoopbackServer();
  const imds = new LoopbackServer(imdsHandler("111122223333", "us-west-2"));
  const tarball = fakeReleaseTarball(DEFAULT_SOCI_VERSION);
  const work = mkdtempSync(path.join(tmpdir(), "soci-eks-merge-"));
  let env: Record<string, string> = {};
  let docs: { variant: Variant; merger: Merger; file: string; workdir: string; root: string; bytes: number; ourBytes: number }[] = [];
  let results: ({ report: Report } | { error: string })[] = [];

  const merge = (merger: Merger, input: string, output: string, raid0: boolean): void => {
    if (merger === "karpenter") {
      karpenterMerge(input, output, raid0, ["-cluster", MERGER_CLUSTER]);
      return;
    }
    const args = [MERGER, merger, input, output, "--cluster", MERGER_CLUSTER];
    const r = spawnSync(PYTHON, args, { encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
  };
  const consumeAll = (jobs: [string, string, string][]): ({ report: Report } | { error: string })[] => {
    const jobsFile = path.join(work, `jobs-${jobs.length}-${path.basename(jobs[0][0])}.json`);
    writeFileSync(jobsFile, JSON.stringify(jobs));
    const r = spawnSync(PYTHON, [CONSUMER, "--batch", jobsFile], { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
    assert.equal(r.status, 0, r.stderr);
    return JSON.parse(r.stdout);
  };

  before(async () => {
    const missing = karpenterMergeMissing();
    if (missing) throw new Error(missing);
    for (const arch of ["amd64", "arm64"]) {
      const asset = `soci-snapshotter-${DEFAULT_SOCI_VERSION}-linux-${arch}.tar.gz`;
      mirror.serve(`/v${DEFAULT_SOCI_VERSION}/${asset}`, tarball);
    }
    const mirrorUrl = await mirror.start();
    env = { AWS_EC2_METADATA_SERVICE_ENDPOINT: await imds.start(), SOCI_EKS_RETRY_BASE_DELAY: "0" };
    const all = variants(mirrorUrl, sha256(tarball));
    all.forEach((variant, i) => {
      const ours = path.join(work, `doc-${i}.mime`);
      const text = renderUserData("al2023", variant.options).text;
      writeFileSync(ours, text);
      for (const merger of ["karpenter", "eks"] as const) {
        const file = path.join(work, `doc-${i}-${merger}.mime`);
        merge(merger, ours, file, variant.karpenterRaid0);
        const dir = path.join(work, `ci-${i}-${merger}`);
        docs.push({ variant, merger, file, workdir: dir, root: path.join(dir, "root"), bytes: statSync(file).size, ourBytes: Buffer.byteLength(text) });
      }
    });
    results = consumeAll(docs.map((d) => [d.file, d.workdir, d.root]));
  });

  after(async () => {
    await Promise.all([mirror.stop(), imds.stop()]);
    rmSync(work, { recursive: true, force: true });
    docs = [];
  });

  it("covers lazy, parallel and off, every storage layout, with and without cluster fields, per type and instance-agnostic", () => {
    assert.equal(docs.length, (3 * 3 * 2 * 2 + 1) * 2);
  });

  it("cloud-init sees every part after each merge; the merger's NodeConfig comes last; ours is unchanged", () => {
    docs.forEach((d, i) => {
      const r = results[i];
      assert.ok("report" in r, `${d.variant.name} after ${d.merger}: ${"error" in r ? r.error : ""}`);
      const types = ["application/node.eks.aws", ...(d.variant.options.mode === "off" && !d.variant.options.localStorage ? [] : ["text/cloud-config"])];
      if (d.variant.options.mode !== "off") types.push("text/x-shellscript");
      types.push("application/node.eks.aws");
      assert.deepEqual(r.report.parts.map((p) => p.contentType), types, `${d.variant.name} after ${d.merger}`);
      // Our NodeConfig reaches nodeadm intact; the merger's is the last part.
      const merged = readFileSync(d.file, "utf8");
      const boundary = d.merger === "karpenter" ? "//" : MIME_BOUNDARY;
      const bodies = merged.split(`\n--${boundary}`).map((chunk) => chunk.slice(chunk.indexOf("\n\n") + 2));
      assert.deepEqual(parseYaml(bodies[1]), parseYaml(renderNodeConfig(al2023NodeConfig(d.variant.options))), d.variant.name);
      const last = parseYaml(bodies[bodies.length - 2]);
      assert.equal(last.spec.cluster.name, CLUSTER.name);
    });
  });

  it("cloud-init's write_files writes every file, byte for byte, with its permissions", () => {
    docs.forEach((d, i) => {
      const r = results[i] as { report: Report };
      const expected = al2023WriteFiles(d.variant.options);
      assert.deepEqual(r.report.write_files, expected.map((f) => f.path), `${d.variant.name} after ${d.merger}`);
      for (const f of expected) {
        const written = path.join(d.root, f.path);
        assert.ok(readFileSync(written).equals(Buffer.from(f.content)), `${f.path} in ${d.variant.name} after ${d.merger}`);
        assert.equal(statSync(written).mode & 0o777, parseInt(f.permissions, 8), `${f.path} mode`);
      }
    });
  });

  it("the shell part cloud-init wrote runs the installer it wrote: SOCI installed, sized for this node when instance-agnostic", async () => {
    const meminfo = path.join(work, "meminfo");
    writeFileSync(meminfo, "MemTotal:       15998312 kB\nMemFree:        15000000 kB\n");
    const wantTuning = parallelTuning({ vcpus: 8, memoryMiB: 16384 });
    for (const [i, d] of docs.entries()) {
      const r = results[i] as { report: Report };
      if (d.variant.options.mode === "off") {
        assert.deepEqual(r.report.scripts, [], d.variant.name);
        continue;
      }
      assert.deepEqual(r.report.scripts, ["part-003"], d.variant.name);
      const run = await runBash(path.join(d.workdir, "cloud/instance/scripts/part-003"), {
        ...env,
        SOCI_EKS_ROOT: d.root,
        SOCI_EKS_NPROC: "8",
        SOCI_EKS_MEMINFO: meminfo,
      });
      assert.equal(run.code, 0, `${d.variant.name} after ${d.merger}: ${run.stderr}`);
      // the shell part unpacked every node file, byte for byte, with its mode (the installer later rewrites SOCI's
      // config when it sizes it at boot, so that one is checked below)
      for (const f of al2023NodeFiles(d.variant.options)) {
        if (f.path === SOCI_CONFIG && d.variant.options.instance === AT_BOOT) continue;
        const written = path.join(d.root, f.path);
        assert.equal(readFileSync(written, "utf8"), f.content, `${f.path} in ${d.variant.name} after ${d.merger}`);
        assert.equal(statSync(written).mode & 0o777, parseInt(f.permissions, 8), `${f.path} mode in ${d.variant.name}`);
      }
      assert.equal(existsSync(path.join(d.root, "etc/systemd/system/soci-eks-store-gc.timer")), d.variant.options.mode === "lazy", d.variant.name);
      assert.equal(statSync(path.join(d.root, "usr/local/bin/soci-snapshotter-grpc")).mode & 0o777, 0o755);
      const arch = d.variant.options.architecture === "arm64" ? "arm64" : "amd64";
      assert.match(readFileSync(path.join(d.root, "var/lib/soci-eks/installed-release"), "utf8"), new RegExp(`linux-${arch}\\.tar\\.gz sha256:`));
      const soci = parseToml(readFileSync(path.join(d.root, SOCI_CONFIG.slice(1)), "utf8")) as Record<string, any>;
      const p = soci.pull_modes.parallel_pull_unpack;
      const want = d.variant.options.instance === AT_BOOT ? wantTuning : parallelTuning(M7I_XLARGE);
      assert.deepEqual(
        [p.max_concurrent_downloads, p.max_concurrent_downloads_per_image, p.concurrent_download_chunk_size, p.max_concurrent_unpacks, p.max_concurrent_unpacks_per_image],
        [want.maxConcurrentDownloads, want.maxConcurrentDownloadsPerImage, want.chunkSize, want.maxConcurrentUnpacks, want.maxConcurrentUnpacksPerImage],
        d.variant.name,
      );
    }
  });

  it("the check can fail: the old format (base64 gzip parts) loses its files and installer in Karpenter's merge, not in EKS's append", () => {
    const options: NodeBootstrapOptions = { mode: "lazy", release: { version: DEFAULT_SOCI_VERSION, mirrorBaseUrl: "http://127.0.0.1:9", sha256: TEST_ONLY_DIGESTS }, instance: M7I_XLARGE, architecture: "x86_64" };
    const legacy = path.join(work, "legacy.mime");
    writeFileSync(legacy, legacyDocument(options));
    const jobs: [string, string, string][] = [];
    for (const merger of ["karpenter", "eks"] as const) {
      const out = path.join(work, `legacy-${merger}.mime`);
      merge(merger, legacy, out, false);
      const dir = path.join(work, `legacy-ci-${merger}`);
      mkdirSync(dir, { recursive: true });
      jobs.push([out, dir, path.join(dir, "root")]);
    }
    const [karpenter, eks] = consumeAll(jobs);
    assert.ok("error" in karpenter, "cloud-init accepted the old format after Karpenter's merge");
    assert.match(karpenter.error, /Failed decompressing payload from application\/x-gzip .*Not a gzipped file \(b'H4'\)/);
    // Karpenter kept the header of each part but not its Content-Transfer-Encoding.
    const merged = readFileSync(jobs[0][0], "utf8");
    assert.match(merged, /Content-Type: application\/x-gzip\n\nH4sI/);
    assert.doesNotMatch(merged, /Content-Transfer-Encoding/);
    assert.ok("report" in eks, "error" in eks ? eks.error : "");
    assert.equal(eks.report.write_files.length, al2023WriteFiles(options).length);
  });
});
