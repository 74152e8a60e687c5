import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import * as path from "path";
import { after, beforeEach, describe, it } from "node:test";
import { parse as parseToml } from "smol-toml";
import { parse as parseYaml } from "yaml";
import { NODE_FILES_BUNDLE } from "../../userdata/paths";
import { eksClusterOutputs, installMocks, one, promiseOf, settle, RecordedResource } from "../helpers/mocks";
import { eksManagedNodeGroupUserData, eksNodeGroupV2UserData, rawParts, RecordedMngInputs, RecordedV2Inputs } from "../helpers/eksUserData";
import { parseMime } from "../helpers/userdata";
import { REPO_ROOT } from "../helpers/sociWiring";

const mocks = installMocks(false);
// Components and @pulumi/eks load after the mocks are installed.
// eslint-disable-next-line @typescript-eslint/no-var-requires
const components: typeof import("../../components") = require("../../components");
// eslint-disable-next-line @typescript-eslint/no-var-requires
const eks: typeof import("@pulumi/eks") = require("@pulumi/eks");
const { SociNodeGroup, SociConfigError, sociForEks, lookupSociForEks } = components;
type SociForEksArgs = import("../../components").SociForEksArgs;
type InstanceFacts = import("../../components").InstanceFacts;

const LT = "aws:ec2/launchTemplate:LaunchTemplate";
const MNG = "eks:index:ManagedNodeGroup";

const M7I: InstanceFacts = { instanceType: "m7i.xlarge", vcpus: 4, memoryMiB: 16384, architectures: ["x86_64"], gpus: 0 };
const M6ID: InstanceFacts = {
  instanceType: "m6id.2xlarge",
  vcpus: 8,
  memoryMiB: 32768,
  architectures: ["x86_64"],
  gpus: 0,
  instanceStorage: { totalSizeGiB: 474, diskCount: 1, nvmeSupport: "required" },
};
const M7G: InstanceFacts = { instanceType: "m7g.xlarge", vcpus: 4, memoryMiB: 16384, architectures: ["arm64"], gpus: 0 };

/** The cluster fields @pulumi/eks reads from the (mocked) eks.Cluster named `c`. */
function clusterMetadata() {
  const c = eksClusterOutputs("c").eksCluster as { name: string; endpoint: string; certificateAuthority: { data: string } };
  return { name: c.name, apiServerEndpoint: c.endpoint, certificateAuthority: c.certificateAuthority.data, serviceCidr: "172.20.0.0/16" };
}

function userDataOf(lt: RecordedResource): string {
  return Buffer.from(lt.inputs.userData, "base64").toString("utf8");
}

/** A SociNodeGroup and an eks.ManagedNodeGroup with sociForEks, from the same settings; the recorded resources. */
async function bothWays(name: string, args: SociForEksArgs) {
  const ng = new SociNodeGroup(`${name}-soci`, { clusterName: "c-eks-cluster", subnetIds: ["subnet-a"], ...args });
  await promiseOf(ng.userData);
  await settle(mocks);
  const lt = one(mocks, LT);

  const cluster = new eks.Cluster("c", { skipDefaultNodeGroup: true });
  const soci = sociForEks(`${name}-eks`, args);
  // Pulumi's mock monitor has no transforms support (the SDK refuses `transforms` under setMocks: "The Pulumi CLI
  // does not support transforms"), so the program leaves them out here and the tests call them directly.
  const mng = new eks.ManagedNodeGroup(`${name}-eks`, { cluster, nodeRoleArn: "arn:aws:iam::123456789012:role/nodes", ...soci.managedNodeGroupArgs });
  await promiseOf(mng.urn);
  await settle(mocks);
  const recorded = one(mocks, MNG);
  return { soci, sociLt: lt, sociUserData: userDataOf(lt), mngInputs: recorded.inputs as RecordedMngInputs, recorded };
}

describe("sociForEks: validation is SociNodeGroup's", () => {
  beforeEach(() => mocks.reset());

  const cases: [string, SociForEksArgs][] = [
    ["a mode that does not exist", { instanceFacts: M7I, sociMode: "fast" as never }],
    ["lazy on Bottlerocket (the default mode)", { instanceFacts: M7I, os: "bottlerocket" }],
    ["ssd on a type without NVMe instance storage", { instanceFacts: M7I, ssd: true }],
    ["gp3 limits", { instanceFacts: M7I, rootVolume: { sizeGiB: 10, iops: 20000, throughputMiBps: 2000 } }],
    ["a bad label and a bad taint", { instanceFacts: M7I, labels: { "bad key!": "x" }, taints: [{ key: "k", effect: "Sometimes" as never }] }],
    ["extra ECR registries on Bottlerocket", { instanceFacts: M7I, os: "bottlerocket", sociMode: "parallel", extraEcrRegistries: ["111122223333.dkr.ecr.us-west-2.amazonaws.com"] }],
    ["a hop limit out of range and a bad digest", { instanceFacts: M7I, metadataHopLimit: 0, soci: { sha256: "abc" } }],
    ["an OS that does not exist", { instanceFacts: M7I, os: "windows" as never }],
  ];
  for (const [what, args] of cases) {
    it(`${what}: the same problems, word for word`, () => {
      let ours: InstanceType<typeof SociConfigError> | undefined;
      let theirs: InstanceType<typeof SociConfigError> | undefined;
      try {
        sociForEks("ng", args);
      } catch (e) {
        ours = e as InstanceType<typeof SociConfigError>;
      }
      try {
        new SociNodeGroup("ng", { clusterName: "k", subnetIds: [], ...args });
      } catch (e) {
        theirs = e as InstanceType<typeof SociConfigError>;
      }
      assert.ok(theirs instanceof SociConfigError, "SociNodeGroup refuses it");
      assert.ok(ours instanceof SociConfigError, "sociForEks refuses it");
      assert.ok(ours.problems.length > 0);
      assert.deepEqual(ours.problems, theirs.problems);
      assert.equal(ours.message.replace(/^sociForEks 'ng'/, "SociNodeGroup 'ng'"), theirs.message);
    });
  }

  it("facts of another instance type: the same problem, pointing at lookupSociForEks", () => {
    assert.throws(
      () => sociForEks("mm", { instanceType: "m7i.xlarge", instanceFacts: M7G }),
      (e: Error) =>
        e.message ===
        "sociForEks 'mm' has 1 problem; nothing was created:\n" +
          "  - mm.instanceFacts: 'm7g.xlarge' describe a different type than instanceType (m7i.xlarge). Pass the facts of instanceType, or use lookupSociForEks to look them up.",
    );
  });

  it("lookupSociForEks: an unknown instance type is reported like SociNodeGroup.create reports it", async () => {
    const ours = await lookupSociForEks("nope", { instanceType: "m99.huge" }).then(() => undefined, (e: Error) => e);
    const theirs = await SociNodeGroup.create("nope", { clusterName: "k", subnetIds: [], instanceType: "m99.huge" }).then(() => undefined, (e: Error) => e);
    assert.ok(ours instanceof SociConfigError && theirs instanceof SociConfigError);
    assert.deepEqual(ours.problems, theirs.problems);
    assert.match(ours.message, /nope\.instanceType: 'm99\.huge' was not found by EC2 DescribeInstanceTypes/);
  });

  it("lookupSociForEks looks the facts up (EC2 DescribeInstanceTypes)", async () => {
    const soci = await lookupSociForEks("arm", { instanceType: "m7g.xlarge" });
    assert.equal(soci.architecture, "arm64");
    assert.equal(soci.managedNodeGroupArgs.amiType, "AL2023_ARM_64_STANDARD");
    assert.deepEqual(mocks.invokes.map((i) => i.token), ["aws:ec2/getInstanceType:getInstanceType"]);
  });

  it("user data over EC2's 16 KiB limit is refused", () => {
    // Labels travel uncompressed in @pulumi/eks's kubelet-flags part, so many long ones overflow the document.
    const labels = Object.fromEntries(Array.from({ length: 200 }, (_, i) => [`example.com/label-${i}`, `v${i}`.padEnd(63, "x")]));
    assert.throws(() => sociForEks("big", { instanceFacts: M7I, labels }), /big\.userData: '\d+ bytes' exceeds EC2's 16384-byte user data limit/);
  });
});

const workdirs: string[] = [];
after(() => workdirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** What Debian's cloud-init (test/consumers/cloudinit_consume.py) does with a document: script contents, files, the merged cloud-config. */
function cloudInit(userData: string): { scripts: string[]; writeFiles: string[]; cloudConfig?: string; unhandled: string[] } {
  const workdir = mkdtempSync(path.join(tmpdir(), "soci-eks-eksplugin-"));
  workdirs.push(workdir);
  writeFileSync(path.join(workdir, "user-data"), userData);
  const r = spawnSync("/usr/bin/python3", [path.join(REPO_ROOT, "test/consumers/cloudinit_consume.py"), path.join(workdir, "user-data"), workdir], { encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  const report = JSON.parse(r.stdout) as { scripts: string[]; write_files: string[]; unhandled: string[] };
  // The cloud-config handler keeps the merged document per instance: cloud/instances/<instance id>/cloud-config.txt.
  const instances = path.join(workdir, "cloud/instances");
  const cloudConfigFiles = existsSync(instances)
    ? readdirSync(instances).map((id) => path.join(instances, id, "cloud-config.txt")).filter((f) => existsSync(f))
    : [];
  assert.ok(cloudConfigFiles.length <= 1);
  return {
    scripts: report.scripts.map((f) => readFileSync(path.join(workdir, "cloud/instance/scripts", f), "utf8")),
    writeFiles: report.write_files,
    // It names the parts it merged ("# part-004"): their numbers shift by @pulumi/eks's two parts.
    cloudConfig: cloudConfigFiles.length === 1 ? readFileSync(cloudConfigFiles[0], "utf8").replace(/^# part-\d+$/gm, "# part-N") : undefined,
    unhandled: report.unhandled,
  };
}

describe("eks.ManagedNodeGroup + sociForEks on AL2023: the node gets SociNodeGroup's parts", () => {
  beforeEach(() => mocks.reset());

  const variants: [string, SociForEksArgs][] = [
    ["lazy, defaults", { instanceFacts: M7I }],
    ["parallel, arm64, labels and taints", { instanceFacts: M7G, instanceType: "m7g.xlarge", sociMode: "parallel", labels: { team: "ml" }, taints: [{ key: "gpu", value: "yes", effect: "NoSchedule" }, { key: "dedicated", effect: "NoExecute" }] }],
    ["ssd, extra registries, pinned digest", { instanceFacts: M6ID, instanceType: "m6id.2xlarge", ssd: true, keepSociOnRootVolume: true, extraEcrRegistries: ["111122223333.dkr.ecr.us-west-2.amazonaws.com"], soci: { sha256: "a".repeat(64) } }],
    ["off", { instanceFacts: M7I, sociMode: "off" }],
  ];

  for (const [what, args] of variants) {
    it(`${what}: our parts byte for byte after @pulumi/eks's own NodeConfig parts`, async () => {
      const { soci, sociUserData, mngInputs } = await bothWays("al", args);
      const eksUserData = eksManagedNodeGroupUserData(mngInputs, clusterMetadata());

      // Raw part bytes (headers, blank line, body): every part of ours, in order, at the end of @pulumi/eks's document.
      const ourRaw = rawParts(sociUserData);
      const eksRaw = rawParts(eksUserData);
      assert.ok(ourRaw.length >= 1);
      assert.deepEqual(eksRaw.slice(eksRaw.length - ourRaw.length), ourRaw);
      assert.equal(soci.userData.text, sociUserData);

      // A MIME parser sees the same: @pulumi/eks's parts first (NodeConfig with the cluster, NodeConfig with the
      // kubelet flags for labels and taints), then ours, decoded.
      const ours = await parseMime(sociUserData);
      const theirs = await parseMime(eksUserData);
      assert.deepEqual(theirs.slice(2), ours);
      const [clusterPart, flagsPart] = theirs.slice(0, 2).map((p) => {
        assert.equal(p.contentType, "application/node.eks.aws");
        return parseYaml(p.content) as { spec: Record<string, any> };
      });
      assert.deepEqual(clusterPart.spec.cluster, { name: "c-cluster", apiServerEndpoint: "https://ABC.gr7.us-west-2.eks.amazonaws.com", certificateAuthority: Buffer.from("mock-ca").toString("base64"), cidr: "172.20.0.0/16" });
      assert.deepEqual({ ...mngInputs.labels }, soci.managedNodeGroupArgs.labels);
      const labelFlag = `--node-labels=${Object.entries(mngInputs.labels!).map(([k, v]) => `${k}=${v}`).join(",")}`;
      const taintFlags = (args.taints ?? []).map((t) => `${t.key}${t.value ? `=${t.value}` : ""}:${t.effect}`);
      assert.deepEqual(flagsPart.spec.kubelet.flags, [labelFlag, ...(taintFlags.length > 0 ? [`--register-with-taints=${taintFlags.join(",")}`] : [])]);
      assert.match(labelFlag, new RegExp(`soci-eks/mode=${args.sociMode ?? "lazy"}`));
      assert.ok(Buffer.byteLength(eksUserData) <= 16384, `${Buffer.byteLength(eksUserData)} bytes`);

      // The node's consumer: Debian's cloud-init, given @pulumi/eks's document and SociNodeGroup's, runs the same
      // scripts and writes the same files, and leaves the same kind of parts (NodeConfig) to nodeadm.
      const eksNode = cloudInit(eksUserData);
      const sociNode = cloudInit(sociUserData);
      assert.deepEqual(eksNode.scripts, sociNode.scripts);
      assert.deepEqual(eksNode.writeFiles, sociNode.writeFiles);
      assert.deepEqual(eksNode.cloudConfig, sociNode.cloudConfig);
      assert.deepEqual([...new Set(eksNode.unhandled)], ["application/node.eks.aws"]);
      if ((args.sociMode ?? "lazy") !== "off") {
        assert.ok(eksNode.scripts.length > 0 && eksNode.writeFiles.includes(NODE_FILES_BUNDLE));
        assert.match(eksNode.cloudConfig ?? "", /soci-eks/);
      }
    });
  }

  it("the arguments: AMI type, instance type, labels, IMDSv2, disk size; the transform sets SociNodeGroup's volumes and metadata", async () => {
    const args: SociForEksArgs = { instanceFacts: M7I, rootVolume: { sizeGiB: 200, iops: 8000, throughputMiBps: 700 }, metadataHopLimit: 2, labels: { a: "b" } };
    const { soci, sociLt, mngInputs } = await bothWays("args", args);
    assert.equal(mngInputs.amiType, "AL2023_x86_64_STANDARD");
    assert.deepEqual((mngInputs as Record<string, unknown>).instanceTypes, ["m7i.xlarge"]);
    assert.deepEqual(mngInputs.labels, { a: "b", "soci-eks/mode": "lazy", "soci-eks/storage": "ebs" });
    assert.equal((mngInputs as Record<string, unknown>).enableIMDSv2, true);
    assert.equal((mngInputs as Record<string, unknown>).diskSize, 200);

    // The launch template @pulumi/eks 4.3.0 registers for these args (createMNGCustomLaunchTemplate): diskSize on
    // /dev/xvda, IMDSv2 with hop limit 2. The transform turns it into SociNodeGroup's.
    const eksProps = {
      blockDeviceMappings: [{ deviceName: "/dev/xvda", ebs: { volumeSize: 200 } }],
      userData: "TUlNRQ==",
      metadataOptions: { httpTokens: "required", httpPutResponseHopLimit: 2, httpEndpoint: "enabled" },
      imageId: "ami-0123456789abcdef0",
    };
    const out = await soci.transforms[0]({ type: LT, name: "args-eks-launchTemplate", custom: true, props: eksProps, opts: {} });
    assert.ok(out);
    assert.deepEqual(out.props.blockDeviceMappings, sociLt.inputs.blockDeviceMappings);
    assert.deepEqual(out.props.metadataOptions, sociLt.inputs.metadataOptions);
    assert.deepEqual(out.props.blockDeviceMappings, [
      { deviceName: "/dev/xvda", ebs: { volumeType: "gp3", volumeSize: 200, iops: 8000, throughput: 700, encrypted: "true", deleteOnTermination: "true" } },
    ]);
    assert.deepEqual(out.props.metadataOptions, { httpEndpoint: "enabled", httpTokens: "required", httpPutResponseHopLimit: 2 });
    assert.equal(out.props.userData, eksProps.userData);
    assert.equal(out.props.imageId, eksProps.imageId);
    for (const type of [MNG, "aws:eks/nodeGroup:NodeGroup", "aws:ec2/placementGroup:PlacementGroup"]) {
      assert.equal(await soci.transforms[0]({ type, name: "x", custom: true, props: eksProps, opts: {} }), undefined, type);
    }
  });

  it("NodeGroupV2 arguments: encrypted gp3 root volume with our size, IOPS and throughput; taints keyed by key", () => {
    const soci = sociForEks("v2", { instanceFacts: M7I, taints: [{ key: "k", effect: "NoSchedule" }] });
    const v2 = soci.nodeGroupV2Args;
    assert.deepEqual(
      [v2.nodeRootVolumeSize, v2.nodeRootVolumeType, v2.nodeRootVolumeIops, v2.nodeRootVolumeThroughput, v2.nodeRootVolumeEncrypted, v2.nodeRootVolumeDeleteOnTermination],
      [100, "gp3", 6000, 600, true, true],
    );
    assert.deepEqual(v2.taints, { k: { value: "", effect: "NoSchedule" } });
    assert.equal(v2.instanceType, "m7i.xlarge");
    assert.deepEqual(v2.nodeadmExtraOptions, soci.managedNodeGroupArgs.nodeadmExtraOptions);
    // The args type-check against @pulumi/eks's own: a NodeGroupV2 accepts them.
    const typed: Partial<import("@pulumi/eks").NodeGroupV2Args> = v2;
    const typedMng: Partial<import("@pulumi/eks").ManagedNodeGroupArgs> = soci.managedNodeGroupArgs;
    assert.ok(typed && typedMng);
  });
});

describe("eks.ManagedNodeGroup + sociForEks on Bottlerocket: the node gets SociNodeGroup's settings", () => {
  beforeEach(() => mocks.reset());

  for (const [what, args] of [
    ["parallel", { instanceFacts: M7I, os: "bottlerocket", sociMode: "parallel" }],
    ["parallel, ssd, labels, taints", { instanceFacts: M6ID, instanceType: "m6id.2xlarge", os: "bottlerocket", sociMode: "parallel", ssd: true, labels: { team: "ml" }, taints: [{ key: "gpu", effect: "NoSchedule" }] }],
    ["off", { instanceFacts: M7I, os: "bottlerocket", sociMode: "off" }],
  ] as [string, SociForEksArgs][]) {
    it(`${what}: @pulumi/eks's TOML holds our settings unchanged, with its cluster settings, labels and taints`, async () => {
      const { soci, sociUserData, mngInputs, sociLt } = await bothWays("br", args);
      assert.equal(mngInputs.amiType, "BOTTLEROCKET_x86_64");
      assert.equal(mngInputs.nodeadmExtraOptions, undefined);
      const eksToml = eksManagedNodeGroupUserData(mngInputs, clusterMetadata());
      const theirs = parseToml(eksToml) as { settings: Record<string, any> };
      const ours = parseToml(sociUserData) as { settings: Record<string, any> };
      const { kubernetes, ...rest } = theirs.settings;
      const { kubernetes: ourKubernetes, ...ourRest } = ours.settings;
      assert.deepEqual(rest, ourRest);
      assert.equal(ourKubernetes, undefined, "SociNodeGroup leaves cluster, labels and taints to EKS");
      assert.deepEqual({ ...kubernetes["node-labels"] }, soci.managedNodeGroupArgs.labels);
      assert.equal(kubernetes["cluster-name"], "c-cluster");
      assert.equal(kubernetes["cluster-dns-ip"], "172.20.0.10");
      // TOML integers stay integers through @pulumi/eks's serializer (Bottlerocket refuses floats).
      if (args.sociMode === "parallel") {
        assert.match(eksToml, /^\s*max-concurrent-downloads = \d+$/m);
        assert.match(eksToml, /^\s*concurrent-download-chunk-size = "\w+"$/m);
      }
      // The transform gives the launch template SociNodeGroup's Bottlerocket volumes (4 GiB OS, data volume).
      const out = await soci.transforms[0]({ type: LT, name: "br-eks-launchTemplate", custom: true, props: { blockDeviceMappings: [{ deviceName: "/dev/xvdb", ebs: { volumeSize: 100 } }] }, opts: {} });
      assert.deepEqual(out!.props.blockDeviceMappings, sociLt.inputs.blockDeviceMappings);
    });
  }
});

describe("eks.NodeGroupV2 (self-managed) + sociForEks: the node gets SociNodeGroup's parts and settings", () => {
  beforeEach(() => mocks.reset());

  async function v2(name: string, args: SociForEksArgs) {
    const ng = new SociNodeGroup(`${name}-soci`, { clusterName: "c-eks-cluster", subnetIds: ["subnet-a"], ...args });
    await promiseOf(ng.userData);
    await settle(mocks);
    const sociUserData = userDataOf(one(mocks, LT));
    const cluster = new eks.Cluster("c", { skipDefaultNodeGroup: true });
    const soci = sociForEks(`${name}-eks`, args);
    const group = new eks.NodeGroupV2(`${name}-eks`, { cluster, instanceProfileName: "nodes", ...soci.nodeGroupV2Args });
    await promiseOf(group.urn);
    await settle(mocks);
    const inputs = one(mocks, "eks:index:NodeGroupV2").inputs as RecordedV2Inputs;
    return { soci, sociUserData, inputs, eksUserData: eksNodeGroupV2UserData(inputs, clusterMetadata()) };
  }

  it("AL2023, lazy with a taint: our parts byte for byte at the end", async () => {
    const { sociUserData, inputs, eksUserData } = await v2("v2", { instanceFacts: M7I, taints: [{ key: "k", value: "v", effect: "NoSchedule" }] });
    const ourRaw = rawParts(sociUserData);
    const eksRaw = rawParts(eksUserData);
    assert.deepEqual(eksRaw.slice(eksRaw.length - ourRaw.length), ourRaw);
    assert.equal(eksRaw.length, ourRaw.length + 2);
    assert.match(eksRaw[1], /--register-with-taints=k=v:NoSchedule/);
    assert.deepEqual({ ...inputs.taints }, { k: { value: "v", effect: "NoSchedule" } });
  });

  it("Bottlerocket, parallel: our settings unchanged in @pulumi/eks's TOML", async () => {
    const { sociUserData, eksUserData } = await v2("v2br", { instanceFacts: M7I, os: "bottlerocket", sociMode: "parallel" });
    const { kubernetes, ...rest } = (parseToml(eksUserData) as { settings: Record<string, unknown> }).settings;
    const { ...ours } = (parseToml(sociUserData) as { settings: Record<string, unknown> }).settings;
    assert.deepEqual(rest, ours);
    assert.ok(kubernetes);
  });
});

describe("the pinned @pulumi/eks", () => {
  it("its ManagedNodeGroup is a remote component: the plug-in's mock test reads the recorded inputs, not a launch template", async () => {
    mocks.reset();
    const cluster = new eks.Cluster("c", { skipDefaultNodeGroup: true });
    const mng = new eks.ManagedNodeGroup("probe", { cluster, nodeRoleArn: "arn:aws:iam::123456789012:role/nodes" });
    await promiseOf(mng.urn);
    await settle(mocks);
    assert.equal(mocks.resources.filter((r) => r.type === LT).length, 0);
    assert.match(await promiseOf(mng.urn), /eks:index:ManagedNodeGroup::probe$/);
  });
});
