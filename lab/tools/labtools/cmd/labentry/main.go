// Command labentry is the entrypoint of the lab's test images. It reads a fraction
// (-frac) of every regular file under the given directories or files (from the start of each
// file), then prints one "ready" line with the byte count and exits (or sleeps with -hold).
// With -steps N it then reads the rest of every file in N steps, one step every -every, printing
// "LAB-STEP i ok|error ..." for each (a failed read does not stop it: the lab's runtime faults watch
// whether reads fail and recover) and "LAB-DONE steps=N ok=K errors=E" at the end.
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
	steps := flag.Int("steps", 0, "after the ready line, read the rest of every file in this many steps")
	every := flag.Duration("every", time.Second, "time between two steps")
	start := time.Now()
	flag.Parse()
	var files, total, read int64
	type seen struct {
		path       string
		size, from int64
	}
	var all []seen
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
			all = append(all, seen{p, info.Size(), n})
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
	if *steps > 0 {
		ok, bad := 0, 0
		for i := 1; i <= *steps; i++ {
			time.Sleep(*every)
			t0 := time.Now()
			var n int64
			var stepErr error
			for _, f := range all {
				chunk := (f.size - f.from + int64(*steps) - 1) / int64(*steps)
				off := f.from + int64(i-1)*chunk
				if off >= f.size {
					continue
				}
				got, err := readAt(f.path, off, min(chunk, f.size-off), buf)
				n += got
				if err != nil && stepErr == nil {
					stepErr = fmt.Errorf("%s at %d: %w", f.path, off+got, err)
				}
			}
			if stepErr != nil {
				bad++
				fmt.Printf("LAB-STEP %d error bytes=%d ms=%d: %v\n", i, n, time.Since(t0).Milliseconds(), stepErr)
			} else {
				ok++
				fmt.Printf("LAB-STEP %d ok bytes=%d ms=%d\n", i, n, time.Since(t0).Milliseconds())
			}
		}
		fmt.Printf("LAB-DONE steps=%d ok=%d errors=%d\n", *steps, ok, bad)
	}
	if *hold {
		// A bare select{} is a deadlock to the Go runtime when no other goroutine exists: it exits with
		// "all goroutines are asleep". Sleep instead.
		for {
			time.Sleep(time.Hour)
		}
	}
}

// readAt reads n bytes of path from off (opening the file again, as a new reader would).
func readAt(path string, off, n int64, buf []byte) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	return io.CopyBuffer(io.Discard, io.NewSectionReader(f, off, n), buf)
}
