/**
 * The cluster's security defaults under Pulumi mocks (issue 19 item 5): private API endpoint, public endpoint closed or
 * restricted to CIDRs the user gives, control-plane logs, optional KMS key, one NAT gateway per AZ, and the VPC CNI on
 * its own role (EKS Pod Identity), so no role that EC2 assumes carries AmazonEKS_CNI_Policy. Each setting is
 * overridable through the component args, the stack config and the component package, and a bad value stops
 * everything before the first resource.
 */
import { strict as assert } from "assert";
import { TEST_ONLY_SOCI_SHA256 } from "../helpers/options";
import { pinnedComponents } from "../helpers/pinned";
import { readFileSync } from "fs";
import * as path from "path";
import { beforeEach, describe, it } from "node:test";
import * as pulumi from "@pulumi/pulumi";
import { parse as parseYaml } from "yaml";
import { captureWarnings, installMocks, MockRecord, ofType, one, promiseOf, RecordedResource, settle } from "../helpers/mocks";
import { REPO_ROOT } from "../helpers/sociWiring";

const mocks = installMocks(false);
// eslint-disable-next-line @typescript-eslint/no-var-requires
const components: typeof import("../../components") = require("../../components");
const { SociConfigError } = components;
// Groups of the default release get test-only digests (test/helpers/pinned.ts).
const { SociCluster, SociNodeGroup } = pinnedComponents(components);
// eslint-disable-next-line @typescript-eslint/no-var-requires
const security: typeof import("../../validation/clusterSecurity") = require("../../validation/clusterSecurity");

import { EKS_CLUSTER as EKS, IAM_ROLE as ROLE, IAM_POLICY_ATTACHMENT as ATTACH, NAT_GATEWAY as NAT, EKS_ADDON as ADDON, POD_IDENTITY_ASSOCIATION as ASSOC } from "../helpers/resourceTypes";
const CNI_POLICY = "arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy";

type ClusterArgs = import("../../components").SociClusterCreateArgs;

async function cluster(name: string, extra: Partial<ClusterArgs> = {}): Promise<string[]> {
  return captureWarnings(async () => {
    const c = await SociCluster.create(name, { nodeGroups: [{ name: "default" }], ...extra });
    await promiseOf(c.nodeGroupNames);
    await settle(mocks);
  });
}

/** The services that may assume a recorded role (its trust policy's principals). */
function trustedServices(role: RecordedResource): string[] {
  const doc = JSON.parse(role.inputs.assumeRolePolicy) as { Statement: { Principal: { Service: string | string[] } }[] };
  return doc.Statement.flatMap((s) => [s.Principal.Service].flat());
}

/** The managed policies attached to each recorded role, by the role's (mocked) name. */
function policiesByRole(record: MockRecord): Map<RecordedResource, string[]> {
  const out = new Map<RecordedResource, string[]>();
  for (const role of ofType(record, ROLE)) {
    const name = `${role.name}-1234567`;
    out.set(role, ofType(record, ATTACH).filter((a) => a.inputs.role === name).map((a) => a.inputs.policyArn as string));
  }
  return out;
}

/** Roles that EC2 instances assume (node roles), with their policies. */
function ec2Roles(record: MockRecord): [RecordedResource, string[]][] {
  return [...policiesByRole(record)].filter(([role]) => trustedServices(role).includes("ec2.amazonaws.com"));
}

async function refused(args: Partial<ClusterArgs>, pattern: RegExp): Promise<void> {
  await assert.rejects(SociCluster.create("bad", { nodeGroups: [{ name: "default" }], ...args }), (e: Error) => {
    assert.ok(e instanceof SociConfigError, String(e));
    assert.match(e.message, pattern);
    return true;
  });
  await settle(mocks);
  assert.deepEqual(mocks.resources, [], "nothing registered");
}

describe("SociCluster's security defaults (under mocks)", () => {
  beforeEach(() => mocks.reset());

  it("private endpoint on, public endpoint off, audit/api/authenticator logs, no customer KMS key", async () => {
    const warnings = await cluster("d");
    const eks = one(mocks, EKS).inputs;
    assert.equal(eks.endpointPrivateAccess, true);
    assert.equal(eks.endpointPublicAccess, false);
    assert.equal(eks.publicAccessCidrs, undefined);
    assert.deepEqual(eks.enabledClusterLogTypes, ["api", "audit", "authenticator"]);
    assert.equal(eks.encryptionConfigKeyArn, undefined);
    assert.deepEqual(warnings, []);
  });

  it("one NAT gateway per AZ, each in its own public subnet with its own address", async () => {
    await cluster("d");
    const nats = ofType(mocks, NAT);
    assert.equal(nats.length, 2);
    assert.deepEqual(new Set(nats.map((n) => n.inputs.subnetId)), new Set(["d-public-0-id", "d-public-1-id"]));
    assert.equal(new Set(nats.map((n) => n.inputs.allocationId)).size, 2);
  });

  it("no role that EC2 assumes carries AmazonEKS_CNI_Policy; the VPC CNI has its own role through EKS Pod Identity", async () => {
    await cluster("d", { nodeGroups: [{ name: "a" }, { name: "b", instanceType: "m7g.xlarge" }] });
    const nodeRoles = ec2Roles(mocks);
    assert.equal(nodeRoles.length, 2);
    for (const [role, policies] of nodeRoles) {
      assert.ok(!policies.includes(CNI_POLICY), `${role.name}: ${policies.join(", ")}`);
      assert.ok(policies.some((p) => p.endsWith("/AmazonEKSWorkerNodePolicy")), role.name);
    }
    const cniRole = ofType(mocks, ROLE).find((r) => r.name === "d-vpc-cni")!;
    assert.deepEqual(trustedServices(cniRole), ["pods.eks.amazonaws.com"]);
    assert.deepEqual(JSON.parse(cniRole.inputs.assumeRolePolicy).Statement[0].Action, ["sts:AssumeRole", "sts:TagSession"]);
    assert.deepEqual(policiesByRole(mocks).get(cniRole), [CNI_POLICY]);
    const assoc = one(mocks, ASSOC).inputs;
    assert.deepEqual([assoc.clusterName, assoc.namespace, assoc.serviceAccount, assoc.roleArn], ["d-eks-cluster", "kube-system", "aws-node", "arn:aws:iam::123456789012:role/d-vpc-cni-1234567"]);
  });

  it("creates the eks-pod-identity-agent add-on and the CNI's association before any node group, and exposes the add-on", async () => {
    const c = await SociCluster.create("p", { nodeGroups: [{ name: "default" }] });
    await promiseOf(c.nodeGroupNames);
    await settle(mocks);
    const agent = ofType(mocks, ADDON).find((a) => a.inputs.addonName === "eks-pod-identity-agent")!;
    assert.equal(agent.inputs.clusterName, "p-eks-cluster");
    const order = mocks.resources.map((r) => (r.type === ADDON ? `addon:${r.inputs.addonName}` : r.type));
    assert.ok(order.indexOf("addon:eks-pod-identity-agent") < order.indexOf("soci-eks:index:SociNodeGroup"));
    assert.ok(order.indexOf(ASSOC) < order.indexOf("soci-eks:index:SociNodeGroup"));
    assert.equal(await promiseOf(c.podIdentityAgentAddon.addonName), "eks-pod-identity-agent");
    assert.equal(c.endpointPrivateAccess, true);
    assert.deepEqual(c.endpointPublicAccessCidrs, []);
  });
});

describe("SociCluster's security settings, overridden", () => {
  beforeEach(() => mocks.reset());

  it("endpointPublicAccessCidrs opens the public endpoint to exactly those networks", async () => {
    const warnings = await cluster("pub", { endpointPublicAccessCidrs: ["203.0.113.7/32", "198.51.100.0/24"] });
    const eks = one(mocks, EKS).inputs;
    assert.equal(eks.endpointPublicAccess, true);
    assert.deepEqual(eks.publicAccessCidrs, ["203.0.113.7/32", "198.51.100.0/24"]);
    assert.equal(eks.endpointPrivateAccess, true);
    assert.deepEqual(warnings, []);
  });

  it("0.0.0.0/0 is accepted only as an explicit choice, with a warning", async () => {
    const warnings = await cluster("open", { endpointPublicAccessCidrs: ["0.0.0.0/0"] });
    assert.deepEqual(one(mocks, EKS).inputs.publicAccessCidrs, ["0.0.0.0/0"]);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0], /open\.endpointPublicAccessCidrs: 0\.0\.0\.0\/0 opens the cluster's public API endpoint to the whole internet/);
  });

  it("logs, KMS key, a single NAT gateway and the CNI on the node role, each on request", async () => {
    const key = "arn:aws:kms:us-west-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";
    await cluster("o", { controlPlaneLogs: ["audit"], secretsKmsKeyArn: key, natGateways: "single", vpcCniCredentials: "node-role" });
    const eks = one(mocks, EKS).inputs;
    assert.deepEqual(eks.enabledClusterLogTypes, ["audit"]);
    assert.equal(eks.encryptionConfigKeyArn, key);
    assert.equal(ofType(mocks, NAT).length, 1);
    const assoc = ofType(mocks, "aws:ec2/routeTableAssociation:RouteTableAssociation").filter((a) => a.name.includes("private"));
    assert.deepEqual(assoc.map((a) => a.inputs.routeTableId), ["o-private-rt-id", "o-private-rt-id"]);
    assert.equal(ofType(mocks, ASSOC).length, 0);
    assert.equal(ofType(mocks, ROLE).filter((r) => r.name === "o-vpc-cni").length, 0);
    const [[, policies]] = ec2Roles(mocks);
    assert.ok(policies.includes(CNI_POLICY), policies.join(", "));
    // The agent is there either way: other pods (the index builder) use it.
    assert.equal(ofType(mocks, ADDON).filter((a) => a.inputs.addonName === "eks-pod-identity-agent").length, 1);
  });

  it("controlPlaneLogs: [] turns the logs off", async () => {
    const warnings = await cluster("nolog", { controlPlaneLogs: [] });
    assert.deepEqual(one(mocks, EKS).inputs.enabledClusterLogTypes, []);
    assert.equal(warnings.filter((w) => /without 'audit'/.test(w)).length, 1);
  });

  it("refuses bad values before anything exists, naming the setting, the value and the fix", async () => {
    await refused({ endpointPublicAccessCidrs: ["203.0.113.7/24"] }, /bad\.endpointPublicAccessCidrs: '203\.0\.113\.7\/24' has host bits set \(its network is 203\.0\.113\.0\/24\)\. List IPv4 networks/);
    await refused({ endpointPublicAccessCidrs: ["my-laptop"] }, /'my-laptop' is not an IPv4 CIDR block/);
    await refused({ endpointPublicAccessCidrs: ["2001:db8::/32"] }, /is not an IPv4 CIDR block/);
    await refused({ endpointPrivateAccess: false }, /bad\.endpointPrivateAccess: false turns the private endpoint off while bad\.endpointPublicAccessCidrs is empty .*nothing could reach the API server.*Keep bad\.endpointPrivateAccess true/);
    await refused({ controlPlaneLogs: ["audit", "kubelet" as never] }, /bad\.controlPlaneLogs: 'kubelet' is not an EKS control-plane log type/);
    await refused({ secretsKmsKeyArn: "alias/eks" }, /bad\.secretsKmsKeyArn: 'alias\/eks' is not a KMS key or alias ARN\. Give the key's ARN/);
    await refused({ natGateways: "two" as never }, /bad\.natGateways: 'two' is not one of one-per-az, single/);
    await refused(
      { natGateways: "single", existingVpcId: "vpc-0123456789abcdef0", existingSubnetIds: ["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"] },
      /bad\.natGateways: 'single' has no effect with existing subnets.*Drop bad\.natGateways/,
    );
    await refused({ vpcCniCredentials: "irsa" as never }, /bad\.vpcCniCredentials: 'irsa' is not one of pod-identity, node-role/);
    await refused({ endpointPublicAccessCidrs: Array.from({ length: 41 }, (_, i) => `10.${i}.0.0/16`) }, /lists more CIDRs than EKS allows per cluster \(40\)/);
  });

  it("existing subnets with the default NAT layout pass (nothing to create)", async () => {
    await cluster("ex", { existingVpcId: "vpc-0123456789abcdef0", existingSubnetIds: ["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"] });
    assert.equal(ofType(mocks, NAT).length, 0);
  });
});

describe("SociNodeGroup on its own: whose credentials the VPC CNI uses", () => {
  beforeEach(() => mocks.reset());

  async function group(name: string, extra: Record<string, unknown>): Promise<{ warnings: string[]; policies: string[] }> {
    const warnings = await captureWarnings(async () => {
      const ng = await SociNodeGroup.create(name, { clusterName: "k", subnetIds: ["subnet-a"], ...extra });
      await promiseOf(ng.nodeGroupName);
      await settle(mocks);
    });
    return { warnings, policies: ofType(mocks, ATTACH).map((a) => a.inputs.policyArn) };
  }

  it("unset: no CNI policy on the node role, and a warning that names the setting and both ways out", async () => {
    const { warnings, policies } = await group("u", {});
    assert.ok(!policies.includes(CNI_POLICY));
    assert.equal(warnings.length, 1);
    assert.match(warnings[0], /^u\.vpcCniCredentials is unset: the node role soci-eks creates does not carry AmazonEKS_CNI_Policy\..*new nodes get no pod IP addresses\..*set u\.vpcCniCredentials to pod-identity, or set it to node-role/);
  });

  it("pod-identity: no CNI policy, no warning; node-role: the policy is back", async () => {
    const a = await group("pi", { vpcCniCredentials: "pod-identity" });
    assert.ok(!a.policies.includes(CNI_POLICY));
    assert.deepEqual(a.warnings, []);
    mocks.reset();
    const b = await group("nr", { vpcCniCredentials: "node-role" });
    assert.ok(b.policies.includes(CNI_POLICY));
    assert.deepEqual(b.warnings, []);
  });

  it("a bad value is refused before anything exists", async () => {
    await assert.rejects(
      SociNodeGroup.create("x", { clusterName: "k", subnetIds: [], vpcCniCredentials: "both" as never }),
      /x\.vpcCniCredentials: 'both' is not one of pod-identity, node-role/,
    );
    await settle(mocks);
    assert.deepEqual(mocks.resources, []);
  });

  it("one rule (validation/clusterSecurity.ts): SociNodeGroup and SociCluster refuse a bad value with the same message, but for the setting's name", async () => {
    const lineOf = async (create: () => Promise<unknown>, setting: string): Promise<string> => {
      try {
        await create();
      } catch (e) {
        assert.ok(e instanceof SociConfigError, String(e));
        const line = e.message.split("\n").find((l) => l.startsWith(`  - ${setting}: `));
        assert.ok(line, e.message);
        return line.split(setting).join("<vpcCniCredentials>");
      }
      assert.fail("not refused");
    };
    const group = await lineOf(() => SociNodeGroup.create("x", { clusterName: "k", subnetIds: [], vpcCniCredentials: "irsa" as never }), "x.vpcCniCredentials");
    const cluster = await lineOf(() => SociCluster.create("c", { nodeGroups: [{ name: "default" }], vpcCniCredentials: "irsa" as never }), "c.vpcCniCredentials");
    await settle(mocks);
    assert.equal(group, cluster);
    assert.match(group, /Set <vpcCniCredentials> to pod-identity \(the VPC CNI gets its own IAM role through EKS Pod Identity; node roles do not carry AmazonEKS_CNI_Policy\) or node-role/);
  });
});

describe("the stack config's security settings", () => {
  beforeEach(() => mocks.reset());
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const program: () => Promise<{ nodeGroupNames: pulumi.Output<string[]> }> = require("../../index");
  const project = parseYaml(readFileSync(path.join(REPO_ROOT, "Pulumi.yaml"), "utf8")) as { config: Record<string, { default: unknown }> };

  it("Pulumi.yaml's defaults are the components' security defaults", () => {
    for (const [key, value] of Object.entries(security.CLUSTER_SECURITY_DEFAULTS)) assert.deepEqual(project.config[key].default, value, key);
    assert.equal(project.config.secretsKmsKeyArn.default, "");
  });

  it("reach the cluster, and a bad one is named by its config key", async () => {
    pulumi.runtime.setAllConfig({
      "soci-eks:sociSha256": TEST_ONLY_SOCI_SHA256,
      "soci-eks:endpointPublicAccessCidrs": JSON.stringify(["192.0.2.0/24"]),
      "soci-eks:natGateways": "single",
      "soci-eks:controlPlaneLogs": JSON.stringify(["api", "audit", "authenticator", "scheduler"]),
    });
    const out = await program();
    await promiseOf(out.nodeGroupNames);
    await settle(mocks);
    const eks = one(mocks, EKS).inputs;
    assert.deepEqual(eks.publicAccessCidrs, ["192.0.2.0/24"]);
    assert.deepEqual(eks.enabledClusterLogTypes, ["api", "audit", "authenticator", "scheduler"]);
    assert.equal(ofType(mocks, NAT).length, 1);

    mocks.reset();
    pulumi.runtime.setAllConfig({ "soci-eks:endpointPrivateAccess": "false", "soci-eks:vpcCniCredentials": "nodes" });
    await assert.rejects(program(), (e: Error) => {
      assert.match(e.message, /soci-eks:endpointPrivateAccess: false turns the private endpoint off while soci-eks:endpointPublicAccessCidrs is empty/);
      assert.match(e.message, /soci-eks:vpcCniCredentials: 'nodes' is not one of pod-identity, node-role/);
      return true;
    });
    pulumi.runtime.setAllConfig({});
  });
});
