import { strict as assert } from "assert";
import { pinnedComponents } from "../helpers/pinned";
import { spawnSync } from "child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import * as path from "path";
import { after, beforeEach, describe, it } from "node:test";
import { parse as parseToml } from "smol-toml";
import { parse as parseYaml } from "yaml";
import { NODE_FILES_BUNDLE } from "../../userdata/paths";
import { captureWarnings, eksClusterOutputs, installMocks, one, promiseOf, settle, RecordedResource } from "../helpers/mocks";
import { eksNodeGroupV2UserData, rawParts, RecordedV2Inputs } from "../helpers/eksUserData";
import { parseMime } from "../helpers/userdata";
import { REPO_ROOT } from "../helpers/sociWiring";

const mocks = installMocks(false);
// Components and @pulumi/eks load after the mocks are installed.
// eslint-disable-next-line @typescript-eslint/no-var-requires
const components: typeof import("../../components") = require("../../components");
// eslint-disable-next-line @typescript-eslint/no-var-requires
const eks: typeof import("@pulumi/eks") = require("@pulumi/eks");
const { SociConfigError } = components;
// Groups of the default release get test-only digests (test/helpers/pinned.ts).
const { SociNodeGroup, sociForEks, lookupSociForEks, sociForEksSelfManaged, lookupSociForEksSelfManaged } = pinnedComponents(components);
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

/** A SociNodeGroup's launch template, from the same settings. */
async function sociNodeGroupLaunchTemplate(name: string, args: SociForEksArgs): Promise<RecordedResource> {
  mocks.reset();
  const ng = new SociNodeGroup(`${name}-soci`, { clusterName: "c-eks-cluster", subnetIds: ["subnet-a"], ...args });
  await promiseOf(ng.userData);
  await settle(mocks);
  return one(mocks, LT);
}

/**
 * What a user's program registers with the plug-in and no `transforms` (Pulumi's mock monitor has no transforms
 * support: the SDK refuses the option under setMocks, "The Pulumi CLI does not support transforms"): an eks.Cluster,
 * sociForEks, an eks.ManagedNodeGroup with its arguments spread in.
 */
async function managedNodeGroup(name: string, args: SociForEksArgs) {
  mocks.reset();
  const cluster = new eks.Cluster("c", { skipDefaultNodeGroup: true });
  const soci = sociForEks(name, args);
  const mng = new eks.ManagedNodeGroup(name, { cluster, nodeRoleArn: "arn:aws:iam::123456789012:role/nodes", ...soci.managedNodeGroupArgs });
  await promiseOf(mng.urn);
  await settle(mocks);
  return { soci, lt: one(mocks, LT), mng: one(mocks, MNG), types: mocks.resources.map((r) => r.type).sort() };
}

/**
 * The arguments with which @pulumi/eks 4.3.0's ManagedNodeGroup creates a launch template of its own (and refuses a
 * user's `launchTemplate`): `customLaunchTemplateArgs` in its nodejs/eks/nodes/nodegroup.ts (createManagedNodeGroup),
 * read at tag v4.3.0. `diskSize` is refused by EKS together with a launch template (CreateNodegroup API reference).
 */
const EKS_OWN_LAUNCH_TEMPLATE_ARGS = ["kubeletExtraArgs", "bootstrapExtraArgs", "bottlerocketSettings", "nodeadmExtraOptions", "enableIMDSv2", "userData", "amiId", "enableEfaSupport"];

describe("sociForEks and sociForEksSelfManaged: validation is SociNodeGroup's", () => {
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
    ["a failure policy that does not exist", { instanceFacts: M7I, onSociFailure: "retry" as never }],
  ];
  const entryPoints: [string, (name: string, args: SociForEksArgs) => unknown][] = [
    ["sociForEks", (n, a) => sociForEks(n, a)],
    ["sociForEksSelfManaged", (n, a) => sociForEksSelfManaged(n, a)],
  ];
  for (const [what, args] of cases) {
    for (const [entry, call] of entryPoints) {
      it(`${entry}, ${what}: the same problems, word for word, and nothing created`, () => {
        let ours: InstanceType<typeof SociConfigError> | undefined;
        let theirs: InstanceType<typeof SociConfigError> | undefined;
        try {
          call("ng", args);
        } catch (e) {
          ours = e as InstanceType<typeof SociConfigError>;
        }
        assert.deepEqual(mocks.resources, [], `${entry} registered nothing`);
        try {
          new SociNodeGroup("ng", { clusterName: "k", subnetIds: [], ...args });
        } catch (e) {
          theirs = e as InstanceType<typeof SociConfigError>;
        }
        assert.ok(theirs instanceof SociConfigError, "SociNodeGroup refuses it");
        assert.ok(ours instanceof SociConfigError, `${entry} refuses it`);
        assert.ok(ours.problems.length > 0);
        assert.deepEqual(ours.problems, theirs.problems);
        assert.equal(ours.message.replace(new RegExp(`^${entry} 'ng'`), "SociNodeGroup 'ng'"), theirs.message);
      });
    }
  }

  it("facts of another instance type: the same problem, pointing at the lookup function", () => {
    for (const [entry, call] of entryPoints) {
      assert.throws(
        () => call("mm", { instanceType: "m7i.xlarge", instanceFacts: M7G }),
        (e: Error) =>
          e.message ===
          `${entry} 'mm' has 1 problem; nothing was created:\n` +
            `  - mm.instanceFacts: 'm7g.xlarge' describe a different type than instanceType (m7i.xlarge). Pass the facts of instanceType, or use lookup${entry[0].toUpperCase()}${entry.slice(1)} to look them up.`,
      );
    }
  });

  it("lookupSociForEks and lookupSociForEksSelfManaged: an unknown instance type is reported like SociNodeGroup.create reports it", async () => {
    const theirs = await SociNodeGroup.create("nope", { clusterName: "k", subnetIds: [], instanceType: "m99.huge" }).then(() => undefined, (e: Error) => e);
    for (const lookup of [lookupSociForEks, lookupSociForEksSelfManaged]) {
      const ours = await lookup("nope", { instanceType: "m99.huge" }).then(() => undefined, (e: Error) => e);
      assert.ok(ours instanceof SociConfigError && theirs instanceof SociConfigError);
      assert.deepEqual(ours.problems, theirs.problems);
      assert.match(ours.message, /nope\.instanceType: 'm99\.huge' was not found by EC2 DescribeInstanceTypes/);
    }
    await settle(mocks);
    assert.deepEqual(mocks.resources, []);
  });

  it("lookupSociForEks looks the facts up (EC2 DescribeInstanceTypes), then creates the launch template", async () => {
    const soci = await lookupSociForEks("arm", { instanceType: "m7g.xlarge" });
    assert.equal(soci.architecture, "arm64");
    assert.equal(soci.managedNodeGroupArgs.amiType, "AL2023_ARM_64_STANDARD");
    await settle(mocks);
    assert.deepEqual(mocks.invokes.map((i) => i.token), ["aws:ec2/getInstanceType:getInstanceType"]);
    assert.deepEqual(mocks.resources.map((r) => [r.type, r.name]), [[LT, "arm-soci-lt"]]);
  });

  it("user data over EC2's 16 KiB limit is refused", () => {
    // sociForEks: our document alone; sociForEksSelfManaged: with @pulumi/eks's parts, whose kubelet flags carry the
    // labels uncompressed, so many long labels overflow it.
    const labels = Object.fromEntries(Array.from({ length: 200 }, (_, i) => [`example.com/label-${i}`, `v${i}`.padEnd(63, "x")]));
    assert.throws(
      () => sociForEksSelfManaged("big", { instanceFacts: M7I, labels }),
      /big\.labels(, big\.sociMode)?: '\d+ bytes' is what the user data @pulumi\/eks writes for sociForEksSelfManaged 'big' comes to, over EC2's 16384-byte user data limit by \d+ \(big\.labels adds \d+/,
    );
    const registries = Array.from({ length: 800 }, (_, i) => `${String(100000000000 + i * 7919)}.dkr.ecr.us-west-2.amazonaws.com`);
    let theirs: Error | undefined;
    try {
      new SociNodeGroup("big", { clusterName: "k", subnetIds: [], instanceFacts: M7I, extraEcrRegistries: registries });
    } catch (e) {
      theirs = e as Error;
    }
    assert.match(String(theirs?.message), /big\.extraEcrRegistries.*'\d+ bytes' is what the user data of SociNodeGroup 'big' comes to; the EKS managed node group's merge adds/);
    assert.throws(() => sociForEks("big", { instanceFacts: M7I, extraEcrRegistries: registries }), (e: Error) => e.message === theirs!.message.split("SociNodeGroup").join("sociForEks"));
    assert.deepEqual(mocks.resources, []);
  });

  it("refuses like SociNodeGroup an http mirror without a digest (the default release ships none), and warns about none with one", async () => {
    const soci = { mirrorBaseUrl: "http://mirror.example/soci", sha256: undefined };
    for (const call of [() => sociForEks("http", { instanceFacts: M7I, soci }), () => sociForEksSelfManaged("http", { instanceFacts: M7I, soci })]) {
      assert.throws(call, (e: Error) => e instanceof SociConfigError && /^  - http\.soci\.sha256 is unset: no sha256 for soci-snapshotter-0\.16\.1-linux-amd64\.tar\.gz/m.test(e.message));
    }
    await settle(mocks);
    assert.deepEqual(mocks.resources, []);
    const warnings = await captureWarnings(async () => {
      sociForEks("http", { instanceFacts: M7I, soci: { mirrorBaseUrl: "http://mirror.example/soci" } });
      sociForEksSelfManaged("http", { instanceFacts: M7I, soci: { mirrorBaseUrl: "http://mirror.example/soci" } });
      await settle(mocks);
    });
    assert.deepEqual(warnings, []);
  });
});

describe("eks.ManagedNodeGroup + sociForEks, without transforms: what the user gets", () => {
  beforeEach(() => mocks.reset());

  const variants: [string, SociForEksArgs][] = [
    ["AL2023 lazy, defaults", { instanceFacts: M7I }],
    ["AL2023 parallel, arm64, labels and taints", { instanceFacts: M7G, instanceType: "m7g.xlarge", sociMode: "parallel", labels: { team: "ml" }, taints: [{ key: "gpu", value: "yes", effect: "NoSchedule" }, { key: "dedicated", effect: "NoExecute" }] }],
    ["AL2023 ssd, extra registries, pinned digest, fail closed", { instanceFacts: M6ID, instanceType: "m6id.2xlarge", ssd: true, keepSociOnRootVolume: true, extraEcrRegistries: ["111122223333.dkr.ecr.us-west-2.amazonaws.com"], soci: { sha256: "a".repeat(64) }, onSociFailure: "fail" }],
    ["AL2023 off, tags", { instanceFacts: M7I, sociMode: "off", tags: { team: "platform" } }],
    ["AL2023 with hop limit 2 and a bigger volume", { instanceFacts: M7I, metadataHopLimit: 2, rootVolume: { sizeGiB: 200, iops: 8000, throughputMiBps: 700 } }],
    ["Bottlerocket parallel", { instanceFacts: M7I, os: "bottlerocket", sociMode: "parallel" }],
    ["Bottlerocket parallel, ssd, labels, taints", { instanceFacts: M6ID, instanceType: "m6id.2xlarge", os: "bottlerocket", sociMode: "parallel", ssd: true, labels: { team: "ml" }, taints: [{ key: "gpu", effect: "NoSchedule" }] }],
  ];

  for (const [what, args] of variants) {
    it(`${what}: IMDSv2 required, our hop limit, encrypted gp3 volumes and SociNodeGroup's user data, on a launch template the node group uses`, async () => {
      const sociLt = await sociNodeGroupLaunchTemplate("v", args);
      const { soci, lt, mng, types } = await managedNodeGroup("v", args);

      // What the program registered: our launch template and @pulumi/eks's two components, nothing else.
      assert.deepEqual(types, [MNG, "eks:index:Cluster", LT].sort());

      // The security settings are on our own resource, visible here without transforms.
      const hopLimit = args.metadataHopLimit ?? 1;
      assert.deepEqual(lt.inputs.metadataOptions, { httpEndpoint: "enabled", httpTokens: "required", httpPutResponseHopLimit: hopLimit });
      const mappings = lt.inputs.blockDeviceMappings as { deviceName: string; ebs: Record<string, unknown> }[];
      assert.deepEqual(mappings.map((m) => m.deviceName), args.os === "bottlerocket" ? ["/dev/xvda", "/dev/xvdb"] : ["/dev/xvda"]);
      for (const m of mappings) {
        assert.equal(m.ebs.encrypted, "true", `${m.deviceName} encrypted`);
        assert.equal(m.ebs.volumeType, "gp3", `${m.deviceName} gp3`);
        assert.equal(m.ebs.deleteOnTermination, "true");
      }
      const data = mappings[mappings.length - 1].ebs;
      assert.deepEqual([data.volumeSize, data.iops, data.throughput], [args.rootVolume?.sizeGiB ?? 100, args.rootVolume?.iops ?? 6000, args.rootVolume?.throughputMiBps ?? 600]);
      assert.equal(lt.inputs.imageId, undefined, "no AMI: EKS boots the latest AMI of amiType and adds its cluster part");
      assert.equal(lt.inputs.keyName, undefined, "no key pair");

      // The launch template is SociNodeGroup's: the same user data (byte for byte), metadata options and volumes.
      assert.equal(userDataOf(lt), userDataOf(sociLt));
      assert.equal(userDataOf(lt), soci.userData.text);
      for (const key of ["metadataOptions", "blockDeviceMappings"]) assert.deepEqual(lt.inputs[key], sociLt.inputs[key], key);
      assert.deepEqual(lt.inputs.tags, args.tags ?? {});
      assert.deepEqual(lt.inputs.tagSpecifications.map((t: { tags: Record<string, string> }) => t.tags), [0, 1].map(() => ({ ...(args.tags ?? {}), "soci-eks/node-group": "v" })));

      // The node group boots from it: its launchTemplate names our template and its latest version, and it has
      // none of the arguments that make @pulumi/eks build a launch template of its own (or refuse ours).
      assert.deepEqual(mng.inputs.launchTemplate, { id: "v-soci-lt-id", version: "1" });
      for (const key of [...EKS_OWN_LAUNCH_TEMPLATE_ARGS, "diskSize"]) assert.equal(mng.inputs[key], undefined, key);
      const facts = args.instanceFacts;
      assert.equal(mng.inputs.amiType, `${args.os === "bottlerocket" ? "BOTTLEROCKET" : "AL2023"}_${facts.architectures[0] === "arm64" ? (args.os === "bottlerocket" ? "ARM_64" : "ARM_64_STANDARD") : args.os === "bottlerocket" ? "x86_64" : "x86_64_STANDARD"}`);
      assert.deepEqual(mng.inputs.instanceTypes, [facts.instanceType]);
      assert.deepEqual(mng.inputs.labels, { ...(args.labels ?? {}), "soci-eks/mode": args.sociMode ?? "lazy", "soci-eks/storage": args.ssd ? "nvme" : "ebs" });
      assert.deepEqual(mng.inputs.taints, args.taints?.map((t) => ({ key: t.key, ...(t.value ? { value: t.value } : {}), effect: { NoSchedule: "NO_SCHEDULE", NoExecute: "NO_EXECUTE", PreferNoSchedule: "PREFER_NO_SCHEDULE" }[t.effect] })));
    });
  }

  it("the launch template takes the caller's resource options (parent, provider)", async () => {
    const parent = new eks.Cluster("parent", { skipDefaultNodeGroup: true });
    const soci = sociForEks("opts", { instanceFacts: M7I }, { parent });
    assert.match(await promiseOf(soci.launchTemplate.urn), /eks:index:Cluster\$aws:ec2\/launchTemplate:LaunchTemplate::opts-soci-lt$/);
    await settle(mocks);
  });

  it("the arguments type-check against @pulumi/eks's ManagedNodeGroupArgs", async () => {
    const soci = sociForEks("typed", { instanceFacts: M7I });
    const typed: Partial<import("@pulumi/eks").ManagedNodeGroupArgs> = soci.managedNodeGroupArgs;
    assert.ok(typed.launchTemplate);
    await settle(mocks);
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

describe("eks.NodeGroupV2 (self-managed) + sociForEksSelfManaged: what the node gets, and what depends on transforms", () => {
  beforeEach(() => mocks.reset());

  async function v2(name: string, args: SociForEksArgs) {
    const sociUserData = userDataOf(await sociNodeGroupLaunchTemplate(name, args));
    mocks.reset();
    const cluster = new eks.Cluster("c", { skipDefaultNodeGroup: true });
    const soci = sociForEksSelfManaged(`${name}-eks`, args);
    const group = new eks.NodeGroupV2(`${name}-eks`, { cluster, instanceProfileName: "nodes", ...soci.nodeGroupV2Args });
    await promiseOf(group.urn);
    await settle(mocks);
    const inputs = one(mocks, "eks:index:NodeGroupV2").inputs as RecordedV2Inputs & Record<string, unknown>;
    return { soci, sociUserData, inputs, eksUserData: eksNodeGroupV2UserData(inputs, clusterMetadata()), types: mocks.resources.map((r) => r.type) };
  }

  for (const [what, args] of [
    ["lazy, defaults", { instanceFacts: M7I }],
    ["parallel, arm64, labels and taints", { instanceFacts: M7G, instanceType: "m7g.xlarge", sociMode: "parallel", labels: { team: "ml" }, taints: [{ key: "gpu", value: "yes", effect: "NoSchedule" }, { key: "dedicated", effect: "NoExecute" }] }],
    ["ssd, extra registries, pinned digest", { instanceFacts: M6ID, instanceType: "m6id.2xlarge", ssd: true, keepSociOnRootVolume: true, extraEcrRegistries: ["111122223333.dkr.ecr.us-west-2.amazonaws.com"], soci: { sha256: "a".repeat(64) } }],
    ["off", { instanceFacts: M7I, sociMode: "off" }],
  ] as [string, SociForEksArgs][]) {
    it(`AL2023 ${what}: our parts byte for byte after @pulumi/eks's own NodeConfig parts (modelled), as cloud-init consumes them`, async () => {
      const { soci, sociUserData, inputs, eksUserData } = await v2("al", args);
      assert.equal(soci.userData.text, sociUserData);
      const ourRaw = rawParts(sociUserData);
      const eksRaw = rawParts(eksUserData);
      assert.ok(ourRaw.length >= 1);
      assert.deepEqual(eksRaw.slice(eksRaw.length - ourRaw.length), ourRaw);

      const ours = await parseMime(sociUserData);
      const theirs = await parseMime(eksUserData);
      assert.deepEqual(theirs.slice(2), ours);
      const [clusterPart, flagsPart] = theirs.slice(0, 2).map((p) => {
        assert.equal(p.contentType, "application/node.eks.aws");
        return parseYaml(p.content) as { spec: Record<string, any> };
      });
      assert.deepEqual(clusterPart.spec.cluster, { name: "c-cluster", apiServerEndpoint: "https://ABC.gr7.us-west-2.eks.amazonaws.com", certificateAuthority: Buffer.from("mock-ca").toString("base64"), cidr: "172.20.0.0/16" });
      const labelFlag = `--node-labels=${Object.entries(inputs.labels!).map(([k, v]) => `${k}=${v}`).join(",")}`;
      // NodeGroupV2 takes taints keyed by key: they arrive (and are registered) in key order.
      const taintFlags = [...(args.taints ?? [])].sort((a, b) => a.key.localeCompare(b.key)).map((t) => `${t.key}${t.value ? `=${t.value}` : ""}:${t.effect}`);
      assert.deepEqual(flagsPart.spec.kubelet.flags, [labelFlag, ...(taintFlags.length > 0 ? [`--register-with-taints=${taintFlags.join(",")}`] : [])]);
      assert.ok(Buffer.byteLength(eksUserData) <= 16384, `${Buffer.byteLength(eksUserData)} bytes`);

      // The node's consumer: Debian's cloud-init runs the same scripts and writes the same files for both documents.
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

  it("Bottlerocket, parallel: our settings unchanged in @pulumi/eks's TOML (modelled)", async () => {
    const { sociUserData, eksUserData } = await v2("v2br", { instanceFacts: M7I, os: "bottlerocket", sociMode: "parallel" });
    const { kubernetes, ...rest } = (parseToml(eksUserData) as { settings: Record<string, unknown> }).settings;
    const { ...ours } = (parseToml(sociUserData) as { settings: Record<string, unknown> }).settings;
    assert.deepEqual(rest, ours);
    assert.ok(kubernetes);
    assert.match(eksUserData, /^\s*max-concurrent-downloads = \d+$/m, "TOML integers stay integers");
  });

  it("without transforms: encrypted gp3 through NodeGroupV2's own arguments; no argument carries metadata options", async () => {
    const { inputs, types } = await v2("bare", { instanceFacts: M7I, taints: [{ key: "k", effect: "NoSchedule" }], tags: { team: "platform" } });
    assert.deepEqual(types.sort(), ["eks:index:Cluster", "eks:index:NodeGroupV2"]);
    assert.deepEqual(
      [inputs.nodeRootVolumeSize, inputs.nodeRootVolumeType, inputs.nodeRootVolumeIops, inputs.nodeRootVolumeThroughput, inputs.nodeRootVolumeEncrypted, inputs.nodeRootVolumeDeleteOnTermination],
      [100, "gp3", 6000, 600, true, true],
    );
    assert.deepEqual({ ...inputs.taints }, { k: { value: "", effect: "NoSchedule" } });
    assert.deepEqual(inputs.launchTemplateTagSpecifications, ["instance", "volume"].map((resourceType) => ({ resourceType, tags: { team: "platform", "soci-eks/node-group": "bare-eks" } })));
    // @pulumi/eks 4.3.0's NodeGroupV2 SDK sends only the arguments of its schema, and none is about instance metadata:
    // without the transforms, its launch template gets @pulumi/eks's metadata options (none), so the instances get the
    // AMI's and the account's defaults, not hop limit 1.
    const sdk = readFileSync(require.resolve("@pulumi/eks/nodeGroupV2.js"), "utf8");
    const sent = [...sdk.matchAll(/resourceInputs\["(\w+)"\] = args/g)].map((m) => m[1]);
    assert.ok(sent.includes("nodeRootVolumeEncrypted") && sent.length > 30, sent.join(","));
    assert.deepEqual(sent.filter((k) => /metadata|imds|hop/i.test(k)), []);
  });

  it("the transforms set IMDSv2 with our hop limit and SociNodeGroup's volumes on @pulumi/eks's launch template, and leave everything else alone", async () => {
    for (const [os, args] of [
      ["al2023", { instanceFacts: M7I, rootVolume: { sizeGiB: 200, iops: 8000, throughputMiBps: 700 }, metadataHopLimit: 2 }],
      ["bottlerocket", { instanceFacts: M7I, os: "bottlerocket", sociMode: "parallel" }],
    ] as [string, SociForEksArgs][]) {
      const sociLt = await sociNodeGroupLaunchTemplate(os, args);
      const soci = sociForEksSelfManaged(os, args);
      // Props shaped like the launch template @pulumi/eks 4.3.0 registers for a NodeGroupV2 (createNodeGroupV2Internal).
      const eksProps = { blockDeviceMappings: [{ deviceName: "/dev/xvda", ebs: { volumeSize: 200, encrypted: "true" } }], userData: "TUlNRQ==", imageId: "ami-0123456789abcdef0" };
      const out = await soci.transforms[0]({ type: LT, name: `${os}-launchTemplate`, custom: true, props: eksProps, opts: {} });
      assert.ok(out);
      assert.deepEqual(out.props.blockDeviceMappings, sociLt.inputs.blockDeviceMappings);
      assert.deepEqual(out.props.metadataOptions, sociLt.inputs.metadataOptions);
      assert.equal(out.props.userData, eksProps.userData);
      assert.equal(out.props.imageId, eksProps.imageId);
      for (const type of ["eks:index:NodeGroupV2", "aws:autoscaling/group:Group", "aws:ec2/securityGroup:SecurityGroup"]) {
        assert.equal(await soci.transforms[0]({ type, name: "x", custom: true, props: eksProps, opts: {} }), undefined, type);
      }
    }
  });

  it("the arguments type-check against @pulumi/eks's NodeGroupV2Args", () => {
    const soci = sociForEksSelfManaged("typed", { instanceFacts: M7I, tags: { a: "b" } });
    const typed: Partial<import("@pulumi/eks").NodeGroupV2Args> = soci.nodeGroupV2Args;
    assert.ok(typed);
  });
});

describe("the pinned @pulumi/eks", () => {
  it("its node groups are remote components: under mocks their own launch templates never appear", async () => {
    mocks.reset();
    const cluster = new eks.Cluster("c", { skipDefaultNodeGroup: true });
    const mng = new eks.ManagedNodeGroup("probe", { cluster, nodeRoleArn: "arn:aws:iam::123456789012:role/nodes", enableIMDSv2: true, diskSize: 50 });
    await promiseOf(mng.urn);
    await settle(mocks);
    assert.equal(mocks.resources.filter((r) => r.type === LT).length, 0);
    assert.match(await promiseOf(mng.urn), /eks:index:ManagedNodeGroup::probe$/);
  });
});
