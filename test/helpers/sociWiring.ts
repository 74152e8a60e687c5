import * as path from "path";
import { parse as parseToml } from "smol-toml";
import { INSTALLER_PATH, INSTALLER_SCRIPT, nodeAsset, runInstallerPart } from "../../userdata/al2023";
import { NODE_FILES_BUNDLE, SOCI_EKS_WIRING } from "../../userdata/paths";
import { parse as parseYaml } from "yaml";
import { cloudConfigFiles, containerdToml, nodeConfigs, parseMime, writeFilesEntries } from "./userdata";

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
  // Fail closed by construction: the user data declares SOCI's snapshotter but never points CRI or kubelet at it.
  if (images?.snapshotter !== "overlayfs") problems.push("the user data's CRI snapshotter is not overlayfs (it must not point at SOCI before SOCI serves)");
  if (toml.plugins?.["io.containerd.grpc.v1.cri"]) problems.push("containerd 1.x CRI keys on containerd 2.x");
  const proxy = toml.proxy_plugins?.soci;
  if (proxy?.type !== "snapshot" || proxy?.address !== SOCI_SOCKET) problems.push("soci proxy plugin missing or wrong");
  if (proxy?.exports?.root !== "/var/lib/soci-snapshotter-grpc") problems.push("proxy plugin exports.root missing");
  if (configs.some((c) => c?.spec?.kubelet?.config?.imageServiceEndpoint !== undefined)) {
    problems.push("the user data sets kubelet's imageServiceEndpoint (it must not point at SOCI before SOCI serves)");
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
    "/usr/local/libexec/soci-eks/containerd-soci.conf",
    "/etc/systemd/system/soci-eks-install.service",
    "/etc/soci-eks/install.env",
    SOCI_EKS_WIRING,
  ]) {
    if (!byPath.has(unit)) problems.push(`${unit} is not written`);
  }
  // The drop-in the installer hands to nodeadm-run once SOCI serves.
  const wiring = byPath.get(SOCI_EKS_WIRING);
  const drop = wiring ? (parseYaml(wiring.content) as Record<string, any>) : undefined;
  const dropToml = drop?.spec?.containerd?.config ? containerdToml(drop) : {};
  const dropImages = dropToml.plugins?.["io.containerd.cri.v1.images"];
  if (dropImages?.snapshotter !== "soci") problems.push("the wiring drop-in's CRI snapshotter is not soci");
  if (dropImages?.disable_snapshot_annotations !== false) problems.push("disable_snapshot_annotations is not false");
  if (drop?.spec?.kubelet?.config?.imageServiceEndpoint !== `unix://${SOCI_SOCKET}`) {
    problems.push("kubelet imageServiceEndpoint does not point at SOCI");
  }
  const socket = byPath.get("/etc/systemd/system/soci-snapshotter.socket")?.content ?? "";
  if (!socket.includes(`ListenStream=${SOCI_SOCKET}`)) problems.push("socket unit does not listen on SOCI's socket");
  const installUnit = byPath.get("/etc/systemd/system/soci-eks-install.service")?.content ?? "";
  if (!/^Before=nodeadm-run\.service kubelet\.service$/m.test(installUnit) || !/^ExecStart=\/usr\/local\/libexec\/soci-eks\/install-soci\.sh$/m.test(installUnit)) {
    problems.push("the installer does not run at every boot before nodeadm-run");
  }

  const script = parts.find((p) => p.contentType === "text/x-shellscript")?.content;
  if (script === undefined || !/^exec "\$\{SOCI_EKS_ROOT:-\}\/usr\/local\/libexec\/soci-eks\/install-soci\.sh" (fallback|fail)$/m.test(script)) {
    problems.push(`shell part does not run ${INSTALLER_PATH} with the policy`);
  } else if (script !== runInstallerPart(/ fail$/m.test(script) ? "fail" : "fallback")) {
    problems.push("shell part differs from userdata/scripts/run-installer.sh");
  }
  const order = (await writeFilesEntries(text)).map((f) => f.path);
  if (JSON.stringify(order) !== JSON.stringify([INSTALLER_PATH, NODE_FILES_BUNDLE])) {
    problems.push(`write_files order ${order.join(",")}: the installer must come first, outside the archive`);
  }
  if (byPath.get(INSTALLER_PATH)?.content !== nodeAsset(INSTALLER_SCRIPT)) problems.push(`${INSTALLER_PATH} is not the installer`);
  return problems;
}
