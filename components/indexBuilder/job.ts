/**
 * The conversion Job: its name (a hash of every build input), its script (the shipped .sh file) and its pod spec,
 * as pure functions. The pod meets the `restricted` Pod Security Standard: non-root, no capabilities, no privilege
 * escalation, read-only root filesystem, RuntimeDefault seccomp, no host namespaces and no host paths.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { createHash } from "crypto";
import { readFileSync } from "fs";
import * as path from "path";
import { INDEX_BUILDER_DEFAULTS } from "./args";

/** Where the script lives in the repository and in the Job. */
export const BUILD_SCRIPT_RELATIVE_PATH = "components/scripts/build-soci-index.sh";
export const BUILD_SCRIPT_KEY = "build-soci-index.sh";
export const SCRIPT_MOUNT_DIR = "/opt/soci-eks";
export const WORK_DIR = "/work";

function packageRoot(): string {
  const parts = __dirname.split(path.sep);
  const distIndex = parts.lastIndexOf("dist");
  return distIndex >= 0 ? parts.slice(0, distIndex).join(path.sep) : path.resolve(__dirname, "..", "..");
}

let scriptCache: string | undefined;
/** The Job's script, read from the shipped `.sh` file. */
export function buildScript(): string {
  scriptCache ??= readFileSync(path.join(packageRoot(), BUILD_SCRIPT_RELATIVE_PATH), "utf8");
  return scriptCache;
}

export function sha256(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

/** Inputs that decide whether a conversion must run again. */
export interface BuildHashInputs {
  sourceDigest: string;
  destinationRef: string;
  sociVersion: string;
  minLayerSizeBytes: number;
  spanSizeBytes: number;
  scriptSha256: string;
  /** The builder image (pinned by digest): new tools are a new build. */
  builderImage: string;
  /** The image's prefetch options, canonical JSON ("" without). */
  prefetch?: string;
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
    inputs.builderImage,
    ...(inputs.prefetch ? [inputs.prefetch] : []),
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

/** The per-image values of one build. */
export interface BuildEnvInputs {
  sourceRef: string;
  destinationRef: string;
  sociVersion: string;
  minLayerSizeBytes: number;
  spanSizeBytes: number;
  /** Which part of the script this container runs (see build-soci-index.sh); default `all`. */
  step?: "all" | "fetch" | "build";
  /** Reads files for `soci-eks-prefetch apply`, in the container. */
  prefetchReads?: string[];
}

/** The script's environment (see the header of build-soci-index.sh). */
export function buildEnv(b: BuildEnvInputs): { name: string; value: string }[] {
  return [
    { name: "SRC_REF", value: b.sourceRef },
    { name: "DST_REF", value: b.destinationRef },
    { name: "SOCI_VERSION", value: b.sociVersion },
    { name: "MIN_LAYER_SIZE", value: String(b.minLayerSizeBytes) },
    { name: "SPAN_SIZE", value: String(b.spanSizeBytes) },
    { name: "WORK_DIR", value: WORK_DIR },
    // The root filesystem is read-only: everything the tools write goes to the emptyDir.
    { name: "HOME", value: WORK_DIR },
    { name: "TMPDIR", value: `${WORK_DIR}/tmp` },
    { name: "CREDENTIAL_HELPER", value: "ecr-login" },
    ...(b.step && b.step !== "all" ? [{ name: "STEP", value: b.step }] : []),
    ...(b.prefetchReads && b.prefetchReads.length > 0 ? [{ name: "PREFETCH_READS", value: b.prefetchReads.join(":") }] : []),
  ];
}

/** Where a user's prefetch list is mounted, and where the recording leaves its reads. */
export const PREFETCH_LIST_DIR = "/opt/soci-eks-prefetch";
export const PREFETCH_LIST_KEY = "list.json";
export const RECORD_READS = `${WORK_DIR}/reads-record.json`;

/**
 * The recording container: runs `soci-eks-prefetch record` over the layout the fetch step copied. It needs root,
 * `/dev/fuse` and the right to mount and create namespaces (FUSE passthrough, runc): a privileged container. The
 * image it records runs inside runc with its own namespaces, a network namespace with only loopback, at most Docker's
 * default capabilities less four, no_new_privs and pids/memory limits, for `seconds`; it never sees the pod's
 * credentials (docs/index-builder.md, "The recording sandbox").
 */
export const RECORD_CONTAINER_SECURITY: k8s.types.input.core.v1.SecurityContext = {
  privileged: true,
  runAsUser: 0,
  runAsNonRoot: false,
  allowPrivilegeEscalation: true,
};

/** The container security context every builder container gets (Pod Security Standard `restricted`). */
export const RESTRICTED_CONTAINER: k8s.types.input.core.v1.SecurityContext = {
  allowPrivilegeEscalation: false,
  privileged: false,
  readOnlyRootFilesystem: true,
  runAsNonRoot: true,
  capabilities: { drop: ["ALL"] },
  seccompProfile: { type: "RuntimeDefault" },
};

export interface PodSpecInputs {
  builderImage: string;
  serviceAccountName: string;
  configMapName: string;
  env: pulumi.Input<pulumi.Input<k8s.types.input.core.v1.EnvVar>[]>;
  nodeSelector: Record<string, string>;
  tolerations?: k8s.types.input.core.v1.Toleration[];
  /** The ConfigMap holding the user's prefetch list, when there is one. */
  prefetchListConfigMap?: pulumi.Input<string>;
  /**
   * With a recording: the fetch step's env, the `soci-eks-prefetch record` arguments, and the source reference its
   * messages name.
   */
  record?: { fetchEnv: pulumi.Input<pulumi.Input<k8s.types.input.core.v1.EnvVar>[]>; args: string[]; image: pulumi.Input<string> };
}

/**
 * The build pod. Without a recording: one restricted container running the mounted script. With one: the script's
 * fetch step (restricted), the recording (privileged, see RECORD_CONTAINER_SECURITY), then the script's build step
 * (restricted), sharing the `/work` emptyDir.
 */
export function buildPodSpec(p: PodSpecInputs): k8s.types.input.core.v1.PodSpec {
  const uid = INDEX_BUILDER_DEFAULTS.runAsUser;
  const script = ["/bin/bash", `${SCRIPT_MOUNT_DIR}/${BUILD_SCRIPT_KEY}`];
  const mounts = [
    { name: "script", mountPath: SCRIPT_MOUNT_DIR, readOnly: true },
    { name: "work", mountPath: WORK_DIR },
  ];
  const listMount = p.prefetchListConfigMap ? [{ name: "prefetch-list", mountPath: PREFETCH_LIST_DIR, readOnly: true }] : [];
  return {
    restartPolicy: "Never",
    serviceAccountName: p.serviceAccountName,
    // EKS Pod Identity mounts its own token; the Kubernetes API token is not needed.
    automountServiceAccountToken: false,
    enableServiceLinks: false,
    nodeSelector: p.nodeSelector,
    ...(p.tolerations ? { tolerations: p.tolerations } : {}),
    securityContext: { runAsNonRoot: true, runAsUser: uid, runAsGroup: uid, fsGroup: uid, seccompProfile: { type: "RuntimeDefault" } },
    ...(p.record
      ? {
          initContainers: [
            { name: "fetch", image: p.builderImage, command: script, env: p.record.fetchEnv, securityContext: RESTRICTED_CONTAINER, volumeMounts: mounts },
            {
              name: "record",
              image: p.builderImage,
              command: ["soci-eks-prefetch", "record", "--layout", `${WORK_DIR}/src`, "--out", RECORD_READS, "--workdir", WORK_DIR, "--image", p.record.image, ...p.record.args],
              securityContext: RECORD_CONTAINER_SECURITY,
              // A refused recording (exit code, image, fix) is the last line of its log: the pod's status shows it.
              terminationMessagePolicy: "FallbackToLogsOnError",
              volumeMounts: [{ name: "work", mountPath: WORK_DIR }],
            },
          ],
        }
      : {}),
    containers: [
      {
        name: "build",
        image: p.builderImage,
        command: script,
        env: p.env,
        securityContext: RESTRICTED_CONTAINER,
        // The script writes its summary there; on a crash the log tail is shown instead.
        terminationMessagePolicy: "FallbackToLogsOnError",
        volumeMounts: [...mounts, ...listMount],
      },
    ],
    volumes: [
      { name: "script", configMap: { name: p.configMapName, defaultMode: 0o555 } },
      ...(p.prefetchListConfigMap ? [{ name: "prefetch-list", configMap: { name: p.prefetchListConfigMap, defaultMode: 0o444 } }] : []),
      // The source image and the converted one, as OCI layouts: about twice the image's compressed size.
      { name: "work", emptyDir: {} },
    ],
  };
}
