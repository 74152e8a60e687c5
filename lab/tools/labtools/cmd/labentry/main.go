// Command labentry is the entrypoint of the lab's test images. It reads a fraction
// (-frac) of every regular file under the given directories or files (from the start of each
// file), then prints one "ready" line with the byte count and exits (or sleeps with -hold).
// The ready line carries two CLOCK_REALTIME stamps taken inside the container, in nanoseconds since
// the epoch: start_ns as main() begins (the process was exec'd) and ready_ns after the last read, so
// the bench can split pull-to-ready into phases without polling (containers share the host's clock).
package main

import (
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

func main() {
	frac := flag.Float64("frac", 0.06, "fraction of each file's bytes to read")
	hold := flag.Bool("hold", false, "sleep forever after the ready line")
	start := time.Now()
	flag.Parse()
	var files, total, read int64
	buf := make([]byte, 1<<20)
	for _, root := range flag.Args() {
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil || !d.Type().IsRegular() {
				return err
			}
			info, err := d.Info()
			if err != nil {
				return err
			}
			want := int64(float64(info.Size()) * *frac)
			f, err := os.Open(p)
			if err != nil {
				return err
			}
			defer f.Close()
			n, err := io.CopyBuffer(io.Discard, io.LimitReader(f, want), buf)
			if err != nil {
				return err
			}
			files++
			total += info.Size()
			read += n
			return nil
		})
		if err != nil {
			fmt.Fprintln(os.Stderr, "labentry:", err)
			os.Exit(1)
		}
	}
	ready := time.Now()
	fmt.Printf("LAB-READY files=%d bytes_total=%d bytes_read=%d read_ms=%d start_ns=%d ready_ns=%d\n",
		files, total, read, ready.Sub(start).Milliseconds(), start.UnixNano(), ready.UnixNano())
	if *hold {
		// A bare select{} is a deadlock to the Go runtime when no other goroutine exists: it exits with
		// "all goroutines are asleep". Sleep instead.
		for {
			time.Sleep(time.Hour)
		}
	}
}
