import { strict as assert } from "assert";
import { SOCI_CONFIG } from "../../userdata/paths";
import { describe, it } from "node:test";
import { parse as parseToml } from "smol-toml";
import { parse as parseYaml } from "yaml";
import { AT_BOOT, DEFAULT_MIRROR_BASE_URL, KNOWN_RELEASE_DIGESTS, NodeBootstrapOptions, renderUserData } from "../../userdata";
import { parallelTuning } from "../../userdata/sociConfig";
import { bootstrapOptions, TEST_ONLY_DIGESTS } from "../helpers/options";
import { sociWiringProblems } from "../helpers/sociWiring";
import { cloudConfigFiles, nodeConfigs, parseMime } from "../helpers/userdata";

const cluster = {
  name: "lab",
  apiServerEndpoint: "https://example.eks.amazonaws.com",
  certificateAuthority: Buffer.from("ca").toString("base64"),
  serviceCidr: "10.100.0.0/16",
};

describe("AL2023 user data", () => {
  it("lazy mode wires SOCI into containerd 2.x, kubelet and systemd", async () => {
    const ud = renderUserData("al2023", bootstrapOptions({ mode: "lazy" }));
    assert.equal(ud.format, "mime-multipart");
    assert.deepEqual(await sociWiringProblems(ud.text, "lazy"), []);
  });

  it("parallel mode wires SOCI with parallel pull enabled", async () => {
    const ud = renderUserData("al2023", bootstrapOptions({ mode: "parallel" }));
    assert.deepEqual(await sociWiringProblems(ud.text, "parallel"), []);
  });

  it("lazy mode falls back to parallel pull for images without an index (0.14.0+)", async () => {
    const files = await cloudConfigFiles(renderUserData("al2023", bootstrapOptions()).text);
    const soci = parseToml(files.find((f) => f.path === "/etc/soci-eks/soci-snapshotter-grpc.toml")!.content) as any;
    assert.equal(soci.pull_modes.parallel_pull_unpack.enable, false);
    assert.equal(soci.pull_modes.parallel_pull_unpack.experimental_parallel_pull_as_fallback, true);
    assert.equal(soci.pull_modes.soci_v1.enable, false);
    // SOCI's own store: containerd's GC collects SOCI's artifacts in its store during lazy pulls (issue 11).
    assert.equal(soci.content_store.type, "soci");
    assert.equal(soci.content_store.containerd_address, "/run/containerd/containerd.sock");
    // Metrics on a unix socket: the degraded-pull counter without a TCP port.
    assert.equal(soci.metrics_address, "/run/soci-snapshotter-grpc/metrics.sock");
    assert.equal(soci.metrics_network, "unix");
    // SOCI allows its own store beside parallel pull (the fallback) only when unpacked layers are discarded.
    assert.equal(soci.pull_modes.parallel_pull_unpack.discard_unpacked_layers, true);
    assert.deepEqual({ ...soci.pull_modes.parallel_pull_unpack.decompress_streams.gzip }, { path: "/usr/bin/unpigz", args: ["-d", "-c"] });
  });

  it("parallel mode keeps containerd's content store (it fetches no SOCI artifacts)", async () => {
    const files = await cloudConfigFiles(renderUserData("al2023", bootstrapOptions({ mode: "parallel" })).text);
    const soci = parseToml(files.find((f) => f.path === SOCI_CONFIG)!.content) as any;
    assert.equal(soci.content_store.type, "containerd");
    // SOCI refuses parallel pull with its own store unless unpacked layers are discarded (fs/fs.go).
    assert.equal(soci.pull_modes.parallel_pull_unpack.discard_unpacked_layers, true);
  });

  it("releases before 0.14.0 get no fallback key they would not know", async () => {
    const opts = bootstrapOptions({ release: { version: "0.12.1", mirrorBaseUrl: "https://mirror.example/soci", sha256: TEST_ONLY_DIGESTS } });
    const files = await cloudConfigFiles(renderUserData("al2023", opts).text);
    const soci = parseToml(files.find((f) => f.path === "/etc/soci-eks/soci-snapshotter-grpc.toml")!.content) as any;
    assert.equal("experimental_parallel_pull_as_fallback" in soci.pull_modes.parallel_pull_unpack, false);
  });

  it("sizes parallelism: downloads 8 up to 8 vCPUs then one per vCPU to 20, unpacks from vCPUs, 64 MiB chunks", () => {
    assert.deepEqual(parallelTuning({ vcpus: 2, memoryMiB: 4096 }), {
      maxConcurrentDownloads: 16,
      maxConcurrentDownloadsPerImage: 8,
      chunkSize: "64mb",
      maxConcurrentUnpacks: 4,
      maxConcurrentUnpacksPerImage: 2,
    });
    assert.deepEqual(
      [1, 2, 8, 12, 16, 64].map((vcpus) => parallelTuning({ vcpus, memoryMiB: 32768 }).maxConcurrentDownloadsPerImage),
      [8, 8, 8, 12, 16, 20],
    );
    assert.equal(parallelTuning({ vcpus: 1, memoryMiB: 2048 }).maxConcurrentUnpacksPerImage, 2);
    assert.equal(parallelTuning({ vcpus: 8, memoryMiB: 32768 }).maxConcurrentUnpacksPerImage, 8);
    assert.equal(parallelTuning({ vcpus: 64, memoryMiB: 262144 }).maxConcurrentUnpacksPerImage, 12);
    assert.equal(parallelTuning({ vcpus: 8, memoryMiB: 32768 }).chunkSize, "64mb");
  });

  it("writes the installer's parameters to an env file", async () => {
    const opts = bootstrapOptions({
      architecture: "arm64",
      release: { version: "0.16.1", mirrorBaseUrl: "https://mirror.example/soci", sha256: { arm64: "a".repeat(64), amd64: "b".repeat(64) } },
      extraEcrRegistries: ["111122223333.dkr.ecr.eu-west-1.amazonaws.com"],
    });
    const files = await cloudConfigFiles(renderUserData("al2023", opts).text);
    const env = files.find((f) => f.path === "/etc/soci-eks/install.env")!.content;
    assert.match(env, /^SOCI_EKS_ARCH='arm64'$/m);
    assert.match(env, /^SOCI_EKS_MIRROR_BASE_URL='https:\/\/mirror\.example\/soci'$/m);
    assert.match(env, /^SOCI_EKS_SOCI_SHA256='a{64}'$/m, "a document for one architecture carries that one's digest");
    assert.match(env, /^SOCI_EKS_EXTRA_ECR_REGISTRIES='111122223333\.dkr\.ecr\.eu-west-1\.amazonaws\.com'$/m);
    assert.match(env, /^SOCI_EKS_MODE='lazy'$/m);
  });

  it("pins every architecture's digest: the user's, else the one shipped for the version; none is an error", async () => {
    const env = async (o: Partial<NodeBootstrapOptions>) =>
      (await cloudConfigFiles(renderUserData("al2023", bootstrapOptions(o)).text)).find((f) => f.path === "/etc/soci-eks/install.env")!.content;
    const shipped = KNOWN_RELEASE_DIGESTS["0.14.1"];
    assert.match(await env({ release: { version: "0.14.1", mirrorBaseUrl: DEFAULT_MIRROR_BASE_URL } }), new RegExp(`^SOCI_EKS_SOCI_SHA256='${shipped.amd64}'$`, "m"));
    assert.match(
      await env({ release: { version: "0.14.1", mirrorBaseUrl: DEFAULT_MIRROR_BASE_URL }, instance: AT_BOOT, architecture: AT_BOOT }),
      new RegExp(`^SOCI_EKS_SOCI_SHA256='amd64=${shipped.amd64},arm64=${shipped.arm64}'$`, "m"),
    );
    assert.match(
      await env({ release: { version: "0.16.1", mirrorBaseUrl: DEFAULT_MIRROR_BASE_URL, sha256: { arm64: "c".repeat(64), amd64: "d".repeat(64) } }, instance: AT_BOOT, architecture: AT_BOOT }),
      /^SOCI_EKS_SOCI_SHA256='amd64=d{64},arm64=c{64}'$/m,
    );
    assert.throws(() => renderUserData("al2023", bootstrapOptions({ release: { version: "0.16.1", mirrorBaseUrl: DEFAULT_MIRROR_BASE_URL } })), /no sha256 for soci-snapshotter-0\.16\.1-linux-amd64\.tar\.gz/);
    assert.throws(
      () => renderUserData("al2023", bootstrapOptions({ release: { version: "0.16.1", mirrorBaseUrl: DEFAULT_MIRROR_BASE_URL, sha256: { amd64: "d".repeat(64) } }, instance: AT_BOOT, architecture: AT_BOOT })),
      /no sha256 for soci-snapshotter-0\.16\.1-linux-arm64\.tar\.gz/,
    );
    assert.doesNotThrow(() => renderUserData("al2023", bootstrapOptions({ mode: "off", release: { version: "0.16.1", mirrorBaseUrl: DEFAULT_MIRROR_BASE_URL } })), "off installs nothing");
  });

  it("refuses env values that could break quoting", () => {
    const opts = bootstrapOptions({ release: { version: "0.16.1", mirrorBaseUrl: "https://x/'; rm -rf /", sha256: TEST_ONLY_DIGESTS } });
    assert.throws(() => renderUserData("al2023", opts), /unsafe characters in SOCI_EKS_MIRROR_BASE_URL/);
  });

  it("off mode renders the stock node: one NodeConfig without SOCI", async () => {
    const ud = renderUserData("al2023", bootstrapOptions({ mode: "off", cluster }));
    const parts = await parseMime(ud.text);
    assert.deepEqual(parts.map((p) => p.contentType), ["application/node.eks.aws"]);
    const nc = parseYaml(parts[0].content);
    assert.equal(nc.spec.containerd, undefined);
    assert.equal(nc.spec.kubelet, undefined);
    assert.equal(nc.spec.cluster.name, "lab");
  });

  it("puts cluster fields, labels and taints in the NodeConfig when given", async () => {
    const opts = bootstrapOptions({
      cluster,
      labels: { "b": "2", "a": "1" },
      taints: [{ key: "big-images", value: "true", effect: "NoSchedule" }],
    });
    const [nc] = await nodeConfigs(renderUserData("al2023", opts).text);
    assert.deepEqual(nc.spec.cluster, {
      name: "lab",
      apiServerEndpoint: cluster.apiServerEndpoint,
      certificateAuthority: cluster.certificateAuthority,
      cidr: "10.100.0.0/16",
    });
    assert.deepEqual(nc.spec.kubelet.flags, ["--node-labels=a=1,b=2"]);
    assert.deepEqual(nc.spec.kubelet.config.registerWithTaints, [{ key: "big-images", value: "true", effect: "NoSchedule" }]);
  });

  it("leaves the cluster fields to EKS when no cluster is given", async () => {
    const [nc] = await nodeConfigs(renderUserData("al2023", bootstrapOptions()).text);
    assert.equal(nc.spec.cluster, undefined);
  });

  it("asks nodeadm for RAID0 local storage, optionally keeping SOCI on EBS", async () => {
    const raid = await nodeConfigs(renderUserData("al2023", bootstrapOptions({ localStorage: { raid0: true } })).text);
    assert.deepEqual(raid[0].spec.instance, { localStorage: { strategy: "RAID0" } });
    const keep = await nodeConfigs(
      renderUserData("al2023", bootstrapOptions({ localStorage: { raid0: true, keepSociOnRootVolume: true } })).text,
    );
    assert.deepEqual(keep[0].spec.instance, { localStorage: { strategy: "RAID0", disabledMounts: ["SOCI"] } });
  });

  it("ssd node groups ship the kubelet check that keeps them off the root volume", async () => {
    const files = await cloudConfigFiles(renderUserData("al2023", bootstrapOptions({ localStorage: { raid0: true } })).text);
    const byPath = new Map(files.map((f) => [f.path, f]));
    const dropIn = byPath.get("/etc/systemd/system/kubelet.service.d/10-soci-eks-local-storage.conf");
    assert.match(dropIn!.content, /^ExecStartPre=\/usr\/local\/libexec\/soci-eks\/verify-local-storage.sh$/m);
    const script = byPath.get("/usr/local/libexec/soci-eks/verify-local-storage.sh");
    assert.equal(script!.permissions, "0755");
    assert.match(script!.content, /^set -euo pipefail$/m);
    const env = byPath.get("/etc/soci-eks/local-storage.env")!.content;
    assert.match(env, /^SOCI_EKS_ARRAY_MOUNT='\/mnt\/k8s-disks\/0'$/m);
    assert.match(env, /^SOCI_EKS_ARRAY_DIRS='\/var\/lib\/containerd \/var\/lib\/kubelet \/var\/log\/pods \/var\/lib\/soci-snapshotter-grpc'$/m);

    const keep = await cloudConfigFiles(
      renderUserData("al2023", bootstrapOptions({ localStorage: { raid0: true, keepSociOnRootVolume: true } })).text,
    );
    const keepEnv = keep.find((f) => f.path === "/etc/soci-eks/local-storage.env")!.content;
    assert.match(keepEnv, /^SOCI_EKS_ARRAY_DIRS='\/var\/lib\/containerd \/var\/lib\/kubelet \/var\/log\/pods'$/m);

    const plain = await cloudConfigFiles(renderUserData("al2023", bootstrapOptions()).text);
    assert.equal(plain.filter((f) => f.path.includes("local-storage")).length, 0);
  });

  it("mode off with ssd still ships the storage check, and no SOCI installer", async () => {
    const ud = renderUserData("al2023", bootstrapOptions({ mode: "off", localStorage: { raid0: true } }));
    const types = ud.parts.map((p) => p.contentType);
    assert.deepEqual(types, ["application/node.eks.aws", "text/cloud-config"]);
    const files = await cloudConfigFiles(ud.text);
    assert.deepEqual(files.map((f) => f.path).sort(), [
      "/etc/soci-eks/local-storage.env",
      "/etc/systemd/system/kubelet.service.d/10-soci-eks-local-storage.conf",
      "/usr/local/libexec/soci-eks/verify-local-storage.sh",
    ]);
  });

  it("is deterministic", () => {
    const a = renderUserData("al2023", bootstrapOptions({ labels: { z: "1", a: "2" } })).text;
    const b = renderUserData("al2023", bootstrapOptions({ labels: { a: "2", z: "1" } })).text;
    assert.equal(a, b);
  });
});
