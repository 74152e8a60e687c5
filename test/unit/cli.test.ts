import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as path from "path";
import { describe, it } from "node:test";
import { parse as parseToml } from "smol-toml";
import { parse as parseYaml } from "yaml";
import { REPO_ROOT, sociWiringProblems } from "../helpers/sociWiring";
import { cloudConfigFiles, nodeConfigs, parseMime } from "../helpers/userdata";

const CLI = path.join(REPO_ROOT, "dist/cli/main.js");
const BASE = ["userdata", "--instance-type", "m7i.xlarge", "--vcpus", "4", "--memory-mib", "16384", "--arch", "x86_64"];

function run(args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: "utf8" });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("soci-eks CLI", () => {
  it("prints AL2023 MIME user data that a MIME parser reads and that carries the SOCI wiring", async () => {
    const r = run(BASE);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(await sociWiringProblems(r.stdout, "lazy"), []);
  });

  it("passes cluster fields, labels and taints into the NodeConfig", async () => {
    const r = run([
      ...BASE, "--mode", "parallel", "--cluster-name", "c", "--api-server-endpoint", "https://x", "--certificate-authority", "Y2E=",
      "--service-cidr", "10.100.0.0/16", "--label", "team=ml", "--taint", "workload=big:NoSchedule",
    ]);
    assert.equal(r.code, 0, r.stderr);
    const [nc] = await nodeConfigs(r.stdout);
    assert.equal(nc.spec.cluster.name, "c");
    assert.deepEqual(nc.spec.kubelet.flags, ["--node-labels=team=ml"]);
    assert.deepEqual(nc.spec.kubelet.config.registerWithTaints, [{ key: "workload", value: "big", effect: "NoSchedule" }]);
  });

  it("prints Bottlerocket TOML", () => {
    const r = run([...BASE, "--os", "bottlerocket", "--mode", "parallel", "--ssd"]);
    assert.equal(r.code, 0, r.stderr);
    const doc = parseToml(r.stdout) as any;
    assert.equal(doc.settings["container-runtime"].snapshotter, "soci");
    assert.ok(doc.settings["bootstrap-commands"]["k8s-ephemeral-storage"]);
  });

  it("--karpenter prints an EC2NodeClass with the user data, RAID0 left to Karpenter", async () => {
    const r = run([...BASE, "--ssd", "--karpenter", "--discovery-tag", "prod"]);
    assert.equal(r.code, 0, r.stderr);
    const nc = parseYaml(r.stdout);
    assert.equal(nc.apiVersion, "karpenter.k8s.aws/v1");
    assert.equal(nc.kind, "EC2NodeClass");
    assert.deepEqual(nc.spec.amiSelectorTerms, [{ alias: "al2023@latest" }]);
    assert.equal(nc.spec.instanceStorePolicy, "RAID0");
    assert.equal(nc.spec.metadataOptions.httpTokens, "required");
    assert.equal(nc.spec.blockDeviceMappings[0].ebs.encrypted, true);
    assert.deepEqual(nc.spec.subnetSelectorTerms, [{ tags: { "karpenter.sh/discovery": "prod" } }]);
    const parts = await parseMime(nc.spec.userData);
    assert.equal(parts[0].contentType, "application/node.eks.aws");
    const [nodeConfig] = await nodeConfigs(nc.spec.userData);
    assert.equal(nodeConfig.spec.instance, undefined, "Karpenter's RAID0 policy builds the array; the NodeConfig must not ask again");
    const files = await cloudConfigFiles(nc.spec.userData);
    assert.ok(
      files.some((f) => f.path === "/etc/systemd/system/kubelet.service.d/10-soci-eks-local-storage.conf"),
      "Karpenter SSD nodes get the kubelet instance-store check too",
    );
  });

  it("--karpenter --keep-soci-on-root-volume: only disabledMounts [SOCI] (nodeadm merges it with Karpenter's RAID0); the check leaves SOCI out", async () => {
    const r = run([...BASE, "--ssd", "--keep-soci-on-root-volume", "--karpenter"]);
    assert.equal(r.code, 0, r.stderr);
    const nc = parseYaml(r.stdout);
    const [nodeConfig] = await nodeConfigs(nc.spec.userData);
    assert.deepEqual(nodeConfig.spec.instance, { localStorage: { disabledMounts: ["SOCI"] } });
    const env = (await cloudConfigFiles(nc.spec.userData)).find((f) => f.path === "/etc/soci-eks/local-storage.env")!.content;
    assert.match(env, /^SOCI_EKS_ARRAY_DIRS='\/var\/lib\/containerd \/var\/lib\/kubelet \/var\/log\/pods'$/m);
  });

  it("--karpenter on Bottlerocket leaves the ephemeral-storage bootstrap command to Karpenter", () => {
    const r = run([...BASE, "--os", "bottlerocket", "--mode", "parallel", "--ssd", "--karpenter"]);
    assert.equal(r.code, 0, r.stderr);
    const nc = parseYaml(r.stdout);
    assert.equal(nc.spec.instanceStorePolicy, "RAID0");
    const doc = parseToml(nc.spec.userData) as any;
    assert.equal(doc.settings["bootstrap-commands"]?.["k8s-ephemeral-storage"], undefined);
    assert.equal(doc.settings["container-runtime"].snapshotter, "soci");
  });

  it("help exits 0", () => {
    const r = run(["help"]);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /soci-eks userdata/);
  });

  const usageErrors: [string, string[], RegExp][] = [
    ["unknown mode", [...BASE, "--mode", "fast"], /--mode 'fast' is not one of lazy, parallel, off/],
    [
      "keep SOCI on EBS with Karpenter on Bottlerocket",
      [...BASE, "--os", "bottlerocket", "--mode", "parallel", "--ssd", "--keep-soci-on-root-volume", "--karpenter"],
      /--keep-soci-on-root-volume is not available with --karpenter on Bottlerocket/,
    ],
    ["unknown os", [...BASE, "--os", "windows"], /--os 'windows' is not one of al2023, bottlerocket/],
    ["missing vcpus", ["userdata", "--instance-type", "m7i.xlarge", "--memory-mib", "1", "--arch", "x86_64"], /--vcpus is required/],
    ["missing arch", ["userdata", "--instance-type", "m7i.xlarge", "--vcpus", "4", "--memory-mib", "1"], /--arch is required/],
    ["bad version", [...BASE, "--soci-version", "v0.16.1"], /--soci-version 'v0\.16\.1' is not X\.Y\.Z/],
    ["bad sha", [...BASE, "--soci-sha256", "abc"], /--soci-sha256 'abc' is not 64 lowercase hex digits/],
    ["partial cluster", [...BASE, "--cluster-name", "c"], /cluster fields are all or none: missing --api-server-endpoint/],
    ["bad taint", [...BASE, "--taint", "a=b"], /--taint 'a=b' is not key\[=value\]:Effect/],
    ["bad label without =", [...BASE, "--label", "novalue"], /--label 'novalue' is not key=value\. Pass --label key=value/],
    ["bad label with an empty key", [...BASE, "--label", "=ml"], /--label '=ml' is not key=value/],
    ["bad label with two =", [...BASE, "--label", "team=ml=x"], /--label 'team=ml=x' is not key=value/],
    ["lazy on bottlerocket", [...BASE, "--os", "bottlerocket"], /sociMode: 'lazy' is not available on Bottlerocket/],
    ["unknown flag", [...BASE, "--colour"], /Unknown option '--colour'/],
    ["unknown command", ["frobnicate"], /unknown command 'frobnicate'/],
  ];
  for (const [name, args, message] of usageErrors) {
    it(`usage error, exit 2: ${name}`, () => {
      const r = run(args);
      assert.equal(r.code, 2, r.stdout);
      assert.match(r.stderr, message);
      assert.equal(r.stdout, "");
    });
  }
});
