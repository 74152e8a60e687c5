/**
 * The Karpenter `EC2NodeClass` (karpenter.k8s.aws/v1) the CLI prints around the user data, and the rules for
 * the flags that only make sense with `--karpenter`.
 */
import { stringify as yamlStringify } from "yaml";
import { OsFamily } from "../userdata/types";
import { ClusterConnectionSettings } from "../validation/clusterConnection";
import { withoutUserinfo } from "../validation/mirrorTrust";
import { KarpenterNamer, KarpenterNodeClassSettings, validateKarpenterNodeClass } from "../validation/karpenter";
import { NodeGroupSettings, OS_FAMILIES } from "../validation/nodeGroup";
import { ConfigProblem } from "../validation/problems";
import { CLUSTER_FLAGS } from "./flags";

/** The flags that configure the EC2NodeClass, by the setting each one fills. */
export const KARPENTER_FLAGS: Readonly<Record<"name" | "role" | "instanceProfile" | "discoveryTag" | "amiAlias", string>> = {
  name: "--node-class-name",
  role: "--role",
  instanceProfile: "--instance-profile",
  discoveryTag: "--discovery-tag",
  amiAlias: "--ami-alias",
};

/** Names {@link KarpenterNodeClassSettings} by their CLI flags. */
export const karpenterFlagNamer: KarpenterNamer = (key) => {
  switch (key) {
    case "os":
      return "--os";
    case "ssd":
      return "--ssd";
    default:
      return KARPENTER_FLAGS[key];
  }
};

/** The flags Karpenter replaces or drops: refused with `--karpenter`, with where to set them instead. */
export const KARPENTER_OWNED_FLAGS: Readonly<Record<string, { reason: string; fix: string }>> = {
  "--taint": {
    reason: "is dropped under Karpenter, which sets the node's taints itself (AL2023: registerWithTaints in its NodeConfig; Bottlerocket: it resets settings.kubernetes.node-taints)",
    fix: "Drop --taint and set the taints on the NodePool (spec.template.spec.taints).",
  },
  "--cluster-name": {
    reason: "is replaced under Karpenter, which writes the cluster fields into its own NodeConfig or settings",
    fix: "Drop --cluster-name; Karpenter takes the cluster from its own configuration. Pass --discovery-tag <cluster name> to select the cluster's subnets and security groups.",
  },
  "--api-server-endpoint": {
    reason: "is replaced under Karpenter, which writes the cluster fields into its own NodeConfig or settings",
    fix: "Drop --api-server-endpoint; Karpenter writes the endpoint it is configured with (settings.clusterEndpoint).",
  },
  "--certificate-authority": {
    reason: "is replaced under Karpenter, which writes the cluster fields into its own NodeConfig or settings",
    fix: "Drop --certificate-authority; Karpenter writes the cluster's CA itself.",
  },
  "--service-cidr": {
    reason: "is replaced under Karpenter, which writes the cluster fields into its own NodeConfig or settings",
    fix: "Drop --service-cidr; Karpenter writes the cluster's service CIDR itself.",
  },
};

/** The warning for `--label` with `--karpenter`. */
export function karpenterLabelWarning(labels: string[]): string {
  return (
    `--label ${labels.join(", ")}: Karpenter appends its own node labels after ours and overrides any it sets itself ` +
    "(karpenter.sh/*, node.kubernetes.io/instance-type, topology labels, the NodePool's labels). " +
    "Set labels on the NodePool (spec.template.metadata.labels) so Karpenter knows them when it schedules."
  );
}

/** The Karpenter-only flags as given (absent: not given). */
export type KarpenterFlagValues = Partial<Record<keyof typeof KARPENTER_FLAGS, string>>;

/** A problem for each Karpenter-only flag given without `--karpenter`. */
export function karpenterFlagsWithoutKarpenter(given: KarpenterFlagValues): ConfigProblem[] {
  return (Object.keys(KARPENTER_FLAGS) as (keyof typeof KARPENTER_FLAGS)[])
    .filter((key) => given[key] !== undefined)
    .map((key) => ({
      setting: KARPENTER_FLAGS[key],
      value: given[key],
      reason: "only applies to the EC2NodeClass that --karpenter prints",
      fix: `Add --karpenter, or drop ${KARPENTER_FLAGS[key]}.`,
    }));
}

/** The node's flags that Karpenter replaces, drops or may override. */
export interface NodeFlagsUnderKarpenter {
  settings: NodeGroupSettings;
  /** `--label` values as given. */
  labels: string[];
  /** `--taint` values as given. */
  taints: string[];
  cluster: ClusterConnectionSettings;
}

/**
 * The EC2NodeClass settings from the flags, checked by validation/'s Karpenter rules; refuses what Karpenter
 * owns (taints, cluster fields, keeping SOCI on EBS on Bottlerocket) and warns about labels.
 */
export function karpenterFromFlags(flags: KarpenterFlagValues, node: NodeFlagsUnderKarpenter, problems: ConfigProblem[], warnings: string[]): KarpenterNodeClassSettings {
  const s = node.settings;
  for (const [key, flag] of Object.entries(CLUSTER_FLAGS) as [keyof ClusterConnectionSettings, string][]) {
    if (node.cluster[key] !== undefined) problems.push({ setting: flag, value: withoutUserinfo(node.cluster[key]!), ...KARPENTER_OWNED_FLAGS[flag] });
  }
  for (const t of node.taints) problems.push({ setting: "--taint", value: t, ...KARPENTER_OWNED_FLAGS["--taint"] });
  if (node.labels.length > 0) warnings.push(karpenterLabelWarning(node.labels));
  if (s.os === "bottlerocket" && s.ssd && s.keepSociOnRootVolume) {
    problems.push({
      setting: "--keep-soci-on-root-volume",
      value: true,
      reason: "is not available with --karpenter on Bottlerocket: Karpenter's instance-store bootstrap command binds its own list of directories",
      fix: "Drop --keep-soci-on-root-volume, or use --os al2023.",
    });
  }
  const os = s.os as OsFamily;
  const settings: KarpenterNodeClassSettings = {
    os,
    name: flags.name ?? `soci-${s.sociMode}`,
    role: flags.role,
    instanceProfile: flags.instanceProfile,
    discoveryTag: flags.discoveryTag,
    amiAlias: flags.amiAlias ?? defaultAmiAlias(os),
    ssd: s.ssd,
  };
  // An unknown OS is already a problem; the alias rules need a known one.
  if ((OS_FAMILIES as readonly string[]).includes(s.os)) {
    const checked = validateKarpenterNodeClass(settings, karpenterFlagNamer);
    problems.push(...checked.problems);
    warnings.push(...checked.warnings);
  }
  return settings;
}

/** The default AMI alias: the OS family's latest release (Karpenter drifts nodes to new releases). */
export function defaultAmiAlias(os: OsFamily): string {
  return `${os}@latest`;
}

/**
 * The NodePool requirements (spec.template.spec.requirements) the user data assumes, as YAML comments printed
 * above the EC2NodeClass: the architectures it has a release for (`arch`, or both when the node decides at
 * boot), and instance-store NVMe disks with --ssd.
 */
export function nodePoolRequirements(k: KarpenterNodeClassSettings, arch: "amd64" | "arm64" | undefined): string {
  const requirements: Record<string, unknown>[] = [
    { key: "kubernetes.io/arch", operator: "In", values: arch ? [arch] : ["amd64", "arm64"] },
    ...(k.ssd ? [{ key: "karpenter.k8s.aws/instance-local-nvme", operator: "Exists" }] : []),
  ];
  const body = yamlStringify(requirements, { lineWidth: 0 }).trimEnd().split("\n");
  return [
    `# NodePool requirements this user data assumes (NodePool spec.template.spec.requirements, nodeClassRef ${k.name}):`,
    ...body.map((l) => `#   ${l}`),
    ...(k.ssd && !arch ? ["# An instance without instance-store NVMe would keep containerd, kubelet and SOCI data on its root volume (logged)."] : []),
    "",
  ].join("\n");
}

/** A Karpenter EC2NodeClass (karpenter.k8s.aws/v1) carrying the user data; call with validated settings. */
export function ec2NodeClass(k: KarpenterNodeClassSettings, userData: string): string {
  const discovery = [{ tags: { "karpenter.sh/discovery": k.discoveryTag! } }];
  const spec: Record<string, unknown> = {
    amiSelectorTerms: [{ alias: k.amiAlias }],
    ...(k.role !== undefined ? { role: k.role } : { instanceProfile: k.instanceProfile }),
    subnetSelectorTerms: discovery,
    securityGroupSelectorTerms: discovery,
    metadataOptions: { httpEndpoint: "enabled", httpProtocolIPv6: "disabled", httpPutResponseHopLimit: 1, httpTokens: "required" },
    blockDeviceMappings: [
      {
        deviceName: k.os === "bottlerocket" ? "/dev/xvdb" : "/dev/xvda",
        ebs: { volumeSize: "100Gi", volumeType: "gp3", iops: 6000, throughput: 600, encrypted: true, deleteOnTermination: true },
      },
    ],
    ...(k.ssd ? { instanceStorePolicy: "RAID0" } : {}),
    userData,
  };
  return yamlStringify({ apiVersion: "karpenter.k8s.aws/v1", kind: "EC2NodeClass", metadata: { name: k.name }, spec }, { lineWidth: 0, aliasDuplicateObjects: false });
}
