/**
 * Karpenter's own merge of custom user data, for the tests: lab/.bin/karpenter-merge calls Karpenter v1.15.2's
 * `bootstrap.Nodeadm{...}.Script()` (built from the Go module proxy by lab/build-tools.sh; `npm test`'s setup builds it,
 * scripts/setup.sh). No model of Karpenter is used anywhere in the tests.
 */
import { spawnSync } from "child_process";
import { existsSync } from "fs";
import * as path from "path";
import { TYPICAL_MERGER_CLUSTER } from "../../validation/userDataSize";
import { REPO_ROOT } from "./sociWiring";

/** The built program (SOCI_EKS_KARPENTER_MERGE overrides). */
export const KARPENTER_MERGE = process.env.SOCI_EKS_KARPENTER_MERGE ?? path.join(REPO_ROOT, "lab/.bin/karpenter-merge");

/** Why the program cannot run here, or undefined when it can. A test that needs it fails with this, never skips. */
export function karpenterMergeMissing(): string | undefined {
  if (existsSync(KARPENTER_MERGE)) return undefined;
  return `${KARPENTER_MERGE} is missing: run scripts/setup.sh test (it builds it with Go from the module proxy: lab/build-tools.sh karpenter-merge)`;
}

/** What the program reports about one merge. */
export interface KarpenterMergeReport {
  parts: number;
  customBytes: number;
  mergedBytes: number;
  base64Bytes: number;
  /** The merged document's bytes minus our parts as Karpenter serializes them alone. */
  karpenterPartBytes: number;
}

/** The cluster Karpenter's part is built for: {@link TYPICAL_MERGER_CLUSTER} (the size rule's). */
export const TYPICAL_KARPENTER_ARGS = [
  "-cluster",
  [TYPICAL_MERGER_CLUSTER.name, TYPICAL_MERGER_CLUSTER.endpoint, TYPICAL_MERGER_CLUSTER.certificateAuthority, TYPICAL_MERGER_CLUSTER.serviceCidr].join(","),
  "-kube-dns-ip",
  TYPICAL_MERGER_CLUSTER.kubeDnsIp,
  "-max-pods",
  String(TYPICAL_MERGER_CLUSTER.maxPods),
  "-labels",
  `karpenter.sh/nodepool=${TYPICAL_MERGER_CLUSTER.nodePool},karpenter.k8s.aws/ec2nodeclass=${TYPICAL_MERGER_CLUSTER.nodeClass}`,
];

/** Merges `input` into `output` with Karpenter's code; `raid0`: the EC2NodeClass has instanceStorePolicy RAID0. */
export function karpenterMerge(input: string, output: string, raid0: boolean, extra: string[] = TYPICAL_KARPENTER_ARGS): KarpenterMergeReport {
  const r = spawnSync(KARPENTER_MERGE, ["-userdata", input, "-out", output, ...(raid0 ? ["-raid0"] : []), ...extra], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`karpenter-merge ${input}: ${r.stderr || r.error}`);
  return JSON.parse(r.stdout) as KarpenterMergeReport;
}
