import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { OsFamily, SociMode } from "../userdata/types";
import { NodeGroupSettings } from "../validation/nodeGroup";
import { BOTTLEROCKET_OS_VOLUME_GIB, DEFAULTS } from "./defaults";

/** The instance metadata settings of a launch template: IMDSv2 only, with the node group's hop limit. */
export interface MetadataOptions {
  httpEndpoint: "enabled";
  httpTokens: "required";
  httpPutResponseHopLimit: number;
}

/** The launch template's metadata options for a validated node group. */
export function metadataOptionsFor(settings: Pick<NodeGroupSettings, "metadataHopLimit">): MetadataOptions {
  return { httpEndpoint: "enabled", httpTokens: "required", httpPutResponseHopLimit: settings.metadataHopLimit ?? DEFAULTS.metadataHopLimit };
}

/** The gp3 volume settings of a validated node group. */
type VolumeSettings = Pick<NodeGroupSettings, "rootVolumeSizeGiB" | "rootVolumeIops" | "rootVolumeThroughput">;

/** One launch-template block device mapping (always an encrypted gp3 EBS volume deleted with the instance). */
export interface Gp3Mapping {
  /** `/dev/xvda` (root / Bottlerocket OS volume) or `/dev/xvdb` (Bottlerocket data volume). */
  deviceName: string;
  /** Size in GiB; IOPS and throughput (MiB/s) when provisioned above gp3's baseline. */
  ebs: { volumeType: "gp3"; volumeSize: number; iops?: number; throughput?: number; encrypted: "true"; deleteOnTermination: "true" };
}

/**
 * The launch template's volumes. AL2023: one root volume `/dev/xvda` with the configured settings.
 * Bottlerocket: a small OS volume `/dev/xvda` ({@link BOTTLEROCKET_OS_VOLUME_GIB} GiB, gp3 baseline) and the
 * data volume `/dev/xvdb`, where containerd, kubelet and SOCI keep their data, with the configured settings.
 */
export function blockDeviceMappingsFor(os: OsFamily, v: VolumeSettings): Gp3Mapping[] {
  const data = (deviceName: string): Gp3Mapping => ({
    deviceName,
    ebs: { volumeType: "gp3", volumeSize: v.rootVolumeSizeGiB, iops: v.rootVolumeIops, throughput: v.rootVolumeThroughput, encrypted: "true", deleteOnTermination: "true" },
  });
  if (os !== "bottlerocket") return [data("/dev/xvda")];
  const osVolume: Gp3Mapping = {
    deviceName: "/dev/xvda",
    ebs: { volumeType: "gp3", volumeSize: BOTTLEROCKET_OS_VOLUME_GIB, encrypted: "true", deleteOnTermination: "true" },
  };
  return [osVolume, data("/dev/xvdb")];
}

/** How the launch template's description names an OS family. */
const OS_NAMES: Record<OsFamily, string> = { al2023: "AL2023", bottlerocket: "Bottlerocket" };

/** What {@link sociLaunchTemplateArgs} builds a launch template from. */
export interface SociLaunchTemplateInputs {
  /** The node group's name: in the description and the `soci-eks/node-group` tag of instances and volumes. */
  nodeGroup: string;
  /** The node OS. */
  os: OsFamily;
  /** The SOCI mode (in the description). */
  mode: SociMode;
  /** The validated settings: volumes and hop limit. */
  settings: Pick<NodeGroupSettings, "rootVolumeSizeGiB" | "rootVolumeIops" | "rootVolumeThroughput" | "metadataHopLimit">;
  /** The rendered user data, before base64 (AL2023 MIME or Bottlerocket TOML). */
  userData: pulumi.Input<string>;
  /** Tags for the template, and with `soci-eks/node-group` for its instances and volumes. */
  tags?: Record<string, string>;
}

/**
 * The arguments of the launch template every soci-eks managed node group boots from ({@link SociNodeGroup} and
 * the @pulumi/eks plug-in alike): our user data, IMDSv2 required with the node group's hop limit (default 1),
 * encrypted gp3 volumes ({@link blockDeviceMappingsFor}), no AMI (EKS picks the AMI of the node group's AMI type and
 * adds its own cluster part to the user data), no key pair.
 */
export function sociLaunchTemplateArgs(i: SociLaunchTemplateInputs): aws.ec2.LaunchTemplateArgs {
  const tags = i.tags ?? {};
  return {
    description: `soci-eks ${i.nodeGroup}: ${OS_NAMES[i.os]} with SOCI (${i.mode})`,
    userData: pulumi.output(i.userData).apply((text) => Buffer.from(text, "utf8").toString("base64")),
    metadataOptions: metadataOptionsFor(i.settings),
    blockDeviceMappings: blockDeviceMappingsFor(i.os, i.settings),
    tagSpecifications: [
      { resourceType: "instance", tags: { ...tags, "soci-eks/node-group": i.nodeGroup } },
      { resourceType: "volume", tags: { ...tags, "soci-eks/node-group": i.nodeGroup } },
    ],
    tags,
  };
}
