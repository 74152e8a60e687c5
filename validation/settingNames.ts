/**
 * How each validated setting is spelled at each entry point, in one table. A rule in validation/ names a setting
 * through a {@link SettingNamer}; each entry point passes the namer for its own spelling, so one rule gives one
 * message everywhere and only the setting's name differs:
 *
 * - the components (`SociNodeGroup`, `SociCluster`) and the @pulumi/eks plug-in (`sociForEks`) take the same
 *   arguments: `<name>.<args path>`, e.g. `gpu.soci.version` ({@link argsNamer}); the component package
 *   (`soci-eks:index:NodeGroup` / `Cluster`) too, but for the names it spells for Python ({@link packageNamer});
 * - the stack config names config keys, `soci-eks:<key>` or `soci-eks:nodeGroups[i].<key>` (components/config.ts);
 * - the CLI names its flags, e.g. `--soci-version` ({@link flagNamer}).
 */
import type { ClusterConnectionSettings } from "./clusterConnection";
import type { NodeGroupSettingKey, SettingNamer } from "./nodeGroup";

/** The ways in: every one applies the same rules from validation/. */
export const ENTRY_POINTS = ["component", "stack", "cli", "plugin", "package"] as const;
export type EntryPoint = (typeof ENTRY_POINTS)[number];

/** One setting's spellings: its path in the arguments, its stack config key, and its CLI flag (when it has one). */
export interface SettingSpelling {
  /** Path in `SociNodeGroupArgs` (also `sociForEks`'s and the package's arguments), e.g. `soci.version`. */
  args: string;
  /** Stack config key (`soci-eks:<key>`), e.g. `sociVersion`. */
  stack: string;
  /** `soci-eks userdata` flag, e.g. `--soci-version`; absent when the CLI has none (the components' default applies). */
  flag?: string;
  /**
   * Path in the component package's arguments where it differs from `args`: Python names a property by splitting
   * its schema name at each capital (`sizeGiB` → `size_gi_b`), so the package spells `sizeGib`.
   */
  package?: string;
}

/** Every node-group setting's spellings. */
export const SETTING_SPELLINGS: Readonly<Record<NodeGroupSettingKey, SettingSpelling>> = {
  instanceType: { args: "instanceType", stack: "instanceType", flag: "--instance-type" },
  os: { args: "os", stack: "os", flag: "--os" },
  sociMode: { args: "sociMode", stack: "sociMode", flag: "--mode" },
  onSociFailure: { args: "onSociFailure", stack: "onSociFailure", flag: "--on-soci-failure" },
  sociVersion: { args: "soci.version", stack: "sociVersion", flag: "--soci-version" },
  sociSha256: { args: "soci.sha256", stack: "sociSha256", flag: "--soci-sha256" },
  sociMirrorUrl: { args: "soci.mirrorBaseUrl", stack: "sociMirrorUrl", flag: "--mirror" },
  desiredSize: { args: "scaling.desiredSize", stack: "desiredSize" },
  minSize: { args: "scaling.minSize", stack: "minSize" },
  maxSize: { args: "scaling.maxSize", stack: "maxSize" },
  ssd: { args: "ssd", stack: "ssd", flag: "--ssd" },
  keepSociOnRootVolume: { args: "keepSociOnRootVolume", stack: "keepSociOnRootVolume", flag: "--keep-soci-on-root-volume" },
  rootVolumeSizeGiB: { args: "rootVolume.sizeGiB", stack: "rootVolumeSizeGiB", package: "rootVolume.sizeGib" },
  rootVolumeIops: { args: "rootVolume.iops", stack: "rootVolumeIops" },
  rootVolumeThroughput: { args: "rootVolume.throughputMiBps", stack: "rootVolumeThroughput", package: "rootVolume.throughputMibps" },
  extraEcrRegistries: { args: "extraEcrRegistries", stack: "extraEcrRegistries", flag: "--extra-ecr-registry" },
  capacityType: { args: "capacityType", stack: "capacityType" },
  metadataHopLimit: { args: "metadataHopLimit", stack: "metadataHopLimit" },
  labels: { args: "labels", stack: "labels", flag: "--label" },
  taints: { args: "taints", stack: "taints", flag: "--taint" },
};

/** The cluster fields' spellings (the stack config has none: the cluster it creates provides them). */
export const CONNECTION_SPELLINGS: Readonly<Record<keyof ClusterConnectionSettings, { args: string; flag: string }>> = {
  name: { args: "clusterName", flag: "--cluster-name" },
  apiServerEndpoint: { args: "clusterConnection.endpoint", flag: "--api-server-endpoint" },
  certificateAuthority: { args: "clusterConnection.certificateAuthority", flag: "--certificate-authority" },
  serviceCidr: { args: "clusterConnection.serviceCidr", flag: "--service-cidr" },
};

/** The value at a setting's args path in `args` (`soci.version` → `args.soci?.version`), or undefined. */
export function argValue(args: object, key: NodeGroupSettingKey): unknown {
  return SETTING_SPELLINGS[key].args.split(".").reduce<unknown>((o, part) => (typeof o === "object" && o !== null ? (o as Record<string, unknown>)[part] : undefined), args);
}

/** The settings `args` gives (a setting at an `undefined` path counts as not given). */
export function givenSettings(args: object): ReadonlySet<NodeGroupSettingKey> {
  return new Set((Object.keys(SETTING_SPELLINGS) as NodeGroupSettingKey[]).filter((key) => argValue(args, key) !== undefined));
}

/** Names settings `<name>.<args path>`: the components, the plug-in and the package. */
export function argsNamer(name: string): SettingNamer {
  return (key) => `${name}.${SETTING_SPELLINGS[key].args}`;
}

/** A setting's path in the component package's arguments. */
export function packagePath(key: NodeGroupSettingKey): string {
  return SETTING_SPELLINGS[key].package ?? SETTING_SPELLINGS[key].args;
}

/** Names settings `<name>.<package path>`: the component package (`soci-eks:index:NodeGroup`, `Cluster`). */
export function packageNamer(name: string): SettingNamer {
  return (key) => `${name}.${packagePath(key)}`;
}

/** Names settings by their `soci-eks userdata` flag; a setting without one keeps the components' default. */
export const flagNamer: SettingNamer = (key) => SETTING_SPELLINGS[key].flag ?? `${key} (the components' default; no CLI flag)`;
