/**
 * Node labels and taints: what Kubernetes, kubelet and EKS managed node groups accept. One problem per label or
 * taint, naming the part that is wrong. Every entry point applies the same rules, because its labels and taints
 * reach kubelet (`--node-labels`, `registerWithTaints`, Bottlerocket's `node-labels`/`node-taints`) and, for the
 * components, the plug-in and the package, the EKS API too (CreateNodegroup `labels`/`taints`).
 *
 * Sources:
 * - Syntax: Kubernetes' qualified names and label values (k8s.io/apimachinery `validation.IsQualifiedName`,
 *   `IsValidLabelValue`; kubernetes.io "Labels and Selectors", "Syntax and character set").
 * - kubelet: `ValidateKubeletFlags` (kubernetes cmd/kubelet/app/options/options.go) exits at start on a
 *   `--node-labels` key in the kubernetes.io or k8s.io namespace (or a subdomain of either) unless
 *   `IsKubeletLabel` allows it (k8s.io/kubelet pkg/apis/well_known_labels.go: {@link KUBELET_LABELS} and the
 *   {@link KUBELET_LABEL_NAMESPACES} and their subdomains): "unknown 'kubernetes.io' or 'k8s.io' labels specified
 *   with --node-labels". The node never joins.
 * - Taints: Kubernetes' `validateNodeTaints` (pkg/apis/core/validation): key a qualified name, value a label
 *   value, effect one of three, and "taints must be unique by key and effect pair".
 * - EKS managed node groups (EKS API reference): label keys and values 1-63 characters (`UpdateLabelsPayload`,
 *   the same map as CreateNodegroup `labels`), taint keys 1-63 and values 0-63 characters (`Taint`), at most 50
 *   taints per node group (CreateNodegroup `taints`). EKS sets the `eks.amazonaws.com/` labels itself
 *   (`eks.amazonaws.com/nodegroup`, `capacityType`, …) and refuses that prefix, and `kubernetes.io/` and `k8s.io/`
 *   on taints: "Taint cannot contain reserved prefixes [kubernetes.io/, k8s.io/, eks.amazonaws.com/]"
 *   (the EKS API's error, quoted in aws/containers-roadmap#1451).
 */
import { NodeTaint } from "../userdata/types";
import { ConfigProblem } from "./problems";

/** The label keys kubelet may set on its own Node (k8s.io/kubelet pkg/apis/well_known_labels.go `kubeletLabels`). */
export const KUBELET_LABELS: readonly string[] = [
  "beta.kubernetes.io/arch",
  "beta.kubernetes.io/instance-type",
  "beta.kubernetes.io/os",
  "failure-domain.beta.kubernetes.io/region",
  "failure-domain.beta.kubernetes.io/zone",
  "kubernetes.io/arch",
  "kubernetes.io/hostname",
  "kubernetes.io/os",
  "node.kubernetes.io/instance-type",
  "topology.kubernetes.io/region",
  "topology.kubernetes.io/zone",
];

/** The label namespaces (and their subdomains) kubelet may set (well_known_labels.go `kubeletLabelNamespaces`). */
export const KUBELET_LABEL_NAMESPACES: readonly string[] = ["kubelet.kubernetes.io", "node.kubernetes.io"];

/** The namespaces kubelet restricts (options.go `isKubernetesLabel`): these and their subdomains. */
export const KUBERNETES_LABEL_NAMESPACES: readonly string[] = ["kubernetes.io", "k8s.io"];

/** The label namespace EKS reserves on managed node groups (it sets these labels itself). */
export const EKS_RESERVED_LABEL_NAMESPACES: readonly string[] = ["eks.amazonaws.com"];

/** The taint key namespaces EKS refuses on managed node groups. */
export const EKS_RESERVED_TAINT_NAMESPACES: readonly string[] = ["kubernetes.io", "k8s.io", "eks.amazonaws.com"];

/** EKS's limits on a managed node group's labels and taints (EKS API reference, `UpdateLabelsPayload`, `Taint`, CreateNodegroup). */
export const EKS_LABEL_LIMITS = { maxKeyLength: 63, minValueLength: 1, maxValueLength: 63, maxTaintKeyLength: 63, maxTaints: 50 } as const;

/** The taint effects, in the order messages list them. */
export const TAINT_EFFECTS = ["NoSchedule", "PreferNoSchedule", "NoExecute"] as const;

/** soci-eks's own label prefix (`soci-eks/mode`, `soci-eks/storage`, `soci-eks/degraded`). */
export const SOCI_EKS_LABEL_PREFIX = "soci-eks/";

const DNS_LABEL = "[a-z0-9]([-a-z0-9]*[a-z0-9])?";
const DNS_SUBDOMAIN = new RegExp(`^${DNS_LABEL}(\\.${DNS_LABEL})*$`);
const NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const NAME_TEXT = "1-63 characters of A-Z a-z 0-9 - _ ., starting and ending with a letter or digit";

/**
 * Why `key` is not a Kubernetes qualified name (`[prefix/]name`), as "its key …" (e.g. "its key's name 'a b' is not
 * …"), or undefined when it is one.
 */
export function qualifiedNameProblem(key: string): string | undefined {
  const parts = key.split("/");
  if (parts.length > 2) return "its key has more than one /";
  const [prefix, name] = parts.length === 2 ? parts : [undefined, parts[0]];
  if (prefix !== undefined && (prefix.length === 0 || prefix.length > 253 || !DNS_SUBDOMAIN.test(prefix))) {
    return `its key's prefix '${prefix}' is not a DNS subdomain (lowercase a-z 0-9 - and ., at most 253 characters)`;
  }
  if (name.length === 0) return "its key has an empty name";
  if (name.length > 63 || !NAME.test(name)) return `its key's name '${name}' is not ${NAME_TEXT}`;
  return undefined;
}

/** Why `value` is not a Kubernetes label value (empty allowed), as "its value …", or undefined when it is one. */
export function labelValueProblem(value: string): string | undefined {
  if (value === "") return undefined;
  return value.length <= 63 && NAME.test(value) ? undefined : `its value '${value}' is not ${NAME_TEXT}, or empty`;
}

/** The namespace (prefix) of a key, or "" without one. */
function namespaceOf(key: string): string {
  const slash = key.indexOf("/");
  return slash < 0 ? "" : key.slice(0, slash);
}

/** Whether `namespace` is one of `domains` or a subdomain of one. */
function inNamespaces(namespace: string, domains: readonly string[]): boolean {
  return domains.some((d) => namespace === d || namespace.endsWith(`.${d}`));
}

/** Whether kubelet lets a node set this label on itself (well_known_labels.go `IsKubeletLabel`). */
export function isKubeletLabel(key: string): boolean {
  return KUBELET_LABELS.includes(key) || inNamespaces(namespaceOf(key), KUBELET_LABEL_NAMESPACES);
}

/** A label as messages show it: `key=value`. */
function showLabel(key: string, value: unknown): string {
  return `${key}=${typeof value === "string" ? value : JSON.stringify(value)}`;
}

/** The first problem of one label, or undefined. */
function labelProblem(key: string, value: unknown, setting: string): ConfigProblem | undefined {
  const problem = (reason: string, fix: string): ConfigProblem => ({ setting, value: showLabel(key, value), reason, fix });
  const keyWhy = qualifiedNameProblem(key);
  if (keyWhy) return problem(`is not a valid Kubernetes label: ${keyWhy}`, "Use [prefix/]name keys such as team or example.com/team.");
  if (typeof value !== "string") return problem(`is not a valid Kubernetes label: its value is a ${value === null ? "null" : typeof value}, not a string`, `Quote the value, e.g. ${key}: "${String(value)}".`);
  const valueWhy = labelValueProblem(value);
  if (valueWhy) return problem(`is not a valid Kubernetes label: ${valueWhy}`, "Use a value such as ml or big-images.");
  const namespace = namespaceOf(key);
  if (inNamespaces(namespace, KUBERNETES_LABEL_NAMESPACES) && !isKubeletLabel(key)) {
    return problem(
      `is in the ${namespace} namespace, which kubelet refuses in --node-labels (it allows only ${KUBELET_LABEL_NAMESPACES.map((n) => `${n}/`).join(" and ")} and its own labels), so kubelet exits at start and the node never joins`,
      `Use your own prefix, e.g. example.com/${key.slice(namespace.length + 1)}, or node.kubernetes.io/${key.slice(namespace.length + 1)}; set ${namespace} labels after the node joins (kubectl label node).`,
    );
  }
  if (inNamespaces(namespace, EKS_RESERVED_LABEL_NAMESPACES)) {
    return problem(`is in the ${namespace} namespace, which EKS reserves for the labels it sets itself (eks.amazonaws.com/nodegroup, eks.amazonaws.com/capacityType, …) and refuses on node groups`, `Use your own prefix, e.g. example.com/${key.slice(namespace.length + 1)}.`);
  }
  if (key.startsWith(SOCI_EKS_LABEL_PREFIX)) {
    return problem(`uses the ${SOCI_EKS_LABEL_PREFIX} prefix soci-eks sets itself`, "Choose another label prefix.");
  }
  const L = EKS_LABEL_LIMITS;
  if (key.length > L.maxKeyLength) {
    return problem(`has a key of ${key.length} characters; EKS node groups take label keys of at most ${L.maxKeyLength}, prefix included`, `Shorten the key to ${L.maxKeyLength} characters or fewer.`);
  }
  if (value.length < L.minValueLength) {
    return problem("has an empty value, which EKS node groups refuse (label values have 1-63 characters)", `Give it a value, e.g. ${key}=true.`);
  }
  return undefined;
}

/** One problem for each label Kubernetes, kubelet or EKS refuses (or that uses soci-eks's own prefix). */
export function checkLabels(labels: Readonly<Record<string, unknown>> | undefined, setting: string): ConfigProblem[] {
  return Object.entries(labels ?? {})
    .map(([key, value]) => labelProblem(key, value, setting))
    .filter((p): p is ConfigProblem => p !== undefined);
}

/** A taint as messages show it: `key=value:Effect` (kubectl's notation), or JSON when it is not an object. */
export function showTaint(taint: unknown): string {
  if (typeof taint === "string") return taint;
  if (typeof taint !== "object" || taint === null || Array.isArray(taint)) return JSON.stringify(taint) ?? String(taint);
  const t = taint as Record<string, unknown>;
  const part = (v: unknown) => (typeof v === "string" ? v : v === undefined ? "" : JSON.stringify(v));
  return `${part(t.key)}${t.value !== undefined ? `=${part(t.value)}` : ""}:${part(t.effect)}`;
}

/** The first problem of one taint, or undefined. */
function taintProblem(taint: unknown, setting: string): ConfigProblem | undefined {
  const shown = showTaint(taint);
  const problem = (reason: string, fix: string): ConfigProblem => ({ setting, value: shown, reason, fix });
  const effects = TAINT_EFFECTS.join(", ");
  const invalid = "is not a valid Kubernetes taint";
  if (typeof taint !== "object" || taint === null || Array.isArray(taint)) {
    return problem(`${invalid}: it is not an object {key, value?, effect}`, `Give each taint a key, an optional value and an effect of ${effects}.`);
  }
  const t = taint as Record<string, unknown>;
  if (typeof t.key !== "string" || t.key === "") return problem(`${invalid}: it has no key`, "Give the taint a [prefix/]name key such as dedicated or example.com/gpu.");
  const keyWhy = qualifiedNameProblem(t.key);
  if (keyWhy) return problem(`${invalid}: ${keyWhy}`, "Use a [prefix/]name key such as dedicated or example.com/gpu.");
  if (t.value !== undefined) {
    if (typeof t.value !== "string") return problem(`${invalid}: its value is a ${t.value === null ? "null" : typeof t.value}, not a string`, "Quote the taint's value, or leave it out.");
    const valueWhy = labelValueProblem(t.value);
    if (valueWhy) return problem(`${invalid}: ${valueWhy}`, "Use a value such as big-images, or leave it out.");
  }
  if (typeof t.effect !== "string" || !(TAINT_EFFECTS as readonly string[]).includes(t.effect)) {
    const why = t.effect === undefined || t.effect === "" ? "it has no effect" : `its effect ${typeof t.effect === "string" ? `'${t.effect}'` : JSON.stringify(t.effect)} is not one of ${effects}`;
    return problem(`${invalid}: ${why}`, "Give the taint the effect NoSchedule, PreferNoSchedule or NoExecute (Kubernetes' spelling, also for EKS).");
  }
  const namespace = namespaceOf(t.key);
  if (inNamespaces(namespace, EKS_RESERVED_TAINT_NAMESPACES)) {
    return problem(`has a key in the ${namespace} namespace; EKS refuses taints with the reserved prefixes ${EKS_RESERVED_TAINT_NAMESPACES.map((n) => `${n}/`).join(", ")}`, `Use your own prefix, e.g. example.com/${t.key.slice(namespace.length + 1)}.`);
  }
  if (t.key.length > EKS_LABEL_LIMITS.maxTaintKeyLength) {
    return problem(`has a key of ${t.key.length} characters; EKS node groups take taint keys of at most ${EKS_LABEL_LIMITS.maxTaintKeyLength}, prefix included`, `Shorten the key to ${EKS_LABEL_LIMITS.maxTaintKeyLength} characters or fewer.`);
  }
  return undefined;
}

/**
 * One problem for each taint Kubernetes or EKS refuses, for each repeated key and effect pair, and for more than
 * EKS's 50 taints per node group.
 */
export function checkTaints(taints: readonly unknown[] | undefined, setting: string): ConfigProblem[] {
  const list = taints ?? [];
  const problems: ConfigProblem[] = [];
  const seen = new Map<string, string>();
  for (const taint of list) {
    const problem = taintProblem(taint, setting);
    if (problem) {
      problems.push(problem);
      continue;
    }
    const t = taint as NodeTaint;
    const pair = `${t.key}:${t.effect}`;
    const first = seen.get(pair);
    if (first !== undefined) {
      problems.push({
        setting,
        value: showTaint(t),
        reason: `repeats the key ${t.key} with the effect ${t.effect} (first as ${first}); Kubernetes takes one taint per key and effect`,
        fix: `Keep one ${t.key} taint with the effect ${t.effect}.`,
      });
    } else {
      seen.set(pair, showTaint(t));
    }
  }
  if (list.length > EKS_LABEL_LIMITS.maxTaints) {
    problems.push({ setting, value: `${list.length} taints`, reason: `exceeds EKS's ${EKS_LABEL_LIMITS.maxTaints} taints per node group`, fix: `Give a node group at most ${EKS_LABEL_LIMITS.maxTaints} taints.` });
  }
  return problems;
}
