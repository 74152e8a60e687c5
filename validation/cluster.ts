import { InstanceFacts } from "../userdata/types";
import { nodeArchitecture } from "./instanceTypes";
import { checkKubernetesVersion, KubernetesVersionCatalog } from "./kubernetesVersions";
import { NodeGroupSettings, SettingNamer, validateNodeGroup } from "./nodeGroup";
import { releaseArch } from "../userdata/releases";
import { parseDigestSetting } from "./releaseDigests";
import { ConfigProblem, dedupeProblems } from "./problems";

/** One node group of a cluster, with how its settings are named in messages. */
export interface NamedNodeGroupSettings {
  /** The node group's name (resource name prefix and `eks.amazonaws.com/nodegroup` base). */
  name: string;
  settings: NodeGroupSettings;
  /** Names settings for messages; inherited settings name the top-level key. */
  settingName: SettingNamer;
  /** The setting that holds the group's name, e.g. `soci-eks:nodeGroups[1].name`. */
  nameSetting: string;
}

/** Cluster-wide settings that are validated. */
export interface ClusterSettings {
  kubernetesVersion: string;
  kubernetesVersionSetting: string;
  existingVpcId?: string;
  existingSubnetIds?: string[];
  existingVpcIdSetting: string;
  existingSubnetIdsSetting: string;
  nodeGroupsSetting: string;
  /** The digest setting, when one digest is shared by every group. */
  sociSha256Setting: string;
}

/** The result of validating a whole stack: problems stop the program, warnings are logged. */
export interface ValidationResult {
  problems: ConfigProblem[];
  warnings: string[];
}

const NODE_GROUP_NAME = /^[a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?$/;
const SUBNET_ID = /^subnet-[0-9a-f]{8,17}$/;
const VPC_ID = /^vpc-[0-9a-f]{8,17}$/;

/**
 * One bare sha256 names one release tarball, and there is one tarball per architecture: a bare digest shared by node
 * groups of two architectures (the stack config's top-level `sociSha256`) fails the check on one of them.
 */
export function checkSharedDigest(setting: string, groups: readonly NamedNodeGroupSettings[], facts: ReadonlyMap<string, InstanceFacts>): ConfigProblem[] {
  const archsByDigest = new Map<string, Set<string>>();
  for (const g of groups) {
    const s = g.settings;
    if (s.sociMode === "off" || s.os === "bottlerocket" || s.sociSha256 === undefined) continue;
    const parsed = parseDigestSetting(s.sociSha256);
    const f = facts.get(s.instanceType);
    const arch = f ? nodeArchitecture(f) : undefined;
    if (typeof parsed === "string" || parsed.kind !== "one" || !arch) continue;
    archsByDigest.set(parsed.digest, (archsByDigest.get(parsed.digest) ?? new Set()).add(releaseArch(arch)));
  }
  return [...archsByDigest]
    .filter(([, archs]) => archs.size > 1)
    .map(([digest]) => ({
      setting,
      value: digest,
      reason: "is one digest, but the node groups run amd64 and arm64 nodes, one tarball each",
      fix: `Set ${setting} to amd64=<sha256 of the amd64 tarball>,arm64=<sha256 of the arm64 tarball>, or use one architecture.`,
    }));
}

/**
 * Validates the cluster and all node groups in one pass. `facts` maps each instance type to its facts
 * (a type missing from it was not found by EC2). `versions` is the Kubernetes version catalog (EKS's own list, or
 * the built-in calendar evaluated on a day the caller passes in).
 */
export function validateCluster(
  cluster: ClusterSettings,
  groups: NamedNodeGroupSettings[],
  facts: ReadonlyMap<string, InstanceFacts>,
  versions: KubernetesVersionCatalog,
  lookupErrors: ReadonlyMap<string, string> = new Map(),
): ValidationResult {
  const version = checkKubernetesVersion(cluster.kubernetesVersionSetting, cluster.kubernetesVersion, versions);
  const problems: ConfigProblem[] = [...version.problems];

  if (groups.length === 0) {
    problems.push({ setting: cluster.nodeGroupsSetting, value: [], reason: "has no node groups", fix: `Remove ${cluster.nodeGroupsSetting} to get one group from the top-level settings, or list at least one group.` });
  }
  const seen = new Set<string>();
  for (const g of groups) {
    if (!NODE_GROUP_NAME.test(g.name)) {
      problems.push({ setting: g.nameSetting, value: g.name, reason: "is not a node group name (1-32 lowercase letters, digits, -)", fix: `Rename it, e.g. general or big-images.` });
    } else if (seen.has(g.name)) {
      problems.push({ setting: g.nameSetting, value: g.name, reason: "is used by two node groups", fix: "Give each node group its own name." });
    }
    seen.add(g.name);
    problems.push(...validateNodeGroup(g.settings, facts.get(g.settings.instanceType), g.settingName, lookupErrors.get(g.settings.instanceType)));
  }

  // One bare digest names one tarball, which exists per architecture (Bottlerocket groups install no tarball).
  problems.push(...checkSharedDigest(cluster.sociSha256Setting, groups, facts));

  const subnets = cluster.existingSubnetIds;
  if (subnets !== undefined || cluster.existingVpcId !== undefined) {
    if (!subnets || subnets.length < 2) {
      problems.push({ setting: cluster.existingSubnetIdsSetting, value: subnets, reason: "needs at least two subnets (EKS requires two Availability Zones)", fix: `Set ${cluster.existingSubnetIdsSetting} to two or more private subnet IDs in ${cluster.existingVpcIdSetting}, or unset both to create a VPC.` });
    } else {
      for (const id of subnets.filter((s) => !SUBNET_ID.test(s))) {
        problems.push({ setting: cluster.existingSubnetIdsSetting, value: id, reason: "is not a subnet ID", fix: "List IDs such as subnet-0123456789abcdef0." });
      }
    }
    if (cluster.existingVpcId === undefined || !VPC_ID.test(cluster.existingVpcId)) {
      problems.push({ setting: cluster.existingVpcIdSetting, value: cluster.existingVpcId, reason: "must name the VPC of the existing subnets", fix: `Set ${cluster.existingVpcIdSetting} to the subnets' VPC ID (vpc-...), or unset ${cluster.existingSubnetIdsSetting} to create a VPC.` });
    }
  }
  return { problems: dedupeProblems(problems), warnings: [...version.warnings] };
}
