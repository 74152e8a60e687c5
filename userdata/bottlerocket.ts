import { stringify } from "smol-toml";
import { parallelTuning } from "./sociConfig";
import { AT_BOOT, NodeBootstrapOptions, RenderedUserData, SociMode, UserDataRenderer } from "./types";

/**
 * Bottlerocket (1.44.0+) has SOCI built in: TOML settings choose the snapshotter and tune
 * parallel pull. It has no setting for lazy loading (bottlerocket-os/bottlerocket#4785).
 * Settings reference: shared/research/eks-bootstrap.md §5 and soci-details.md §8.
 */

/** Why `lazy` cannot run on Bottlerocket, as a reason clause (validation puts it after the setting's name and value). */
export const BOTTLEROCKET_LAZY_REASON = "is not available on Bottlerocket (it has SOCI parallel pull only)";

/** Why a mode cannot run on Bottlerocket, or undefined when it can. Validation calls this before any resource exists. */
export function bottlerocketModeError(mode: SociMode): string | undefined {
  if (mode !== "lazy") return undefined;
  return `sociMode: 'lazy' ${BOTTLEROCKET_LAZY_REASON}. Set sociMode to parallel or off, or use os al2023.`;
}

/** The cluster DNS address EKS uses: the service CIDR's network address + 10 (IPv4). */
export function clusterDnsIp(serviceCidr: string): string {
  const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)\/(\d+)$/.exec(serviceCidr);
  if (!m) throw new Error(`service CIDR '${serviceCidr}' is not an IPv4 CIDR like 10.100.0.0/16`);
  const ip = m.slice(1, 5).reduce((acc, octet) => acc * 256 + Number(octet), 0);
  const bits = Number(m[5]);
  const network = bits === 0 ? 0 : Math.floor(ip / 2 ** (32 - bits)) * 2 ** (32 - bits);
  const dns = network + 10;
  return [24, 16, 8, 0].map((shift) => Math.floor(dns / 2 ** shift) % 256).join(".");
}

/** The Bottlerocket `settings` table for a node. */
export function bottlerocketSettings(options: NodeBootstrapOptions): Record<string, unknown> {
  const error = bottlerocketModeError(options.mode);
  if (error) throw new Error(error);
  const settings: Record<string, unknown> = {};
  const kubernetes: Record<string, unknown> = {};
  if (options.cluster) {
    kubernetes["api-server"] = options.cluster.apiServerEndpoint;
    kubernetes["cluster-certificate"] = options.cluster.certificateAuthority;
    kubernetes["cluster-name"] = options.cluster.name;
    kubernetes["cluster-dns-ip"] = clusterDnsIp(options.cluster.serviceCidr);
  }
  if (options.labels && Object.keys(options.labels).length > 0) {
    kubernetes["node-labels"] = Object.fromEntries(Object.keys(options.labels).sort().map((k) => [k, options.labels![k]]));
  }
  if (options.taints && options.taints.length > 0) {
    const taints: Record<string, string[]> = {};
    for (const t of options.taints) (taints[t.key] ??= []).push(`${t.value ?? ""}:${t.effect}`);
    kubernetes["node-taints"] = taints;
  }
  if (Object.keys(kubernetes).length > 0) settings.kubernetes = kubernetes;

  if (options.mode === "parallel") {
    if (options.instance === AT_BOOT) {
      throw new Error("Bottlerocket settings are static: size parallel mode for one instance type (its vCPUs), not at boot");
    }
    const t = parallelTuning(options.instance);
    settings["container-runtime"] = { snapshotter: "soci" };
    settings["container-runtime-plugins"] = {
      "soci-snapshotter": {
        "pull-mode": "parallel-pull-unpack",
        "parallel-pull-unpack": {
          "max-concurrent-downloads": t.maxConcurrentDownloads,
          "max-concurrent-downloads-per-image": t.maxConcurrentDownloadsPerImage,
          "concurrent-download-chunk-size": t.chunkSize,
          "max-concurrent-unpacks": t.maxConcurrentUnpacks,
          "max-concurrent-unpacks-per-image": t.maxConcurrentUnpacksPerImage,
          "discard-unpacked-layers": true,
        },
      },
    };
  }

  // With Karpenter's instanceStorePolicy RAID0, Karpenter adds its own ephemeral-storage bootstrap command.
  if (options.localStorage?.raid0 && !options.localStorage.arrayBuiltByKarpenter) {
    const dirs = ["/var/lib/containerd", "/var/lib/kubelet", "/var/log/pods"];
    if (options.mode !== "off" && !options.localStorage.keepSociOnRootVolume) dirs.push("/var/lib/soci-snapshotter");
    settings["bootstrap-commands"] = {
      "k8s-ephemeral-storage": {
        commands: [
          ["apiclient", "ephemeral-storage", "init"],
          ["apiclient", "ephemeral-storage", "bind", "--dirs", ...dirs],
        ],
        essential: true,
        mode: "always",
      },
    };
  }
  return settings;
}

/** Bottlerocket: TOML settings user data (EKS managed node groups merge their own settings into it). */
export const bottlerocketRenderer: UserDataRenderer = {
  family: "bottlerocket",
  render(options: NodeBootstrapOptions): RenderedUserData {
    return { family: "bottlerocket", format: "toml", text: `${stringify({ settings: bottlerocketSettings(options) })}\n`, parts: [] };
  },
};
