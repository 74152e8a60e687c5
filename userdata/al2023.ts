import { readAsset } from "./assets";
import { renderCloudConfig, renderEnvFile, WriteFile } from "./cloudConfig";
import { renderContainerdSociConfig } from "./containerdConfig";
import { assembleMime } from "./mime";
import { clusterSpec, localStorageSpec, nodeLabelsFlag, NodeConfigSpec, registerWithTaints, renderNodeConfig } from "./nodeConfig";
import {
  CONTAINERD_ROOT,
  INSTANCE_STORE_ARRAY_MOUNT,
  KUBELET_ROOT,
  POD_LOGS_DIR,
  SOCI_CONFIG,
  SOCI_EKS_ENV,
  SOCI_EKS_LIBEXEC,
  SOCI_EKS_LOCAL_STORAGE_ENV,
  SOCI_IMAGE_SERVICE_ENDPOINT,
  SOCI_ROOT,
  SYSTEMD_DIR,
} from "./paths";
import { releaseArch } from "./releases";
import { renderSociDaemonConfig } from "./sociConfig";
import { LocalStorageOptions, MimePart, NodeBootstrapOptions, RenderedUserData, UserDataRenderer } from "./types";

/** Content type nodeadm reads; cloud-init ignores it. */
export const NODECONFIG_CONTENT_TYPE = "application/node.eks.aws";
/** The installer script, shipped as a real file and embedded verbatim. */
export const INSTALLER_SCRIPT = "scripts/al2023-install-soci.sh";
export const PAUSE_IMPORT_SCRIPT = "scripts/import-pause.sh";
export const VERIFY_LOCAL_STORAGE_SCRIPT = "scripts/verify-local-storage.sh";
export const STORE_GC_SCRIPT = "scripts/soci-store-gc.sh";

/** Lazy mode: SOCI's own content store never deletes (upstream #1069); our timer removes what no image needs. */
export function storeGcWriteFiles(): WriteFile[] {
  return [
    { path: `${SOCI_EKS_LIBEXEC}/soci-store-gc.sh`, permissions: "0755", content: readAsset(STORE_GC_SCRIPT) },
    { path: `${SYSTEMD_DIR}/soci-eks-store-gc.service`, permissions: "0644", content: readAsset("units/soci-eks-store-gc.service") },
    { path: `${SYSTEMD_DIR}/soci-eks-store-gc.timer`, permissions: "0644", content: readAsset("units/soci-eks-store-gc.timer") },
  ];
}

/** The NodeConfig for the node: SOCI wiring (unless `off`), cluster, registration and storage. */
export function al2023NodeConfig(options: NodeBootstrapOptions): NodeConfigSpec {
  const spec: NodeConfigSpec = {};
  if (options.cluster) spec.cluster = clusterSpec(options.cluster);
  const kubeletConfig: Record<string, unknown> = {};
  const kubeletFlags: string[] = [];
  if (options.mode !== "off") {
    spec.containerd = { config: renderContainerdSociConfig() };
    // Kubelet pulls through SOCI's CRI image-service proxy, so SOCI sees the pull credentials.
    kubeletConfig.imageServiceEndpoint = SOCI_IMAGE_SERVICE_ENDPOINT;
  }
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

/** The installer's parameters, written to /etc/soci-eks/install.env. */
export function installerEnvironment(options: NodeBootstrapOptions): Record<string, string> {
  return {
    SOCI_EKS_MODE: options.mode,
    SOCI_EKS_SOCI_VERSION: options.release.version,
    SOCI_EKS_ARCH: releaseArch(options.architecture),
    SOCI_EKS_MIRROR_BASE_URL: options.release.mirrorBaseUrl,
    SOCI_EKS_SOCI_SHA256: options.release.sha256 ?? "",
    SOCI_EKS_EXTRA_ECR_REGISTRIES: (options.extraEcrRegistries ?? []).join(" "),
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

/** ssd node groups: the check that keeps kubelet off the root volume when the array is missing. */
export function localStorageWriteFiles(storage: LocalStorageOptions): WriteFile[] {
  const env = renderEnvFile({
    SOCI_EKS_ARRAY_MOUNT: INSTANCE_STORE_ARRAY_MOUNT,
    SOCI_EKS_ARRAY_DIRS: arrayDirectories(storage).join(" "),
  });
  return [
    { path: SOCI_EKS_LOCAL_STORAGE_ENV, permissions: "0644", content: env },
    { path: `${SOCI_EKS_LIBEXEC}/verify-local-storage.sh`, permissions: "0755", content: readAsset(VERIFY_LOCAL_STORAGE_SCRIPT) },
    {
      path: `${SYSTEMD_DIR}/kubelet.service.d/10-soci-eks-local-storage.conf`,
      permissions: "0644",
      content: readAsset("units/kubelet-local-storage.conf"),
    },
  ];
}

/** Files the cloud-config part writes before the installer runs. */
export function al2023WriteFiles(options: NodeBootstrapOptions): WriteFile[] {
  const storage = options.localStorage?.raid0 ? localStorageWriteFiles(options.localStorage) : [];
  if (options.mode === "off") return storage;
  return [
    { path: SOCI_EKS_ENV, permissions: "0644", content: renderEnvFile(installerEnvironment(options)) },
    {
      path: SOCI_CONFIG,
      permissions: "0644",
      content: renderSociDaemonConfig(options.mode, options.release.version, options.instance),
    },
    { path: `${SOCI_EKS_LIBEXEC}/import-pause.sh`, permissions: "0755", content: readAsset(PAUSE_IMPORT_SCRIPT) },
    { path: `${SYSTEMD_DIR}/soci-snapshotter.service`, permissions: "0644", content: readAsset("units/soci-snapshotter.service") },
    { path: `${SYSTEMD_DIR}/soci-snapshotter.socket`, permissions: "0644", content: readAsset("units/soci-snapshotter.socket") },
    {
      path: `${SYSTEMD_DIR}/containerd.service.d/10-soci-eks.conf`,
      permissions: "0644",
      content: readAsset("units/containerd-soci.conf"),
    },
    {
      path: `${SYSTEMD_DIR}/soci-eks-pause-import.service`,
      permissions: "0644",
      content: readAsset("units/soci-eks-pause-import.service"),
    },
    ...(options.mode === "lazy" ? storeGcWriteFiles() : []),
    ...storage,
  ];
}

/** The MIME parts, in the order the node consumes them: NodeConfig, files, installer. */
export function al2023Parts(options: NodeBootstrapOptions): MimePart[] {
  const parts: MimePart[] = [{ contentType: NODECONFIG_CONTENT_TYPE, content: renderNodeConfig(al2023NodeConfig(options)) }];
  const files = al2023WriteFiles(options);
  if (files.length > 0) parts.push({ contentType: "text/cloud-config", content: renderCloudConfig(files), gzip: true });
  if (options.mode === "off") return parts;
  parts.push({ contentType: "text/x-shellscript", content: readAsset(INSTALLER_SCRIPT), gzip: true });
  return parts;
}

/** Amazon Linux 2023 (nodeadm): MIME multipart user data. */
export const al2023Renderer: UserDataRenderer = {
  family: "al2023",
  render(options: NodeBootstrapOptions): RenderedUserData {
    const parts = al2023Parts(options);
    return { family: "al2023", format: "mime-multipart", text: assembleMime(parts), parts };
  },
};
