/**
 * The one validation pass of SociIndexBuilder's arguments: pure, every problem at once, before any lookup or resource.
 * (The checks that need ECR, such as the source repository's tag mutability, are in ./registry.ts.)
 */
import { ConfigProblem } from "../../validation/problems";
import { SociIndexBuilderArgs, SociIndexImage } from "./args";
import { validatePrefetch } from "./prefetch";

export const DIGEST_RE = /^sha256:[0-9a-f]{64}$/;
// ECR repository names: https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_CreateRepository.html
export const REPOSITORY_RE = /^(?:[a-z0-9]+(?:[._-][a-z0-9]+)*\/)*[a-z0-9]+(?:[._-][a-z0-9]+)*$/;
export const TAG_RE = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;
export const ACCOUNT_RE = /^\d{12}$/;
/** `host[:port]/path[:tag]@sha256:<64 hex>`: a reference pinned by digest. */
export const PINNED_IMAGE_RE = /^[a-z0-9.-]+(?::\d+)?\/[a-z0-9._/-]+(?::[A-Za-z0-9_][A-Za-z0-9._-]{0,127})?@sha256:[0-9a-f]{64}$/;

/**
 * Options other builders take that this one does not, with what it does instead (a user porting a node-role or
 * hostPath builder gets the way over, not just "unknown option").
 */
const NOT_OPTIONS: Record<string, string> = {
  nodeRoleName: "The builder does not push with a node role: it gets its own IAM role through EKS Pod Identity. Remove nodeRoleName and set clusterName.",
  nodeRoleArn: "The builder does not push with a node role: it gets its own IAM role through EKS Pod Identity. Remove nodeRoleArn and set clusterName.",
  hostPaths: "The builder mounts nothing from the node: soci, skopeo and the credential helper come from builderImage. Remove hostPaths.",
};

/** The destination repository of an image: the one it names, or its source repository. */
export function destinationRepositoryOf(image: SociIndexImage): string {
  return image.destinationRepository ?? image.repository;
}

/** The destination tag an image gets. */
export function destinationTagFor(image: SociIndexImage): string {
  if (image.destinationTag) return image.destinationTag;
  if (image.tag) return `${image.tag}-soci`;
  return `soci-${(image.digest ?? "").replace(/^sha256:/, "").slice(0, 12)}`;
}

function validateImage(image: SociIndexImage, at: string, problems: ConfigProblem[]): void {
  if (!REPOSITORY_RE.test(image.repository ?? "")) {
    problems.push({ setting: `${at}.repository`, value: image.repository, reason: "is not an ECR repository name", fix: "Give the repository name without the registry host, e.g. 'team/app'." });
  }
  if (image.destinationRepository !== undefined && !REPOSITORY_RE.test(image.destinationRepository)) {
    problems.push({ setting: `${at}.destinationRepository`, value: image.destinationRepository, reason: "is not an ECR repository name", fix: "Give a repository in the same registry, without the host, e.g. 'team/app-soci'." });
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
  if (image.allowPushToMutableSourceRepository !== undefined && typeof image.allowPushToMutableSourceRepository !== "boolean") {
    problems.push({ setting: `${at}.allowPushToMutableSourceRepository`, value: image.allowPushToMutableSourceRepository, reason: "is not a boolean", fix: "Set true or false." });
  }
  problems.push(...validatePrefetch(image.prefetch, `${at}.prefetch`));
  const dest = destinationTagFor(image);
  if (!TAG_RE.test(dest)) {
    problems.push({ setting: `${at}.destinationTag`, value: dest, reason: "is not a valid image tag", fix: "Use 1-128 characters of letters, digits, '_', '.', '-'." });
  }
  if (image.tag !== undefined && dest === image.tag && destinationRepositoryOf(image) === image.repository) {
    problems.push({ setting: `${at}.destinationTag`, value: dest, reason: "equals the source tag in the source repository, so the build would overwrite its own source", fix: "Pick another destination tag (default '<tag>-soci') or another destinationRepository." });
  }
}

/** Checks the arguments before any lookup; every problem at once. */
export function validateIndexBuilderArgs(args: SociIndexBuilderArgs): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const given = args as unknown as Record<string, unknown>;
  for (const [option, fix] of Object.entries(NOT_OPTIONS)) {
    if (given[option] !== undefined) problems.push({ setting: option, value: given[option], reason: "is not an option of SociIndexBuilder", fix });
  }
  if (!Array.isArray(args.images) || args.images.length === 0) {
    problems.push({ setting: "images", value: args.images, reason: "is empty", fix: "List at least one ECR image ({ repository, tag } or { repository, digest })." });
  }
  const destinations = new Map<string, number>();
  (Array.isArray(args.images) ? args.images : []).forEach((image, i) => {
    const at = `images[${i}]`;
    validateImage(image, at, problems);
    const dest = destinationTagFor(image);
    const key = `${image.registryId ?? ""}/${destinationRepositoryOf(image)}:${dest}`;
    const first = destinations.get(key);
    if (first !== undefined) {
      problems.push({ setting: `${at}.destinationTag`, value: dest, reason: `is also the destination of images[${first}] in ${destinationRepositoryOf(image)}`, fix: "Give each image its own destinationTag." });
    } else {
      destinations.set(key, i);
    }
  });
  if (args.clusterName === undefined || args.clusterName === "") {
    problems.push({ setting: "clusterName", value: args.clusterName, reason: "is missing; the builder's Pod Identity association needs the cluster", fix: "Set clusterName, e.g. to SociCluster.clusterName." });
  }
  if (args.builderImage === undefined) {
    problems.push({ setting: "builderImage", reason: "is missing", fix: "Give the builder image pinned by digest, '<repository>@sha256:<64 hex>' (docs/index-builder.md, 'The builder image')." });
  } else if (typeof args.builderImage !== "string" || !PINNED_IMAGE_RE.test(args.builderImage)) {
    problems.push({
      setting: "builderImage",
      value: args.builderImage,
      reason: "is not pinned by digest, so the code that pushes your images could change under the same name",
      fix: "Give '<registry>/<repository>@sha256:<64 hex>' (a tag may stay before the digest); find the digest with 'skopeo inspect --format {{.Digest}} docker://<image>'.",
    });
  }
  const agent = args.podIdentityAgent as unknown;
  if (agent !== undefined && agent !== "installed" && (typeof agent !== "object" || agent === null)) {
    problems.push({ setting: "podIdentityAgent", value: agent, reason: "is neither a resource nor 'installed'", fix: "Pass the cluster's eks-pod-identity-agent add-on (SociCluster.podIdentityAgentAddon), 'installed', or leave it unset to create the add-on." });
  }
  const wholeNumber = (setting: string, value: number | undefined, min: number, unit: string) => {
    if (value !== undefined && (!Number.isInteger(value) || value < min)) {
      problems.push({ setting, value, reason: `is not an integer >= ${min}`, fix: `Set ${setting} to a whole number of ${unit}.` });
    }
  };
  wholeNumber("minLayerSizeBytes", args.minLayerSizeBytes, 0, "bytes");
  wholeNumber("spanSizeBytes", args.spanSizeBytes, 1, "bytes");
  wholeNumber("timeoutMinutes", args.timeoutMinutes, 1, "minutes");
  if (args.nodeSelector !== undefined && Object.keys(args.nodeSelector).length === 0) {
    problems.push({ setting: "nodeSelector", value: args.nodeSelector, reason: "is empty, so the Job could land on a Windows node", fix: "Select Linux nodes, e.g. { 'kubernetes.io/os': 'linux' }, or leave it unset." });
  }
  if (args.partition !== undefined && !/^aws(-[a-z-]+)?$/.test(args.partition)) {
    problems.push({ setting: "partition", value: args.partition, reason: "is not an AWS partition", fix: "Use 'aws', 'aws-cn' or 'aws-us-gov', or leave it unset." });
  }
  return problems;
}
