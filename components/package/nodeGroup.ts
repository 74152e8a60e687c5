import * as pulumi from "@pulumi/pulumi";
import { NodeTaint, OsFamily, SociFailurePolicy, SociMode } from "../../userdata/types";
import { SociNodeGroup, SociNodeGroupCreateArgs } from "../sociNodeGroup";
import { VpcCniCredentials } from "../../validation/clusterSecurity";
import { packageNamer, SETTING_SPELLINGS } from "../../validation/settingNames";
import { trackInitialization } from "./initialization";
import { ClusterConnectionArgs, ScalingArgs, SociReleaseArgs } from "../types";

// The nested types other languages see (schema `soci-eks:index:<name>`; Python and .NET SDKs append `Args` to input
// types, so the names here have no suffix), each the TypeScript components' type with the same fields and docs, except
// where a TypeScript name reads badly in Python: the Python SDK names a property by splitting its schema name at each
// capital (`sizeGiB` → `size_gi_b`), so `RootVolume` spells `sizeGib` and `throughputMibps` ({@link PACKAGE_RENAMES}).
// The schema takes each field's doc comment as its description; the interface's own doc comment does not reach it
// (measured with @pulumi/pulumi 3.248's Analyzer).

/** Which SOCI snapshotter release a node installs and where it downloads it from. */
export interface SociRelease extends SociReleaseArgs {}

/** Managed node group sizes. */
export interface Scaling extends ScalingArgs {}

/** The encrypted gp3 volume that holds images and container data: the root volume `/dev/xvda` (AL2023) or the data volume `/dev/xvdb` (Bottlerocket). */
export interface RootVolume {
  /** GiB, 20..16384. Default 100. (TypeScript components: `sizeGiB`.) */
  sizeGib?: number;
  /** Provisioned IOPS, 3000..16000 and ≤ 500 per GiB. Default 6000. */
  iops?: number;
  /** MiB/s, 125..1000 and ≤ IOPS / 4. Default 600. (TypeScript components: `throughputMiBps`.) */
  throughputMibps?: number;
}

/**
 * Settings the package spells differently from the TypeScript components (path in the components → path in the
 * package), from the one spelling table (validation/settingNames.ts), which also names them so in messages.
 */
export const PACKAGE_RENAMES: Readonly<Record<string, string>> = Object.fromEntries(
  Object.values(SETTING_SPELLINGS)
    .filter((spelling) => spelling.package !== undefined)
    .map((spelling) => [spelling.args, spelling.package!]),
);

/**
 * The cluster fields for the node's own NodeConfig. EKS managed node groups without an AMI in the launch template
 * add them themselves, so this is only for setups that need them in soci-eks's part. Used only when all three are given.
 */
export interface ClusterConnection extends ClusterConnectionArgs {}

/** A Kubernetes taint applied when the node registers. */
export interface Taint {
  /** Taint key. */
  key: string;
  /** Taint value. */
  value?: string;
  /** `NoSchedule`, `PreferNoSchedule` or `NoExecute`. */
  effect: string;
}

/**
 * The settings of a package node group that are its own (not the cluster's): {@link SociNodeGroup}'s, with plain
 * strings where TypeScript has string-literal types (other languages pass strings; validation refuses any other
 * value with the setting, the value and the fix). Shared by `NodeGroup` and the node groups of `Cluster`.
 */
export interface NodeGroupOptions {
  /** EC2 instance type. The AMI architecture follows it. Default `m7i.xlarge`. */
  instanceType?: string;
  /**
   * The node OS: `al2023` (default; Amazon Linux 2023, SOCI installed by MIME user data) or `bottlerocket`
   * (its built-in SOCI, configured by TOML settings; needs `sociMode` `parallel` or `off`).
   */
  os?: string;
  /** How nodes pull images: `lazy` (default; not available with `os: bottlerocket`), `parallel` or `off`. */
  sociMode?: string;
  /**
   * What a node does when a SOCI boot step fails (AL2023 only): `fallback` (default) joins it as a stock node
   * (overlayfs, containerd's own image service), labelled `soci-eks/degraded=<reason>`; `fail` never starts
   * kubelet, so the node never joins and kubelet's journal names the cause (fixes: docs/boot-and-failures.md#reasons).
   */
  onSociFailure?: string;
  /** The SOCI release to install (AL2023 only; Bottlerocket ships SOCI). */
  soci?: SociRelease;
  /** Node group sizes. */
  scaling?: Scaling;
  /** Kubernetes labels for the nodes (soci-eks adds `soci-eks/mode` and `soci-eks/storage`). */
  labels?: Record<string, string>;
  /** Kubernetes taints for the nodes. */
  taints?: Taint[];
  /** Put containerd, SOCI, kubelet and pod logs on a RAID0 array over the type's NVMe instance-store disks. Default false. */
  ssd?: boolean;
  /** With `ssd`, keep SOCI's data directory on the root volume. Default false. */
  keepSociOnRootVolume?: boolean;
  /** The gp3 volume that holds images and container data: the root volume on AL2023, the data volume (`/dev/xvdb`) on Bottlerocket. */
  rootVolume?: RootVolume;
  /** ECR registries in other accounts the node's credential helper serves. AL2023 only. */
  extraEcrRegistries?: string[];
  /** `ON_DEMAND` (default) or `SPOT`. */
  capacityType?: string;
  /** Attach AmazonSSMManagedInstanceCore to the node role soci-eks creates (Session Manager shell). Default false. */
  ssmAccess?: boolean;
  /** IMDS hop limit. Default 1 (node only); 2 lets pods reach IMDS and the node role's credentials. */
  metadataHopLimit?: number;
  /** AWS partition for managed policy ARNs. Default `aws`. */
  partition?: string;
  /** Tags for the launch template, instances, volumes and node group. */
  tags?: Record<string, string>;
}

/** Arguments of the package's `NodeGroup`. No `instanceFacts`: the component looks them up itself. */
export interface NodeGroupArgs extends NodeGroupOptions {
  /** Name of the EKS cluster the nodes join. */
  clusterName: pulumi.Input<string>;
  /** Subnets the nodes run in (private subnets). */
  subnetIds: pulumi.Input<pulumi.Input<string>[]>;
  /** Kubernetes version of the nodes, checked against EKS's list of versions. Default: the cluster's version. */
  kubernetesVersion?: string;
  /** Cluster fields for the node's own NodeConfig; used only when all are given. */
  clusterConnection?: ClusterConnection;
  /**
   * Whose credentials the cluster's VPC CNI uses: `pod-identity` (it has its own role, so the node role soci-eks
   * creates does not carry AmazonEKS_CNI_Policy) or `node-role` (the node role gets the policy). Unset: `pod-identity`
   * with a warning (docs/security.md).
   */
  vpcCniCredentials?: string;
}

/** The settings other languages pass as strings where TypeScript has string-literal types, and the renamed volume. */
type PackageSpelled = Pick<NodeGroupArgs, "os" | "sociMode" | "onSociFailure" | "capacityType" | "taints" | "rootVolume" | "vpcCniCredentials">;

/**
 * The package's settings as {@link SociNodeGroup}'s: the volume's renamed fields back to their TypeScript names, and
 * the string settings typed as the literal types. Those are handed on as they came: the shared validation
 * (validation/nodeGroup.ts) takes strings and refuses any value outside the literal types, with the setting, the
 * value and the fix, before anything is created; so the casts never reach a renderer with a bad value.
 */
export function toComponentArgs<T extends PackageSpelled>(args: T): Omit<T, keyof PackageSpelled> & Pick<SociNodeGroupCreateArgs, keyof PackageSpelled> {
  const { os, sociMode, onSociFailure, capacityType, taints, rootVolume, vpcCniCredentials, ...rest } = args;
  return {
    ...rest,
    ...(os !== undefined ? { os: os as OsFamily } : {}),
    ...(sociMode !== undefined ? { sociMode: sociMode as SociMode } : {}),
    ...(onSociFailure !== undefined ? { onSociFailure: onSociFailure as SociFailurePolicy } : {}),
    ...(capacityType !== undefined ? { capacityType: capacityType as "ON_DEMAND" | "SPOT" } : {}),
    ...(taints !== undefined ? { taints: taints as NodeTaint[] } : {}),
    ...(vpcCniCredentials !== undefined ? { vpcCniCredentials: vpcCniCredentials as VpcCniCredentials } : {}),
    ...(rootVolume !== undefined
      ? {
          rootVolume: {
            ...(rootVolume.sizeGib !== undefined ? { sizeGiB: rootVolume.sizeGib } : {}),
            ...(rootVolume.iops !== undefined ? { iops: rootVolume.iops } : {}),
            ...(rootVolume.throughputMibps !== undefined ? { throughputMiBps: rootVolume.throughputMibps } : {}),
          },
        }
      : {}),
  };
}

/**
 * An EKS managed node group whose nodes boot with the SOCI snapshotter, for Pulumi programs in any language
 * (schema token `soci-eks:index:NodeGroup`). It looks up the instance type's EC2 facts and EKS's Kubernetes
 * versions, validates every setting with the same checks as the TypeScript `SociNodeGroup`, and only then
 * creates that component (node role, launch template, `aws.eks.NodeGroup`) as its child. A bad setting fails
 * with the same one error, naming the setting, the value and the fix, and no child resource is registered.
 */
export class NodeGroup extends pulumi.ComponentResource<SociNodeGroup> {
  /** The EKS node group name. */
  public readonly nodeGroupName: pulumi.Output<string>;
  /** The launch template ID. */
  public readonly launchTemplateId: pulumi.Output<string>;
  /** The node role ARN. */
  public readonly nodeRoleArn: pulumi.Output<string>;
  /** The rendered user data before base64 (AL2023: MIME text; Bottlerocket: TOML), for inspection. */
  public readonly userData: pulumi.Output<string>;
  /** The AMI architecture chosen from the instance type: `x86_64` or `arm64`. */
  public readonly architecture: pulumi.Output<string>;

  constructor(name: string, args: NodeGroupArgs, opts?: pulumi.ComponentResourceOptions) {
    super("soci-eks:index:NodeGroup", name, args, opts);
    // Outputs of the child SociNodeGroup; when initialization fails they are never served (the provider fails Construct).
    const group = trackInitialization(this, this.getData());
    const out = (f: (g: SociNodeGroup) => pulumi.Input<string>) => pulumi.output(group.then((g) => (g ? f(g) : undefined))) as pulumi.Output<string>;
    this.nodeGroupName = out((g) => g.nodeGroupName);
    this.launchTemplateId = out((g) => g.launchTemplateId);
    this.nodeRoleArn = out((g) => g.nodeRoleArn);
    this.userData = out((g) => g.userData);
    this.architecture = out((g) => g.architecture);
  }

  /** Looks up the facts, validates and creates the node group (runs before the constructor's outputs resolve). */
  protected async initialize(args: pulumi.Inputs, _opts?: pulumi.ComponentResourceOptions, name?: string): Promise<SociNodeGroup> {
    return SociNodeGroup.create(name!, toComponentArgs(args as NodeGroupArgs), { parent: this }, packageNamer(name!));
  }
}
