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
  ];
}

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
}

/** The build pod: one restricted container running the mounted script with the builder's service account. */
export function buildPodSpec(p: PodSpecInputs): k8s.types.input.core.v1.PodSpec {
  const uid = INDEX_BUILDER_DEFAULTS.runAsUser;
  return {
    restartPolicy: "Never",
    serviceAccountName: p.serviceAccountName,
    // EKS Pod Identity mounts its own token; the Kubernetes API token is not needed.
    automountServiceAccountToken: false,
    enableServiceLinks: false,
    nodeSelector: p.nodeSelector,
    ...(p.tolerations ? { tolerations: p.tolerations } : {}),
    securityContext: { runAsNonRoot: true, runAsUser: uid, runAsGroup: uid, fsGroup: uid, seccompProfile: { type: "RuntimeDefault" } },
    containers: [
      {
        name: "build",
        image: p.builderImage,
        command: ["/bin/bash", `${SCRIPT_MOUNT_DIR}/${BUILD_SCRIPT_KEY}`],
        env: p.env,
        securityContext: RESTRICTED_CONTAINER,
        // The script writes its summary there; on a crash the log tail is shown instead.
        terminationMessagePolicy: "FallbackToLogsOnError",
        volumeMounts: [
          { name: "script", mountPath: SCRIPT_MOUNT_DIR, readOnly: true },
          { name: "work", mountPath: WORK_DIR },
        ],
      },
    ],
    volumes: [
      { name: "script", configMap: { name: p.configMapName, defaultMode: 0o555 } },
      // The source image and the converted one, as OCI layouts: about twice the image's compressed size.
      { name: "work", emptyDir: {} },
    ],
  };
}
