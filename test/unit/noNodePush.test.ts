import { strict as assert } from "assert";
import { pinnedComponents } from "../helpers/pinned";
import { beforeEach, describe, it } from "node:test";
import { ECR_REGISTRY, installMocks, MockRecord, promiseOf, RecordedResource, settle } from "../helpers/mocks";

/**
 * Issue 19's "no node role can push": under mocks, every IAM role that EC2 can assume (a node role), across
 * SociCluster + SociNodeGroup + SociIndexBuilder in one program, has no ECR action that writes an image, through an
 * inline policy, a customer-managed policy or an AWS-managed policy. AWS-managed policies cannot be read here, so
 * only the ones named below may be attached to a node role; each is AWS's published node or pull policy.
 */
const mocks = installMocks(false);
// eslint-disable-next-line @typescript-eslint/no-var-requires
const components: typeof import("../../components") = require("../../components");
const { SociIndexBuilder } = components;
// Groups of the default release get test-only digests (test/helpers/pinned.ts).
const { SociCluster, SociNodeGroup } = pinnedComponents(components);

/** ECR actions that add, replace or delete an image, a layer or a repository's content. */
export const ECR_WRITE_ACTIONS = [
  "ecr:PutImage",
  "ecr:InitiateLayerUpload",
  "ecr:UploadLayerPart",
  "ecr:CompleteLayerUpload",
  "ecr:BatchDeleteImage",
  "ecr:DeleteRepository",
  "ecr:CreateRepository",
  "ecr:PutImageTagMutability",
  "ecr:ReplicateImage",
  "ecr:StartImageScan",
];

/** AWS-managed policies a node role may carry: none of them writes to ECR (AWS's published policy documents). */
const MANAGED_WITHOUT_ECR_WRITE = new Set([
  "AmazonEKSWorkerNodePolicy",
  "AmazonEC2ContainerRegistryPullOnly",
  "AmazonEC2ContainerRegistryReadOnly",
  "AmazonEKS_CNI_Policy",
  "AmazonSSMManagedInstanceCore",
]);

type Statement = { Effect?: string; Action?: string | string[]; NotAction?: string | string[] };

/** Whether an IAM action pattern (with `*` and `?`) matches an action, case-insensitively as IAM does. */
function matches(pattern: string, action: string): boolean {
  const re = new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".")}$`, "i");
  return re.test(action);
}

/** The ECR write actions a policy document allows. */
export function ecrWritesAllowed(document: string): string[] {
  const doc = JSON.parse(document) as { Statement: Statement | Statement[] };
  const statements = Array.isArray(doc.Statement) ? doc.Statement : [doc.Statement];
  const allowed = new Set<string>();
  for (const s of statements) {
    if (s.Effect !== "Allow") continue;
    const list = (v: string | string[] | undefined) => (v === undefined ? [] : Array.isArray(v) ? v : [v]);
    for (const action of ECR_WRITE_ACTIONS) {
      if (s.NotAction !== undefined ? !list(s.NotAction).some((p) => matches(p, action)) : list(s.Action).some((p) => matches(p, action))) allowed.add(action);
    }
  }
  return [...allowed].sort();
}

function trustsEc2(role: RecordedResource): boolean {
  const doc = JSON.parse(role.inputs.assumeRolePolicy);
  const statements: { Effect: string; Principal?: { Service?: string | string[] } }[] = Array.isArray(doc.Statement) ? doc.Statement : [doc.Statement];
  return statements.some((s) => s.Effect === "Allow" && [s.Principal?.Service ?? []].flat().includes("ec2.amazonaws.com"));
}

/** Every way a node role can push, as `role: how`. */
export function nodeRolePushRights(record: MockRecord): string[] {
  const roles = record.resources.filter((r) => r.type === "aws:iam/role:Role" && trustsEc2(r));
  const nameOf = (r: RecordedResource) => r.inputs.name ?? `${r.name}-1234567`;
  const nodeRoleNames = new Set(roles.map(nameOf));
  const isNodeRole = (role: unknown) => typeof role === "string" && (nodeRoleNames.has(role) || [...nodeRoleNames].some((n) => role.endsWith(`/${n}`)));
  const customer = new Map(record.resources.filter((r) => r.type === "aws:iam/policy:Policy").map((p) => [`arn:aws:iam::123456789012:policy/${p.inputs.name ?? p.name}`, p.inputs.policy as string]));
  const found: string[] = [];
  for (const r of record.resources) {
    if (r.type === "aws:iam/rolePolicy:RolePolicy" && isNodeRole(r.inputs.role)) {
      for (const a of ecrWritesAllowed(r.inputs.policy)) found.push(`${r.inputs.role}: inline ${r.name} allows ${a}`);
    }
    if (r.type === "aws:iam/rolePolicyAttachment:RolePolicyAttachment" && isNodeRole(r.inputs.role)) {
      const arn: string = r.inputs.policyArn;
      const managed = /^arn:aws[a-z-]*:iam::aws:policy\/(?:.*\/)?([^/]+)$/.exec(arn);
      if (managed && !MANAGED_WITHOUT_ECR_WRITE.has(managed[1])) found.push(`${r.inputs.role}: AWS-managed ${managed[1]} is not known to be free of ECR writes`);
      if (!managed) {
        const doc = customer.get(arn);
        if (doc === undefined) found.push(`${r.inputs.role}: unknown policy ${arn}`);
        else for (const a of ecrWritesAllowed(doc)) found.push(`${r.inputs.role}: ${arn} allows ${a}`);
      }
    }
    if (r.type === "aws:iam/role:Role" && nodeRoleNames.has(nameOf(r))) {
      for (const p of r.inputs.inlinePolicies ?? []) for (const a of ecrWritesAllowed(p.policy)) found.push(`${nameOf(r)}: inline ${p.name} allows ${a}`);
      for (const arn of r.inputs.managedPolicyArns ?? []) {
        const m = /policy\/(?:.*\/)?([^/]+)$/.exec(arn);
        if (!m || !MANAGED_WITHOUT_ECR_WRITE.has(m[1])) found.push(`${nameOf(r)}: managed ${arn} is not known to be free of ECR writes`);
      }
    }
  }
  return found;
}

describe("no node role can push to ECR", () => {
  beforeEach(() => {
    mocks.reset();
    mocks.ecr.images.set("ml/trainer:v1", `sha256:${"a".repeat(64)}`);
    mocks.ecr.mutability.set("ml/trainer", "IMMUTABLE");
  });

  it("SociCluster (lazy + parallel groups) + a SociNodeGroup + SociIndexBuilder: node roles have no ECR write; the builder's role is not a node role", async () => {
    const cluster = await SociCluster.create("c", { nodeGroups: [{ name: "lazy" }, { name: "par", sociMode: "parallel" }] });
    const extra = await SociNodeGroup.create("extra", { clusterName: cluster.clusterName, subnetIds: ["subnet-1"], instanceType: "m7i.xlarge", sociMode: "lazy" });
    const builder = new SociIndexBuilder("idx", {
      images: [{ repository: "ml/trainer", tag: "v1" }],
      clusterName: cluster.clusterName,
      builderImage: `${ECR_REGISTRY}/soci-eks/builder@sha256:${"d".repeat(64)}`,
      podIdentityAgent: cluster.podIdentityAgentAddon, // the agreement: SociCluster's add-on, the builder creates none
    });
    await promiseOf(builder.results);
    await promiseOf(extra.nodeRoleArn);
    await settle(mocks);

    assert.equal(mocks.resources.filter((r) => r.type === "aws:eks/addon:Addon" && r.inputs.addonName === "eks-pod-identity-agent").length, 1, "one agent add-on: SociCluster's");
    const roles = mocks.resources.filter((r) => r.type === "aws:iam/role:Role");
    const nodeRoles = roles.filter(trustsEc2);
    assert.equal(nodeRoles.length, 3, "one node role per node group");
    assert.deepEqual(nodeRolePushRights(mocks), []);

    // The push right exists, on the builder's own role, which only EKS Pod Identity can assume.
    const builderRole = roles.find((r) => r.name === "idx-role");
    assert.ok(builderRole && !trustsEc2(builderRole));
    const builderPolicy = mocks.resources.find((r) => r.type === "aws:iam/rolePolicy:RolePolicy" && r.name === "idx-ecr");
    assert.ok(builderPolicy);
    assert.equal(builderPolicy.inputs.role, "idx-role-1234567");
    assert.deepEqual(ecrWritesAllowed(builderPolicy.inputs.policy), ["ecr:CompleteLayerUpload", "ecr:InitiateLayerUpload", "ecr:PutImage", "ecr:UploadLayerPart"]);
  });

  it("the check finds push rights where they are (the builder's old inline policy on a node role, wildcards, NotAction, managed)", () => {
    const fake: MockRecord = { ...mocks, resources: [] };
    const role = (name: string, service: string): RecordedResource => ({
      type: "aws:iam/role:Role",
      name,
      custom: true,
      inputs: { name, assumeRolePolicy: JSON.stringify({ Statement: [{ Effect: "Allow", Principal: { Service: service }, Action: "sts:AssumeRole" }] }) },
    });
    const inline = (name: string, roleName: string, statement: object): RecordedResource => ({
      type: "aws:iam/rolePolicy:RolePolicy",
      name,
      custom: true,
      inputs: { role: roleName, policy: JSON.stringify({ Statement: [statement] }) },
    });
    fake.resources.push(
      role("node", "ec2.amazonaws.com"),
      role("pods", "pods.eks.amazonaws.com"),
      inline("old-push", "node", { Effect: "Allow", Action: ["ecr:PutImage", "ecr:UploadLayerPart"], Resource: "*" }),
      inline("wild", "node", { Effect: "Allow", Action: "ecr:*", Resource: "*" }),
      inline("not", "node", { Effect: "Allow", NotAction: "s3:*", Resource: "*" }),
      inline("builder", "pods", { Effect: "Allow", Action: "ecr:PutImage", Resource: "*" }),
      { type: "aws:iam/rolePolicyAttachment:RolePolicyAttachment", name: "pu", custom: true, inputs: { role: "node", policyArn: "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryPowerUser" } },
    );
    const found = nodeRolePushRights(fake);
    assert.ok(found.includes("node: inline old-push allows ecr:PutImage"), found.join("\n"));
    assert.ok(found.includes("node: inline wild allows ecr:BatchDeleteImage"));
    assert.ok(found.includes("node: inline not allows ecr:CompleteLayerUpload"));
    assert.ok(found.includes("node: AWS-managed AmazonEC2ContainerRegistryPowerUser is not known to be free of ECR writes"));
    assert.ok(!found.some((f) => f.startsWith("pods:")), "a Pod Identity role is not a node role");
  });
});
