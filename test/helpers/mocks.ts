import * as pulumi from "@pulumi/pulumi";

/** One `newResource` call the mock monitor saw. */
export interface RecordedResource {
  type: string;
  name: string;
  inputs: Record<string, any>;
  custom: boolean;
  /** The provider reference, `urn::id`, when the resource names one. */
  provider?: string;
}

/** One invoke the mock monitor saw. */
export interface RecordedInvoke {
  token: string;
  inputs: Record<string, any>;
}

/**
 * EC2 DescribeInstanceTypes facts as the `aws:ec2/getInstanceType` invoke returns them, for a few types.
 * Values are AWS's published specifications (vCPU, memory in MiB, architectures, GPUs, instance-store disks).
 */
export const INSTANCE_TYPES: Record<string, Record<string, unknown>> = {
  "m7i.xlarge": { defaultVcpus: 4, memorySize: 16384, supportedArchitectures: ["x86_64"], gpuses: [], instanceStorageSupported: false, instanceDisks: [], totalInstanceStorage: 0 },
  "m7i.2xlarge": { defaultVcpus: 8, memorySize: 32768, supportedArchitectures: ["x86_64"], gpuses: [], instanceStorageSupported: false, instanceDisks: [], totalInstanceStorage: 0 },
  "m7g.xlarge": { defaultVcpus: 4, memorySize: 16384, supportedArchitectures: ["arm64"], gpuses: [], instanceStorageSupported: false, instanceDisks: [], totalInstanceStorage: 0 },
  "m6id.2xlarge": { defaultVcpus: 8, memorySize: 32768, supportedArchitectures: ["x86_64"], gpuses: [], instanceStorageSupported: true, instanceDisks: [{ count: 1, size: 474, type: "ssd" }], totalInstanceStorage: 474 },
  "c7gd.4xlarge": { defaultVcpus: 16, memorySize: 32768, supportedArchitectures: ["arm64"], gpuses: [], instanceStorageSupported: true, instanceDisks: [{ count: 1, size: 950, type: "ssd" }], totalInstanceStorage: 950 },
  "t3.small": { defaultVcpus: 2, memorySize: 2048, supportedArchitectures: ["x86_64"], gpuses: [], instanceStorageSupported: false, instanceDisks: [], totalInstanceStorage: 0 },
  "t3.medium": { defaultVcpus: 2, memorySize: 4096, supportedArchitectures: ["x86_64"], gpuses: [], instanceStorageSupported: false, instanceDisks: [], totalInstanceStorage: 0 },
  "g5.xlarge": { defaultVcpus: 4, memorySize: 16384, supportedArchitectures: ["x86_64"], gpuses: [{ count: 1, manufacturer: "NVIDIA", memorySize: 24576, name: "A10G" }], instanceStorageSupported: true, instanceDisks: [{ count: 1, size: 250, type: "ssd" }], totalInstanceStorage: 250 },
  "g5g.xlarge": { defaultVcpus: 4, memorySize: 8192, supportedArchitectures: ["arm64"], gpuses: [{ count: 1, manufacturer: "NVIDIA", memorySize: 16384, name: "T4g" }], instanceStorageSupported: false, instanceDisks: [], totalInstanceStorage: 0 },
  "d2.xlarge": { defaultVcpus: 4, memorySize: 31232, supportedArchitectures: ["x86_64"], gpuses: [], instanceStorageSupported: true, instanceDisks: [{ count: 3, size: 2000, type: "hdd" }], totalInstanceStorage: 6000 },
  "mac1.metal": { defaultVcpus: 12, memorySize: 32768, supportedArchitectures: ["x86_64_mac"], gpuses: [], instanceStorageSupported: false, instanceDisks: [], totalInstanceStorage: 0 },
};

/**
 * EKS's Kubernetes versions as the `aws:eks/getClusterVersions` invoke returns them (every status), a fixed snapshot:
 * 1.30–1.31 past extended support, 1.32–1.33 in extended support, 1.34–1.36 in standard support. Tests swap it
 * through {@link MockRecord.clusterVersions}; no test depends on today's date.
 */
export const EKS_CLUSTER_VERSIONS: readonly Record<string, unknown>[] = [
  ["1.30", "UNSUPPORTED", "2025-07-23", "2026-07-23"],
  ["1.31", "UNSUPPORTED", "2025-11-26", "2026-11-26"],
  ["1.32", "EXTENDED_SUPPORT", "2026-03-23", "2027-03-23"],
  ["1.33", "EXTENDED_SUPPORT", "2026-07-29", "2027-07-29"],
  ["1.34", "STANDARD_SUPPORT", "2026-12-02", "2027-12-02"],
  ["1.35", "STANDARD_SUPPORT", "2027-03-27", "2028-03-27"],
  ["1.36", "STANDARD_SUPPORT", "2027-08-02", "2028-08-02"],
].map(([clusterVersion, versionStatus, std, ext]) => ({
  clusterType: "eks",
  clusterVersion,
  versionStatus,
  endOfStandardSupportDate: `${std}T00:00:00Z`,
  endOfExtendedSupportDate: `${ext}T00:00:00Z`,
  defaultVersion: clusterVersion === "1.35",
}));

/** The outputs a mocked `eks:index:Cluster` returns (the remote component's children never appear under mocks). */
export function eksClusterOutputs(name: string): Record<string, unknown> {
  const clusterName = `${name}-cluster`;
  const kubeconfig = { apiVersion: "v1", kind: "Config", clusters: [{ name: clusterName, cluster: { server: "https://ABC.gr7.us-west-2.eks.amazonaws.com" } }] };
  return {
    eksCluster: {
      name: clusterName,
      endpoint: "https://ABC.gr7.us-west-2.eks.amazonaws.com",
      certificateAuthority: { data: Buffer.from("mock-ca").toString("base64") },
      kubernetesNetworkConfigs: [{ serviceIpv4Cidr: "172.20.0.0/16" }],
    },
    kubeconfig,
    kubeconfigJson: JSON.stringify(kubeconfig),
    core: { cluster: { name: clusterName }, endpoint: "https://ABC.gr7.us-west-2.eks.amazonaws.com" },
    clusterSecurityGroupId: "sg-0123456789abcdef0",
  };
}

/** The account and region of the mocked ECR registry. */
export const ECR_ACCOUNT = "123456789012";
export const ECR_REGION = "us-west-2";
export const ECR_REGISTRY = `${ECR_ACCOUNT}.dkr.ecr.${ECR_REGION}.amazonaws.com`;

/** A mocked ECR: images by `repository:tag` (value: digest) and each repository's `imageTagMutability`. */
export interface MockEcr {
  images: Map<string, string>;
  /** Repositories that exist, with their tag mutability; a repository holding an image exists as MUTABLE unless listed. */
  mutability: Map<string, string>;
}

function answerGetImage(ecr: MockEcr, inputs: Record<string, any>): Record<string, unknown> {
  const { repositoryName, imageTag, imageDigest } = inputs;
  const digest = imageDigest ?? ecr.images.get(`${repositoryName}:${imageTag}`);
  const known = [...ecr.images.entries()].some(([k, d]) => k.startsWith(`${repositoryName}:`) && d === digest);
  if (!digest || !known) {
    // The text ECR's DescribeImages returns for a missing tag.
    throw new Error(
      `ImageNotFoundException: The image with imageId {imageDigest:'null', imageTag:'${imageTag}'} does not exist within the repository with name '${repositoryName}' in the registry with id '${ECR_ACCOUNT}'`,
    );
  }
  return {
    id: `${repositoryName}@${digest}`,
    imageDigest: digest,
    imageTag,
    imageTags: imageTag ? [imageTag] : [],
    imagePushedAt: 1760000000,
    imageSizeInBytes: 3_000_000_000,
    imageUri: `${ECR_REGISTRY}/${repositoryName}@${digest}`,
    registryId: ECR_ACCOUNT,
    region: ECR_REGION,
    repositoryName,
  };
}

function answerGetRepository(ecr: MockEcr, inputs: Record<string, any>): Record<string, unknown> {
  const name = inputs.name as string;
  const holdsImage = [...ecr.images.keys()].some((k) => k.startsWith(`${name}:`));
  const mutability = ecr.mutability.get(name) ?? (holdsImage ? "MUTABLE" : undefined);
  if (mutability === undefined) {
    throw new Error(`RepositoryNotFoundException: The repository with name '${name}' does not exist in the registry with id '${ECR_ACCOUNT}'`);
  }
  return {
    id: name,
    name,
    arn: `arn:aws:ecr:${ECR_REGION}:${ECR_ACCOUNT}:repository/${name}`,
    registryId: ECR_ACCOUNT,
    repositoryUrl: `${ECR_REGISTRY}/${name}`,
    imageTagMutability: mutability,
    imageTagMutabilityExclusionFilters: [],
    encryptionConfigurations: [],
    imageScanningConfigurations: [],
    mostRecentImageTags: [],
    tags: {},
  };
}

/** State a resource of `type` gets beyond its inputs (what the provider would compute). */
function computed(type: string, name: string, inputs: Record<string, any>): Record<string, unknown> {
  switch (type) {
    case "aws:iam/role:Role":
      return { name: inputs.name ?? `${name}-1234567`, arn: `arn:aws:iam::123456789012:role/${name}-1234567` };
    case "aws:ec2/launchTemplate:LaunchTemplate":
      return { latestVersion: 1, defaultVersion: 1, arn: `arn:aws:ec2:us-west-2:123456789012:launch-template/lt-${name}` };
    case "aws:eks/nodeGroup:NodeGroup":
      return { nodeGroupName: inputs.nodeGroupName ?? `${name}-1234567`, arn: `arn:aws:eks:us-west-2:123456789012:nodegroup/${name}`, status: "ACTIVE" };
    case "eks:index:Cluster":
      return eksClusterOutputs(name);
    default:
      return {};
  }
}

/** What the mocks recorded; reset between tests. */
export interface MockRecord {
  resources: RecordedResource[];
  invokes: RecordedInvoke[];
  /** What the getClusterVersions invoke answers ({@link EKS_CLUSTER_VERSIONS} after reset); `Error` makes it fail. */
  clusterVersions: readonly Record<string, unknown>[] | Error;
  /** What the ECR invokes (getImage, getRepository) answer; empty after reset. */
  ecr: MockEcr;
  reset(): void;
}

/**
 * Installs Pulumi mocks that record every `newResource` and invoke. Invokes answered: getInstanceType
 * (from {@link INSTANCE_TYPES}; unknown types fail as EC2 does), getAvailabilityZones, getPartition (`aws`), getClusterVersions,
 * and ECR's getImage/getRepository (from {@link MockRecord.ecr}).
 */
export function installMocks(preview = false): MockRecord {
  const record: MockRecord = {
    resources: [],
    invokes: [],
    clusterVersions: EKS_CLUSTER_VERSIONS,
    ecr: { images: new Map(), mutability: new Map() },
    reset() {
      this.resources.length = 0;
      this.invokes.length = 0;
      this.clusterVersions = EKS_CLUSTER_VERSIONS;
      this.ecr.images.clear();
      this.ecr.mutability.clear();
    },
  };
  pulumi.runtime.setMocks(
    {
      newResource(args: pulumi.runtime.MockResourceArgs): { id: string; state: Record<string, any> } {
        record.resources.push({ type: args.type, name: args.name, inputs: args.inputs, custom: args.custom ?? true, provider: args.provider });
        return { id: `${args.name}-id`, state: { ...args.inputs, ...computed(args.type, args.name, args.inputs) } };
      },
      call(args: pulumi.runtime.MockCallArgs): Record<string, any> {
        record.invokes.push({ token: args.token, inputs: args.inputs });
        switch (args.token) {
          case "aws:ec2/getInstanceType:getInstanceType": {
            const facts = INSTANCE_TYPES[args.inputs.instanceType];
            if (!facts) throw new Error(`InvalidInstanceType: The following supplied instance types do not exist: [${args.inputs.instanceType}]`);
            return { id: args.inputs.instanceType, instanceType: args.inputs.instanceType, ...facts };
          }
          case "aws:eks/getClusterVersions:getClusterVersions":
            if (record.clusterVersions instanceof Error) throw record.clusterVersions;
            return { id: "us-west-2", region: "us-west-2", includeAll: args.inputs.includeAll, clusterVersions: record.clusterVersions };
          case "aws:index/getPartition:getPartition":
            return { id: "aws", partition: "aws", dnsSuffix: "amazonaws.com", reverseDnsPrefix: "com.amazonaws" };
          case "aws:ecr/getImage:getImage":
            return answerGetImage(record.ecr, args.inputs);
          case "aws:ecr/getRepository:getRepository":
            return answerGetRepository(record.ecr, args.inputs);
          case "aws:index/getAvailabilityZones:getAvailabilityZones":
            return { id: "us-west-2", names: ["us-west-2a", "us-west-2b", "us-west-2c"], zoneIds: ["usw2-az1", "usw2-az2", "usw2-az3"], groupNames: ["us-west-2"], region: "us-west-2" };
          default:
            throw new Error(`unmocked invoke ${args.token}`);
        }
      },
    },
    "soci-eks",
    "test",
    preview,
  );
  return record;
}

/** Resolves an Output's value (hangs on unknowns, so tests return every property they read). */
export function promiseOf<T>(output: pulumi.Output<T>): Promise<T> {
  return new Promise((resolve) => output.apply((v) => resolve(v)));
}

/** Waits until the mocks stop seeing new resources (registrations finish asynchronously). */
export async function settle(record: MockRecord, quietMs = 60): Promise<void> {
  let last = -1;
  while (last !== record.resources.length) {
    last = record.resources.length;
    await new Promise((r) => setTimeout(r, quietMs));
  }
}

/** Recorded resources of one type. */
export function ofType(record: MockRecord, type: string): RecordedResource[] {
  return record.resources.filter((r) => r.type === type);
}

/** The one recorded resource of a type (fails when there are none or several). */
export function one(record: MockRecord, type: string): RecordedResource {
  const found = ofType(record, type);
  if (found.length !== 1) throw new Error(`expected one ${type}, found ${found.length}`);
  return found[0];
}

/** Counts recorded resources per type. */
export function countByType(record: MockRecord): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const r of record.resources) counts[r.type] = (counts[r.type] ?? 0) + 1;
  return counts;
}

/** Runs `body` with `pulumi.log.warn` captured; returns the warnings it logged. */
export async function captureWarnings(body: () => Promise<unknown>): Promise<string[]> {
  const warnings: string[] = [];
  const log = pulumi.log as { warn: typeof pulumi.log.warn };
  const original = log.warn;
  log.warn = async (msg: string) => {
    warnings.push(msg);
  };
  try {
    await body();
  } finally {
    log.warn = original;
  }
  return warnings;
}
