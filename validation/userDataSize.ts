/**
 * The size rule for user data: EC2 takes at most 16,384 bytes (before base64), and the document a node reads is
 * often not ours alone. An EKS managed node group whose launch template has no AMI appends its own NodeConfig part
 * (cluster name, endpoint, CA, service CIDR, kubelet settings, the group's labels and taints); Karpenter re-serializes
 * an EC2NodeClass's user data and appends its NodeConfig part. So a document must fit with the part of the merger
 * its node group meets, and keep {@link MERGE_MARGIN} bytes free for what that part holds beyond a typical one (a
 * NodePool's labels and taints, kubelet settings, a long cluster name). Every entry point (components, stack config,
 * CLI, the @pulumi/eks plug-in, the component package) applies this rule before anything is created or printed; the
 * message names the settings that made the document large, by how much, and the fix.
 */
import { renderUserData } from "../userdata";
import { partText } from "../userdata/mime";
import { DEFAULT_MIRROR_BASE_URL } from "../userdata/releases";
import { ClusterConnection, MimePart, NodeBootstrapOptions, NodeTaint, OsFamily, RenderedUserData } from "../userdata/types";
import { NodeGroupSettingKey, SettingNamer } from "./nodeGroup";
import { ConfigProblem } from "./problems";

/** EC2's limit on user data, in bytes before base64 (EC2 User Guide, "Work with instance user data"). */
export const EC2_USER_DATA_LIMIT = 16384;
/** Bytes a document keeps free after its merger, for merger parts larger than {@link TYPICAL_MERGER_CLUSTER}'s. */
export const MERGE_MARGIN = 1024;

/**
 * What merges the document before the node reads it. `eks`: an EKS managed node group copies a launch template
 * without an AMI and appends its NodeConfig part (AL2023) or merges its settings (Bottlerocket). `karpenter`:
 * Karpenter's AL2023 bootstrap re-serializes the EC2NodeClass's user data and appends its NodeConfig
 * (Bottlerocket: merges its settings). `none`: the document reaches the node as it is (a launch template with an AMI,
 * which @pulumi/eks writes for the plug-in, or a self-managed node that carries its own cluster fields).
 */
export type UserDataMerger = "eks" | "karpenter" | "none";

/**
 * The cluster a merger's part is sized for, generously: a 40-character cluster name, a regional endpoint of the
 * longest common form, a 1,500-character base64 CA (an EKS cluster CA is about 1,470), a three-digit maxPods, a
 * 63-character node group name (EKS's maximum; EKS writes it into a label), 18-character NodePool and EC2NodeClass names.
 */
export const TYPICAL_MERGER_CLUSTER = {
  name: "c".repeat(40),
  endpoint: "https://0123456789ABCDEF0123456789ABCDEF.gr7.ap-southeast-1.eks.amazonaws.com",
  certificateAuthority: Buffer.alloc(1125, "x").toString("base64"),
  serviceCidr: "172.20.0.0/16",
  kubeDnsIp: "172.20.0.10",
  maxPods: 110,
  nodeGroupName: "n".repeat(63),
  nodePool: "soci-nodepool-0001",
  nodeClass: "soci-nodeclass-001",
} as const;

/**
 * Cluster fields of typical size (a 100-character name, EKS's maximum), standing in for values known only at deployment
 * (Pulumi Outputs) when a document that carries them is measured.
 */
export const PLACEHOLDER_CLUSTER_FIELDS: ClusterConnection = {
  name: "x".repeat(100),
  apiServerEndpoint: TYPICAL_MERGER_CLUSTER.endpoint,
  certificateAuthority: TYPICAL_MERGER_CLUSTER.certificateAuthority,
  serviceCidr: TYPICAL_MERGER_CLUSTER.serviceCidr,
};

/**
 * Bytes each merger adds for {@link TYPICAL_MERGER_CLUSTER}, the document's own labels and taints aside:
 * `eks`: our model of EKS's part (test/consumers/mime_merge.py `eks`; EKS's real merge could not be run here);
 * `karpenter`: Karpenter v1.15.2's own bootstrap (lab/tools/karpenter-merge, `bootstrap.Nodeadm.Script()`) with
 * instanceStorePolicy RAID0, measured as the merged document's bytes minus ours. test/unit/userDataSize.test.ts
 * re-measures both with the real programs and fails when either no longer bounds them.
 */
export const MERGER_PART_BYTES: Readonly<Record<Exclude<UserDataMerger, "none">, number>> = { eks: 2176, karpenter: 2304 };

/** What one merger adds to a document: its part for a typical cluster plus, for EKS, the node group's labels and taints. */
export function mergerPartBytes(merger: UserDataMerger, nodeGroup: { labels?: Record<string, string>; taints?: NodeTaint[] } = {}): number {
  if (merger === "none") return 0;
  if (merger === "karpenter") return MERGER_PART_BYTES.karpenter;
  // EKS adds the group's labels to its --node-labels flag and its taints as --register-with-taints.
  const labels = Object.entries(nodeGroup.labels ?? {}).reduce((n, [k, v]) => n + Buffer.byteLength(`,${k}=${v}`), 0);
  const taints = (nodeGroup.taints ?? []).map((t) => `${t.key}=${t.value ?? ""}:${t.effect}`);
  const taintFlag = taints.length > 0 ? Buffer.byteLength(`    - --register-with-taints=${taints.join(",")}\n`) : 0;
  return MERGER_PART_BYTES.eks + labels + taintFlag;
}

/** The largest document (ours) a merger leaves room for. */
export function maxOwnBytes(merger: UserDataMerger, partBytes: number): number {
  return merger === "none" ? EC2_USER_DATA_LIMIT : EC2_USER_DATA_LIMIT - MERGE_MARGIN - partBytes;
}

/** A document to check: what is rendered, which merger it meets, and how its settings are named. */
export interface UserDataSizeSubject {
  os: OsFamily;
  /** The renderer's options, cluster fields included when the document carries them (placeholders of typical size for values known only at deployment). */
  options: NodeBootstrapOptions;
  merger: UserDataMerger;
  /** The node group's labels and taints as the merger adds them (EKS managed node groups). */
  mergerNodeGroup?: { labels?: Record<string, string>; taints?: NodeTaint[] };
  /** Labels soci-eks itself gives every node (not the user's to drop): kept when the labels' share is measured. */
  fixedLabels?: Record<string, string>;
  /** What is measured, e.g. `the user data of node group 'big'`. */
  subject: string;
  /** Names node-group settings as the user spells them. */
  name: SettingNamer;
  /** The setting that holds the cluster fields (`clusterConnection`, `--cluster-name ...`); unset when they are not the user's. */
  clusterSetting?: string;
}

/** One setting's share of a document's size. */
export interface SizeContribution {
  setting: string;
  bytes: number;
  fix: string;
}

/**
 * Bytes of our MIME parts as Karpenter's bootstrap/mime package serializes them (multipart boundary `//`, each part
 * under its Content-Type header only, CRs removed), before its own part is appended. test/unit/userDataSize.test.ts
 * checks this against Karpenter's own output for every variant.
 */
export function karpenterSerializedBytes(parts: MimePart[]): number {
  let out = 'MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="//"\n\n';
  parts.forEach((part, i) => {
    const text = partText(part);
    out += `${i > 0 ? "\n" : ""}--//\n${text.headers[0]}\n\n${text.body}`;
  });
  return Buffer.byteLength(out + "\n--//--\n");
}

/** Bytes of our document as it stands when the merger adds its part: Karpenter re-serializes MIME documents first. */
export function ownBytesInMerge(merger: UserDataMerger, rendered: RenderedUserData): number {
  if (merger === "karpenter" && rendered.format === "mime-multipart") return karpenterSerializedBytes(rendered.parts);
  return Buffer.byteLength(rendered.text);
}

/** The document's bytes (as the merger re-writes them) plus its merger's part. */
function mergedBytes(s: UserDataSizeSubject, options: NodeBootstrapOptions, mergerNodeGroup = s.mergerNodeGroup): number {
  return ownBytesInMerge(s.merger, renderUserData(s.os, options)) + mergerPartBytes(s.merger, mergerNodeGroup);
}

/** What each optional setting adds, measured by rendering without it; largest first, only those that add bytes. */
export function sizeContributions(s: UserDataSizeSubject): SizeContribution[] {
  const o = s.options;
  const full = mergedBytes(s, o);
  const out: SizeContribution[] = [];
  const add = (key: NodeGroupSettingKey | "cluster", without: number, fix: string) => {
    const setting = key === "cluster" ? s.clusterSetting ?? "the cluster fields" : s.name(key);
    if (full - without > 0) out.push({ setting, bytes: full - without, fix: fix.replace("{setting}", setting) });
  };
  if (o.localStorage) {
    add("ssd", mergedBytes(s, { ...o, localStorage: undefined }), "Turn {setting} off, or use a node group with sociMode parallel for the SSD types");
    if (o.localStorage.keepSociOnRootVolume) add("keepSociOnRootVolume", mergedBytes(s, { ...o, localStorage: { ...o.localStorage, keepSociOnRootVolume: false } }), "Turn {setting} off");
  }
  if (o.mode === "lazy") add("sociMode", mergedBytes(s, { ...o, mode: "parallel" }), "Set {setting} to parallel (no lazy loading; leaves out the SOCI store cleanup)");
  if (o.cluster && s.clusterSetting) add("cluster", mergedBytes(s, { ...o, cluster: undefined }), "Drop {setting}: EKS managed node groups and Karpenter write the cluster fields into their own part");
  if ((o.extraEcrRegistries ?? []).length > 0) add("extraEcrRegistries", mergedBytes(s, { ...o, extraEcrRegistries: undefined }), "List fewer registries in {setting}");
  const fixed = s.fixedLabels ?? {};
  const labels = Object.keys({ ...(o.labels ?? {}), ...(s.mergerNodeGroup?.labels ?? {}) }).filter((k) => !(k in fixed));
  if (labels.length > 0) {
    const withoutOurs = (l: Record<string, string> | undefined) => (l ? Object.fromEntries(Object.entries(l).filter(([k]) => k in fixed)) : undefined);
    add("labels", mergedBytes(s, { ...o, labels: withoutOurs(o.labels) }, { ...s.mergerNodeGroup, labels: withoutOurs(s.mergerNodeGroup?.labels) }), "Set fewer or shorter {setting}");
  }
  const taints = [...(o.taints ?? []), ...(s.mergerNodeGroup?.taints ?? [])];
  if (taints.length > 0) add("taints", mergedBytes(s, { ...o, taints: undefined }, { ...s.mergerNodeGroup, taints: undefined }), "Set fewer {setting}");
  const mirror = o.release.mirrorBaseUrl;
  if (mirror.length > DEFAULT_MIRROR_BASE_URL.length) {
    add("sociMirrorUrl", mergedBytes(s, { ...o, release: { ...o.release, mirrorBaseUrl: DEFAULT_MIRROR_BASE_URL } }), "Use a shorter {setting}");
  }
  return out.sort((a, b) => b.bytes - a.bytes);
}

/** How the merger is named in messages. */
const MERGER_TEXT: Record<UserDataMerger, string> = {
  eks: "the EKS managed node group's merge adds its NodeConfig part (cluster endpoint and CA, kubelet settings, the group's labels and taints)",
  karpenter: "Karpenter's merge adds its NodeConfig part (cluster endpoint and CA, kubelet settings, the NodePool's labels and taints)",
  none: "",
};

/**
 * The size rule: the document plus its merger's part (for {@link TYPICAL_MERGER_CLUSTER}) plus {@link MERGE_MARGIN}
 * must fit {@link EC2_USER_DATA_LIMIT}; without a merger the document alone must fit. Returns one problem that names
 * the settings that made it large (largest first), or none.
 */
export function userDataSizeProblems(s: UserDataSizeSubject): ConfigProblem[] {
  const rendered = renderUserData(s.os, s.options);
  const raw = Buffer.byteLength(rendered.text);
  const own = ownBytesInMerge(s.merger, rendered);
  const part = mergerPartBytes(s.merger, s.mergerNodeGroup);
  const max = maxOwnBytes(s.merger, part);
  if (raw <= EC2_USER_DATA_LIMIT && own <= max) return [];
  const over = Math.max(raw - EC2_USER_DATA_LIMIT, own - max);
  const contributions = sizeContributions(s);
  const enough = contributions.filter((c) => c.bytes >= over);
  const shares = contributions.map((c) => `${c.setting} adds ${c.bytes}`).join(", ");
  const reason =
    s.merger === "none"
      ? `is what ${s.subject} comes to, over EC2's ${EC2_USER_DATA_LIMIT}-byte user data limit by ${over}${shares ? ` (${shares})` : ""}`
      : `is what ${s.subject} comes to${own !== raw ? ` (${own} as the merger re-writes it)` : ""}; ${MERGER_TEXT[s.merger]}, about ${part} bytes for a typical ` +
        `cluster, and soci-eks keeps ${MERGE_MARGIN} of EC2's ${EC2_USER_DATA_LIMIT} bytes free after it, so at most ${max} fit: ${over} too many${shares ? ` (${shares})` : ""}`;
  // each fix is a sentence on its own elsewhere; here they continue one sentence, so they start in lower case
  const fixes = (enough.length > 0 ? enough : contributions).map((c) => c.fix.charAt(0).toLowerCase() + c.fix.slice(1));
  const fix =
    fixes.length === 0
      ? "No optional setting makes it large: use sociMode parallel or off for this node group, and report the size (docs/known-limits.md)."
      : enough.length > 0
        ? `Any one of these makes it fit: ${fixes.join("; or ")}.`
        : `No one setting is enough; combine: ${fixes.join("; and ")}.`;
  return [
    {
      setting: contributions.length > 0 ? contributions.map((c) => c.setting).join(", ") : s.subject,
      value: `${raw} bytes`,
      reason,
      fix,
    },
  ];
}
