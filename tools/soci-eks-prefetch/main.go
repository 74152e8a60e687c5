// soci-eks-prefetch records what a container reads when it starts and turns those byte ranges into SOCI prefetch
// artifacts, so that a lazily pulled image fetches them when its layers are mounted instead of one span at a time.
//
//	soci-eks-prefetch record --layout DIR --seconds N --out READS.json [--platform linux/amd64] [--workdir DIR]
//	                         [--runc PATH] [--arg A]... [--env K=V]... [--image NAME] [--allow-nonzero-exit]
//	    Unpacks the image of an OCI layout, serves it through a FUSE passthrough that logs every read (path, offset,
//	    length), runs it with runc in its sandbox (runtimeSpec) for N seconds, and writes the reads. A container that
//	    exits non-zero before N seconds is refused unless --allow-nonzero-exit. Needs root, /dev/fuse and runc.
//	soci-eks-prefetch apply --layout DIR --reads READS.json [--reads MORE.json]... [--platform P] [--summary OUT.json]
//	    For an OCI layout made by `soci convert --standalone --format oci-dir`: maps each file's ranges to the spans
//	    of the zTOC of the layer that provides it, writes one prefetch artifact per layer (merged with any the index
//	    has), and rewrites the SOCI index, the image manifest and the image index to reference them. Prints what was
//	    prefetched (files, ranges, bytes, spans). Needs no privilege.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

func logf(format string, a ...any) { fmt.Fprintf(os.Stderr, "[soci-eks-prefetch] "+format+"\n", a...) }

type multi []string

func (m *multi) String() string     { return strings.Join(*m, ",") }
func (m *multi) Set(v string) error { *m = append(*m, v); return nil }

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: soci-eks-prefetch record|apply [flags] (see -h of each)")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "record":
		err = cmdRecord(os.Args[2:])
	case "apply":
		err = cmdApply(os.Args[2:])
	default:
		err = fmt.Errorf("unknown command %q (want record or apply)", os.Args[1])
	}
	if err != nil {
		logf("ERROR: %v", err)
		os.Exit(1)
	}
}

func cmdRecord(args []string) error {
	f := flag.NewFlagSet("record", flag.ContinueOnError)
	var o RecordOptions
	var argv, env multi
	f.StringVar(&o.Layout, "layout", "", "OCI image layout of the image (required)")
	f.StringVar(&o.Platform, "platform", "", "platform to run (default linux/<this machine's arch>)")
	f.Float64Var(&o.Seconds, "seconds", 0, "how long to record from the container's start (required, 0 < N <= 3600)")
	f.StringVar(&o.WorkDir, "workdir", os.TempDir(), "scratch directory (holds the unpacked image)")
	f.StringVar(&o.Runc, "runc", "runc", "runc binary")
	f.StringVar(&o.Out, "out", "", "where to write the reads (required)")
	f.Var(&argv, "arg", "replaces the image's CMD, one argument per flag")
	f.Var(&env, "env", "extra environment K=V, one per flag")
	f.StringVar(&o.Image, "image", "", "the image's name, for messages (default: the layout directory)")
	f.BoolVar(&o.AllowNonZeroExit, "allow-nonzero-exit", false, "keep a recording whose container exited non-zero before --seconds (refused by default)")
	if err := f.Parse(args); err != nil {
		return err
	}
	if o.Layout == "" || o.Out == "" || o.Seconds <= 0 || o.Seconds > 3600 {
		return fmt.Errorf("record needs --layout, --out and --seconds in (0, 3600]")
	}
	o.Args, o.Env = argv, env
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	reads, err := Record(ctx, o)
	if err != nil {
		return err
	}
	var total int64
	ranges := 0
	for _, fr := range reads.Files {
		total += fr.ReadBytes()
		ranges += len(fr.Ranges)
	}
	logf("recorded %s, %s: %d files, %d ranges, %d bytes read", reads.Platform, reads.EndedAs, len(reads.Files), ranges, total)
	b, err := json.MarshalIndent(reads, "", " ")
	if err != nil {
		return err
	}
	return os.WriteFile(o.Out, append(b, '\n'), 0o644)
}

func cmdApply(args []string) error {
	f := flag.NewFlagSet("apply", flag.ContinueOnError)
	var files multi
	layout := f.String("layout", "", "OCI layout written by soci convert --standalone --format oci-dir (required; rewritten in place)")
	platform := f.String("platform", "", "only this platform's manifest (default: the reads' platform, or all)")
	summary := f.String("summary", "", "write the summary as JSON here too")
	f.Var(&files, "reads", "reads file (from record, or a list); repeat to merge")
	if err := f.Parse(args); err != nil {
		return err
	}
	if *layout == "" || len(files) == 0 {
		return fmt.Errorf("apply needs --layout and at least one --reads")
	}
	merged := &Reads{Version: 1}
	var sources []string
	for _, file := range files {
		r, err := LoadReads(file)
		if err != nil {
			return err
		}
		sources = append(sources, r.Source)
		if merged.Platform == "" {
			merged.Platform = r.Platform
		}
		merged.Files = append(merged.Files, r.Files...)
	}
	merged.Source = strings.Join(sources, "+")
	sum, err := Apply(Layout{Dir: *layout}, merged, *platform)
	if err != nil {
		return err
	}
	return WriteSummary(os.Stderr, sum, *summary)
}
