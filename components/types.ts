import * as pulumi from "@pulumi/pulumi";

/** Which SOCI snapshotter release a node installs and where it downloads it from. */
export interface SociReleaseArgs {
  /** Release version without the leading `v`. Default: `DEFAULT_SOCI_VERSION` (0.16.1). */
  version?: string;
  /**
   * sha256 of the release tarball: one digest (the node's architecture) or `amd64=<hex>,arm64=<hex>`. Required unless soci-eks ships the digests of `version` (0.13.0, 0.14.0, 0.14.1); the default 0.16.1 needs it. The node checks the tarball only against this, never against a checksum from the mirror.
   */
  sha256?: string;
  /** Base URL holding `v<version>/soci-snapshotter-<version>-linux-<arch>.tar.gz`. Default: the GitHub release downloads. */
  mirrorBaseUrl?: string;
}

/** Managed node group sizes. */
export interface ScalingArgs {
  /** Default 2. */
  desiredSize?: number;
  /** Default 1. */
  minSize?: number;
  /** Default 4. */
  maxSize?: number;
}

/** The encrypted gp3 volume that holds images and container data: the root volume `/dev/xvda` (AL2023) or the data volume `/dev/xvdb` (Bottlerocket). */
export interface RootVolumeArgs {
  /** GiB, 20..16384. Default 100. */
  sizeGiB?: number;
  /** Provisioned IOPS, 3000..16000 and ≤ 500 per GiB. Default 6000. */
  iops?: number;
  /** MiB/s, 125..1000 and ≤ IOPS / 4. Default 600. */
  throughputMiBps?: number;
}

/**
 * The cluster fields for the node's own NodeConfig. EKS managed node groups without an AMI in the
 * launch template add them themselves, so this is only for setups that need them in our part.
 * Used only when all three are given.
 */
export interface ClusterConnectionArgs {
  /** API server endpoint, `https://...`. */
  endpoint: pulumi.Input<string>;
  /** Base64 certificate authority data. */
  certificateAuthority: pulumi.Input<string>;
  /** Kubernetes service CIDR, e.g. `172.20.0.0/16`. */
  serviceCidr: pulumi.Input<string>;
}
