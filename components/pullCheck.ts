import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { ConfigProblem, throwIfProblems } from "../validation/problems";

/**
 * Default sample images: the same vLLM Deep Learning Container with and without a SOCI index manifest v2.
 * The `-soci` tag is the one AWS's "Reducing container cold start times using SOCI index on DLAMI and DLC" blog
 * (2026-06-03) pulls lazily: 9.72 GB compressed, 32.7 GB on disk, linux/amd64. The plain tag is the same name
 * without `-soci`; that it exists is an assumption (UNCONFIRMED): override `images.plain` if it does not.
 */
export const PULL_CHECK_DEFAULT_IMAGES: Readonly<Record<string, string>> = {
  indexed: "public.ecr.aws/deep-learning-containers/vllm:0.19.0-gpu-py312-ec2-soci",
  plain: "public.ecr.aws/deep-learning-containers/vllm:0.19.0-gpu-py312-ec2",
};

export const NODEGROUP_LABEL = "eks.amazonaws.com/nodegroup";

/** A node group to measure. */
export interface PullCheckNodeGroup {
  /** Short, stable id used in resource and Job names (DNS label, ≤ 20 chars), e.g. `lazy` or `stock`. */
  id: string;
  /** The EKS node group name: the value of the nodes' `eks.amazonaws.com/nodegroup` label. */
  nodeGroupName: pulumi.Input<string>;
  /** Tolerations for a tainted node group. */
  tolerations?: k8s.types.input.core.v1.Toleration[];
}

/** Arguments of {@link PullCheck}. */
export interface PullCheckArgs {
  /** Node groups to pull in, e.g. a lazy SOCI group and a stock group (`sociMode: "off"`) to compare against. */
  nodeGroups: PullCheckNodeGroup[];
  /**
   * Variant name → image reference. Each variant runs in each node group. Default {@link PULL_CHECK_DEFAULT_IMAGES}
   * (`indexed`, `plain`). Use images whose layers are gzip; the indexed one must carry a SOCI index manifest v2
   * (e.g. built by SociIndexBuilder).
   */
  images?: Record<string, string>;
  /** Pods per variant and node group. Each pod needs a node of its own (see `docs/pull-report.md`). Default 1. */
  replicas?: number;
  /** Bump to pull again: Job names carry it. Default `"1"`. */
  runId?: string;
  /** Container command. Default `["/bin/sh", "-c", "true"]`: pull, start, exit. */
  command?: string[];
  /** Namespace of the Jobs. Default `soci-eks-pullcheck`. */
  namespace?: string;
  /** Create the namespace. Default true. */
  createNamespace?: boolean;
  /** Make `pulumi up` wait for the Jobs to complete. Default false: the Jobs are created and the report read later. */
  waitForCompletion?: boolean;
  /** Kubernetes provider. Default: `opts.providers.kubernetes` or the ambient provider. */
  kubernetesProvider?: k8s.Provider;
  /** Kubeconfig (e.g. `SociCluster.kubeconfig`), used to make a provider when `kubernetesProvider` is unset. */
  kubeconfig?: pulumi.Input<string>;
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** Checks the arguments; every problem at once. */
export function validatePullCheckArgs(args: PullCheckArgs): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  if (!Array.isArray(args.nodeGroups) || args.nodeGroups.length === 0) {
    problems.push({ setting: "nodeGroups", value: args.nodeGroups, reason: "is empty", fix: "List the node groups to measure, e.g. [{ id: 'lazy', nodeGroupName: ... }, { id: 'stock', ... }]." });
  }
  const ids = new Set<string>();
  (args.nodeGroups ?? []).forEach((g, i) => {
    if (typeof g.id !== "string" || !DNS_LABEL.test(g.id) || g.id.length > 20) {
      problems.push({ setting: `nodeGroups[${i}].id`, value: g.id, reason: "is not a DNS label of at most 20 characters", fix: "Use lowercase letters, digits and '-', e.g. 'lazy'." });
    } else if (ids.has(g.id)) {
      problems.push({ setting: `nodeGroups[${i}].id`, value: g.id, reason: "is used twice", fix: "Give each node group its own id." });
    }
    ids.add(g.id);
    if (g.nodeGroupName === undefined || g.nodeGroupName === "") {
      problems.push({ setting: `nodeGroups[${i}].nodeGroupName`, value: g.nodeGroupName, reason: "is missing", fix: "Give the EKS node group name (its nodes' eks.amazonaws.com/nodegroup label)." });
    }
  });
  const images = args.images ?? PULL_CHECK_DEFAULT_IMAGES;
  if (Object.keys(images).length === 0) {
    problems.push({ setting: "images", value: images, reason: "is empty", fix: "Give at least one variant, e.g. { indexed: '...-soci', plain: '...' }." });
  }
  for (const [variant, ref] of Object.entries(images)) {
    if (!DNS_LABEL.test(variant) || variant.length > 12) {
      problems.push({ setting: `images.${variant}`, reason: "has a variant name that is not a DNS label of at most 12 characters", fix: "Name variants like 'indexed' or 'plain'." });
    }
    if (typeof ref !== "string" || !/^[^\s"]+$/.test(ref)) {
      problems.push({ setting: `images.${variant}`, value: ref, reason: "is not an image reference", fix: "Give a reference like 'public.ecr.aws/repo/image:tag'." });
    }
  }
  if (args.replicas !== undefined && (!Number.isInteger(args.replicas) || args.replicas < 1 || args.replicas > 100)) {
    problems.push({ setting: "replicas", value: args.replicas, reason: "is not an integer from 1 to 100", fix: "Set replicas to the number of fresh nodes per variant." });
  }
  if (args.runId !== undefined && (!DNS_LABEL.test(args.runId) || args.runId.length > 10)) {
    problems.push({ setting: "runId", value: args.runId, reason: "is not a DNS label of at most 10 characters", fix: "Use e.g. '2' or 'after-fix'." });
  }
  if (args.command !== undefined && (!Array.isArray(args.command) || args.command.length === 0)) {
    problems.push({ setting: "command", value: args.command, reason: "is empty", fix: "Give the container command as a list, e.g. ['/bin/sh', '-c', 'true']." });
  }
  return problems;
}

/** `pull-<group>-<variant>-<run>`. */
export function pullJobName(groupId: string, variant: string, runId: string): string {
  return `pull-${groupId}-${variant}-${runId}`;
}

/**
 * Sample workloads that make kubelet pull big images in chosen node groups, so that `npm run pull-report` can compare
 * pull times per node group, SOCI mode and image. One Job per node group and image variant, pinned to the group with
 * `eks.amazonaws.com/nodegroup`, `imagePullPolicy: Always`, one pod per node (pods of one check never share a node, so
 * no pull finds the other variant's layers cached).
 */
export class PullCheck extends pulumi.ComponentResource {
  /** One Job per node group and variant, in node group order. */
  readonly jobs: k8s.batch.v1.Job[];
  /** The namespace the Jobs run in. */
  readonly namespace: string;
  /** The command that prints the comparison once the Jobs have pulled. */
  readonly reportCommand: string;

  constructor(name: string, args: PullCheckArgs, opts?: pulumi.ComponentResourceOptions) {
    throwIfProblems(validatePullCheckArgs(args), `PullCheck '${name}'`);
    super("soci-eks:index:PullCheck", name, {}, opts);

    const images = args.images ?? PULL_CHECK_DEFAULT_IMAGES;
    const replicas = args.replicas ?? 1;
    const runId = args.runId ?? "1";
    this.namespace = args.namespace ?? "soci-eks-pullcheck";
    const k8sProvider =
      args.kubernetesProvider ?? (args.kubeconfig !== undefined ? new k8s.Provider(`${name}-k8s`, { kubeconfig: args.kubeconfig }, { parent: this }) : undefined);
    const k8sOpts: pulumi.CustomResourceOptions = { parent: this, ...(k8sProvider ? { provider: k8sProvider } : {}) };
    const checkLabel = { "soci-eks/pull-check": name };
    const baseLabels = { "app.kubernetes.io/name": "soci-pull-check", "app.kubernetes.io/managed-by": "soci-eks", ...checkLabel };

    let ns: k8s.core.v1.Namespace | undefined;
    if (args.createNamespace ?? true) {
      ns = new k8s.core.v1.Namespace(`${name}-ns`, { metadata: { name: this.namespace, labels: baseLabels } }, k8sOpts);
    }

    this.jobs = [];
    for (const group of args.nodeGroups) {
      for (const [variant, image] of Object.entries(images)) {
        const labels = { ...baseLabels, "soci-eks/pull-group": group.id, "soci-eks/pull-variant": variant, "soci-eks/pull-run": runId };
        const jobName = pullJobName(group.id, variant, runId);
        this.jobs.push(
          new k8s.batch.v1.Job(
            `${name}-${group.id}-${variant}`,
            {
              metadata: {
                name: jobName,
                namespace: this.namespace,
                labels,
                annotations: {
                  "soci-eks/image": image,
                  ...(args.waitForCompletion ? {} : { "pulumi.com/skipAwait": "true" }),
                },
              },
              spec: {
                completions: replicas,
                parallelism: replicas,
                backoffLimit: 0,
                template: {
                  metadata: { labels },
                  spec: {
                    restartPolicy: "Never",
                    nodeSelector: { [NODEGROUP_LABEL]: group.nodeGroupName },
                    ...(group.tolerations ? { tolerations: group.tolerations } : {}),
                    affinity: {
                      // Every pod of this check on a node of its own: a second pull on the same node would find the
                      // layers (shared by the indexed and plain variants) already there.
                      podAntiAffinity: {
                        requiredDuringSchedulingIgnoredDuringExecution: [
                          { labelSelector: { matchLabels: checkLabel }, topologyKey: "kubernetes.io/hostname" },
                        ],
                      },
                    },
                    automountServiceAccountToken: false,
                    terminationGracePeriodSeconds: 5,
                    containers: [
                      {
                        name: "pull",
                        image,
                        imagePullPolicy: "Always",
                        command: args.command ?? ["/bin/sh", "-c", "true"],
                        resources: { requests: { cpu: "100m", memory: "128Mi" } },
                      },
                    ],
                  },
                },
              },
            },
            { ...k8sOpts, ...(ns ? { dependsOn: [ns] } : {}) },
          ),
        );
      }
    }

    this.reportCommand = `kubectl get events -A -o json > events.json && kubectl get nodes -o json > nodes.json && npm run pull-report -- --file events.json --nodes nodes.json`;
    this.registerOutputs({ namespace: this.namespace, jobNames: this.jobs.map((j) => j.metadata.name) });
  }
}
