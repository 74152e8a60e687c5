import { InstanceFacts } from "../userdata/types";
import { nodeArchitecture } from "./instanceTypes";
import { checkKubernetesVersion, KubernetesVersionCatalog } from "./kubernetesVersions";
import { nodeGroupWarnings, NodeGroupSettings, SettingNamer, validateNodeGroup } from "./nodeGroup";
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
 * One pinned sha256 names one release tarball, and there is one tarball per architecture: a digest shared by nodes
 * of two architectures fails the check on one of them (the components: node groups of both; the CLI: a document
 * that picks its release at boot from `uname -m`).
 */
export function checkDigestArchitectures(setting: string, digest: string, architectures: readonly string[]): ConfigProblem[] {
  const archs = [...new Set(architectures)].sort();
  if (archs.length < 2) return [];
  return [
    {
      setting,
      value: digest,
      reason: `pins one tarball, but the nodes run ${archs.join(" and ")} (one tarball each)`,
      fix: `Unset ${setting} (the installer then checks each download against the release's .sha256sum), or use one architecture.`,
    },
  ];
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

  // One pinned digest names one tarball, which exists per architecture (Bottlerocket groups install no tarball).
  const pinned = groups.filter((g) => g.settings.sociMode !== "off" && g.settings.os !== "bottlerocket" && g.settings.sociSha256 !== undefined);
  const archs = pinned.map((g) => facts.get(g.settings.instanceType)).map((f) => (f ? nodeArchitecture(f) : undefined)).filter((a): a is NonNullable<typeof a> => a !== undefined);
  if (pinned.length > 0) problems.push(...checkDigestArchitectures(cluster.sociSha256Setting, pinned[0].settings.sociSha256!, archs));

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
  const groupWarnings = groups.flatMap((g) => nodeGroupWarnings(g.settings, g.settingName));
  return { problems: dedupeProblems(problems), warnings: [...version.warnings, ...new Set(groupWarnings)] };
}
