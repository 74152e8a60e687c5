package main

import (
	"sort"

	"github.com/awslabs/soci-snapshotter/soci"
	"github.com/awslabs/soci-snapshotter/ztoc/compression"
)

// SpanIndex is what mapping needs of a zTOC's zinfo (compression.Zinfo implements it).
type SpanIndex interface {
	UncompressedOffsetToSpanID(compression.Offset) compression.SpanID
	StartCompressedOffset(compression.SpanID) compression.Offset
	EndCompressedOffset(compression.SpanID, compression.Offset) compression.Offset
	MaxSpanID() compression.SpanID
}

// SpansOf maps byte ranges of a file, which starts at uncompressed offset fileOffset in its layer and is fileSize
// long, to the span IDs that hold them: exactly the spans SOCI fetches when those bytes are read through its FUSE
// mount. Ranges are clipped to the file; no ranges means the whole file.
func SpansOf(idx SpanIndex, fileOffset, fileSize int64, ranges [][2]int64) []compression.SpanID {
	if fileSize <= 0 {
		return nil
	}
	if len(ranges) == 0 {
		ranges = [][2]int64{{0, fileSize}}
	}
	seen := map[compression.SpanID]bool{}
	for _, r := range MergeRanges(ranges) {
		start := r[0]
		end := min(r[0]+r[1], fileSize) // exclusive
		if start >= end {
			continue
		}
		first := idx.UncompressedOffsetToSpanID(compression.Offset(fileOffset + start))
		last := idx.UncompressedOffsetToSpanID(compression.Offset(fileOffset + end - 1))
		for s := first; s <= last; s++ {
			seen[s] = true
		}
	}
	out := make([]compression.SpanID, 0, len(seen))
	for s := range seen {
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// PrefetchSpans turns span IDs into SOCI's prefetch artifact entries: consecutive IDs become one [start, end] entry.
func PrefetchSpans(ids []compression.SpanID) []soci.PrefetchSpan {
	sorted := append([]compression.SpanID(nil), ids...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i] < sorted[j] })
	var out []soci.PrefetchSpan
	for _, id := range sorted {
		if n := len(out); n > 0 && id <= out[n-1].EndSpan+1 {
			if id > out[n-1].EndSpan {
				out[n-1].EndSpan = id
			}
			continue
		}
		out = append(out, soci.PrefetchSpan{StartSpan: id, EndSpan: id})
	}
	return out
}

// CompressedBytes is what fetching the spans costs from the registry: the compressed bytes of each span
// (compressedSize is the layer blob's size, for the last span).
func CompressedBytes(idx SpanIndex, ids []compression.SpanID, compressedSize int64) int64 {
	var n int64
	for _, id := range ids {
		n += int64(idx.EndCompressedOffset(id, compression.Offset(compressedSize)) - idx.StartCompressedOffset(id))
	}
	return n
}
