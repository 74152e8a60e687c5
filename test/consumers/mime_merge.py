#!/usr/bin/python3
"""Merges a user-data MIME document the way an EKS managed node group does, for the tests: our model of EKS
appending its NodeConfig part (cluster fields, maxPods, clusterDNS, the node group's labels as --node-labels and
taints as --register-with-taints) to a launch template's document without an AMI, under the same boundary, our parts
untouched. EKS's real merge cannot be run here; this is a model.

Karpenter's merge is not modelled: the tests run Karpenter's own bootstrap code (lab/tools/karpenter-merge).

Usage: mime_merge.py eks IN OUT [--cluster name,endpoint,caBase64,cidr] [--nodegroup NAME]
                                [--labels k=v,...] [--taints key=value:Effect,...]
Prints a JSON line: parts, inBytes, outBytes.
"""
import argparse
import email
import email.policy
import json
import sys

DEFAULT_CLUSTER = "lab,https://127.0.0.1:6443,bGFiLWNh,10.100.0.0/16"


def eks_nodeconfig(name, endpoint, ca, cidr, nodegroup="soci", labels="", taints=""):
    extra_labels = "".join(f",{kv}" for kv in labels.split(",") if kv)
    taint_flag = f"    - --register-with-taints={taints}\n" if taints else ""
    return (
        "---\napiVersion: node.eks.aws/v1alpha1\nkind: NodeConfig\nspec:\n  cluster:\n"
        f"    name: {name}\n    apiServerEndpoint: {endpoint}\n    certificateAuthority: {ca}\n    cidr: {cidr}\n"
        "  kubelet:\n    config:\n      maxPods: 58\n      clusterDNS:\n      - 10.100.0.10\n"
        "    flags:\n    - --node-labels=eks.amazonaws.com/nodegroup-image=ami-0123456789abcdef0,eks.amazonaws.com/capacityType=ON_DEMAND,"
        f"eks.amazonaws.com/nodegroup={nodegroup}{extra_labels}\n{taint_flag}"
    )


def eks_append(text, nodeconfig):
    msg = email.message_from_string(text, policy=email.policy.compat32)
    boundary = msg.get_boundary()
    closing = f"\n--{boundary}--"
    at = text.rfind(closing)
    if boundary is None or at < 0:
        raise SystemExit("no closing delimiter to append before")
    part = f'\n--{boundary}\nContent-Type: application/node.eks.aws; charset="us-ascii"\n\n{nodeconfig}'
    return text[:at] + part + text[at:]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("merger", choices=["eks"])
    ap.add_argument("infile")
    ap.add_argument("outfile")
    ap.add_argument("--cluster", default=DEFAULT_CLUSTER)
    ap.add_argument("--nodegroup", default="soci")
    ap.add_argument("--labels", default="")
    ap.add_argument("--taints", default="")
    a = ap.parse_args()
    with open(a.infile, encoding="utf-8") as f:
        text = f.read()
    name, endpoint, ca, cidr = a.cluster.split(",")
    merged = eks_append(text, eks_nodeconfig(name, endpoint, ca, cidr, a.nodegroup, a.labels, a.taints))
    parts = len(email.message_from_string(merged).get_payload())
    with open(a.outfile, "w", encoding="utf-8") as f:
        f.write(merged)
    json.dump({"parts": parts, "inBytes": len(text.encode()), "outBytes": len(merged.encode())}, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
