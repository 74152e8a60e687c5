import * as path from "path";
import { parse as parseToml } from "smol-toml";
import { INSTALLER_PATH, INSTALLER_SCRIPT, nodeAsset, RUN_INSTALLER_SCRIPT } from "../../userdata/al2023";
import { NODE_FILES_BUNDLE } from "../../userdata/paths";
import { cloudConfigFiles, containerdToml, nodeConfigs, parseMime } from "./userdata";

export const REPO_ROOT = path.resolve(__dirname, "..", "..", "..");
export const SOCI_SOCKET = "/run/soci-snapshotter-grpc/soci-snapshotter-grpc.sock";

/**
 * Everything a SOCI node needs from its AL2023 user data, checked on the parsed document.
 * Returns the list of problems (empty when the wiring is complete).
 */
export async function sociWiringProblems(text: string, mode: "lazy" | "parallel"): Promise<string[]> {
  const problems: string[] = [];
  const parts = await parseMime(text);
  const types = parts.map((p) => p.contentType);
  const expectedOrder = ["application/node.eks.aws", "text/cloud-config", "text/x-shellscript"];
  if (JSON.stringify(types) !== JSON.stringify(expectedOrder)) problems.push(`part order ${types.join(",")}`);

  const configs = await nodeConfigs(text);
  const nc = configs[0];
  if (!nc || nc.apiVersion !== "node.eks.aws/v1alpha1" || nc.kind !== "NodeConfig") problems.push("no NodeConfig");
  const toml = nc?.spec?.containerd?.config ? containerdToml(nc) : {};
  if (toml.version !== 3) problems.push("containerd config is not version 3");
  const images = toml.plugins?.["io.containerd.cri.v1.images"];
  if (images?.snapshotter !== "soci") problems.push("CRI images snapshotter is not soci");
  if (images?.disable_snapshot_annotations !== false) problems.push("disable_snapshot_annotations is not false");
  if (toml.plugins?.["io.containerd.grpc.v1.cri"]) problems.push("containerd 1.x CRI keys on containerd 2.x");
  const proxy = toml.proxy_plugins?.soci;
  if (proxy?.type !== "snapshot" || proxy?.address !== SOCI_SOCKET) problems.push("soci proxy plugin missing or wrong");
  if (proxy?.exports?.root !== "/var/lib/soci-snapshotter-grpc") problems.push("proxy plugin exports.root missing");
  if (nc?.spec?.kubelet?.config?.imageServiceEndpoint !== `unix://${SOCI_SOCKET}`) {
    problems.push("kubelet imageServiceEndpoint does not point at SOCI");
  }

  const files = await cloudConfigFiles(text);
  const byPath = new Map(files.map((f) => [f.path, f]));
  const soci = byPath.get("/etc/soci-eks/soci-snapshotter-grpc.toml");
  if (!soci) {
    problems.push("SOCI config.toml is not written");
  } else {
    const cfg = parseToml(soci.content) as Record<string, any>;
    const modes = cfg.pull_modes ?? {};
    if (mode === "lazy" && modes.soci_v2?.enable !== true) problems.push("lazy mode without soci_v2");
    if (mode === "parallel" && modes.parallel_pull_unpack?.enable !== true) problems.push("parallel mode not enabled");
    if (cfg.cri_keychain?.enable_keychain !== true) problems.push("CRI keychain disabled");
  }
  for (const unit of [
    "/etc/systemd/system/soci-snapshotter.service",
    "/etc/systemd/system/soci-snapshotter.socket",
    "/etc/systemd/system/containerd.service.d/10-soci-eks.conf",
    "/etc/systemd/system/soci-eks-pause-import.service",
    "/usr/local/libexec/soci-eks/import-pause.sh",
    "/etc/soci-eks/install.env",
  ]) {
    if (!byPath.has(unit)) problems.push(`${unit} is not written`);
  }
  const socket = byPath.get("/etc/systemd/system/soci-snapshotter.socket")?.content ?? "";
  if (!socket.includes(`ListenStream=${SOCI_SOCKET}`)) problems.push("socket unit does not listen on SOCI's socket");
  const pauseUnit = byPath.get("/etc/systemd/system/soci-eks-pause-import.service")?.content ?? "";
  if (!/^Before=kubelet\.service$/m.test(pauseUnit) || !/^After=containerd\.service$/m.test(pauseUnit)) {
    problems.push("pause import is not ordered between containerd and kubelet");
  }

  const script = parts.find((p) => p.contentType === "text/x-shellscript")?.content;
  if (script !== nodeAsset(RUN_INSTALLER_SCRIPT)) problems.push("shell part differs from userdata/scripts/run-installer.sh");
  if (!script?.includes(`bundle="\${root}${NODE_FILES_BUNDLE}"\n`)) problems.push(`shell part does not unpack ${NODE_FILES_BUNDLE}`);
  if (!script?.includes(`exec "\${root}${INSTALLER_PATH}"\n`)) problems.push(`shell part does not run ${INSTALLER_PATH}`);
  if (byPath.get(INSTALLER_PATH)?.content !== nodeAsset(INSTALLER_SCRIPT)) problems.push(`${INSTALLER_PATH} is not the installer`);
  return problems;
}
