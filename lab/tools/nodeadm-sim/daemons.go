package main

// What the model's config phase writes and its run phase starts (see initcmd.go for what is
// not modelled). Paths are nodeadm's.

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"

	"dario.cat/mergo"
	"github.com/pelletier/go-toml/v2"
)

const (
	containerdConfigFile  = "/etc/containerd/config.toml"
	baseRuntimeSpecFile   = "/etc/containerd/base-runtime-spec.json"
	sociConfigFile        = "/etc/soci-snapshotter-grpc/config.toml"
	sociDependencyDropIn  = "/etc/systemd/system/containerd.service.d/10-soci-snapshotter.conf"
	sociSocket            = "/run/soci-snapshotter-grpc/soci-snapshotter-grpc.sock"
	kubeletConfigFile     = "/etc/kubernetes/kubelet/config.json"
	kubeletConfigDir      = "/etc/kubernetes/kubelet/config.json.d"
	kubeletEnvironment    = "/etc/eks/kubelet/environment"
	kubeconfigFile        = "/var/lib/kubelet/kubeconfig"
	clusterCAFile         = "/etc/kubernetes/pki/ca.crt"
	pauseArchive          = "/etc/eks/pause.tar"
	containerdSocket      = "unix:///run/containerd/containerd.sock"
	containerdBaseEnvName = "NODEADM_SIM_CONTAINERD_BASE"
)

// useSOCI is nodeadm's UseSOCISnapshotter: featureGates.FastImagePull on an instance with at least
// 4 vCPUs (counted like nodeadm: NODE_DIR/node*/cpu*, else CPU_DIR/cpu*) and 7 GiB of memory (MemTotal here).
func useSOCI(spec map[string]any) bool {
	if on, _ := get(spec, "featureGates", "FastImagePull").(bool); !on {
		return false
	}
	return cpuCount() >= 4 && memTotalBytes() >= 7<<30
}

func cpuCount() int {
	nodeDir := envOr("NODE_DIR", "/sys/devices/system/node")
	n := 0
	nodes, _ := filepath.Glob(filepath.Join(nodeDir, "node*[0-9]"))
	for _, node := range nodes {
		cpus, _ := filepath.Glob(filepath.Join(node, "cpu*[0-9]"))
		n += len(cpus)
	}
	if len(nodes) == 0 {
		cpus, _ := filepath.Glob(filepath.Join(envOr("CPU_DIR", "/sys/devices/system/cpu"), "cpu*[0-9]"))
		n = len(cpus)
	}
	return n
}

func memTotalBytes() int64 {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0
	}
	var kib int64
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "MemTotal:") {
			fmt.Sscanf(strings.TrimPrefix(line, "MemTotal:"), "%d", &kib)
		}
	}
	return kib << 10
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func configureContainerd(cfg *nodeState) error {
	spec := cfg.Spec
	soci := useSOCI(spec)
	// base runtime spec: containerd's default OCI spec (`ctr oci spec`) stands in for nodeadm's embedded
	// one; the NodeConfig's baseRuntimeSpec is merged over it as nodeadm does.
	specJSON, err := exec.Command("ctr", "oci", "spec").Output()
	if err != nil {
		return fmt.Errorf("ctr oci spec: %w", err)
	}
	if brs, ok := get(spec, "containerd", "baseRuntimeSpec").(map[string]any); ok && len(brs) > 0 {
		src, _ := json.Marshal(brs)
		merged, err := mergeDocs(specJSON, src, json.Unmarshal)
		if err != nil {
			return fmt.Errorf("baseRuntimeSpec: %w", err)
		}
		specJSON, _ = json.MarshalIndent(merged, "", "    ")
	}
	if err := putFile(baseRuntimeSpecFile, specJSON, 0o644); err != nil {
		return err
	}
	if soci {
		logf("FastImagePull: writing the AMI-style SOCI config to %s", sociConfigFile)
		if err := putFile(sociConfigFile, []byte(amiSociConfig), 0o644); err != nil {
			return err
		}
	}
	// containerd: nodeadm's v3 template as rendered on AL2023 (the lab's fixture, with its two lab
	// deviations), with the template's FastImagePull lines, then the user's snippet merged over it.
	basePath := os.Getenv(containerdBaseEnvName)
	if basePath == "" {
		return fmt.Errorf("%s is not set (the rendered containerd v3 base template)", containerdBaseEnvName)
	}
	base, err := os.ReadFile(basePath)
	if err != nil {
		return err
	}
	var dst map[string]any
	if err := toml.Unmarshal(base, &dst); err != nil {
		return fmt.Errorf("%s: %w", basePath, err)
	}
	if soci {
		images := dst["plugins"].(map[string]any)["io.containerd.cri.v1.images"].(map[string]any)
		images["snapshotter"] = "soci"
		images["disable_snapshot_annotations"] = false
		dst["proxy_plugins"] = map[string]any{"soci": map[string]any{
			"type": "snapshot", "address": sociSocket,
			"exports": map[string]any{"root": "/var/lib/soci-snapshotter-grpc"},
		}}
	}
	if snippet := getString(spec, "containerd", "config"); snippet != "" {
		if !strings.Contains(snippet, "io.containerd.cri.v1.images") && !strings.Contains(snippet, "io.containerd.cri.v1.runtime") {
			logf("WARNING: the containerd snippet has no v3 key: nodeadm would render its v2 template and run `containerd config migrate` (not modelled: the v3 base is used)")
		}
		var src map[string]any
		if err := toml.Unmarshal([]byte(snippet), &src); err != nil {
			return fmt.Errorf("containerd.config: %w", err)
		}
		if err := mergo.Merge(&dst, &src, mergo.WithOverride); err != nil {
			return err
		}
	}
	out, err := toml.Marshal(dst)
	if err != nil {
		return err
	}
	logf("Writing containerd config to file.. path=%s", containerdConfigFile)
	if err := putFile(containerdConfigFile, out, 0o644); err != nil {
		return err
	}
	if soci {
		logf("Writing SOCI dependency drop-in for containerd.service")
		if err := putFile(sociDependencyDropIn, []byte("[Unit]\nRequires=soci-snapshotter.service\nAfter=soci-snapshotter.service\n"), 0o644); err != nil {
			return err
		}
		if out, err := exec.Command("systemctl", "daemon-reload").CombinedOutput(); err != nil {
			return fmt.Errorf("systemctl daemon-reload: %w: %s", err, out)
		}
	}
	return nil
}

// amiSociConfig: the model's stand-in for the SOCI config nodeadm embeds for FastImagePull (parallel
// pull/unpack, containerd's content store, no soci_v2 section): written where nodeadm writes it.
const amiSociConfig = `# nodeadm-sim: stands in for the config nodeadm writes with featureGates.FastImagePull
debug = false

[content_store]
type = "containerd"

[pull_modes.parallel_pull_unpack]
enable = true
`

func configureKubelet(cfg *nodeState) error {
	spec, st := cfg.Spec, cfg.Status
	flags := map[string]string{
		"cloud-provider":    "external",
		"hostname-override": st.InstanceID, // featureGates.InstanceIdNodeName (else EC2's PrivateDnsName)
		"node-ip":           st.PrivateIP,
		"runtime-cgroups":   "/runtime.slice/containerd.service",
		"config":            kubeletConfigFile,
		"kubeconfig":        kubeconfigFile,
	}
	kc := map[string]any{
		"apiVersion":               "kubelet.config.k8s.io/v1beta1",
		"kind":                     "KubeletConfiguration",
		"address":                  "0.0.0.0",
		"authentication":           map[string]any{"x509": map[string]any{"clientCAFile": clusterCAFile}},
		"cgroupDriver":             "systemd",
		"clusterDomain":            "cluster.local",
		"containerRuntimeEndpoint": containerdSocket,
		"providerID":               fmt.Sprintf("aws:///%s/%s", st.AvailabilityZone, st.InstanceID),
	}
	if dns, err := clusterDNS(getString(spec, "cluster", "cidr")); err == nil {
		kc["clusterDNS"] = []string{dns}
	} else {
		return err
	}
	if useSOCI(spec) {
		kc["imageServiceEndpoint"] = "unix://" + sociSocket
	}
	b, _ := json.MarshalIndent(kc, "", "    ")
	logf("Writing kubelet config to file.. path=%s", kubeletConfigFile)
	if err := putFile(kubeletConfigFile, b, 0o644); err != nil {
		return err
	}
	if user, ok := get(spec, "kubelet", "config").(map[string]any); ok && len(user) > 0 {
		flags["config-dir"] = kubeletConfigDir
		merged, err := mergeDocs([]byte(`{"apiVersion":"kubelet.config.k8s.io/v1beta1","kind":"KubeletConfiguration"}`), mustJSON(user), json.Unmarshal)
		if err != nil {
			return err
		}
		b, _ := json.MarshalIndent(merged, "", "    ")
		path := filepath.Join(kubeletConfigDir, "40-nodeadm.conf")
		logf("Writing user kubelet config to drop-in file.. path=%s", path)
		if err := putFile(path, b, 0o644); err != nil {
			return err
		}
	}
	ca, err := base64.StdEncoding.DecodeString(getString(spec, "cluster", "certificateAuthority"))
	if err != nil {
		return fmt.Errorf("cluster.certificateAuthority: %w", err)
	}
	if err := putFile(clusterCAFile, ca, 0o644); err != nil {
		return err
	}
	kubeconfig := fmt.Sprintf("apiVersion: v1\nkind: Config\nclusters:\n- name: kubernetes\n  cluster:\n    certificate-authority: %s\n    server: %s\ncontexts:\n- name: kubelet\n  context: {cluster: kubernetes, user: kubelet}\ncurrent-context: kubelet\nusers:\n- name: kubelet\n  user:\n    exec:\n      apiVersion: client.authentication.k8s.io/v1beta1\n      command: aws\n      args: [eks, get-token, --cluster-name, %s, --region, %s]\n",
		clusterCAFile, getString(spec, "cluster", "apiServerEndpoint"), getString(spec, "cluster", "name"), st.Region)
	if err := putFile(kubeconfigFile, []byte(kubeconfig), 0o644); err != nil {
		return err
	}
	// /etc/eks/kubelet/environment: nodeadm's flags, then the user's (kubelet.flags, appended by every
	// source), so the user's win; kubelet.service passes $NODEADM_KUBELET_ARGS.
	var args []string
	keys := make([]string, 0, len(flags))
	for k := range flags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		args = append(args, fmt.Sprintf("--%s=%s", k, flags[k]))
	}
	for _, f := range asList(get(spec, "kubelet", "flags")) {
		args = append(args, fmt.Sprint(f))
	}
	return putFile(kubeletEnvironment, []byte("NODEADM_KUBELET_ARGS="+strings.Join(args, " ")), 0o644)
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	check(err)
	return b
}

// clusterDNS: nodeadm's heuristic, the service CIDR's base address with its last octet 10 (IPv4).
func clusterDNS(cidr string) (string, error) {
	_, n, err := net.ParseCIDR(cidr)
	if err != nil || n.IP.To4() == nil {
		return "", fmt.Errorf("cluster.cidr %q: the model handles IPv4 service CIDRs only", cidr)
	}
	ip := n.IP.To4()
	return fmt.Sprintf("%d.%d.%d.10", ip[0], ip[1], ip[2]), nil
}

// runDaemons: containerd, its post-launch step, then kubelet, each restarted through systemctl.
func runDaemons(cfg *nodeState) error {
	if err := systemctl("restart", "containerd.service"); err != nil {
		return err
	}
	if useSOCI(cfg.Spec) {
		if _, err := os.Stat(pauseArchive); err == nil {
			logf("Importing pause image into SOCI snapshotter path=%s", pauseArchive)
			out, err := exec.Command("ctr", "--namespace", "k8s.io", "images", "import", "--snapshotter", "soci",
				"--discard-unpacked-layers=false", "--local", pauseArchive).CombinedOutput()
			if err != nil {
				return fmt.Errorf("importing pause image into SOCI snapshotter: %w, output: %s", err, out)
			}
		}
	}
	return systemctl("restart", "kubelet.service")
}

func systemctl(args ...string) error {
	logf("systemctl %s", strings.Join(args, " "))
	var stderr bytes.Buffer
	cmd := exec.Command("systemctl", args...)
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("systemctl %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return nil
}
