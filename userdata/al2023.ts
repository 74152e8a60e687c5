import { readAsset } from "./assets";
import { compactShellScript, stripFullLineComments } from "./compact";
import { renderCloudConfig, renderEnvFile, WriteFile } from "./cloudConfig";
import { renderContainerdBaseConfig, renderContainerdSociWiring } from "./containerdConfig";
import { assembleMime } from "./mime";
import { clusterSpec, localStorageSpec, nodeLabelsFlag, NodeConfigSpec, registerWithTaints, renderNodeConfig } from "./nodeConfig";
import {
  CONTAINERD_ROOT,
  INSTANCE_STORE_ARRAY_MOUNT,
  KUBELET_ROOT,
  NODE_FILES_BUNDLE,
  POD_LOGS_DIR,
  SOCI_CONFIG,
  SOCI_EKS_ENV,
  SOCI_EKS_LIBEXEC,
  SOCI_EKS_LOCAL_STORAGE_ENV,
  SOCI_EKS_WIRING,
  SOCI_IMAGE_SERVICE_ENDPOINT,
  SOCI_ROOT,
  SYSTEMD_DIR,
} from "./paths";
import { RELEASE_ARCHS, releaseArch, releaseAssetName, releaseDigest } from "./releases";
import { renderSociDaemonConfig } from "./sociConfig";
import { bundleGzip } from "./bundle";
import { AT_BOOT, InstanceFacts, LocalStorageOptions, MimePart, NodeBootstrapOptions, RenderedUserData, SociFailurePolicy, UserDataRenderer } from "./types";

/** Content type nodeadm reads; cloud-init ignores it. */
export const NODECONFIG_CONTENT_TYPE = "application/node.eks.aws";
/** The installer script, shipped as a real file and written to the node by the cloud-config part. */
export const INSTALLER_SCRIPT = "scripts/al2023-install-soci.sh";
/** Steps 1 to 5 of the installer, in the node's files (the installer sources it once it has unpacked them). */
export const SETUP_SCRIPT = "scripts/al2023-setup-soci.sh";
/** SOCI's parallelism from nproc, in the node's files of instance-agnostic documents only. */
export const SIZE_SCRIPT = "scripts/al2023-size-soci.sh";
/** Where the cloud-config part writes the installer on the node. */
export const INSTALLER_PATH = `${SOCI_EKS_LIBEXEC}/install-soci.sh`;
/** The user-data shell part: a few lines that run the installer (cloud-final runs it after write_files). */
export const RUN_INSTALLER_SCRIPT = "scripts/run-installer.sh";
export const VERIFY_LOCAL_STORAGE_SCRIPT = "scripts/verify-local-storage.sh";
export const STORE_GC_SCRIPT = "scripts/soci-store-gc.sh";

/**
 * Lazy mode: SOCI's own content store never deletes (upstream #1069); this timer removes what no image needs
 * (the installer enables it when its unit is there).
 */
export function storeGcFiles(): WriteFile[] {
  return [
    { path: `${SOCI_EKS_LIBEXEC}/soci-store-gc.sh`, permissions: "0755", content: nodeAsset(STORE_GC_SCRIPT) },
    { path: `${SYSTEMD_DIR}/soci-eks-store-gc.service`, permissions: "0644", content: nodeAsset("units/soci-eks-store-gc.service") },
    { path: `${SYSTEMD_DIR}/soci-eks-store-gc.timer`, permissions: "0644", content: nodeAsset("units/soci-eks-store-gc.timer") },
  ];
}

/**
 * A script or unit as the node gets it: without its comment lines (see {@link stripFullLineComments}); scripts also
 * without indentation and empty lines ({@link compactShellScript}).
 */
export function nodeAsset(relativePath: string): string {
  const compact = relativePath.endsWith(".sh") ? compactShellScript : stripFullLineComments;
  return compact(readAsset(relativePath), `userdata/${relativePath}`);
}

/**
 * The NodeConfig for the node: cluster, registration and storage, and (unless `off`) SOCI's proxy snapshotter
 * declared with CRI on overlayfs. It never points containerd or kubelet at SOCI: that is
 * {@link sociWiringNodeConfig}, which the installer hands to nodeadm-run only once SOCI serves.
 */
export function al2023NodeConfig(options: NodeBootstrapOptions): NodeConfigSpec {
  const spec: NodeConfigSpec = {};
  if (options.cluster) spec.cluster = clusterSpec(options.cluster);
  const kubeletConfig: Record<string, unknown> = {};
  const kubeletFlags: string[] = [];
  if (options.mode !== "off") spec.containerd = { config: renderContainerdBaseConfig() };
  const labels = options.labels ? nodeLabelsFlag(options.labels) : undefined;
  if (labels) kubeletFlags.push(labels);
  if (options.taints && options.taints.length > 0) kubeletConfig.registerWithTaints = registerWithTaints(options.taints);
  if (Object.keys(kubeletConfig).length > 0 || kubeletFlags.length > 0) {
    spec.kubelet = {};
    if (Object.keys(kubeletConfig).length > 0) spec.kubelet.config = kubeletConfig;
    if (kubeletFlags.length > 0) spec.kubelet.flags = kubeletFlags;
  }
  const localStorage = options.localStorage?.raid0 ? localStorageSpec(options.localStorage) : undefined;
  if (localStorage) spec.instance = { localStorage };
  return spec;
}

/**
 * The drop-in that points containerd's CRI and kubelet at SOCI, shipped in the node's files and copied by the
 * installer to /run/soci-eks/nodeadm.yaml (the target of /etc/eks/nodeadm.d/90-soci-eks.yaml) once SOCI
 * serves; nodeadm-run merges it last, so it wins over every NodeConfig in the user data.
 */
export function sociWiringNodeConfig(): NodeConfigSpec {
  return {
    containerd: { config: renderContainerdSociWiring() },
    // Kubelet pulls through SOCI's CRI image-service proxy, so SOCI sees the pull credentials.
    kubelet: { config: { imageServiceEndpoint: SOCI_IMAGE_SERVICE_ENDPOINT } },
  };
}

/**
 * The instance SOCI's config.toml is sized for when the node sizes it at boot: the smallest, so that the file is
 * valid and conservative before the installer rewrites the parallelism knobs from nproc.
 */
export const AT_BOOT_BASELINE: Pick<InstanceFacts, "vcpus" | "memoryMiB"> = { vcpus: 1, memoryMiB: 512 };

/**
 * `SOCI_EKS_SOCI_SHA256`: the digest of the one tarball a per-type document installs, or `amd64=<hex>,arm64=<hex>` for
 * a document that picks its release at boot (the installer takes its architecture's). The user's digests, else the
 * shipped ones; throws when an architecture the document runs on has neither (validation refuses that first).
 */
export function installerDigests(options: NodeBootstrapOptions): string {
  const { version, sha256 } = options.release;
  const archs = options.architecture === AT_BOOT ? RELEASE_ARCHS : [releaseArch(options.architecture)];
  const digests = archs.map((arch) => {
    const digest = releaseDigest(version, arch, sha256);
    if (!digest) throw new Error(`no sha256 for ${releaseAssetName(version, arch)}: pass release.sha256.${arch} (soci-eks ships none for ${version})`);
    return [arch, digest] as const;
  });
  return digests.length === 1 ? digests[0][1] : digests.map(([arch, digest]) => `${arch}=${digest}`).join(",");
}

/** The installer's parameters, written to /etc/soci-eks/install.env. */
export function installerEnvironment(options: NodeBootstrapOptions): Record<string, string> {
  return {
    SOCI_EKS_MODE: options.mode,
    SOCI_EKS_SOCI_VERSION: options.release.version,
    // `auto`: the installer picks amd64 or arm64 from uname -m.
    SOCI_EKS_ARCH: options.architecture === AT_BOOT ? "auto" : releaseArch(options.architecture),
    SOCI_EKS_MIRROR_BASE_URL: options.release.mirrorBaseUrl,
    SOCI_EKS_SOCI_SHA256: installerDigests(options),
    SOCI_EKS_EXTRA_ECR_REGISTRIES: (options.extraEcrRegistries ?? []).join(" "),
    // `at-boot`: the installer rewrites config.toml's parallelism from nproc (parallelTuning's rules).
    ...(options.instance === AT_BOOT ? { SOCI_EKS_TUNING: AT_BOOT } : {}),
    SOCI_EKS_ON_FAILURE: options.onSociFailure ?? "fallback",
  };
}

/**
 * The directories nodeadm's setup-local-disks bind-mounts onto the instance-store array, as
 * this node group configures it (SOCI's stays on the root volume with keepSociOnRootVolume).
 */
export function arrayDirectories(storage: LocalStorageOptions): string[] {
  const dirs = [CONTAINERD_ROOT, KUBELET_ROOT, POD_LOGS_DIR];
  if (!storage.keepSociOnRootVolume) dirs.push(SOCI_ROOT);
  return dirs;
}

/**
 * ssd node groups: the check that keeps kubelet off the root volume when the array is missing. With
 * `noInstanceStore: "root-volume"` (one document for many instance types), an instance that has no
 * instance-store NVMe disk at all runs on its root volume with a warning instead.
 */
export function localStorageWriteFiles(storage: LocalStorageOptions, noInstanceStore: "fail" | "root-volume" = "fail"): WriteFile[] {
  const env = renderEnvFile({
    SOCI_EKS_ARRAY_MOUNT: INSTANCE_STORE_ARRAY_MOUNT,
    SOCI_EKS_ARRAY_DIRS: arrayDirectories(storage).join(" "),
    ...(noInstanceStore === "root-volume" ? { SOCI_EKS_NO_INSTANCE_STORE: noInstanceStore } : {}),
  });
  return [
    { path: SOCI_EKS_LOCAL_STORAGE_ENV, permissions: "0644", content: env },
    { path: `${SOCI_EKS_LIBEXEC}/verify-local-storage.sh`, permissions: "0755", content: nodeAsset(VERIFY_LOCAL_STORAGE_SCRIPT) },
    {
      path: `${SYSTEMD_DIR}/kubelet.service.d/10-soci-eks-local-storage.conf`,
      permissions: "0644",
      content: nodeAsset("units/kubelet-local-storage.conf"),
    },
  ];
}

/**
 * The node's files that travel in the archive: SOCI's config, the SOCI wiring drop-in, scripts and units
 * (lazy mode adds the store cleanup; ssd node groups the local-storage check). `off` gets only the ssd check,
 * if any. The installer and its parameters travel beside the archive ({@link al2023WriteFiles}).
 */
export function al2023NodeFiles(options: NodeBootstrapOptions): WriteFile[] {
  const noInstanceStore = options.instance === AT_BOOT ? "root-volume" : "fail";
  const storage = options.localStorage?.raid0 ? localStorageWriteFiles(options.localStorage, noInstanceStore) : [];
  if (options.mode === "off") return storage;
  const sizing = options.instance === AT_BOOT ? AT_BOOT_BASELINE : options.instance;
  return [
    { path: SOCI_EKS_ENV, permissions: "0644", content: renderEnvFile(installerEnvironment(options)) },
    {
      path: SOCI_CONFIG,
      permissions: "0644",
      content: renderSociDaemonConfig(options.mode, options.release.version, sizing),
    },
    { path: `${SOCI_EKS_LIBEXEC}/setup-soci.sh`, permissions: "0644", content: nodeAsset(SETUP_SCRIPT) },
    ...(options.instance === AT_BOOT ? [{ path: `${SOCI_EKS_LIBEXEC}/size-soci.sh`, permissions: "0644", content: nodeAsset(SIZE_SCRIPT) }] : []),
    { path: SOCI_EKS_WIRING, permissions: "0644", content: renderNodeConfig(sociWiringNodeConfig()) },
    { path: `${SOCI_EKS_LIBEXEC}/containerd-soci.conf`, permissions: "0644", content: nodeAsset("units/containerd-soci.conf") },
    { path: `${SYSTEMD_DIR}/soci-snapshotter.service`, permissions: "0644", content: nodeAsset("units/soci-snapshotter.service") },
    { path: `${SYSTEMD_DIR}/soci-snapshotter.socket`, permissions: "0644", content: nodeAsset("units/soci-snapshotter.socket") },
    { path: `${SYSTEMD_DIR}/soci-eks-install.service`, permissions: "0644", content: nodeAsset("units/soci-eks-install.service") },
    ...(options.mode === "lazy" ? storeGcFiles() : []),
    ...storage,
  ];
}

/**
 * What the cloud-config part writes, in order. With SOCI: the installer, then the node's files as one gzip
 * bundle ({@link NODE_FILES_BUNDLE}), which compresses across files and so keeps the document well inside EC2's
 * 16 KiB with a merger's part. The installer comes before the archive and outside it, so that it runs and applies
 * onSociFailure (which the shell part passes it) when the archive is corrupt, cut short or could not be written
 * (cloud-init writes the entries in order; gzip's CRC makes a damaged installer entry fail to write rather than
 * run). `off` has no installer: its few files are written one by one.
 */
export function al2023WriteFiles(options: NodeBootstrapOptions): WriteFile[] {
  const files = al2023NodeFiles(options);
  if (options.mode === "off") return files;
  return [
    { path: INSTALLER_PATH, permissions: "0755", content: nodeAsset(INSTALLER_SCRIPT) },
    { path: NODE_FILES_BUNDLE, permissions: "0600", content: bundleGzip(files) },
  ];
}

/**
 * The MIME parts, in the order the node consumes them: NodeConfig (nodeadm), the node's files (cloud-config: the
 * installer and its parameters, and one base64 tar.gz inside the YAML), and a few lines of shell that run the
 * installer (cloud-final).
 * Every part is plain text, so it survives Karpenter's and EKS's merge of the document.
 */
export function al2023Parts(options: NodeBootstrapOptions): MimePart[] {
  const parts: MimePart[] = [{ contentType: NODECONFIG_CONTENT_TYPE, content: renderNodeConfig(al2023NodeConfig(options)) }];
  const files = al2023WriteFiles(options);
  if (files.length > 0) parts.push({ contentType: "text/cloud-config", content: renderCloudConfig(files) });
  if (options.mode === "off") return parts;
  parts.push({ contentType: "text/x-shellscript", content: runInstallerPart(options.onSociFailure ?? "fallback") });
  return parts;
}

/**
 * The user data's shell part: {@link RUN_INSTALLER_SCRIPT} with the installer's argument set to the document's
 * onSociFailure, so that the policy holds even when the node's files (install.env among them) cannot be unpacked.
 */
export function runInstallerPart(policy: SociFailurePolicy): string {
  const script = nodeAsset(RUN_INSTALLER_SCRIPT);
  const last = /install-soci\.sh" fallback\n?$/;
  if (!last.test(script)) throw new Error(`${RUN_INSTALLER_SCRIPT} must end by running the installer with the policy 'fallback'`);
  return script.replace(last, (m) => m.replace(" fallback", ` ${policy}`));
}

/** Amazon Linux 2023 (nodeadm): MIME multipart user data. */
export const al2023Renderer: UserDataRenderer = {
  family: "al2023",
  render(options: NodeBootstrapOptions): RenderedUserData {
    const parts = al2023Parts(options);
    return { family: "al2023", format: "mime-multipart", text: assembleMime(parts), parts };
  },
};
