// Command karpenter-merge gives a launch template's custom user data to Karpenter's own AL2023 bootstrap code
// (aws/karpenter-provider-aws v1.15.2, pkg/providers/amifamily/bootstrap): bootstrap.Nodeadm{Options}.Script()
// builds Karpenter's NodeConfig (cluster fields, inline kubelet config, registerWithTaints, RAID0 with
// instanceStorePolicy RAID0, --node-labels), parses the custom MIME document with Karpenter's bootstrap/mime
// package, appends its NodeConfig last and serializes the archive. The result is base64-decoded as EC2 does before
// the node reads it from IMDS.
//
// The Options are filled the way Karpenter v1.15.2 fills them for an EC2NodeClass with amiFamily AL2023
// (pkg/providers/amifamily/resolver.go resolveLaunchTemplates and defaultClusterDNS,
// pkg/providers/launchtemplate/launchtemplate.go EnsureAll and CreateAMIOptions): the NodeClaim's labels plus
// karpenter.sh/capacity-type and karpenter.sh/do-not-sync-taints=true, restricted labels dropped
// (amifamily.RejectForbiddenLabels's rule), the NodePool's taints plus karpenter.sh/unregistered:NoExecute,
// maxPods of the instance type and the cluster's kube-dns IP in the raw kubelet config. Those few lines of glue are
// written here because the resolver needs a live cloud provider; everything that shapes the bytes is Karpenter's.
//
// Usage: karpenter-merge -userdata IN -out OUT [-raid0] [-cluster name,endpoint,caBase64,cidr]
//
//	[-labels k=v,...] [-taints key[=value]:Effect,...] [-max-pods N] [-kube-dns-ip IP] [-capacity-type T]
//
// Prints one JSON line: parts, customBytes, mergedBytes, base64Bytes, karpenterPartBytes.
package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"os"
	"strings"

	"github.com/samber/lo"
	corev1 "k8s.io/api/core/v1"
	karpv1 "sigs.k8s.io/karpenter/pkg/apis/v1"

	v1 "github.com/aws/karpenter-provider-aws/pkg/apis/v1"
	"github.com/aws/karpenter-provider-aws/pkg/providers/amifamily/bootstrap"
	"github.com/aws/karpenter-provider-aws/pkg/providers/amifamily/bootstrap/mime"
)

// restricted is amifamily.isRestrictedLabel (resolver.go), which RejectForbiddenLabels applies to the labels before
// they reach the NodeConfig: labels in node-restriction.kubernetes.io, kubernetes.io, k8s.io and their subdomains
// are dropped. (The amifamily package itself is not imported: it brings in the whole EC2 and SSM client.)
func restricted(label string) bool {
	domain := karpv1.GetLabelDomain(label)
	for _, r := range []string{corev1.LabelNamespaceNodeRestriction, "kubernetes.io", "k8s.io"} {
		if domain == r || strings.HasSuffix(domain, "."+r) {
			return true
		}
	}
	return false
}

func parseLabels(s string) map[string]string {
	out := map[string]string{}
	for _, kv := range strings.Split(s, ",") {
		if kv == "" {
			continue
		}
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			log.Fatalf("-labels: %q is not key=value", kv)
		}
		out[k] = v
	}
	return out
}

func parseTaints(s string) []corev1.Taint {
	var out []corev1.Taint
	for _, t := range strings.Split(s, ",") {
		if t == "" {
			continue
		}
		kv, effect, ok := strings.Cut(t, ":")
		if !ok {
			log.Fatalf("-taints: %q is not key[=value]:Effect", t)
		}
		k, v, _ := strings.Cut(kv, "=")
		out = append(out, corev1.Taint{Key: k, Value: v, Effect: corev1.TaintEffect(effect)})
	}
	return out
}

func main() {
	in := flag.String("userdata", "", "custom user data (the EC2NodeClass spec.userData)")
	out := flag.String("out", "", "where to write the merged user data, as the node reads it from IMDS")
	raid0 := flag.Bool("raid0", false, "the EC2NodeClass has instanceStorePolicy: RAID0")
	cluster := flag.String("cluster", "lab,https://127.0.0.1:6443,bGFiLWNh,10.100.0.0/16", "name,endpoint,caBase64,cidr")
	labels := flag.String("labels", "karpenter.sh/nodepool=soci,karpenter.k8s.aws/ec2nodeclass=soci-lazy", "the NodeClaim's labels, k=v,...")
	taints := flag.String("taints", "", "the NodePool's taints and startup taints, key[=value]:Effect,...")
	maxPods := flag.Int("max-pods", 58, "maxPods Karpenter resolved for the instance type (m7i.xlarge: 58)")
	kubeDNS := flag.String("kube-dns-ip", "10.100.0.10", "the cluster's kube-dns service IP")
	capacityType := flag.String("capacity-type", "on-demand", "karpenter.sh/capacity-type of the launch")
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

	// launchtemplate.EnsureAll / CreateAMIOptions (InjectDoNotSyncTaintsLabel for non-custom families).
	nodeLabels := lo.Assign(parseLabels(*labels), map[string]string{
		karpv1.CapacityTypeLabelKey:        *capacityType,
		karpv1.NodeDoNotSyncTaintsLabelKey: "true",
	})
	nodeLabels = lo.OmitBy(nodeLabels, func(k, _ string) bool { return restricted(k) })
	// resolveLaunchTemplates: maxPods into both kubelet representations; the NodeClaim's taints plus Karpenter's
	// unregistered taint; defaultClusterDNS: the kube-dns IP into both.
	unparsed := v1.KubeletConfiguration{"maxPods": v1.JSONValue(*maxPods), "clusterDNS": v1.JSONValue([]string{*kubeDNS})}
	nodeTaints := parseTaints(*taints)
	if _, found := lo.Find(nodeTaints, func(t corev1.Taint) bool { return t.MatchTaint(&karpv1.UnregisteredNoExecuteTaint) }); !found {
		nodeTaints = append(nodeTaints, karpv1.UnregisteredNoExecuteTaint)
	}
	var storePolicy *v1.InstanceStorePolicy
	if *raid0 {
		storePolicy = lo.ToPtr(v1.InstanceStorePolicyRAID0)
	}
	text := string(custom)
	nodeadm := bootstrap.Nodeadm{Options: bootstrap.Options{
		ClusterName:           c[0],
		ClusterEndpoint:       c[1],
		ClusterCIDR:           lo.ToPtr(c[3]),
		CABundle:              lo.ToPtr(c[2]),
		UnparsedKubeletConfig: unparsed,
		Taints:                nodeTaints,
		Labels:                nodeLabels,
		CustomUserData:        &text,
		InstanceStorePolicy:   storePolicy,
	}}
	encoded, err := nodeadm.Script(context.Background())
	check(err)
	merged, err := base64.StdEncoding.DecodeString(encoded)
	check(err)
	check(os.WriteFile(*out, merged, 0o644))

	// The size of Karpenter's own part: the merged document minus what the custom parts alone serialize to.
	parts, err := mime.NewArchive(string(merged))
	check(err)
	alone, err := mime.Archive(parts[:len(parts)-1]).Serialize()
	check(err)
	aloneBytes, err := base64.StdEncoding.DecodeString(alone)
	check(err)
	report, err := json.Marshal(map[string]int{
		"parts":              len(parts),
		"customBytes":        len(custom),
		"mergedBytes":        len(merged),
		"base64Bytes":        len(encoded),
		"karpenterPartBytes": len(merged) - len(aloneBytes),
	})
	check(err)
	fmt.Println(string(report))
}

func check(err error) {
	if err != nil {
		log.Fatal(err)
	}
}
