import * as pulumi from "@pulumi/pulumi";
import { parse as parseToml } from "smol-toml";
import { renderUserData } from "../userdata";
import { partText } from "../userdata/mime";
import { Architecture, MimePart, OsFamily, RenderedUserData, SociMode } from "../userdata/types";
import { amiTypeFor } from "../validation/instanceTypes";
import { throwIfProblems } from "../validation/problems";
import {
  blockDeviceMappingsFor,
  bootstrapOptionsFor,
  EC2_USER_DATA_LIMIT,
  EksTaint,
  eksTaints,
  Gp3Mapping,
  lookupNodeGroupFacts,
  MetadataOptions,
  metadataOptionsFor,
  nodeGroupProblems,
  nodeGroupSettings,
  SociNodeGroupArgs,
  sociNodeLabels,
  userDataSize,
  userDataSizeProblem,
} from "./sociNodeGroup";

/**
 * SOCI as a plug-in for @pulumi/eks node groups: {@link sociForEks} turns soci-eks options into arguments of
 * `eks.ManagedNodeGroup` and `eks.NodeGroupV2` (@pulumi/eks 4.x) plus a resource transform, validated exactly
 * like {@link SociNodeGroup} (same validation functions, same messages) before anything exists.
 *
 * What reaches the node: @pulumi/eks renders its own user data when `nodeadmExtraOptions` or
 * `bottlerocketSettings` are set. AL2023: its NodeConfig part (cluster name, endpoint, CA, service CIDR), a
 * NodeConfig part with kubelet flags for the labels and taints, then our parts unchanged (the same bytes as in
 * a SociNodeGroup's user data). Bottlerocket: our settings merged with its cluster settings, labels and taints.
 * It then pins the AMI in its launch template (the recommended AMI of `amiType`), so EKS does not merge anything.
 */

/** What {@link sociForEks} validates and renders: {@link SociNodeGroupArgs} without what the eks node group owns. */
export type SociForEksArgs = Pick<
  SociNodeGroupArgs,
  | "instanceType"
  | "instanceFacts"
  | "os"
  | "sociMode"
  | "soci"
  | "labels"
  | "taints"
  | "ssd"
  | "keepSociOnRootVolume"
  | "rootVolume"
  | "extraEcrRegistries"
  | "metadataHopLimit"
>;

/** {@link SociForEksArgs} for {@link lookupSociForEks}, which looks up the instance facts itself. */
export type SociForEksLookupArgs = Omit<SociForEksArgs, "instanceFacts"> & Partial<Pick<SociForEksArgs, "instanceFacts">>;

/** One extra nodeadm MIME part, as @pulumi/eks's `nodeadmExtraOptions` takes it. */
export interface NodeadmPart {
  /** What @pulumi/eks writes after `Content-Type: ` (our part's headers, one per line). */
  contentType: string;
  /** The part's body. */
  content: string;
}

/** The Bottlerocket settings document (`{ settings: ... }`), as @pulumi/eks's `bottlerocketSettings` takes it. */
export interface BottlerocketSettingsDocument {
  settings: Record<string, unknown>;
}

/** Arguments for `eks.ManagedNodeGroup`: spread them into its args. */
export interface SociManagedNodeGroupArgs {
  /** `AL2023_*` or `BOTTLEROCKET_*`, from the instance type (architecture, GPUs); picks the AMI @pulumi/eks pins. */
  amiType: string;
  /** The one validated instance type. */
  instanceTypes: string[];
  /** Your labels plus `soci-eks/mode` and `soci-eks/storage`. */
  labels: Record<string, string>;
  /** Your taints, in the EKS API's spelling (absent when there are none). */
  taints?: EksTaint[];
  /** AL2023: our MIME parts, appended after @pulumi/eks's NodeConfig parts. */
  nodeadmExtraOptions?: NodeadmPart[];
  /** Bottlerocket: our settings, which @pulumi/eks merges with its cluster settings. */
  bottlerocketSettings?: BottlerocketSettingsDocument;
  /** The data volume's size in GiB (the transforms also make it an encrypted gp3 volume with our IOPS and throughput). */
  diskSize: number;
  /** IMDSv2 only (@pulumi/eks sets hop limit 2; the transforms set ours, default 1). */
  enableIMDSv2: true;
}

/** A taint as `eks.NodeGroupV2` takes it (keyed by the taint key). */
export interface NodeGroupV2Taint {
  value: string;
  effect: "NoSchedule" | "PreferNoSchedule" | "NoExecute";
}

/** Arguments for `eks.NodeGroupV2` (self-managed): spread them into its args. */
export interface SociNodeGroupV2Args {
  /** See {@link SociManagedNodeGroupArgs.amiType}. */
  amiType: string;
  /** The validated instance type. */
  instanceType: string;
  /** See {@link SociManagedNodeGroupArgs.labels}. */
  labels: Record<string, string>;
  /** Your taints (absent when there are none). */
  taints?: Record<string, NodeGroupV2Taint>;
  /** See {@link SociManagedNodeGroupArgs.nodeadmExtraOptions}. */
  nodeadmExtraOptions?: NodeadmPart[];
  /** See {@link SociManagedNodeGroupArgs.bottlerocketSettings}. */
  bottlerocketSettings?: BottlerocketSettingsDocument;
  /** The data volume (AL2023 root, Bottlerocket `/dev/xvdb`): encrypted gp3 with our size, IOPS and throughput. */
  nodeRootVolumeSize: number;
  nodeRootVolumeType: "gp3";
  nodeRootVolumeIops: number;
  nodeRootVolumeThroughput: number;
  nodeRootVolumeEncrypted: true;
  nodeRootVolumeDeleteOnTermination: true;
}

/** What {@link sociForEks} returns. */
export interface SociForEks {
  /** Spread into `new eks.ManagedNodeGroup(name, { cluster, nodeRole, ...managedNodeGroupArgs })`. */
  readonly managedNodeGroupArgs: SociManagedNodeGroupArgs;
  /** Spread into `new eks.NodeGroupV2(name, { cluster, instanceProfile, ...nodeGroupV2Args })`. */
  readonly nodeGroupV2Args: SociNodeGroupV2Args;
  /**
   * Pass as the node group's `transforms` resource option: on the launch template @pulumi/eks creates, they set
   * the block devices (encrypted gp3, our size, IOPS and throughput; Bottlerocket also its 4 GiB OS volume)
   * and the metadata options (IMDSv2 only, our hop limit). They leave every other resource alone.
   */
  readonly transforms: pulumi.ResourceTransform[];
  /** The node OS. */
  readonly os: OsFamily;
  /** The AMI architecture, from the instance type. */
  readonly architecture: Architecture;
  /** The SOCI mode. */
  readonly mode: SociMode;
  /** Our user data, as a SociNodeGroup with the same settings renders it (before @pulumi/eks adds its parts). */
  readonly userData: RenderedUserData;
}

/** The launch template resource type @pulumi/eks node groups create. */
export const LAUNCH_TEMPLATE_TYPE = "aws:ec2/launchTemplate:LaunchTemplate";

/**
 * The MIME boundary @pulumi/eks 4.x writes into nodeadm user data (`assembleNodeadmUserData` in its
 * `nodejs/eks/nodes/userdata.ts`); a part must not contain a line that starts with `--` and it.
 */
export const EKS_NODEADM_BOUNDARY = "BOUNDARY";

/**
 * One of our parts as a `nodeadmExtraOptions` entry. @pulumi/eks writes `Content-Type: <contentType>`, a blank
 * line, the content and a line break before its next delimiter; with our headers in `contentType` (one per
 * line) the part's bytes are the ones {@link assembleMime} writes.
 */
export function nodeadmPart(part: MimePart): NodeadmPart {
  const text = partText(part);
  const [first, ...more] = text.headers;
  const prefix = "Content-Type: ";
  if (!first.startsWith(prefix)) throw new Error(`a ${part.contentType} part's first header is not its Content-Type: ${first}`);
  if (text.body.split("\n").some((line) => line.startsWith(`--${EKS_NODEADM_BOUNDARY}`))) {
    throw new Error(`a ${part.contentType} part contains @pulumi/eks's MIME boundary (--${EKS_NODEADM_BOUNDARY})`);
  }
  return { contentType: [first.slice(prefix.length), ...more].join("\n"), content: text.body };
}

/** The transform that gives @pulumi/eks's launch template our block devices and metadata options. */
export function launchTemplateTransform(blockDeviceMappings: Gp3Mapping[], metadataOptions: MetadataOptions): pulumi.ResourceTransform {
  return (args) => {
    if (args.type !== LAUNCH_TEMPLATE_TYPE) return undefined;
    return { props: { ...args.props, blockDeviceMappings, metadataOptions }, opts: args.opts };
  };
}

/**
 * Validates soci-eks options and returns what @pulumi/eks node groups take to boot with SOCI:
 *
 * ```ts
 * const soci = sociForEks("gpu", { instanceType: "m7i.xlarge", instanceFacts });
 * new eks.ManagedNodeGroup("gpu", { cluster, nodeRole, ...soci.managedNodeGroupArgs }, { transforms: soci.transforms });
 * ```
 *
 * `name` names the settings in error messages (`<name>.sociMode`), as a SociNodeGroup's name does. Throws one
 * {@link SociConfigError} listing every problem. {@link lookupSociForEks} looks the instance facts up for you.
 */
export function sociForEks(name: string, args: SociForEksArgs): SociForEks {
  const subject = `sociForEks '${name}'`;
  const settings = nodeGroupSettings(args);
  throwIfProblems(nodeGroupProblems(name, settings, args.instanceFacts, "lookupSociForEks"), subject);

  const facts = args.instanceFacts;
  const options = bootstrapOptionsFor(settings, facts);
  const os = settings.os as OsFamily; // validated
  const labels = sociNodeLabels(settings);
  const taints = settings.taints ?? [];
  // @pulumi/eks adds its cluster part and registers labels and taints in the user data; measure them with ours.
  const bytes = userDataSize(os, { ...options, labels, taints }, true);
  if (bytes > EC2_USER_DATA_LIMIT) throwIfProblems([userDataSizeProblem(`${name}.userData`, bytes)], subject);

  const userData = renderUserData(os, options);
  const nodeSide =
    os === "bottlerocket"
      ? { bottlerocketSettings: { settings: (parseToml(userData.text) as { settings?: Record<string, unknown> }).settings ?? {} } }
      : { nodeadmExtraOptions: userData.parts.map(nodeadmPart) };
  const amiType = amiTypeFor(options.architecture, facts.gpus, os);
  const volumes = blockDeviceMappingsFor(os, settings);
  const data = volumes[volumes.length - 1].ebs;

  const managedNodeGroupArgs: SociManagedNodeGroupArgs = {
    amiType,
    instanceTypes: [settings.instanceType],
    labels,
    ...(taints.length > 0 ? { taints: eksTaints(taints) } : {}),
    ...nodeSide,
    diskSize: settings.rootVolumeSizeGiB,
    enableIMDSv2: true,
  };
  const nodeGroupV2Args: SociNodeGroupV2Args = {
    amiType,
    instanceType: settings.instanceType,
    labels,
    ...(taints.length > 0 ? { taints: Object.fromEntries(taints.map((t) => [t.key, { value: t.value ?? "", effect: t.effect }])) } : {}),
    ...nodeSide,
    nodeRootVolumeSize: data.volumeSize,
    nodeRootVolumeType: "gp3",
    nodeRootVolumeIops: settings.rootVolumeIops,
    nodeRootVolumeThroughput: settings.rootVolumeThroughput,
    nodeRootVolumeEncrypted: true,
    nodeRootVolumeDeleteOnTermination: true,
  };
  return {
    managedNodeGroupArgs,
    nodeGroupV2Args,
    transforms: [launchTemplateTransform(volumes, metadataOptionsFor(settings))],
    os,
    architecture: options.architecture,
    mode: options.mode,
    userData,
  };
}

/**
 * {@link sociForEks} after looking up the instance facts (EC2 DescribeInstanceTypes), as `SociNodeGroup.create` does;
 * a failed lookup is reported with the other problems.
 */
export async function lookupSociForEks(name: string, args: SociForEksLookupArgs, opts?: pulumi.ResourceOptions): Promise<SociForEks> {
  const facts = args.instanceFacts ?? (await lookupNodeGroupFacts(name, nodeGroupSettings(args), `sociForEks '${name}'`, opts));
  return sociForEks(name, { ...args, instanceFacts: facts });
}
