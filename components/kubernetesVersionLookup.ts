import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { builtInVersionCatalog, eksVersionCatalog, KubernetesVersionCatalog } from "../validation/kubernetesVersions";

/** The Kubernetes version catalog a component validates against, and a warning when EKS could not be asked. */
export interface KubernetesVersionLookup {
  catalog: KubernetesVersionCatalog;
  warnings: string[];
}

/**
 * EKS's own list of Kubernetes versions (the `aws:eks/getClusterVersions` invoke, every status), in the promise
 * form so callers validate before they register any resource. When the invoke fails (e.g. no
 * `eks:DescribeClusterVersions` permission), falls back to the built-in calendar evaluated on `today`, with a warning.
 */
export async function lookupKubernetesVersions(today: Date, opts?: pulumi.InvokeOptions): Promise<KubernetesVersionLookup> {
  try {
    const r = await aws.eks.getClusterVersions({ includeAll: true }, opts);
    return { catalog: eksVersionCatalog(r.clusterVersions), warnings: [] };
  } catch (e) {
    const why = (e instanceof Error ? e.message : String(e)).split("\n")[0] || "the invoke failed";
    return {
      catalog: builtInVersionCatalog(today),
      warnings: [`Could not read EKS's Kubernetes versions (aws.eks.getClusterVersions: ${why}); checked against soci-eks's built-in calendar instead.`],
    };
  }
}
