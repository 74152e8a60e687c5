/**
 * Runs Pulumi programs of a consumer project under Pulumi's mocks, as `pulumi up` would run them but with
 * no engine: `node dist/run-under-mocks.js dist/readme-L60.js ...`. Each program's module exports an async
 * function (`export = async () => {...}`); its result becomes the stack outputs. Prints one JSON line per
 * program (resource counts by type, output names) and exits 1 when a program fails, registers no SOCI node
 * group, leaves a node group without its launch template, or returns an output that does not resolve. A SOCI node
 * group is a `SociNodeGroup` or an `eks.ManagedNodeGroup` booting from a launch template the program registered
 * (the @pulumi/eks plug-in `sociForEks`) with IMDSv2 required and encrypted volumes.
 */
import { createHash } from "crypto";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";

/** EC2 DescribeInstanceTypes facts (AWS's published specifications) for the types the README uses. */
const INSTANCE_TYPES: Record<string, Record<string, unknown>> = {
  "m7i.xlarge": { defaultVcpus: 4, memorySize: 16384, supportedArchitectures: ["x86_64"], gpuses: [], instanceStorageSupported: false, instanceDisks: [], totalInstanceStorage: 0 },
  "m7g.2xlarge": { defaultVcpus: 8, memorySize: 32768, supportedArchitectures: ["arm64"], gpuses: [], instanceStorageSupported: false, instanceDisks: [], totalInstanceStorage: 0 },
  "m6id.2xlarge": { defaultVcpus: 8, memorySize: 32768, supportedArchitectures: ["x86_64"], gpuses: [], instanceStorageSupported: true, instanceDisks: [{ count: 1, size: 474, type: "ssd" }], totalInstanceStorage: 474 },
};

/** EKS's version list as `aws.eks.getClusterVersions` returns it (support dates far ahead: no test depends on today). */
const CLUSTER_VERSIONS = ["1.33", "1.34", "1.35", "1.36"].map((v) => ({
  clusterType: "eks",
  clusterVersion: v,
  defaultPlatformVersion: "eks.1",
  defaultVersion: v === "1.35",
  endOfExtendedSupportDate: "2099-12-31",
  endOfStandardSupportDate: "2098-12-31",
  kubernetesPatchVersion: `${v}.0`,
  releaseDate: "2025-01-01",
  versionStatus: "STANDARD_SUPPORT",
}));

const counts: Record<string, number> = {};
/** Launch templates by their mock ID, and the launch template each eks.ManagedNodeGroup names. */
const launchTemplates = new Map<string, Record<string, any>>();
const managedNodeGroupTemplates: (string | undefined)[] = [];
/** IAM roles that EC2 instances assume (node roles); a cluster also makes roles for pods (the VPC CNI's). */
let nodeRoles = 0;

function computed(type: string, name: string, inputs: Record<string, unknown>): Record<string, unknown> {
  switch (type) {
    case "aws:iam/role:Role":
      return { arn: `arn:aws:iam::123456789012:role/${name}` };
    case "aws:ec2/launchTemplate:LaunchTemplate":
      return { latestVersion: 1 };
    case "aws:eks/nodeGroup:NodeGroup":
      return { nodeGroupName: inputs.nodeGroupName ?? `${name}-1234567` };
    case "eks:index:Cluster": {
      const clusterName = `${name}-cluster`;
      const endpoint = "https://ABC.gr7.us-west-2.eks.amazonaws.com";
      const kubeconfig = { apiVersion: "v1", kind: "Config", clusters: [{ name: clusterName, cluster: { server: endpoint } }] };
      return {
        eksCluster: { name: clusterName, endpoint, certificateAuthority: { data: Buffer.from("mock-ca").toString("base64") }, kubernetesNetworkConfigs: [{ serviceIpv4Cidr: "172.20.0.0/16" }] },
        kubeconfig,
        kubeconfigJson: JSON.stringify(kubeconfig),
        core: { cluster: { name: clusterName }, endpoint },
        clusterSecurityGroupId: "sg-0123456789abcdef0",
      };
    }
    default:
      return {};
  }
}

pulumi.runtime.setMocks(
  {
    newResource(args: pulumi.runtime.MockResourceArgs): { id: string; state: Record<string, unknown> } {
      counts[args.type] = (counts[args.type] ?? 0) + 1;
      if (args.type === "aws:ec2/launchTemplate:LaunchTemplate") launchTemplates.set(`${args.name}-id`, args.inputs);
      if (args.type === "eks:index:ManagedNodeGroup") managedNodeGroupTemplates.push(args.inputs.launchTemplate?.id);
      if (args.type === "aws:iam/role:Role" && String(args.inputs.assumeRolePolicy ?? "").includes("ec2.amazonaws.com")) nodeRoles++;
      return { id: `${args.name}-id`, state: { ...args.inputs, ...computed(args.type, args.name, args.inputs) } };
    },
    call(args: pulumi.runtime.MockCallArgs): Record<string, unknown> {
      switch (args.token) {
        case "aws:ec2/getInstanceType:getInstanceType": {
          const facts = INSTANCE_TYPES[args.inputs.instanceType];
          if (!facts) throw new Error(`InvalidInstanceType: ${args.inputs.instanceType}`);
          return { id: args.inputs.instanceType, instanceType: args.inputs.instanceType, ...facts };
        }
        case "aws:index/getPartition:getPartition":
          return { id: "aws", partition: "aws", dnsSuffix: "amazonaws.com", reverseDnsPrefix: "com.amazonaws" };
        case "aws:index/getAvailabilityZones:getAvailabilityZones":
          return { id: "us-west-2", names: ["us-west-2a", "us-west-2b", "us-west-2c"], zoneIds: ["usw2-az1", "usw2-az2", "usw2-az3"] };
        case "aws:eks/getClusterVersions:getClusterVersions":
          return { id: "us-west-2", clusterVersions: CLUSTER_VERSIONS };
        default:
          // Pulumi's mocks pass the error on without its message: say which invoke it was.
          process.stderr.write(`run-under-mocks: unmocked invoke ${args.token}\n`);
          throw new Error(`unmocked invoke ${args.token}`);
      }
    },
  },
  "consumer",
  "test",
  false,
);
// The README's programs read the release digests from the project's config (`pulumi config set sociSha256 ...`):
// test-only stand-ins for both architectures (they match no tarball; nothing is installed under mocks).
const standIn = (arch: string) => createHash("sha256").update(`soci-eks consumer test stand-in ${arch}`).digest("hex");
pulumi.runtime.setAllConfig({ "consumer:sociSha256": `amd64=${standIn("amd64")},arm64=${standIn("arm64")}` });

function resolve<T>(value: pulumi.Input<T>, what: string): Promise<T> {
  return new Promise((ok, fail) => {
    const timer = setTimeout(() => fail(new Error(`${what} did not resolve within 30 s`)), 30_000);
    pulumi.output(value).apply((v) => {
      clearTimeout(timer);
      ok(v as T);
    });
  });
}

async function runProgram(file: string): Promise<string[]> {
  for (const k of Object.keys(counts)) delete counts[k];
  launchTemplates.clear();
  managedNodeGroupTemplates.length = 0;
  nodeRoles = 0;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const program: unknown = require(path.resolve(file));
  if (typeof program !== "function") return [`${file}: does not export a function (export = async () => {...})`];
  const outputs = ((await program()) ?? {}) as Record<string, pulumi.Input<unknown>>;
  const problems: string[] = [];
  const resolved: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(outputs)) {
    resolved[name] = await resolve(value, `${file}: output ${name}`);
    if (resolved[name] === undefined || resolved[name] === "" || (Array.isArray(resolved[name]) && (resolved[name] as unknown[]).length === 0)) {
      problems.push(`${file}: output ${name} is empty`);
    }
  }
  await new Promise((r) => setTimeout(r, 200)); // let the last registrations land
  const groups = counts["soci-eks:index:SociNodeGroup"] ?? 0;
  const pluginGroups = managedNodeGroupTemplates.length;
  if (groups + pluginGroups === 0) problems.push(`${file}: no SociNodeGroup or eks.ManagedNodeGroup was registered`);
  if (pluginGroups === 0) {
    for (const t of ["aws:eks/nodeGroup:NodeGroup", "aws:ec2/launchTemplate:LaunchTemplate"]) {
      if ((counts[t] ?? 0) !== groups) problems.push(`${file}: ${counts[t] ?? 0} × ${t} for ${groups} SociNodeGroup(s)`);
    }
    if (nodeRoles !== groups) problems.push(`${file}: ${nodeRoles} node roles (EC2 trust) for ${groups} SociNodeGroup(s)`);
  }
  for (const id of managedNodeGroupTemplates) {
    const lt = id === undefined ? undefined : launchTemplates.get(id);
    if (!lt) {
      problems.push(`${file}: an eks.ManagedNodeGroup boots from no launch template of the program (${id})`);
      continue;
    }
    const encrypted = (lt.blockDeviceMappings ?? []).every((m: { ebs?: { encrypted?: string } }) => m.ebs?.encrypted === "true");
    if (lt.metadataOptions?.httpTokens !== "required" || lt.metadataOptions?.httpPutResponseHopLimit !== 1 || !encrypted || !lt.userData) {
      problems.push(`${file}: the launch template ${id} lacks IMDSv2 with hop limit 1, encrypted volumes or user data: ${JSON.stringify(lt)}`);
    }
  }
  process.stdout.write(JSON.stringify({ program: path.basename(file), outputs: Object.keys(resolved), resources: counts }) + "\n");
  return problems;
}

async function main(): Promise<void> {
  const files = process.argv.slice(2);
  if (files.length === 0) throw new Error("usage: run-under-mocks.js PROGRAM.js...");
  const problems: string[] = [];
  for (const f of files) problems.push(...(await runProgram(f)));
  if (problems.length) {
    process.stderr.write(problems.join("\n") + "\n");
    process.exit(1);
  }
  process.exit(0);
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? e.stack ?? e.message : String(e)}\n`);
  process.exit(1);
});
