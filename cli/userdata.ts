/**
 * `soci-eks userdata`: flags → the same settings the components validate → validation/ → the user data
 * (or a Karpenter EC2NodeClass carrying it). No network calls.
 */
import {
  AT_BOOT,
  ClusterConnection,
  DEFAULT_MIRROR_BASE_URL,
  DEFAULT_SOCI_VERSION,
  NodeBootstrapOptions,
  NodeTaint,
  OsFamily,
  renderUserData,
  SociFailurePolicy,
  SociMode,
} from "../userdata";
import { RELEASE_ARCHS, releaseArch } from "../userdata/releases";
import { DEFAULTS } from "../components/defaults";
import { ClusterConnectionSettings, validateClusterConnection } from "../validation/clusterConnection";
import { nodeArchitecture } from "../validation/instanceTypes";
import { withoutUserinfo } from "../validation/mirrorTrust";
import { KarpenterNodeClassSettings } from "../validation/karpenter";
import { NodeGroupSettingKey, NodeGroupSettings, SettingNamer, validateNodeGroup } from "../validation/nodeGroup";
import { releaseDigestProblems, userReleaseDigests } from "../validation/releaseDigests";
import { flagNamer, SETTING_SPELLINGS } from "../validation/settingNames";
import { ConfigProblem, dedupeProblems } from "../validation/problems";
import { userDataSizeProblems } from "../validation/userDataSize";
import { CLUSTER_FLAGS, FlagOptions, parseFlags, throwIfUsageProblems } from "./flags";
import { resolveInstanceFacts } from "./instanceFacts";
import { BUILT_IN_INSTANCE_TYPES, INSTANCE_TABLE_AS_OF } from "./instanceTable";
import { ec2NodeClass, KarpenterFlagValues, karpenterFlagsWithoutKarpenter, karpenterFromFlags, nodePoolRequirements } from "./karpenter";

export const USERDATA_USAGE = `Usage: soci-eks userdata --instance-type T [options]

Prints launch-template user data for a SOCI node (AL2023: MIME multipart; Bottlerocket: TOML settings),
or with --karpenter a Karpenter EC2NodeClass that carries it. Every flag is checked with the rules the
Pulumi components use; a bad one exits 2 with the flag, its value and the fix. --flag VALUE or
--flag=VALUE; a value may start with - (e.g. -1); only --label, --taint and --extra-ecr-registry repeat.

Instance (the user data is sized for it):
  --instance-type T                 EC2 instance type, e.g. m7i.xlarge. ${Object.keys(BUILT_IN_INSTANCE_TYPES).length} common types are built in
                                    (EC2 DescribeInstanceTypes as of ${INSTANCE_TABLE_AS_OF}); for any other type add:
  --vcpus N --memory-mib N --arch x86_64|arm64 [--nvme-disks N]
                                    its facts as \`aws ec2 describe-instance-types\` reports them
                                    (--nvme-disks: NVMe instance-store disks, default 0)
  With --karpenter on AL2023 the instance flags are optional: without them one document serves every
  instance type (the node picks its release from uname -m and sizes SOCI from nproc at boot),
  and the NodePool requirements it assumes are printed as comments above the EC2NodeClass.

Node:
  --os al2023|bottlerocket          OS family (default al2023)
  --mode lazy|parallel|off          SOCI mode (default lazy; Bottlerocket: parallel or off)
  --ssd                             RAID0 over the NVMe instance-store disks
  --keep-soci-on-root-volume        with --ssd, keep SOCI's data on EBS
  --on-soci-failure fallback|fail   when a SOCI boot step fails: join without SOCI, labelled (default), or never join (AL2023)
  --soci-version X.Y.Z              soci-snapshotter release (default ${DEFAULT_SOCI_VERSION}, at least 0.11.0; AL2023)
  --soci-sha256 HEX | amd64=HEX,arm64=HEX
                                    the release tarball's sha256 (AL2023): required unless soci-eks ships
                                    the version's digests; an instance-agnostic document needs both
  --mirror URL                      release mirror base URL (default ${DEFAULT_MIRROR_BASE_URL})
  --extra-ecr-registry HOST         another account's ECR registry the credential helper serves, e.g.
                                    123456789012.dkr.ecr.us-west-2.amazonaws.com (repeatable; AL2023)
  --label key=value                 node label (repeatable)
  --taint key[=value]:Effect        node taint (repeatable; Effect NoSchedule, PreferNoSchedule or NoExecute)
  --cluster-name N --api-server-endpoint URL --certificate-authority B64 --service-cidr CIDR
                                    cluster fields, all four or none (EKS managed node groups add their own)

Karpenter (see docs/cli.md):
  --karpenter                       print an EC2NodeClass (karpenter.k8s.aws/v1) carrying the user data
  --role NAME | --instance-profile NAME
                                    the node IAM role (or an existing instance profile); required
  --discovery-tag VALUE             karpenter.sh/discovery tag of the subnets and security groups; required
  --node-class-name NAME            metadata.name (default soci-<mode>)
  --ami-alias FAMILY@VERSION        amiSelectorTerms alias (default <os>@latest; Bottlerocket ≥ 1.44.0)
  With --karpenter, --taint and the cluster flags are refused (Karpenter owns them) and --label warns.

  --help, -h                        this text
`;

/** The flags of `soci-eks userdata`. Facts and Karpenter flags have no defaults: absent means not given. */
export const USERDATA_FLAGS = {
  os: { type: "string", example: "bottlerocket" },
  mode: { type: "string", example: "parallel" },
  "instance-type": { type: "string", example: "m7i.xlarge" },
  vcpus: { type: "string", example: "4" },
  "memory-mib": { type: "string", example: "16384" },
  arch: { type: "string", example: "x86_64" },
  "nvme-disks": { type: "string", example: "1" },
  ssd: { type: "boolean" },
  "keep-soci-on-root-volume": { type: "boolean" },
  "on-soci-failure": { type: "string", example: "fail" },
  "soci-version": { type: "string", example: DEFAULT_SOCI_VERSION },
  "soci-sha256": { type: "string", example: "<64 hex digits>" },
  mirror: { type: "string", url: true, example: DEFAULT_MIRROR_BASE_URL },
  "cluster-name": { type: "string", example: "prod" },
  "api-server-endpoint": { type: "string", url: true, example: "https://ABCDEF0123456789.gr7.us-west-2.eks.amazonaws.com" },
  "certificate-authority": { type: "string", example: "<base64 CA data>" },
  "service-cidr": { type: "string", example: "172.20.0.0/16" },
  "extra-ecr-registry": { type: "string", multiple: true, url: true, example: "123456789012.dkr.ecr.us-west-2.amazonaws.com" },
  label: { type: "string", multiple: true, example: "team=ml" },
  taint: { type: "string", multiple: true, example: "workload=big:NoSchedule" },
  karpenter: { type: "boolean" },
  "node-class-name": { type: "string", example: "soci-lazy" },
  role: { type: "string", example: "KarpenterNodeRole-prod" },
  "instance-profile": { type: "string", example: "KarpenterNodeInstanceProfile" },
  "discovery-tag": { type: "string", example: "prod" },
  "ami-alias": { type: "string", example: "al2023@latest" },
  help: { type: "boolean", short: "h" },
} as const satisfies FlagOptions;

/** The flag that sets each node-group setting (validation/settingNames.ts); settings the CLI has no flag for keep the components' defaults. */
export const FLAG_OF: Partial<Record<NodeGroupSettingKey, string>> = Object.fromEntries(
  Object.entries(SETTING_SPELLINGS)
    .filter(([, spelling]) => spelling.flag !== undefined)
    .map(([key, spelling]) => [key, spelling.flag]),
);

/** Names node-group settings by their flags, for validation/'s messages. */
export const userdataFlagNamer: SettingNamer = flagNamer;

export { CLUSTER_FLAGS };

/**
 * The cluster fields: all four or none, each checked by validation/'s cluster rules.
 * Returns them when all four are given and valid.
 */
function clusterFromFlags(values: ClusterConnectionSettings, problems: ConfigProblem[]): ClusterConnection | undefined {
  const keys = Object.keys(CLUSTER_FLAGS) as (keyof ClusterConnectionSettings)[];
  const given = keys.filter((k) => values[k] !== undefined);
  if (given.length > 0 && given.length < keys.length) {
    const missing = keys.filter((k) => !given.includes(k)).map((k) => CLUSTER_FLAGS[k]);
    problems.push({
      setting: CLUSTER_FLAGS[given[0]],
      value: withoutUserinfo(values[given[0]]!),
      reason: `is one of four cluster fields that go together; missing ${missing.join(", ")}`,
      fix: `Pass all four of ${Object.values(CLUSTER_FLAGS).join(", ")}, or none (EKS managed node groups add them).`,
    });
  }
  const invalid = validateClusterConnection(values, (k) => CLUSTER_FLAGS[k]);
  problems.push(...invalid);
  return given.length === keys.length && invalid.length === 0 ? (values as ClusterConnection) : undefined;
}

/** `key=value` (value may be empty); a problem when there is no `=`. */
function parseLabel(text: string, problems: ConfigProblem[]): [string, string] | undefined {
  const eq = text.indexOf("=");
  if (eq < 0) {
    problems.push({ setting: "--label", value: text, reason: "is not key=value", fix: "Pass --label key=value, e.g. --label team=ml." });
    return undefined;
  }
  return [text.slice(0, eq), text.slice(eq + 1)];
}

/** `key[=value]:Effect`; the key, value and effect are then checked by validation/'s taint rule. */
function parseTaint(text: string, problems: ConfigProblem[]): NodeTaint | undefined {
  const colon = text.lastIndexOf(":");
  if (colon < 0) {
    problems.push({ setting: "--taint", value: text, reason: "is not key[=value]:Effect", fix: "Pass --taint key[=value]:Effect with Effect NoSchedule, PreferNoSchedule or NoExecute, e.g. --taint workload=big:NoSchedule." });
    return undefined;
  }
  const [key, ...rest] = text.slice(0, colon).split("=");
  const value = rest.length > 0 ? rest.join("=") : undefined;
  return { key, ...(value !== undefined ? { value } : {}), effect: text.slice(colon + 1) as NodeTaint["effect"] };
}

/** What `soci-eks userdata` prints: the renderer's inputs, and the EC2NodeClass settings with --karpenter. */
export interface UserdataRequest {
  os: OsFamily;
  options: NodeBootstrapOptions;
  karpenter?: KarpenterNodeClassSettings;
  /** Printed on stderr; the command still succeeds. */
  warnings: string[];
}

/**
 * Parses and validates the `userdata` arguments in one pass (flag syntax, instance facts, the node-group
 * rules the components use, cluster fields, Karpenter settings). Throws one UsageError listing every problem.
 */
export function parseUserdataArgs(argv: string[]): UserdataRequest {
  const v = parseFlags("userdata", argv, USERDATA_FLAGS);
  const problems: ConfigProblem[] = [];
  const warnings: string[] = [];
  const karpenter = v.karpenter ?? false;

  const factsFlags = { instanceType: v["instance-type"], vcpus: v.vcpus, memoryMiB: v["memory-mib"], arch: v.arch, nvmeDisks: v["nvme-disks"] };
  // An EC2NodeClass serves every instance type its NodePools allow: on AL2023 without instance flags the node
  // decides at boot (release from uname -m, SOCI's parallelism from nproc).
  const atBoot = karpenter && (v.os ?? DEFAULTS.os) === "al2023" && Object.values(factsFlags).every((f) => f === undefined);
  const facts = atBoot ? undefined : resolveInstanceFacts(factsFlags, problems);

  const labelPairs = (v.label ?? []).map((t) => parseLabel(t, problems)).filter((p): p is [string, string] => p !== undefined);
  const taints = (v.taint ?? []).map((t) => parseTaint(t, problems)).filter((t): t is NodeTaint => t !== undefined);
  const labels = Object.fromEntries(labelPairs);
  for (const key of new Set(labelPairs.map(([k]) => k).filter((k, i, all) => all.indexOf(k) !== i))) {
    problems.push({ setting: "--label", value: key, reason: "is given more than once", fix: `Pass --label ${key}=… once.` });
  }
  const settings: NodeGroupSettings = {
    instanceType: v["instance-type"] ?? "",
    os: v.os ?? DEFAULTS.os,
    sociMode: v.mode ?? DEFAULTS.sociMode,
    sociVersion: v["soci-version"] ?? DEFAULTS.sociVersion,
    sociSha256: v["soci-sha256"],
    sociMirrorUrl: v.mirror ?? DEFAULTS.sociMirrorUrl,
    desiredSize: DEFAULTS.desiredSize,
    minSize: DEFAULTS.minSize,
    maxSize: DEFAULTS.maxSize,
    ssd: v.ssd ?? false,
    keepSociOnRootVolume: v["keep-soci-on-root-volume"] ?? false,
    onSociFailure: v["on-soci-failure"] ?? DEFAULTS.onSociFailure,
    rootVolumeSizeGiB: DEFAULTS.rootVolumeSizeGiB,
    rootVolumeIops: DEFAULTS.rootVolumeIops,
    rootVolumeThroughput: DEFAULTS.rootVolumeThroughput,
    extraEcrRegistries: v["extra-ecr-registry"] ?? [],
    labels,
    taints,
    explicit: new Set(
      (Object.keys(FLAG_OF) as NodeGroupSettingKey[]).filter((key) => {
        const flag = FLAG_OF[key]!.slice(2) as keyof typeof USERDATA_FLAGS;
        return v[flag] !== undefined;
      }),
    ),
  };
  // The node-group rules. Without facts, resolveInstanceFacts has said why; drop the components' "not found by EC2".
  const nodeProblems = validateNodeGroup(settings, facts, userdataFlagNamer);
  problems.push(...(facts ? nodeProblems : nodeProblems.filter((p) => p.setting !== userdataFlagNamer("instanceType"))));
  // A document that picks its release at boot runs on both architectures: it needs a digest for each tarball.
  if (atBoot && (settings.sociMode === "lazy" || settings.sociMode === "parallel")) problems.push(...releaseDigestProblems(settings, RELEASE_ARCHS, userdataFlagNamer));

  const clusterValues: ClusterConnectionSettings = {
    name: v["cluster-name"],
    apiServerEndpoint: v["api-server-endpoint"],
    certificateAuthority: v["certificate-authority"],
    serviceCidr: v["service-cidr"],
  };
  const karpenterFlags: KarpenterFlagValues = {
    name: v["node-class-name"],
    role: v.role,
    instanceProfile: v["instance-profile"],
    discoveryTag: v["discovery-tag"],
    amiAlias: v["ami-alias"],
  };
  const os = settings.os as OsFamily;
  let cluster: ClusterConnection | undefined;
  let karpenterSettings: KarpenterNodeClassSettings | undefined;
  if (karpenter) {
    karpenterSettings = karpenterFromFlags(karpenterFlags, { settings, labels: v.label ?? [], taints: v.taint ?? [], cluster: clusterValues }, problems, warnings);
  } else {
    problems.push(...karpenterFlagsWithoutKarpenter(karpenterFlags));
    cluster = clusterFromFlags(clusterValues, problems);
  }
  throwIfUsageProblems(dedupeProblems(problems));

  const validFacts = facts; // a missing fact is a problem, thrown above (unless the node decides at boot)
  const mode = settings.sociMode as SociMode; // validated
  const localStorage = settings.ssd
    ? { raid0: true, keepSociOnRootVolume: settings.keepSociOnRootVolume ?? false, ...(karpenter ? { arrayBuiltByKarpenter: true } : {}) }
    : undefined;
  const sha256 = userReleaseDigests(settings.sociSha256, validFacts ? [releaseArch(nodeArchitecture(validFacts)!)] : RELEASE_ARCHS);
  const options: NodeBootstrapOptions = {
    mode,
    release: {
      version: settings.sociVersion,
      mirrorBaseUrl: settings.sociMirrorUrl.replace(/\/+$/, ""),
      ...(sha256 ? { sha256 } : {}),
    },
    instance: validFacts ?? AT_BOOT,
    architecture: validFacts ? nodeArchitecture(validFacts)! : AT_BOOT,
    ...(cluster ? { cluster } : {}),
    ...(settings.extraEcrRegistries.length > 0 ? { extraEcrRegistries: settings.extraEcrRegistries } : {}),
    ...(labelPairs.length > 0 ? { labels } : {}),
    ...(taints.length > 0 ? { taints } : {}),
    ...(localStorage ? { localStorage } : {}),
    onSociFailure: settings.onSociFailure as SociFailurePolicy, // validated
  };
  // The size rule every entry point applies: with --karpenter after Karpenter's merge; without, after an EKS managed
  // node group's (its launch template has no AMI) unless the document carries its own cluster fields.
  throwIfUsageProblems(
    userDataSizeProblems({
      os,
      options,
      merger: karpenter ? "karpenter" : cluster ? "none" : "eks",
      subject: "the printed user data",
      name: userdataFlagNamer,
      ...(cluster ? { clusterSetting: Object.values(CLUSTER_FLAGS).join(" ") } : {}),
    }),
  );
  return { os, options, ...(karpenterSettings ? { karpenter: karpenterSettings } : {}), warnings };
}

/** Runs `soci-eks userdata`: the document on `out`, warnings on `err`. Throws UsageError. */
export function runUserdata(argv: string[], out: (s: string) => void, err: (s: string) => void): void {
  const request = parseUserdataArgs(argv);
  const text = renderUserData(request.os, request.options).text;
  for (const w of request.warnings) err(`soci-eks userdata: warning: ${w}\n`);
  const arch = request.options.architecture === AT_BOOT ? undefined : releaseArch(request.options.architecture);
  out(request.karpenter ? nodePoolRequirements(request.karpenter, arch) + ec2NodeClass(request.karpenter, text) : text);
}
