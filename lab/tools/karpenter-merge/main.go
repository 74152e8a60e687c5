// Command karpenter-merge does to a launch template's custom user data what Karpenter
// (aws/karpenter-provider-aws v1.15.2, pkg/providers/amifamily/bootstrap/nodeadm.go Script) does
// for an AL2023 EC2NodeClass: it parses the MIME document with Karpenter's own bootstrap/mime
// package (NewArchive: Go's multipart reader, each part reduced to its Content-Type and body),
// appends Karpenter's generated NodeConfig last and serializes the archive (Serialize), then
// base64-decodes the result as EC2 does before the node reads it from IMDS.
//
// Karpenter's NodeConfig is written here in the shape getNodeConfigYAML produces (cluster
// fields, registerWithTaints always, RAID0 with instanceStorePolicy RAID0, --node-labels);
// building Karpenter's Nodeadm type itself would pull in the whole of sigs.k8s.io/karpenter.
//
// Usage: karpenter-merge -userdata IN -out OUT [-raid0] [-cluster name,endpoint,caBase64,cidr]
package main

import (
	"encoding/base64"
	"flag"
	"fmt"
	"log"
	"os"
	"strings"

	"github.com/aws/karpenter-provider-aws/pkg/providers/amifamily/bootstrap/mime"
)

// karpenterNodeConfig mirrors the YAML Karpenter's getNodeConfigYAML emits (sigs.k8s.io/yaml of
// admv1alpha1.NodeConfig: keys sorted, CA as base64, empty structs kept).
func karpenterNodeConfig(name, endpoint, ca, cidr string, raid0 bool) string {
	var b strings.Builder
	b.WriteString("# Karpenter Generated NodeConfig\n")
	b.WriteString("apiVersion: node.eks.aws/v1alpha1\nkind: NodeConfig\nmetadata:\n  creationTimestamp: null\nspec:\n")
	fmt.Fprintf(&b, "  cluster:\n    apiServerEndpoint: %s\n    certificateAuthority: %s\n    cidr: %s\n    name: %s\n", endpoint, ca, cidr, name)
	b.WriteString("  containerd: {}\n")
	if raid0 {
		b.WriteString("  instance:\n    localStorage:\n      strategy: RAID0\n")
	} else {
		b.WriteString("  instance:\n    localStorage: {}\n")
	}
	b.WriteString("  kubelet:\n    config:\n      registerWithTaints:\n      - effect: NoExecute\n        key: karpenter.sh/unregistered\n")
	b.WriteString("    flags:\n    - --node-labels=karpenter.sh/capacity-type=on-demand,karpenter.sh/nodepool=soci,karpenter.k8s.aws/ec2nodeclass=soci-lazy\n")
	return b.String()
}

func main() {
	in := flag.String("userdata", "", "custom user data (the EC2NodeClass spec.userData)")
	out := flag.String("out", "", "where to write the merged user data, as the node reads it from IMDS")
	raid0 := flag.Bool("raid0", false, "the EC2NodeClass has instanceStorePolicy: RAID0")
	cluster := flag.String("cluster", "lab,https://127.0.0.1:6443,bGFiLWNh,10.100.0.0/16", "name,endpoint,caBase64,cidr")
	flag.Parse()
	if *in == "" || *out == "" {
		flag.Usage()
		os.Exit(2)
	}
	custom, err := os.ReadFile(*in)
	check(err)
	c := strings.Split(*cluster, ",")
	if len(c) != 4 {
		log.Fatalf("-cluster wants name,endpoint,caBase64,cidr")
	}
	// nodeadm.go parseUserData: MIME documents go through mime.NewArchive.
	text := string(custom)
	if !strings.HasPrefix(strings.TrimSpace(text), "MIME-Version:") && !strings.HasPrefix(strings.TrimSpace(text), "Content-Type:") {
		log.Fatalf("custom user data is not MIME; this tool covers only the MIME path")
	}
	archive, err := mime.NewArchive(text)
	check(err)
	archive = append(archive, mime.Entry{ContentType: mime.ContentTypeNodeConfig, Content: karpenterNodeConfig(c[0], c[1], c[2], c[3], *raid0)})
	encoded, err := archive.Serialize()
	check(err)
	merged, err := base64.StdEncoding.DecodeString(encoded)
	check(err)
	check(os.WriteFile(*out, merged, 0o644))
	fmt.Printf("{\"parts\":%d,\"customBytes\":%d,\"mergedBytes\":%d,\"base64Bytes\":%d}\n", len(archive), len(custom), len(merged), len(encoded))
}

func check(err error) {
	if err != nil {
		log.Fatal(err)
	}
}
