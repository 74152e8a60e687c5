/**
 * The hardening settings of a soci-eks cluster (API endpoint access, control-plane logs, secrets encryption, NAT
 * gateways, the VPC CNI's credentials) and their rules. docs/security.md lists each default, what it costs and
 * terraform-aws-eks v21's choice beside it.
 */
import { ConfigProblem } from "./problems";

/** EKS control-plane log types (EKS API `LogSetup.types`). */
export const CONTROL_PLANE_LOG_TYPES = ["api", "audit", "authenticator", "controllerManager", "scheduler"] as const;
/** One EKS control-plane log type. */
export type ControlPlaneLogType = (typeof CONTROL_PLANE_LOG_TYPES)[number];

/** How many NAT gateways a VPC soci-eks creates has. */
export const NAT_GATEWAY_LAYOUTS = ["one-per-az", "single"] as const;
/** `one-per-az` (default): each AZ's private subnet leaves through its own NAT gateway. `single`: one, in the first AZ. */
export type NatGatewayLayout = (typeof NAT_GATEWAY_LAYOUTS)[number];

/** Whose AWS credentials the VPC CNI (the `aws-node` DaemonSet) uses. */
export const VPC_CNI_CREDENTIALS = ["pod-identity", "node-role"] as const;
/**
 * `pod-identity` (default): its own IAM role with AmazonEKS_CNI_Policy, given to the `aws-node` service account through
 * EKS Pod Identity; the node role does not carry the policy. `node-role`: AmazonEKS_CNI_Policy on every node role.
 */
export type VpcCniCredentials = (typeof VPC_CNI_CREDENTIALS)[number];

/** The cluster hardening settings with their defaults applied. */
export interface ClusterSecuritySettings {
  /** The API server's private endpoint (reachable from the VPC). */
  endpointPrivateAccess: boolean;
  /** CIDRs that may reach the public endpoint; empty: the public endpoint is off. */
  endpointPublicAccessCidrs: string[];
  /** Control-plane log types sent to CloudWatch Logs. */
  controlPlaneLogs: string[];
  /** KMS key (ARN) that envelope-encrypts Kubernetes secrets; absent: EKS's own AWS-owned key. */
  secretsKmsKeyArn?: string;
  /** NAT gateways of the VPC soci-eks creates (ignored with existing subnets). */
  natGateways: string;
  /** Whose credentials the VPC CNI uses. */
  vpcCniCredentials: string;
}

/** The defaults: private endpoint only, audit/api/authenticator logs, one NAT per AZ, the CNI on its own role. */
export const CLUSTER_SECURITY_DEFAULTS = {
  endpointPrivateAccess: true,
  endpointPublicAccessCidrs: [] as string[],
  controlPlaneLogs: ["api", "audit", "authenticator"] as ControlPlaneLogType[],
  natGateways: "one-per-az" as NatGatewayLayout,
  vpcCniCredentials: "pod-identity" as VpcCniCredentials,
} as const;

/** EKS's quota on public access CIDR blocks per cluster (Amazon EKS service quotas). */
export const MAX_PUBLIC_ACCESS_CIDRS = 40;

/** How each setting is named in messages (`soci-eks:natGateways`, `c.natGateways`, ...). */
export type ClusterSecurityNamer = (key: keyof ClusterSecuritySettings) => string;

const IPV4_CIDR = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/;
/** A KMS key or alias ARN (EKS `encryptionConfig.provider.keyArn` takes either). */
const KMS_ARN = /^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:(key\/[A-Za-z0-9-]+|alias\/[A-Za-z0-9/_-]+)$/;

/** The problem with one IPv4 CIDR, or undefined. Host bits must be zero, as EKS stores network addresses. */
export function ipv4CidrProblem(cidr: string): string | undefined {
  const m = IPV4_CIDR.exec(cidr);
  if (!m) return "is not an IPv4 CIDR block (a.b.c.d/n)";
  const octets = m.slice(1, 5).map(Number);
  const bits = Number(m[5]);
  if (octets.some((o) => o > 255) || bits > 32) return "is not an IPv4 CIDR block (a.b.c.d/n)";
  const address = octets.reduce((a, o) => a * 256 + o, 0);
  const hostBits = 2 ** (32 - bits);
  if (address % hostBits !== 0) {
    const network = address - (address % hostBits);
    const text = [24, 16, 8, 0].map((s) => Math.floor(network / 2 ** s) % 256).join(".");
    return `has host bits set (its network is ${text}/${bits})`;
  }
  return undefined;
}

/**
 * Checks the hardening settings in one pass. `createsVpc`: soci-eks creates the VPC (else `natGateways` does nothing
 * and setting it is refused, so nobody believes they got NAT redundancy they did not get).
 */
export function validateClusterSecurity(
  s: ClusterSecuritySettings,
  name: ClusterSecurityNamer,
  options: { createsVpc: boolean; natGatewaysGiven: boolean },
): { problems: ConfigProblem[]; warnings: string[] } {
  const problems: ConfigProblem[] = [];
  const warnings: string[] = [];
  const cidrs = s.endpointPublicAccessCidrs;
  for (const cidr of cidrs) {
    const why = ipv4CidrProblem(cidr);
    if (why) {
      problems.push({ setting: name("endpointPublicAccessCidrs"), value: cidr, reason: why, fix: `List IPv4 networks that may reach the public endpoint, e.g. 203.0.113.0/24, or your own IP as 203.0.113.7/32.` });
    }
  }
  const dup = cidrs.filter((c, i) => cidrs.indexOf(c) !== i);
  if (dup.length > 0) problems.push({ setting: name("endpointPublicAccessCidrs"), value: dup[0], reason: "is listed twice", fix: "List each CIDR once." });
  if (cidrs.length > MAX_PUBLIC_ACCESS_CIDRS) {
    problems.push({ setting: name("endpointPublicAccessCidrs"), value: cidrs.length, reason: `lists more CIDRs than EKS allows per cluster (${MAX_PUBLIC_ACCESS_CIDRS})`, fix: "Merge neighbouring networks into larger blocks, or reach the private endpoint through a VPN." });
  }
  if (!s.endpointPrivateAccess && cidrs.length === 0) {
    problems.push({
      setting: name("endpointPrivateAccess"),
      value: false,
      reason: `turns the private endpoint off while ${name("endpointPublicAccessCidrs")} is empty (public endpoint off): nothing could reach the API server, nodes included`,
      fix: `Keep ${name("endpointPrivateAccess")} true, or list the CIDRs that may reach the public endpoint in ${name("endpointPublicAccessCidrs")}.`,
    });
  }
  if (cidrs.includes("0.0.0.0/0")) {
    warnings.push(
      `${name("endpointPublicAccessCidrs")}: 0.0.0.0/0 opens the cluster's public API endpoint to the whole internet (authentication still applies). ` +
        "List only the networks that run pulumi and kubectl, or reach the private endpoint from inside the VPC.",
    );
  }
  if (!s.endpointPrivateAccess && cidrs.length > 0) {
    warnings.push(
      `${name("endpointPrivateAccess")}: false sends nodes to the API server over the public endpoint: their NAT gateways' addresses must be in ${name("endpointPublicAccessCidrs")}, or nodes cannot join.`,
    );
  }

  const logs = s.controlPlaneLogs;
  for (const log of logs) {
    if (!(CONTROL_PLANE_LOG_TYPES as readonly string[]).includes(log)) {
      problems.push({ setting: name("controlPlaneLogs"), value: log, reason: `is not an EKS control-plane log type (${CONTROL_PLANE_LOG_TYPES.join(", ")})`, fix: `Use types from ${CONTROL_PLANE_LOG_TYPES.join(", ")}; the default is api, audit, authenticator.` });
    }
  }
  const dupLog = logs.filter((l, i) => logs.indexOf(l) !== i);
  if (dupLog.length > 0) problems.push({ setting: name("controlPlaneLogs"), value: dupLog[0], reason: "is listed twice", fix: "List each log type once." });
  for (const needed of ["audit", "authenticator"]) {
    if (!logs.includes(needed) && logs.every((l) => (CONTROL_PLANE_LOG_TYPES as readonly string[]).includes(l))) {
      warnings.push(`${name("controlPlaneLogs")}: without '${needed}' a security review cannot see ${needed === "audit" ? "who did what through the API" : "which IAM identities authenticated"}.`);
    }
  }

  if (s.secretsKmsKeyArn !== undefined && !KMS_ARN.test(s.secretsKmsKeyArn)) {
    problems.push({
      setting: name("secretsKmsKeyArn"),
      value: s.secretsKmsKeyArn,
      reason: "is not a KMS key or alias ARN",
      fix: "Give the key's ARN, e.g. arn:aws:kms:us-west-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab (a symmetric key in the cluster's region), or leave it unset for EKS's AWS-owned key.",
    });
  }

  if (!(NAT_GATEWAY_LAYOUTS as readonly string[]).includes(s.natGateways)) {
    problems.push({ setting: name("natGateways"), value: s.natGateways, reason: `is not one of ${NAT_GATEWAY_LAYOUTS.join(", ")}`, fix: `Set ${name("natGateways")} to one-per-az (default; an AZ outage leaves the other AZ's nodes their egress) or single (one NAT gateway's cost).` });
  } else if (!options.createsVpc && options.natGatewaysGiven) {
    problems.push({ setting: name("natGateways"), value: s.natGateways, reason: "has no effect with existing subnets: soci-eks creates no VPC and no NAT gateway then", fix: `Drop ${name("natGateways")}; your VPC's routes decide the nodes' egress.` });
  }
  const cni = vpcCniCredentialsProblem(name("vpcCniCredentials"), s.vpcCniCredentials);
  if (cni) problems.push(cni);
  return { problems, warnings };
}

/**
 * The one rule for a `vpcCniCredentials` value, for SociCluster (and the stack config and the package's Cluster) and
 * SociNodeGroup alike: absent is fine (each has its own default or warning), anything else must be one of
 * {@link VPC_CNI_CREDENTIALS}.
 */
export function vpcCniCredentialsProblem(setting: string, value: string | undefined): ConfigProblem | undefined {
  if (value === undefined || (VPC_CNI_CREDENTIALS as readonly string[]).includes(value)) return undefined;
  return {
    setting,
    value,
    reason: `is not one of ${VPC_CNI_CREDENTIALS.join(", ")}`,
    fix: `Set ${setting} to pod-identity (the VPC CNI gets its own IAM role through EKS Pod Identity; node roles do not carry AmazonEKS_CNI_Policy) or node-role (AmazonEKS_CNI_Policy on every node role).`,
  };
}
