/**
 * Shared, OS-independent inputs and outputs of the user-data renderers.
 * Every renderer in this folder consumes {@link NodeBootstrapOptions} and returns
 * {@link RenderedUserData}; nothing here creates cloud resources.
 */

import type { ReleaseDigests } from "./releases";

/** How the node pulls images. */
export type SociMode =
  /** Lazy loading for images that carry a SOCI index manifest v2; a parallel full pull for the rest. */
  | "lazy"
  /** Every image is pulled in full with SOCI's parallel download and unpack; no FUSE mounts. */
  | "parallel"
  /** The stock node: containerd's overlayfs snapshotter, nothing installed. */
  | "off";

/**
 * What an AL2023 node does when a SOCI boot step fails (package install, download, checksum, the SOCI daemon,
 * the pause import). The installer decides before nodeadm-run starts containerd and kubelet.
 */
export type SociFailurePolicy =
  /** The node joins as a stock node (overlayfs, containerd's image service), labelled `soci-eks/degraded=<reason>`. */
  | "fallback"
  /** kubelet never starts, so the node never joins; the journal names the cause (fixes: docs/boot-and-failures.md#reasons). */
  | "fail";

/** The operating-system families a node group can boot. */
export type OsFamily = "al2023" | "bottlerocket";

/** CPU architecture as EC2 names it. */
export type Architecture = "x86_64" | "arm64";

/** Local instance-store facts of an instance type, as EC2 DescribeInstanceTypes reports them. */
export interface InstanceStorageFacts {
  /** Sum of all instance-store disks, GiB. */
  totalSizeGiB: number;
  /** Number of instance-store disks. */
  diskCount: number;
  /** NVMe support of the instance store. */
  nvmeSupport: "unsupported" | "supported" | "required";
}

/** The facts about an instance type that decide sizing and validation. */
export interface InstanceFacts {
  /** EC2 instance type, e.g. `m7i.2xlarge`. */
  instanceType: string;
  /** Default vCPU count. */
  vcpus: number;
  /** Memory in MiB. */
  memoryMiB: number;
  /** Architectures the type supports (EC2 names). */
  architectures: Architecture[];
  /** Number of GPUs (0 when none). */
  gpus: number;
  /** Instance-store facts; absent when the type has no instance storage. */
  instanceStorage?: InstanceStorageFacts;
}

/** Where and which SOCI snapshotter release the node installs. */
export interface SociReleaseOptions {
  /** Upstream release version without the leading `v`, e.g. `0.16.1`. */
  version: string;
  /**
   * Base URL of the release mirror. The installer fetches
   * `<mirrorBaseUrl>/v<version>/soci-snapshotter-<version>-linux-<arch>.tar.gz`, and nothing else from it.
   */
  mirrorBaseUrl: string;
  /**
   * The sha256 of the release tarball per architecture (`amd64`, `arm64`). An architecture the document can run on
   * and that is missing here takes the digest soci-eks ships for `version` (userdata/releases.ts
   * `KNOWN_RELEASE_DIGESTS`); with neither, rendering throws: the installer never trusts a checksum from the mirror.
   */
  sha256?: ReleaseDigests;
}

/** The cluster fields of a NodeConfig. EKS managed node groups fill them in themselves. */
export interface ClusterConnection {
  /** EKS cluster name. */
  name: string;
  /** API server endpoint, `https://...`. */
  apiServerEndpoint: string;
  /** Base64 cluster certificate authority data. */
  certificateAuthority: string;
  /** Kubernetes service CIDR, e.g. `10.100.0.0/16`. */
  serviceCidr: string;
}

/** A Kubernetes taint applied when the node registers. */
export interface NodeTaint {
  /** Taint key. */
  key: string;
  /** Taint value (may be empty). */
  value?: string;
  /** Taint effect. */
  effect: "NoSchedule" | "PreferNoSchedule" | "NoExecute";
}

/** Where the node keeps containerd, SOCI, kubelet and pod-log data. */
export interface LocalStorageOptions {
  /** Build a RAID0 array over all NVMe instance-store disks and bind-mount the data directories onto it. */
  raid0: boolean;
  /** Keep SOCI's data directory on the EBS root volume instead of the array. */
  keepSociOnRootVolume?: boolean;
  /**
   * Karpenter builds the array (EC2NodeClass `instanceStorePolicy: RAID0`): its generated NodeConfig, appended
   * after ours, already asks nodeadm for `localStorage.strategy: RAID0` (AL2023), or it adds its own
   * ephemeral-storage bootstrap command (Bottlerocket). The AL2023 user data then carries only
   * `disabledMounts: [SOCI]` (with `keepSociOnRootVolume`, merged by nodeadm) and the kubelet instance-store check.
   */
  arrayBuiltByKarpenter?: boolean;
}

/**
 * Decided on the node at boot: one document serves many instance types (a Karpenter EC2NodeClass).
 * The AL2023 installer then reads the architecture from `uname -m` and sizes SOCI's parallelism from
 * `nproc` and `/proc/meminfo`; Bottlerocket settings are static and need the instance's facts.
 */
export const AT_BOOT = "at-boot";
/** See {@link AT_BOOT}. */
export type AtBoot = typeof AT_BOOT;

/** Everything a renderer needs to produce a node's user data. */
export interface NodeBootstrapOptions {
  /** How the node pulls images. */
  mode: SociMode;
  /** The SOCI release to install (ignored when `mode` is `off`). */
  release: SociReleaseOptions;
  /**
   * Instance facts used for sizing SOCI's parallelism, or {@link AT_BOOT} for one document that serves many
   * instance types (AL2023 only: the node sizes it from nproc and its memory at boot).
   */
  instance: InstanceFacts | AtBoot;
  /**
   * Architecture of the AMI the node boots, or {@link AT_BOOT} (AL2023 only: the installer picks the release
   * tarball from `uname -m`; the NodePool then decides, through `kubernetes.io/arch`, which architectures run).
   */
  architecture: Architecture | AtBoot;
  /**
   * Cluster fields to put in the NodeConfig. Leave unset for EKS managed node groups without
   * a custom AMI (EKS appends its own NodeConfig); required for Karpenter-free custom AMIs and the CLI.
   */
  cluster?: ClusterConnection;
  /** What the node does when a SOCI boot step fails (AL2023 only). Default `fallback`. */
  onSociFailure?: SociFailurePolicy;
  /** Extra ECR registries (`<account>.dkr.ecr.<region>.amazonaws.com`) the node's credential helper serves, besides its own account's. */
  extraEcrRegistries?: string[];
  /**
   * Local NVMe instance storage layout; absent means everything stays on the root volume. With
   * `instance: AT_BOOT`, an instance without instance-store NVMe disks keeps its data on the root volume (the
   * kubelet check logs a warning and lets kubelet start); an instance whose disks exist but whose array is
   * missing still keeps kubelet from starting. Karpenter NodePools should require
   * `karpenter.k8s.aws/instance-local-nvme` so such instances are not launched at all.
   */
  localStorage?: LocalStorageOptions;
  /** Node labels set at registration (renderers that own registration use them; EKS MNG sets its own). */
  labels?: Record<string, string>;
  /** Node taints set at registration. */
  taints?: NodeTaint[];
}

/** Bootstrap options for one known instance type (what the Pulumi components render). */
export type InstanceTypeBootstrapOptions = NodeBootstrapOptions & { instance: InstanceFacts; architecture: Architecture };

/** One part of a MIME multipart user-data document. */
export interface MimePart {
  /** MIME content type, e.g. `application/node.eks.aws`. */
  contentType: string;
  /**
   * The part's body (text), sent as is: no part carries a `Content-Transfer-Encoding`, because mergers
   * (Karpenter, EKS managed node groups) re-serialize each part with its `Content-Type` and body only.
   */
  content: string;
}

/** The rendered user data of one node group. */
export interface RenderedUserData {
  /** The OS family it was rendered for. */
  family: OsFamily;
  /** Media type of `text`: a MIME multipart document or Bottlerocket TOML settings. */
  format: "mime-multipart" | "toml";
  /** The document as it goes into the launch template (before base64). */
  text: string;
  /** The parts that make up `text` (MIME only), in order. */
  parts: MimePart[];
}

/** One user-data renderer per OS family. */
export interface UserDataRenderer {
  /** The family this renderer produces user data for. */
  readonly family: OsFamily;
  /** Renders the node's user data. Pure: the same options always give the same text. */
  render(options: NodeBootstrapOptions): RenderedUserData;
}
