import { BOTTLEROCKET_LAZY_REASON } from "../userdata/bottlerocket";
import { compareVersions, DEFAULT_MIRROR_BASE_URL, DEFAULT_SOCI_VERSION, MIN_SOCI_VERSION, parseVersion, releaseArch } from "../userdata/releases";
import { InstanceFacts, NodeTaint } from "../userdata/types";
import {
  hasNvmeInstanceStore,
  nodeArchitecture,
  nvmeSuggestions,
  SOCI_MIN_MEMORY_MIB,
  SOCI_MIN_VCPUS,
} from "./instanceTypes";
import { checkLabels, checkTaints } from "./labels";
import { mirrorShapeProblems, mirrorUrlProblems, withoutUserinfo } from "./mirrorTrust";
import { ConfigProblem } from "./problems";
import { digestSyntaxProblems, releaseDigestProblems } from "./releaseDigests";

/** The SOCI modes, in the order messages list them. */
export const SOCI_MODES = ["lazy", "parallel", "off"] as const;

/** What a node does when a SOCI boot step fails, in the order messages list them (the first is the default). */
export const SOCI_FAILURE_POLICIES = ["fallback", "fail"] as const;

/** The OS families a node group can boot, in the order messages list them (the first is the default). */
export const OS_FAMILIES = ["al2023", "bottlerocket"] as const;

/** gp3 limits (EBS User Guide, "General Purpose SSD volumes"; EC2 API EbsBlockDevice). */
export const GP3_LIMITS = {
  minSizeGiB: 20, // our floor: the AL2023 EKS AMI's root snapshot is 20 GiB
  maxSizeGiB: 16384,
  minIops: 3000,
  maxIops: 16000,
  maxIopsPerGiB: 500,
  minThroughput: 125,
  maxThroughput: 1000,
  /** MiB/s per provisioned IOPS */
  throughputPerIops: 0.25,
} as const;

/** Everything about one node group that is validated, as plain values. */
export interface NodeGroupSettings {
  instanceType: string;
  /** OS family: `al2023` or `bottlerocket` (unchecked until validated). */
  os: string;
  sociMode: string;
  sociVersion: string;
  sociSha256?: string;
  sociMirrorUrl: string;
  desiredSize: number;
  minSize: number;
  maxSize: number;
  ssd: boolean;
  keepSociOnRootVolume?: boolean;
  /** `fallback` or `fail` (unchecked until validated); absent means `fallback`. */
  onSociFailure?: string;
  rootVolumeSizeGiB: number;
  rootVolumeIops: number;
  rootVolumeThroughput: number;
  extraEcrRegistries: string[];
  capacityType?: string;
  metadataHopLimit?: number;
  labels?: Record<string, string>;
  taints?: NodeTaint[];
  /**
   * The settings the user gave, as opposed to defaults. Rules that refuse a setting where it would do nothing
   * (AL2023-only settings on Bottlerocket) read it; absent, a setting counts as given when it differs from its default.
   */
  explicit?: ReadonlySet<NodeGroupSettingKey>;
}

/** The settings a rule can name (every field of {@link NodeGroupSettings} but `explicit`). */
export type NodeGroupSettingKey = Exclude<keyof NodeGroupSettings, "explicit">;

/** Names a setting for messages, e.g. `sociMode` → `soci-eks:sociMode`. */
export type SettingNamer = (key: NodeGroupSettingKey) => string;

/** `<12-digit account>.dkr.ecr[-fips].<region>.amazonaws.com[.cn]` */
const ECR_HOST = /^\d{12}\.dkr\.ecr(-fips)?\.[a-z]{2}(-[a-z]+)+-\d\.amazonaws\.com(\.cn)?$/;
function checkMode(s: NodeGroupSettings, name: SettingNamer): ConfigProblem[] {
  if ((SOCI_MODES as readonly string[]).includes(s.sociMode)) return [];
  return [
    {
      setting: name("sociMode"),
      value: s.sociMode,
      reason: `is not one of ${SOCI_MODES.join(", ")}`,
      fix: `Set ${name("sociMode")} to lazy (default), parallel or off.`,
    },
  ];
}

/**
 * The failure policy, checked the same way for the components, the stack config and the CLI
 * (`name` gives the setting as each spells it).
 */
export function checkOnSociFailure(value: string | undefined, setting: string): ConfigProblem[] {
  if (value === undefined || (SOCI_FAILURE_POLICIES as readonly string[]).includes(value)) return [];
  return [
    {
      setting,
      value,
      reason: `is not one of ${SOCI_FAILURE_POLICIES.join(", ")}`,
      fix: `Set ${setting} to fallback (default: the node joins without SOCI, labelled soci-eks/degraded) or fail (the node never joins).`,
    },
  ];
}

/**
 * The OS family must be known, and Bottlerocket cannot run lazy mode (it has no lazy-loading setting).
 * `lazy` is also the default mode, so a Bottlerocket group must set its mode explicitly.
 */
function checkOs(s: NodeGroupSettings, name: SettingNamer): ConfigProblem[] {
  if (!(OS_FAMILIES as readonly string[]).includes(s.os)) {
    return [{ setting: name("os"), value: s.os, reason: `is not one of ${OS_FAMILIES.join(", ")}`, fix: `Set ${name("os")} to al2023 (default) or bottlerocket.` }];
  }
  if (s.os === "bottlerocket" && s.sociMode === "lazy") {
    return [
      {
        setting: name("sociMode"),
        value: s.sociMode,
        reason: BOTTLEROCKET_LAZY_REASON,
        fix: `Set ${name("sociMode")} to parallel or off (lazy is the default, so a Bottlerocket node group must set it), or set ${name("os")} to al2023.`,
      },
    ];
  }
  return [];
}

/** The settings only AL2023 nodes use, with each one's default and what it drives there. */
const AL2023_ONLY: readonly { key: NodeGroupSettingKey; isDefault: (s: NodeGroupSettings) => boolean; drives: string }[] = [
  { key: "sociVersion", isDefault: (s) => s.sociVersion === DEFAULT_SOCI_VERSION, drives: "the SOCI release soci-eks installs" },
  { key: "sociSha256", isDefault: (s) => s.sociSha256 === undefined, drives: "the checksum of the SOCI release soci-eks installs" },
  { key: "sociMirrorUrl", isDefault: (s) => s.sociMirrorUrl.replace(/\/+$/, "") === DEFAULT_MIRROR_BASE_URL, drives: "where soci-eks downloads SOCI" },
  { key: "onSociFailure", isDefault: (s) => s.onSociFailure === undefined || s.onSociFailure === SOCI_FAILURE_POLICIES[0], drives: "what soci-eks's installer does when a SOCI boot step fails" },
];

/** The installer settings a group gives: those it set (stack config, package) or, without that record, those off their default. */
function givenInstallerSettings(s: NodeGroupSettings): (typeof AL2023_ONLY)[number][] {
  return AL2023_ONLY.filter(({ key, isDefault }) => (s.explicit ? s.explicit.has(key) : !isDefault(s)));
}

/** A setting's value as messages show it: a mirror URL without what stands before its last '@'. */
function shownValue(s: NodeGroupSettings, key: (typeof AL2023_ONLY)[number]["key"]): unknown {
  return key === "sociMirrorUrl" ? withoutUserinfo(s.sociMirrorUrl) : s[key];
}

/**
 * AL2023-only settings given for a Bottlerocket node group: Bottlerocket ships its own SOCI and soci-eks runs no
 * installer there, so the setting would be ignored without a word. (Registries have their own rule in checkRegistries.)
 */
function checkAl2023Only(s: NodeGroupSettings, name: SettingNamer): ConfigProblem[] {
  if (s.os !== "bottlerocket") return [];
  return givenInstallerSettings(s).map(({ key, drives }) => ({
    setting: name(key),
    value: shownValue(s, key),
    reason: `only applies to AL2023 nodes (${drives}); Bottlerocket ships its own SOCI and would ignore it`,
    fix: `Remove ${name(key)}, or set ${name("os")} to al2023.`,
  }));
}

/**
 * Installer settings given for an AL2023 node group with sociMode off: such a node runs no soci-eks installer (its
 * user data has only the NodeConfig and, with ssd, the local-storage check), so the setting would be ignored without a
 * word. (Bottlerocket groups get checkAl2023Only's message for the same settings.)
 */
function checkModeOff(s: NodeGroupSettings, name: SettingNamer): ConfigProblem[] {
  if (s.sociMode !== "off" || s.os !== "al2023") return [];
  const problems: ConfigProblem[] = givenInstallerSettings(s).map(({ key, drives }) => ({
    setting: name(key),
    value: shownValue(s, key),
    reason: `has no effect with sociMode off (it sets ${drives}; with off soci-eks installs nothing)`,
    fix: `Remove ${name(key)}, or set ${name("sociMode")} to lazy or parallel.`,
  }));
  if (s.extraEcrRegistries.length > 0) {
    problems.push({
      setting: name("extraEcrRegistries"),
      value: s.extraEcrRegistries.map(withoutUserinfo).join(", "),
      reason: "has no effect with sociMode off (it configures the ECR credential helper soci-eks installs for SOCI; with off soci-eks installs nothing)",
      fix: `Remove ${name("extraEcrRegistries")}, or set ${name("sociMode")} to lazy or parallel.`,
    });
  }
  return problems;
}

function checkRelease(s: NodeGroupSettings, name: SettingNamer): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const v = s.sociVersion;
  if (/^v\d+\.\d+\.\d+$/.test(v)) {
    problems.push({ setting: name("sociVersion"), value: v, reason: "has a leading v", fix: `Drop the v: set ${name("sociVersion")} to ${v.slice(1)}.` });
  } else if (!parseVersion(v)) {
    problems.push({
      setting: name("sociVersion"),
      value: v,
      reason: "is not a release version X.Y.Z",
      fix: `Set ${name("sociVersion")} to a soci-snapshotter release such as 0.16.1, without a leading v.`,
    });
  } else if (compareVersions(v, MIN_SOCI_VERSION) < 0) {
    problems.push({
      setting: name("sociVersion"),
      value: v,
      reason: `is older than ${MIN_SOCI_VERSION}, the first release with parallel pull`,
      fix: `Set ${name("sociVersion")} to ${MIN_SOCI_VERSION} or newer.`,
    });
  }
  problems.push(...digestSyntaxProblems(s, name));
  problems.push(...mirrorShapeProblems(s.sociMirrorUrl, name));
  problems.push(...mirrorUrlProblems(s, name));
  return problems;
}

function checkScaling(s: NodeGroupSettings, name: SettingNamer): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const sizes = [
    ["minSize", s.minSize],
    ["desiredSize", s.desiredSize],
    ["maxSize", s.maxSize],
  ] as const;
  let allValid = true;
  for (const [key, value] of sizes) {
    if (!Number.isInteger(value) || value < 0) {
      allValid = false;
      problems.push({ setting: name(key), value, reason: "is not a whole number of nodes ≥ 0", fix: `Set ${name(key)} to 0 or more.` });
    }
  }
  if (!allValid) return problems;
  if (s.maxSize < 1) {
    problems.push({ setting: name("maxSize"), value: s.maxSize, reason: "is 0; EKS requires at least 1", fix: `Set ${name("maxSize")} to 1 or more (scale to zero with minSize and desiredSize 0).` });
  }
  if (s.minSize > s.maxSize) {
    problems.push({
      setting: name("minSize"),
      value: s.minSize,
      reason: `is greater than maxSize (${s.maxSize})`,
      fix: `Set ${name("minSize")} ≤ ${name("maxSize")}.`,
    });
  } else if (s.desiredSize < s.minSize || s.desiredSize > s.maxSize) {
    problems.push({
      setting: name("desiredSize"),
      value: s.desiredSize,
      reason: `is outside [minSize, maxSize] = [${s.minSize}, ${s.maxSize}]`,
      fix: `Set ${name("desiredSize")} between ${s.minSize} and ${s.maxSize}.`,
    });
  }
  return problems;
}

function checkRootVolume(s: NodeGroupSettings, name: SettingNamer): ConfigProblem[] {
  const L = GP3_LIMITS;
  const problems: ConfigProblem[] = [];
  const size = s.rootVolumeSizeGiB;
  const iops = s.rootVolumeIops;
  const tp = s.rootVolumeThroughput;
  const sizeOk = Number.isInteger(size) && size >= L.minSizeGiB && size <= L.maxSizeGiB;
  if (!sizeOk) {
    problems.push({ setting: name("rootVolumeSizeGiB"), value: size, reason: `is outside ${L.minSizeGiB}..${L.maxSizeGiB} GiB`, fix: `Set ${name("rootVolumeSizeGiB")} between ${L.minSizeGiB} and ${L.maxSizeGiB} (default 100).` });
  }
  const iopsOk = Number.isInteger(iops) && iops >= L.minIops && iops <= L.maxIops;
  if (!iopsOk) {
    problems.push({ setting: name("rootVolumeIops"), value: iops, reason: `is outside gp3's ${L.minIops}..${L.maxIops} IOPS`, fix: `Set ${name("rootVolumeIops")} between ${L.minIops} and ${L.maxIops} (default 6000).` });
  } else if (sizeOk && iops > size * L.maxIopsPerGiB) {
    problems.push({
      setting: name("rootVolumeIops"),
      value: iops,
      reason: `exceeds gp3's ${L.maxIopsPerGiB} IOPS per GiB for ${size} GiB (max ${size * L.maxIopsPerGiB})`,
      fix: `Lower ${name("rootVolumeIops")} to ${size * L.maxIopsPerGiB} or raise ${name("rootVolumeSizeGiB")} to ${Math.ceil(iops / L.maxIopsPerGiB)}.`,
    });
  }
  if (!Number.isInteger(tp) || tp < L.minThroughput || tp > L.maxThroughput) {
    problems.push({ setting: name("rootVolumeThroughput"), value: tp, reason: `is outside gp3's ${L.minThroughput}..${L.maxThroughput} MiB/s`, fix: `Set ${name("rootVolumeThroughput")} between ${L.minThroughput} and ${L.maxThroughput} (default 600).` });
  } else if (iopsOk && tp > iops * L.throughputPerIops) {
    problems.push({
      setting: name("rootVolumeThroughput"),
      value: tp,
      reason: `exceeds gp3's ${L.throughputPerIops} MiB/s per provisioned IOPS (${iops} IOPS allow ${iops * L.throughputPerIops} MiB/s)`,
      fix: `Lower ${name("rootVolumeThroughput")} to ${iops * L.throughputPerIops} or raise ${name("rootVolumeIops")} to ${Math.ceil(tp / L.throughputPerIops)}.`,
    });
  }
  return problems;
}

function checkInstance(s: NodeGroupSettings, facts: InstanceFacts, name: SettingNamer): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const t = s.instanceType;
  if (!nodeArchitecture(facts)) {
    problems.push({
      setting: name("instanceType"),
      value: t,
      reason: `runs none of the EKS node architectures x86_64 or arm64 (it supports ${facts.architectures.length > 0 ? facts.architectures.join(", ") : "neither"})`,
      fix: `Set ${name("instanceType")} to an x86_64 or arm64 type such as m7i.xlarge or m7g.xlarge.`,
    });
  }
  if (s.sociMode !== "off" && (facts.vcpus < SOCI_MIN_VCPUS || facts.memoryMiB < SOCI_MIN_MEMORY_MIB)) {
    problems.push({
      setting: name("instanceType"),
      value: t,
      reason: `has ${facts.vcpus} vCPU and ${facts.memoryMiB / 1024} GiB; SOCI ${s.sociMode} mode needs at least ${SOCI_MIN_VCPUS} vCPU and ${SOCI_MIN_MEMORY_MIB / 1024} GiB`,
      fix: `Use a larger type (e.g. t3.medium, m7i.large or m7g.large), or set ${name("sociMode")} to off.`,
    });
  }
  if (s.ssd && !hasNvmeInstanceStore(facts)) {
    const suggestions = nvmeSuggestions(t);
    const hint = suggestions.length > 0 ? `Use a type with local NVMe SSDs, e.g. ${suggestions.join(" or ")}` : "Use a type with local NVMe SSDs (usually the family with d added, e.g. m6i → m6id)";
    problems.push({
      setting: name("instanceType"),
      value: t,
      reason: facts.instanceStorage ? "has instance storage, but not NVMe, so the node cannot build the RAID0 array ssd needs" : "has no NVMe instance storage, which ssd: true needs",
      fix: `${hint}, or set ${name("ssd")} to false.`,
    });
  }
  return problems;
}

function checkRegistries(s: NodeGroupSettings, name: SettingNamer): ConfigProblem[] {
  if (s.os === "bottlerocket" && s.extraEcrRegistries.length > 0) {
    return [
      {
        setting: name("extraEcrRegistries"),
        value: s.extraEcrRegistries.map(withoutUserinfo).join(", "),
        reason: "only configures the ECR credential helper soci-eks installs on AL2023; Bottlerocket pulls from any ECR registry with the node role through kubelet's ECR credential provider",
        fix: `Remove ${name("extraEcrRegistries")} from this group and allow the node role in those repositories' policies, or set ${name("os")} to al2023.`,
      },
    ];
  }
  const hosts = s.extraEcrRegistries;
  const malformed = hosts
    .filter((host) => !ECR_HOST.test(host))
    .map((host) => ({
      setting: name("extraEcrRegistries"),
      value: withoutUserinfo(host),
      reason: "is not an ECR registry host <12-digit account>.dkr.ecr.<region>.amazonaws.com",
      fix: `List bare hosts in ${name("extraEcrRegistries")}, e.g. 123456789012.dkr.ecr.us-west-2.amazonaws.com (no https://, no path).`,
    }));
  // A host listed twice is a copy-paste slip that hides the registry the user meant to add.
  const repeated = [...new Set(hosts.filter((host, i) => hosts.indexOf(host) !== i))].map((host) => ({
    setting: name("extraEcrRegistries"),
    value: withoutUserinfo(host),
    reason: "is listed more than once",
    fix: `List each registry once in ${name("extraEcrRegistries")}.`,
  }));
  return [...malformed, ...repeated];
}

function checkNodeGroupOptions(s: NodeGroupSettings, name: SettingNamer): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  if (s.keepSociOnRootVolume && !s.ssd) {
    problems.push({ setting: name("keepSociOnRootVolume"), value: true, reason: "has no effect without ssd (SOCI's data is on the root volume anyway)", fix: `Set ${name("ssd")} to true, or unset ${name("keepSociOnRootVolume")}.` });
  }
  if (s.capacityType !== undefined && s.capacityType !== "ON_DEMAND" && s.capacityType !== "SPOT") {
    problems.push({ setting: name("capacityType"), value: s.capacityType, reason: "is not ON_DEMAND or SPOT", fix: `Set ${name("capacityType")} to ON_DEMAND (default) or SPOT.` });
  }
  if (s.metadataHopLimit !== undefined && (!Number.isInteger(s.metadataHopLimit) || s.metadataHopLimit < 1 || s.metadataHopLimit > 64)) {
    problems.push({ setting: name("metadataHopLimit"), value: s.metadataHopLimit, reason: "is outside IMDS's 1..64", fix: `Set ${name("metadataHopLimit")} to 1 (default) or 2 if pods call IMDS.` });
  }
  problems.push(...checkLabels(s.labels, name("labels")), ...checkTaints(s.taints, name("taints")));
  return problems;
}

/**
 * Validates one node group in one pass. Instance facts are required for the checks that depend on the type;
 * pass `undefined` when the lookup failed (a problem is reported for that, quoting `lookupError`).
 */
export function validateNodeGroup(s: NodeGroupSettings, facts: InstanceFacts | undefined, name: SettingNamer, lookupError?: string): ConfigProblem[] {
  const problems = [...checkMode(s, name), ...checkOs(s, name), ...checkOnSociFailure(s.onSociFailure, name("onSociFailure")), ...checkAl2023Only(s, name), ...checkModeOff(s, name)];
  // Bottlerocket ships SOCI; the release settings only drive the AL2023 installer.
  if (s.sociMode !== "off" && s.os !== "bottlerocket") {
    problems.push(...checkRelease(s, name));
    // Every architecture the nodes run on needs a digest in the user data (a document for many instance types:
    // the CLI applies the same rule for both architectures).
    const arch = facts ? nodeArchitecture(facts) : undefined;
    // (Only once the mode and OS are known to install a release: a bad mode or OS is reported first.)
    if (arch && s.os === "al2023" && (s.sociMode === "lazy" || s.sociMode === "parallel")) problems.push(...releaseDigestProblems(s, [releaseArch(arch)], name));
  }
  problems.push(...checkScaling(s, name), ...checkRootVolume(s, name), ...checkRegistries(s, name), ...checkNodeGroupOptions(s, name));
  if (facts) {
    problems.push(...checkInstance(s, facts, name));
  } else {
    problems.push({ setting: name("instanceType"), value: s.instanceType, reason: `was not found by EC2 DescribeInstanceTypes in this region${lookupError ? ` (${lookupError.split("\n")[0]})` : ""}`, fix: `Set ${name("instanceType")} to an instance type offered in the stack's region, e.g. m7i.xlarge.` });
  }
  return problems;
}
