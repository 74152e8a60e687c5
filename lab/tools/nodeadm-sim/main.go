// Command nodeadm-sim does, for the lab, what current nodeadm (amazon-eks-ami, 2026) and
// cloud-init do with an AL2023 launch template's MIME user data, using the same libraries
// nodeadm uses for the containerd merge (go-toml/v2 + dario.cat/mergo WithOverride):
//
//   - splits the MIME multipart document into parts (base64 and gzip parts decoded);
//   - application/node.eks.aws parts: merges them in order the way nodeadm's
//     api merge does (containerd.config strings as TOML, kubelet.config as a deep map),
//     writes each part to parts/ (for `nodeadm config check`), the merged kubelet config
//     to kubelet-config.json, and /etc/containerd/config.toml = base template (fixture)
//     deep-merged with the snippet (util.Merge), choosing the v3 template only when the
//     snippet names io.containerd.cri.v1.images or io.containerd.cri.v1.runtime
//     (otherwise nodeadm would render v2 and run `containerd config migrate`: reported);
//   - text/cloud-config parts: applies write_files (content, encoding b64/gzip/gz+b64,
//     permissions, append) under -root;
//   - text/x-shellscript parts: written to parts/NN-script.sh for the caller to run.
//
// Prints a JSON summary on stdout.
//
// `nodeadm-sim init ...` is a different mode: the lab's model of nodeadm's config and run phases
// (initcmd.go), used by the fault-injection boots when no current nodeadm binary is provided.
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"dario.cat/mergo"
	"github.com/pelletier/go-toml/v2"
	"gopkg.in/yaml.v3"
)

type part struct {
	ContentType string `json:"contentType"`
	// Declared is the part's Content-Type header when it differs (application/x-gzip parts are
	// typed by their decompressed content, as cloud-init does).
	Declared string `json:"declared,omitempty"`
	File     string `json:"file"`
	body     []byte
}

type summary struct {
	Parts                []part         `json:"parts"`
	NodeConfigs          int            `json:"nodeConfigs"`
	ContainerdSchema     string         `json:"containerdSchema"`
	ContainerdConfig     string         `json:"containerdConfig"`
	ImageServiceEndpoint string         `json:"imageServiceEndpoint"`
	KubeletConfig        map[string]any `json:"kubeletConfig"`
	WrittenFiles         []string       `json:"writtenFiles"`
	WriteFilesError      string         `json:"writeFilesError,omitempty"`
	Scripts              []string       `json:"scripts"`
	Warnings             []string       `json:"warnings"`
}

func getMap(m map[string]any, keys ...string) map[string]any {
	for _, k := range keys {
		next, ok := m[k].(map[string]any)
		if !ok {
			return nil
		}
		m = next
	}
	return m
}

func main() {
	if len(os.Args) > 1 && os.Args[1] == "init" { // the model of nodeadm's two phases (initcmd.go)
		os.Exit(runInit(os.Args[2:]))
	}
	userdata := flag.String("userdata", "", "MIME user data file")
	base := flag.String("base", "", "nodeadm containerd v3 base template, rendered (fixture)")
	root := flag.String("root", "/", "root under which write_files and /etc/containerd/config.toml are written")
	outDir := flag.String("out", "", "directory for parts/, kubelet-config.json, merged-nodeconfig.yaml")
	cluster := flag.String("cluster", "", "name,endpoint,caBase64,cidr: add EKS-style cluster fields to merged-nodeconfig.yaml (EKS MNG appends them)")
	dropins := flag.String("dropins", "", "directory of NodeConfig drop-ins (*.yaml, *.yml, *.json, symlinks followed) merged after the user data, as nodeadm-run merges /etc/eks/nodeadm.d/")
	configOnly := flag.Bool("config-only", false, "only merge the NodeConfigs and write the containerd config: no write_files, no scripts (a second pass after the installer wrote its drop-in)")
	flag.Parse()
	if *userdata == "" || *base == "" || *outDir == "" {
		flag.Usage()
		os.Exit(2)
	}
	doc, err := os.ReadFile(*userdata)
	check(err)
	check(os.MkdirAll(filepath.Join(*outDir, "parts"), 0o755))
	s := summary{KubeletConfig: map[string]any{}}
	parts := splitMIME(doc)

	mergedNC := map[string]any{}
	var containerdSnippet string
	var mergedCtr map[string]any
	if *dropins != "" {
		extra, err := dropinParts(*dropins)
		check(err)
		parts = append(parts, extra...)
	}
	for i, p := range parts {
		if *configOnly && p.ContentType != "application/node.eks.aws" {
			continue
		}
		ext := map[string]string{"application/node.eks.aws": "nodeconfig.yaml", "text/cloud-config": "cloud-config.yaml", "text/x-shellscript": "script.sh"}[p.ContentType]
		if ext == "" {
			ext = "part.txt"
		}
		p.File = filepath.Join(*outDir, "parts", fmt.Sprintf("%02d-%s", i+1, ext))
		mode := os.FileMode(0o644)
		if ext == "script.sh" {
			mode = 0o755
			s.Scripts = append(s.Scripts, p.File)
		}
		check(os.WriteFile(p.File, p.body, mode))
		s.Parts = append(s.Parts, p)

		switch p.ContentType {
		case "application/node.eks.aws":
			s.NodeConfigs++
			var nc map[string]any
			check(yaml.Unmarshal(p.body, &nc))
			if nc["kind"] != "NodeConfig" || nc["apiVersion"] != "node.eks.aws/v1alpha1" {
				s.Warnings = append(s.Warnings, fmt.Sprintf("part %d: not a node.eks.aws/v1alpha1 NodeConfig", i+1))
			}
			check(mergo.Merge(&mergedNC, nc, mergo.WithOverride))
			if c := getMap(nc, "spec", "containerd"); c != nil {
				if cfg, ok := c["config"].(string); ok && cfg != "" {
					containerdSnippet += cfg + "\n"
					// nodeadm api merge: both TOML strings unmarshalled into one map.
					check(toml.Unmarshal([]byte(cfg), &mergedCtr))
				}
			}
			if k := getMap(nc, "spec", "kubelet", "config"); k != nil {
				check(mergo.Merge(&s.KubeletConfig, k, mergo.WithOverride))
			}
		case "text/cloud-config":
			s.WrittenFiles = append(s.WrittenFiles, writeFiles(p.body, *root, &s)...)
		}
	}
	if v, ok := s.KubeletConfig["imageServiceEndpoint"].(string); ok {
		s.ImageServiceEndpoint = v
	}
	kb, _ := json.MarshalIndent(s.KubeletConfig, "", "  ")
	check(os.WriteFile(filepath.Join(*outDir, "kubelet-config.json"), kb, 0o644))

	if *cluster != "" {
		f := strings.Split(*cluster, ",")
		if len(f) != 4 {
			log.Fatal("-cluster wants name,endpoint,caBase64,cidr")
		}
		if mergedNC["spec"] == nil {
			mergedNC["spec"] = map[string]any{}
		}
		mergedNC["spec"].(map[string]any)["cluster"] = map[string]any{"name": f[0], "apiServerEndpoint": f[1], "certificateAuthority": f[2], "cidr": f[3]}
	}
	if mergedCtr != nil {
		b, err := toml.Marshal(mergedCtr)
		check(err)
		if c := getMap(mergedNC, "spec", "containerd"); c != nil {
			c["config"] = string(b)
		}
	}
	nb, err := yaml.Marshal(mergedNC)
	check(err)
	check(os.WriteFile(filepath.Join(*outDir, "merged-nodeconfig.yaml"), nb, 0o644))

	baseBytes, err := os.ReadFile(*base)
	check(err)
	var snippetBytes []byte
	if mergedCtr != nil {
		snippetBytes, err = toml.Marshal(mergedCtr)
		check(err)
	}
	s.ContainerdSchema = "3"
	if len(snippetBytes) > 0 && !strings.Contains(containerdSnippet, "io.containerd.cri.v1.images") && !strings.Contains(containerdSnippet, "io.containerd.cri.v1.runtime") {
		s.ContainerdSchema = "2+migrate"
		s.Warnings = append(s.Warnings, "containerd snippet has no io.containerd.cri.v1.images/runtime key: nodeadm on containerd 2.x renders the v2 template, merges, then runs `containerd config migrate` (not simulated here: the v3 base is used)")
	}
	out := baseBytes
	if len(snippetBytes) > 0 {
		// util.Merge: both unmarshalled with go-toml/v2, mergo.Merge(&dst, &src, WithOverride).
		var dst, src map[string]any
		check(toml.Unmarshal(baseBytes, &dst))
		check(toml.Unmarshal(snippetBytes, &src))
		check(mergo.Merge(&dst, &src, mergo.WithOverride))
		out, err = toml.Marshal(dst)
		check(err)
	}
	s.ContainerdConfig = filepath.Join(*root, "etc/containerd/config.toml")
	check(os.MkdirAll(filepath.Dir(s.ContainerdConfig), 0o755))
	check(os.WriteFile(s.ContainerdConfig, out, 0o644))
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	check(enc.Encode(s))
}

type writeFile struct {
	Path        string `yaml:"path"`
	Content     string `yaml:"content"`
	Encoding    string `yaml:"encoding"`
	Permissions string `yaml:"permissions"`
	Append      bool   `yaml:"append"`
	Defer       bool   `yaml:"defer"`
}

func writeFiles(body []byte, root string, s *summary) []string {
	if !bytes.HasPrefix(body, []byte("#cloud-config")) {
		s.Warnings = append(s.Warnings, "text/cloud-config part does not start with #cloud-config")
	}
	var cc struct {
		WriteFiles []writeFile    `yaml:"write_files"`
		Other      map[string]any `yaml:",inline"`
	}
	check(yaml.Unmarshal(body, &cc))
	for k := range cc.Other {
		s.Warnings = append(s.Warnings, "cloud-config key not simulated by the lab: "+k)
	}
	var written []string
	for _, f := range cc.WriteFiles {
		data := []byte(f.Content)
		switch strings.ToLower(f.Encoding) {
		case "", "text/plain":
		case "b64", "base64": // base64 only, as cloud-init does: gzip bytes stay gzip (our node-files archive)
			data = decodeBase64(data)
		case "gz", "gzip":
			data = decodeBody(data, "")
		case "gz+b64", "gzip+base64", "gz+base64", "gzip+b64":
			data = decodeBody(data, "base64")
		default:
			log.Fatalf("%s: unknown encoding %q", f.Path, f.Encoding)
		}
		perm := uint64(0o644)
		if f.Permissions != "" {
			var err error
			perm, err = strconv.ParseUint(strings.TrimPrefix(f.Permissions, "0o"), 8, 32)
			check(err)
		}
		dest := filepath.Join(root, f.Path)
		// cloud-init's write_files module raises on the first file it cannot write (a full disk) and writes
		// none of the later ones; the stage goes on, and cloud-final still runs the user-data scripts.
		if err := writeOne(dest, data, os.FileMode(perm), f.Append); err != nil {
			s.WriteFilesError = fmt.Sprintf("%s: %v", f.Path, err)
			s.Warnings = append(s.Warnings, "write_files stopped: "+s.WriteFilesError)
			break
		}
		written = append(written, f.Path)
	}
	return written
}

func writeOne(dest string, data []byte, perm os.FileMode, appendTo bool) error {
	if err := os.MkdirAll(filepath.Dir(dest), 0o755); err != nil {
		return err
	}
	flags := os.O_CREATE | os.O_WRONLY | os.O_TRUNC
	if appendTo {
		flags = os.O_CREATE | os.O_WRONLY | os.O_APPEND
	}
	fh, err := os.OpenFile(dest, flags, perm)
	if err != nil {
		return err
	}
	if _, err := fh.Write(data); err != nil {
		fh.Close()
		return err
	}
	if err := fh.Close(); err != nil {
		return err
	}
	return os.Chmod(dest, perm)
}

// dropinParts: the NodeConfig files of a nodeadm.d directory in name order, as parts after the user data's.
func dropinParts(dir string) ([]part, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []part
	for _, e := range entries {
		lower := strings.ToLower(e.Name())
		if e.IsDir() || !(strings.HasSuffix(lower, ".yaml") || strings.HasSuffix(lower, ".yml") || strings.HasSuffix(lower, ".json")) {
			continue
		}
		body, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("failed to parse config file %s: %w", e.Name(), err)
		}
		out = append(out, part{ContentType: "application/node.eks.aws", body: body})
	}
	return out, nil
}

func check(err error) {
	if err != nil {
		log.Fatal(err)
	}
}
