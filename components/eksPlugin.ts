import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { parse as parseToml } from "smol-toml";
import { renderUserData } from "../userdata";
import { partText } from "../userdata/mime";
import { Architecture, InstanceFacts, InstanceTypeBootstrapOptions, MimePart, NodeTaint, OsFamily, RenderedUserData, SociMode } from "../userdata/types";
import { amiTypeFor } from "../validation/instanceTypes";
import { NodeGroupSettings } from "../validation/nodeGroup";
import { argsNamer } from "../validation/settingNames";
import { throwIfProblems } from "../validation/problems";
import { blockDeviceMappingsFor, Gp3Mapping, MetadataOptions, metadataOptionsFor, sociLaunchTemplateArgs } from "./launchTemplate";
import {
  bootstrapOptionsFor,
  EksTaint,
  eksTaints,
  lookupNodeGroupFacts,
  nodeGroupProblems,
  nodeGroupSettings,
  SociNodeGroupArgs,
  sociNodeLabels,
  nodeGroupSizeProblems,
} from "./sociNodeGroup";
import { PLACEHOLDER_CLUSTER_FIELDS, userDataSizeProblems } from "../validation/userDataSize";

/**
 * SOCI as a plug-in for @pulumi/eks node groups, validated exactly like {@link SociNodeGroup} (the same validation
 * functions, the same messages) before anything exists.
 *
 * - {@link sociForEks}, for `eks.ManagedNodeGroup`: creates the launch template itself (SociNodeGroup's: our user
 *   data, IMDSv2 required with hop limit 1 by default, encrypted gp3 volumes, no AMI) and returns the node group's
 *   `launchTemplate`, AMI type, instance type, labels and taints. @pulumi/eks then creates no launch template of its
 *   own, and EKS adds its cluster part to our user data when it copies the template, as for a SociNodeGroup. Every
 *   security setting is on a resource of ours, in the program's resource graph: nothing depends on transforms.
 * - {@link sociForEksSelfManaged}, for `eks.NodeGroupV2` (self-managed; it has no launch-template argument): our MIME
 *   parts (`nodeadmExtraOptions`) or settings (`bottlerocketSettings`), which @pulumi/eks renders with its own, and
 *   encrypted gp3 volume arguments. Its launch template's metadata options (IMDSv2 required, our hop limit) and
 *   Bottlerocket's OS volume come only from the returned `transforms`, which run inside the engine.
 */

/** What {@link sociForEks} validates and renders: {@link SociNodeGroupArgs} without what the eks node group owns. */
export type SociForEksArgs = Pick<
  SociNodeGroupArgs,
  | "instanceType"
  | "instanceFacts"
  | "os"
  | "sociMode"
  | "onSociFailure"
  | "soci"
  | "labels"
  | "taints"
  | "ssd"
  | "keepSociOnRootVolume"
  | "rootVolume"
  | "extraEcrRegistries"
  | "metadataHopLimit"
  | "tags"
>;

/** {@link SociForEksArgs} for the lookup functions, which look up the instance facts themselves. */
export type SociForEksLookupArgs = Omit<SociForEksArgs, "instanceFacts"> & Partial<Pick<SociForEksArgs, "instanceFacts">>;

/** The launch template of a node group, as `eks.ManagedNodeGroup`'s `launchTemplate` takes it. */
export interface SociLaunchTemplateRef {
  /** The launch template's ID. */
  id: pulumi.Output<string>;
  /** Its latest version: a change to the template rolls the node group to the new version. */
  version: pulumi.Output<string>;
}

/** Arguments for `eks.ManagedNodeGroup`: spread them into its args, last. */
export interface SociManagedNodeGroupArgs {
  /** `AL2023_*` or `BOTTLEROCKET_*`, from the instance type (architecture, GPUs): EKS boots its latest AMI of this type. */
  amiType: string;
  /** The one validated instance type. */
  instanceTypes: string[];
  /** Your labels plus `soci-eks/mode` and `soci-eks/storage`. */
  labels: Record<string, string>;
  /** Your taints, in the EKS API's spelling (absent when there are none). */
  taints?: EksTaint[];
  /** The launch template {@link sociForEks} created: user data, metadata options and volumes. */
  launchTemplate: SociLaunchTemplateRef;
}

/** What {@link sociForEks} returns. */
export interface SociForEks {
  /** Spread into `new eks.ManagedNodeGroup(name, { cluster, nodeRole, ...managedNodeGroupArgs })`. */
  readonly managedNodeGroupArgs: SociManagedNodeGroupArgs;
  /** The launch template it created (`<name>-soci-lt`). */
  readonly launchTemplate: aws.ec2.LaunchTemplate;
  /** The node OS. */
  readonly os: OsFamily;
  /** The AMI architecture, from the instance type. */
  readonly architecture: Architecture;
  /** The SOCI mode. */
  readonly mode: SociMode;
  /** The user data in the launch template, before base64: a SociNodeGroup's with the same settings. */
  readonly userData: RenderedUserData;
}

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

/** A taint as `eks.NodeGroupV2` takes it (keyed by the taint key). */
export interface NodeGroupV2Taint {
  value: string;
  effect: "NoSchedule" | "PreferNoSchedule" | "NoExecute";
}

/** A tag specification of the launch template `eks.NodeGroupV2` creates. */
export interface LaunchTemplateTagSpecification {
  resourceType: "instance" | "volume";
  tags: Record<string, string>;
}

/** Arguments for `eks.NodeGroupV2` (self-managed): spread them into its args. */
export interface SociNodeGroupV2Args {
  /** See {@link SociManagedNodeGroupArgs.amiType} (@pulumi/eks pins the recommended AMI of this type). */
  amiType: string;
  /** The validated instance type. */
  instanceType: string;
  /** See {@link SociManagedNodeGroupArgs.labels}. */
  labels: Record<string, string>;
  /** Your taints (absent when there are none). */
  taints?: Record<string, NodeGroupV2Taint>;
  /** AL2023: our MIME parts, which @pulumi/eks appends after its own NodeConfig parts. */
  nodeadmExtraOptions?: NodeadmPart[];
  /** Bottlerocket: our settings, which @pulumi/eks merges with its cluster settings. */
  bottlerocketSettings?: BottlerocketSettingsDocument;
  /** The data volume (AL2023 root, Bottlerocket `/dev/xvdb`): encrypted gp3 with our size, IOPS and throughput. */
  nodeRootVolumeSize: number;
  nodeRootVolumeType: "gp3";
  nodeRootVolumeIops: number;
  nodeRootVolumeThroughput: number;
  nodeRootVolumeEncrypted: true;
  nodeRootVolumeDeleteOnTermination: true;
  /** Your `tags` on the instances and volumes (absent without tags). */
  launchTemplateTagSpecifications?: LaunchTemplateTagSpecification[];
}

/** What {@link sociForEksSelfManaged} returns. */
export interface SociForEksSelfManaged {
  /** Spread into `new eks.NodeGroupV2(name, { cluster, instanceProfile, ...nodeGroupV2Args }, { transforms })`. */
  readonly nodeGroupV2Args: SociNodeGroupV2Args;
  /**
   * Pass as the node group's `transforms` resource option: on the launch template @pulumi/eks creates, they set the
   * metadata options (IMDSv2 required, our hop limit) and the block devices (encrypted gp3; Bottlerocket also its
   * 4 GiB OS volume). `eks.NodeGroupV2` has no argument for metadata options: without the transforms its
   * instances get the AMI's and the account's metadata defaults.
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

/** The launch template resource type. */
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

/** A validated plug-in call: settings with defaults, facts, renderer options and what both node group kinds share. */
interface ValidatedPlugin {
  settings: NodeGroupSettings;
  facts: InstanceFacts;
  options: InstanceTypeBootstrapOptions;
  os: OsFamily;
  amiType: string;
  labels: Record<string, string>;
  taints: NodeTaint[];
  userData: RenderedUserData;
}

/** Validates with SociNodeGroup's checks (throws one SociConfigError with every problem) and renders our user data. */
function validatePlugin(name: string, args: SociForEksArgs, subject: string, lookup: string): ValidatedPlugin {
  const settings = nodeGroupSettings(args);
  throwIfProblems(nodeGroupProblems(name, settings, args.instanceFacts, lookup), subject);
  const facts = args.instanceFacts;
  const options = bootstrapOptionsFor(settings, facts);
  const os = settings.os as OsFamily; // validated
  return {
    settings,
    facts,
    options,
    os,
    amiType: amiTypeFor(options.architecture, facts.gpus, os),
    labels: sociNodeLabels(settings),
    taints: settings.taints ?? [],
    userData: renderUserData(os, options),
  };
}

/**
 * Validates soci-eks options, creates the launch template an `eks.ManagedNodeGroup` boots from, and returns the
 * node group's arguments:
 *
 * ```ts
 * const soci = sociForEks("big", { instanceType: "m7i.xlarge", instanceFacts });
 * new eks.ManagedNodeGroup("big", { cluster, nodeRole, ...soci.managedNodeGroupArgs });
 * ```
 *
 * The launch template (`<name>-soci-lt`, created with `opts`) is a SociNodeGroup's: our user data, IMDSv2 required
 * with `metadataHopLimit` (default 1), encrypted gp3 volumes, no AMI and no key pair. With `launchTemplate` set,
 * @pulumi/eks 4.x creates no launch template of its own and sets neither user data nor metadata options; so leave
 * `userData`, `nodeadmExtraOptions`, `bottlerocketSettings`, `kubeletExtraArgs`, `bootstrapExtraArgs`,
 * `enableIMDSv2`, `amiId`, `diskSize` and `enableEfaSupport` unset (@pulumi/eks or EKS refuse them together with a
 * launch template). `name` names the settings in error messages (`<name>.sociMode`), as a SociNodeGroup's name
 * does. Throws one {@link SociConfigError} listing every problem, before it creates anything.
 * {@link lookupSociForEks} looks the instance facts up for you.
 */
export function sociForEks(name: string, args: SociForEksArgs, opts?: pulumi.CustomResourceOptions): SociForEks {
  const subject = `sociForEks '${name}'`;
  const v = validatePlugin(name, args, subject, "lookupSociForEks");
  // EKS adds its cluster part (Bottlerocket: its settings) to this document when it copies the template.
  // Our launch template has no AMI: EKS appends its NodeConfig part when it copies it, as for a SociNodeGroup.
  throwIfProblems(nodeGroupSizeProblems(`the user data of sociForEks '${name}'`, v.settings, v.options, argsNamer(name)), subject);

  const launchTemplate = new aws.ec2.LaunchTemplate(
    `${name}-soci-lt`,
    sociLaunchTemplateArgs({ nodeGroup: name, os: v.os, mode: v.options.mode, settings: v.settings, userData: v.userData.text, tags: args.tags }),
    opts,
  );
  const managedNodeGroupArgs: SociManagedNodeGroupArgs = {
    amiType: v.amiType,
    instanceTypes: [v.settings.instanceType],
    labels: v.labels,
    ...(v.taints.length > 0 ? { taints: eksTaints(v.taints) } : {}),
    launchTemplate: { id: launchTemplate.id, version: launchTemplate.latestVersion.apply((n) => String(n)) },
  };
  return { managedNodeGroupArgs, launchTemplate, os: v.os, architecture: v.options.architecture, mode: v.options.mode, userData: v.userData };
}

/**
 * {@link sociForEks} after looking up the instance facts (EC2 DescribeInstanceTypes), as `SociNodeGroup.create` does;
 * a failed lookup is reported with the other problems. `opts` serve the lookup and the launch template.
 */
export async function lookupSociForEks(name: string, args: SociForEksLookupArgs, opts?: pulumi.CustomResourceOptions): Promise<SociForEks> {
  const facts = args.instanceFacts ?? (await lookupNodeGroupFacts(name, nodeGroupSettings(args), `sociForEks '${name}'`, opts));
  return sociForEks(name, { ...args, instanceFacts: facts }, opts);
}

/**
 * Validates soci-eks options and returns what the self-managed `eks.NodeGroupV2` takes to boot with SOCI, without
 * creating anything:
 *
 * ```ts
 * const soci = sociForEksSelfManaged("big", { instanceType: "m7i.xlarge", instanceFacts });
 * new eks.NodeGroupV2("big", { cluster, instanceProfile, ...soci.nodeGroupV2Args }, { transforms: soci.transforms });
 * ```
 *
 * @pulumi/eks renders the user data (its NodeConfig parts, then ours; Bottlerocket: its settings merged with ours)
 * and creates the launch template. The volume is an encrypted gp3 volume through NodeGroupV2's own arguments; the
 * metadata options (IMDSv2 required, `metadataHopLimit`) exist only through `transforms` (see
 * {@link SociForEksSelfManaged.transforms}). Prefer {@link sociForEks} with a managed node group, whose launch
 * template is ours.
 */
export function sociForEksSelfManaged(name: string, args: SociForEksArgs): SociForEksSelfManaged {
  const subject = `sociForEksSelfManaged '${name}'`;
  const v = validatePlugin(name, args, subject, "lookupSociForEksSelfManaged");
  // @pulumi/eks adds its cluster part and registers labels and taints in the user data; measure them with ours.
  // @pulumi/eks renders its cluster part and registers labels and taints in the user data, and pins the AMI in its
  // launch template, so nothing merges after it: the document must fit EC2's limit with them.
  throwIfProblems(
    userDataSizeProblems({
      os: v.os,
      options: { ...v.options, labels: v.labels, taints: v.taints, cluster: PLACEHOLDER_CLUSTER_FIELDS },
      merger: "none",
      fixedLabels: sociNodeLabels({ sociMode: v.settings.sociMode, ssd: v.settings.ssd }),
      subject: `the user data @pulumi/eks writes for sociForEksSelfManaged '${name}'`,
      name: argsNamer(name),
    }),
    subject,
  );

  const nodeSide =
    v.os === "bottlerocket"
      ? { bottlerocketSettings: { settings: (parseToml(v.userData.text) as { settings?: Record<string, unknown> }).settings ?? {} } }
      : { nodeadmExtraOptions: v.userData.parts.map(nodeadmPart) };
  const volumes = blockDeviceMappingsFor(v.os, v.settings);
  const data = volumes[volumes.length - 1].ebs;
  const tags = args.tags;
  const nodeGroupV2Args: SociNodeGroupV2Args = {
    amiType: v.amiType,
    instanceType: v.settings.instanceType,
    labels: v.labels,
    ...(v.taints.length > 0 ? { taints: Object.fromEntries(v.taints.map((t) => [t.key, { value: t.value ?? "", effect: t.effect }])) } : {}),
    ...nodeSide,
    nodeRootVolumeSize: data.volumeSize,
    nodeRootVolumeType: "gp3",
    nodeRootVolumeIops: v.settings.rootVolumeIops,
    nodeRootVolumeThroughput: v.settings.rootVolumeThroughput,
    nodeRootVolumeEncrypted: true,
    nodeRootVolumeDeleteOnTermination: true,
    ...(tags
      ? {
          launchTemplateTagSpecifications: (["instance", "volume"] as const).map((resourceType) => ({
            resourceType,
            tags: { ...tags, "soci-eks/node-group": name },
          })),
        }
      : {}),
  };
  return {
    nodeGroupV2Args,
    transforms: [launchTemplateTransform(volumes, metadataOptionsFor(v.settings))],
    os: v.os,
    architecture: v.options.architecture,
    mode: v.options.mode,
    userData: v.userData,
  };
}

/** {@link sociForEksSelfManaged} after looking up the instance facts (EC2 DescribeInstanceTypes). */
export async function lookupSociForEksSelfManaged(name: string, args: SociForEksLookupArgs, opts?: pulumi.ResourceOptions): Promise<SociForEksSelfManaged> {
  const facts = args.instanceFacts ?? (await lookupNodeGroupFacts(name, nodeGroupSettings(args), `sociForEksSelfManaged '${name}'`, opts));
  return sociForEksSelfManaged(name, { ...args, instanceFacts: facts });
}
