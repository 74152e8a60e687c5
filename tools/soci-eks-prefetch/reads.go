package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path"
	"sort"
)

// Reads is what a container read, or what a user says it reads: per file, byte ranges. It is the file `record`
// writes and `apply` reads (the SociIndexBuilder component writes the same shape for a user's list).
type Reads struct {
	Version int `json:"version"`
	// Source says where the list came from: "record" or "list".
	Source string `json:"source"`
	// Platform the reads were recorded on ("linux/amd64"); empty: any.
	Platform string `json:"platform,omitempty"`
	// Seconds the recording ran, and how it ended ("timeout": the time limit was reached, or "exited N"; see Ending).
	Seconds float64 `json:"seconds,omitempty"`
	Ended   string  `json:"ended,omitempty"`
	// EndedAs says the same in words ("time limit reached after 30.0 s", "exited 1 after 0.4 s"), for the build's status.
	EndedAs string `json:"endedAs,omitempty"`
	// AllowedNonZeroExit: the container exited non-zero before the time limit and the recording was kept on request.
	AllowedNonZeroExit bool       `json:"allowedNonZeroExit,omitempty"`
	Files              []FileRead `json:"files"`
}

// FileRead is one file: an absolute path in the image and the byte ranges [offset, offset+length) read from it.
// No ranges means the whole file.
type FileRead struct {
	Path   string     `json:"path"`
	Ranges [][2]int64 `json:"ranges,omitempty"`
}

// ReadBytes is the number of distinct bytes in the ranges (whole files count as -1: unknown until mapped).
func (f FileRead) ReadBytes() int64 {
	var n int64
	for _, r := range MergeRanges(f.Ranges) {
		n += r[1]
	}
	return n
}

// MergeRanges sorts ranges and merges overlapping or touching ones; empty and negative ranges are dropped.
func MergeRanges(in [][2]int64) [][2]int64 {
	rs := make([][2]int64, 0, len(in))
	for _, r := range in {
		if r[0] >= 0 && r[1] > 0 {
			rs = append(rs, r)
		}
	}
	sort.Slice(rs, func(i, j int) bool { return rs[i][0] < rs[j][0] })
	out := make([][2]int64, 0, len(rs))
	for _, r := range rs {
		if n := len(out); n > 0 && r[0] <= out[n-1][0]+out[n-1][1] {
			end := max(out[n-1][0]+out[n-1][1], r[0]+r[1])
			out[n-1][1] = end - out[n-1][0]
			continue
		}
		out = append(out, r)
	}
	return out
}

// CleanPath turns an image path into the form ztocs store: no leading slash, cleaned ("/a/../b" -> "b").
func CleanPath(p string) string {
	c := path.Clean("/" + p)
	return c[1:]
}

// Validate checks a reads file: version 1, absolute clean paths, non-negative ranges.
func (r *Reads) Validate() error {
	if r.Version != 1 {
		return fmt.Errorf("reads file version %d, want 1", r.Version)
	}
	for i, f := range r.Files {
		if f.Path == "" || f.Path[0] != '/' {
			return fmt.Errorf("files[%d].path %q is not an absolute path", i, f.Path)
		}
		for j, rg := range f.Ranges {
			if rg[0] < 0 || rg[1] <= 0 {
				return fmt.Errorf("files[%d].ranges[%d] = [%d, %d]: want offset >= 0 and length > 0", i, j, rg[0], rg[1])
			}
		}
	}
	return nil
}

// LoadReads reads and validates a reads file.
func LoadReads(file string) (*Reads, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	var r Reads
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	if err := r.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return &r, nil
}
