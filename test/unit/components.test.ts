import { strict as assert } from "assert";
import { pinnedComponents } from "../helpers/pinned";
import { TEST_ONLY_SOCI_SHA256 } from "../helpers/options";
import { beforeEach, describe, it } from "node:test";
import * as pulumi from "@pulumi/pulumi";
import { installMocks, ofType, one, promiseOf, settle, countByType, RecordedResource } from "../helpers/mocks";
import { nodeConfigs, parseMime, cloudConfigFiles } from "../helpers/userdata";
import { sociWiringProblems } from "../helpers/sociWiring";
import { parse as parseToml } from "smol-toml";
import { INSTALLER_PATH, INSTALLER_SCRIPT, nodeAsset, RUN_INSTALLER_SCRIPT } from "../../userdata/al2023";

const mocks = installMocks(false);
// Components load after the mocks are installed.
// eslint-disable-next-line @typescript-eslint/no-var-requires
const components: typeof import("../../components") = require("../../components");
const { SociConfigError } = components;
// Groups of the default release get test-only digests (test/helpers/pinned.ts); release pinning is tested in validation.test.ts.
const { SociCluster, SociNodeGroup } = pinnedComponents(components);

import { LAUNCH_TEMPLATE as LT, NODE_GROUP as NG, IAM_ROLE as ROLE, IAM_POLICY_ATTACHMENT as ATTACH } from "../helpers/resourceTypes";

function userDataOf(lt: RecordedResource): string {
  return Buffer.from(lt.inputs.userData, "base64").toString("utf8");
}

async function defaultCluster(name = "c"): Promise<InstanceType<typeof SociCluster>> {
  const cluster = await SociCluster.create(name, { nodeGroups: [{ name: "default" }] });
  await promiseOf(cluster.nodeGroupNames);
  await settle(mocks);
  return cluster;
}

describe("SociCluster with the default settings", () => {
  beforeEach(() => mocks.reset());

  it("creates a VPC, the EKS cluster and one SOCI node group, and nothing else", async () => {
    const cluster = await defaultCluster();
    assert.deepEqual(countByType(mocks), {
      "soci-eks:index:SociCluster": 1,
      "aws:ec2/vpc:Vpc": 1,
      "aws:ec2/internetGateway:InternetGateway": 1,
      "aws:ec2/routeTable:RouteTable": 3,
      "aws:ec2/subnet:Subnet": 4,
      "aws:ec2/routeTableAssociation:RouteTableAssociation": 4,
      "aws:ec2/eip:Eip": 2,
      "aws:ec2/natGateway:NatGateway": 2,
      "eks:index:Cluster": 1,
      "aws:iam/role:Role": 2,
      [ATTACH]: 3,
      "aws:eks/podIdentityAssociation:PodIdentityAssociation": 1,
      "soci-eks:index:SociNodeGroup": 1,
      [LT]: 1,
      [NG]: 1,
      "aws:eks/addon:Addon": 2,
    });
    assert.equal(await promiseOf(cluster.clusterName), "c-eks-cluster");
    assert.deepEqual(await promiseOf(cluster.nodeGroupNames), ["c-default-ng-1234567"]);
    const kubeconfig = JSON.parse(await promiseOf(cluster.kubeconfig));
    assert.equal(kubeconfig.kind, "Config");
    assert.equal(await pulumi.isSecret(cluster.kubeconfig), true);
  });

  it("looks up the instance type and AZs with invokes, before registering any resource", async () => {
    await defaultCluster();
    assert.deepEqual(
      mocks.invokes.filter((i) => i.token === "aws:ec2/getInstanceType:getInstanceType").map((i) => i.inputs.instanceType),
      ["m7i.xlarge"],
    );
    assert.ok(mocks.invokes.some((i) => i.token === "aws:index/getAvailabilityZones:getAvailabilityZones"));
  });

  it("gives the eks.Cluster API authentication, no default node group, the version and both subnet tiers", async () => {
    await defaultCluster();
    const eks = one(mocks, "eks:index:Cluster");
    assert.equal(eks.inputs.authenticationMode, "API");
    assert.equal(eks.inputs.skipDefaultNodeGroup, true);
    assert.equal(eks.inputs.version, "1.35");
    assert.deepEqual(eks.inputs.privateSubnetIds, ["c-private-0-id", "c-private-1-id"]);
    assert.deepEqual(eks.inputs.publicSubnetIds, ["c-public-0-id", "c-public-1-id"]);
    assert.equal(eks.inputs.vpcId, "c-vpc-id");
    assert.equal(eks.inputs.corednsAddonOptions.enabled, false);
  });

  it("adds CoreDNS as a managed add-on of the cluster (after the node groups, so it can schedule)", async () => {
    await defaultCluster();
    const addon = ofType(mocks, "aws:eks/addon:Addon").find((a) => a.inputs.addonName === "coredns")!;
    assert.equal(addon.inputs.addonName, "coredns");
    assert.equal(addon.inputs.clusterName, "c-eks-cluster");
    // Registration order reflects dependsOn: the add-on is registered after the node group.
    const order = mocks.resources.map((r) => (r.type === "aws:eks/addon:Addon" ? `addon:${r.inputs.addonName}` : r.type));
    assert.ok(order.indexOf("addon:coredns") > order.indexOf(NG));
  });

  it("spreads subnets over two AZs with load-balancer tags and routes each AZ's private egress through its own NAT", async () => {
    await defaultCluster();
    const subnets = ofType(mocks, "aws:ec2/subnet:Subnet");
    const pub = subnets.filter((s) => s.name.includes("public"));
    const priv = subnets.filter((s) => s.name.includes("private"));
    assert.deepEqual(pub.map((s) => s.inputs.availabilityZone).sort(), ["us-west-2a", "us-west-2b"]);
    assert.deepEqual(priv.map((s) => s.inputs.availabilityZone).sort(), ["us-west-2a", "us-west-2b"]);
    assert.ok(pub.every((s) => s.inputs.tags["kubernetes.io/role/elb"] === "1" && s.inputs.mapPublicIpOnLaunch === true));
    assert.ok(priv.every((s) => s.inputs.tags["kubernetes.io/role/internal-elb"] === "1" && !s.inputs.mapPublicIpOnLaunch));
    const rts = ofType(mocks, "aws:ec2/routeTable:RouteTable");
    assert.deepEqual(rts.find((r) => r.name === "c-private-rt")!.inputs.routes, [{ cidrBlock: "0.0.0.0/0", natGatewayId: "c-nat-id" }]);
    assert.deepEqual(rts.find((r) => r.name === "c-private-rt-1")!.inputs.routes, [{ cidrBlock: "0.0.0.0/0", natGatewayId: "c-nat-1-id" }]);
    const nats = ofType(mocks, "aws:ec2/natGateway:NatGateway");
    assert.deepEqual(nats.map((n) => [n.name, n.inputs.subnetId, n.inputs.allocationId]), [
      ["c-nat", "c-public-0-id", "c-nat-eip-id"],
      ["c-nat-1", "c-public-1-id", "c-nat-eip-1-id"],
    ]);
    const assoc = ofType(mocks, "aws:ec2/routeTableAssociation:RouteTableAssociation").filter((a) => a.name.includes("private"));
    assert.deepEqual(assoc.map((a) => [a.inputs.subnetId, a.inputs.routeTableId]), [
      ["c-private-0-id", "c-private-rt-id"],
      ["c-private-1-id", "c-private-rt-1-id"],
    ]);
    // Node groups go in the private subnets.
    assert.deepEqual(one(mocks, NG).inputs.subnetIds, ["c-private-0-id", "c-private-1-id"]);
  });

  it("puts a MIME document in the launch template whose parts are the NodeConfig, files and the real installer", async () => {
    await defaultCluster();
    const text = userDataOf(one(mocks, LT));
    assert.deepEqual(await sociWiringProblems(text, "lazy"), []);
    const parts = await parseMime(text);
    assert.deepEqual(parts.map((p) => p.contentType), ["application/node.eks.aws", "text/cloud-config", "text/x-shellscript"]);
    assert.equal(parts[2].content, nodeAsset(RUN_INSTALLER_SCRIPT));
    const installer = (await cloudConfigFiles(text)).find((f) => f.path === INSTALLER_PATH)!;
    assert.equal(installer.content, nodeAsset(INSTALLER_SCRIPT));
    const [nc] = await nodeConfigs(text);
    assert.equal(nc.kind, "NodeConfig");
    assert.equal(nc.spec.cluster, undefined, "EKS adds the cluster fields for managed node groups");
    assert.equal(nc.spec.instance, undefined, "no local storage without ssd");
    const env = (await cloudConfigFiles(text)).find((f) => f.path === "/etc/soci-eks/install.env")!;
    assert.match(env.content, /SOCI_EKS_SOCI_VERSION='0\.16\.1'/);
    assert.match(env.content, /SOCI_EKS_ARCH='amd64'/);
    assert.match(env.content, /SOCI_EKS_MIRROR_BASE_URL='https:\/\/github\.com\/awslabs\/soci-snapshotter\/releases\/download'/);
  });

  it("requires IMDSv2 with hop limit 1", async () => {
    await defaultCluster();
    assert.deepEqual(one(mocks, LT).inputs.metadataOptions, { httpEndpoint: "enabled", httpTokens: "required", httpPutResponseHopLimit: 1 });
  });

  it("gives nodes an encrypted gp3 root volume sized for large pulls, and nothing EKS forbids in the template", async () => {
    await defaultCluster();
    const lt = one(mocks, LT).inputs;
    assert.deepEqual(lt.blockDeviceMappings, [
      {
        deviceName: "/dev/xvda",
        ebs: { volumeType: "gp3", volumeSize: 100, iops: 6000, throughput: 600, encrypted: "true", deleteOnTermination: "true" },
      },
    ]);
    for (const forbidden of ["keyName", "networkInterfaces", "iamInstanceProfile", "instanceType", "imageId", "instanceInitiatedShutdownBehavior"]) {
      assert.equal(lt[forbidden], undefined, forbidden);
    }
    assert.deepEqual(lt.tagSpecifications.map((t: { resourceType: string }) => t.resourceType), ["instance", "volume"]);
  });

  it("creates a node role EC2 can assume with exactly the worker and ECR pull-only policies (no CNI policy)", async () => {
    await defaultCluster();
    const role = ofType(mocks, ROLE).find((r) => r.name === "c-default-node-role")!;
    assert.deepEqual(JSON.parse(role.inputs.assumeRolePolicy), {
      Version: "2012-10-17",
      Statement: [{ Effect: "Allow", Principal: { Service: "ec2.amazonaws.com" }, Action: "sts:AssumeRole" }],
    });
    const nodeAttachments = ofType(mocks, ATTACH).filter((a) => a.inputs.role === "c-default-node-role-1234567");
    assert.deepEqual(nodeAttachments.map((a) => a.inputs.policyArn).sort(), [
      "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryPullOnly",
      "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy",
    ]);
    assert.equal(role.inputs.name, undefined);
    assert.equal(one(mocks, NG).inputs.nodeRoleArn, "arn:aws:iam::123456789012:role/c-default-node-role-1234567");
  });

  it("configures the node group: launch template by latest version, one instance type, sizes, rolling updates, labels", async () => {
    await defaultCluster();
    const ng = one(mocks, NG).inputs;
    assert.equal(ng.clusterName, "c-eks-cluster");
    assert.deepEqual(ng.launchTemplate, { id: "c-default-lt-id", version: "1" });
    assert.deepEqual(ng.instanceTypes, ["m7i.xlarge"]);
    assert.equal(ng.amiType, "AL2023_x86_64_STANDARD");
    assert.equal(ng.capacityType, "ON_DEMAND");
    assert.deepEqual(ng.scalingConfig, { desiredSize: 2, minSize: 1, maxSize: 4 });
    assert.deepEqual(ng.updateConfig, { maxUnavailable: 1 });
    assert.deepEqual(ng.labels, { "soci-eks/mode": "lazy", "soci-eks/storage": "ebs" });
    assert.deepEqual(ng.taints, []);
    assert.equal(ng.diskSize, undefined);
    assert.equal(ng.remoteAccess, undefined);
    assert.equal(ng.version, undefined, "nodes follow the cluster version");
  });
});

describe("SociCluster variants", () => {
  beforeEach(() => mocks.reset());

  it("creates one SOCI node group per nodeGroups entry, with labels and taints", async () => {
    const cluster = await SociCluster.create("two", {
      nodeGroups: [
        { name: "general", instanceType: "m7i.xlarge" },
        {
          name: "big",
          instanceType: "m6id.2xlarge",
          ssd: true,
          sociMode: "parallel",
          labels: { workload: "big-images" },
          taints: [{ key: "workload", value: "big-images", effect: "NoSchedule" }],
          scaling: { desiredSize: 1, minSize: 0, maxSize: 3 },
        },
      ],
    });
    assert.deepEqual(await promiseOf(cluster.nodeGroupNames), ["two-general-ng-1234567", "two-big-ng-1234567"]);
    await settle(mocks);
    assert.equal(ofType(mocks, "soci-eks:index:SociNodeGroup").length, 2);
    assert.equal(ofType(mocks, LT).length, 2);
    assert.equal(ofType(mocks, ROLE).length, 3, "two node roles and the VPC CNI's");
    const big = ofType(mocks, NG).find((n) => n.name === "two-big-ng")!.inputs;
    assert.deepEqual(big.labels, { workload: "big-images", "soci-eks/mode": "parallel", "soci-eks/storage": "nvme" });
    assert.deepEqual(big.taints, [{ key: "workload", value: "big-images", effect: "NO_SCHEDULE" }]);
    assert.deepEqual(big.scalingConfig, { desiredSize: 1, minSize: 0, maxSize: 3 });
    const general = ofType(mocks, NG).find((n) => n.name === "two-general-ng")!.inputs;
    assert.deepEqual(general.taints, []);
    const bigLt = ofType(mocks, LT).find((l) => l.name === "two-big-lt")!;
    const [nc] = await nodeConfigs(userDataOf(bigLt));
    assert.deepEqual(nc.spec.instance, { localStorage: { strategy: "RAID0" } });
    assert.deepEqual(await sociWiringProblems(userDataOf(bigLt), "parallel"), []);
  });

  it("uses existing subnets and VPC without creating network resources", async () => {
    const cluster = await SociCluster.create("ex", {
      existingVpcId: "vpc-0123456789abcdef0",
      existingSubnetIds: ["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"],
      nodeGroups: [{ name: "default" }],
    });
    await promiseOf(cluster.nodeGroupNames);
    await settle(mocks);
    assert.equal(ofType(mocks, "aws:ec2/vpc:Vpc").length, 0);
    assert.equal(ofType(mocks, "aws:ec2/subnet:Subnet").length, 0);
    assert.equal(ofType(mocks, "aws:ec2/natGateway:NatGateway").length, 0);
    const eks = one(mocks, "eks:index:Cluster").inputs;
    assert.equal(eks.vpcId, "vpc-0123456789abcdef0");
    assert.deepEqual(eks.subnetIds, ["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"]);
    assert.deepEqual(one(mocks, NG).inputs.subnetIds, ["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"]);
  });

  it("validates every node group before the VPC: a bad second group stops everything", async () => {
    await assert.rejects(
      SociCluster.create("bad", { nodeGroups: [{ name: "ok" }, { name: "bad", instanceType: "m7i.xlarge", ssd: true }] }),
      (e: Error) => {
        assert.ok(e instanceof SociConfigError);
        assert.match(e.message, /bad\.nodeGroups\[1\]\.instanceType: 'm7i\.xlarge' has no NVMe instance storage/);
        return true;
      },
    );
    await settle(mocks);
    assert.deepEqual(mocks.resources, []);
  });

  it("checks the Kubernetes version against EKS's own list: a version newer than soci-eks knows is accepted when EKS lists it", async () => {
    mocks.clusterVersions = [
      ...(mocks.clusterVersions as Record<string, unknown>[]),
      { clusterType: "eks", clusterVersion: "1.37", versionStatus: "STANDARD_SUPPORT", endOfStandardSupportDate: "2027-12-01T00:00:00Z", endOfExtendedSupportDate: "2028-12-01T00:00:00Z" },
    ];
    const cluster = await SociCluster.create("newer", { kubernetesVersion: "1.37", nodeGroups: [{ name: "default" }] });
    await promiseOf(cluster.nodeGroupNames);
    await settle(mocks);
    assert.equal(one(mocks, "eks:index:Cluster").inputs.version, "1.37");
    const invoke = mocks.invokes.find((i) => i.token === "aws:eks/getClusterVersions:getClusterVersions");
    assert.equal(invoke?.inputs.includeAll, true, "asks for every status, so ended versions are named as ended");
  });

  it("refuses a version EKS lists as UNSUPPORTED, naming its end date, before any resource", async () => {
    await assert.rejects(SociCluster.create("old", { kubernetesVersion: "1.31", nodeGroups: [{ name: "default" }] }), (e: Error) => {
      assert.ok(e instanceof SociConfigError);
      assert.match(e.message, /old\.kubernetesVersion: '1\.31' reached end of extended support on 2026-11-26; EKS no longer creates it\. Set old\.kubernetesVersion to one of 1\.32, 1\.33, 1\.34, 1\.35, 1\.36/);
      return true;
    });
    await settle(mocks);
    assert.deepEqual(mocks.resources, []);
  });

  it("when EKS's list cannot be read, falls back to the built-in calendar with a warning", async () => {
    mocks.clusterVersions = new Error("AccessDeniedException: eks:DescribeClusterVersions");
    const { lookupKubernetesVersions } = components;
    const lookup = await lookupKubernetesVersions(new Date("2026-11-30T00:00:00Z"));
    assert.equal(lookup.catalog.source, "built-in");
    assert.equal(lookup.catalog.versions.find((v) => v.version === "1.31")?.status, "ended");
    assert.match(lookup.warnings[0], /^Could not read EKS's Kubernetes versions \(aws\.eks\.getClusterVersions: .+\); checked against soci-eks's built-in calendar instead\.$/);
  });

  it("the constructor takes a catalog like it takes instance facts (no lookup, no clock)", () => {
    const catalog = components.eksVersionCatalog([{ clusterVersion: "1.35", versionStatus: "UNSUPPORTED" }]);
    assert.throws(
      () => new SociCluster("cat", { nodeGroups: [{ name: "x" }], instanceFacts: {}, kubernetesVersionCatalog: catalog }),
      (e: Error) => e instanceof SociConfigError && /cat\.kubernetesVersion: '1\.35' is no longer supported by EKS/.test(e.message),
    );
    assert.deepEqual(mocks.resources, []);
  });

  it("the constructor validates too, before registering itself", () => {
    assert.throws(
      () => new SociCluster("ctor", { nodeGroups: [{ name: "x", sociMode: "fast" as never }], instanceFacts: {} }),
      (e: Error) => e instanceof SociConfigError && /sociMode: 'fast' is not one of lazy, parallel, off/.test(e.message) && /'m7i\.xlarge' was not found/.test(e.message),
    );
    assert.deepEqual(mocks.resources, []);
  });
});

describe("SociNodeGroup", () => {
  beforeEach(() => mocks.reset());

  async function group(name: string, args: Partial<import("../../components").SociNodeGroupCreateArgs> = {}) {
    const ng = await SociNodeGroup.create(name, { clusterName: "k", subnetIds: ["subnet-a", "subnet-b"], vpcCniCredentials: "pod-identity", ...args });
    await promiseOf(ng.nodeGroupName);
    await settle(mocks);
    return ng;
  }

  it("picks the AL2023 AMI type from the instance type's architecture and GPUs", async () => {
    const cases: [string, string, string][] = [
      ["m7i.xlarge", "AL2023_x86_64_STANDARD", "amd64"],
      ["m7g.xlarge", "AL2023_ARM_64_STANDARD", "arm64"],
      ["g5.xlarge", "AL2023_x86_64_NVIDIA", "amd64"],
      ["g5g.xlarge", "AL2023_ARM_64_NVIDIA", "arm64"],
    ];
    for (const [type, amiType, arch] of cases) {
      mocks.reset();
      const ng = await group(`ami-${type.replace(".", "-")}`, { instanceType: type });
      assert.equal(one(mocks, NG).inputs.amiType, amiType, type);
      const env = (await cloudConfigFiles(await promiseOf(ng.userData))).find((f) => f.path === "/etc/soci-eks/install.env");
      assert.match(env!.content, new RegExp(`SOCI_EKS_ARCH='${arch}'`), type);
    }
  });

  it("sociMode off: stock user data with no SOCI parts, label off", async () => {
    const ng = await group("off", { sociMode: "off" });
    const text = await promiseOf(ng.userData);
    const parts = await parseMime(text);
    assert.deepEqual(parts.map((p) => p.contentType), ["application/node.eks.aws"]);
    const [nc] = await nodeConfigs(text);
    assert.equal(nc.spec.containerd, undefined);
    assert.equal(nc.spec.kubelet, undefined);
    assert.equal(one(mocks, NG).inputs.labels["soci-eks/mode"], "off");
    assert.equal(Buffer.from(one(mocks, LT).inputs.userData, "base64").toString(), text);
  });

  it("ssd on a type with NVMe disks: RAID0 in the NodeConfig (optionally keeping SOCI on EBS) and storage label nvme", async () => {
    const ng = await group("ssd", { instanceType: "c7gd.4xlarge", ssd: true, keepSociOnRootVolume: true });
    const [nc] = await nodeConfigs(await promiseOf(ng.userData));
    assert.deepEqual(nc.spec.instance, { localStorage: { strategy: "RAID0", disabledMounts: ["SOCI"] } });
    assert.equal(one(mocks, NG).inputs.labels["soci-eks/storage"], "nvme");
    assert.equal(one(mocks, NG).inputs.amiType, "AL2023_ARM_64_STANDARD");
  });

  it("ssmAccess adds AmazonSSMManagedInstanceCore; options reach the template and node group", async () => {
    await group("opts", {
      ssmAccess: true,
      metadataHopLimit: 2,
      capacityType: "SPOT",
      kubernetesVersion: "1.35",
      rootVolume: { sizeGiB: 200, iops: 8000, throughputMiBps: 1000 },
      soci: { version: "0.12.1", mirrorBaseUrl: "https://mirror.example.com/soci/", sha256: "a".repeat(64) },
      extraEcrRegistries: ["123456789012.dkr.ecr.eu-west-1.amazonaws.com"],
    });
    assert.ok(ofType(mocks, ATTACH).some((a) => a.inputs.policyArn === "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"));
    assert.equal(ofType(mocks, ATTACH).length, 3);
    const lt = one(mocks, LT).inputs;
    assert.equal(lt.metadataOptions.httpPutResponseHopLimit, 2);
    assert.deepEqual({ ...lt.blockDeviceMappings[0].ebs }, { volumeType: "gp3", volumeSize: 200, iops: 8000, throughput: 1000, encrypted: "true", deleteOnTermination: "true" });
    const ng = one(mocks, NG).inputs;
    assert.equal(ng.capacityType, "SPOT");
    assert.equal(ng.version, "1.35");
    const env = (await cloudConfigFiles(userDataOf(one(mocks, LT)))).find((f) => f.path === "/etc/soci-eks/install.env")!.content;
    assert.match(env, /SOCI_EKS_SOCI_VERSION='0\.12\.1'/);
    assert.match(env, /SOCI_EKS_MIRROR_BASE_URL='https:\/\/mirror\.example\.com\/soci'\n/, "trailing slash dropped");
    assert.match(env, new RegExp(`SOCI_EKS_SOCI_SHA256='${"a".repeat(64)}'`));
    assert.match(env, /SOCI_EKS_EXTRA_ECR_REGISTRIES='123456789012\.dkr\.ecr\.eu-west-1\.amazonaws\.com'/);
  });

  it("uses an existing node role without creating or attaching anything", async () => {
    const aws: typeof import("@pulumi/aws") = require("@pulumi/aws");
    const role = new aws.iam.Role("mine", { assumeRolePolicy: "{}" });
    const ng = await group("byo", { nodeRole: role });
    assert.equal(ofType(mocks, ROLE).length, 1, "only the caller's role");
    assert.equal(ofType(mocks, ATTACH).length, 0);
    assert.equal(await promiseOf(ng.nodeRoleArn), "arn:aws:iam::123456789012:role/mine-1234567");
  });

  it("puts the cluster fields in its NodeConfig when given (sociMode off: SOCI user data plus cluster fields do not fit)", async () => {
    const ng = await group("conn", {
      sociMode: "off",
      clusterConnection: { endpoint: "https://x.eks.amazonaws.com", certificateAuthority: "Y2E=", serviceCidr: "172.20.0.0/16" },
    });
    const [nc] = await nodeConfigs(await promiseOf(ng.userData));
    assert.deepEqual(nc.spec.cluster, { name: "k", apiServerEndpoint: "https://x.eks.amazonaws.com", certificateAuthority: "Y2E=", cidr: "172.20.0.0/16" });
  });

  // Cross-account ECR registries with pseudo-random account ids, which gzip cannot shrink much.
  const registries = (count: number): string[] => {
    let x = 12345;
    return Array.from({ length: count }, () => {
      const account = Array.from({ length: 12 }, () => ((x = (x * 1103515245 + 12345) >>> 0) >>> 16) % 10).join("");
      return `${account}.dkr.ecr.us-west-2.amazonaws.com`;
    });
  };

  // The fewest registries (in steps of 10) whose default user data no longer leaves room for EKS's part and the margin:
  // the installer's size moves it, so it is computed with the same rule the component applies.
  const TIGHT_REGISTRIES = (() => {
    const ng: typeof import("../../components/sociNodeGroup") = require("../../components/sociNodeGroup");
    const size: typeof import("../../validation/userDataSize") = require("../../validation/userDataSize");
    const { instanceFactsFromEc2 }: typeof import("../../validation/instanceTypes") = require("../../validation/instanceTypes");
    const { INSTANCE_TYPES } = require("../helpers/mocks") as typeof import("../helpers/mocks");
    const facts = instanceFactsFromEc2({ instanceType: "m7i.xlarge", ...INSTANCE_TYPES["m7i.xlarge"] } as never);
    const settings = (n: number) => ng.nodeGroupSettings({ extraEcrRegistries: registries(n), soci: { sha256: TEST_ONLY_SOCI_SHA256 } });
    const bytes = (n: number) => ng.userDataSize("al2023", ng.bootstrapOptionsFor(settings(n), facts), false);
    const max = size.maxOwnBytes("eks", size.mergerPartBytes("eks", { labels: ng.sociNodeLabels(settings(0)) }));
    for (let n = 0; n <= 2000; n += 10) {
      if (bytes(n) > max) {
        assert.ok(bytes(n) <= size.EC2_USER_DATA_LIMIT, `no registry count lands between the rule and EC2's limit (${bytes(n)} bytes at ${n})`);
        return n;
      }
    }
    throw new Error("the user data never reaches the rule's limit");
  })();

  it("refuses user data over EC2's 16384-byte limit before registering anything", async () => {
    await assert.rejects(
      SociNodeGroup.create("big", { clusterName: "k", subnetIds: [], extraEcrRegistries: registries(1500) }),
      /big\.extraEcrRegistries, big\.sociMode: '\d{5} bytes' is what the user data of SociNodeGroup 'big' comes to;.*at most \d{5} fit: \d+ too many \(big\.extraEcrRegistries adds \d+/,
    );
    await assert.rejects(
      SociCluster.create("bigc", { nodeGroups: [{ name: "default", extraEcrRegistries: registries(1500) }] }),
      /bigc\.nodeGroups\[0\]\.extraEcrRegistries.*is what the user data of node group 'default' comes to/,
    );
    await settle(mocks);
    assert.deepEqual(mocks.resources, []);
  });

  it("refuses user data that would not leave EKS's part and the 1 KiB margin room, naming what made it large and the fix", async () => {
    await group("roomy", { extraEcrRegistries: registries(TIGHT_REGISTRIES - 10) });
    await assert.rejects(group("tight", { extraEcrRegistries: registries(TIGHT_REGISTRIES) }), (e: Error) => {
      assert.match(e.message, /^SociNodeGroup 'tight' has 1 problem; nothing was created:/);
      assert.match(e.message, /tight\.sociMode, tight\.extraEcrRegistries: '1\d{4} bytes' is what the user data of SociNodeGroup 'tight' comes to; the EKS managed node group's merge adds its NodeConfig part/);
      assert.match(e.message, /soci-eks keeps 1024 of EC2's 16384 bytes free after it, so at most 1\d{4} fit: \d+ too many \(tight\.sociMode adds \d+, tight\.extraEcrRegistries adds \d+\)/);
      assert.match(e.message, /Any one of these makes it fit: set tight\.sociMode to parallel .*; or list fewer registries in tight\.extraEcrRegistries\./);
      return true;
    });
  });

  it("the default lazy user data leaves room for EKS's part (files gz+b64 in the cloud-config, comments stripped)", async () => {
    const ng = await group("roomy");
    const bytes = Buffer.byteLength(await promiseOf(ng.userData));
    assert.ok(bytes < 16384 - 3072, `${bytes} bytes`);
  });

  it("the constructor refuses facts of another instance type", () => {
    const m7g = { instanceType: "m7g.xlarge", vcpus: 4, memoryMiB: 16384, architectures: ["arm64" as const], gpus: 0 };
    assert.throws(
      () => new SociNodeGroup("mismatch", { clusterName: "k", subnetIds: [], instanceType: "m7i.xlarge", instanceFacts: m7g }),
      /mismatch\.instanceFacts: 'm7g\.xlarge' describe a different type than instanceType \(m7i\.xlarge\)/,
    );
    assert.deepEqual(mocks.resources, []);
  });

  it("an unknown instance type fails validation and registers nothing", async () => {
    await assert.rejects(
      SociNodeGroup.create("nope", { clusterName: "k", subnetIds: [], instanceType: "m99.huge" }),
      /nope\.instanceType: 'm99\.huge' was not found by EC2 DescribeInstanceTypes in this region/,
    );
    await settle(mocks);
    assert.deepEqual(mocks.resources, []);
  });
});

describe("SociNodeGroup on Bottlerocket (os: bottlerocket)", () => {
  beforeEach(() => mocks.reset());

  const CONN = { endpoint: "https://x.eks.amazonaws.com", certificateAuthority: "Y2E=", serviceCidr: "172.20.0.0/16" };

  async function br(name: string, args: Partial<import("../../components").SociNodeGroupCreateArgs> = {}) {
    const ng = await SociNodeGroup.create(name, { clusterName: "k", subnetIds: ["subnet-a", "subnet-b"], os: "bottlerocket", sociMode: "parallel", ...args });
    await promiseOf(ng.nodeGroupName);
    await settle(mocks);
    return ng;
  }

  it("puts TOML settings in the launch template: cluster fields under settings.kubernetes and the SOCI snapshotter in parallel mode", async () => {
    const ng = await br("br", { clusterConnection: CONN });
    const text = userDataOf(one(mocks, LT));
    assert.equal(text, await promiseOf(ng.userData));
    assert.doesNotMatch(text, /MIME-Version|Content-Type/);
    const doc = parseToml(text) as any;
    assert.deepEqual({ ...doc.settings.kubernetes }, {
      "api-server": "https://x.eks.amazonaws.com",
      "cluster-certificate": "Y2E=",
      "cluster-name": "k",
      "cluster-dns-ip": "172.20.0.10",
    });
    assert.equal(doc.settings["container-runtime"].snapshotter, "soci");
    const soci = doc.settings["container-runtime-plugins"]["soci-snapshotter"];
    assert.equal(soci["pull-mode"], "parallel-pull-unpack");
    assert.equal(soci["parallel-pull-unpack"]["discard-unpacked-layers"], true);
    assert.equal(one(mocks, LT).inputs.description, "soci-eks br: Bottlerocket with SOCI (parallel)");
  });

  it("without cluster fields the TOML has no settings.kubernetes (EKS merges its own), and sociMode off has no SOCI settings", async () => {
    await br("br-bare");
    const doc = parseToml(userDataOf(one(mocks, LT))) as any;
    assert.equal(doc.settings.kubernetes, undefined);
    assert.equal(doc.settings["container-runtime"].snapshotter, "soci");
    mocks.reset();
    await br("br-off", { sociMode: "off" });
    const off = parseToml(userDataOf(one(mocks, LT))) as any;
    assert.deepEqual({ ...off.settings }, {});
    assert.equal(one(mocks, NG).inputs.labels["soci-eks/mode"], "off");
  });

  it("picks the Bottlerocket AMI type from the architecture and GPUs", async () => {
    const cases: [string, string][] = [
      ["m7i.xlarge", "BOTTLEROCKET_x86_64"],
      ["m7g.xlarge", "BOTTLEROCKET_ARM_64"],
      ["g5.xlarge", "BOTTLEROCKET_x86_64_NVIDIA"],
      ["g5g.xlarge", "BOTTLEROCKET_ARM_64_NVIDIA"],
    ];
    for (const [type, amiType] of cases) {
      mocks.reset();
      await br(`br-${type.replace(".", "-")}`, { instanceType: type });
      assert.equal(one(mocks, NG).inputs.amiType, amiType, type);
    }
  });

  it("maps the configured volume to the data volume /dev/xvdb and keeps /dev/xvda a small encrypted OS volume", async () => {
    await br("br-vol", { rootVolume: { sizeGiB: 200, iops: 8000, throughputMiBps: 1000 } });
    const mappings = one(mocks, LT).inputs.blockDeviceMappings.map((m: { deviceName: string; ebs: object }) => ({ deviceName: m.deviceName, ebs: { ...m.ebs } }));
    assert.deepEqual(mappings, [
      { deviceName: "/dev/xvda", ebs: { volumeType: "gp3", volumeSize: 4, encrypted: "true", deleteOnTermination: "true" } },
      { deviceName: "/dev/xvdb", ebs: { volumeType: "gp3", volumeSize: 200, iops: 8000, throughput: 1000, encrypted: "true", deleteOnTermination: "true" } },
    ]);
  });

  it("still requires IMDSv2 and labels the nodes with their mode and storage", async () => {
    await br("br-imds");
    assert.deepEqual(one(mocks, LT).inputs.metadataOptions, { httpEndpoint: "enabled", httpTokens: "required", httpPutResponseHopLimit: 1 });
    assert.deepEqual(one(mocks, NG).inputs.labels, { "soci-eks/mode": "parallel", "soci-eks/storage": "ebs" });
  });

  it("ssd: ephemeral-storage bootstrap commands, SOCI kept on the data volume with keepSociOnRootVolume", async () => {
    await br("br-ssd", { instanceType: "c7gd.4xlarge", ssd: true, keepSociOnRootVolume: true });
    const doc = parseToml(userDataOf(one(mocks, LT))) as any;
    const [init, bind] = doc.settings["bootstrap-commands"]["k8s-ephemeral-storage"].commands;
    assert.deepEqual(init, ["apiclient", "ephemeral-storage", "init"]);
    assert.deepEqual(bind, ["apiclient", "ephemeral-storage", "bind", "--dirs", "/var/lib/containerd", "/var/lib/kubelet", "/var/log/pods"]);
    assert.equal(one(mocks, NG).inputs.labels["soci-eks/storage"], "nvme");
    assert.equal(one(mocks, NG).inputs.amiType, "BOTTLEROCKET_ARM_64");
  });

  const LAZY_ERROR =
    "SociNodeGroup 'br-lazy' has 1 problem; nothing was created:\n" +
    "  - br-lazy.sociMode: 'lazy' is not available on Bottlerocket (it has SOCI parallel pull only). " +
    "Set br-lazy.sociMode to parallel or off (lazy is the default, so a Bottlerocket node group must set it), or set br-lazy.os to al2023.";

  it("os bottlerocket with sociMode lazy, given or by default, is a validation error and registers nothing", async () => {
    for (const sociMode of ["lazy" as const, undefined]) {
      mocks.reset();
      await assert.rejects(SociNodeGroup.create("br-lazy", { clusterName: "k", subnetIds: [], os: "bottlerocket", ...(sociMode ? { sociMode } : {}) }), (e: Error) => {
        assert.ok(e instanceof SociConfigError);
        assert.equal(e.message, LAZY_ERROR);
        return true;
      });
      await settle(mocks);
      assert.deepEqual(mocks.resources, [], String(sociMode));
    }
    const m7i = { instanceType: "m7i.xlarge", vcpus: 4, memoryMiB: 16384, architectures: ["x86_64" as const], gpus: 0 };
    assert.throws(() => new SociNodeGroup("br-lazy", { clusterName: "k", subnetIds: [], os: "bottlerocket", instanceFacts: m7i }), (e: Error) => e.message === LAZY_ERROR);
    assert.deepEqual(mocks.resources, []);
  });

  it("an unknown os is a validation error", async () => {
    await assert.rejects(
      SociNodeGroup.create("win", { clusterName: "k", subnetIds: [], os: "windows" as never }),
      /win\.os: 'windows' is not one of al2023, bottlerocket\. Set win\.os to al2023 \(default\) or bottlerocket\./,
    );
    await settle(mocks);
    assert.deepEqual(mocks.resources, []);
  });

  it("SociCluster passes os to each node group; a lazy Bottlerocket group stops the whole cluster", async () => {
    const cluster = await SociCluster.create("mix", {
      nodeGroups: [
        { name: "al", instanceType: "m7i.xlarge" },
        { name: "br", instanceType: "m7g.xlarge", os: "bottlerocket", sociMode: "parallel" },
      ],
    });
    await promiseOf(cluster.nodeGroupNames);
    await settle(mocks);
    const ngs = ofType(mocks, NG);
    assert.equal(ngs.find((n) => n.name === "mix-al-ng")!.inputs.amiType, "AL2023_x86_64_STANDARD");
    assert.equal(ngs.find((n) => n.name === "mix-br-ng")!.inputs.amiType, "BOTTLEROCKET_ARM_64");
    const brLt = ofType(mocks, LT).find((l) => l.name === "mix-br-lt")!;
    assert.equal((parseToml(userDataOf(brLt)) as any).settings["container-runtime"].snapshotter, "soci");
    assert.deepEqual(brLt.inputs.blockDeviceMappings.map((m: { deviceName: string }) => m.deviceName), ["/dev/xvda", "/dev/xvdb"]);
    const alLt = ofType(mocks, LT).find((l) => l.name === "mix-al-lt")!;
    assert.deepEqual(alLt.inputs.blockDeviceMappings.map((m: { deviceName: string }) => m.deviceName), ["/dev/xvda"]);

    mocks.reset();
    await assert.rejects(
      SociCluster.create("mixbad", { nodeGroups: [{ name: "al" }, { name: "br", os: "bottlerocket" }] }),
      (e: Error) => {
        assert.ok(e instanceof SociConfigError);
        assert.deepEqual(e.problems.map(components.formatProblem), [
          "mixbad.nodeGroups[1].sociMode: 'lazy' is not available on Bottlerocket (it has SOCI parallel pull only). Set mixbad.nodeGroups[1].sociMode to parallel or off (lazy is the default, so a Bottlerocket node group must set it), or set mixbad.nodeGroups[1].os to al2023.",
        ]);
        return true;
      },
    );
    await settle(mocks);
    assert.deepEqual(mocks.resources, []);
  });
});
