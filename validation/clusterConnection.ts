import { isIPv4, isIPv6 } from "net";
import { withoutUserinfo } from "./mirrorTrust";
import { ConfigProblem } from "./problems";

/**
 * The cluster fields a node's own NodeConfig (AL2023) or settings (Bottlerocket) carry, as plain strings.
 * A field that is `undefined` is not checked (e.g. a Pulumi Output not known before deployment).
 */
export interface ClusterConnectionSettings {
  name?: string;
  apiServerEndpoint?: string;
  certificateAuthority?: string;
  serviceCidr?: string;
}

/** How each field is named in messages, e.g. `--cluster-name` or `ng.clusterName`. */
export type ClusterConnectionNamer = (key: keyof ClusterConnectionSettings) => string;

/**
 * An EKS cluster name: 1-100 characters, alphanumeric first, then letters, digits, `-` and `_`
 * (EKS CreateCluster `name`; Bottlerocket checks `settings.kubernetes.cluster-name` with the same pattern).
 */
export const CLUSTER_NAME = /^[0-9A-Za-z][A-Za-z0-9_-]{0,99}$/;

/** Padded standard base64 (Bottlerocket's `cluster-certificate` check; nodeadm decodes the field as base64 bytes). */
const PADDED_BASE64 = /^(?:[A-Za-z0-9+/]{4})+$|^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)$/;

/** The private ranges EKS allows for a cluster's IPv4 service CIDR (EKS API `KubernetesNetworkConfigRequest.serviceIpv4Cidr`). */
const SERVICE_CIDR_RANGES: readonly [string, number][] = [
  ["10.0.0.0", 8],
  ["172.16.0.0", 12],
  ["192.168.0.0", 16],
];

function ipv4ToInt(ip: string): number {
  return ip.split(".").reduce((n, octet) => n * 256 + Number(octet), 0);
}

function inRange(ip: string, prefix: number, [base, basePrefix]: readonly [string, number]): boolean {
  if (prefix < basePrefix) return false;
  const span = 2 ** (32 - basePrefix);
  return Math.floor(ipv4ToInt(ip) / span) === Math.floor(ipv4ToInt(base) / span);
}

/** Why a service CIDR is not one EKS can have, or undefined when it is fine. */
function serviceCidrProblem(cidr: string): string | undefined {
  const m = /^([^/]+)\/(\d{1,3})$/.exec(cidr);
  if (!m) return "is not a CIDR block address/prefix";
  const [, ip, prefixText] = m;
  const prefix = Number(prefixText);
  if (isIPv6(ip)) return prefix <= 128 ? undefined : "has an IPv6 prefix longer than 128";
  if (!isIPv4(ip)) return "is not a CIDR block address/prefix";
  if (prefix < 12 || prefix > 24) return "has a prefix outside /12../24, the sizes EKS allows for an IPv4 service CIDR";
  if (!SERVICE_CIDR_RANGES.some((r) => inRange(ip, prefix, r))) return "is not inside 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16, where EKS puts IPv4 service CIDRs";
  return undefined;
}

/** Why an API server endpoint is not an https URL kubelet can use, or undefined when it is fine. */
function endpointProblem(endpoint: string): string | undefined {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    return "is not a URL";
  }
  if (url.protocol !== "https:") return "is not an https:// URL";
  if (!url.hostname || /\s/.test(endpoint)) return "has no host name";
  if (url.username || url.password || url.search || url.hash || (url.pathname !== "/" && url.pathname !== "")) {
    return "has more than a scheme and host (no path, query, fragment or credentials)";
  }
  return undefined;
}

/**
 * Why certificate authority data is not padded base64, or undefined when it is fine. (Whether it decodes to a
 * PEM certificate is left to kubelet, as nodeadm and Bottlerocket do.)
 */
function certificateAuthorityProblem(data: string): string | undefined {
  return PADDED_BASE64.test(data) ? undefined : "is not padded base64 (A-Z a-z 0-9 + / and = padding, no line breaks)";
}

/**
 * Checks cluster fields as EKS, nodeadm (`config check`) and Bottlerocket's settings model would: the name
 * pattern, an https endpoint, padded base64 CA data, and a service CIDR EKS can have. Empty strings are problems;
 * `undefined` fields are skipped.
 */
export function validateClusterConnection(c: ClusterConnectionSettings, name: ClusterConnectionNamer): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  if (c.name !== undefined && !CLUSTER_NAME.test(c.name)) {
    problems.push({
      setting: name("name"),
      value: c.name,
      reason: "is not an EKS cluster name (1-100 characters: a letter or digit, then letters, digits, - and _)",
      fix: `Set ${name("name")} to the cluster's name as \`aws eks list-clusters\` prints it.`,
    });
  }
  const endpointWhy = c.apiServerEndpoint !== undefined ? endpointProblem(c.apiServerEndpoint) : undefined;
  if (endpointWhy) {
    problems.push({
      setting: name("apiServerEndpoint"),
      value: withoutUserinfo(c.apiServerEndpoint!),
      reason: endpointWhy,
      fix: `Set ${name("apiServerEndpoint")} to the cluster's endpoint, e.g. https://ABCDEF0123456789.gr7.us-west-2.eks.amazonaws.com (\`aws eks describe-cluster --query cluster.endpoint\`).`,
    });
  }
  const caWhy = c.certificateAuthority !== undefined ? certificateAuthorityProblem(c.certificateAuthority) : undefined;
  if (caWhy) {
    problems.push({
      setting: name("certificateAuthority"),
      // A CA is long; quote its start only.
      value: c.certificateAuthority!.length > 40 ? `${c.certificateAuthority!.slice(0, 40)}…` : c.certificateAuthority,
      reason: caWhy,
      fix: `Set ${name("certificateAuthority")} to the cluster's CA data as EKS returns it (\`aws eks describe-cluster --query cluster.certificateAuthority.data\`).`,
    });
  }
  const cidrWhy = c.serviceCidr !== undefined ? serviceCidrProblem(c.serviceCidr) : undefined;
  if (cidrWhy) {
    problems.push({
      setting: name("serviceCidr"),
      value: c.serviceCidr,
      reason: cidrWhy,
      fix: `Set ${name("serviceCidr")} to the cluster's service CIDR, e.g. 172.20.0.0/16 (\`aws eks describe-cluster --query cluster.kubernetesNetworkConfig.serviceIpv4Cidr\`).`,
    });
  }
  return problems;
}
