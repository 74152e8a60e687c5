/**
 * The typed options of {@link SociIndexBuilder}, the shapes it returns, and its defaults.
 * No logic here: validation is in ./validation.ts, lookups in ./registry.ts, resources in ./identity.ts and ./job.ts.
 */
import * as aws from "@pulumi/aws";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { PrefetchMode, SociPrefetchOptions } from "./prefetch";

/** One image to convert. Give `tag`, `digest`, or both (the digest wins; the tag still names the destination). */
export interface SociIndexImage {
  /** ECR repository name of the source image, e.g. `ml/trainer`. */
  repository: string;
  /** Source tag, e.g. `v1.2`. */
  tag?: string;
  /** Source digest `sha256:<64 hex>`; pins the source exactly. */
  digest?: string;
  /**
   * ECR repository the SOCI-enabled image is pushed to, in the same registry. Default: the source repository, which
   * is allowed only when its tags are immutable (`imageTagMutability: IMMUTABLE`) or with
   * `allowPushToMutableSourceRepository`: the builder's role can push to whatever repository it names.
   */
  destinationRepository?: string;
  /** Destination tag. Default `<tag>-soci`, or `soci-<first 12 hex of digest>` without a tag. */
  destinationTag?: string;
  /**
   * Accept pushing into the source repository although its tags are mutable: the builder's role could then
   * overwrite any tag in it, including the ones your nodes pull. Default false.
   */
  allowPushToMutableSourceRepository?: boolean;
  /** Account of the registry. Default: the AWS provider's account. */
  registryId?: string;
  /**
   * Prefetch what the image reads at start: record it (one sandboxed, network-less run on the builder's node), list
   * it, or both. Unset: the image is indexed exactly as without this option. See docs/index-builder.md,
   * "Recorded-access prefetch".
   */
  prefetch?: SociPrefetchOptions;
}

/**
 * The EKS Pod Identity agent the builder's identity needs.
 *
 * Agreement with `SociCluster`: the cluster component creates the `eks-pod-identity-agent` add-on (its VPC CNI runs
 * on its own role through Pod Identity) and exposes it; pass that add-on here. Pass `"installed"` when the agent is
 * on the cluster already by other means. Leave it unset only for a cluster without the agent: the builder then
 * creates the add-on itself (EKS refuses a second one, so never leave it unset on a SociCluster).
 */
export type PodIdentityAgent = pulumi.Resource | "installed";

/** Arguments of {@link SociIndexBuilder}. */
export interface SociIndexBuilderArgs {
  /** Images to convert, at least one. */
  images: SociIndexImage[];
  /** Name of the EKS cluster the Jobs run in (e.g. `SociCluster.clusterName`): the Pod Identity association's cluster. */
  clusterName: pulumi.Input<string>;
  /** The Pod Identity agent; see {@link PodIdentityAgent}. Unset: the builder creates the `eks-pod-identity-agent` add-on. */
  podIdentityAgent?: PodIdentityAgent;
  /**
   * The builder image, pinned by digest (`<repository>@sha256:<64 hex>`; a tag alone is refused). It must hold bash,
   * jq, skopeo, soci and docker-credential-ecr-login, and for prefetch soci-eks-prefetch (and runc to record): see
   * docs/index-builder.md, "The builder image".
   */
  builderImage: string;
  /** Kubernetes provider of the cluster. Default: `opts.providers.kubernetes` or the ambient provider. */
  kubernetesProvider?: k8s.Provider;
  /** Kubeconfig of that cluster (e.g. `SociCluster.kubeconfig`), used to make a provider when `kubernetesProvider` is unset. */
  kubeconfig?: pulumi.Input<string>;
  /** AWS provider for the ECR lookups, the role and the association. Default: `opts.providers.aws` or the ambient provider. */
  awsProvider?: aws.Provider;
  /** The soci release in the builder image; the Job checks `soci --version` against it and it is part of the Job hash. Default 0.16.1. */
  sociVersion?: string;
  /** `soci convert --min-layer-size`, bytes. Layers smaller than this get no zTOC and are pulled eagerly. Default 10 MiB (soci's default). */
  minLayerSizeBytes?: number;
  /**
   * `soci convert --span-size`, bytes. Default 2 MiB (soci's own default is 4 MiB): in the lab bench (docs/measured-results.md)
   * 2 MiB spans cut a cold lazy start by about a quarter to a third for an image whose app reads a little of
   * many files (fewer bytes per first read), at the cost of twice the zTOC bytes and more snapshotter memory; on a big
   * image read in whole files it was ~10% slower.
   */
  spanSizeBytes?: number;
  /** Namespace of the Jobs, the service account and the script ConfigMap. Default `soci-eks-index`. */
  namespace?: string;
  /**
   * Create the namespace, labelled with the Pod Security level the Jobs need: `restricted`, or `privileged` when an
   * image records its reads (the recorder mounts FUSE and runs the image in its own sandbox). Default true.
   */
  createNamespace?: boolean;
  /** Where the Jobs run. Any Linux node will do: the build needs no SOCI, no host path and no privilege. Default `{ "kubernetes.io/os": "linux" }`. */
  nodeSelector?: Record<string, string>;
  /** Tolerations for the nodes chosen by `nodeSelector`. */
  tolerations?: k8s.types.input.core.v1.Toleration[];
  /** How long one conversion may take (Job activeDeadlineSeconds and the Pulumi create timeout). Default 60. */
  timeoutMinutes?: number;
  /** AWS partition for ARNs. Default `aws`. */
  partition?: string;
}

/** What one conversion produced. */
export interface SociIndexResult {
  /** Source repository. */
  repository: string;
  /** `registry/repository@sha256:...`: the exact image converted. */
  sourceRef: string;
  sourceDigest: string;
  /** `registry/destinationRepository:tag`: the SOCI index manifest v2 image. */
  destinationRef: string;
  /** Name of the Kubernetes Job; changes exactly when the build inputs change. */
  jobName: string;
  /** Namespace of the Job: `kubectl -n <namespace> logs job/<jobName>` shows the build and what was prefetched. */
  namespace: string;
  /**
   * How the prefetch list was made: `none`, `record`, `files` or `record+files`. How a recording ended (time limit
   * reached, or exited N after S s), its duration, files, bytes and spans are in the Job's status: the build
   * container's termination message (`kubectl -n <namespace> get pod -l job-name=<jobName> -o
   * jsonpath='{..terminated.message}'`); a refused recording is the record container's.
   */
  prefetch: PrefetchMode;
}

export const INDEX_BUILDER_DEFAULTS = {
  minLayerSizeBytes: 10 * 1024 * 1024,
  spanSizeBytes: 2 * 1024 * 1024,
  namespace: "soci-eks-index",
  serviceAccount: "soci-index-builder",
  timeoutMinutes: 60,
  nodeSelector: { "kubernetes.io/os": "linux" } as Record<string, string>,
  /** The uid/gid the build containers run as (no user of the builder image needs to exist for it). */
  runAsUser: 65532,
} as const;
