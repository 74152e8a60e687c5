package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Layout is an OCI image layout directory (index.json + blobs/sha256/...).
type Layout struct{ Dir string }

// Descriptor is an OCI descriptor kept as raw JSON fields, so that a rewrite keeps every field it does not touch.
type Descriptor map[string]any

func (d Descriptor) Digest() string    { s, _ := d["digest"].(string); return s }
func (d Descriptor) MediaType() string { s, _ := d["mediaType"].(string); return s }
func (d Descriptor) Size() int64       { f, _ := d["size"].(float64); return int64(f) }
func (d Descriptor) Annotation(k string) string {
	a, _ := d["annotations"].(map[string]any)
	s, _ := a[k].(string)
	return s
}
func (d Descriptor) SetAnnotation(k, v string) {
	a, _ := d["annotations"].(map[string]any)
	if a == nil {
		a = map[string]any{}
		d["annotations"] = a
	}
	a[k] = v
}

func (l Layout) blobPath(digest string) (string, error) {
	alg, hexPart, ok := strings.Cut(digest, ":")
	if !ok || alg != "sha256" || len(hexPart) != 64 {
		return "", fmt.Errorf("unsupported digest %q", digest)
	}
	return filepath.Join(l.Dir, "blobs", "sha256", hexPart), nil
}

// Blob reads a blob.
func (l Layout) Blob(digest string) ([]byte, error) {
	p, err := l.blobPath(digest)
	if err != nil {
		return nil, err
	}
	return os.ReadFile(p)
}

// BlobFile is the path of a blob.
func (l Layout) BlobFile(digest string) (string, error) { return l.blobPath(digest) }

// JSON reads a JSON blob into a map.
func (l Layout) JSON(digest string) (map[string]any, error) {
	b, err := l.Blob(digest)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("blob %s: %w", digest, err)
	}
	return m, nil
}

// PutJSON writes a JSON object as a blob and returns its digest and size.
func (l Layout) PutJSON(v any) (string, int64, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", 0, err
	}
	return l.PutBlob(b)
}

// PutBlob writes bytes as a blob and returns its digest and size.
func (l Layout) PutBlob(b []byte) (string, int64, error) {
	sum := sha256.Sum256(b)
	digest := "sha256:" + hex.EncodeToString(sum[:])
	p, _ := l.blobPath(digest)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		return "", 0, err
	}
	return digest, int64(len(b)), nil
}

// Index reads index.json.
func (l Layout) Index() (map[string]any, error) {
	b, err := os.ReadFile(filepath.Join(l.Dir, "index.json"))
	if err != nil {
		return nil, fmt.Errorf("%s is not an OCI image layout: %w", l.Dir, err)
	}
	var m map[string]any
	return m, json.Unmarshal(b, &m)
}

// WriteIndex writes index.json.
func (l Layout) WriteIndex(m map[string]any) error {
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(l.Dir, "index.json"), b, 0o644)
}

// Descriptors returns the descriptors under key ("manifests" or "layers") of a JSON object.
func Descriptors(m map[string]any, key string) []Descriptor {
	list, _ := m[key].([]any)
	out := make([]Descriptor, 0, len(list))
	for _, x := range list {
		if d, ok := x.(map[string]any); ok {
			out = append(out, Descriptor(d))
		}
	}
	return out
}

func isIndex(mediaType string) bool {
	return mediaType == "application/vnd.oci.image.index.v1+json" || mediaType == "application/vnd.docker.distribution.manifest.list.v2+json"
}

func isManifest(mediaType string) bool {
	return mediaType == "application/vnd.oci.image.manifest.v1+json" || mediaType == "application/vnd.docker.distribution.manifest.v2+json"
}

// PlatformOf is "os/arch[/variant]" of a descriptor, or "".
func PlatformOf(d Descriptor) string {
	p, _ := d["platform"].(map[string]any)
	if p == nil {
		return ""
	}
	s := fmt.Sprintf("%v/%v", p["os"], p["architecture"])
	if v, _ := p["variant"].(string); v != "" {
		s += "/" + v
	}
	return s
}

// ImageManifests walks the layout from index.json and returns every image manifest descriptor with its platform.
func (l Layout) ImageManifests() ([]Descriptor, error) {
	top, err := l.Index()
	if err != nil {
		return nil, err
	}
	var out []Descriptor
	var walk func(ds []Descriptor, depth int) error
	walk = func(ds []Descriptor, depth int) error {
		if depth > 4 {
			return fmt.Errorf("image indexes nested too deep")
		}
		for _, d := range ds {
			switch {
			case isIndex(d.MediaType()):
				m, err := l.JSON(d.Digest())
				if err != nil {
					return err
				}
				if err := walk(Descriptors(m, "manifests"), depth+1); err != nil {
					return err
				}
			case isManifest(d.MediaType()) && d["artifactType"] == nil:
				out = append(out, d)
			}
		}
		return nil
	}
	return out, walk(Descriptors(top, "manifests"), 0)
}

// Replace rewrites the layout so that every reference to a digest in repl points at the new descriptor fields
// instead, through every image index up to index.json (whose own digests change as they are rewritten).
func (l Layout) Replace(repl map[string]Descriptor) error {
	top, err := l.Index()
	if err != nil {
		return err
	}
	var rewrite func(list []any, depth int) (bool, error)
	rewrite = func(list []any, depth int) (bool, error) {
		changed := false
		for i, x := range list {
			d, ok := x.(map[string]any)
			if !ok {
				continue
			}
			desc := Descriptor(d)
			if nd, ok := repl[desc.Digest()]; ok {
				for k, v := range nd {
					d[k] = v
				}
				changed = true
				continue
			}
			if isIndex(desc.MediaType()) && depth < 4 {
				m, err := l.JSON(desc.Digest())
				if err != nil {
					return false, err
				}
				kids, _ := m["manifests"].([]any)
				c, err := rewrite(kids, depth+1)
				if err != nil {
					return false, err
				}
				if c {
					dg, size, err := l.PutJSON(m)
					if err != nil {
						return false, err
					}
					d["digest"], d["size"] = dg, size
					list[i] = d
					changed = true
				}
			}
		}
		return changed, nil
	}
	kids, _ := top["manifests"].([]any)
	if _, err := rewrite(kids, 0); err != nil {
		return err
	}
	return l.WriteIndex(top)
}
