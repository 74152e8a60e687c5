// Command mkimage writes a deterministic single-platform (linux/amd64) OCI image
// layout: same flags => same bytes => same digests. Layer 1 holds the entrypoint
// binary (/bin/entry) and any -file; then -layers layers of seeded pseudo-random
// files under /data/L<n>/: incompressible by default, or with -compressible text-like data (words drawn
// from a seeded vocabulary: gzip -6 gets about 2.4:1 out of it and unpacking it is real work).
// Fixed mtimes (2000-01-01), uid/gid 0, gzip (-gzip-level, default fastest) with no timestamp.
//
//	mkimage -out DIR -name 127.0.0.1:5000/lab/small:v1 -entry labentry \
//	        -cmd "/bin/entry,-frac,0.06,/data" -layers 2 -layer-bytes 4194304 -files 4 -seed 1
//
// -tar FILE additionally writes the layout as a tar (for `ctr images import`).
package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

var epoch = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

type desc struct {
	MediaType   string            `json:"mediaType"`
	Digest      string            `json:"digest"`
	Size        int64             `json:"size"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

type layerWriter struct {
	outDir string
	tw     *tar.Writer
	gz     *gzip.Writer
	diff   io.Writer
	dh     hashWriter
	f      *os.File
	ch     hashWriter
	dirs   map[string]bool
}

type hashWriter struct {
	h interface {
		io.Writer
		Sum([]byte) []byte
	}
	n int64
}

func (h *hashWriter) Write(p []byte) (int, error) { h.n += int64(len(p)); return h.h.Write(p) }
func (h *hashWriter) hex() string                 { return hex.EncodeToString(h.h.Sum(nil)) }

var gzipLevel = gzip.BestSpeed

func newLayer(outDir string) *layerWriter {
	f, err := os.CreateTemp(outDir, "layer-*")
	check(err)
	lw := &layerWriter{outDir: outDir, f: f, dirs: map[string]bool{}}
	lw.ch = hashWriter{h: sha256.New()}
	lw.dh = hashWriter{h: sha256.New()}
	gz, err := gzip.NewWriterLevel(io.MultiWriter(f, &lw.ch), gzipLevel)
	check(err)
	gz.ModTime = time.Time{}
	lw.gz = gz
	lw.tw = tar.NewWriter(io.MultiWriter(gz, &lw.dh))
	return lw
}

func (lw *layerWriter) mkdirs(p string) {
	dir := filepath.Dir(p)
	if dir == "." || dir == "/" || lw.dirs[dir] {
		return
	}
	lw.mkdirs(dir)
	lw.dirs[dir] = true
	check(lw.tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: dir + "/", Mode: 0o755, ModTime: epoch, Format: tar.FormatPAX}))
}

func (lw *layerWriter) add(name string, mode int64, size int64, r io.Reader) {
	name = strings.TrimPrefix(name, "/")
	lw.mkdirs(name)
	check(lw.tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: mode, Size: size, ModTime: epoch, Format: tar.FormatPAX}))
	n, err := io.Copy(lw.tw, r)
	check(err)
	if n != size {
		log.Fatalf("%s: wrote %d of %d", name, n, size)
	}
}

func (lw *layerWriter) close() (desc, string) {
	check(lw.tw.Close())
	check(lw.gz.Close())
	check(lw.f.Close())
	d := "sha256:" + lw.ch.hex()
	check(os.Chmod(lw.f.Name(), 0o644))
	check(os.Rename(lw.f.Name(), filepath.Join(lw.outDir, "blobs", "sha256", lw.ch.hex())))
	return desc{MediaType: "application/vnd.oci.image.layer.v1.tar+gzip", Digest: d, Size: lw.ch.n}, "sha256:" + lw.dh.hex()
}

func writeBlob(outDir string, b []byte) string {
	s := sha256.Sum256(b)
	h := hex.EncodeToString(s[:])
	check(os.WriteFile(filepath.Join(outDir, "blobs", "sha256", h), b, 0o644))
	return "sha256:" + h
}

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

func main() {
	out := flag.String("out", "", "output OCI layout directory (recreated)")
	name := flag.String("name", "", "full image name, e.g. 127.0.0.1:5000/lab/small:v1")
	entry := flag.String("entry", "", "entrypoint binary to place at /bin/entry")
	cmd := flag.String("cmd", "/bin/entry", "comma-separated entrypoint argv")
	layers := flag.Int("layers", 1, "number of random-data layers")
	layerBytes := flag.Int64("layer-bytes", 4<<20, "bytes of random data per layer")
	files := flag.Int("files", 4, "files per random-data layer")
	seed := flag.Uint64("seed", 1, "random seed")
	tarOut := flag.String("tar", "", "also write the layout as this tar file")
	compressible := flag.Bool("compressible", false, "text-like data (about 2.4:1 with gzip -6) instead of incompressible bytes")
	flag.IntVar(&gzipLevel, "gzip-level", gzip.BestSpeed, "gzip level of the layers (1 fastest .. 9 best)")
	var extra multiFlag
	flag.Var(&extra, "file", "SRC:DEST extra file for layer 1 (repeatable)")
	flag.Parse()
	if *out == "" || *name == "" || *entry == "" {
		flag.Usage()
		os.Exit(2)
	}
	check(os.RemoveAll(*out))
	check(os.MkdirAll(filepath.Join(*out, "blobs", "sha256"), 0o755))

	var layerDescs []desc
	var diffIDs []string
	// Layer 1: entrypoint and extra files.
	lw := newLayer(*out)
	addFile := func(src, dest string, mode int64) {
		f, err := os.Open(src)
		check(err)
		defer f.Close()
		st, err := f.Stat()
		check(err)
		lw.add(dest, mode, st.Size(), f)
	}
	addFile(*entry, "/bin/entry", 0o755)
	sort.Strings(extra)
	for _, e := range extra {
		src, dest, ok := strings.Cut(e, ":")
		if !ok {
			log.Fatalf("bad -file %q", e)
		}
		addFile(src, dest, 0o644)
	}
	d, diff := lw.close()
	layerDescs, diffIDs = append(layerDescs, d), append(diffIDs, diff)

	rng := rand.New(rand.NewPCG(*seed, 0x50C1))
	var data io.Reader = rngReader{rng}
	if *compressible {
		data = newWordReader(rng)
	}
	for l := 1; l <= *layers; l++ {
		lw = newLayer(*out)
		per := *layerBytes / int64(*files)
		for i := 0; i < *files; i++ {
			size := per
			if i == *files-1 {
				size = *layerBytes - per*int64(*files-1)
			}
			lw.add(fmt.Sprintf("/data/L%02d/f%03d.bin", l, i), 0o644, size, io.LimitReader(data, size))
		}
		d, diff = lw.close()
		layerDescs, diffIDs = append(layerDescs, d), append(diffIDs, diff)
	}

	argv := strings.Split(*cmd, ",")
	cfg := map[string]any{
		"created":      epoch.Format(time.RFC3339),
		"architecture": "amd64",
		"os":           "linux",
		"config":       map[string]any{"Entrypoint": argv, "Env": []string{"PATH=/bin"}, "WorkingDir": "/"},
		"rootfs":       map[string]any{"type": "layers", "diff_ids": diffIDs},
	}
	cfgBytes, _ := json.Marshal(cfg)
	cfgDigest := writeBlob(*out, cfgBytes)
	man := map[string]any{
		"schemaVersion": 2,
		"mediaType":     "application/vnd.oci.image.manifest.v1+json",
		"config":        desc{MediaType: "application/vnd.oci.image.config.v1+json", Digest: cfgDigest, Size: int64(len(cfgBytes))},
		"layers":        layerDescs,
	}
	manBytes, _ := json.Marshal(man)
	manDigest := writeBlob(*out, manBytes)
	tag := (*name)[strings.LastIndex(*name, ":")+1:]
	idx := map[string]any{
		"schemaVersion": 2,
		"mediaType":     "application/vnd.oci.image.index.v1+json",
		"manifests": []desc{{
			MediaType: "application/vnd.oci.image.manifest.v1+json", Digest: manDigest, Size: int64(len(manBytes)),
			Annotations: map[string]string{"org.opencontainers.image.ref.name": tag, "io.containerd.image.name": *name},
		}},
	}
	idxBytes, _ := json.Marshal(idx)
	check(os.WriteFile(filepath.Join(*out, "index.json"), idxBytes, 0o644))
	check(os.WriteFile(filepath.Join(*out, "oci-layout"), []byte(`{"imageLayoutVersion":"1.0.0"}`), 0o644))
	var total int64
	for _, l := range layerDescs {
		total += l.Size
	}
	fmt.Printf("%s %s layers=%d compressed_bytes=%d\n", *name, manDigest, len(layerDescs), total)
	if *tarOut != "" {
		writeTar(*out, *tarOut)
	}
}

type rngReader struct{ r *rand.Rand }

func (g rngReader) Read(p []byte) (int, error) {
	i := 0
	for ; i+8 <= len(p); i += 8 {
		v := g.r.Uint64()
		for k := 0; k < 8; k++ {
			p[i+k] = byte(v >> (8 * k))
		}
	}
	for ; i < len(p); i++ {
		p[i] = byte(g.r.Uint64())
	}
	return len(p), nil
}

// wordReader emits words of 3 to 12 letters drawn from a seeded 4096-word vocabulary, separated by spaces
// and newlines: text-like data with repeats for gzip's LZ77 stage.
type wordReader struct {
	r     *rand.Rand
	words [][]byte
	buf   []byte
}

func newWordReader(r *rand.Rand) *wordReader {
	w := &wordReader{r: r}
	for i := 0; i < 4096; i++ {
		word := make([]byte, 3+r.IntN(10))
		for k := range word {
			word[k] = byte('a' + r.IntN(26))
		}
		w.words = append(w.words, word)
	}
	return w
}

func (w *wordReader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		if len(w.buf) == 0 {
			w.buf = append(w.buf[:0], w.words[w.r.IntN(len(w.words))]...)
			if w.r.IntN(12) == 0 {
				w.buf = append(w.buf, '\n')
			} else {
				w.buf = append(w.buf, ' ')
			}
		}
		c := copy(p[n:], w.buf)
		w.buf = w.buf[c:]
		n += c
	}
	return n, nil
}

func writeTar(dir, dest string) {
	f, err := os.Create(dest)
	check(err)
	tw := tar.NewWriter(f)
	var paths []string
	check(filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() {
			paths = append(paths, p)
		}
		return err
	}))
	sort.Strings(paths)
	for _, p := range paths {
		rel, _ := filepath.Rel(dir, p)
		b, err := os.ReadFile(p)
		check(err)
		check(tw.WriteHeader(&tar.Header{Name: rel, Mode: 0o644, Size: int64(len(b)), ModTime: epoch}))
		_, err = io.Copy(tw, bytes.NewReader(b))
		check(err)
	}
	check(tw.Close())
	check(f.Close())
}

func check(err error) {
	if err != nil {
		log.Fatal(err)
	}
}
