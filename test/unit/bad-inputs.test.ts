/**
 * One table of inputs across the five entry points: the CLI, the stack config, the components (SociNodeGroup), the
 * @pulumi/eks plug-in (`sociForEks`) and the component package (`soci-eks:index:NodeGroup`). A bad input must be
 * refused before anything is printed or created, with a message naming the setting, the value and the fix; a good
 * one must pass everywhere. Every rule in {@link SHARED_RULES} runs at all five entry points, and its message is the
 * same text at each but for the setting's name (validation/settingNames.ts spells it per entry point).
 *
 * The package runs through its provider's Construct (`SociEksProvider.construct`, as the engine calls it), with its
 * own spelling of the arguments (validation/settingNames.ts `package`).
 */
import { strict as assert } from "assert";
import { readFileSync } from "fs";
import * as path from "path";
import { beforeEach, describe, it } from "node:test";
import * as pulumi from "@pulumi/pulumi";
import { INSTANCE_TYPES, installMocks, settle } from "../helpers/mocks";

const mocks = installMocks(false);
// Components load after the mocks are installed.
// eslint-disable-next-line @typescript-eslint/no-var-requires
const components: typeof import("../../components") = require("../../components");
// eslint-disable-next-line @typescript-eslint/no-var-requires
const config: typeof import("../../components/config") = require("../../components/config");
// eslint-disable-next-line @typescript-eslint/no-var-requires
const eksPlugin: typeof import("../../components/eksPlugin") = require("../../components/eksPlugin");
// eslint-disable-next-line @typescript-eslint/no-var-requires
const pkg: typeof import("../../components/package") = require("../../components/package");
// eslint-disable-next-line @typescript-eslint/no-var-requires
const cli: typeof import("../../cli/main") = require("../../cli/main");
import { instanceFactsFromEc2 } from "../../validation/instanceTypes";
import { formatProblem, showValue } from "../../validation/problems";
import { builtInVersionCatalog } from "../../validation/kubernetesVersions";
import { NodeGroupSettingKey } from "../../validation/nodeGroup";
import { argValue, CONNECTION_SPELLINGS, ENTRY_POINTS, EntryPoint, givenSettings, packagePath, SETTING_SPELLINGS } from "../../validation/settingNames";
import { showTaint } from "../../validation/labels";
import { InstanceFacts } from "../../userdata/types";
import { KNOWN_RELEASE_DIGESTS } from "../../userdata/releases";
import { TEST_ONLY_SOCI_SHA256 } from "../helpers/options";

const { SociNodeGroup, SociConfigError, validateSociClusterArgs } = components;
/** The package's provider, serving provider/schema.json as the plugin process does. */
const provider = new pkg.SociEksProvider(path.resolve(__dirname, "..", "..", "..", "provider"));

/** A fixed day inside every calendar window the stack cases touch (the Kubernetes version is not under test here). */
const TODAY = new Date("2026-12-01T00:00:00Z");
const CA = Buffer.from("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n").toString("base64");
const PEM = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
const ENDPOINT = "https://ABCDEF0123456789.gr7.us-west-2.eks.amazonaws.com";
const CLUSTER: Record<string, string> = { "--cluster-name": "prod", "--api-server-endpoint": ENDPOINT, "--certificate-authority": CA, "--service-cidr": "172.20.0.0/16" };
const KARPENTER_FLAGS: Record<string, string> = { "--role": "KarpenterNodeRole-prod", "--discovery-tag": "prod" };
const KARPENTER = ["--karpenter", ...Object.entries(KARPENTER_FLAGS).flat()];
const SHA = "ab".repeat(32);
const ECR = "123456789012.dkr.ecr.us-west-2.amazonaws.com";

/** The four cluster flags, with some values replaced. */
function clusterFlags(overrides: Record<string, string>): string[] {
  return Object.entries({ ...CLUSTER, ...overrides }).flat();
}

/** --karpenter with its required flags, some values replaced. */
function karpenterFlags(overrides: Record<string, string>): string[] {
  return ["--karpenter", ...Object.entries({ ...KARPENTER_FLAGS, ...overrides }).flat()];
}

function facts(instanceType: string): InstanceFacts {
  return instanceFactsFromEc2({ instanceType, ...(INSTANCE_TYPES[instanceType] as object) } as Parameters<typeof instanceFactsFromEc2>[0]);
}

/** What an entry point did with an input: whether it refused, and its message lines (`setting: value reason. fix`). */
interface Outcome {
  refused: boolean;
  lines: string[];
  /** What it produced (printed bytes, registered resources, returned arguments). */
  produced: number;
}

type Kind = EntryPoint;

interface BadInput {
  kind: Kind;
  /** What is wrong, for the test name. */
  what: string;
  /** The shared rule, when the same rule is applied by more than one entry point. */
  rule?: string;
  run: () => Promise<Outcome>;
  setting: string;
  /** The offending value as the message shows it; absent for a missing setting. */
  value?: unknown;
  /** A piece of the fix the message must carry. */
  fix: string;
}

function problemLines(text: string): string[] {
  return text.split("\n").filter((l) => l.startsWith("  - ")).map((l) => l.slice(4));
}

/** Runs the CLI in-process (the same `main` the bin runs). */
function cliRun(...args: string[]): () => Promise<Outcome> {
  return async () => {
    let out = "";
    let err = "";
    const code = cli.main(args, (s) => (out += s), (s) => (err += s));
    return { refused: code === 2, lines: problemLines(err), produced: out.length };
  };
}

const ud = (...args: string[]) => cliRun("userdata", ...args);

/** Runs the stack config path: Pulumi config → loadStackConfig → clusterArgsFromStackConfig → validateSociClusterArgs. */
function stackRun(settings: Record<string, unknown>): () => Promise<Outcome> {
  return async () => {
    pulumi.runtime.setAllConfig(Object.fromEntries(Object.entries(settings).map(([k, v]) => [`soci-eks:${k}`, typeof v === "string" ? v : JSON.stringify(v)])));
    try {
      const cfg = config.loadStackConfig(new pulumi.Config("soci-eks"));
      const { args, naming } = config.clusterArgsFromStackConfig(cfg);
      const types = new Set(args.nodeGroups.map((g) => g.instanceType ?? "m7i.xlarge"));
      const factsMap = new Map([...types].filter((t) => INSTANCE_TYPES[t]).map((t) => [t, facts(t)]));
      const result = validateSociClusterArgs(args, factsMap, naming, builtInVersionCatalog(TODAY));
      return { refused: result.problems.length > 0, lines: result.problems.map(formatProblem), produced: result.problems.length > 0 ? 0 : args.nodeGroups.length };
    } catch (e) {
      if (!(e instanceof SociConfigError)) throw e;
      return { refused: true, lines: problemLines(e.message), produced: 0 };
    }
  };
}

type ComponentArgs = Partial<import("../../components/sociNodeGroup").SociNodeGroupArgs>;

/** Runs a synchronous entry point under fresh mocks: refused when it throws a SociConfigError; counts what it registered. */
function syncRun(call: () => unknown): () => Promise<Outcome> {
  return async () => {
    mocks.reset();
    let refused = false;
    let lines: string[] = [];
    try {
      call();
    } catch (e) {
      if (!(e instanceof SociConfigError)) throw e;
      refused = true;
      lines = problemLines(e.message);
    }
    await settle(mocks, 20);
    return { refused, lines, produced: mocks.resources.length };
  };
}

/** Constructs a SociNodeGroup named `ng` with the given args (facts of `instanceType`, default m7i.xlarge). */
function componentRun(args: ComponentArgs): () => Promise<Outcome> {
  const instanceType = args.instanceType ?? "m7i.xlarge";
  return syncRun(() => new SociNodeGroup("ng", { clusterName: "prod", subnetIds: [], instanceFacts: facts(instanceType), ...args, instanceType }));
}

/**
 * Calls the @pulumi/eks plug-in, `sociForEks("ng", args)`, with the facts of `instanceType` (or of `factsOf`); what it
 * produced is the resources it registered (its launch template) once it accepted.
 */
function pluginRun(args: ComponentArgs, factsOf?: string): () => Promise<Outcome> {
  const instanceFacts = facts(factsOf ?? args.instanceType ?? "m7i.xlarge");
  return syncRun(() => eksPlugin.sociForEks("ng", { ...args, instanceFacts } as import("../../components/eksPlugin").SociForEksArgs));
}

/**
 * The package's NodeGroup `ng` through the provider's Construct (facts from mocked EC2, validation, then its children);
 * `args` in the package's spelling. What it produced is what registered under the component.
 */
function packageRun(args: Record<string, unknown>): () => Promise<Outcome> {
  return async () => {
    mocks.reset();
    let error: unknown;
    try {
      await provider.construct("ng", "soci-eks:index:NodeGroup", { clusterName: "prod", subnetIds: ["subnet-a", "subnet-b"], ...args }, {});
    } catch (e) {
      error = e;
    }
    await settle(mocks, 20);
    const produced = mocks.resources.filter((r) => r.type !== "soci-eks:index:NodeGroup").length;
    if (error === undefined) return { refused: false, lines: [], produced };
    if (!(error instanceof SociConfigError)) throw error;
    return { refused: true, lines: problemLines(error.message), produced };
  };
}

/** A node group's settings in the components' spelling, the one neutral form {@link at} turns into each entry point's. */
interface GroupInput {
  instanceType?: string;
  os?: string;
  sociMode?: string;
  onSociFailure?: string;
  soci?: { version?: string; sha256?: string; mirrorBaseUrl?: string };
  ssd?: boolean;
  keepSociOnRootVolume?: boolean;
  extraEcrRegistries?: string[];
  labels?: Record<string, string>;
  taints?: Record<string, unknown>[];
  scaling?: { desiredSize?: number; minSize?: number; maxSize?: number };
  rootVolume?: { sizeGiB?: number; iops?: number; throughputMiBps?: number };
  capacityType?: string;
  metadataHopLimit?: number;
}

/** A group input as node-group settings: the values at the args paths of validation/settingNames.ts. */
function settingValues(g: GroupInput): [NodeGroupSettingKey, unknown][] {
  return [...givenSettings(g)].map((key) => [key, argValue(g, key)]);
}

/** The CLI flags of a group input, spelled by the table (`--instance-type` always: the CLI has no default type). */
function cliFlags(g: GroupInput): string[] {
  const flags: string[] = g.instanceType === undefined ? ["--instance-type", "m7i.xlarge"] : [];
  for (const [key, value] of settingValues(g)) {
    const flag = SETTING_SPELLINGS[key].flag!;
    if (key === "labels") flags.push(...Object.entries(value as Record<string, string>).flatMap(([k, v]) => [flag, `${k}=${v}`]));
    else if (key === "taints") flags.push(...(value as unknown[]).flatMap((t) => [flag, showTaint(t)]));
    else if (Array.isArray(value)) flags.push(...value.flatMap((v) => [flag, String(v)]));
    else if (typeof value === "boolean") flags.push(...(value ? [flag] : []));
    else flags.push(flag, String(value));
  }
  return flags;
}

/** The stack config of a group input, spelled by the table: top-level keys, labels and taints on the one node group. */
function stackSettings(g: GroupInput): Record<string, unknown> {
  const s: Record<string, unknown> = {};
  const group: Record<string, unknown> = {};
  for (const [key, value] of settingValues(g)) (key === "labels" || key === "taints" ? group : s)[SETTING_SPELLINGS[key].stack] = value;
  if (Object.keys(group).length > 0) s.nodeGroups = [{ name: "ng", ...group }];
  return s;
}

/** The package's arguments of a group input: each setting at its package path (validation/settingNames.ts). */
function packageArgs(g: GroupInput): Record<string, unknown> {
  const args: Record<string, unknown> = {};
  for (const [key, value] of settingValues(g)) {
    const parts = packagePath(key).split(".");
    let node = args;
    for (const part of parts.slice(0, -1)) node = (node[part] ??= {}) as Record<string, unknown>;
    node[parts[parts.length - 1]] = value;
  }
  return args;
}

/**
 * A group input with the release digests an AL2023 group of the default release needs (soci-eks ships none for
 * 0.16.1): the test-only stand-ins for both architectures, unless the input names `soci.sha256` itself (also as
 * `undefined`, to go without), or runs Bottlerocket or sociMode off (which take none).
 */
function withDigest(g: GroupInput): GroupInput {
  if (g.os === "bottlerocket" || g.sociMode === "off" || (g.soci !== undefined && "sha256" in g.soci)) return g;
  return { ...g, soci: { ...g.soci, sha256: TEST_ONLY_SOCI_SHA256 } };
}

/** One group input at one entry point. */
function at(kind: Kind, input: GroupInput): () => Promise<Outcome> {
  const g = withDigest(input);
  switch (kind) {
    case "cli":
      return ud(...cliFlags(g));
    case "stack":
      return stackRun(stackSettings(g));
    case "component":
      return componentRun(g as ComponentArgs);
    case "plugin":
      return pluginRun(g as ComponentArgs);
    case "package":
      return packageRun(packageArgs(g));
  }
}

/** The name of a setting at an entry point, as its messages spell it (validation/settingNames.ts). */
function settingAt(kind: Kind, key: NodeGroupSettingKey, input: GroupInput): string {
  const spelling = SETTING_SPELLINGS[key];
  switch (kind) {
    case "cli":
      return spelling.flag!;
    case "stack":
      return (key === "labels" || key === "taints") && (input.labels || input.taints) ? `soci-eks:nodeGroups[0].${spelling.stack}` : `soci-eks:${spelling.stack}`;
    case "package":
      return `ng.${packagePath(key)}`;
    default:
      return `ng.${spelling.args}`;
  }
}

/** A rule every entry point applies: one input, the setting it names, the value it shows, a piece of its fix. */
interface SharedRule {
  rule: string;
  input: GroupInput;
  key: NodeGroupSettingKey;
  value: unknown;
  /** A piece of the fix; `<key>` (e.g. `<sociMode>`) stands for that setting as each entry point spells it. */
  fix: string;
  /** The entry points that have the setting (default: all five; the CLI has no flag for sizes, volumes, capacity or IMDS). */
  at?: readonly Kind[];
}

/** The entry points that take volumes and IMDS settings (the CLI prints user data only). */
const NOT_CLI: readonly Kind[] = ENTRY_POINTS.filter((k) => k !== "cli");
/** The entry points that create the node group and so take its sizes and capacity type (the plug-in leaves them to @pulumi/eks). */
const NODE_GROUP_OWNERS: readonly Kind[] = ["stack", "component", "package"];

const taints = (n: number) => Array.from({ length: n }, (_, i) => ({ key: `t${i}`, effect: "NoSchedule" }));

const SHARED_RULES: SharedRule[] = [
  // Mode, OS, release
  { rule: "unknown mode", input: { sociMode: "fast" }, key: "sociMode", value: "fast", fix: "to lazy (default), parallel or off" },
  { rule: "unknown OS", input: { os: "windows" }, key: "os", value: "windows", fix: "to al2023 (default) or bottlerocket" },
  { rule: "lazy (the default) on Bottlerocket", input: { os: "bottlerocket" }, key: "sociMode", value: "lazy", fix: "to parallel or off" },
  { rule: "soci 0.5.0", input: { soci: { version: "0.5.0" } }, key: "sociVersion", value: "0.5.0", fix: "to 0.11.0 or newer" },
  { rule: "soci version with a v", input: { soci: { version: "v0.16.1" } }, key: "sociVersion", value: "v0.16.1", fix: "Drop the v" },
  { rule: "soci version not X.Y.Z", input: { soci: { version: "0.16" } }, key: "sociVersion", value: "0.16", fix: "without a leading v" },
  { rule: "sha256 not a digest", input: { soci: { sha256: "abc" } }, key: "sociSha256", value: "abc", fix: "sha256sum soci-snapshotter-" },
  { rule: "sha256 for an unknown architecture", input: { soci: { sha256: `x86_64=${SHA}` } }, key: "sociSha256", value: `x86_64=${SHA}`, fix: "amd64=<digest>,arm64=<digest>" },
  // Release pinning (issue 19): a node trusts no checksum from the mirror, so the user data carries every digest
  { rule: "no digest for the default release", input: { soci: { sha256: undefined } }, key: "sociSha256", value: undefined, fix: "to the sha256 of soci-snapshotter-0.16.1-linux-amd64.tar.gz" },
  { rule: "an http mirror without a digest", input: { soci: { mirrorBaseUrl: "http://mirror.example/soci", sha256: undefined } }, key: "sociSha256", value: undefined, fix: "or set" },
  { rule: "an amd64 digest for arm64 nodes", input: { instanceType: "m7g.xlarge", soci: { sha256: `amd64=${SHA}` } }, key: "sociSha256", value: `amd64=${SHA}`, fix: "to arm64=<sha256 of soci-snapshotter-0.16.1-linux-arm64.tar.gz>" },
  { rule: "a digest other than the shipped one", input: { soci: { version: "0.14.1", sha256: SHA } }, key: "sociSha256", value: SHA, fix: "Remove the amd64 digest" },
  { rule: "ftp mirror", input: { soci: { mirrorBaseUrl: "ftp://mirror.example/soci" } }, key: "sociMirrorUrl", value: "ftp://mirror.example/soci", fix: "the base that holds v<version>/" },
  { rule: "mirror with a query", input: { soci: { mirrorBaseUrl: "https://mirror.example/soci?token=x" } }, key: "sociMirrorUrl", value: "https://mirror.example/soci?token=x", fix: "the base that holds v<version>/" },
  // Credentials in the mirror URL (issue 19): refused, and the message shows the URL without them
  { rule: "credentials in the mirror URL", input: { soci: { mirrorBaseUrl: "https://user:s3cr3t@mirror.example/soci" } }, key: "sociMirrorUrl", value: "https://***@mirror.example/soci", fix: "without '@' before the host" },
  { rule: "a host-like user part in the mirror URL", input: { soci: { mirrorBaseUrl: "https://github.com@evil.example/soci" } }, key: "sociMirrorUrl", value: "https://***@evil.example/soci", fix: "e.g. https://github.com/" },
  // Whatever stands between the scheme and the last '@' is hidden, however the URL is cut (a / ? or \\ in the user
  // part, no //, a leading space): the table's check finds no s3cr3t in any message line
  { rule: "credentials with a / in the mirror URL's user part", input: { soci: { mirrorBaseUrl: "https://user:s3c/r3t@mirror.example/soci" } }, key: "sociMirrorUrl", value: "https://***@mirror.example/soci", fix: "the base that holds v<version>/" },
  { rule: "credentials with a ? in the mirror URL's user part", input: { soci: { mirrorBaseUrl: "https://user:s3cr3t?x@mirror.example/soci" } }, key: "sociMirrorUrl", value: "https://***@mirror.example/soci", fix: "the base that holds v<version>/" },
  { rule: "credentials in a mirror URL without //", input: { soci: { mirrorBaseUrl: "https:user:s3cr3t@mirror.example/soci" } }, key: "sociMirrorUrl", value: "https:***@mirror.example/soci", fix: "the base that holds v<version>/" },
  { rule: "credentials in a mirror URL with backslashes", input: { soci: { mirrorBaseUrl: "https:\\\\user:s3cr3t@mirror.example/soci" } }, key: "sociMirrorUrl", value: "https:\\\\***@mirror.example/soci", fix: "the base that holds v<version>/" },
  { rule: "credentials in a mirror URL with a leading space", input: { soci: { mirrorBaseUrl: " https://user:s3cr3t@mirror.example/soci" } }, key: "sociMirrorUrl", value: " https://***@mirror.example/soci", fix: "the base that holds v<version>/" },
  { rule: "credentials in an ECR registry", input: { extraEcrRegistries: [`https://user:s3cr3t@${ECR}`] }, key: "extraEcrRegistries", value: `https://***@${ECR}`, fix: "no https://, no path" },
  // The installer tells http from https by the lowercase bytes: HTTP:// would fail every download
  { rule: "a mirror URL with an uppercase scheme", input: { soci: { mirrorBaseUrl: "HTTP://mirror.example/rel" } }, key: "sociMirrorUrl", value: "HTTP://mirror.example/rel", fix: "Write the scheme lowercase: set <sociMirrorUrl> to http://mirror.example/rel" },
  { rule: "a mirror URL with a mixed-case scheme", input: { soci: { mirrorBaseUrl: "Https://mirror.example/rel" } }, key: "sociMirrorUrl", value: "Https://mirror.example/rel", fix: "to https://mirror.example/rel" },
  // Brackets stand only around an IPv6 host (accepted below, and downloaded from by test/unit/installer.test.ts)
  { rule: "a bracketed host that is no IPv6 address", input: { soci: { mirrorBaseUrl: "https://[mirror.example]/soci" } }, key: "sociMirrorUrl", value: "https://[mirror.example]/soci", fix: "the base that holds v<version>/" },
  { rule: "brackets in the mirror URL's path", input: { soci: { mirrorBaseUrl: "https://mirror.example/[soci]" } }, key: "sociMirrorUrl", value: "https://mirror.example/[soci]", fix: "the base that holds v<version>/" },
  { rule: "unknown failure policy", input: { onSociFailure: "retry" }, key: "onSociFailure", value: "retry", fix: "fallback (default" },
  // Instance type
  { rule: "ssd on a type without instance storage", input: { ssd: true }, key: "instanceType", value: "m7i.xlarge", fix: "e.g. m6id.xlarge or m7gd.xlarge" },
  { rule: "ssd on a type with non-NVMe instance storage", input: { instanceType: "d2.xlarge", ssd: true }, key: "instanceType", value: "d2.xlarge", fix: "Use a type with local NVMe SSDs" },
  { rule: "a 2 vCPU / 2 GiB type", input: { instanceType: "t3.small" }, key: "instanceType", value: "t3.small", fix: "Use a larger type" },
  { rule: "keep SOCI on EBS without ssd", input: { keepSociOnRootVolume: true }, key: "keepSociOnRootVolume", value: true, fix: "to true, or unset" },
  // Labels: Kubernetes syntax
  { rule: "label key with a space", input: { labels: { "my team": "ml" } }, key: "labels", value: "my team=ml", fix: "Use [prefix/]name keys" },
  { rule: "label key with two /", input: { labels: { "a/b/c": "ml" } }, key: "labels", value: "a/b/c=ml", fix: "Use [prefix/]name keys" },
  { rule: "label prefix with capitals", input: { labels: { "Example.com/team": "ml" } }, key: "labels", value: "Example.com/team=ml", fix: "Use [prefix/]name keys" },
  { rule: "label prefix over 253 characters", input: { labels: { [`${"a".repeat(254)}/team`]: "ml" } }, key: "labels", value: `${"a".repeat(254)}/team=ml`, fix: "Use [prefix/]name keys" },
  { rule: "label name over 63 characters", input: { labels: { ["n".repeat(64)]: "ml" } }, key: "labels", value: `${"n".repeat(64)}=ml`, fix: "Use [prefix/]name keys" },
  { rule: "label value with =", input: { labels: { team: "ml=x" } }, key: "labels", value: "team=ml=x", fix: "Use a value such as ml" },
  { rule: "label value over 63 characters", input: { labels: { team: "v".repeat(64) } }, key: "labels", value: `team=${"v".repeat(64)}`, fix: "Use a value such as ml" },
  { rule: "label value ending in -", input: { labels: { team: "ml-" } }, key: "labels", value: "team=ml-", fix: "Use a value such as ml" },
  // Labels: kubelet, EKS, soci-eks
  { rule: "label kubelet refuses (node-role.kubernetes.io)", input: { labels: { "node-role.kubernetes.io/worker": "true" } }, key: "labels", value: "node-role.kubernetes.io/worker=true", fix: "example.com/worker" },
  { rule: "label kubelet refuses (kubernetes.io)", input: { labels: { "kubernetes.io/role": "gpu" } }, key: "labels", value: "kubernetes.io/role=gpu", fix: "set kubernetes.io labels after the node joins" },
  { rule: "label kubelet refuses (k8s.io subdomain)", input: { labels: { "node.k8s.io/capacity": "spot" } }, key: "labels", value: "node.k8s.io/capacity=spot", fix: "example.com/capacity" },
  { rule: "label in eks.amazonaws.com/", input: { labels: { "eks.amazonaws.com/nodegroup": "mine" } }, key: "labels", value: "eks.amazonaws.com/nodegroup=mine", fix: "example.com/nodegroup" },
  { rule: "label key over EKS's 63 characters", input: { labels: { [`example.com/${"k".repeat(52)}`]: "ml" } }, key: "labels", value: `example.com/${"k".repeat(52)}=ml`, fix: "63 characters or fewer" },
  { rule: "label with an empty value (EKS)", input: { labels: { gpu: "" } }, key: "labels", value: "gpu=", fix: "e.g. gpu=true" },
  { rule: "label in soci-eks/", input: { labels: { "soci-eks/mode": "x" } }, key: "labels", value: "soci-eks/mode=x", fix: "Choose another label prefix" },
  // Taints
  { rule: "taint key with a space", input: { taints: [{ key: "big images", effect: "NoSchedule" }] }, key: "taints", value: "big images:NoSchedule", fix: "[prefix/]name key" },
  { rule: "taint effect unknown", input: { taints: [{ key: "k", value: "v", effect: "Sometimes" }] }, key: "taints", value: "k=v:Sometimes", fix: "NoSchedule, PreferNoSchedule or NoExecute" },
  { rule: "taint effect in the EKS API's spelling", input: { taints: [{ key: "k", effect: "NO_SCHEDULE" }] }, key: "taints", value: "k:NO_SCHEDULE", fix: "Kubernetes' spelling" },
  { rule: "taint without an effect", input: { taints: [{ key: "k", value: "v", effect: "" }] }, key: "taints", value: "k=v:", fix: "Give the taint the effect" },
  { rule: "taint value with a space", input: { taints: [{ key: "k", value: "a b", effect: "NoSchedule" }] }, key: "taints", value: "k=a b:NoSchedule", fix: "or leave it out" },
  { rule: "the same taint key and effect twice", input: { taints: [{ key: "k", value: "a", effect: "NoSchedule" }, { key: "k", value: "b", effect: "NoSchedule" }] }, key: "taints", value: "k=b:NoSchedule", fix: "Keep one k taint with the effect NoSchedule" },
  { rule: "taint in kubernetes.io (EKS)", input: { taints: [{ key: "node.kubernetes.io/gpu", effect: "NoSchedule" }] }, key: "taints", value: "node.kubernetes.io/gpu:NoSchedule", fix: "example.com/gpu" },
  { rule: "taint in eks.amazonaws.com (EKS)", input: { taints: [{ key: "eks.amazonaws.com/x", effect: "NoExecute" }] }, key: "taints", value: "eks.amazonaws.com/x:NoExecute", fix: "example.com/x" },
  { rule: "taint key over EKS's 63 characters", input: { taints: [{ key: `example.com/${"k".repeat(52)}`, effect: "NoSchedule" }] }, key: "taints", value: `example.com/${"k".repeat(52)}:NoSchedule`, fix: "63 characters or fewer" },
  { rule: "more than EKS's 50 taints", input: { taints: taints(51) }, key: "taints", value: "51 taints", fix: "at most 50 taints" },
  // Registries
  { rule: "ECR registry with a scheme", input: { extraEcrRegistries: [`https://${ECR}`] }, key: "extraEcrRegistries", value: `https://${ECR}`, fix: "no https://, no path" },
  { rule: "the same ECR registry twice", input: { extraEcrRegistries: [ECR, ECR] }, key: "extraEcrRegistries", value: ECR, fix: "List each registry once" },
  { rule: "ECR registry on Bottlerocket", input: { os: "bottlerocket", sociMode: "parallel", extraEcrRegistries: [ECR] }, key: "extraEcrRegistries", value: ECR, fix: "allow the node role in those repositories' policies" },
  // AL2023-only settings on Bottlerocket
  { rule: "a SOCI version on Bottlerocket", input: { os: "bottlerocket", sociMode: "parallel", soci: { version: "0.16.0" } }, key: "sociVersion", value: "0.16.0", fix: "or set" },
  { rule: "a pinned digest on Bottlerocket", input: { os: "bottlerocket", sociMode: "parallel", soci: { sha256: SHA } }, key: "sociSha256", value: SHA, fix: "or set" },
  { rule: "a mirror on Bottlerocket", input: { os: "bottlerocket", sociMode: "parallel", soci: { mirrorBaseUrl: "https://mirror.example/soci" } }, key: "sociMirrorUrl", value: "https://mirror.example/soci", fix: "or set" },
  { rule: "a mirror with credentials on Bottlerocket", input: { os: "bottlerocket", sociMode: "parallel", soci: { mirrorBaseUrl: "https://user:s3cr3t@mirror.example/soci" } }, key: "sociMirrorUrl", value: "https://***@mirror.example/soci", fix: "or set" },
  { rule: "a failure policy on Bottlerocket", input: { os: "bottlerocket", sociMode: "parallel", onSociFailure: "fail" }, key: "onSociFailure", value: "fail", fix: "or set" },
  // Installer settings with sociMode off: an AL2023 node with SOCI off runs no installer
  { rule: "a failure policy with SOCI off", input: { sociMode: "off", onSociFailure: "fail" }, key: "onSociFailure", value: "fail", fix: "or set <sociMode> to lazy or parallel" },
  { rule: "a mirror with SOCI off", input: { sociMode: "off", soci: { mirrorBaseUrl: "https://mirror.example/soci" } }, key: "sociMirrorUrl", value: "https://mirror.example/soci", fix: "or set <sociMode> to lazy or parallel" },
  { rule: "a mirror with credentials with SOCI off", input: { sociMode: "off", soci: { mirrorBaseUrl: "https://user:s3cr3t@mirror.example/soci" } }, key: "sociMirrorUrl", value: "https://***@mirror.example/soci", fix: "or set <sociMode> to lazy or parallel" },
  { rule: "a SOCI version with SOCI off", input: { sociMode: "off", soci: { version: "0.16.0" } }, key: "sociVersion", value: "0.16.0", fix: "or set <sociMode> to lazy or parallel" },
  { rule: "a pinned digest with SOCI off", input: { sociMode: "off", soci: { sha256: SHA } }, key: "sociSha256", value: SHA, fix: "or set <sociMode> to lazy or parallel" },
  { rule: "an ECR registry with SOCI off", input: { sociMode: "off", extraEcrRegistries: [ECR] }, key: "extraEcrRegistries", value: ECR, fix: "or set <sociMode> to lazy or parallel" },
  // Sizes, volumes, capacity, IMDS: not in the user data, so the CLI has no flag for them; sizes and capacity belong to
  // the node group, which the plug-in's user creates with @pulumi/eks
  { rule: "maxSize 0", input: { scaling: { minSize: 0, desiredSize: 0, maxSize: 0 } }, key: "maxSize", value: 0, fix: "to 1 or more", at: NODE_GROUP_OWNERS },
  { rule: "desiredSize above maxSize", input: { scaling: { desiredSize: 9, maxSize: 4 } }, key: "desiredSize", value: 9, fix: "between 1 and 4", at: NODE_GROUP_OWNERS },
  { rule: "a root volume under 20 GiB", input: { rootVolume: { sizeGiB: 8 } }, key: "rootVolumeSizeGiB", value: 8, fix: "between 20 and 16384", at: NOT_CLI },
  { rule: "gp3 IOPS below 3000", input: { rootVolume: { iops: 100 } }, key: "rootVolumeIops", value: 100, fix: "between 3000 and 16000", at: NOT_CLI },
  { rule: "gp3 throughput above IOPS / 4", input: { rootVolume: { iops: 3000, throughputMiBps: 1000 } }, key: "rootVolumeThroughput", value: 1000, fix: "Lower", at: NOT_CLI },
  { rule: "capacity type in lowercase", input: { capacityType: "spot" }, key: "capacityType", value: "spot", fix: "to ON_DEMAND (default) or SPOT", at: NODE_GROUP_OWNERS },
  { rule: "IMDS hop limit 0", input: { metadataHopLimit: 0 }, key: "metadataHopLimit", value: 0, fix: "to 1 (default) or 2", at: NOT_CLI },
];

/** Inputs every entry point must accept. */
const VALID: { what: string; input: GroupInput; at?: readonly Kind[] }[] = [
  { what: "the defaults", input: {} },
  { what: "prefixed and plain labels", input: { labels: { "example.com/team": "ml", tier: "a_b-c.d" } } },
  { what: "a label key of exactly 63 characters and a value of 63", input: { labels: { [`example.com/${"k".repeat(51)}`]: "v".repeat(63) } } },
  { what: "one taint key with two effects", input: { taints: [{ key: "dedicated", value: "gpu", effect: "NoSchedule" }, { key: "dedicated", value: "gpu", effect: "NoExecute" }] } },
  { what: "a taint with an empty value", input: { taints: [{ key: "dedicated", value: "", effect: "PreferNoSchedule" }] } },
  // Parallel: with lazy mode's store cleanup, 50 taints in the CLI's own NodeConfig leave less than the size rule's
  // 1 KiB after EKS's merge, and the CLI rightly refuses that document for its size.
  { what: "EKS's 50 taints", input: { taints: taints(50), sociMode: "parallel" } },
  { what: "Bottlerocket, parallel, with the AL2023 settings left at their defaults", input: { os: "bottlerocket", sociMode: "parallel" } },
  { what: "a pinned digest on one architecture (arm64)", input: { instanceType: "m7g.xlarge", sociMode: "parallel", soci: { sha256: SHA } } },
  { what: "a version whose digests ship, without a digest", input: { soci: { version: "0.14.1", sha256: undefined } } },
  { what: "the shipped digest given again, per architecture", input: { instanceType: "m7g.xlarge", soci: { version: "0.14.0", sha256: `arm64=${KNOWN_RELEASE_DIGESTS["0.14.0"].arm64}` } } },
  { what: "an http mirror with a digest", input: { soci: { mirrorBaseUrl: "http://mirror.example/soci" } } },
  { what: "a mirror on a bracketed IPv6 address with a port", input: { soci: { mirrorBaseUrl: "https://[2001:db8::1]:8443/soci" } } },
  { what: "SOCI off with the installer settings at their defaults", input: { sociMode: "off" } },
  { what: "ssd on a type with NVMe instance storage, SOCI kept on EBS", input: { instanceType: "m6id.2xlarge", ssd: true, keepSociOnRootVolume: true } },
  { what: "a gp3 volume at gp3's limits (16000 IOPS, 1000 MiB/s, 32 GiB)", input: { rootVolume: { sizeGiB: 32, iops: 16000, throughputMiBps: 1000 }, metadataHopLimit: 2 }, at: NOT_CLI },
  { what: "scale to zero on Spot", input: { scaling: { minSize: 0, desiredSize: 0, maxSize: 1 }, capacityType: "SPOT" }, at: NODE_GROUP_OWNERS },
];

/** The case of one shared rule at one entry point. */
function sharedCase(r: SharedRule, kind: Kind): BadInput {
  // `<sociMode>` in a fix stands for that setting as the entry point spells it.
  const fix = r.fix.replace(/<(\w+)>/g, (whole, key: string) => (key in SETTING_SPELLINGS ? settingAt(kind, key as NodeGroupSettingKey, r.input) : whole));
  return { kind, what: r.rule, rule: r.rule, run: at(kind, r.input), setting: settingAt(kind, r.key, r.input), value: r.value, fix };
}

const SPECIFIC: BadInput[] = [
  { kind: "cli", what: "1 vCPU (facts from flags)", run: ud("--instance-type", "x9.large", "--vcpus", "1", "--memory-mib", "8192", "--arch", "x86_64"), setting: "--instance-type", value: "x9.large", fix: "Use a larger type" },
  { kind: "cli", what: "the same label twice", run: ud("--instance-type", "m7i.xlarge", "--label", "team=ml", "--label", "team=web"), setting: "--label", value: "team", fix: "Pass --label team=… once" },
  { kind: "cli", what: "taint without an effect", run: ud("--instance-type", "m7i.xlarge", "--taint", "k=v"), setting: "--taint", value: "k=v", fix: "Pass --taint key[=value]:Effect" },
  { kind: "cli", what: "a type the CLI cannot know", run: ud("--instance-type", "x9.huge"), setting: "--instance-type", value: "x9.huge", fix: "Pass --vcpus, --memory-mib, --arch as `aws ec2 describe-instance-types" },
  { kind: "cli", what: "an impossible type name", run: ud("--instance-type", "M7I-XLARGE"), setting: "--instance-type", value: "M7I-XLARGE", fix: "such as m7i.xlarge" },
  { kind: "cli", what: "no instance type", run: ud("--mode", "parallel"), setting: "--instance-type", fix: "Pass --instance-type" },
  { kind: "cli", what: "vCPUs contradicting the table", run: ud("--instance-type", "m7i.xlarge", "--vcpus", "1"), setting: "--vcpus", value: "1", fix: "Drop --vcpus (the CLI knows m7i.xlarge)" },
  { kind: "cli", what: "architecture contradicting the table", run: ud("--instance-type", "m7i.xlarge", "--arch", "arm64"), setting: "--arch", value: "arm64", fix: "Drop --arch" },
  { kind: "cli", what: "vCPUs not a number", run: ud("--instance-type", "x9.large", "--vcpus", "four", "--memory-mib", "8192", "--arch", "x86_64"), setting: "--vcpus", value: "four", fix: "Pass --vcpus N" },
  { kind: "cli", what: "arch amd64", run: ud("--instance-type", "x9.large", "--vcpus", "4", "--memory-mib", "8192", "--arch", "amd64"), setting: "--arch", value: "amd64", fix: "amd64 is x86_64" },
  { kind: "cli", what: "cluster name with a space", rule: "cluster-name", run: ud("--instance-type", "m7i.xlarge", ...clusterFlags({ "--cluster-name": "my cluster" })), setting: "--cluster-name", value: "my cluster", fix: "aws eks list-clusters" },
  { kind: "cli", what: "http endpoint", rule: "endpoint", run: ud("--instance-type", "m7i.xlarge", ...clusterFlags({ "--api-server-endpoint": "http://ABCDEF.gr7.us-west-2.eks.amazonaws.com" })), setting: "--api-server-endpoint", value: "http://ABCDEF.gr7.us-west-2.eks.amazonaws.com", fix: "describe-cluster --query cluster.endpoint" },
  { kind: "cli", what: "endpoint that is no URL", run: ud("--instance-type", "m7i.xlarge", ...clusterFlags({ "--api-server-endpoint": "ABCDEF.eks.amazonaws.com" })), setting: "--api-server-endpoint", value: "ABCDEF.eks.amazonaws.com", fix: "describe-cluster --query cluster.endpoint" },
  { kind: "cli", what: "CA not base64", rule: "ca", run: ud("--instance-type", "m7i.xlarge", ...clusterFlags({ "--certificate-authority": "not base64!" })), setting: "--certificate-authority", value: "not base64!", fix: "certificateAuthority.data" },
  { kind: "cli", what: "service CIDR /8", rule: "cidr", run: ud("--instance-type", "m7i.xlarge", ...clusterFlags({ "--service-cidr": "10.0.0.0/8" })), setting: "--service-cidr", value: "10.0.0.0/8", fix: "e.g. 172.20.0.0/16" },
  { kind: "cli", what: "service CIDR not an address", run: ud("--instance-type", "m7i.xlarge", ...clusterFlags({ "--service-cidr": "300.1.0.0/16" })), setting: "--service-cidr", value: "300.1.0.0/16", fix: "e.g. 172.20.0.0/16" },
  { kind: "cli", what: "one cluster field alone", run: ud("--instance-type", "m7i.xlarge", "--cluster-name", "prod"), setting: "--cluster-name", value: "prod", fix: "Pass all four of" },
  { kind: "cli", what: "node class name SOCI_Lazy", run: ud("--instance-type", "m7i.xlarge", ...KARPENTER, "--node-class-name", "SOCI_Lazy"), setting: "--node-class-name", value: "SOCI_Lazy", fix: "such as soci-lazy" },
  { kind: "cli", what: "empty node class name", run: ud("--instance-type", "m7i.xlarge", ...KARPENTER, "--node-class-name", ""), setting: "--node-class-name", value: "", fix: "such as soci-lazy" },
  { kind: "cli", what: "node class name of 300 characters", run: ud("--instance-type", "m7i.xlarge", ...KARPENTER, "--node-class-name", "a".repeat(300)), setting: "--node-class-name", value: "a".repeat(300), fix: "such as soci-lazy" },
  { kind: "cli", what: "node class name with /", run: ud("--instance-type", "m7i.xlarge", ...KARPENTER, "--node-class-name", "soci/lazy"), setting: "--node-class-name", value: "soci/lazy", fix: "such as soci-lazy" },
  { kind: "cli", what: "node class name with a space", run: ud("--instance-type", "m7i.xlarge", ...KARPENTER, "--node-class-name", "soci lazy"), setting: "--node-class-name", value: "soci lazy", fix: "such as soci-lazy" },
  { kind: "cli", what: "no role", run: ud("--instance-type", "m7i.xlarge", "--karpenter", "--discovery-tag", "prod"), setting: "--role", fix: "or --instance-profile" },
  { kind: "cli", what: "empty role", run: ud("--instance-type", "m7i.xlarge", ...karpenterFlags({ "--role": "" })), setting: "--role", value: "", fix: "the node role's name" },
  { kind: "cli", what: "blank role", run: ud("--instance-type", "m7i.xlarge", ...karpenterFlags({ "--role": "   " })), setting: "--role", value: "   ", fix: "the node role's name" },
  { kind: "cli", what: "role and instance profile", run: ud("--instance-type", "m7i.xlarge", ...KARPENTER, "--instance-profile", "KarpenterNodeProfile"), setting: "--instance-profile", value: "KarpenterNodeProfile", fix: "Drop --instance-profile or --role" },
  { kind: "cli", what: "no discovery tag", run: ud("--instance-type", "m7i.xlarge", "--karpenter", "--role", "KarpenterNodeRole-prod"), setting: "--discovery-tag", fix: "usually the cluster name" },
  { kind: "cli", what: "empty discovery tag", run: ud("--instance-type", "m7i.xlarge", ...karpenterFlags({ "--discovery-tag": "" })), setting: "--discovery-tag", value: "", fix: "usually the cluster name" },
  { kind: "cli", what: "--taint with --karpenter", run: ud("--instance-type", "m7i.xlarge", ...KARPENTER, "--taint", "big=true:NoSchedule"), setting: "--taint", value: "big=true:NoSchedule", fix: "on the NodePool (spec.template.spec.taints)" },
  { kind: "cli", what: "cluster fields with --karpenter", run: ud("--instance-type", "m7i.xlarge", ...KARPENTER, ...clusterFlags({})), setting: "--api-server-endpoint", value: ENDPOINT, fix: "Drop --api-server-endpoint" },
  { kind: "cli", what: "--role without --karpenter", run: ud("--instance-type", "m7i.xlarge", "--role", "KarpenterNodeRole-prod"), setting: "--role", value: "KarpenterNodeRole-prod", fix: "Add --karpenter, or drop --role" },
  { kind: "cli", what: "--node-class-name without --karpenter", run: ud("--instance-type", "m7i.xlarge", "--node-class-name", "soci"), setting: "--node-class-name", value: "soci", fix: "Add --karpenter" },
  { kind: "cli", what: "Bottlerocket 1.43 alias", run: ud("--instance-type", "m7i.xlarge", "--os", "bottlerocket", "--mode", "parallel", ...KARPENTER, "--ami-alias", "bottlerocket@v1.43.0"), setting: "--ami-alias", value: "bottlerocket@v1.43.0", fix: "bottlerocket@v1.46.0 or newer" },
  { kind: "cli", what: "AL2023 alias before nodeadm.d drop-ins (v20251022)", run: ud("--instance-type", "m7i.xlarge", ...KARPENTER, "--ami-alias", "al2023@v20251022"), setting: "--ami-alias", value: "al2023@v20251022", fix: "al2023@v20260520 or newer" },
  { kind: "cli", what: "AL2023 alias whose nodeadm does not restart containerd (v20260512)", run: ud("--instance-type", "m7i.xlarge", ...KARPENTER, "--ami-alias", "al2023@v20260512"), setting: "--ami-alias", value: "al2023@v20260512", fix: "al2023@v20260520 or newer" },
  { kind: "cli", what: "alias of another family", run: ud("--instance-type", "m7i.xlarge", "--os", "bottlerocket", "--mode", "parallel", ...KARPENTER, "--ami-alias", "al2023@latest"), setting: "--ami-alias", value: "al2023@latest", fix: "bottlerocket@latest" },
  { kind: "cli", what: "unknown flag", run: ud("--instance-type", "m7i.xlarge", "--colour"), setting: "--colour", fix: "soci-eks userdata --help" },
  { kind: "cli", what: "unknown command", run: cliRun("frobnicate"), setting: "soci-eks", value: "frobnicate", fix: "Use one of userdata, pull-report" },
  { kind: "stack", what: "a misspelt key (the Pulumi CLI ignores it)", run: stackRun({ instanceTypo: "m7g.xlarge" }), setting: "soci-eks:instanceTypo", value: "m7g.xlarge", fix: "Did you mean instanceType?" },
  { kind: "stack", what: "a misspelt mirror key holding credentials (shown without them)", run: stackRun({ sociMirorUrl: "https://u:s3cr3t@mirror.example/soci" }), setting: "soci-eks:sociMirorUrl", value: "https://***@mirror.example/soci", fix: "Did you mean sociMirrorUrl?" },
  { kind: "stack", what: "Kubernetes 1.28, long ended", run: stackRun({ kubernetesVersion: "1.28" }), setting: "soci-eks:kubernetesVersion", value: "1.28", fix: "to one of 1.32, 1.33, 1.34, 1.35, 1.36" },
  { kind: "stack", what: "an unknown node group key", run: stackRun({ nodeGroups: [{ name: "a", colour: "blue" }] }), setting: "soci-eks:nodeGroups[0].colour", fix: "Use only name, instanceType" },
  { kind: "stack", what: "a node group name with capitals", run: stackRun({ nodeGroups: [{ name: "Big" }] }), setting: "soci-eks:nodeGroups[0].name", value: "Big", fix: "Rename it" },
  { kind: "component", what: "cluster name with a space", rule: "cluster-name", run: componentRun({ clusterName: "my cluster" }), setting: "ng.clusterName", value: "my cluster", fix: "aws eks list-clusters" },
  {
    kind: "component", what: "http endpoint", rule: "endpoint",
    run: componentRun({ clusterConnection: { endpoint: "http://ABCDEF.gr7.us-west-2.eks.amazonaws.com", certificateAuthority: CA, serviceCidr: "172.20.0.0/16" } }),
    setting: "ng.clusterConnection.endpoint", value: "http://ABCDEF.gr7.us-west-2.eks.amazonaws.com", fix: "describe-cluster --query cluster.endpoint",
  },
  {
    kind: "component", what: "an endpoint with credentials (shown without them)", rule: "endpoint-credentials",
    run: componentRun({ clusterConnection: { endpoint: "https://u:s3cr3t@ABCDEF.gr7.us-west-2.eks.amazonaws.com", certificateAuthority: CA, serviceCidr: "172.20.0.0/16" } }),
    setting: "ng.clusterConnection.endpoint", value: "https://***@ABCDEF.gr7.us-west-2.eks.amazonaws.com", fix: "describe-cluster --query cluster.endpoint",
  },
  {
    kind: "component", what: "CA not base64", rule: "ca",
    run: componentRun({ clusterConnection: { endpoint: ENDPOINT, certificateAuthority: "not base64!", serviceCidr: "172.20.0.0/16" } }),
    setting: "ng.clusterConnection.certificateAuthority", value: "not base64!", fix: "certificateAuthority.data",
  },
  {
    kind: "component", what: "service CIDR /8", rule: "cidr",
    run: componentRun({ clusterConnection: { endpoint: ENDPOINT, certificateAuthority: CA, serviceCidr: "10.0.0.0/8" } }),
    setting: "ng.clusterConnection.serviceCidr", value: "10.0.0.0/8", fix: "e.g. 172.20.0.0/16",
  },

  // ---- CLI: flag syntax
  { kind: "cli", what: "a repeated single-value flag", run: ud("--instance-type", "m7i.xlarge", "--mode", "lazy", "--mode", "parallel"), setting: "--mode", value: ["lazy", "parallel"], fix: "Pass --mode once" },
  // A switch has no value: the message says how often it was given, without a made-up value
  { kind: "cli", what: "a repeated switch", run: ud("--instance-type", "m6id.xlarge", "--ssd", "--ssd"), setting: "--ssd", fix: "Pass --ssd once" },
  { kind: "cli", what: "a repeated mirror with credentials (both shown without them)", run: ud("--instance-type", "m7i.xlarge", "--mirror", "https://u:s3cr3t@a.example/x", "--mirror", "https:u:s3cr3t@b.example/y"), setting: "--mirror", value: ["https://***@a.example/x", "https:***@b.example/y"], fix: "Pass --mirror once" },
  { kind: "cli", what: "an endpoint with credentials (shown without them)", rule: "endpoint-credentials", run: ud("--instance-type", "m7i.xlarge", ...clusterFlags({ "--api-server-endpoint": "https://u:s3cr3t@ABCDEF.gr7.us-west-2.eks.amazonaws.com" })), setting: "--api-server-endpoint", value: "https://***@ABCDEF.gr7.us-west-2.eks.amazonaws.com", fix: "describe-cluster --query cluster.endpoint" },
  { kind: "cli", what: "one cluster field alone, an endpoint with credentials", run: ud("--instance-type", "m7i.xlarge", "--api-server-endpoint", "https://u:s3cr3t@ABCDEF.gr7.us-west-2.eks.amazonaws.com"), setting: "--api-server-endpoint", value: "https://***@ABCDEF.gr7.us-west-2.eks.amazonaws.com", fix: "Pass all four of" },
  // The most NVMe instance-store disks of any EC2 type is d3en.12xlarge's 24 (cli/instanceFacts.ts MAX_NVME_DISKS)
  { kind: "cli", what: "more NVMe disks than any EC2 type has", run: ud("--instance-type", "x9d.large", "--vcpus", "4", "--memory-mib", "16384", "--arch", "x86_64", "--nvme-disks", "99999", "--ssd"), setting: "--nvme-disks", value: "99999", fix: "Pass --nvme-disks N with N from 0 to 24" },
  { kind: "cli", what: "a misspelt top-level option", run: cliRun("--versoin"), setting: "soci-eks", value: "--versoin", fix: "Did you mean --version?" },
  { kind: "cli", what: "a misspelt flag", run: ud("--instnace-type", "m7i.xlarge"), setting: "--instnace-type", fix: "Did you mean --instance-type?" },
  { kind: "cli", what: "a flag missing its leading -", run: ud("--instance-type", "m7i.xlarge", "-mode", "lazy"), setting: "-mode", fix: "Did you mean --mode?" },
  { kind: "cli", what: "a negative number (read as a value)", run: ud("--instance-type", "x9.large", "--vcpus", "-1", "--memory-mib", "8192", "--arch", "x86_64"), setting: "--vcpus", value: "-1", fix: "Pass --vcpus N" },
  { kind: "cli", what: "a pasted PEM instead of base64 (read as a value)", run: ud("--instance-type", "m7i.xlarge", ...clusterFlags({ "--certificate-authority": PEM })), setting: "--certificate-authority", value: `${PEM.slice(0, 40)}…`, fix: "certificateAuthority.data" },
  { kind: "cli", what: "a flag without its value at the end", run: ud("--instance-type", "m7i.xlarge", "--mode"), setting: "--mode", fix: "Write --mode VALUE, e.g. --mode parallel" },
  { kind: "cli", what: "a flag followed by another flag", run: ud("--mode", "--instance-type", "m7i.xlarge"), setting: "--mode", fix: "Write --mode VALUE" },
  { kind: "cli", what: "a switch given a value", run: ud("--instance-type", "m6id.xlarge", "--ssd=true"), setting: "--ssd", value: "true", fix: "Write --ssd alone" },
  { kind: "cli", what: "a positional argument", run: ud("--instance-type", "m7i.xlarge", "lazy"), setting: "soci-eks userdata", value: "lazy", fix: "Give every value after its flag" },
  { kind: "cli", what: "a label without =", run: ud("--instance-type", "m7i.xlarge", "--label", "novalue"), setting: "--label", value: "novalue", fix: "Pass --label key=value" },
  { kind: "cli", what: "one digest for an instance-agnostic (amd64 + arm64) EC2NodeClass", run: ud(...KARPENTER, "--soci-sha256", SHA), setting: "--soci-sha256", value: SHA, fix: "or make the document for one architecture" },
  { kind: "cli", what: "no arm64 digest for an instance-agnostic EC2NodeClass", run: ud(...KARPENTER, "--soci-sha256", `amd64=${SHA}`), setting: "--soci-sha256", value: `amd64=${SHA}`, fix: "amd64=<sha256 of soci-snapshotter-0.16.1-linux-amd64.tar.gz>,arm64=<sha256 of soci-snapshotter-0.16.1-linux-arm64.tar.gz>" },
  { kind: "cli", what: "no digest for an instance-agnostic EC2NodeClass", run: ud(...KARPENTER), setting: "--soci-sha256", fix: "soci-snapshotter-0.16.1-linux-amd64.tar.gz and soci-snapshotter-0.16.1-linux-arm64.tar.gz" },
  { kind: "stack", what: "one bare digest for node groups of two architectures", run: stackRun({ sociSha256: SHA, nodeGroups: [{ name: "x" }, { name: "a", instanceType: "m7g.xlarge" }] }), setting: "soci-eks:sociSha256", value: SHA, fix: "amd64=<sha256 of the amd64 tarball>,arm64=<sha256 of the arm64 tarball>" },
  { kind: "cli", what: "a misspelt command", run: cliRun("userdta", "--instance-type", "m7i.xlarge"), setting: "soci-eks", value: "userdta", fix: "Did you mean userdata?" },
  { kind: "cli", what: "help on a misspelt command", run: cliRun("help", "pull-reprot"), setting: "soci-eks help", value: "pull-reprot", fix: "Did you mean pull-report?" },
  { kind: "cli", what: "a pull-report flag typo", run: cliRun("pull-report", "--nodez", "nodes.json"), setting: "--nodez", fix: "Did you mean --nodes?" },

  // ---- stack config: types and shape
  { kind: "stack", what: "desiredSize: two", run: stackRun({ desiredSize: "two" }), setting: "soci-eks:desiredSize", value: "two", fix: "pulumi config set soci-eks:desiredSize 2" },
  { kind: "stack", what: "rootVolumeIops: 6000.5", run: stackRun({ rootVolumeIops: "6000.5" }), setting: "soci-eks:rootVolumeIops", value: "6000.5", fix: "to a whole number" },
  { kind: "stack", what: "ssd: yes", run: stackRun({ ssd: "yes" }), setting: "soci-eks:ssd", value: "yes", fix: "to true or false" },
  { kind: "stack", what: "extraEcrRegistries as an object", run: stackRun({ extraEcrRegistries: { a: 1 } }), setting: "soci-eks:extraEcrRegistries", value: { a: 1 }, fix: "as a YAML list of strings" },
  { kind: "stack", what: "nodeGroups that is not JSON", run: stackRun({ nodeGroups: "[{name: a" }), setting: "soci-eks:nodeGroups", value: "[{name: a", fix: "as a YAML list" },
  { kind: "stack", what: "a node group whose desiredSize is text", run: stackRun({ nodeGroups: [{ name: "a", desiredSize: "two" }] }), setting: "soci-eks:nodeGroups[0].desiredSize", value: "two", fix: "Write desiredSize as a number" },
  { kind: "stack", what: "a top-level SOCI version when every group runs Bottlerocket", run: stackRun({ sociVersion: "0.16.0", sociMode: "parallel", nodeGroups: [{ name: "a", os: "bottlerocket" }, { name: "b", os: "bottlerocket" }] }), setting: "soci-eks:sociVersion", value: "0.16.0", fix: "Remove soci-eks:sociVersion" },
  { kind: "stack", what: "a top-level SOCI digest when every group runs SOCI off", run: stackRun({ sociSha256: SHA, nodeGroups: [{ name: "a", sociMode: "off" }, { name: "b", sociMode: "off" }] }), setting: "soci-eks:sociSha256", value: SHA, fix: "Remove soci-eks:sociSha256" },
  { kind: "stack", what: "a failure policy on a group with SOCI off", run: stackRun({ nodeGroups: [{ name: "a" }, { name: "b", sociMode: "off", onSociFailure: "fail" }] }), setting: "soci-eks:nodeGroups[1].onSociFailure", value: "fail", fix: "or set soci-eks:nodeGroups[1].sociMode to lazy or parallel" },
  { kind: "stack", what: "a failure policy on a Bottlerocket group", run: stackRun({ sociMode: "parallel", nodeGroups: [{ name: "a" }, { name: "b", os: "bottlerocket", onSociFailure: "fail" }] }), setting: "soci-eks:nodeGroups[1].onSociFailure", value: "fail", fix: "or set soci-eks:nodeGroups[1].os to al2023" },

  // ---- plug-in and package: what only they take
  { kind: "plugin", what: "instance facts of another type", run: pluginRun({ instanceType: "m7i.xlarge" }, "m7g.xlarge"), setting: "ng.instanceFacts", value: "m7g.xlarge", fix: "use lookupSociForEks" },
  { kind: "package", what: "an instance type EC2 does not know", run: packageRun({ instanceType: "m7i.huge" }), setting: "ng.instanceType", value: "m7i.huge", fix: "offered in the stack's region" },
  { kind: "package", what: "a Kubernetes version EKS does not list", run: packageRun({ kubernetesVersion: "1.29" }), setting: "ng.kubernetesVersion", value: "1.29", fix: "Set ng.kubernetesVersion to one of" },
  { kind: "package", what: "cluster connection with an http endpoint", rule: "endpoint", run: packageRun({ clusterConnection: { endpoint: "http://ABCDEF.gr7.us-west-2.eks.amazonaws.com", certificateAuthority: CA, serviceCidr: "172.20.0.0/16" } }), setting: "ng.clusterConnection.endpoint", value: "http://ABCDEF.gr7.us-west-2.eks.amazonaws.com", fix: "describe-cluster --query cluster.endpoint" },
];

const CASES: BadInput[] = [...SHARED_RULES.flatMap((r) => (r.at ?? ENTRY_POINTS).map((kind) => sharedCase(r, kind))), ...SPECIFIC];

/** The message line of a case: `setting: value …` (or `setting …` for a missing value). */
function lineOf(c: Pick<BadInput, "setting" | "value">, lines: string[]): string | undefined {
  const head = c.value === undefined ? `${c.setting} ` : `${c.setting}: ${showValue(c.value)} `;
  return lines.find((l) => l.startsWith(head));
}

/** Every name a setting has at an entry point, mapped to one placeholder per key, longest first. */
function names(kind: Kind): [string, string][] {
  const pairs: [string, string][] = [];
  for (const [key, spelling] of Object.entries(SETTING_SPELLINGS)) {
    if (kind === "stack") pairs.push([`soci-eks:nodeGroups[0].${spelling.stack}`, `<${key}>`], [`soci-eks:${spelling.stack}`, `<${key}>`]);
    else if (kind === "cli") {
      if (spelling.flag) pairs.push([spelling.flag, `<${key}>`]);
    } else if (kind === "package") pairs.push([`ng.${packagePath(key as NodeGroupSettingKey)}`, `<${key}>`]);
    else pairs.push([`ng.${spelling.args}`, `<${key}>`]);
  }
  for (const [key, spelling] of Object.entries(CONNECTION_SPELLINGS)) {
    if (kind === "cli") pairs.push([spelling.flag, `<cluster.${key}>`]);
    else if (kind !== "stack") pairs.push([`ng.${spelling.args}`, `<cluster.${key}>`]);
  }
  return pairs.sort((a, b) => b[0].length - a[0].length);
}

function normalize(kind: Kind, line: string): string {
  let text = line;
  for (const [name, placeholder] of names(kind)) text = text.split(name).join(placeholder);
  return text;
}

describe("bad inputs: refused by the CLI, the stack config, the components, the plug-in and the package with the setting, the value and the fix", () => {
  beforeEach(() => mocks.reset());

  it("the table holds at least 150 bad inputs, from all five entry points, as docs/cli.md says", () => {
    assert.ok(CASES.length >= 150, `${CASES.length} cases`);
    const count = (kind: Kind) => CASES.filter((c) => c.kind === kind).length;
    for (const kind of ENTRY_POINTS) assert.ok(count(kind) >= 40, `${kind}: ${count(kind)}`);
    const doc = readFileSync(path.resolve(__dirname, "..", "..", "..", "docs", "cli.md"), "utf8");
    const stated = `${CASES.length} bad inputs (${count("cli")} CLI, ${count("stack")} stack config, ${count("component")} component, ${count("plugin")} plug-in, ${count("package")} package)`;
    assert.ok(doc.includes(stated), `docs/cli.md should say: ${stated}`);
    assert.ok(doc.includes(`${GOOD_INPUTS} good inputs`), `docs/cli.md should say: ${GOOD_INPUTS} good inputs`);
  });

  for (const c of CASES) {
    it(`${c.kind}: ${c.what} → ${c.setting}`, async () => {
      const outcome = await c.run();
      assert.ok(outcome.refused, `not refused: ${outcome.lines.join(" | ")}`);
      assert.ok(!outcome.lines.some((l) => l.includes("s3cr3t")), `a mirror URL's password in a message: ${outcome.lines.join(" | ")}`);
      assert.equal(outcome.produced, 0, "something was printed or created");
      const line = lineOf(c, outcome.lines);
      assert.ok(line, `no message for ${c.setting} ${showValue(c.value)} among:\n${outcome.lines.join("\n")}`);
      assert.ok(line.includes(c.fix), `fix '${c.fix}' missing from: ${line}`);
      // `setting: value reason. Fix sentence.`: a reason and a fix after the value.
      assert.match(line, /\S \S.*[.?] [A-Z].*\.$/, line);
    });
  }

  it("each shared rule is refused at all five entry points (all four that have the setting) with the same message, but for the setting's name", async () => {
    for (const r of SHARED_RULES) {
      const texts = new Map<Kind, string>();
      for (const kind of r.at ?? ENTRY_POINTS) {
        const c = sharedCase(r, kind);
        const line = lineOf(c, (await c.run()).lines);
        assert.ok(line, `${r.rule}: no message at ${kind}`);
        texts.set(kind, normalize(kind, line));
      }
      const [first, ...rest] = [...texts.entries()];
      for (const [kind, text] of rest) assert.equal(text, first[1], `rule '${r.rule}': ${first[0]} vs ${kind}`);
    }
  });

  it("the user-data size rule (validation/userDataSize.ts): refused at all five with the same wording, but for the setting's and the document's names and the byte counts", async () => {
    // 90 labels of ~80 bytes: the CLI writes them into its own NodeConfig, the others leave them to EKS's part, so the
    // byte counts differ (the same rule measures a different document); the words, the settings and the fix do not.
    const labels = Object.fromEntries(Array.from({ length: 90 }, (_, i) => [`example.com/label-${i}`, `v${i}`.padEnd(60, "x")]));
    const texts = new Map<Kind, string>();
    for (const kind of ENTRY_POINTS) {
      const outcome = await at(kind, { labels })();
      assert.ok(outcome.refused, `${kind}: not refused`);
      assert.equal(outcome.produced, 0, `${kind}: something was printed or created`);
      const lines = outcome.lines.filter((l) => / bytes' is what /.test(l));
      assert.equal(lines.length, 1, `${kind}: ${outcome.lines.join("\n")}`);
      assert.ok(lines[0].startsWith(`${settingAt(kind, "labels", { labels })}, ${settingAt(kind, "sociMode", {})}: '`), `${kind}: ${lines[0]}`);
      const normalized = normalize(kind, lines[0])
        .replace(/is what (the user data of [^;]*?|the printed user data) comes to/, "is what <document> comes to")
        .replace(/\d+/g, "N");
      texts.set(kind, normalized);
    }
    const [first, ...rest] = [...texts.entries()];
    for (const [kind, text] of rest) assert.equal(text, first[1], `${first[0]} vs ${kind}`);
  });

  it("a rule two entry points share outside that list gives the same message at both", async () => {
    const byRule = new Map<string, Map<Kind, string>>();
    for (const c of SPECIFIC.filter((x) => x.rule)) {
      const line = lineOf(c, (await c.run()).lines);
      assert.ok(line, `${c.kind}: ${c.what}`);
      const m = byRule.get(c.rule!) ?? new Map<Kind, string>();
      m.set(c.kind, normalize(c.kind, line));
      byRule.set(c.rule!, m);
    }
    for (const [rule, m] of byRule) {
      assert.ok(m.size >= 2, `rule ${rule} runs at one entry point only`);
      const [first, ...rest] = [...m.entries()];
      for (const [kind, text] of rest) assert.equal(text, first[1], `rule ${rule}: ${first[0]} vs ${kind}`);
    }
  });
});

/** The good inputs below: every VALID entry at its entry points, and three more. */
const GOOD_INPUTS = VALID.reduce((n, v) => n + (v.at ?? ENTRY_POINTS).length, 0) + 3;

describe("good inputs: accepted at all five entry points", () => {
  beforeEach(() => mocks.reset());
  for (const v of VALID) {
    for (const kind of v.at ?? ENTRY_POINTS) {
      it(`${kind}: ${v.what}`, async () => {
        const outcome = await at(kind, v.input)();
        assert.equal(outcome.refused, false, outcome.lines.join("\n"));
        assert.ok(outcome.produced > 0, "nothing was printed or created");
      });
    }
  }

  it("the CLI reads values that start with -, and --flag=value", async () => {
    for (const args of [
      ["--instance-type=m7i.xlarge", "--mode=parallel"],
      ["--instance-type", "m7i.xlarge", "--label", "team=ml", "--label", "tier=a"],
      ["--instance-type", "x9.large", "--vcpus", "4", "--memory-mib", "16384", "--arch", "x86_64"],
    ]) {
      const outcome = await ud(...args, `--soci-sha256=${TEST_ONLY_SOCI_SHA256}`)();
      assert.equal(outcome.refused, false, `${args.join(" ")}: ${outcome.lines.join("\n")}`);
      assert.ok(outcome.produced > 0);
    }
  });

  it("the stack config: top-level installer settings with a SOCI group and a sociMode off group apply to the SOCI group only", async () => {
    const outcome = await stackRun({ sociVersion: "0.16.0", sociSha256: TEST_ONLY_SOCI_SHA256, onSociFailure: "fail", extraEcrRegistries: [ECR], nodeGroups: [{ name: "lazy" }, { name: "stock", sociMode: "off" }] })();
    assert.equal(outcome.refused, false, outcome.lines.join("\n"));
  });

  it("the stack config: a top-level SOCI version with AL2023 and Bottlerocket groups applies to the AL2023 group only", async () => {
    const outcome = await stackRun({ sociVersion: "0.16.0", sociSha256: TEST_ONLY_SOCI_SHA256, sociMode: "parallel", nodeGroups: [{ name: "a" }, { name: "b", os: "bottlerocket" }] })();
    assert.equal(outcome.refused, false, outcome.lines.join("\n"));
  });
});
