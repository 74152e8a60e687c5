/**
 * A model of the user data @pulumi/eks 4.x puts in the launch template of a self-managed node group (`eks.NodeGroupV2`), from the inputs
 * the mocks recorded. @pulumi/eks node groups are remote components: their user data is rendered inside the `eks`
 * provider plugin, which is not in the npm SDK, and code taken from its repository is not committed here. So this
 * is our own re-creation of the documented shape, not @pulumi/eks's code:
 * - AL2023: a MIME document whose first part is a NodeConfig with the cluster fields, then (when there are labels
 *   or taints) a NodeConfig with the kubelet flags `--node-labels` / `--register-with-taints`, then the
 *   `nodeadmExtraOptions` parts, in order, each written with its `contentType` and content.
 * - Bottlerocket: TOML `settings` with a `kubernetes` table (cluster name, API server, CA, cluster DNS at .10 of the
 *   service CIDR, node labels and taints) deep-merged with `bottlerocketSettings`.
 * What it proves is therefore limited to what soci-eks hands @pulumi/eks (the parts and settings); @pulumi/eks's own
 * assembly is not reproduced byte for byte.
 */
import { stringify as tomlStringify } from "smol-toml";
import { stringify as yamlStringify } from "yaml";

/** The cluster fields @pulumi/eks reads from its cluster. */
export interface ClusterMetadata {
  name: string;
  apiServerEndpoint: string;
  certificateAuthority: string;
  serviceCidr: string;
}

/** The inputs of an `eks:index:NodeGroupV2` (as recorded) that reach its user data. */
export interface RecordedV2Inputs {
  amiType?: string;
  operatingSystem?: string;
  labels?: Record<string, string>;
  taints?: Record<string, { value: string; effect: "NoSchedule" | "NoExecute" | "PreferNoSchedule" }>;
  nodeadmExtraOptions?: { contentType: string; content: string }[];
  bottlerocketSettings?: object;
}

type Taint = { key: string; value?: string; effect: "NoSchedule" | "NoExecute" | "PreferNoSchedule" };

/** The OS a node group gets from its AMI type (the AMI types soci-eks uses); AL2023 by default. */
export function eksOperatingSystem(inputs: { amiType?: string; operatingSystem?: string }): "AL2023" | "Bottlerocket" {
  if (!inputs.amiType) return (inputs.operatingSystem as "AL2023" | "Bottlerocket" | undefined) ?? "AL2023";
  if (inputs.amiType.startsWith("AL2023_")) return "AL2023";
  if (inputs.amiType.startsWith("BOTTLEROCKET_")) return "Bottlerocket";
  throw new Error(`AMI type ${inputs.amiType} is not one soci-eks uses`);
}

const BOUNDARY = "//";

/** A NodeConfig part's content. */
function nodeConfig(spec: object): string {
  return yamlStringify({ apiVersion: "node.eks.aws/v1alpha1", kind: "NodeConfig", spec });
}

/** The modelled AL2023 document: cluster NodeConfig, kubelet-flags NodeConfig, then the extra parts. */
function al2023Document(cluster: ClusterMetadata, labels: Record<string, string>, taints: Taint[], extra: { contentType: string; content: string }[]): string {
  const flags: string[] = [];
  if (Object.keys(labels).length > 0) flags.push(`--node-labels=${Object.entries(labels).map(([k, v]) => `${k}=${v}`).join(",")}`);
  if (taints.length > 0) flags.push(`--register-with-taints=${taints.map((t) => `${t.key}${t.value ? `=${t.value}` : ""}:${t.effect}`).join(",")}`);
  const parts = [
    { contentType: "application/node.eks.aws", content: nodeConfig({ cluster: { name: cluster.name, apiServerEndpoint: cluster.apiServerEndpoint, certificateAuthority: cluster.certificateAuthority, cidr: cluster.serviceCidr } }) },
    ...(flags.length > 0 ? [{ contentType: "application/node.eks.aws", content: nodeConfig({ kubelet: { flags } }) }] : []),
    ...extra,
  ];
  const lines = ["MIME-Version: 1.0", `Content-Type: multipart/mixed; boundary="${BOUNDARY}"`, ""];
  // Each part under one header, its contentType as given (the plug-in's already names the charset).
  for (const p of parts) lines.push(`--${BOUNDARY}`, `Content-Type: ${p.contentType}`, "", p.content);
  lines.push(`--${BOUNDARY}--`, "");
  return lines.join("\n");
}

/** Deep merge of plain objects (`b` wins). */
function merge(a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...a };
  for (const [k, v] of Object.entries(b)) {
    const prev = out[k];
    out[k] = prev && v && typeof prev === "object" && typeof v === "object" && !Array.isArray(v) ? merge(prev as Record<string, unknown>, v as Record<string, unknown>) : v;
  }
  return out;
}

/** The modelled Bottlerocket TOML: the kubernetes table from the cluster, labels and taints, merged with ours. */
function bottlerocketDocument(cluster: ClusterMetadata, labels: Record<string, string>, taints: Taint[], settings: object | undefined): string {
  const dns = cluster.serviceCidr.replace(/\.\d+\/\d+$/, ".10");
  const kubernetes: Record<string, unknown> = {
    "cluster-name": cluster.name,
    "api-server": cluster.apiServerEndpoint,
    "cluster-certificate": cluster.certificateAuthority,
    "cluster-dns-ip": dns,
    ...(Object.keys(labels).length > 0 ? { "node-labels": labels } : {}),
    ...(taints.length > 0 ? { "node-taints": Object.fromEntries(taints.map((t) => [t.key, [`${t.value ?? ""}:${t.effect}`]])) } : {}),
  };
  const ours = JSON.parse(JSON.stringify(settings ?? {})) as { settings?: Record<string, unknown> };
  return tomlStringify({ settings: merge({ kubernetes }, ours.settings ?? {}) });
}

/** The modelled user data of a self-managed `eks.NodeGroupV2` with these inputs. */
export function eksNodeGroupV2UserData(inputs: RecordedV2Inputs, cluster: ClusterMetadata): string {
  const labels = { ...(inputs.labels ?? {}) };
  const taints: Taint[] = Object.entries(inputs.taints ?? {}).map(([key, t]) => ({ key, value: t.value, effect: t.effect }));
  return eksOperatingSystem(inputs) === "Bottlerocket"
    ? bottlerocketDocument(cluster, labels, taints, inputs.bottlerocketSettings)
    : al2023Document(cluster, labels, taints, inputs.nodeadmExtraOptions ?? []);
}

/**
 * The raw parts of a MIME multipart document: for each part, the bytes between its delimiter line and the line
 * break before the next delimiter (headers, blank line, body), as RFC 2046 delimits them.
 */
export function rawParts(text: string): string[] {
  const m = /boundary="([^"]+)"/.exec(text);
  if (!m) throw new Error("no multipart boundary");
  const delimiter = `\n--${m[1]}`;
  const pieces = text.split(delimiter);
  // pieces[0] is the preamble (the top-level headers); the last piece starts with "--" (the close delimiter).
  const last = pieces.pop()!;
  if (!last.startsWith("--")) throw new Error("no close delimiter");
  return pieces.slice(1).map((p) => {
    if (!p.startsWith("\n")) throw new Error("a delimiter line has trailing characters");
    return p.slice(1);
  });
}
