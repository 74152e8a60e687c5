package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"sort"
	"strings"

	"github.com/awslabs/soci-snapshotter/soci"
	"github.com/awslabs/soci-snapshotter/ztoc"
	"github.com/awslabs/soci-snapshotter/ztoc/compression"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

const (
	annIndexDigest    = "com.amazon.soci.index-digest"
	annManifestDigest = "com.amazon.soci.image-manifest-digest"
	annLayerDigest    = "com.amazon.soci.image-layer-digest"
	// annPrefetchSource marks a SOCI index whose prefetch artifacts soci-eks-prefetch wrote.
	annPrefetchSource = "dev.soci-eks.prefetch"
	ztocMediaType     = "application/octet-stream"
)

// FileResult is what became of one file of the reads: where it lives and what prefetching it costs.
type FileResult struct {
	Path string `json:"path"`
	// Layer is the index of the layer that provides the file (-1: none).
	Layer int `json:"layer"`
	// ReadBytes are the distinct bytes read (clipped to the file); Ranges the merged ranges.
	ReadBytes int64      `json:"readBytes"`
	Ranges    [][2]int64 `json:"ranges"`
	// Spans and SpanBytes: how many spans prefetch fetches for this file, and their compressed bytes.
	Spans     int   `json:"spans"`
	SpanBytes int64 `json:"spanBytes"`
	// Skipped says why the file is not prefetched ("" when it is).
	Skipped string `json:"skipped,omitempty"`
}

// Summary is what `apply` did, per platform.
type Summary struct {
	Source    string           `json:"source"`
	Platforms []PlatformResult `json:"platforms"`
}

// PlatformResult is the prefetch of one image manifest.
type PlatformResult struct {
	Platform       string       `json:"platform"`
	Files          []FileResult `json:"files"`
	PrefetchFiles  int          `json:"prefetchFiles"`
	ReadBytes      int64        `json:"readBytes"`
	Spans          int          `json:"spans"`
	SpanBytes      int64        `json:"spanBytes"`
	Artifacts      int          `json:"artifacts"`
	IndexDigest    string       `json:"indexDigest"`
	ManifestDigest string       `json:"manifestDigest"`
}

type layer struct {
	desc  Descriptor
	toc   *ztoc.Ztoc
	zinfo compression.Zinfo
	files map[string]ztoc.FileMetadata
	// names of an unindexed layer (its tar entries, whiteouts included), loaded on demand
	names map[string]bool
	// spans to prefetch
	spans map[compression.SpanID]bool
}

func (l *layer) close() {
	if l.zinfo != nil {
		l.zinfo.Close()
	}
}

// tarNames lists an unindexed layer's entries (cleaned), so that a file it provides or deletes is not looked up in a
// lower layer. Such layers are small (below --min-layer-size) and fetched whole at pull time anyway.
func tarNames(lay Layout, d Descriptor) (map[string]bool, error) {
	file, err := lay.BlobFile(d.Digest())
	if err != nil {
		return nil, err
	}
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var r io.Reader = f
	switch {
	case strings.Contains(d.MediaType(), "gzip"):
		gz, err := gzip.NewReader(f)
		if err != nil {
			return nil, err
		}
		defer gz.Close()
		r = gz
	case strings.Contains(d.MediaType(), "zstd"):
		return nil, fmt.Errorf("layer %s is zstd: cannot list it", d.Digest())
	}
	names := map[string]bool{}
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return names, nil
		}
		if err != nil {
			return nil, err
		}
		names[CleanPath(h.Name)] = true
	}
}

// shadows says whether an unindexed layer provides, deletes or hides (opaque directory) the path.
func shadows(names map[string]bool, p string) bool {
	if names[p] || names[path.Join(path.Dir(p), ".wh."+path.Base(p))] {
		return true
	}
	for d := path.Dir(p); d != "." && d != "/"; d = path.Dir(d) {
		if names[path.Join(d, ".wh..wh..opq")] || names[path.Join(path.Dir(d), ".wh."+path.Base(d))] {
			return true
		}
	}
	return false
}

// Apply adds prefetch artifacts for the reads to every SOCI-indexed image manifest of the layout whose platform
// matches (platform "" or the reads' platform: all), and rewrites the layout to reference them.
func Apply(lay Layout, reads *Reads, platform string) (*Summary, error) {
	if platform == "" {
		platform = reads.Platform
	}
	manifests, err := lay.ImageManifests()
	if err != nil {
		return nil, err
	}
	sum := &Summary{Source: reads.Source}
	for _, m := range manifests {
		if m.Annotation(annIndexDigest) == "" || (platform != "" && PlatformOf(m) != "" && PlatformOf(m) != platform) {
			continue
		}
		res, repl, err := applyOne(lay, m, reads)
		if err != nil {
			return nil, err
		}
		if repl != nil {
			if err := lay.Replace(repl); err != nil {
				return nil, err
			}
		}
		sum.Platforms = append(sum.Platforms, *res)
	}
	if len(sum.Platforms) == 0 {
		return nil, fmt.Errorf("%s has no SOCI-indexed image manifest for platform %q (run soci convert first)", lay.Dir, platform)
	}
	return sum, nil
}

func applyOne(lay Layout, m Descriptor, reads *Reads) (*PlatformResult, map[string]Descriptor, error) {
	man, err := lay.JSON(m.Digest())
	if err != nil {
		return nil, nil, err
	}
	manAnn, _ := man["annotations"].(map[string]any)
	idxDigest, _ := manAnn[annIndexDigest].(string)
	if idxDigest == "" {
		return nil, nil, fmt.Errorf("manifest %s has no %s annotation", m.Digest(), annIndexDigest)
	}
	// The SOCI index is read and written with soci's own types: the snapshotter decodes it and re-marshals it with
	// soci.MarshalIndex before storing it under its digest, so any other serialization is a digest mismatch there.
	idxBytes, err := lay.Blob(idxDigest)
	if err != nil {
		return nil, nil, err
	}
	var idx soci.Index
	if err := soci.UnmarshalIndex(idxBytes, &idx); err != nil {
		return nil, nil, fmt.Errorf("SOCI index %s: %w", idxDigest, err)
	}
	ztocs := map[string]Descriptor{}
	var kept []ocispec.Descriptor // the index's blobs minus its prefetch artifacts (their spans are merged into the new ones)
	existing := map[string][]soci.PrefetchSpan{}
	for _, b := range idx.Blobs {
		layerDigest := b.Annotations[annLayerDigest]
		switch b.MediaType {
		case soci.SociPrefetchMediaType:
			raw, err := lay.Blob(b.Digest.String())
			if err != nil {
				return nil, nil, err
			}
			a, err := soci.UnmarshalPrefetchArtifact(bytes.NewReader(raw))
			if err != nil {
				return nil, nil, err
			}
			existing[layerDigest] = append(existing[layerDigest], a.PrefetchSpans...)
			continue
		case ztocMediaType:
			ztocs[layerDigest] = Descriptor{"digest": b.Digest.String(), "mediaType": b.MediaType}
		}
		kept = append(kept, b)
	}

	layers := Descriptors(man, "layers")
	ls := make([]*layer, len(layers))
	defer func() {
		for _, l := range ls {
			if l != nil {
				l.close()
			}
		}
	}()
	for i, d := range layers {
		l := &layer{desc: d, spans: map[compression.SpanID]bool{}}
		ls[i] = l
		zd, ok := ztocs[d.Digest()]
		if !ok {
			continue
		}
		b, err := lay.Blob(zd.Digest())
		if err != nil {
			return nil, nil, err
		}
		if l.toc, err = ztoc.Unmarshal(bytes.NewReader(b)); err != nil {
			return nil, nil, fmt.Errorf("ztoc of layer %s: %w", d.Digest(), err)
		}
		if l.zinfo, err = l.toc.Zinfo(); err != nil {
			return nil, nil, fmt.Errorf("zinfo of layer %s: %w", d.Digest(), err)
		}
		l.files = make(map[string]ztoc.FileMetadata, len(l.toc.FileMetadata))
		for _, f := range l.toc.FileMetadata {
			l.files[f.Name] = f
		}
	}

	res := &PlatformResult{Platform: PlatformOf(m)}
	for _, fr := range reads.Files {
		r := resolveFile(lay, ls, fr)
		res.Files = append(res.Files, r)
	}
	// Spans per layer, with the artifacts the index had (e.g. from soci convert --prefetch-file).
	for i, l := range ls {
		for _, ps := range existing[l.desc.Digest()] {
			for s := ps.StartSpan; s <= ps.EndSpan; s++ {
				ls[i].spans[s] = true
			}
		}
	}
	newBlobs := append([]ocispec.Descriptor{}, kept...)
	for _, l := range ls {
		if len(l.spans) == 0 {
			continue
		}
		ids := make([]compression.SpanID, 0, len(l.spans))
		for s := range l.spans {
			ids = append(ids, s)
		}
		art := soci.NewPrefetchArtifact()
		for _, ps := range PrefetchSpans(ids) {
			art.AddPrefetchSpan(ps)
		}
		rd, desc, err := soci.MarshalPrefetchArtifact(art)
		if err != nil {
			return nil, nil, err
		}
		b, _ := io.ReadAll(rd)
		dg, size, err := lay.PutBlob(b)
		if err != nil {
			return nil, nil, err
		}
		if dg != desc.Digest.String() {
			return nil, nil, fmt.Errorf("prefetch artifact digest mismatch")
		}
		desc.Size = size
		desc.Annotations = map[string]string{annLayerDigest: l.desc.Digest()}
		newBlobs = append(newBlobs, desc)
		res.Artifacts++
		res.Spans += len(ids)
		res.SpanBytes += CompressedBytes(l.zinfo, ids, l.desc.Size())
	}
	for _, f := range res.Files {
		if f.Skipped == "" {
			res.PrefetchFiles++
			res.ReadBytes += f.ReadBytes
		}
	}
	if res.Artifacts == 0 {
		res.IndexDigest, res.ManifestDigest = idxDigest, m.Digest()
		return res, nil, nil
	}
	idx.Blobs = newBlobs
	if idx.Annotations == nil {
		idx.Annotations = map[string]string{}
	}
	idx.Annotations[annPrefetchSource] = fmt.Sprintf("%s: %d files, %d bytes read, %d spans", reads.Source, res.PrefetchFiles, res.ReadBytes, res.Spans)
	nb, err := soci.MarshalIndex(&idx)
	if err != nil {
		return nil, nil, err
	}
	var check soci.Index
	if err := soci.UnmarshalIndex(nb, &check); err != nil {
		return nil, nil, err
	}
	if again, err := soci.MarshalIndex(&check); err != nil || !bytes.Equal(again, nb) {
		return nil, nil, fmt.Errorf("the new SOCI index does not survive soci's own decode and encode; the snapshotter would reject it")
	}
	newIdx, newIdxSize, err := lay.PutBlob(nb)
	if err != nil {
		return nil, nil, err
	}
	manAnn[annIndexDigest] = newIdx
	newMan, newManSize, err := lay.PutJSON(man)
	if err != nil {
		return nil, nil, err
	}
	res.IndexDigest, res.ManifestDigest = newIdx, newMan
	annCopy := map[string]any{}
	for k, v := range manAnn {
		annCopy[k] = v
	}
	repl := map[string]Descriptor{
		m.Digest(): {"digest": newMan, "size": newManSize, "annotations": annCopy},
		idxDigest:  {"digest": newIdx, "size": newIdxSize, "annotations": map[string]any{annManifestDigest: newMan}},
	}
	return res, repl, nil
}

// resolveFile finds the layer that provides a file (the top-most layer holding it, as the overlay shows it) and
// adds the spans of its read ranges to that layer.
func resolveFile(lay Layout, ls []*layer, fr FileRead) FileResult {
	p := CleanPath(fr.Path)
	r := FileResult{Path: fr.Path, Layer: -1}
	for i := len(ls) - 1; i >= 0; i-- {
		l := ls[i]
		if l.toc == nil {
			if l.names == nil {
				names, err := tarNames(lay, l.desc)
				if err != nil {
					r.Skipped = fmt.Sprintf("layer %d cannot be listed: %v", i, err)
					return r
				}
				l.names = names
			}
			if shadows(l.names, p) {
				r.Layer = i
				r.Skipped = "in a layer without zTOC (pulled whole)"
				return r
			}
			continue
		}
		f, ok := l.files[p]
		if !ok {
			continue
		}
		for hops := 0; f.Type == "hardlink" && hops < 8; hops++ {
			if f, ok = l.files[CleanPath(f.Linkname)]; !ok {
				r.Layer = i
				r.Skipped = "hard link to a file outside this layer"
				return r
			}
		}
		r.Layer = i
		if f.Type != "reg" {
			r.Skipped = "not a regular file (" + f.Type + ")"
			return r
		}
		size := int64(f.UncompressedSize)
		ranges := fr.Ranges
		if len(ranges) == 0 {
			ranges = [][2]int64{{0, size}}
		}
		for _, rg := range MergeRanges(ranges) {
			end := min(rg[0]+rg[1], size)
			if rg[0] < end {
				r.Ranges = append(r.Ranges, [2]int64{rg[0], end - rg[0]})
				r.ReadBytes += end - rg[0]
			}
		}
		if r.ReadBytes == 0 {
			r.Skipped = "no byte of the ranges is in the file"
			return r
		}
		ids := SpansOf(l.zinfo, int64(f.UncompressedOffset), size, r.Ranges)
		for _, s := range ids {
			l.spans[s] = true
		}
		r.Spans = len(ids)
		r.SpanBytes = CompressedBytes(l.zinfo, ids, l.desc.Size())
		return r
	}
	r.Skipped = "not in the image (created at run time, or a path outside the layers)"
	return r
}

// WriteSummary prints the human summary to w and, when file is set, the JSON summary there.
func WriteSummary(w io.Writer, s *Summary, file string) error {
	for _, p := range s.Platforms {
		var skipped []FileResult
		for _, f := range p.Files {
			if f.Skipped != "" {
				skipped = append(skipped, f)
			}
		}
		fmt.Fprintf(w, "prefetch (%s) %s: %d files, %d bytes read in %d ranges -> %d spans (%d compressed bytes) in %d layer artifacts; %d files not prefetched\n",
			s.Source, orAny(p.Platform), p.PrefetchFiles, p.ReadBytes, countRanges(p.Files), p.Spans, p.SpanBytes, p.Artifacts, len(skipped))
		files := append([]FileResult(nil), p.Files...)
		sort.SliceStable(files, func(i, j int) bool { return files[i].ReadBytes > files[j].ReadBytes })
		for _, f := range files {
			if f.Skipped != "" {
				fmt.Fprintf(w, "  skip %s: %s\n", f.Path, f.Skipped)
				continue
			}
			fmt.Fprintf(w, "  %s: layer %d, %d bytes in %d ranges, %d spans\n", f.Path, f.Layer, f.ReadBytes, len(f.Ranges), f.Spans)
		}
	}
	if file == "" {
		return nil
	}
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(file, append(b, '\n'), 0o644)
}

func countRanges(fs []FileResult) int {
	n := 0
	for _, f := range fs {
		n += len(f.Ranges)
	}
	return n
}

func orAny(p string) string {
	if p == "" {
		return "any platform"
	}
	return p
}
