package main

import (
	"strings"
	"testing"
)

func TestEndingCheck(t *testing.T) {
	const img = "123.dkr.ecr.us-west-2.amazonaws.com/ml/trainer@sha256:abc"
	cases := []struct {
		name    string
		e       Ending
		allow   bool
		wantErr []string // substrings of the error; nil: accepted
		warn    bool
	}{
		{name: "time limit reached", e: Ending{Kind: "timeout"}},
		{name: "time limit reached, allow set", e: Ending{Kind: "timeout"}, allow: true},
		{name: "exited 0 before the limit", e: Ending{Kind: "exited"}},
		{name: "exited 1 before the limit", e: Ending{Kind: "exited", Code: 1},
			wantErr: []string{img, "exited 1 after 2.5 s", "time limit of 30 s", "prefetch.record.args", "prefetch.files", "prefetch.record.allowNonZeroExit: true"}},
		{name: "OOM-killed", e: Ending{Kind: "exited", Code: 137}, wantErr: []string{"exited 137 after 2.5 s (killed by signal 9, killed)"}},
		{name: "exited 1, allowed", e: Ending{Kind: "exited", Code: 1}, allow: true, warn: true},
		{name: "interrupted", e: Ending{Kind: "interrupted"}, wantErr: []string{"interrupted after 2.5 s", "timeoutMinutes"}},
		{name: "interrupted, allow does not help", e: Ending{Kind: "interrupted"}, allow: true, wantErr: []string{"interrupted"}},
		{name: "runc failed", e: Ending{Kind: "failed", Err: "wait: no child"}, allow: true, wantErr: []string{"could not run the container of " + img + ": wait: no child"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			warning, err := c.e.Check(img, 2.5, 30, c.allow)
			if c.wantErr == nil {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
			} else {
				if err == nil {
					t.Fatalf("accepted (warning %q), want an error", warning)
				}
				for _, s := range c.wantErr {
					if !strings.Contains(err.Error(), s) {
						t.Errorf("error %q does not say %q", err, s)
					}
				}
			}
			if (warning != "") != c.warn {
				t.Errorf("warning %q, want one: %v", warning, c.warn)
			}
			if c.warn && !strings.Contains(warning, "exited 1 after 2.5 s") {
				t.Errorf("warning %q does not say how it ended", warning)
			}
		})
	}
}

func TestEndingStrings(t *testing.T) {
	for _, c := range []struct {
		e              Ending
		ended, endedAs string
	}{
		{Ending{Kind: "timeout"}, "timeout", "time limit reached after 30.0 s"},
		{Ending{Kind: "exited", Code: 0}, "exited 0", "exited 0 after 30.0 s"},
		{Ending{Kind: "exited", Code: 3}, "exited 3", "exited 3 after 30.0 s"},
		{Ending{Kind: "exited", Code: 143}, "exited 143", "exited 143 after 30.0 s (killed by signal 15, terminated)"},
		{Ending{Kind: "interrupted"}, "interrupted", "interrupted after 30.0 s"},
	} {
		if got := c.e.String(); got != c.ended {
			t.Errorf("%+v: String %q, want %q", c.e, got, c.ended)
		}
		if got := c.e.Describe(30); got != c.endedAs {
			t.Errorf("%+v: Describe %q, want %q", c.e, got, c.endedAs)
		}
	}
}

func TestRuntimeSpecSandbox(t *testing.T) {
	var cfg imageConfig
	cfg.Config.Entrypoint = []string{"/bin/entry"}
	lim := SandboxLimits{Pids: 4096, MemoryBytes: 1 << 30}
	root := runtimeSpec("/mnt", cfg, 0, 0, nil, nil, lim)
	p := root.Process
	if !p.NoNewPrivileges {
		t.Error("no_new_privs is off")
	}
	if p.OOMScoreAdj == nil || *p.OOMScoreAdj != 1000 {
		t.Errorf("oom_score_adj %v, want 1000", p.OOMScoreAdj)
	}
	if len(p.Rlimits) != 1 || p.Rlimits[0].Type != "RLIMIT_CORE" || p.Rlimits[0].Hard != 0 || p.Rlimits[0].Soft != 0 {
		t.Errorf("rlimits %+v, want only RLIMIT_CORE 0", p.Rlimits)
	}
	// Never more than Docker's default set, and none of the ones dropped.
	docker := map[string]bool{"CAP_CHOWN": true, "CAP_DAC_OVERRIDE": true, "CAP_FSETID": true, "CAP_FOWNER": true, "CAP_MKNOD": true, "CAP_NET_RAW": true,
		"CAP_SETGID": true, "CAP_SETUID": true, "CAP_SETFCAP": true, "CAP_SETPCAP": true, "CAP_NET_BIND_SERVICE": true, "CAP_SYS_CHROOT": true, "CAP_KILL": true, "CAP_AUDIT_WRITE": true}
	for _, set := range [][]string{p.Capabilities.Bounding, p.Capabilities.Effective, p.Capabilities.Permitted} {
		for _, c := range set {
			if !docker[c] || c == "CAP_NET_RAW" || c == "CAP_MKNOD" || c == "CAP_AUDIT_WRITE" || c == "CAP_SETFCAP" {
				t.Errorf("root image gets %s", c)
			}
		}
	}
	if len(p.Capabilities.Inheritable)+len(p.Capabilities.Ambient) != 0 {
		t.Errorf("inheritable/ambient capabilities: %+v", p.Capabilities)
	}
	r := root.Linux.Resources
	if r == nil || r.Pids == nil || *r.Pids.Limit != 4096 || r.Memory == nil || *r.Memory.Limit != 1<<30 {
		t.Errorf("resources %+v, want pids 4096 and memory 1 GiB", r)
	}
	ns := map[string]bool{}
	for _, n := range root.Linux.Namespaces {
		ns[string(n.Type)] = true
	}
	for _, want := range []string{"pid", "network", "ipc", "uts", "mount", "cgroup"} {
		if !ns[want] {
			t.Errorf("no %s namespace", want)
		}
	}
	user := runtimeSpec("/mnt", cfg, 1000, 1000, nil, nil, SandboxLimits{})
	c := user.Process.Capabilities
	if len(c.Bounding)+len(c.Effective)+len(c.Permitted) != 0 {
		t.Errorf("a non-root image gets capabilities: %+v", c)
	}
	if user.Linux.Resources.Pids != nil || user.Linux.Resources.Memory != nil {
		t.Error("zero limits set a limit")
	}
	if d := defaultSandboxLimits(); d.Pids != DefaultPidsLimit || (memTotal() > 0 && d.MemoryBytes != memTotal()/4*3) {
		t.Errorf("default limits %+v", d)
	}
}
