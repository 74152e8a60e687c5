import { strict as assert } from "assert";
import { readFileSync } from "fs";
import * as path from "path";
import { beforeEach, describe, it } from "node:test";
import * as pulumi from "@pulumi/pulumi";
import { parse as parseToml } from "smol-toml";
import { parse as parseYaml } from "yaml";
import { captureWarnings, countByType, installMocks, ofType, promiseOf, settle } from "../helpers/mocks";
import { cloudConfigFiles, nodeConfigs } from "../helpers/userdata";
import { REPO_ROOT } from "../helpers/sociWiring";
import { TEST_ONLY_SOCI_SHA256 } from "../helpers/options";

const mocks = installMocks(false);
// eslint-disable-next-line @typescript-eslint/no-var-requires
const components: typeof import("../../components") = require("../../components");

type StackOutputs = { clusterName: pulumi.Output<string>; kubeconfig: pulumi.Output<string>; nodeGroupNames: pulumi.Output<string[]> };

/** The example stack program (index.ts): `export = async () => outputs`. */
// eslint-disable-next-line @typescript-eslint/no-var-requires
const program: () => Promise<StackOutputs> = require("../../index");

/** Config of a stack file, as the Pulumi CLI hands it to the program (objects as JSON text). */
function stackFileConfig(file: string): Record<string, string> {
  const doc = parseYaml(readFileSync(path.join(REPO_ROOT, file), "utf8")) as { config: Record<string, unknown> };
  return Object.fromEntries(Object.entries(doc.config).map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)]));
}

/**
 * Runs the program with `config`. A stack that installs the default release (0.16.1, whose digests soci-eks does not
 * ship) needs `soci-eks:sociSha256`: unless `config` sets it, the test-only stand-ins for both architectures are used.
 */
async function run(config: Record<string, string>): Promise<StackOutputs> {
  pulumi.runtime.setAllConfig({ "soci-eks:sociSha256": TEST_ONLY_SOCI_SHA256, ...config });
  const outputs = await program();
  await promiseOf(outputs.nodeGroupNames);
  await settle(mocks);
  return outputs;
}

const NG = "aws:eks/nodeGroup:NodeGroup";
const LT = "aws:ec2/launchTemplate:LaunchTemplate";

describe("example stack (index.ts)", () => {
  beforeEach(() => mocks.reset());

  it("Pulumi.dev.yaml: one lazy node group of m7i.xlarge in a new VPC, and the three stack outputs", async () => {
    const out = await run(stackFileConfig("Pulumi.dev.yaml"));
    const counts = countByType(mocks);
    assert.equal(counts["eks:index:Cluster"], 1);
    assert.equal(counts["aws:ec2/vpc:Vpc"], 1);
    assert.equal(counts[NG], 1);
    const ng = ofType(mocks, NG)[0].inputs;
    assert.deepEqual(ng.scalingConfig, { desiredSize: 2, minSize: 1, maxSize: 3 });
    assert.deepEqual(ng.instanceTypes, ["m7i.xlarge"]);
    assert.equal(ng.labels["soci-eks/mode"], "lazy");
    assert.equal(await promiseOf(out.clusterName), "soci-eks-eks-cluster");
    assert.deepEqual(await promiseOf(out.nodeGroupNames), ["soci-eks-default-ng-1234567"]);
    assert.equal(await pulumi.isSecret(out.kubeconfig), true);
  });

  it("Pulumi.ssd.yaml: a general group on EBS and a tainted SSD group with RAID0 for big images", async () => {
    await run(stackFileConfig("Pulumi.ssd.yaml"));
    const groups = ofType(mocks, NG);
    assert.deepEqual(groups.map((g) => g.name).sort(), ["soci-eks-big-images-ng", "soci-eks-general-ng"]);
    const big = groups.find((g) => g.name === "soci-eks-big-images-ng")!.inputs;
    assert.deepEqual(big.instanceTypes, ["m6id.2xlarge"]);
    assert.deepEqual(big.labels, { workload: "big-images", "soci-eks/mode": "parallel", "soci-eks/storage": "nvme" });
    assert.deepEqual(big.taints, [{ key: "workload", value: "big-images", effect: "NO_SCHEDULE" }]);
    assert.deepEqual(big.scalingConfig, { desiredSize: 1, minSize: 0, maxSize: 3 });
    const general = groups.find((g) => g.name === "soci-eks-general-ng")!.inputs;
    assert.deepEqual(general.labels, { "soci-eks/mode": "lazy", "soci-eks/storage": "ebs" });
    assert.deepEqual(general.taints, []);
    const bigLt = ofType(mocks, LT).find((l) => l.name === "soci-eks-big-images-lt")!;
    const [nc] = await nodeConfigs(Buffer.from(bigLt.inputs.userData, "base64").toString());
    assert.deepEqual(nc.spec.instance, { localStorage: { strategy: "RAID0" } });
    const files = await cloudConfigFiles(Buffer.from(bigLt.inputs.userData, "base64").toString());
    assert.ok(files.some((f) => f.path === "/etc/systemd/system/kubelet.service.d/10-soci-eks-local-storage.conf"), "SSD group without the kubelet instance-store check");
    const generalLt = ofType(mocks, LT).find((l) => l.name === "soci-eks-general-lt")!;
    const generalFiles = await cloudConfigFiles(Buffer.from(generalLt.inputs.userData, "base64").toString());
    assert.ok(!generalFiles.some((f) => f.path.includes("local-storage")), "EBS group must not get the instance-store check");
  });

  it("Pulumi.bottlerocket.yaml: an AL2023 lazy group and a Bottlerocket arm64 parallel group in one cluster", async () => {
    await run(stackFileConfig("Pulumi.bottlerocket.yaml"));
    const groups = ofType(mocks, NG);
    assert.deepEqual(groups.map((g) => g.name).sort(), ["soci-eks-al2023-lazy-ng", "soci-eks-bottlerocket-arm-ng"]);
    const br = groups.find((g) => g.name === "soci-eks-bottlerocket-arm-ng")!.inputs;
    assert.equal(br.amiType, "BOTTLEROCKET_ARM_64");
    assert.deepEqual(br.labels, { os: "bottlerocket", "soci-eks/mode": "parallel", "soci-eks/storage": "ebs" });
    assert.equal(groups.find((g) => g.name === "soci-eks-al2023-lazy-ng")!.inputs.amiType, "AL2023_x86_64_STANDARD");
    const brLt = ofType(mocks, LT).find((l) => l.name === "soci-eks-bottlerocket-arm-lt")!;
    const toml = parseToml(Buffer.from(brLt.inputs.userData, "base64").toString()) as any;
    assert.equal(toml.settings["container-runtime"].snapshotter, "soci");
    assert.deepEqual(brLt.inputs.blockDeviceMappings.map((m: { deviceName: string }) => m.deviceName), ["/dev/xvda", "/dev/xvdb"]);
  });

  it("bad settings: one error naming each config key, its value and the fix; no resource registered", async () => {
    pulumi.runtime.setAllConfig({
      "soci-eks:sociMode": "fast",
      "soci-eks:sociVersion": "v0.16.1",
      "soci-eks:minSize": "5",
      "soci-eks:kubernetesVersion": "1.28",
      "soci-eks:ssd": "true",
      "soci-eks:rootVolumeThroughput": "2000",
    });
    await assert.rejects(program(), (e: Error) => {
      assert.ok(e instanceof components.SociConfigError);
      assert.equal(
        e.message,
        [
          "soci-eks configuration has 6 problems; nothing was created:",
          "  - soci-eks:kubernetesVersion: '1.28' is not a version Amazon EKS lists (aws.eks.getClusterVersions). Set soci-eks:kubernetesVersion to one of 1.32, 1.33, 1.34, 1.35, 1.36 (default 1.35).",
          "  - soci-eks:sociMode: 'fast' is not one of lazy, parallel, off. Set soci-eks:sociMode to lazy (default), parallel or off.",
          "  - soci-eks:sociVersion: 'v0.16.1' has a leading v. Drop the v: set soci-eks:sociVersion to 0.16.1.",
          "  - soci-eks:minSize: 5 is greater than maxSize (4). Set soci-eks:minSize ≤ soci-eks:maxSize.",
          "  - soci-eks:rootVolumeThroughput: 2000 is outside gp3's 125..1000 MiB/s. Set soci-eks:rootVolumeThroughput between 125 and 1000 (default 600).",
          "  - soci-eks:instanceType: 'm7i.xlarge' has no NVMe instance storage, which ssd: true needs. Use a type with local NVMe SSDs, e.g. m6id.xlarge or m7gd.xlarge, or set soci-eks:ssd to false.",
        ].join("\n"),
      );
      return true;
    });
    await settle(mocks);
    assert.deepEqual(mocks.resources, []);
  });

  it("nodeGroups: inherited settings are named by their top-level key, a group's own by its index", async () => {
    pulumi.runtime.setAllConfig({
      "soci-eks:sociSha256": TEST_ONLY_SOCI_SHA256,
      "soci-eks:instanceType": "t3.small",
      "soci-eks:nodeGroups": JSON.stringify([{ name: "a" }, { name: "b", instanceType: "m7i.xlarge", ssd: true }]),
    });
    await assert.rejects(program(), (e: Error) => {
      assert.deepEqual(
        (e as InstanceType<typeof components.SociConfigError>).problems.map(components.formatProblem),
        [
          "soci-eks:instanceType: 't3.small' has 2 vCPU and 2 GiB; SOCI lazy mode needs at least 2 vCPU and 4 GiB. Use a larger type (e.g. t3.medium, m7i.large or m7g.large), or set soci-eks:sociMode to off.",
          "soci-eks:nodeGroups[1].instanceType: 'm7i.xlarge' has no NVMe instance storage, which ssd: true needs. Use a type with local NVMe SSDs, e.g. m6id.xlarge or m7gd.xlarge, or set soci-eks:nodeGroups[1].ssd to false.",
        ],
      );
      return true;
    });
    await settle(mocks);
    assert.deepEqual(mocks.resources, []);
  });

  it("a malformed nodeGroups setting is reported before anything is looked up or created", async () => {
    pulumi.runtime.setAllConfig({ "soci-eks:nodeGroups": JSON.stringify([{ instanceType: 5, disk: "big" }, "x"]) });
    await assert.rejects(program(), (e: Error) => {
      assert.deepEqual((e as InstanceType<typeof components.SociConfigError>).problems.map(components.formatProblem), [
        "soci-eks:nodeGroups[0].instanceType: 5 is a number, not a string. Write instanceType as a string.",
        "soci-eks:nodeGroups[0].disk is not a node group setting. Use only name, instanceType, os, ssd, keepSociOnRootVolume, sociMode, onSociFailure, labels, taints, desiredSize, minSize, maxSize, capacityType, rootVolumeSizeGiB, rootVolumeIops, rootVolumeThroughput.",
        "soci-eks:nodeGroups[0].name is missing. Give every node group a name, e.g. general.",
        "soci-eks:nodeGroups[1]: 'x' is not an object. Give each node group as an object with at least a name.",
      ]);
      return true;
    });
    assert.deepEqual(mocks.invokes, []);
    assert.deepEqual(mocks.resources, []);
  });

  it("os: bottlerocket (top level or per group) gives Bottlerocket node groups with TOML user data and the /dev/xvdb data volume", async () => {
    await run({
      "soci-eks:sociMode": "parallel",
      "soci-eks:rootVolumeSizeGiB": "150",
      "soci-eks:nodeGroups": JSON.stringify([{ name: "al", sociMode: "lazy" }, { name: "br", os: "bottlerocket", instanceType: "m7g.xlarge" }]),
    });
    const groups = ofType(mocks, NG);
    assert.equal(groups.find((g) => g.name === "soci-eks-al-ng")!.inputs.amiType, "AL2023_x86_64_STANDARD");
    const br = groups.find((g) => g.name === "soci-eks-br-ng")!.inputs;
    assert.equal(br.amiType, "BOTTLEROCKET_ARM_64");
    assert.equal(br.labels["soci-eks/mode"], "parallel");
    const brLt = ofType(mocks, LT).find((l) => l.name === "soci-eks-br-lt")!.inputs;
    const doc = parseToml(Buffer.from(brLt.userData, "base64").toString()) as any;
    assert.equal(doc.settings["container-runtime"].snapshotter, "soci");
    assert.deepEqual(brLt.blockDeviceMappings.map((m: { deviceName: string; ebs: { volumeSize: number } }) => [m.deviceName, m.ebs.volumeSize]), [["/dev/xvda", 4], ["/dev/xvdb", 150]]);

    mocks.reset();
    await run({ "soci-eks:os": "bottlerocket", "soci-eks:sociMode": "off", "soci-eks:sociSha256": "" });
    assert.equal(ofType(mocks, NG)[0].inputs.amiType, "BOTTLEROCKET_x86_64");
  });

  it("os: a bad value, and bottlerocket with the default lazy mode, are config errors naming the keys; nothing registered", async () => {
    pulumi.runtime.setAllConfig({ "soci-eks:os": "windows" });
    await assert.rejects(program(), (e: Error) => {
      assert.deepEqual((e as InstanceType<typeof components.SociConfigError>).problems.map(components.formatProblem), [
        "soci-eks:os: 'windows' is not one of al2023, bottlerocket. Set soci-eks:os to al2023 (default) or bottlerocket.",
      ]);
      return true;
    });
    pulumi.runtime.setAllConfig({ "soci-eks:os": "bottlerocket" });
    await assert.rejects(program(), (e: Error) => {
      assert.equal(
        e.message,
        "soci-eks configuration has 1 problem; nothing was created:\n" +
          "  - soci-eks:sociMode: 'lazy' is not available on Bottlerocket (it has SOCI parallel pull only). Set soci-eks:sociMode to parallel or off (lazy is the default, so a Bottlerocket node group must set it), or set soci-eks:os to al2023.",
      );
      return true;
    });
    pulumi.runtime.setAllConfig({ "soci-eks:sociSha256": TEST_ONLY_SOCI_SHA256, "soci-eks:nodeGroups": JSON.stringify([{ name: "a" }, { name: "b", os: "bottlerocket" }, { name: "c", os: 5 }]) });
    await assert.rejects(program(), (e: Error) => {
      assert.deepEqual((e as InstanceType<typeof components.SociConfigError>).problems.map(components.formatProblem), [
        "soci-eks:nodeGroups[2].os: 5 is a number, not a string. Write os as a string.",
      ]);
      return true;
    });
    pulumi.runtime.setAllConfig({ "soci-eks:sociSha256": TEST_ONLY_SOCI_SHA256, "soci-eks:nodeGroups": JSON.stringify([{ name: "a" }, { name: "b", os: "bottlerocket" }]) });
    await assert.rejects(program(), (e: Error) => {
      assert.deepEqual((e as InstanceType<typeof components.SociConfigError>).problems.map(components.formatProblem), [
        "soci-eks:sociMode: 'lazy' is not available on Bottlerocket (it has SOCI parallel pull only). Set soci-eks:sociMode to parallel or off (lazy is the default, so a Bottlerocket node group must set it), or set soci-eks:nodeGroups[1].os to al2023.",
      ]);
      return true;
    });
    await settle(mocks);
    assert.deepEqual(mocks.resources, []);
  });

  it("loadStackConfig reads os (default al2023) and nodeGroups entries may set it", () => {
    const config = (values: Record<string, string>) => {
      pulumi.runtime.setAllConfig(values);
      return components.loadStackConfig();
    };
    assert.equal(config({}).os, "al2023");
    assert.equal(config({ "soci-eks:os": "" }).os, "al2023");
    assert.equal(config({ "soci-eks:os": "bottlerocket" }).os, "bottlerocket");
    const cfg = config({ "soci-eks:os": "bottlerocket", "soci-eks:nodeGroups": JSON.stringify([{ name: "a" }, { name: "b", os: "al2023" }]) });
    const { args } = components.clusterArgsFromStackConfig(cfg);
    assert.deepEqual(args.nodeGroups.map((g) => g.os), ["bottlerocket", "al2023"]);
  });

  it("a misspelt soci-eks key is refused with the closest valid name, before any resource (the Pulumi CLI ignores it)", async () => {
    pulumi.runtime.setAllConfig({ "soci-eks:instanceTypo": "m7g.xlarge", "soci-eks:sociMod": "off", "soci-eks:zzz": "1", "aws:region": "us-west-2" });
    await assert.rejects(program(), (e: Error) => {
      assert.ok(e instanceof components.SociConfigError);
      assert.equal(
        e.message,
        [
          "soci-eks configuration has 3 problems; nothing was created:",
          "  - soci-eks:instanceTypo: 'm7g.xlarge' is not a soci-eks setting. Did you mean instanceType? Remove it (pulumi config rm soci-eks:instanceTypo) or use a setting from docs/config-reference.md.",
          "  - soci-eks:sociMod: 'off' is not a soci-eks setting. Did you mean sociMode? Remove it (pulumi config rm soci-eks:sociMod) or use a setting from docs/config-reference.md.",
          "  - soci-eks:zzz: '1' is not a soci-eks setting. Remove it (pulumi config rm soci-eks:zzz) or use a setting from docs/config-reference.md.",
        ].join("\n"),
      );
      return true;
    });
    await settle(mocks);
    assert.deepEqual(mocks.resources, []);
  });

  it("a misspelt nodeGroups key gets the closest valid name too", () => {
    const problems: import("../../validation").ConfigProblem[] = [];
    components.parseNodeGroups([{ name: "a", instanceTyp: "m7i.xlarge" }], problems);
    assert.match(problems[0].fix, /^Did you mean instanceType\? Use only name, instanceType/);
  });

  it("the default release without soci-eks:sociSha256 is refused before anything exists, naming the key and the tarball", async () => {
    await assert.rejects(run({ "soci-eks:sociSha256": "" }), (e: Error) => {
      assert.match(e.message, /soci-eks:sociSha256 is unset: no sha256 for soci-snapshotter-0\.16\.1-linux-amd64\.tar\.gz, and soci-eks ships none for 0\.16\.1/);
      assert.match(e.message, /or set soci-eks:sociVersion to a version whose digests soci-eks ships \(0\.14\.1, 0\.14\.0, 0\.13\.0\)/);
      return true;
    });
    await settle(mocks);
    assert.deepEqual(mocks.resources, []);
    mocks.reset();
    await run({ "soci-eks:sociSha256": "", "soci-eks:sociVersion": "0.14.1" });
    const env = (await cloudConfigFiles(Buffer.from(ofType(mocks, LT)[0].inputs.userData, "base64").toString())).find((f) => f.path === "/etc/soci-eks/install.env")!.content;
    assert.match(env, /^SOCI_EKS_SOCI_SHA256='1a8dba2a14c1ba8b65e0b935ef697e22eb8324759961a65296e656dd724d9441'$/m, "0.14.1's shipped amd64 digest");
  });

  it("an http:// mirror without a digest is refused like any other, and the error names the digest key; nothing is warned", async () => {
    const warnings = await captureWarnings(async () => {
      await assert.rejects(run({ "soci-eks:sociMirrorUrl": "http://mirror.internal/soci", "soci-eks:sociSha256": "" }), /soci-eks:sociSha256 is unset: no sha256/);
      mocks.reset();
      await run({ "soci-eks:sociMirrorUrl": "http://mirror.internal/soci" });
    });
    assert.deepEqual(warnings.filter((w) => w.includes("mirror")), []);
  });

  it("a Kubernetes version in extended support is deployed with a warning", async () => {
    const warnings = await captureWarnings(async () => {
    await run({ "soci-eks:kubernetesVersion": "1.33" });
    });
    assert.equal(ofType(mocks, "eks:index:Cluster")[0].inputs.version, "1.33");
    const versionWarnings = warnings.filter((w) => w.includes("kubernetesVersion"));
    assert.equal(versionWarnings.length, 1);
    assert.match(versionWarnings[0], /^soci-eks:kubernetesVersion: Kubernetes 1\.33 is in EKS extended support until 2027-07-29/);
  });

  it("empty optional settings (the Pulumi.yaml defaults \"\" and []) mean unset", async () => {
    await run({ "soci-eks:sociVersion": "0.14.1", "soci-eks:sociSha256": "", "soci-eks:existingVpcId": "", "soci-eks:existingSubnetIds": "[]", "soci-eks:nodeGroups": "[]", "soci-eks:extraEcrRegistries": "[]" });
    assert.equal(ofType(mocks, "aws:ec2/vpc:Vpc").length, 1);
    assert.equal(ofType(mocks, NG).length, 1);
  });
});
