/**
 * The label and taint rules (validation/labels.ts) against their sources: kubelet's allowed set
 * (k8s.io/kubelet pkg/apis/well_known_labels.go `IsKubeletLabel`, cmd/kubelet/app/options `isKubernetesLabel`),
 * Kubernetes' qualified names and label values, and the EKS API's limits.
 */
import { strict as assert } from "assert";
import { describe, it } from "node:test";
import { checkLabels, checkTaints, isKubeletLabel, KUBELET_LABELS, labelValueProblem, qualifiedNameProblem } from "../../validation/labels";
import { formatProblem } from "../../validation/problems";

const labels = (l: Record<string, unknown>) => checkLabels(l, "labels").map(formatProblem);
const taints = (t: unknown[]) => checkTaints(t, "taints").map(formatProblem);

describe("labels", () => {
  it("kubelet's own labels and its two namespaces (and their subdomains) pass kubelet's check; the rest of kubernetes.io and k8s.io do not", () => {
    for (const key of KUBELET_LABELS) assert.ok(isKubeletLabel(key), key);
    for (const key of ["kubelet.kubernetes.io/x", "node.kubernetes.io/pool", "a.node.kubernetes.io/x", "x.kubelet.kubernetes.io/y"]) assert.ok(isKubeletLabel(key), key);
    for (const key of ["node-role.kubernetes.io/worker", "kubernetes.io/role", "node-restriction.kubernetes.io/x", "k8s.io/x", "node.k8s.io/x", "app.kubernetes.io/name", "topology.kubernetes.io/rack"]) {
      assert.ok(!isKubeletLabel(key), key);
      assert.match(labels({ [key]: "v" })[0], /which kubelet refuses in --node-labels .* so kubelet exits at start and the node never joins/, key);
    }
    // Lookalikes outside the two namespaces are ordinary prefixes.
    assert.deepEqual(labels({ "mykubernetes.io/x": "v", "kubernetes.io.example.com/x": "v", "example.com/k8s.io": "v" }), []);
    // What kubelet allows passes (EKS's API is not known to refuse it; see docs/config-reference.md).
    assert.deepEqual(labels({ "node.kubernetes.io/pool": "gpu", "topology.kubernetes.io/zone": "us-west-2a" }), []);
  });

  it("eks.amazonaws.com/ (and its subdomains) is EKS's", () => {
    assert.match(labels({ "eks.amazonaws.com/capacityType": "SPOT" })[0], /eks\.amazonaws\.com namespace, which EKS reserves/);
    assert.match(labels({ "x.eks.amazonaws.com/y": "z" })[0], /x\.eks\.amazonaws\.com namespace, which EKS reserves/);
    assert.deepEqual(labels({ "amazonaws.com/x": "y" }), []);
  });

  it("names the wrong part: key prefix, key name, value; one problem per label", () => {
    assert.equal(qualifiedNameProblem("a/b/c"), "its key has more than one /");
    assert.equal(qualifiedNameProblem("/name"), "its key's prefix '' is not a DNS subdomain (lowercase a-z 0-9 - and ., at most 253 characters)");
    assert.equal(qualifiedNameProblem("example.com/"), "its key has an empty name");
    assert.match(qualifiedNameProblem("-team")!, /^its key's name '-team' is not 1-63 characters/);
    assert.equal(qualifiedNameProblem(`${"a".repeat(63)}.b/${"n".repeat(63)}`), undefined);
    assert.equal(labelValueProblem(""), undefined);
    assert.match(labelValueProblem("a b")!, /^its value 'a b' is not/);
    assert.equal(labels({ "a b": "c d", "e/f/g": "h", ok: "fine" }).length, 2);
  });

  it("EKS: keys of 1-63 characters (prefix included) and values of 1-63", () => {
    assert.deepEqual(labels({ [`example.com/${"k".repeat(51)}`]: "v" }), []);
    assert.match(labels({ [`example.com/${"k".repeat(52)}`]: "v" })[0], /has a key of 64 characters; EKS node groups take label keys of at most 63/);
    assert.match(labels({ team: "" })[0], /has an empty value, which EKS node groups refuse/);
  });

  it("a value that is not a string (a YAML number) is named", () => {
    assert.equal(labels({ tier: 1 })[0], `labels: 'tier=1' is not a valid Kubernetes label: its value is a number, not a string. Quote the value, e.g. tier: "1".`);
  });
});

describe("taints", () => {
  it("one taint per key and effect; the same key with another effect is fine", () => {
    assert.deepEqual(taints([{ key: "k", effect: "NoSchedule" }, { key: "k", effect: "NoExecute" }]), []);
    assert.deepEqual(taints([{ key: "k", value: "a", effect: "NoSchedule" }, { key: "k", value: "b", effect: "NoSchedule" }, { key: "k", effect: "NoSchedule" }]), [
      "taints: 'k=b:NoSchedule' repeats the key k with the effect NoSchedule (first as k=a:NoSchedule); Kubernetes takes one taint per key and effect. Keep one k taint with the effect NoSchedule.",
      "taints: 'k:NoSchedule' repeats the key k with the effect NoSchedule (first as k=a:NoSchedule); Kubernetes takes one taint per key and effect. Keep one k taint with the effect NoSchedule.",
    ]);
  });

  it("names the wrong part, in kubectl's key=value:Effect notation", () => {
    assert.match(taints([{ key: "k", value: "v", effect: "Sometimes" }])[0], /^taints: 'k=v:Sometimes' is not a valid Kubernetes taint: its effect 'Sometimes' is not one of NoSchedule, PreferNoSchedule, NoExecute\./);
    assert.match(taints([{ value: "v", effect: "NoSchedule" }])[0], /^taints: '=v:NoSchedule' is not a valid Kubernetes taint: it has no key\./);
    assert.match(taints([{ key: "k" }])[0], /^taints: 'k:' is not a valid Kubernetes taint: it has no effect\./);
    assert.match(taints([{ key: "k", value: 3, effect: "NoSchedule" }])[0], /its value is a number, not a string/);
    assert.match(taints(["k=v:NoSchedule"])[0], /^taints: 'k=v:NoSchedule' is not a valid Kubernetes taint: it is not an object \{key, value\?, effect\}/);
    assert.match(taints([null])[0], /^taints: 'null' is not a valid Kubernetes taint/);
  });

  it("EKS: reserved prefixes, keys of at most 63 characters, at most 50 taints", () => {
    for (const key of ["kubernetes.io/x", "node.kubernetes.io/x", "k8s.io/x", "eks.amazonaws.com/x"]) assert.match(taints([{ key, effect: "NoSchedule" }])[0], /EKS refuses taints with the reserved prefixes kubernetes\.io\/, k8s\.io\/, eks\.amazonaws\.com\//, key);
    assert.match(taints([{ key: `example.com/${"k".repeat(52)}`, effect: "NoSchedule" }])[0], /has a key of 64 characters/);
    const many = Array.from({ length: 51 }, (_, i) => ({ key: `t${i}`, effect: "NoSchedule" }));
    assert.deepEqual(taints(many.slice(0, 50)), []);
    assert.deepEqual(taints(many), ["taints: '51 taints' exceeds EKS's 50 taints per node group. Give a node group at most 50 taints."]);
  });
});
