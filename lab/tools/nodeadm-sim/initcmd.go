package main

// `nodeadm-sim init`: the lab's model of the two nodeadm phases an AL2023 node runs
// (nodeadm-config: `init --skip run`; nodeadm-run: `init --skip config` with file:///etc/eks/nodeadm.d/),
// taking the same flags as nodeadm: --skip PHASE, --config-source URL (repeatable), --config-cache PATH.
//
// As nodeadm (awslabs/amazon-eks-ami, read at 81fec2e):
//   - the sources are merged (nodeconfig.go) and validated (cluster name, endpoint, CA, CIDR);
//   - when the merged spec equals the cached one, the cached config (with its enrichment) is used;
//     otherwise the config is enriched: kubelet version (/etc/eks/kubelet-version.txt), instance
//     details from IMDS (AWS_EC2_METADATA_SERVICE_ENDPOINT, IMDSv2);
//   - the config phase runs unless skipped, and ALSO when a cache exists and the spec differs from it
//     (a drop-in appeared between nodeadm-config and nodeadm-run): "Configuring daemons..." is logged
//     then, containerd's and kubelet's files are rewritten (daemons.go) and the cache is saved;
//   - the run phase restarts containerd (then imports the pause image into soci when FastImagePull is
//     on) and then kubelet, through `systemctl restart` (nodeadm talks to systemd over D-Bus; the lab has
//     no D-Bus, so lib/fake-systemctl.sh plays systemd); a failed restart fails the command.
// Not modelled: EC2 API calls (the lab sets featureGates.InstanceIdNodeName), IMDS retries for ~10
// minutes (the model tries 3 times), outposts, GPUs, max-pods tables and kube-reserved, the
// image credential provider config, the v2 template + `containerd config migrate` path, RAID0 and
// the system aspects (resolv.conf, environment), the instance's memory blocks (MemTotal is used).

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"time"
)

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "nodeadm-sim: "+format+"\n", args...)
}

type initOptions struct {
	sources []string
	cache   string
	skip    []string
}

func parseInitFlags(args []string) (initOptions, error) {
	var o initOptions
	for i := 0; i < len(args); i++ {
		name, val, hasVal := strings.Cut(args[i], "=")
		if !hasVal {
			if i+1 >= len(args) {
				return o, fmt.Errorf("flag %s needs a value", name)
			}
			i++
			val = args[i]
		}
		switch name {
		case "--skip", "-s":
			o.skip = append(o.skip, val)
		case "--config-source", "-c":
			o.sources = append(o.sources, val)
		case "--config-cache":
			o.cache = val
		default:
			return o, fmt.Errorf("unknown flag %s", name)
		}
	}
	if len(o.sources) == 0 {
		return o, errors.New("the model needs --config-source (it has no imds://user-data source)")
	}
	return o, nil
}

// nodeState is what the model caches: the merged spec and what enrichment found.
type nodeState struct {
	Spec   map[string]any `json:"spec"`
	Status status         `json:"status"`
}

type status struct {
	KubeletVersion   string `json:"kubeletVersion"`
	InstanceID       string `json:"instanceId"`
	Region           string `json:"region"`
	AvailabilityZone string `json:"availabilityZone"`
	InstanceType     string `json:"instanceType"`
	PrivateIP        string `json:"privateIp"`
}

func runInit(args []string) int {
	if err := initCmd(args); err != nil {
		logf("error: %v", err)
		return 1
	}
	return 0
}

func initCmd(args []string) error {
	start := time.Now()
	o, err := parseInitFlags(args)
	if err != nil {
		return err
	}
	logf("Loading configuration.. sources=%v cache=%s", o.sources, o.cache)
	var cached *nodeState
	if o.cache != "" {
		if b, err := os.ReadFile(o.cache); err == nil {
			var c nodeState
			if err := json.Unmarshal(b, &c); err == nil {
				cached = &c
			}
		}
	}
	spec, err := loadSources(o.sources)
	if err != nil {
		return err
	}
	cfg := &nodeState{Spec: spec}
	changed := false
	if cached != nil && reflect.DeepEqual(normalize(spec), normalize(cached.Spec)) {
		cfg = cached
	} else {
		changed = cached != nil
		logf("Enriching configuration..")
		if cfg.Status, err = enrich(); err != nil {
			return err
		}
	}
	if err := validate(cfg.Spec); err != nil {
		return err
	}
	needsRecache := o.cache != "" && changed
	if needsRecache || !slices.Contains(o.skip, "config") {
		if needsRecache {
			logf("the config differs from the cached one: running the config phase again")
		}
		logf("Configuring daemons...")
		if err := configureContainerd(cfg); err != nil {
			return err
		}
		if err := configureKubelet(cfg); err != nil {
			return err
		}
		if o.cache != "" {
			b, _ := json.MarshalIndent(cfg, "", "  ")
			if err := putFile(o.cache, b, 0o644); err != nil {
				logf("Failed to cache config: %v", err)
			}
		}
	}
	if !slices.Contains(o.skip, "run") {
		logf("Running daemons...")
		if err := runDaemons(cfg); err != nil {
			return err
		}
	}
	logf("done! duration %s", time.Since(start).Round(time.Millisecond))
	return nil
}

func validate(spec map[string]any) error {
	for _, f := range []struct{ key, what string }{
		{"name", "Name"}, {"apiServerEndpoint", "Apiserver endpoint"}, {"certificateAuthority", "Certificate authority"}, {"cidr", "CIDR"},
	} {
		if getString(spec, "cluster", f.key) == "" {
			return fmt.Errorf("%s is missing in cluster configuration", f.what)
		}
	}
	return nil
}

func enrich() (status, error) {
	var s status
	raw, err := os.ReadFile("/etc/eks/kubelet-version.txt")
	if err != nil {
		return s, fmt.Errorf("kubelet version: %w (the lab has no kubelet binary)", err)
	}
	for _, f := range strings.Fields(string(raw)) {
		if strings.HasPrefix(f, "v") && strings.Count(f, ".") == 2 {
			s.KubeletVersion = f
		}
	}
	endpoint := strings.TrimSuffix(os.Getenv("AWS_EC2_METADATA_SERVICE_ENDPOINT"), "/")
	if endpoint == "" {
		return s, errors.New("AWS_EC2_METADATA_SERVICE_ENDPOINT is not set: the model never talks to 169.254.169.254")
	}
	get := func(path string) (string, error) { return imdsGet(endpoint, path) }
	var errs []error
	for _, f := range []struct {
		dst  *string
		path string
	}{
		{&s.InstanceID, "meta-data/instance-id"}, {&s.AvailabilityZone, "meta-data/placement/availability-zone"},
		{&s.Region, "meta-data/placement/region"}, {&s.InstanceType, "meta-data/instance-type"}, {&s.PrivateIP, "meta-data/local-ipv4"},
	} {
		v, err := get(f.path)
		if err != nil {
			errs = append(errs, err)
		}
		*f.dst = v
	}
	if err := errors.Join(errs...); err != nil {
		return s, fmt.Errorf("instance details from IMDS (%s): %w", endpoint, err)
	}
	logf("Instance details populated: %+v", s)
	return s, nil
}

// imdsGet: IMDSv2 (token, then the path), 3 attempts a second apart.
func imdsGet(endpoint, path string) (string, error) {
	client := &http.Client{Timeout: 3 * time.Second}
	var last error
	for attempt := 0; attempt < 3; attempt++ {
		if attempt > 0 {
			time.Sleep(time.Second)
		}
		req, _ := http.NewRequest(http.MethodPut, endpoint+"/latest/api/token", nil)
		req.Header.Set("X-aws-ec2-metadata-token-ttl-seconds", "60")
		resp, err := client.Do(req)
		if err != nil {
			last = err
			continue
		}
		token, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		req, _ = http.NewRequest(http.MethodGet, endpoint+"/latest/"+path, nil)
		req.Header.Set("X-aws-ec2-metadata-token", string(token))
		resp, err = client.Do(req)
		if err != nil {
			last = err
			continue
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			last = fmt.Errorf("GET %s: %s", path, resp.Status)
			continue
		}
		return strings.TrimSpace(string(body)), nil
	}
	return "", last
}

func putFile(path string, data []byte, perm os.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, data, perm)
}
