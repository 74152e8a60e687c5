import * as aws from "@pulumi/aws";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { createHash } from "crypto";
import { readFileSync } from "fs";
import * as path from "path";
import { DEFAULT_SOCI_VERSION } from "../userdata/releases";
import { CONTAINERD_SOCKET, ROOT_DOCKER_CONFIG, SOCI_BIN_DIR } from "../userdata/paths";
import { ConfigProblem, throwIfProblems } from "../validation/problems";
import { MODE_LABEL } from "./defaults";

/** One image to convert. Give `tag`, `digest`, or both (the digest wins; the tag still names the destination). */
export interface SociIndexImage {
  /** ECR repository name, e.g. `ml/trainer`. */
  repository: string;
  /** Source tag, e.g. `v1.2`. */
  tag?: string;
  /** Source digest `sha256:<64 hex>`; pins the source exactly. */
  digest?: string;
  /** Destination tag in the same repository. Default `<tag>-soci`, or `soci-<first 12 hex of digest>` without a tag. */
  destinationTag?: string;
  /** Account of the registry. Default: the AWS provider's account. */
  registryId?: string;
}

/**
 * Host paths the build Job uses on the SOCI node. Defaults match soci-eks's AL2023 installer and the EKS AMI. The
 * directory of each binary is mounted read-only at `/host<dir>`.
 */
export interface SociIndexBuilderHostPaths {
  /** Default `/run/containerd/containerd.sock`. */
  containerdSocket?: string;
  /** Default `/usr/local/bin/soci` (soci-eks's installer). */
  soci?: string;
  /** Default `/usr/bin/nerdctl` (installed by the AL2023 EKS AMI build). */
  nerdctl?: string;
  /** Default `/usr/bin/docker-credential-ecr-login` (amazon-ecr-credential-helper, installed by soci-eks's installer). */
  ecrCredentialHelper?: string;
  /** Default `/root/.docker` (root's Docker config, whose credHelpers map ECR registries to ecr-login). */
  dockerConfigDir?: string;
}

/** Arguments of {@link SociIndexBuilder}. */
export interface SociIndexBuilderArgs {
  /** Images to convert, at least one. */
  images: SociIndexImage[];
  /** Kubernetes provider of the cluster that has a SOCI node group. Default: `opts.providers.kubernetes` or the ambient provider. */
  kubernetesProvider?: k8s.Provider;
  /** Kubeconfig of that cluster (e.g. `SociCluster.kubeconfig`), used to make a provider when `kubernetesProvider` is unset. */
  kubeconfig?: pulumi.Input<string>;
  /** AWS provider for the ECR lookups and the IAM policy. Default: `opts.providers.aws` or the ambient provider. */
  awsProvider?: aws.Provider;
  /** The soci release on the nodes; the Job checks `soci --version` against it and it is part of the Job hash. Default 0.16.1 (DEFAULT_SOCI_VERSION). */
  sociVersion?: string;
  /** `soci convert --min-layer-size`, bytes. Layers smaller than this get no zTOC and are pulled eagerly. Default 10 MiB (soci's default). */
  minLayerSizeBytes?: number;
  /**
   * `soci convert --span-size`, bytes. Default 2 MiB (soci's own default is 4 MiB): in the lab bench (docs/measured-results.md) 2 MiB spans cut a cold lazy start by about a quarter to a third for an image whose app reads a little of
   * many files (fewer bytes per first read), at the cost of twice the zTOC bytes and more snapshotter memory; on a big
   * image read in whole files it was ~10% slower. 1 MiB helped the first kind more on an open link but lost with added
   * per-request latency and on the big image, with 2.5x the memory.
   */
  spanSizeBytes?: number;
  /** Namespace of the Jobs and the script ConfigMap. Default `soci-eks-index`. */
  namespace?: string;
  /** Create the namespace (labelled for privileged pods). Default true. */
  createNamespace?: boolean;
  /** Where the Jobs run: a node with soci installed. Default `{ "soci-eks/mode": "lazy" }`. */
  nodeSelector?: Record<string, string>;
  /** Tolerations for tainted SOCI node groups. */
  tolerations?: k8s.types.input.core.v1.Toleration[];
  /**
   * Image the Job runs in. It only provides bash and glibc for the host binaries mounted into it, so it should match the
   * node's OS. Default `public.ecr.aws/amazonlinux/amazonlinux:2023`.
   */
  builderImage?: string;
  /**
   * Name of the node role of the SOCI node group. When set, an inline policy lets it push to the destination
   * repositories (the node role of a soci-eks node group can only pull from ECR). Leave unset if the role already can.
   */
  nodeRoleName?: pulumi.Input<string>;
  /** The same role by ARN (e.g. `SociNodeGroup.nodeRoleArn`); used when `nodeRoleName` is unset. */
  nodeRoleArn?: pulumi.Input<string>;
  /** How long one conversion may take (Job activeDeadlineSeconds and the Pulumi create timeout). Default 60. */
  timeoutMinutes?: number;
  /** Host paths mounted into the Job. */
  hostPaths?: SociIndexBuilderHostPaths;
  /** AWS partition for ARNs. Default `aws`. */
  partition?: string;
}

/** What one conversion produced. */
export interface SociIndexResult {
  repository: string;
  /** `registry/repository@sha256:...`: the exact image converted. */
  sourceRef: string;
  sourceDigest: string;
  /** `registry/repository:tag`: the SOCI index manifest v2 image. */
  destinationRef: string;
  /** Name of the Kubernetes Job; changes exactly when the build inputs change. */
  jobName: string;
}

/** The source image as ECR reports it. */
export interface ResolvedSourceImage {
  repository: string;
  digest: string;
  registryId: string;
  region: string;
  /** `<account>.dkr.ecr.<region>.amazonaws.com` */
  registry: string;
  sourceRef: string;
  destinationTag: string;
  destinationRef: string;
}

/** Inputs that decide whether a conversion must run again. */
export interface BuildHashInputs {
  sourceDigest: string;
  destinationRef: string;
  sociVersion: string;
  minLayerSizeBytes: number;
  spanSizeBytes: number;
  scriptSha256: string;
}

export const INDEX_BUILDER_DEFAULTS = {
  minLayerSizeBytes: 10 * 1024 * 1024,
  spanSizeBytes: 2 * 1024 * 1024,
  namespace: "soci-eks-index",
  builderImage: "public.ecr.aws/amazonlinux/amazonlinux:2023",
  timeoutMinutes: 60,
  buildNamespace: "soci-eks-build",
  hostPaths: {
    containerdSocket: CONTAINERD_SOCKET,
    soci: `${SOCI_BIN_DIR}/soci`,
    nerdctl: "/usr/bin/nerdctl",
    ecrCredentialHelper: "/usr/bin/docker-credential-ecr-login",
    dockerConfigDir: path.posix.dirname(ROOT_DOCKER_CONFIG),
  },
} as const;

/** Where the script lives in the repository and in the Job. */
export const BUILD_SCRIPT_RELATIVE_PATH = "components/scripts/build-soci-index.sh";
export const BUILD_SCRIPT_KEY = "build-soci-index.sh";
const SCRIPT_MOUNT_DIR = "/opt/soci-eks";
const WORK_DIR = "/work";

function packageRoot(): string {
  const parts = __dirname.split(path.sep);
  const distIndex = parts.lastIndexOf("dist");
  return distIndex >= 0 ? parts.slice(0, distIndex).join(path.sep) : path.resolve(__dirname, "..");
}

let scriptCache: string | undefined;
/** The Job's script, read from the shipped `.sh` file. */
export function buildScript(): string {
  scriptCache ??= readFileSync(path.join(packageRoot(), BUILD_SCRIPT_RELATIVE_PATH), "utf8");
  return scriptCache;
}

function sha256(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

/** 10 hex characters over every input of a conversion; the Job name carries it. */
export function buildHash(inputs: BuildHashInputs): string {
  const canonical = JSON.stringify([
    inputs.sourceDigest,
    inputs.destinationRef,
    inputs.sociVersion,
    inputs.minLayerSizeBytes,
    inputs.spanSizeBytes,
    inputs.scriptSha256,
  ]);
  return sha256(canonical).slice(0, 10);
}

/** A DNS-1123 label fragment: lowercase alphanumerics and dashes, no leading/trailing dash. */
export function dnsSlug(text: string, max: number): string {
  const slug = text
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, "-")
    .replace(/-+/g, "-")
    .slice(0, max)
    .replace(/^-+|-+$/g, "");
  return slug || "image";
}

/** `soci-index-<repo>-<hash>`, at most 63 characters. */
export function jobNameFor(repository: string, hash: string): string {
  const prefix = "soci-index-";
  return `${prefix}${dnsSlug(repository.split("/").pop() ?? repository, 63 - prefix.length - hash.length - 1)}-${hash}`;
}

const DIGEST_RE = /^sha256:[0-9a-f]{64}$/;
// ECR repository names: https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_CreateRepository.html
const REPOSITORY_RE = /^(?:[a-z0-9]+(?:[._-][a-z0-9]+)*\/)*[a-z0-9]+(?:[._-][a-z0-9]+)*$/;
const TAG_RE = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;
const ACCOUNT_RE = /^\d{12}$/;

/** The destination tag an image gets. */
export function destinationTagFor(image: SociIndexImage): string {
  if (image.destinationTag) return image.destinationTag;
  if (image.tag) return `${image.tag}-soci`;
  return `soci-${(image.digest ?? "").replace(/^sha256:/, "").slice(0, 12)}`;
}

/** Checks the arguments before any lookup; every problem at once. */
export function validateIndexBuilderArgs(args: SociIndexBuilderArgs): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  if (!Array.isArray(args.images) || args.images.length === 0) {
    problems.push({ setting: "images", value: args.images, reason: "is empty", fix: "List at least one ECR image ({ repository, tag } or { repository, digest })." });
  }
  const destinations = new Map<string, number>();
  (args.images ?? []).forEach((image, i) => {
    const at = `images[${i}]`;
    if (!REPOSITORY_RE.test(image.repository ?? "")) {
      problems.push({ setting: `${at}.repository`, value: image.repository, reason: "is not an ECR repository name", fix: "Give the repository name without the registry host, e.g. 'team/app'." });
    }
    if (!image.tag && !image.digest) {
      problems.push({ setting: at, reason: "has neither tag nor digest", fix: "Set tag (e.g. 'v1') or digest ('sha256:...')." });
    }
    if (image.tag !== undefined && !TAG_RE.test(image.tag)) {
      problems.push({ setting: `${at}.tag`, value: image.tag, reason: "is not a valid image tag", fix: "Use 1-128 characters of letters, digits, '_', '.', '-', not starting with '.' or '-'." });
    }
    if (image.digest !== undefined && !DIGEST_RE.test(image.digest)) {
      problems.push({ setting: `${at}.digest`, value: image.digest, reason: "is not a sha256 digest", fix: "Use 'sha256:' followed by 64 lowercase hex characters." });
    }
    if (image.registryId !== undefined && !ACCOUNT_RE.test(image.registryId)) {
      problems.push({ setting: `${at}.registryId`, value: image.registryId, reason: "is not a 12-digit AWS account id", fix: "Give the account id that owns the registry, or leave it unset." });
    }
    const dest = destinationTagFor(image);
    if (!TAG_RE.test(dest)) {
      problems.push({ setting: `${at}.destinationTag`, value: dest, reason: "is not a valid image tag", fix: "Use 1-128 characters of letters, digits, '_', '.', '-'." });
    }
    if (image.tag !== undefined && dest === image.tag) {
      problems.push({ setting: `${at}.destinationTag`, value: dest, reason: "equals the source tag, so the build would overwrite its own source", fix: "Pick another destination tag (default '<tag>-soci')." });
    }
    const key = `${image.registryId ?? ""}/${image.repository}:${dest}`;
    const first = destinations.get(key);
    if (first !== undefined) {
      problems.push({ setting: `${at}.destinationTag`, value: dest, reason: `is also the destination of images[${first}] in ${image.repository}`, fix: "Give each image its own destinationTag." });
    } else {
      destinations.set(key, i);
    }
  });
  const positiveInt = (setting: string, value: number | undefined, min: number) => {
    if (value !== undefined && (!Number.isInteger(value) || value < min)) {
      problems.push({ setting, value, reason: `is not an integer >= ${min}`, fix: `Set ${setting} to a whole number of ${setting.endsWith("Minutes") ? "minutes" : "bytes"}.` });
    }
  };
  positiveInt("minLayerSizeBytes", args.minLayerSizeBytes, 0);
  positiveInt("spanSizeBytes", args.spanSizeBytes, 1);
  positiveInt("timeoutMinutes", args.timeoutMinutes, 1);
  for (const [key, value] of Object.entries(args.hostPaths ?? {})) {
    if (value !== undefined && (typeof value !== "string" || !/^\/[^\s]*[^/\s]$/.test(value))) {
      problems.push({ setting: `hostPaths.${key}`, value, reason: "is not an absolute path on the node", fix: "Give a path like '/usr/bin/nerdctl'." });
    }
  }
  if (args.builderImage !== undefined && !/^[^\s"]+$/.test(args.builderImage)) {
    problems.push({ setting: "builderImage", value: args.builderImage, reason: "is not an image reference", fix: "Give an AL2023-based image, e.g. 'public.ecr.aws/amazonlinux/amazonlinux:2023'." });
  }
  if (args.nodeSelector !== undefined && Object.keys(args.nodeSelector).length === 0) {
    problems.push({ setting: "nodeSelector", value: args.nodeSelector, reason: "is empty, so the Job could land on a node without soci", fix: "Select SOCI nodes, e.g. { 'soci-eks/mode': 'lazy' }." });
  }
  return problems;
}

function describeSource(image: SociIndexImage): string {
  const ref = image.digest ? `${image.repository}@${image.digest}` : `${image.repository}:${image.tag}`;
  return image.registryId ? `${ref} (registry ${image.registryId})` : ref;
}

/**
 * Looks the source image up in ECR (`aws:ecr/getImage:getImage`); a missing image or repository becomes an error
 * naming the repository and tag, raised during preview.
 */
export async function resolveSourceImage(
  image: SociIndexImage,
  invokeOpts: pulumi.InvokeOptions,
  componentName = "SociIndexBuilder",
): Promise<ResolvedSourceImage> {
  let found: aws.ecr.GetImageResult;
  try {
    found = await aws.ecr.getImage(
      {
        repositoryName: image.repository,
        ...(image.digest ? { imageDigest: image.digest } : { imageTag: image.tag }),
        ...(image.registryId ? { registryId: image.registryId } : {}),
      },
      invokeOpts,
    );
  } catch (err) {
    const detail = (err instanceof Error ? err.message : String(err)).trim();
    throw new Error(
      `${componentName}: source image ${describeSource(image)} was not found in ECR. ` +
        `Push it first, or fix the repository/tag.${detail ? ` ECR said: ${detail}` : ""}`,
    );
  }
  if (!found || !found.imageDigest) {
    throw new Error(`${componentName}: source image ${describeSource(image)} was not found in ECR (no digest returned).`);
  }
  if (image.digest && found.imageDigest !== image.digest) {
    throw new Error(`${componentName}: ECR returned ${found.imageDigest} for ${describeSource(image)}.`);
  }
  const registryId = found.registryId || image.registryId || "";
  const region = found.region;
  if (!ACCOUNT_RE.test(registryId) || !region) {
    throw new Error(`${componentName}: ECR lookup of ${describeSource(image)} returned no registry account/region.`);
  }
  const registry = `${registryId}.dkr.ecr.${region}.amazonaws.com${region.startsWith("cn-") ? ".cn" : ""}`;
  const destinationTag = destinationTagFor(image);
  return {
    repository: image.repository,
    digest: found.imageDigest,
    registryId,
    region,
    registry,
    sourceRef: `${registry}/${image.repository}@${found.imageDigest}`,
    destinationTag,
    destinationRef: `${registry}/${image.repository}:${destinationTag}`,
  };
}

/**
 * The node directories that hold the host binaries, each mounted read-only at `/host<dir>`. Directories rather than
 * the files themselves: a hostPath of type File that is missing keeps the pod in ContainerCreating until the Job's
 * deadline, while a missing binary in a mounted directory fails the script at once with its name.
 */
export function hostBinaryMounts(binaries: string[]): {
  dirs: { name: string; hostPath: string; mountPath: string }[];
  inContainer: (binary: string) => string;
} {
  const unique = [...new Set(binaries.map((b) => path.posix.dirname(b)))];
  const dirs = unique.map((dir, i) => ({ name: `host-bin-${i}`, hostPath: dir, mountPath: `/host${dir}` }));
  return { dirs, inContainer: (binary) => `/host${binary}` };
}

/** ECR push permissions for the destination repositories (the node role's managed policy only pulls). */
export function pushPolicyDocument(sources: ResolvedSourceImage[], partition = "aws"): string {
  const arns = [...new Set(sources.map((s) => `arn:${partition}:ecr:${s.region}:${s.registryId}:repository/${s.repository}`))].sort();
  return JSON.stringify({
    Version: "2012-10-17",
    Statement: [
      { Sid: "EcrAuth", Effect: "Allow", Action: ["ecr:GetAuthorizationToken"], Resource: "*" },
      {
        Sid: "SociIndexPush",
        Effect: "Allow",
        Action: [
          "ecr:BatchCheckLayerAvailability",
          "ecr:BatchGetImage",
          "ecr:GetDownloadUrlForLayer",
          "ecr:InitiateLayerUpload",
          "ecr:UploadLayerPart",
          "ecr:CompleteLayerUpload",
          "ecr:PutImage",
        ],
        Resource: arns,
      },
    ],
  });
}

/**
 * Builds SOCI index manifest v2 images (`soci convert`) for ECR images and pushes them next to the source
 * (`<tag>-soci` by default). Each image becomes one Kubernetes Job on a SOCI node, named after a hash of the source
 * digest, the soci version, the options and the script: a new digest is a new Job, an unchanged one changes nothing.
 *
 * The Job is privileged and uses host networking: it drives the node's containerd through its socket with the node's
 * own soci, nerdctl and ECR credential helper. See docs/index-builder.md.
 */
export class SociIndexBuilder extends pulumi.ComponentResource {
  /** One entry per image, in input order. */
  readonly results: pulumi.Output<SociIndexResult[]>;
  /** The conversion Jobs, in input order. */
  readonly jobs: k8s.batch.v1.Job[];
  /** The ConfigMap holding build-soci-index.sh. */
  readonly script: k8s.core.v1.ConfigMap;
  /** The inline push policy on the node role, when `nodeRoleName` is set. */
  readonly pushPolicy?: aws.iam.RolePolicy;

  constructor(name: string, args: SociIndexBuilderArgs, opts?: pulumi.ComponentResourceOptions) {
    throwIfProblems(validateIndexBuilderArgs(args), `SociIndexBuilder '${name}'`);
    super("soci-eks:index:SociIndexBuilder", name, {}, opts);

    const sociVersion = args.sociVersion ?? DEFAULT_SOCI_VERSION;
    const minLayerSizeBytes = args.minLayerSizeBytes ?? INDEX_BUILDER_DEFAULTS.minLayerSizeBytes;
    const spanSizeBytes = args.spanSizeBytes ?? INDEX_BUILDER_DEFAULTS.spanSizeBytes;
    const namespaceName = args.namespace ?? INDEX_BUILDER_DEFAULTS.namespace;
    const timeoutMinutes = args.timeoutMinutes ?? INDEX_BUILDER_DEFAULTS.timeoutMinutes;
    const hostPaths = { ...INDEX_BUILDER_DEFAULTS.hostPaths, ...(args.hostPaths ?? {}) };
    const nodeSelector = args.nodeSelector ?? { [MODE_LABEL]: "lazy" };
    const script = buildScript();
    const scriptSha256 = sha256(script);
    const hostBin = hostBinaryMounts([hostPaths.soci, hostPaths.nerdctl, hostPaths.ecrCredentialHelper]);

    const k8sProvider =
      args.kubernetesProvider ?? (args.kubeconfig !== undefined ? new k8s.Provider(`${name}-k8s`, { kubeconfig: args.kubeconfig }, { parent: this }) : undefined);
    const k8sOpts: pulumi.CustomResourceOptions = { parent: this, ...(k8sProvider ? { provider: k8sProvider } : {}) };
    const awsOpts: pulumi.CustomResourceOptions = { parent: this, ...(args.awsProvider ? { provider: args.awsProvider } : {}) };
    const invokeOpts: pulumi.InvokeOptions = { parent: this, ...(args.awsProvider ? { provider: args.awsProvider } : {}) };

    const labels = { "app.kubernetes.io/name": "soci-index-builder", "app.kubernetes.io/managed-by": "soci-eks" };

    let namespace: k8s.core.v1.Namespace | undefined;
    if (args.createNamespace ?? true) {
      namespace = new k8s.core.v1.Namespace(
        `${name}-ns`,
        {
          metadata: {
            name: namespaceName,
            labels: { ...labels, "pod-security.kubernetes.io/enforce": "privileged" },
          },
        },
        k8sOpts,
      );
    }
    const nsOpts: pulumi.CustomResourceOptions = { ...k8sOpts, ...(namespace ? { dependsOn: [namespace] } : {}) };

    const configMapName = `soci-index-builder-${scriptSha256.slice(0, 10)}`;
    this.script = new k8s.core.v1.ConfigMap(
      `${name}-script`,
      {
        metadata: { name: configMapName, namespace: namespaceName, labels },
        immutable: true,
        data: { [BUILD_SCRIPT_KEY]: script },
      },
      nsOpts,
    );

    const resolved = args.images.map((image) => resolveSourceImage(image, invokeOpts, `SociIndexBuilder '${name}'`));

    const role =
      args.nodeRoleName ?? (args.nodeRoleArn !== undefined ? pulumi.output(args.nodeRoleArn).apply((arn) => arn.split("/").pop() ?? arn) : undefined);
    if (role !== undefined) {
      this.pushPolicy = new aws.iam.RolePolicy(
        `${name}-push`,
        {
          role,
          policy: pulumi.output(Promise.all(resolved)).apply((sources) => pushPolicyDocument(sources, args.partition ?? "aws")),
        },
        awsOpts,
      );
    }

    this.jobs = args.images.map((image, i) => {
      const source = pulumi.output(resolved[i]);
      const hash = source.apply((s) =>
        buildHash({ sourceDigest: s.digest, destinationRef: s.destinationRef, sociVersion, minLayerSizeBytes, spanSizeBytes, scriptSha256 }),
      );
      const jobName = hash.apply((h) => jobNameFor(image.repository, h));
      const env: k8s.types.input.core.v1.EnvVar[] = [
        { name: "SRC_REF", value: source.sourceRef },
        { name: "DST_REF", value: source.destinationRef },
        { name: "SOCI_VERSION", value: sociVersion },
        { name: "MIN_LAYER_SIZE", value: String(minLayerSizeBytes) },
        { name: "SPAN_SIZE", value: String(spanSizeBytes) },
        { name: "BUILD_NAMESPACE", value: INDEX_BUILDER_DEFAULTS.buildNamespace },
        { name: "WORK_DIR", value: WORK_DIR },
        { name: "CONTAINERD_ADDRESS", value: hostPaths.containerdSocket },
        { name: "SOCI_BIN", value: hostBin.inContainer(hostPaths.soci) },
        { name: "NERDCTL_BIN", value: hostBin.inContainer(hostPaths.nerdctl) },
        { name: "HOME", value: "/root" },
        { name: "DOCKER_CONFIG", value: "/root/.docker" },
        // The image's own tools first; the node's directories only supply soci, nerdctl and the credential helper.
        { name: "PATH", value: ["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin", ...hostBin.dirs.map((d) => d.mountPath)].join(":") },
      ];
      return new k8s.batch.v1.Job(
        `${name}-${dnsSlug(image.repository, 40)}-${dnsSlug(destinationTagFor(image), 40)}`,
        {
          metadata: {
            name: jobName,
            namespace: namespaceName,
            labels: { ...labels, "soci-eks/build-hash": hash },
            annotations: {
              "soci-eks/source": source.sourceRef,
              "soci-eks/destination": source.destinationRef,
              "soci-eks/soci-version": sociVersion,
            },
          },
          spec: {
            // One retry covers a node that goes away mid-build; a real failure (zstd-only image, missing push
            // permission) fails the same way twice. No ttlSecondsAfterFinished: a Job that disappeared would look
            // deleted to `pulumi refresh` and be built again.
            backoffLimit: 1,
            activeDeadlineSeconds: timeoutMinutes * 60,
            template: {
              metadata: { labels: { ...labels, "soci-eks/build-hash": hash } },
              spec: {
                restartPolicy: "Never",
                nodeSelector,
                ...(args.tolerations ? { tolerations: args.tolerations } : {}),
                // Host network: ECR credentials come from the node role through IMDS, whose hop limit is 1.
                hostNetwork: true,
                dnsPolicy: "ClusterFirstWithHostNet",
                automountServiceAccountToken: false,
                containers: [
                  {
                    name: "build",
                    image: args.builderImage ?? INDEX_BUILDER_DEFAULTS.builderImage,
                    command: ["/bin/bash", `${SCRIPT_MOUNT_DIR}/${BUILD_SCRIPT_KEY}`],
                    env,
                    securityContext: { privileged: true },
                    volumeMounts: [
                      { name: "script", mountPath: SCRIPT_MOUNT_DIR, readOnly: true },
                      { name: "containerd-socket", mountPath: hostPaths.containerdSocket },
                      ...hostBin.dirs.map((d) => ({ name: d.name, mountPath: d.mountPath, readOnly: true })),
                      { name: "docker-config", mountPath: "/root/.docker", readOnly: true },
                      { name: "work", mountPath: WORK_DIR },
                    ],
                  },
                ],
                volumes: [
                  { name: "script", configMap: { name: configMapName, defaultMode: 0o555 } },
                  { name: "containerd-socket", hostPath: { path: hostPaths.containerdSocket, type: "Socket" } },
                  ...hostBin.dirs.map((d) => ({ name: d.name, hostPath: { path: d.hostPath, type: "Directory" } })),
                  { name: "docker-config", hostPath: { path: hostPaths.dockerConfigDir, type: "Directory" } },
                  { name: "work", emptyDir: {} },
                ],
              },
            },
          },
        },
        {
          ...nsOpts,
          dependsOn: [this.script, ...(namespace ? [namespace] : []), ...(this.pushPolicy ? [this.pushPolicy] : [])],
          customTimeouts: { create: `${timeoutMinutes + 5}m`, update: `${timeoutMinutes + 5}m` },
        },
      );
    });

    this.results = pulumi.all(this.jobs.map((job, i) => pulumi.all([pulumi.output(resolved[i]), job.metadata.name]))).apply((pairs) =>
      pairs.map(([s, jobName]) => ({
        repository: s.repository,
        sourceRef: s.sourceRef,
        sourceDigest: s.digest,
        destinationRef: s.destinationRef,
        jobName,
      })),
    );

    this.registerOutputs({ results: this.results });
  }
}
