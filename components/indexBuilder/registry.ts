/**
 * What the builder asks ECR before it creates anything: the digest behind each source tag, and, when an index is
 * pushed into its own source repository, whether that repository's tags are immutable.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { ConfigProblem, SociConfigError } from "../../validation/problems";
import { SociIndexImage } from "./args";
import { ACCOUNT_RE, destinationRepositoryOf, destinationTagFor } from "./validation";

/** The source image as ECR reports it, and where its index goes. */
export interface ResolvedSourceImage {
  repository: string;
  digest: string;
  registryId: string;
  region: string;
  /** `<account>.dkr.ecr.<region>.amazonaws.com` */
  registry: string;
  sourceRef: string;
  destinationRepository: string;
  destinationTag: string;
  destinationRef: string;
}

function describeSource(image: SociIndexImage): string {
  const ref = image.digest ? `${image.repository}@${image.digest}` : `${image.repository}:${image.tag}`;
  return image.registryId ? `${ref} (registry ${image.registryId})` : ref;
}

/** `<account>.dkr.ecr.<region>.amazonaws.com` (`.com.cn` in China regions). */
export function ecrRegistryHost(registryId: string, region: string): string {
  return `${registryId}.dkr.ecr.${region}.amazonaws.com${region.startsWith("cn-") ? ".cn" : ""}`;
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
  const registry = ecrRegistryHost(registryId, region);
  const destinationRepository = destinationRepositoryOf(image);
  const destinationTag = destinationTagFor(image);
  return {
    repository: image.repository,
    digest: found.imageDigest,
    registryId,
    region,
    registry,
    sourceRef: `${registry}/${image.repository}@${found.imageDigest}`,
    destinationRepository,
    destinationTag,
    destinationRef: `${registry}/${destinationRepository}:${destinationTag}`,
  };
}

/** The only ECR tag setting under which a push cannot replace an existing tag. */
export const IMMUTABLE = "IMMUTABLE";

/**
 * The problem with pushing image `at` into its own source repository, given that repository's `imageTagMutability`,
 * or undefined when there is none (another repository, immutable tags, or the explicit opt-in).
 */
export function sourceRepositoryProblem(image: SociIndexImage, at: string, imageTagMutability: string | undefined): ConfigProblem | undefined {
  if (destinationRepositoryOf(image) !== image.repository) return undefined;
  if (imageTagMutability === IMMUTABLE || image.allowPushToMutableSourceRepository === true) return undefined;
  return {
    setting: `${at}.destinationRepository`,
    value: image.repository,
    reason:
      `is the source repository (the default), and its imageTagMutability is ${imageTagMutability === undefined ? "unknown" : `'${imageTagMutability}'`}: ` +
      "the builder's role could overwrite any tag in it, including the ones your nodes pull",
    fix:
      `Push the index elsewhere (destinationRepository: '${image.repository}-soci'), make '${image.repository}' immutable ` +
      `(aws.ecr.Repository imageTagMutability: 'IMMUTABLE'), or accept the risk with ${at}.allowPushToMutableSourceRepository: true.`,
  };
}

/**
 * Reads `imageTagMutability` of every source repository that also receives an index (`aws:ecr/getRepository`) and
 * throws one SociConfigError listing every image that may not push there.
 */
export async function checkDestinations(images: SociIndexImage[], invokeOpts: pulumi.InvokeOptions, componentName: string): Promise<void> {
  const problems: ConfigProblem[] = [];
  await Promise.all(
    images.map(async (image, i) => {
      if (destinationRepositoryOf(image) !== image.repository || image.allowPushToMutableSourceRepository === true) return;
      let mutability: string | undefined;
      try {
        const repo = await aws.ecr.getRepository({ name: image.repository, ...(image.registryId ? { registryId: image.registryId } : {}) }, invokeOpts);
        mutability = repo.imageTagMutability;
      } catch (err) {
        const detail = (err instanceof Error ? err.message : String(err)).trim();
        throw new Error(`${componentName}: source repository ${image.repository} could not be read from ECR.${detail ? ` ECR said: ${detail}` : ""}`);
      }
      const problem = sourceRepositoryProblem(image, `images[${i}]`, mutability);
      if (problem) problems.push(problem);
    }),
  );
  if (problems.length > 0) {
    problems.sort((a, b) => a.setting.localeCompare(b.setting, "en", { numeric: true }));
    throw new SociConfigError(problems, componentName);
  }
}
