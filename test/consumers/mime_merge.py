#!/usr/bin/python3
"""Merges a user-data MIME document the way the services that launch nodes do, for the tests.

karpenter: what Karpenter v1.15.2 does with an AL2023 EC2NodeClass's custom user data
  (pkg/providers/amifamily/bootstrap/nodeadm.go Script and bootstrap/mime/mime.go): re-parse the
  document with a MIME parser, keep of each part only its Content-Type header and its body (Go's
  multipart reader decodes quoted-printable and nothing else: base64 stays base64 text), append
  Karpenter's NodeConfig last, and serialize with boundary "//" the way Go's multipart writer does
  (CRLFs removed afterwards, as Karpenter does). lab/tools/karpenter-merge runs Karpenter's own
  mime package on the same input; the lab checks that both give the same bytes.
eks: an EKS managed node group appending its NodeConfig part to the launch template's document
  (same boundary, our parts untouched).

Usage: mime_merge.py karpenter|eks IN OUT [--raid0] [--cluster name,endpoint,caBase64,cidr]
Prints a JSON line: parts, inBytes, outBytes.
"""
import argparse
import email
import email.policy
import json
import quopri
import sys

DEFAULT_CLUSTER = "lab,https://127.0.0.1:6443,bGFiLWNh,10.100.0.0/16"


def karpenter_nodeconfig(name, endpoint, ca, cidr, raid0):
    """The shape of Karpenter's getNodeConfigYAML output (same text as lab/tools/karpenter-merge)."""
    out = "# Karpenter Generated NodeConfig\n"
    out += "apiVersion: node.eks.aws/v1alpha1\nkind: NodeConfig\nmetadata:\n  creationTimestamp: null\nspec:\n"
    out += f"  cluster:\n    apiServerEndpoint: {endpoint}\n    certificateAuthority: {ca}\n    cidr: {cidr}\n    name: {name}\n"
    out += "  containerd: {}\n"
    out += "  instance:\n    localStorage:\n      strategy: RAID0\n" if raid0 else "  instance:\n    localStorage: {}\n"
    out += "  kubelet:\n    config:\n      registerWithTaints:\n      - effect: NoExecute\n        key: karpenter.sh/unregistered\n"
    out += "    flags:\n    - --node-labels=karpenter.sh/capacity-type=on-demand,karpenter.sh/nodepool=soci,karpenter.k8s.aws/ec2nodeclass=soci-lazy\n"
    return out


def eks_nodeconfig(name, endpoint, ca, cidr):
    return (
        "---\napiVersion: node.eks.aws/v1alpha1\nkind: NodeConfig\nspec:\n  cluster:\n"
        f"    name: {name}\n    apiServerEndpoint: {endpoint}\n    certificateAuthority: {ca}\n    cidr: {cidr}\n"
        "  kubelet:\n    config:\n      maxPods: 58\n      clusterDNS:\n      - 10.100.0.10\n"
        "    flags:\n    - --node-labels=eks.amazonaws.com/nodegroup-image=ami-0123456789abcdef0,eks.amazonaws.com/capacityType=ON_DEMAND,eks.amazonaws.com/nodegroup=soci\n"
    )


def karpenter_entries(text):
    """mime.NewArchive: each part as (Content-Type header value, body), in order."""
    msg = email.message_from_string(text, policy=email.policy.compat32)
    if not msg.is_multipart():
        raise SystemExit("not a multipart document")
    entries = []
    for part in msg.get_payload():
        body = part.get_payload(decode=False)
        if not isinstance(body, str):
            raise SystemExit("nested multipart parts are not covered")
        # Go's multipart.Reader.NextPart: quoted-printable is decoded (and its header removed); nothing else is.
        if (part.get("Content-Transfer-Encoding") or "").strip().lower() == "quoted-printable":
            body = quopri.decodestring(body.encode("ascii")).decode("utf-8")
        entries.append((part.get("Content-Type", ""), body))
    return entries


def karpenter_serialize(entries):
    """mime.Archive.Serialize without the final base64 (EC2 decodes it before the node reads it)."""
    out = 'MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="//"\n\n'
    for i, (ctype, content) in enumerate(entries):
        out += ("\n--//\n" if i else "--//\n") + f"Content-Type: {ctype}\n\n" + content
    return out + "\n--//--\n"


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
    ap.add_argument("merger", choices=["karpenter", "eks"])
    ap.add_argument("infile")
    ap.add_argument("outfile")
    ap.add_argument("--raid0", action="store_true")
    ap.add_argument("--cluster", default=DEFAULT_CLUSTER)
    a = ap.parse_args()
    with open(a.infile, encoding="utf-8") as f:
        text = f.read()
    name, endpoint, ca, cidr = a.cluster.split(",")
    if a.merger == "karpenter":
        entries = karpenter_entries(text)
        entries.append(("application/node.eks.aws", karpenter_nodeconfig(name, endpoint, ca, cidr, a.raid0)))
        merged = karpenter_serialize(entries)
        parts = len(entries)
    else:
        merged = eks_append(text, eks_nodeconfig(name, endpoint, ca, cidr))
        parts = len(email.message_from_string(merged).get_payload())
    with open(a.outfile, "w", encoding="utf-8") as f:
        f.write(merged)
    json.dump({"parts": parts, "inBytes": len(text.encode()), "outBytes": len(merged.encode())}, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
