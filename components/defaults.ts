import { DEFAULT_MIRROR_BASE_URL, DEFAULT_SOCI_VERSION } from "../userdata/releases";
import { DEFAULT_KUBERNETES_VERSION } from "../validation/kubernetesVersions";

/**
 * Defaults shared by the components and the stack config (Pulumi.yaml repeats them; a test keeps them equal).
 *
 * Root volume: images land on the root volume unless `ssd` moves them to NVMe, and a cold pull writes every
 * layer twice (download, then unpack). gp3's baseline (3000 IOPS, 125 MiB/s) becomes the bottleneck for
 * multi-GB images; the EKS AMI's FastImagePull guidance asks for ≥ 600 MiB/s of EBS throughput for parallel
 * pull ("up to 1000 MiB/s and 16k IOPS"). gp3 allows 0.25 MiB/s per provisioned IOPS, so 600 MiB/s needs
 * ≥ 2400 IOPS; 6000 IOPS leaves room for the small random reads of lazy loading. 100 GiB holds a few
 * large images plus their unpacked copies. Cost over baseline: 3000 IOPS and 475 MiB/s.
 */
export const DEFAULTS = {
  instanceType: "m7i.xlarge",
  os: "al2023",
  sociMode: "lazy",
  onSociFailure: "fallback",
  sociVersion: DEFAULT_SOCI_VERSION,
  sociMirrorUrl: DEFAULT_MIRROR_BASE_URL,
  kubernetesVersion: DEFAULT_KUBERNETES_VERSION,
  desiredSize: 2,
  minSize: 1,
  maxSize: 4,
  ssd: false,
  rootVolumeSizeGiB: 100,
  rootVolumeIops: 6000,
  rootVolumeThroughput: 600,
  /**
   * IMDS hop limit 1: only the node itself reaches IMDS. Pods on the pod network are one hop further and
   * need 2, which lets them read the node role's credentials; use EKS Pod Identity or IRSA instead.
   */
  metadataHopLimit: 1,
  capacityType: "ON_DEMAND",
  ssmAccess: false,
} as const;

/**
 * Bottlerocket's OS volume (`/dev/xvda`): root filesystem and update partitions only; images, containerd,
 * kubelet and SOCI data live on the data volume (`/dev/xvdb`), which the root-volume settings size.
 * 4 GiB is the OS volume Karpenter's Bottlerocket family gives `/dev/xvda` by default (aws/karpenter-provider-aws,
 * pkg/providers/amifamily/bottlerocket.go, DefaultBlockDeviceMappings; its data volume gets the 20 GiB default). Older
 * Bottlerocket releases booted from 2 GiB; the size was not checked against the current AMI snapshot here.
 */
export const BOTTLEROCKET_OS_VOLUME_GIB = 4;

/** The label soci-eks puts on every node: its SOCI mode. */
export const MODE_LABEL = "soci-eks/mode";
/** The label soci-eks puts on every node: where container data lives (`nvme` or `ebs`). */
export const STORAGE_LABEL = "soci-eks/storage";
