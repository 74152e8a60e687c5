package main

import (
	"fmt"
	"syscall"
)

// Ending is how the recorded container's run ended.
type Ending struct {
	// Kind is "timeout" (the time limit was reached while it ran: the normal ending), "exited" (it ended by itself
	// before the limit), "interrupted" (the recorder got a signal) or "failed" (runc could not be waited for).
	Kind string
	// Code is runc's exit status for "exited": the container's own, or 128+N when signal N killed it.
	Code int
	// Err says why, for "failed".
	Err string
}

// String is the reads file's "ended" value: "timeout", "exited N", "interrupted" or "failed: …".
func (e Ending) String() string {
	switch e.Kind {
	case "exited":
		return fmt.Sprintf("exited %d", e.Code)
	case "failed":
		return "failed: " + e.Err
	default:
		return e.Kind
	}
}

// Describe says, in words, how the run ended and when: "time limit reached after 30.0 s", "exited 1 after 0.4 s".
func (e Ending) Describe(elapsed float64) string {
	switch e.Kind {
	case "timeout":
		return fmt.Sprintf("time limit reached after %.1f s", elapsed)
	case "exited":
		s := fmt.Sprintf("exited %d after %.1f s", e.Code, elapsed)
		if e.Code > 128 && e.Code < 128+65 {
			s += fmt.Sprintf(" (killed by signal %d, %s)", e.Code-128, syscall.Signal(e.Code-128))
		}
		return s
	default:
		return fmt.Sprintf("%s after %.1f s", e.String(), elapsed)
	}
}

// Check decides whether a recording that ended this way may become a prefetch list. Reaching the time limit while
// running is the normal ending, and so is exiting 0 before it (a command that finished its start). A non-zero exit
// before the limit is a start that went wrong (a crash, a missing setting, a network it cannot reach): its reads are
// not what the image reads on a node, so it is refused unless allowNonZeroExit; then warning says so. An interrupted
// or failed run is always refused. image names the image in the messages, limit is the time limit in seconds.
func (e Ending) Check(image string, elapsed, limit float64, allowNonZeroExit bool) (warning string, err error) {
	switch e.Kind {
	case "timeout":
		return "", nil
	case "exited":
		if e.Code == 0 {
			return "", nil
		}
		if allowNonZeroExit {
			return fmt.Sprintf("the container of %s %s, before the time limit of %g s; its reads are kept because of --allow-nonzero-exit (prefetch.record.allowNonZeroExit)",
				image, e.Describe(elapsed), limit), nil
		}
		return "", fmt.Errorf("the container of %s %s, before the time limit of %g s: a start that failed does not read what the image reads on a node, "+
			"so no prefetch list was made from it (its last output is above). Fix the start in the recording sandbox (no network but loopback, no credentials): "+
			"set prefetch.record.args or prefetch.record.env (--arg, --env), or give the files it reads as prefetch.files instead; "+
			"to keep this recording anyway, set prefetch.record.allowNonZeroExit: true (--allow-nonzero-exit)",
			image, e.Describe(elapsed), limit)
	case "interrupted":
		return "", fmt.Errorf("the recording of %s was interrupted after %.1f s (the recorder got SIGINT or SIGTERM: the Job's deadline or a deleted pod); "+
			"nothing was written. Run it again, with a larger timeoutMinutes if the deadline ended it", image, elapsed)
	default:
		return "", fmt.Errorf("could not run the container of %s: %s", image, e.Err)
	}
}
