import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { renderUserData } from "../userdata";
import { Architecture, ClusterConnection, InstanceFacts, InstanceTypeBootstrapOptions, NodeBootstrapOptions, NodeTaint, OsFamily, SociFailurePolicy, SociMode } from "../userdata/types";
import { ClusterConnectionSettings, validateClusterConnection } from "../validation/clusterConnection";
import { amiTypeFor, nodeArchitecture } from "../validation/instanceTypes";
import { builtInVersionCatalog, checkKubernetesVersion, KubernetesVersionCatalog } from "../validation/kubernetesVersions";
import { NodeGroupSettingKey, NodeGroupSettings, SettingNamer, validateNodeGroup } from "../validation/nodeGroup";
import { userReleaseDigests } from "../validation/releaseDigests";
import { releaseArch } from "../userdata/releases";
import { argsNamer, CONNECTION_SPELLINGS, givenSettings, SETTING_SPELLINGS } from "../validation/settingNames";
import { ConfigProblem, throwIfProblems } from "../validation/problems";
import { EC2_USER_DATA_LIMIT, PLACEHOLDER_CLUSTER_FIELDS, userDataSizeProblems } from "../validation/userDataSize";
import { vpcCniCredentialsProblem, VpcCniCredentials } from "../validation/clusterSecurity";
import { DEFAULTS, MODE_LABEL, STORAGE_LABEL } from "./defaults";
import { sociLaunchTemplateArgs } from "./launchTemplate";
import { lookupInstanceFacts } from "./instanceFacts";
import { lookupKubernetesVersions } from "./kubernetesVersionLookup";
import { ClusterConnectionArgs, RootVolumeArgs, ScalingArgs, SociReleaseArgs } from "./types";

/** Arguments of {@link SociNodeGroup}. Everything that is validated is a plain value, known before any resource exists. */
export interface SociNodeGroupArgs {
  /** Name of the EKS cluster the nodes join. */
  clusterName: pulumi.Input<string>;
  /** Subnets the nodes run in (private subnets). */
  subnetIds: pulumi.Input<pulumi.Input<string>[]>;
  /** EC2 instance type. The AMI architecture follows it. Default `m7i.xlarge`. */
  instanceType?: string;
  /**
   * EC2 facts about `instanceType`. Required by the constructor so it can validate synchronously;
   * {@link SociNodeGroup.create} looks them up for you.
   */
  instanceFacts: InstanceFacts;
  /**
   * The node OS. Default `al2023`: Amazon Linux 2023 (AMI type `AL2023_*`), SOCI installed by MIME user data.
   * `bottlerocket`: Bottlerocket (AMI type `BOTTLEROCKET_*`, `_NVIDIA` with GPUs) with its built-in SOCI,
   * configured by TOML settings user data. Bottlerocket has parallel pull only, so it needs `sociMode`
   * `parallel` or `off`: `lazy`, the default mode, is a validation error there. `soci` (the release) is not
   * used on Bottlerocket, and `rootVolume` sizes its data volume (`/dev/xvdb`, where containerd, kubelet and
   * SOCI keep their data) while the OS volume (`/dev/xvda`) stays a 4 GiB encrypted gp3 volume.
   */
  os?: OsFamily;
  /** How nodes pull images. Default `lazy` (not available with `os: bottlerocket`: set `parallel` or `off` there). */
  sociMode?: SociMode;
  /**
   * What a node does when a SOCI boot step fails (AL2023 only: packages, download, checksum, the SOCI daemon,
   * the pause import). `fallback` (default): it joins as a stock node (overlayfs, containerd's own image service),
   * labelled and tainted `soci-eks/degraded=<reason>`, with `/run/soci-eks/degraded` and a journal line. `fail`: kubelet
   * never starts, so the node never joins; kubelet's journal names the cause (fixes: docs/boot-and-failures.md#reasons).
   */
  onSociFailure?: SociFailurePolicy;
  /** The SOCI release to install (AL2023 only; Bottlerocket ships SOCI). */
  soci?: SociReleaseArgs;
  /** Kubernetes version of the nodes. Default: the cluster's version. Checked against `kubernetesVersionCatalog`. */
  kubernetesVersion?: string;
  /**
   * The Kubernetes versions `kubernetesVersion` is checked against. {@link SociNodeGroup.create} reads EKS's own list
   * (`aws.eks.getClusterVersions`); without it, the constructor uses soci-eks's built-in calendar on today's date.
   */
  kubernetesVersionCatalog?: KubernetesVersionCatalog;
  /** Node group sizes. */
  scaling?: ScalingArgs;
  /** Kubernetes labels for the nodes (soci-eks adds `soci-eks/mode` and `soci-eks/storage`). */
  labels?: Record<string, string>;
  /** Kubernetes taints for the nodes. */
  taints?: NodeTaint[];
  /**
   * Put containerd, SOCI, kubelet and pod logs on a RAID0 array over the type's NVMe instance-store disks
   * (nodeadm `instance.localStorage`). Node ephemeral-storage then reports the array. Default false.
   */
  ssd?: boolean;
  /** With `ssd`, keep SOCI's data directory on the root volume. Default false. */
  keepSociOnRootVolume?: boolean;
  /** The gp3 volume that holds images and container data: the root volume on AL2023, the data volume (`/dev/xvdb`) on Bottlerocket. */
  rootVolume?: RootVolumeArgs;
  /** ECR registries in other accounts the node's credential helper serves (`<account>.dkr.ecr.<region>.amazonaws.com`). AL2023 only: an error with `os: bottlerocket`. */
  extraEcrRegistries?: string[];
  /**
   * An existing node role; default: a new role with the EKS worker and ECR pull-only policies (and
   * AmazonEKS_CNI_Policy only with `vpcCniCredentials: node-role`).
   */
  nodeRole?: aws.iam.Role;
  /**
   * Whose AWS credentials the cluster's VPC CNI (`aws-node`) uses, which decides whether the node role soci-eks
   * creates carries AmazonEKS_CNI_Policy. `pod-identity`: the cluster gives the VPC CNI its own role (EKS Pod Identity
   * or IRSA on the `aws-node` service account; {@link SociCluster} does this), so the node role does not carry it.
   * `node-role`: the VPC CNI runs on the node's credentials, so the node role gets the policy (EKS's own default
   * for clusters that set nothing up). Unset: `pod-identity`, with a warning at preview, because on a cluster whose
   * VPC CNI still uses node credentials new nodes would get no pod IPs (see docs/security.md). Ignored with `nodeRole`.
   */
  vpcCniCredentials?: VpcCniCredentials;
  /** `ON_DEMAND` (default) or `SPOT`. */
  capacityType?: "ON_DEMAND" | "SPOT";
  /** Attach AmazonSSMManagedInstanceCore to the node role soci-eks creates (Session Manager shell); ignored with `nodeRole`. Default false. */
  ssmAccess?: boolean;
  /** IMDS hop limit. Default 1 (node only); 2 lets pods reach IMDS and the node role's credentials. */
  metadataHopLimit?: number;
  /** Cluster fields for the node's own NodeConfig; used only when all are given. */
  clusterConnection?: ClusterConnectionArgs;
  /** AWS partition for managed policy ARNs. Default `aws`. */
  partition?: string;
  /** Tags for the launch template, instances, volumes and node group. */
  tags?: Record<string, string>;
}

/** {@link SociNodeGroupArgs} for {@link SociNodeGroup.create}, which looks up the instance facts itself. */
export type SociNodeGroupCreateArgs = Omit<SociNodeGroupArgs, "instanceFacts"> & { instanceFacts?: InstanceFacts };

/** How each validated setting is spelled in {@link SociNodeGroupArgs}, for error messages (validation/settingNames.ts). */
export const ARG_PATHS: Record<NodeGroupSettingKey, string> = Object.fromEntries(
  Object.entries(SETTING_SPELLINGS).map(([key, spelling]) => [key, spelling.args]),
) as Record<NodeGroupSettingKey, string>;

/** How each cluster field is spelled in {@link SociNodeGroupArgs}, for error messages. */
export const CONNECTION_ARG_PATHS: Record<keyof ClusterConnectionSettings, string> = Object.fromEntries(
  Object.entries(CONNECTION_SPELLINGS).map(([key, spelling]) => [key, spelling.args]),
) as Record<keyof ClusterConnectionSettings, string>;

/** The cluster fields of the args that are plain strings (Outputs are known only at deployment and are not checked). */
export function plainClusterConnection(args: Pick<SociNodeGroupArgs, "clusterName" | "clusterConnection">): ClusterConnectionSettings {
  const plain = (x: pulumi.Input<string> | undefined) => (typeof x === "string" ? x : undefined);
  const conn = args.clusterConnection;
  return {
    name: plain(args.clusterName),
    apiServerEndpoint: plain(conn?.endpoint),
    certificateAuthority: plain(conn?.certificateAuthority),
    serviceCidr: plain(conn?.serviceCidr),
  };
}

/** The validated settings of a node group, with defaults applied. */
export function nodeGroupSettings(args: Omit<SociNodeGroupArgs, "instanceFacts" | "clusterName" | "subnetIds">): NodeGroupSettings {
  return {
    instanceType: args.instanceType ?? DEFAULTS.instanceType,
    os: args.os ?? DEFAULTS.os,
    sociMode: args.sociMode ?? DEFAULTS.sociMode,
    onSociFailure: args.onSociFailure ?? DEFAULTS.onSociFailure,
    sociVersion: args.soci?.version ?? DEFAULTS.sociVersion,
    sociSha256: args.soci?.sha256,
    sociMirrorUrl: args.soci?.mirrorBaseUrl ?? DEFAULTS.sociMirrorUrl,
    desiredSize: args.scaling?.desiredSize ?? DEFAULTS.desiredSize,
    minSize: args.scaling?.minSize ?? DEFAULTS.minSize,
    maxSize: args.scaling?.maxSize ?? DEFAULTS.maxSize,
    ssd: args.ssd ?? DEFAULTS.ssd,
    keepSociOnRootVolume: args.keepSociOnRootVolume,
    rootVolumeSizeGiB: args.rootVolume?.sizeGiB ?? DEFAULTS.rootVolumeSizeGiB,
    rootVolumeIops: args.rootVolume?.iops ?? DEFAULTS.rootVolumeIops,
    rootVolumeThroughput: args.rootVolume?.throughputMiBps ?? DEFAULTS.rootVolumeThroughput,
    extraEcrRegistries: args.extraEcrRegistries ?? [],
    capacityType: args.capacityType,
    metadataHopLimit: args.metadataHopLimit,
    labels: args.labels,
    taints: args.taints,
    explicit: givenSettings(args),
  };
}


/** Kubernetes taint effects as the EKS API spells them. */
export const EKS_TAINT_EFFECT: Record<NodeTaint["effect"], string> = {
  NoSchedule: "NO_SCHEDULE",
  PreferNoSchedule: "PREFER_NO_SCHEDULE",
  NoExecute: "NO_EXECUTE",
};

/** A taint as the EKS API (`aws.eks.NodeGroup`, `eks.ManagedNodeGroup`) takes it. */
export interface EksTaint {
  key: string;
  value?: string;
  /** `NO_SCHEDULE`, `PREFER_NO_SCHEDULE` or `NO_EXECUTE`. */
  effect: string;
}

/** Validated taints in the EKS API's spelling. */
export function eksTaints(taints: NodeTaint[] | undefined): EksTaint[] {
  return (taints ?? []).map((t) => ({ key: t.key, ...(t.value !== undefined ? { value: t.value } : {}), effect: EKS_TAINT_EFFECT[t.effect] }));
}

/** The node labels of a validated node group: the user's plus {@link MODE_LABEL} and {@link STORAGE_LABEL}. */
export function sociNodeLabels(settings: Pick<NodeGroupSettings, "labels" | "sociMode" | "ssd">): Record<string, string> {
  return { ...(settings.labels ?? {}), [MODE_LABEL]: settings.sociMode, [STORAGE_LABEL]: settings.ssd ? "nvme" : "ebs" };
}

/**
 * The managed policies of a new node role: join the cluster (AmazonEKSWorkerNodePolicy, which also lets the EKS Pod
 * Identity agent on the node exchange tokens) and pull images (read-only ECR). No ECR push, and no
 * AmazonEKS_CNI_Policy: the VPC CNI gets its own role ({@link VPC_CNI_POLICY} is added only with
 * `vpcCniCredentials: node-role`).
 */
export const NODE_ROLE_POLICIES = ["AmazonEKSWorkerNodePolicy", "AmazonEC2ContainerRegistryPullOnly"] as const;

/** The VPC CNI's managed policy (IPv4): ENI and IP address management in EC2. */
export const VPC_CNI_POLICY = "AmazonEKS_CNI_Policy";

/** The warning for a node group that does not say where its cluster's VPC CNI gets credentials. */
export function vpcCniCredentialsWarning(name: string): string {
  return (
    `${name}.vpcCniCredentials is unset: the node role soci-eks creates does not carry AmazonEKS_CNI_Policy. If your cluster's ` +
    "VPC CNI (the aws-node service account in kube-system) has no Pod Identity association or IRSA role of its own, new nodes get no pod IP addresses. " +
    `Give it its own role (docs/security.md) and set ${name}.vpcCniCredentials to pod-identity, or set it to node-role to keep the policy on the node role.`
  );
}

export { EC2_USER_DATA_LIMIT };


/** The renderer's options for a validated node group (call only after validation passed). */
export function bootstrapOptionsFor(settings: NodeGroupSettings, facts: InstanceFacts): InstanceTypeBootstrapOptions {
  const architecture = nodeArchitecture(facts)!;
  const sha256 = userReleaseDigests(settings.sociSha256, [releaseArch(architecture)]);
  return {
    mode: settings.sociMode as SociMode,
    release: {
      version: settings.sociVersion,
      mirrorBaseUrl: settings.sociMirrorUrl.replace(/\/+$/, ""),
      ...(sha256 ? { sha256 } : {}),
    },
    instance: facts,
    architecture,
    onSociFailure: (settings.onSociFailure ?? DEFAULTS.onSociFailure) as SociFailurePolicy,
    ...(settings.extraEcrRegistries.length > 0 ? { extraEcrRegistries: settings.extraEcrRegistries } : {}),
    ...(settings.ssd ? { localStorage: { raid0: true, keepSociOnRootVolume: settings.keepSociOnRootVolume ?? false } } : {}),
  };
}

/**
 * Bytes of the rendered user data (AL2023 MIME or Bottlerocket TOML, before base64); cluster fields (Outputs at
 * this point) are measured with placeholders of typical size.
 */
export function userDataSize(os: OsFamily, options: NodeBootstrapOptions, withCluster: boolean): number {
  return Buffer.byteLength(renderUserData(os, withCluster ? { ...options, cluster: PLACEHOLDER_CLUSTER_FIELDS } : options).text);
}

/**
 * The size rule ({@link userDataSizeProblems}) for a managed node group's user data: EKS copies the launch template
 * (no AMI) and appends its NodeConfig part with the cluster fields and the group's labels and taints. `withCluster`:
 * the document carries cluster fields (measured with placeholders of typical size when they are Outputs).
 */
export function nodeGroupSizeProblems(subject: string, settings: NodeGroupSettings, options: NodeBootstrapOptions, name: (key: NodeGroupSettingKey) => string, clusterSetting?: string): ConfigProblem[] {
  const withCluster = clusterSetting !== undefined && !options.cluster;
  return userDataSizeProblems({
    os: settings.os as OsFamily,
    options: withCluster ? { ...options, cluster: PLACEHOLDER_CLUSTER_FIELDS } : options,
    merger: "eks",
    mergerNodeGroup: { labels: sociNodeLabels(settings), taints: settings.taints },
    fixedLabels: sociNodeLabels({ sociMode: settings.sociMode, ssd: settings.ssd }),
    subject,
    name,
    ...(clusterSetting ? { clusterSetting } : {}),
  });
}

/** The trust policy of a node role: EC2 instances assume it. */
export const NODE_ROLE_TRUST_POLICY = {
  Version: "2012-10-17",
  Statement: [{ Effect: "Allow", Principal: { Service: "ec2.amazonaws.com" }, Action: "sts:AssumeRole" }],
};

/**
 * An EKS managed node group whose nodes boot with the SOCI snapshotter: Amazon Linux 2023 (default; SOCI
 * installed by MIME user data) or Bottlerocket (`os: bottlerocket`; its built-in SOCI set up by TOML settings).
 * A node IAM role, a launch template (encrypted gp3 volumes, IMDSv2, the user data) and an `aws.eks.NodeGroup`
 * that uses it.
 *
 * The constructor validates every argument first and throws one {@link SociConfigError} before it
 * registers anything.
 */
export class SociNodeGroup extends pulumi.ComponentResource {
  /** The EKS node group name. */
  public readonly nodeGroupName!: pulumi.Output<string>;
  /** The launch template ID. */
  public readonly launchTemplateId!: pulumi.Output<string>;
  /** The node role ARN. */
  public readonly nodeRoleArn!: pulumi.Output<string>;
  /** The rendered user data before base64 (AL2023: MIME text; Bottlerocket: TOML), for inspection. */
  public readonly userData!: pulumi.Output<string>;
  /** The AMI architecture chosen from the instance type. */
  public readonly architecture!: Architecture;

  /**
   * Looks up the instance facts (EC2 DescribeInstanceTypes) and, when `kubernetesVersion` is set, EKS's Kubernetes
   * versions, validates, then creates the node group.
   */
  static async create(name: string, args: SociNodeGroupCreateArgs, opts?: pulumi.ComponentResourceOptions, namer?: SettingNamer): Promise<SociNodeGroup> {
    let catalog = args.kubernetesVersionCatalog;
    if (args.kubernetesVersion !== undefined && !catalog) {
      const versions = await lookupKubernetesVersions(new Date(), { parent: opts?.parent, provider: opts?.provider });
      for (const w of versions.warnings) pulumi.log.warn(w);
      catalog = versions.catalog;
    }
    const facts = args.instanceFacts ?? (await lookupNodeGroupFacts(name, nodeGroupSettings(args), `SociNodeGroup '${name}'`, opts, namer));
    const full: SociNodeGroupArgs = { ...args, instanceFacts: facts, ...(catalog ? { kubernetesVersionCatalog: catalog } : {}) };
    if (namer) namerOf.set(full, namer);
    return new SociNodeGroup(name, full, opts);
  }

  constructor(name: string, args: SociNodeGroupArgs, opts?: pulumi.ComponentResourceOptions) {
    // Validate before super(): a ComponentResource registers itself in its constructor.
    const settings = nodeGroupSettings(args);
    const namer = namerOf.get(args) ?? argsNamer(name);
    const problems = nodeGroupProblems(name, settings, args.instanceFacts, "SociNodeGroup.create", namer);
    problems.push(...validateClusterConnection(plainClusterConnection(args), (key) => `${name}.${CONNECTION_ARG_PATHS[key]}`));
    const version =
      args.kubernetesVersion !== undefined
        ? checkKubernetesVersion(`${name}.kubernetesVersion`, args.kubernetesVersion, args.kubernetesVersionCatalog ?? builtInVersionCatalog(new Date()))
        : undefined;
    if (version) problems.push(...version.problems);
    const cniProblem = vpcCniCredentialsProblem(`${name}.vpcCniCredentials`, args.vpcCniCredentials);
    if (cniProblem) problems.push(cniProblem);
    throwIfProblems(problems, `SociNodeGroup '${name}'`);

    const facts = args.instanceFacts;
    const baseOptions = bootstrapOptionsFor(settings, facts);
    const { architecture, mode } = baseOptions;
    const os = settings.os as OsFamily; // validated
    const conn = args.clusterConnection;
    throwIfProblems(
      nodeGroupSizeProblems(`the user data of SociNodeGroup '${name}'`, settings, baseOptions, namer, conn ? `${name}.clusterConnection` : undefined),
      `SociNodeGroup '${name}'`,
    );

    super("soci-eks:index:SociNodeGroup", name, {}, opts);
    const cniWarning = args.vpcCniCredentials === undefined && !args.nodeRole ? vpcCniCredentialsWarning(name) : undefined;
    for (const w of [...(version?.warnings ?? []), ...(cniWarning ? [cniWarning] : [])]) pulumi.log.warn(w, this);

    const tags = args.tags ?? {};
    const partition = args.partition ?? "aws";

    // Node role.
    let role = args.nodeRole;
    if (!role) {
      role = new aws.iam.Role(`${name}-node-role`, {
        assumeRolePolicy: JSON.stringify(NODE_ROLE_TRUST_POLICY),
        description: `EKS nodes of soci-eks node group ${name}`,
        tags,
      }, { parent: this });
      const policies: string[] = [...NODE_ROLE_POLICIES];
      if (args.vpcCniCredentials === "node-role") policies.push(VPC_CNI_POLICY);
      if (args.ssmAccess ?? DEFAULTS.ssmAccess) policies.push("AmazonSSMManagedInstanceCore");
      for (const policy of policies) {
        new aws.iam.RolePolicyAttachment(`${name}-${policy}`, {
          role: role.name,
          policyArn: `arn:${partition}:iam::aws:policy/${policy}`,
        }, { parent: this });
      }
    }

    // User data: rendered by userdata/ from plain options; cluster fields may be Outputs.
    const userData: pulumi.Output<string> = conn
      ? pulumi
          .all([args.clusterName, conn.endpoint, conn.certificateAuthority, conn.serviceCidr])
          .apply(([clusterName, apiServerEndpoint, certificateAuthority, serviceCidr]) => {
            const cluster: ClusterConnection = { name: clusterName, apiServerEndpoint, certificateAuthority, serviceCidr };
            return renderUserData(os, { ...baseOptions, cluster }).text;
          })
      : pulumi.output(renderUserData(os, baseOptions).text);

    const launchTemplate = new aws.ec2.LaunchTemplate(
      `${name}-lt`,
      sociLaunchTemplateArgs({ nodeGroup: name, os, mode, settings, userData, tags }),
      { parent: this },
    );

    const labels = sociNodeLabels(settings);
    const nodeGroup = new aws.eks.NodeGroup(`${name}-ng`, {
      clusterName: args.clusterName,
      nodeRoleArn: role.arn,
      subnetIds: args.subnetIds,
      amiType: amiTypeFor(architecture, facts.gpus, os),
      instanceTypes: [settings.instanceType],
      capacityType: settings.capacityType ?? DEFAULTS.capacityType,
      ...(args.kubernetesVersion ? { version: args.kubernetesVersion } : {}),
      launchTemplate: { id: launchTemplate.id, version: launchTemplate.latestVersion.apply((v) => String(v)) },
      scalingConfig: { desiredSize: settings.desiredSize, minSize: settings.minSize, maxSize: settings.maxSize },
      updateConfig: { maxUnavailable: 1 },
      labels,
      taints: eksTaints(settings.taints),
      tags,
    }, { parent: this });

    this.nodeGroupName = nodeGroup.nodeGroupName;
    this.launchTemplateId = launchTemplate.id;
    this.nodeRoleArn = role.arn;
    this.userData = userData;
    this.architecture = architecture;
    this.registerOutputs({
      nodeGroupName: this.nodeGroupName,
      launchTemplateId: this.launchTemplateId,
      nodeRoleArn: this.nodeRoleArn,
      userData: this.userData,
    });
  }
}

/** Namers chosen by {@link SociNodeGroup.create} for the args object it passes to the constructor (the package's spelling). */
const namerOf = new WeakMap<object, SettingNamer>();

/**
 * The problems of one node group's settings and instance facts, named `<name>.<arg path>`: what
 * {@link SociNodeGroup} and the @pulumi/eks plug-in (`sociForEks`) both check before anything exists.
 * `lookup` names the entry point that looks the facts up itself, for the fix of a facts/type mismatch.
 */
export function nodeGroupProblems(name: string, settings: NodeGroupSettings, facts: InstanceFacts, lookup: string, namer: SettingNamer = argsNamer(name)): ConfigProblem[] {
  const problems = validateNodeGroup(settings, facts, namer);
  if (facts.instanceType !== settings.instanceType) {
    problems.push({
      setting: `${name}.instanceFacts`,
      value: facts.instanceType,
      reason: `describe a different type than instanceType (${settings.instanceType})`,
      fix: `Pass the facts of instanceType, or use ${lookup} to look them up.`,
    });
  }
  return problems;
}

/**
 * Looks up the facts of `settings.instanceType` (EC2 DescribeInstanceTypes); when that fails, throws one
 * {@link SociConfigError} with every problem of the settings, the lookup's error among them.
 */
export async function lookupNodeGroupFacts(
  name: string,
  settings: NodeGroupSettings,
  subject: string,
  opts?: pulumi.ResourceOptions,
  namer: SettingNamer = argsNamer(name),
): Promise<InstanceFacts> {
  const lookup = await lookupInstanceFacts([settings.instanceType], { parent: opts?.parent, provider: opts?.provider });
  const facts = lookup.facts.get(settings.instanceType);
  if (facts) return facts;
  throwIfProblems(validateNodeGroup(settings, undefined, namer, lookup.errors.get(settings.instanceType)), subject);
  throw new Error(`no facts for ${settings.instanceType}`); // unreachable: the missing facts are a problem
}
