import { compareVersions, parseVersion } from "../userdata/releases";
import { OsFamily } from "../userdata/types";
import { ConfigProblem } from "./problems";

/**
 * Settings of a Karpenter `EC2NodeClass` (karpenter.k8s.aws/v1) that carries soci-eks user data.
 * Rules follow karpenter-provider-aws v1.15.2 (`pkg/apis/v1/ec2nodeclass.go` and its CRD).
 */
export interface KarpenterNodeClassSettings {
  /** The OS family of the user data. */
  os: OsFamily;
  /** `metadata.name`. */
  name: string;
  /** `spec.role`: the node IAM role's name (exactly one of role and instanceProfile). */
  role?: string;
  /** `spec.instanceProfile`: an existing instance profile's name. */
  instanceProfile?: string;
  /** The `karpenter.sh/discovery` tag value that selects subnets and security groups. */
  discoveryTag?: string;
  /** `spec.amiSelectorTerms[0].alias`, `family@version`. */
  amiAlias: string;
  /** Whether the class sets `instanceStorePolicy: RAID0` (soci-eks `ssd`). */
  ssd: boolean;
}

/** How each setting is named in messages, e.g. `--role`. */
export type KarpenterNamer = (key: keyof KarpenterNodeClassSettings) => string;

/** A lowercase RFC 1123 subdomain, the name rule of Kubernetes objects. */
const RFC1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
/** IAM names (role: ≤ 64, instance profile: ≤ 128): letters, digits and `+=,.@_-` (IAM API `CreateRole`/`CreateInstanceProfile`). */
const IAM_NAME = /^[\w+=,.@-]+$/;
/** AWS tag value characters (EC2 tag restrictions), 1-256 of them. */
const TAG_VALUE = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]{1,256}$/u;

/** The first Bottlerocket release that knows the SOCI settings soci-eks writes (`container-runtime.snapshotter`, `container-runtime-plugins.soci-snapshotter`). */
export const BOTTLEROCKET_MIN_SOCI_VERSION = "1.44.0";
/** The first Bottlerocket release whose default ephemeral-storage bind (what Karpenter uses from it on) includes SOCI's directory. */
export const BOTTLEROCKET_DEFAULT_BIND_VERSION = "1.46.0";
/**
 * The first AL2023 EKS AMI release the SOCI wiring works on. The installer hands containerd and kubelet their SOCI
 * settings through a drop-in in /etc/eks/nodeadm.d/, which nodeadm reads from v20251023 on (awslabs/amazon-eks-ami
 * #2427), and it starts containerd (to check SOCI) before nodeadm-run, which restarts an already-running containerd
 * only from v20260520 on (#2705, issue #2702; StartUnit before): on an older AMI containerd keeps CRI on overlayfs
 * while kubelet is pointed at SOCI. docs/known-limits.md.
 */
export const AL2023_MIN_AMI_RELEASE = "v20260520";
/** An AL2023 release that is at least {@link AL2023_MIN_AMI_RELEASE}, for examples in messages. */
const AL2023_EXAMPLE_ALIAS = "al2023@v20260714";
/** Karpenter's limit on an alias (CRD `maxLength`). */
const ALIAS_MAX = 30;

/** The version part of an alias as a semantic version (`v1.44.0` and `1.44.0` both: Karpenter trims the v), or undefined. */
function aliasSemver(version: string): string | undefined {
  const v = version.replace(/^v/, "");
  return parseVersion(v) ? v : undefined;
}

/** Checks the alias against the OS family; returns problems and warnings. */
function checkAlias(s: KarpenterNodeClassSettings, name: KarpenterNamer): { problems: ConfigProblem[]; warnings: string[] } {
  const setting = name("amiAlias");
  const m = /^([a-z0-9]+)@(.+)$/.exec(s.amiAlias);
  if (!m || s.amiAlias.length > ALIAS_MAX) {
    return {
      problems: [{ setting, value: s.amiAlias, reason: `is not a Karpenter alias family@version of at most ${ALIAS_MAX} characters`, fix: `Set ${setting} to ${s.os}@latest or a pinned release such as ${s.os === "bottlerocket" ? "bottlerocket@v1.46.0" : AL2023_EXAMPLE_ALIAS}.` }],
      warnings: [],
    };
  }
  const [, family, version] = m;
  if (family !== s.os) {
    return {
      problems: [{ setting, value: s.amiAlias, reason: `selects ${family} AMIs, but the user data is for ${s.os}`, fix: `Set ${setting} to ${s.os}@latest or a pinned ${s.os} release, or set ${name("os")} to match.` }],
      warnings: [],
    };
  }
  if (version === "latest") return { problems: [], warnings: [] };
  if (family === "al2023") {
    if (!/^v\d{8}$/.test(version)) {
      return { problems: [{ setting, value: s.amiAlias, reason: "pins no AL2023 release (vYYYYMMDD)", fix: `Set ${setting} to al2023@latest or al2023@v<release date>, e.g. ${AL2023_EXAMPLE_ALIAS}.` }], warnings: [] };
    }
    if (version < AL2023_MIN_AMI_RELEASE) {
      return {
        problems: [
          {
            setting,
            value: s.amiAlias,
            reason: `pins AL2023 release ${version}, older than ${AL2023_MIN_AMI_RELEASE}, the first whose nodeadm both reads /etc/eks/nodeadm.d/ and restarts a containerd that is already running; on it SOCI's wiring never reaches containerd`,
            fix: `Set ${setting} to al2023@latest or al2023@${AL2023_MIN_AMI_RELEASE} or newer (e.g. ${AL2023_EXAMPLE_ALIAS}).`,
          },
        ],
        warnings: [],
      };
    }
    return { problems: [], warnings: [] };
  }
  const semver = aliasSemver(version);
  if (!semver) {
    return { problems: [{ setting, value: s.amiAlias, reason: "pins no Bottlerocket release (vX.Y.Z)", fix: `Set ${setting} to bottlerocket@latest or bottlerocket@v<X.Y.Z>, e.g. bottlerocket@v1.46.0.` }], warnings: [] };
  }
  if (compareVersions(semver, BOTTLEROCKET_MIN_SOCI_VERSION) < 0) {
    return {
      problems: [
        {
          setting,
          value: s.amiAlias,
          reason: `pins Bottlerocket ${semver}, older than ${BOTTLEROCKET_MIN_SOCI_VERSION}, the first release with the SOCI settings; its early-boot-config rejects them and the node never joins`,
          fix: `Set ${setting} to bottlerocket@latest or bottlerocket@v${BOTTLEROCKET_DEFAULT_BIND_VERSION} or newer.`,
        },
      ],
      warnings: [],
    };
  }
  if (s.ssd && compareVersions(semver, BOTTLEROCKET_DEFAULT_BIND_VERSION) < 0) {
    return {
      problems: [],
      warnings: [
        `${setting}: Bottlerocket ${semver} is older than ${BOTTLEROCKET_DEFAULT_BIND_VERSION}: Karpenter binds only containerd, kubelet and pod logs to the instance-store array there, so SOCI's data stays on the EBS data volume. Pin ${BOTTLEROCKET_DEFAULT_BIND_VERSION} or newer to put it on the array.`,
      ],
    };
  }
  return { problems: [], warnings: [] };
}

/**
 * Validates a Karpenter EC2NodeClass's settings in one pass: the object name, exactly one non-blank IAM role
 * or instance profile, a discovery tag, and an AMI alias that matches the OS and knows SOCI's settings.
 */
export function validateKarpenterNodeClass(s: KarpenterNodeClassSettings, name: KarpenterNamer): { problems: ConfigProblem[]; warnings: string[] } {
  const problems: ConfigProblem[] = [];
  if (s.name.length === 0 || s.name.length > 253 || !RFC1123_SUBDOMAIN.test(s.name)) {
    problems.push({
      setting: name("name"),
      value: s.name,
      reason: s.name.length > 253 ? `is ${s.name.length} characters; a Kubernetes object name has at most 253` : "is not a Kubernetes object name (a lowercase RFC 1123 subdomain: a-z, 0-9, - and ., alphanumeric at both ends)",
      fix: `Set ${name("name")} to a name such as soci-lazy.`,
    });
  }
  const role = s.role;
  const profile = s.instanceProfile;
  if (role === undefined && profile === undefined) {
    problems.push({ setting: name("role"), reason: "is missing (Karpenter needs the IAM role, or an instance profile, its nodes run with)", fix: `Pass ${name("role")} with the node role's name, e.g. KarpenterNodeRole-my-cluster, or ${name("instanceProfile")} with an existing instance profile.` });
  } else if (role !== undefined && profile !== undefined) {
    problems.push({ setting: name("instanceProfile"), value: profile, reason: `is given together with ${name("role")}; an EC2NodeClass takes exactly one`, fix: `Drop ${name("instanceProfile")} or ${name("role")}.` });
  }
  if (role !== undefined && (role.length > 64 || !IAM_NAME.test(role))) {
    problems.push({ setting: name("role"), value: role, reason: "is not an IAM role name (1-64 letters, digits and +=,.@_-)", fix: `Set ${name("role")} to the node role's name (not its ARN), e.g. KarpenterNodeRole-my-cluster.` });
  }
  if (profile !== undefined && (profile.length > 128 || !IAM_NAME.test(profile))) {
    problems.push({ setting: name("instanceProfile"), value: profile, reason: "is not an IAM instance profile name (1-128 letters, digits and +=,.@_-)", fix: `Set ${name("instanceProfile")} to the instance profile's name (not its ARN).` });
  }
  const tag = s.discoveryTag;
  if (tag === undefined) {
    problems.push({ setting: name("discoveryTag"), reason: "is missing (Karpenter selects subnets and security groups by the karpenter.sh/discovery tag)", fix: `Pass ${name("discoveryTag")} with the tag's value on your subnets and security groups, usually the cluster name.` });
  } else if (tag.trim() === "" || !TAG_VALUE.test(tag)) {
    problems.push({ setting: name("discoveryTag"), value: tag, reason: "is not a non-blank AWS tag value (1-256 letters, digits, spaces and _.:/=+-@)", fix: `Set ${name("discoveryTag")} to the karpenter.sh/discovery tag's value on your subnets and security groups, usually the cluster name.` });
  }
  const alias = checkAlias(s, name);
  problems.push(...alias.problems);
  return { problems, warnings: alias.warnings };
}
