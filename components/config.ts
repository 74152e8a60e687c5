import * as pulumi from "@pulumi/pulumi";
import { NodeTaint, OsFamily, SociFailurePolicy, SociMode } from "../userdata/types";
import { NodeGroupSettingKey } from "../validation/nodeGroup";
import { closestName } from "../validation/closestName";
import { withoutUserinfo } from "../validation/mirrorTrust";
import { ConfigProblem, throwIfProblems } from "../validation/problems";
import { CLUSTER_SECURITY_DEFAULTS, ClusterSecuritySettings, ControlPlaneLogType, NatGatewayLayout, VpcCniCredentials } from "../validation/clusterSecurity";
import { DEFAULTS } from "./defaults";
import { SettingNaming, SociCluster, SociClusterArgs, SociClusterNodeGroupArgs } from "./sociCluster";

/** The config namespace (the project name in Pulumi.yaml). */
export const CONFIG_NAMESPACE = "soci-eks";

/** One entry of the `nodeGroups` stack setting. Keys it omits are taken from the top-level settings. */
export interface StackNodeGroupConfig {
  name: string;
  instanceType?: string;
  os?: string;
  ssd?: boolean;
  keepSociOnRootVolume?: boolean;
  sociMode?: string;
  onSociFailure?: string;
  labels?: Record<string, string>;
  taints?: NodeTaint[];
  desiredSize?: number;
  minSize?: number;
  maxSize?: number;
  capacityType?: string;
  rootVolumeSizeGiB?: number;
  rootVolumeIops?: number;
  rootVolumeThroughput?: number;
}

/**
 * The stack's settings, typed, with defaults applied (Pulumi.yaml's `config:` block plus `nodeGroups`); the cluster
 * hardening ones (docs/security.md) come from `ClusterSecuritySettings`.
 */
export interface StackConfig extends ClusterSecuritySettings {
  instanceType: string;
  /** `al2023` or `bottlerocket` (validated with the rest). */
  os: string;
  ssd: boolean;
  keepSociOnRootVolume: boolean;
  sociMode: string;
  /** `fallback` or `fail` (validated with the rest). */
  onSociFailure: string;
  sociVersion: string;
  sociSha256?: string;
  sociMirrorUrl: string;
  kubernetesVersion: string;
  desiredSize: number;
  minSize: number;
  maxSize: number;
  capacityType: string;
  rootVolumeSizeGiB: number;
  rootVolumeIops: number;
  rootVolumeThroughput: number;
  metadataHopLimit: number;
  ssmAccess: boolean;
  extraEcrRegistries: string[];
  existingVpcId?: string;
  existingSubnetIds?: string[];
  /** Absent: one node group named `default` from the top-level settings. */
  nodeGroups?: StackNodeGroupConfig[];
}

/** Every `soci-eks:*` key the stack reads (Pulumi.yaml declares the same set; a test keeps them equal). */
export const STACK_CONFIG_KEYS: readonly (keyof StackConfig)[] = Object.keys({
  instanceType: 1, os: 1, ssd: 1, keepSociOnRootVolume: 1, sociMode: 1, onSociFailure: 1, sociVersion: 1, sociSha256: 1, sociMirrorUrl: 1,
  kubernetesVersion: 1, desiredSize: 1, minSize: 1, maxSize: 1, capacityType: 1, rootVolumeSizeGiB: 1, rootVolumeIops: 1,
  rootVolumeThroughput: 1, metadataHopLimit: 1, ssmAccess: 1, extraEcrRegistries: 1, existingVpcId: 1, existingSubnetIds: 1,
  endpointPrivateAccess: 1, endpointPublicAccessCidrs: 1, controlPlaneLogs: 1, secretsKmsKeyArn: 1, natGateways: 1, vpcCniCredentials: 1,
  nodeGroups: 1,
} satisfies Record<keyof StackConfig, 1>) as (keyof StackConfig)[];

/** `Did you mean X? ` when `key` looks like a typo of one of `known`. */
function didYouMean(key: string, known: readonly string[]): string {
  const near = closestName(key, known);
  return near ? `Did you mean ${near}? ` : "";
}

/**
 * Problems for `soci-eks:*` keys the stack does not read, with the closest valid name. The Pulumi CLI refuses keys
 * Pulumi.yaml does not declare (its stack-config validation), but without the fix; under mocks nothing else does.
 */
export function unknownConfigKeys(all: Record<string, string>): ConfigProblem[] {
  const prefix = `${CONFIG_NAMESPACE}:`;
  return Object.keys(all)
    .filter((k) => k.startsWith(prefix) && !(STACK_CONFIG_KEYS as readonly string[]).includes(k.slice(prefix.length)))
    .sort()
    .map((k) => ({
      setting: k,
      // A misspelt sociMirrorUrl may carry a URL: shown without what stands before its last '@'.
      value: withoutUserinfo(all[k]),
      reason: "is not a soci-eks setting",
      fix: `${didYouMean(k.slice(prefix.length), STACK_CONFIG_KEYS)}Remove it (pulumi config rm ${k}) or use a setting from docs/config-reference.md.`,
    }));
}

/** Keys a `nodeGroups` entry may set, and the JSON type of each. */
const NODE_GROUP_KEYS: Record<keyof StackNodeGroupConfig, "string" | "boolean" | "number" | "object" | "array"> = {
  name: "string",
  instanceType: "string",
  os: "string",
  ssd: "boolean",
  keepSociOnRootVolume: "boolean",
  sociMode: "string",
  onSociFailure: "string",
  labels: "object",
  taints: "array",
  desiredSize: "number",
  minSize: "number",
  maxSize: "number",
  capacityType: "string",
  rootVolumeSizeGiB: "number",
  rootVolumeIops: "number",
  rootVolumeThroughput: "number",
};

function typeOf(value: unknown): string {
  if (Array.isArray(value)) return "array";
  if (value === null) return "null";
  return typeof value;
}

/** Checks the shape of the `nodeGroups` setting (object types are not checked by the Pulumi CLI). */
export function parseNodeGroups(raw: unknown, problems: ConfigProblem[]): StackNodeGroupConfig[] | undefined {
  const setting = `${CONFIG_NAMESPACE}:nodeGroups`;
  if (raw === undefined || (Array.isArray(raw) && raw.length === 0)) return undefined;
  if (!Array.isArray(raw)) {
    problems.push({ setting, value: raw, reason: "is not a list of node groups", fix: "Write nodeGroups as a YAML list of objects with at least a name (see Pulumi.ssd.yaml)." });
    return undefined;
  }
  const groups: StackNodeGroupConfig[] = [];
  raw.forEach((entry: unknown, i) => {
    if (typeOf(entry) !== "object") {
      problems.push({ setting: `${setting}[${i}]`, value: entry, reason: "is not an object", fix: "Give each node group as an object with at least a name." });
      return;
    }
    const obj = entry as Record<string, unknown>;
    let ok = true;
    for (const [key, value] of Object.entries(obj)) {
      const expected = NODE_GROUP_KEYS[key as keyof StackNodeGroupConfig];
      if (!expected) {
        ok = false;
        problems.push({
          setting: `${setting}[${i}].${key}`,
          reason: "is not a node group setting",
          fix: `${didYouMean(key, Object.keys(NODE_GROUP_KEYS))}Use only ${Object.keys(NODE_GROUP_KEYS).join(", ")}.`,
        });
      } else if (typeOf(value) !== expected) {
        ok = false;
        problems.push({ setting: `${setting}[${i}].${key}`, value, reason: `is a ${typeOf(value)}, not a ${expected}`, fix: `Write ${key} as a ${expected}.` });
      }
    }
    if (typeof obj.name !== "string") {
      ok = false;
      problems.push({ setting: `${setting}[${i}].name`, reason: "is missing", fix: "Give every node group a name, e.g. general." });
    }
    if (ok) groups.push(obj as unknown as StackNodeGroupConfig);
  });
  return groups;
}

/**
 * Reads the stack's settings with their types and defaults. Scalar types are enforced by the Pulumi CLI
 * against Pulumi.yaml; `nodeGroups` (an object list, not expressible there) is checked here, and a
 * malformed one stops the program with a {@link SociConfigError} before any resource exists.
 */
export function loadStackConfig(
  config: pulumi.Config = new pulumi.Config(CONFIG_NAMESPACE),
  allConfig: Record<string, string> = pulumi.runtime.allConfig(),
): StackConfig {
  const problems: ConfigProblem[] = unknownConfigKeys(allConfig);
  const read = typedReader(config, problems);
  const nodeGroups = parseNodeGroups(read.object("nodeGroups"), problems);
  const existingSubnetIds = read.list("existingSubnetIds");
  const cfg: StackConfig = {
    instanceType: read.str("instanceType") ?? DEFAULTS.instanceType,
    os: read.str("os") ?? DEFAULTS.os,
    ssd: read.bool("ssd") ?? DEFAULTS.ssd,
    keepSociOnRootVolume: read.bool("keepSociOnRootVolume") ?? false,
    sociMode: read.str("sociMode") ?? DEFAULTS.sociMode,
    onSociFailure: read.str("onSociFailure") ?? DEFAULTS.onSociFailure,
    sociVersion: read.str("sociVersion") ?? DEFAULTS.sociVersion,
    sociSha256: read.str("sociSha256"),
    sociMirrorUrl: read.str("sociMirrorUrl") ?? DEFAULTS.sociMirrorUrl,
    kubernetesVersion: read.str("kubernetesVersion") ?? DEFAULTS.kubernetesVersion,
    desiredSize: read.int("desiredSize") ?? DEFAULTS.desiredSize,
    minSize: read.int("minSize") ?? DEFAULTS.minSize,
    maxSize: read.int("maxSize") ?? DEFAULTS.maxSize,
    capacityType: read.str("capacityType") ?? DEFAULTS.capacityType,
    rootVolumeSizeGiB: read.int("rootVolumeSizeGiB") ?? DEFAULTS.rootVolumeSizeGiB,
    rootVolumeIops: read.int("rootVolumeIops") ?? DEFAULTS.rootVolumeIops,
    rootVolumeThroughput: read.int("rootVolumeThroughput") ?? DEFAULTS.rootVolumeThroughput,
    metadataHopLimit: read.int("metadataHopLimit") ?? DEFAULTS.metadataHopLimit,
    ssmAccess: read.bool("ssmAccess") ?? DEFAULTS.ssmAccess,
    extraEcrRegistries: read.list("extraEcrRegistries") ?? [],
    existingVpcId: read.str("existingVpcId"),
    existingSubnetIds: existingSubnetIds && existingSubnetIds.length > 0 ? existingSubnetIds : undefined,
    endpointPrivateAccess: read.bool("endpointPrivateAccess") ?? CLUSTER_SECURITY_DEFAULTS.endpointPrivateAccess,
    endpointPublicAccessCidrs: read.list("endpointPublicAccessCidrs") ?? [...CLUSTER_SECURITY_DEFAULTS.endpointPublicAccessCidrs],
    controlPlaneLogs: read.list("controlPlaneLogs") ?? [...CLUSTER_SECURITY_DEFAULTS.controlPlaneLogs],
    secretsKmsKeyArn: read.str("secretsKmsKeyArn"),
    natGateways: read.str("natGateways") ?? CLUSTER_SECURITY_DEFAULTS.natGateways,
    vpcCniCredentials: read.str("vpcCniCredentials") ?? CLUSTER_SECURITY_DEFAULTS.vpcCniCredentials,
    nodeGroups,
  };
  throwIfProblems(problems);
  return cfg;
}

/** Typed reads of `soci-eks:*` keys; a value of the wrong type is a problem in soci-eks's wording (not the SDK's). */
function typedReader(config: pulumi.Config, problems: ConfigProblem[]) {
  const raw = (key: string) => {
    const v = config.get(key);
    return v === undefined || v === "" ? undefined : v;
  };
  const wrongType = (key: string, value: string, what: string, example: string) =>
    problems.push({
      setting: `${CONFIG_NAMESPACE}:${key}`,
      value,
      reason: `is not ${what}`,
      fix: `Set ${CONFIG_NAMESPACE}:${key} to ${what}, e.g. \`pulumi config set ${CONFIG_NAMESPACE}:${key} ${example}\`, or remove it for the default.`,
    });
  return {
    str: raw,
    int(key: keyof StackConfig): number | undefined {
      const v = raw(key);
      if (v === undefined) return undefined;
      if (/^-?\d+$/.test(v.trim()) && Number.isSafeInteger(Number(v))) return Number(v);
      wrongType(key, v, "a whole number", String(DEFAULTS[key as keyof typeof DEFAULTS] ?? 1));
      return undefined;
    },
    bool(key: keyof StackConfig): boolean | undefined {
      const v = raw(key);
      if (v === undefined) return undefined;
      if (v === "true" || v === "false") return v === "true";
      wrongType(key, v, "true or false", "true");
      return undefined;
    },
    /** A JSON value (lists and objects arrive as JSON text); a value that is not JSON is a problem. */
    object(key: keyof StackConfig): unknown {
      const v = raw(key);
      if (v === undefined) return undefined;
      try {
        return JSON.parse(v);
      } catch {
        problems.push({
          setting: `${CONFIG_NAMESPACE}:${key}`,
          value: v,
          reason: key === "nodeGroups" ? "is not a list of node groups" : "is not a list",
          fix: `Write ${key} as a YAML list in Pulumi.<stack>.yaml, or use pulumi config set --path '${CONFIG_NAMESPACE}:${key}[0]' VALUE.`,
        });
        return undefined;
      }
    },
    /** A list of strings; one plain string counts as a list of one. */
    list(key: keyof StackConfig): string[] | undefined {
      const v = raw(key);
      if (v === undefined) return undefined;
      let parsed: unknown = v;
      if (/^\s*[[{"]/.test(v)) {
        parsed = this.object(key);
        if (parsed === undefined) return undefined;
      }
      if (typeof parsed === "string") return [parsed];
      if (Array.isArray(parsed) && parsed.every((x) => typeof x === "string")) return parsed as string[];
      problems.push({
        setting: `${CONFIG_NAMESPACE}:${key}`,
        value: parsed,
        reason: "is not a list of strings",
        fix: `Write ${key} as a YAML list of strings in Pulumi.<stack>.yaml.`,
      });
      return undefined;
    },
  };
}

/** Group keys that fall back to a top-level key of the same name. */
const INHERITED: (keyof StackNodeGroupConfig & keyof StackConfig)[] = [
  "instanceType", "os", "ssd", "keepSociOnRootVolume", "sociMode", "desiredSize", "minSize", "maxSize", "capacityType",
  "rootVolumeSizeGiB", "rootVolumeIops", "rootVolumeThroughput",
];

/** Maps the stack config to {@link SociClusterArgs} and names every setting as the user wrote it. */
export function clusterArgsFromStackConfig(cfg: StackConfig): { args: Omit<SociClusterArgs, "instanceFacts">; naming: SettingNaming } {
  const groups: StackNodeGroupConfig[] = cfg.nodeGroups ?? [{ name: "default" }];
  const explicit = groups.map((g) => new Set(Object.keys(g)));
  const ns = CONFIG_NAMESPACE;
  // The installer's top-level settings, when they differ from their defaults (Pulumi fills every key with its
  // Pulumi.yaml default, so "set" means "changed"). They reach the groups that run soci-eks's installer (AL2023, a
  // SOCI mode other than off); the other groups (Bottlerocket, or sociMode off) inherit them only when no group runs
  // the installer: then they apply to nothing, and validation refuses them under their top-level keys.
  const runsInstaller = (g: StackNodeGroupConfig) => (g.os ?? cfg.os) !== "bottlerocket" && (g.sociMode ?? cfg.sociMode) !== "off";
  const anyInstaller = groups.some(runsInstaller);
  const release = {
    ...(cfg.sociVersion !== DEFAULTS.sociVersion ? { version: cfg.sociVersion } : {}),
    ...(cfg.sociSha256 !== undefined ? { sha256: cfg.sociSha256 } : {}),
    ...(cfg.sociMirrorUrl !== DEFAULTS.sociMirrorUrl ? { mirrorBaseUrl: cfg.sociMirrorUrl } : {}),
  };
  const nodeGroups: SociClusterNodeGroupArgs[] = groups.map((g) => {
    const v = <K extends (typeof INHERITED)[number]>(key: K) => (g[key] ?? cfg[key]) as StackConfig[K];
    const inheritsAl2023Only = runsInstaller(g) || !anyInstaller;
    const onSociFailure = g.onSociFailure ?? (inheritsAl2023Only && cfg.onSociFailure !== DEFAULTS.onSociFailure ? cfg.onSociFailure : undefined);
    return {
      name: g.name,
      instanceType: v("instanceType"),
      os: v("os") as OsFamily, // validated with the rest
      ssd: v("ssd"),
      keepSociOnRootVolume: v("keepSociOnRootVolume"),
      sociMode: v("sociMode") as SociMode, // validated with the rest
      ...(onSociFailure !== undefined ? { onSociFailure: onSociFailure as SociFailurePolicy } : {}), // validated with the rest
      soci: inheritsAl2023Only ? release : {},
      scaling: { desiredSize: v("desiredSize"), minSize: v("minSize"), maxSize: v("maxSize") },
      rootVolume: { sizeGiB: v("rootVolumeSizeGiB"), iops: v("rootVolumeIops"), throughputMiBps: v("rootVolumeThroughput") },
      capacityType: v("capacityType") as "ON_DEMAND" | "SPOT", // validated with the rest
      metadataHopLimit: cfg.metadataHopLimit,
      ssmAccess: cfg.ssmAccess,
      extraEcrRegistries: inheritsAl2023Only ? cfg.extraEcrRegistries : [],
      ...(g.labels ? { labels: g.labels } : {}),
      ...(g.taints ? { taints: g.taints } : {}),
    };
  });
  const TOP_ONLY: Partial<Record<NodeGroupSettingKey, string>> = {
    sociVersion: "sociVersion",
    sociSha256: "sociSha256",
    sociMirrorUrl: "sociMirrorUrl",
    extraEcrRegistries: "extraEcrRegistries",
    metadataHopLimit: "metadataHopLimit",
  };
  const naming: SettingNaming = {
    cluster: (key) => `${ns}:${key}`,
    group: (i, key) => {
      const top = TOP_ONLY[key as NodeGroupSettingKey];
      if (top) return `${ns}:${top}`;
      if (!cfg.nodeGroups) return `${ns}:${key === "name" ? "nodeGroups" : key}`;
      if (key === "name" || key === "labels" || key === "taints" || explicit[i].has(key)) return `${ns}:nodeGroups[${i}].${key}`;
      return `${ns}:${key}`;
    },
  };
  return {
    args: {
      kubernetesVersion: cfg.kubernetesVersion,
      nodeGroups,
      ...(cfg.existingVpcId ? { existingVpcId: cfg.existingVpcId } : {}),
      ...(cfg.existingSubnetIds ? { existingSubnetIds: cfg.existingSubnetIds } : {}),
      endpointPrivateAccess: cfg.endpointPrivateAccess,
      endpointPublicAccessCidrs: cfg.endpointPublicAccessCidrs,
      controlPlaneLogs: cfg.controlPlaneLogs as ControlPlaneLogType[], // validated with the rest
      ...(cfg.secretsKmsKeyArn ? { secretsKmsKeyArn: cfg.secretsKmsKeyArn } : {}),
      natGateways: cfg.natGateways as NatGatewayLayout, // validated with the rest
      vpcCniCredentials: cfg.vpcCniCredentials as VpcCniCredentials, // validated with the rest
    },
    naming,
  };
}

/** Looks up instance facts, validates every setting with config-key names, then creates the {@link SociCluster}. */
export function deployStack(name: string, cfg: StackConfig, opts?: pulumi.ComponentResourceOptions): Promise<SociCluster> {
  const { args, naming } = clusterArgsFromStackConfig(cfg);
  return SociCluster.create(name, args, opts, naming);
}
