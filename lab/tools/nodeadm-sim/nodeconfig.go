package main

// The model's NodeConfig sources and merge: what nodeadm's config provider chain does with
// --config-source file://... URLs (a file: a MIME document or one NodeConfig; a directory: its
// *.yaml/*.yml/*.json files in name order, an empty directory skipped) and how it merges the
// documents (later ones win; kubelet.flags are appended; containerd.config is merged as TOML;
// kubelet.config and containerd.baseRuntimeSpec as JSON documents). The spec is kept as a generic
// map: fields nodeadm does not know are kept here, where nodeadm's typed decode drops them.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/mail"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"dario.cat/mergo"
	"github.com/pelletier/go-toml/v2"
	"gopkg.in/yaml.v3"
)

const nodeConfigMediaType = "application/node.eks.aws"

var errNoConfigInDirectory = errors.New("no config found in directory")

// loadSources reads every source in order and merges them into one spec.
func loadSources(urls []string) (map[string]any, error) {
	var specs []map[string]any
	for i, u := range urls {
		path, ok := strings.CutPrefix(u, "file://")
		if !ok {
			return nil, fmt.Errorf("config source %q: the model reads file:// sources only", u)
		}
		got, err := loadPath(path)
		if errors.Is(err, errNoConfigInDirectory) {
			logf("no config in directory %s: skipped", path)
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("config provider at index %d failed: %v", i, err)
		}
		specs = append(specs, got...)
	}
	if len(specs) == 0 {
		return nil, errors.New("no config in chain")
	}
	merged := map[string]any{}
	for _, s := range specs {
		if err := mergeSpec(merged, s, "spec"); err != nil {
			return nil, err
		}
	}
	return merged, nil
}

func loadPath(path string) ([]map[string]any, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !info.IsDir() {
		return parseFile(path)
	}
	entries, err := os.ReadDir(path)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range entries {
		lower := strings.ToLower(e.Name())
		if !e.IsDir() && (strings.HasSuffix(lower, ".yaml") || strings.HasSuffix(lower, ".yml") || strings.HasSuffix(lower, ".json")) {
			names = append(names, e.Name())
		}
	}
	if len(names) == 0 {
		return nil, errNoConfigInDirectory
	}
	sort.Strings(names)
	var out []map[string]any
	for _, n := range names {
		got, err := parseFile(filepath.Join(path, n))
		if err != nil {
			return nil, fmt.Errorf("failed to parse config file %s: %w", n, err)
		}
		logf("read drop-in %s", filepath.Join(path, n))
		out = append(out, got...)
	}
	return out, nil
}

// parseFile: a MIME multipart document (its application/node.eks.aws parts, in order) or one NodeConfig.
func parseFile(path string) ([]map[string]any, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if !isMultipart(data) {
		s, err := decodeNodeConfig(data)
		if err != nil {
			return nil, err
		}
		return []map[string]any{s}, nil
	}
	var out []map[string]any
	for _, p := range splitMIME(data) {
		if p.ContentType != nodeConfigMediaType {
			continue
		}
		s, err := decodeNodeConfig(p.body)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	if len(out) == 0 {
		return nil, errors.New("no NodeConfig in user data")
	}
	return out, nil
}

func isMultipart(data []byte) bool {
	msg, err := mail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		return false
	}
	mt, _, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	return err == nil && strings.HasPrefix(mt, "multipart/")
}

// decodeNodeConfig returns the document's spec (YAML or JSON); apiVersion and kind must be nodeadm's.
func decodeNodeConfig(b []byte) (map[string]any, error) {
	var doc map[string]any
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("failed to decode NodeConfig: %w", err)
	}
	if doc["apiVersion"] != "node.eks.aws/v1alpha1" || doc["kind"] != "NodeConfig" {
		return nil, fmt.Errorf("failed to decode NodeConfig: apiVersion %v kind %v", doc["apiVersion"], doc["kind"])
	}
	spec, _ := doc["spec"].(map[string]any)
	if spec == nil {
		spec = map[string]any{}
	}
	return normalize(spec).(map[string]any), nil
}

// normalize makes YAML's values JSON-shaped (so the cache round trip compares equal).
func normalize(v any) any {
	b, err := json.Marshal(v)
	check(err)
	var out any
	check(json.Unmarshal(b, &out))
	return out
}

// mergeSpec merges src into dst with nodeadm's rules (mergo WithOverride plus its transformers).
func mergeSpec(dst, src map[string]any, at string) error {
	for k, sv := range src {
		p := at + "." + k
		dv, had := dst[k]
		switch {
		case p == "spec.kubelet.flags":
			dst[k] = append(asList(dv), asList(sv)...)
		case p == "spec.containerd.config":
			d, _ := dv.(string)
			s, _ := sv.(string)
			if d == "" || s == "" {
				if s != "" {
					dst[k] = s
				}
				continue
			}
			merged, err := mergeDocs([]byte(d), []byte(s), toml.Unmarshal)
			if err != nil {
				return fmt.Errorf("%s: %w", p, err)
			}
			out, err := toml.Marshal(merged)
			if err != nil {
				return err
			}
			dst[k] = string(out)
		case p == "spec.kubelet.config" || p == "spec.containerd.baseRuntimeSpec":
			dm, _ := dv.(map[string]any)
			sm, _ := sv.(map[string]any)
			if len(dm) == 0 {
				dst[k] = sm
				continue
			}
			db, _ := json.Marshal(dm)
			sb, _ := json.Marshal(sm)
			merged, err := mergeDocs(db, sb, json.Unmarshal)
			if err != nil {
				return fmt.Errorf("%s: %w", p, err)
			}
			dst[k] = merged
		default:
			sm, sIsMap := sv.(map[string]any)
			dm, dIsMap := dv.(map[string]any)
			if sIsMap && (dIsMap || !had) {
				if !had {
					dm = map[string]any{}
					dst[k] = dm
				}
				if err := mergeSpec(dm, sm, p); err != nil {
					return err
				}
				continue
			}
			// mergo.WithOverride: an empty source value keeps the destination's, except in maps
			// (featureGates: false switches a gate off).
			if !isEmpty(sv) || at == "spec.featureGates" {
				dst[k] = sv
			}
		}
	}
	return nil
}

// mergeDocs is nodeadm's util.Merge: both documents as maps, mergo.Merge WithOverride.
func mergeDocs(dst, src []byte, unmarshal func([]byte, any) error) (map[string]any, error) {
	var d, s map[string]any
	if err := unmarshal(dst, &d); err != nil {
		return nil, err
	}
	if err := unmarshal(src, &s); err != nil {
		return nil, err
	}
	if err := mergo.Merge(&d, &s, mergo.WithOverride); err != nil {
		return nil, err
	}
	return d, nil
}

func asList(v any) []any {
	l, _ := v.([]any)
	return l
}

func isEmpty(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case string:
		return x == ""
	case bool:
		return !x
	case float64:
		return x == 0
	case []any:
		return len(x) == 0
	case map[string]any:
		return len(x) == 0
	}
	return false
}

// get walks nested maps: get(spec, "cluster", "name").
func get(m map[string]any, keys ...string) any {
	var v any = m
	for _, k := range keys {
		mm, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = mm[k]
	}
	return v
}

func getString(m map[string]any, keys ...string) string {
	s, _ := get(m, keys...).(string)
	return s
}
