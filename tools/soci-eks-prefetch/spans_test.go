package main

import (
	"reflect"
	"testing"

	"github.com/awslabs/soci-snapshotter/soci"
	"github.com/awslabs/soci-snapshotter/ztoc/compression"
)

// fixedSpans is a zinfo stand-in: spans of `size` uncompressed bytes, each compressing to size/2.
type fixedSpans struct{ size, max int64 }

func (f fixedSpans) UncompressedOffsetToSpanID(o compression.Offset) compression.SpanID {
	return compression.SpanID(int64(o) / f.size)
}
func (f fixedSpans) StartCompressedOffset(s compression.SpanID) compression.Offset {
	return compression.Offset(int64(s) * f.size / 2)
}
func (f fixedSpans) EndCompressedOffset(s compression.SpanID, _ compression.Offset) compression.Offset {
	return compression.Offset((int64(s) + 1) * f.size / 2)
}
func (f fixedSpans) MaxSpanID() compression.SpanID { return compression.SpanID(f.max) }

func ids(xs ...int) []compression.SpanID {
	out := make([]compression.SpanID, len(xs))
	for i, x := range xs {
		out[i] = compression.SpanID(x)
	}
	return out
}

func TestMergeRanges(t *testing.T) {
	got := MergeRanges([][2]int64{{100, 50}, {0, 10}, {10, 5}, {140, 100}, {500, 0}, {-1, 4}})
	want := [][2]int64{{0, 15}, {100, 140}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("MergeRanges = %v, want %v", got, want)
	}
}

func TestSpansOfPartialReads(t *testing.T) {
	idx := fixedSpans{size: 1 << 20, max: 100}
	// A 30 MiB file starting 5 MiB into the layer; the app reads its first 6% (1.8 MiB): spans 5 and 6 only, not the
	// 30 a whole-file prefetch would take.
	file := int64(30 << 20)
	got := SpansOf(idx, 5<<20, file, [][2]int64{{0, file * 6 / 100}})
	if !reflect.DeepEqual(got, ids(5, 6)) {
		t.Fatalf("6%% read: spans %v, want [5 6]", got)
	}
	if whole := SpansOf(idx, 5<<20, file, nil); len(whole) != 30 {
		t.Fatalf("whole file: %d spans, want 30", len(whole))
	}
	// A read ending exactly on a span boundary does not take the next span; a range past the end is clipped.
	if got := SpansOf(idx, 0, 4<<20, [][2]int64{{0, 1 << 20}, {3 << 20, 10 << 20}}); !reflect.DeepEqual(got, ids(0, 3)) {
		t.Fatalf("boundaries: %v, want [0 3]", got)
	}
	if got := SpansOf(idx, 0, 0, nil); got != nil {
		t.Fatalf("empty file: %v", got)
	}
	if got := SpansOf(idx, 0, 100, [][2]int64{{200, 10}}); len(got) != 0 {
		t.Fatalf("range beyond the file: %v", got)
	}
}

func TestPrefetchSpansAndBytes(t *testing.T) {
	got := PrefetchSpans(ids(7, 1, 2, 3, 9, 8, 20))
	want := []soci.PrefetchSpan{{StartSpan: 1, EndSpan: 3}, {StartSpan: 7, EndSpan: 9}, {StartSpan: 20, EndSpan: 20}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("PrefetchSpans = %+v, want %+v", got, want)
	}
	if n := CompressedBytes(fixedSpans{size: 1000}, ids(1, 2, 5), 0); n != 1500 {
		t.Fatalf("CompressedBytes = %d, want 1500", n)
	}
}

func TestShadowsAndCleanPath(t *testing.T) {
	names := map[string]bool{"etc/app.conf": true, "opt/.wh.old": true, "var/cache/.wh..wh..opq": true}
	for p, want := range map[string]bool{"etc/app.conf": true, "opt/old": true, "opt/old/lib.so": true, "var/cache/x/y": true, "usr/bin/python": false} {
		if got := shadows(names, p); got != want {
			t.Errorf("shadows(%q) = %v, want %v", p, got, want)
		}
	}
	if CleanPath("/a/../b/./c") != "b/c" || CleanPath("x") != "x" {
		t.Fatal("CleanPath")
	}
}

func TestReadsValidate(t *testing.T) {
	bad := []Reads{
		{Version: 2},
		{Version: 1, Files: []FileRead{{Path: "rel/path"}}},
		{Version: 1, Files: []FileRead{{Path: "/a", Ranges: [][2]int64{{0, 0}}}}},
	}
	for i, r := range bad {
		if r.Validate() == nil {
			t.Errorf("bad[%d] passed", i)
		}
	}
	ok := Reads{Version: 1, Files: []FileRead{{Path: "/a", Ranges: [][2]int64{{0, 5}, {3, 4}}}}}
	if err := ok.Validate(); err != nil || ok.Files[0].ReadBytes() != 7 {
		t.Fatalf("ok: %v, bytes %d", err, ok.Files[0].ReadBytes())
	}
}
