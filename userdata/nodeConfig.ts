import { stringify } from "yaml";
import { ClusterConnection, LocalStorageOptions, NodeTaint } from "./types";

/** The subset of nodeadm's NodeConfig (node.eks.aws/v1alpha1) that soci-eks writes. */
export interface NodeConfigSpec {
  cluster?: {
    name: string;
    apiServerEndpoint: string;
    certificateAuthority: string;
    cidr: string;
  };
  containerd?: { config: string };
  kubelet?: { config?: Record<string, unknown>; flags?: string[] };
  instance?: {
    localStorage?: { strategy?: "RAID0" | "RAID10" | "Mount"; disabledMounts?: ("Containerd" | "PodLogs" | "SOCI")[] };
  };
}

/** A NodeConfig document. */
export interface NodeConfig {
  apiVersion: "node.eks.aws/v1alpha1";
  kind: "NodeConfig";
  spec: NodeConfigSpec;
}

/** NodeConfig `cluster` fields from a cluster connection. */
export function clusterSpec(cluster: ClusterConnection): NonNullable<NodeConfigSpec["cluster"]> {
  return {
    name: cluster.name,
    apiServerEndpoint: cluster.apiServerEndpoint,
    certificateAuthority: cluster.certificateAuthority,
    cidr: cluster.serviceCidr,
  };
}

/** `--node-labels=a=b,c=d`, keys sorted so output is deterministic. */
export function nodeLabelsFlag(labels: Record<string, string>): string | undefined {
  const keys = Object.keys(labels).sort();
  if (keys.length === 0) return undefined;
  return `--node-labels=${keys.map((k) => `${k}=${labels[k]}`).join(",")}`;
}

/** KubeletConfiguration `registerWithTaints` entries. */
export function registerWithTaints(taints: NodeTaint[]): Record<string, string>[] {
  return taints.map((t) => ({ key: t.key, value: t.value ?? "", effect: t.effect }));
}

/**
 * nodeadm `instance.localStorage` for a RAID0 array over the instance-store disks; without the strategy when
 * Karpenter's NodeConfig supplies it (then undefined unless SOCI stays on the root volume).
 */
export function localStorageSpec(storage: LocalStorageOptions): NonNullable<NodeConfigSpec["instance"]>["localStorage"] | undefined {
  const disabled: { disabledMounts?: "SOCI"[] } = storage.keepSociOnRootVolume ? { disabledMounts: ["SOCI"] } : {};
  if (storage.arrayBuiltByKarpenter) return storage.keepSociOnRootVolume ? disabled : undefined;
  return { strategy: "RAID0", ...disabled };
}

/** Serializes a NodeConfig with the YAML library. */
export function renderNodeConfig(spec: NodeConfigSpec): string {
  const doc: NodeConfig = { apiVersion: "node.eks.aws/v1alpha1", kind: "NodeConfig", spec };
  return stringify(doc, { lineWidth: 0 });
}
