/**
 * SociIndexBuilder: SOCI index manifest v2 images for ECR images, built by a Kubernetes Job per image that runs with
 * its own identity (EKS Pod Identity) and no privilege. The pieces, one concern each, are in ./indexBuilder/:
 * args (options and defaults), validation (one pass before anything), registry (ECR lookups and the
 * source-repository rule), identity (role, service account, Pod Identity), job (name, script, pod spec).
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { DEFAULT_SOCI_VERSION } from "../userdata/releases";
import { throwIfProblems } from "../validation/problems";
import { INDEX_BUILDER_DEFAULTS, SociIndexBuilderArgs, SociIndexResult } from "./indexBuilder/args";
import { BuilderIdentity, createBuilderIdentity } from "./indexBuilder/identity";
import { BUILD_SCRIPT_KEY, buildEnv, buildHash, buildPodSpec, buildScript, dnsSlug, jobNameFor, PREFETCH_LIST_DIR, PREFETCH_LIST_KEY, RECORD_READS, sha256 } from "./indexBuilder/job";
import { prefetchMode, readsListJson, recordArgs } from "./indexBuilder/prefetch";
import { checkDestinations, ResolvedSourceImage, resolveSourceImage } from "./indexBuilder/registry";
import { destinationRepositoryOf, destinationTagFor, validateIndexBuilderArgs } from "./indexBuilder/validation";

export * from "./indexBuilder/args";
export { PrefetchFile, PrefetchMode, PrefetchRange, PrefetchRecording, SociPrefetchOptions, readsListJson, validatePrefetch } from "./indexBuilder/prefetch";
export { builderPolicyDocument, builderTrustPolicy, ECR_PULL_ACTIONS, ECR_PUSH_ACTIONS, POD_IDENTITY_AGENT_ADDON } from "./indexBuilder/identity";
export { BUILD_SCRIPT_KEY, BUILD_SCRIPT_RELATIVE_PATH, BuildHashInputs, buildHash, buildScript, dnsSlug, jobNameFor } from "./indexBuilder/job";
export { ResolvedSourceImage, resolveSourceImage, sourceRepositoryProblem } from "./indexBuilder/registry";
export { destinationTagFor, validateIndexBuilderArgs } from "./indexBuilder/validation";

/**
 * Builds SOCI index manifest v2 images (`soci convert --standalone`) for ECR images and pushes them to the
 * destination you name (`<tag>-soci` in the source repository by default, allowed only for a repository with
 * immutable tags). Each image becomes one Kubernetes Job, named after a hash of the source digest, the soci version,
 * the options, the builder image and the script: a new digest is a new Job, an unchanged one changes nothing.
 *
 * The Job's pod is `restricted`: it runs as a non-root user with no capabilities, mounts nothing from the node and
 * talks to ECR with its own role through EKS Pod Identity (pull on the sources, push on the destinations). No node
 * role gets push rights. Nothing is created until every image was found in ECR and every destination is allowed.
 * See docs/index-builder.md.
 */
export class SociIndexBuilder extends pulumi.ComponentResource {
  /** One entry per image, in input order. */
  readonly results: pulumi.Output<SociIndexResult[]>;
  /** The conversion Jobs, in input order. */
  readonly jobs: k8s.batch.v1.Job[];
  /** The ConfigMap holding build-soci-index.sh. */
  readonly script: k8s.core.v1.ConfigMap;
  /** The ConfigMaps holding users' prefetch lists (images with `prefetch.files`), in input order. */
  readonly prefetchLists: k8s.core.v1.ConfigMap[];
  /** The builder's role, its ECR policy, service account, Pod Identity association and (when created here) the agent add-on. */
  readonly identity: BuilderIdentity;

  constructor(name: string, args: SociIndexBuilderArgs, opts?: pulumi.ComponentResourceOptions) {
    const subject = `SociIndexBuilder '${name}'`;
    throwIfProblems(validateIndexBuilderArgs(args), subject);
    super("soci-eks:index:SociIndexBuilder", name, {}, opts);

    const sociVersion = args.sociVersion ?? DEFAULT_SOCI_VERSION;
    const minLayerSizeBytes = args.minLayerSizeBytes ?? INDEX_BUILDER_DEFAULTS.minLayerSizeBytes;
    const spanSizeBytes = args.spanSizeBytes ?? INDEX_BUILDER_DEFAULTS.spanSizeBytes;
    const namespaceName = args.namespace ?? INDEX_BUILDER_DEFAULTS.namespace;
    const timeoutMinutes = args.timeoutMinutes ?? INDEX_BUILDER_DEFAULTS.timeoutMinutes;
    const serviceAccountName = INDEX_BUILDER_DEFAULTS.serviceAccount;
    const script = buildScript();
    const scriptSha256 = sha256(script);

    const k8sProvider =
      args.kubernetesProvider ?? (args.kubeconfig !== undefined ? new k8s.Provider(`${name}-k8s`, { kubeconfig: args.kubeconfig }, { parent: this }) : undefined);
    const k8sOpts: pulumi.CustomResourceOptions = { parent: this, ...(k8sProvider ? { provider: k8sProvider } : {}) };
    const awsOpts: pulumi.CustomResourceOptions = { parent: this, ...(args.awsProvider ? { provider: args.awsProvider } : {}) };
    const invokeOpts: pulumi.InvokeOptions = { parent: this, ...(args.awsProvider ? { provider: args.awsProvider } : {}) };

    // Every ECR question first. Each child below waits for `checked`, so a missing image or a forbidden destination
    // fails the program before any resource is registered.
    const resolved = args.images.map((image) => resolveSourceImage(image, invokeOpts, subject));
    const checked: Promise<ResolvedSourceImage[]> = Promise.all([Promise.all(resolved), checkDestinations(args.images, invokeOpts, subject)]).then(([s]) => s);
    const after = (deps: pulumi.Resource[]): Promise<pulumi.Resource[]> => checked.then(() => deps);

    const labels = { "app.kubernetes.io/name": "soci-index-builder", "app.kubernetes.io/managed-by": "soci-eks" };

    let namespace: k8s.core.v1.Namespace | undefined;
    if (args.createNamespace ?? true) {
      namespace = new k8s.core.v1.Namespace(
        `${name}-ns`,
        {
          metadata: {
            name: namespaceName,
            labels: {
              ...labels,
              // A recording mounts FUSE and runs runc: that one container is privileged (docs/index-builder.md).
              "pod-security.kubernetes.io/enforce": args.images.some((i) => i.prefetch?.record) ? "privileged" : "restricted",
              "pod-security.kubernetes.io/warn": "restricted",
              "pod-security.kubernetes.io/enforce-version": "latest",
            },
          },
        },
        { ...k8sOpts, dependsOn: after([]) },
      );
    }
    const inNamespace = namespace ? [namespace] : [];

    const configMapName = `soci-index-builder-${scriptSha256.slice(0, 10)}`;
    this.script = new k8s.core.v1.ConfigMap(
      `${name}-script`,
      { metadata: { name: configMapName, namespace: namespaceName, labels }, immutable: true, data: { [BUILD_SCRIPT_KEY]: script } },
      { ...k8sOpts, dependsOn: after(inNamespace) },
    );

    this.identity = createBuilderIdentity({
      name,
      clusterName: args.clusterName,
      namespace: namespaceName,
      namespaceResource: namespace,
      serviceAccountName,
      podIdentityAgent: args.podIdentityAgent,
      sources: checked,
      partition: args.partition ?? "aws",
      labels,
      awsOpts,
      k8sOpts,
      after,
    });

    this.prefetchLists = [];
    this.jobs = args.images.map((image, i) => {
      const source = pulumi.output(resolved[i]);
      const prefetch = image.prefetch ? JSON.stringify(image.prefetch) : undefined;
      const hash = source.apply((s) =>
        buildHash({ sourceDigest: s.digest, destinationRef: s.destinationRef, sociVersion, minLayerSizeBytes, spanSizeBytes, scriptSha256, builderImage: args.builderImage, prefetch }),
      );
      const jobName = hash.apply((h) => jobNameFor(image.repository, h));

      // A user's list goes to an immutable ConfigMap named by its content; a recording leaves its reads in /work.
      let listConfigMap: k8s.core.v1.ConfigMap | undefined;
      if (image.prefetch?.files && image.prefetch.files.length > 0) {
        const list = readsListJson(image.prefetch.files);
        listConfigMap = new k8s.core.v1.ConfigMap(
          `${name}-prefetch-${i}`,
          { metadata: { name: `soci-index-prefetch-${sha256(list).slice(0, 10)}`, namespace: namespaceName, labels }, immutable: true, data: { [PREFETCH_LIST_KEY]: list } },
          { ...k8sOpts, dependsOn: after(inNamespace) },
        );
        this.prefetchLists.push(listConfigMap);
      }
      const reads = [...(image.prefetch?.record ? [RECORD_READS] : []), ...(listConfigMap ? [`${PREFETCH_LIST_DIR}/${PREFETCH_LIST_KEY}`] : [])];
      const envOf = (step: "all" | "fetch" | "build", prefetchReads: string[]) =>
        source.apply((s) => buildEnv({ sourceRef: s.sourceRef, destinationRef: s.destinationRef, sociVersion, minLayerSizeBytes, spanSizeBytes, step, prefetchReads }));
      const record = image.prefetch?.record;
      const env = envOf(record ? "build" : "all", reads);
      return new k8s.batch.v1.Job(
        `${name}-${dnsSlug(image.repository, 40)}-${dnsSlug(`${destinationRepositoryOf(image) === image.repository ? "" : `${destinationRepositoryOf(image)}-`}${destinationTagFor(image)}`, 40)}`,
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
            // One retry covers a node that goes away mid-build; a real failure (zstd-only image, missing permission)
            // fails the same way twice. No ttlSecondsAfterFinished: a Job that disappeared would look deleted to
            // `pulumi refresh` and be built again.
            backoffLimit: 1,
            activeDeadlineSeconds: timeoutMinutes * 60,
            template: {
              metadata: { labels: { ...labels, "soci-eks/build-hash": hash } },
              spec: buildPodSpec({
                builderImage: args.builderImage,
                serviceAccountName,
                configMapName,
                env,
                nodeSelector: args.nodeSelector ?? INDEX_BUILDER_DEFAULTS.nodeSelector,
                tolerations: args.tolerations,
                prefetchListConfigMap: listConfigMap?.metadata.name,
                record: record ? { fetchEnv: envOf("fetch", []), args: recordArgs(record), image: source.sourceRef } : undefined,
              }),
            },
          },
        },
        {
          ...k8sOpts,
          dependsOn: after([this.script, ...inNamespace, ...this.identity.ready, ...(listConfigMap ? [listConfigMap] : [])]),
          customTimeouts: { create: `${timeoutMinutes + 5}m`, update: `${timeoutMinutes + 5}m` },
        },
      );
    });

    this.results = pulumi.all(this.jobs.map((job, i) => pulumi.all([pulumi.output(resolved[i]), job.metadata.name]))).apply((pairs) =>
      pairs.map(([s, jobName], i) => ({
        repository: s.repository,
        sourceRef: s.sourceRef,
        sourceDigest: s.digest,
        destinationRef: s.destinationRef,
        jobName,
        namespace: namespaceName,
        prefetch: prefetchMode(args.images[i].prefetch),
      })),
    );

    this.registerOutputs({ results: this.results });
  }
}
