package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/containerd/containerd/v2/pkg/archive"
	"github.com/containerd/containerd/v2/pkg/archive/compression"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// RecordOptions are the flags of `record`.
type RecordOptions struct {
	Layout   string
	Platform string
	Seconds  float64
	WorkDir  string
	Runc     string
	Args     []string
	Env      []string
	Out      string
	// Image names the image in messages (default: the layout directory).
	Image string
	// AllowNonZeroExit keeps a recording whose container exited non-zero before the time limit (see Ending.Check).
	AllowNonZeroExit bool
}

type imageConfig struct {
	Config struct {
		User       string   `json:"User"`
		Env        []string `json:"Env"`
		Entrypoint []string `json:"Entrypoint"`
		Cmd        []string `json:"Cmd"`
		WorkingDir string   `json:"WorkingDir"`
	} `json:"config"`
}

// pickManifest returns the image manifest of the layout for the platform (the only one, if there is one).
func pickManifest(lay Layout, platform string) (Descriptor, error) {
	ms, err := lay.ImageManifests()
	if err != nil {
		return nil, err
	}
	var found []Descriptor
	for _, m := range ms {
		if p := PlatformOf(m); p == "" || p == platform || strings.HasPrefix(p, platform+"/") {
			found = append(found, m)
		}
	}
	if len(found) == 0 {
		return nil, fmt.Errorf("%s has no image for %s", lay.Dir, platform)
	}
	return found[0], nil
}

// unpack applies the manifest's layers in order into rootfs (whiteouts applied, as an overlay shows the image).
func unpack(ctx context.Context, lay Layout, man map[string]any, rootfs string) error {
	for i, d := range Descriptors(man, "layers") {
		file, err := lay.BlobFile(d.Digest())
		if err != nil {
			return err
		}
		f, err := os.Open(file)
		if err != nil {
			return fmt.Errorf("layer %d: %w", i, err)
		}
		ds, err := compression.DecompressStream(f)
		if err != nil {
			f.Close()
			return fmt.Errorf("layer %d: %w", i, err)
		}
		_, err = archive.Apply(ctx, rootfs, ds)
		ds.Close()
		f.Close()
		if err != nil {
			return fmt.Errorf("layer %d: %w", i, err)
		}
	}
	return nil
}

// userOf resolves the image's User ("uid[:gid]" or names from the image's /etc/passwd and /etc/group).
func userOf(rootfs, user string) (uint32, uint32, error) {
	if user == "" {
		return 0, 0, nil
	}
	name, group, _ := strings.Cut(user, ":")
	lookup := func(file, key string, field int) (uint32, error) {
		if n, err := strconv.ParseUint(key, 10, 32); err == nil {
			return uint32(n), nil
		}
		b, err := os.ReadFile(filepath.Join(rootfs, file))
		if err != nil {
			return 0, fmt.Errorf("user %q: %w", user, err)
		}
		for _, line := range strings.Split(string(b), "\n") {
			f := strings.Split(line, ":")
			if len(f) > field && f[0] == key {
				n, err := strconv.ParseUint(f[field], 10, 32)
				return uint32(n), err
			}
		}
		return 0, fmt.Errorf("user %q: %s not in %s", user, key, file)
	}
	uid, err := lookup("etc/passwd", name, 2)
	if err != nil {
		return 0, 0, err
	}
	gid := uint32(0)
	if group != "" {
		gid, err = lookup("etc/group", group, 2)
	} else if _, e := strconv.ParseUint(name, 10, 32); e != nil {
		gid, err = lookup("etc/passwd", name, 3)
	}
	return uid, gid, err
}

// recordCapabilities are the capabilities a root image keeps: Docker's and containerd's default set without
// NET_RAW (raw sockets), MKNOD (/dev is a fresh tmpfs with runc's default nodes), AUDIT_WRITE (the host's audit log)
// and SETFCAP (setting file capabilities): what an entrypoint uses to start (chown, switch user, bind a low port,
// signal its children) stays. A non-root image gets none.
var recordCapabilities = []string{"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP",
	"CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL"}

// SandboxLimits are the resource limits of the recording sandbox, applied by runc to the cgroup it creates for the
// container (under the recorder's: in the Job, under the pod's).
type SandboxLimits struct {
	// Pids caps the tasks (processes and threads) of the container: a fork bomb stops there.
	Pids int64
	// MemoryBytes caps its memory (page cache included, which the kernel reclaims first); 0: no limit. Going over
	// it gets the container OOM-killed (exit 137), which refuses the recording like any other crash.
	MemoryBytes int64
}

// DefaultPidsLimit is far above what a start needs (a JVM or a PyTorch import: hundreds of threads) and far below a
// node's pid_max.
const DefaultPidsLimit = 4096

// defaultSandboxLimits: DefaultPidsLimit tasks, and three quarters of the machine's memory (the kernel OOM-kills the
// recorded image, oom_score_adj 1000, before anything else of the node in any case).
func defaultSandboxLimits() SandboxLimits {
	return SandboxLimits{Pids: DefaultPidsLimit, MemoryBytes: memTotal() / 4 * 3}
}

// memTotal is MemTotal of /proc/meminfo in bytes (0 if unreadable).
func memTotal() int64 {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "MemTotal:" {
			kb, err := strconv.ParseInt(f[1], 10, 64)
			if err == nil {
				return kb << 10
			}
		}
	}
	return 0
}

// runtimeSpec is the sandbox the image runs in (docs/index-builder.md, "The recording sandbox"): its own pid, mount,
// ipc, uts, cgroup and network namespaces (the network namespace has only loopback: no route anywhere); the image's
// user, and for root only recordCapabilities; no_new_privs; no core dumps; the lim cgroup limits and oom_score_adj
// 1000; a read-write root on the recording mount (writes land in the scratch copy and are not recorded). Not a user
// namespace and no seccomp filter: the image's root is the node's root with fewer capabilities.
func runtimeSpec(root string, cfg imageConfig, uid, gid uint32, args, env []string, lim SandboxLimits) *specs.Spec {
	caps := append([]string{}, recordCapabilities...)
	if uid != 0 {
		caps = nil
	}
	argv := append(append([]string{}, cfg.Config.Entrypoint...), cfg.Config.Cmd...)
	if len(args) > 0 {
		argv = append(append([]string{}, cfg.Config.Entrypoint...), args...)
	}
	cwd := cfg.Config.WorkingDir
	if cwd == "" {
		cwd = "/"
	}
	environ := append([]string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}, cfg.Config.Env...)
	environ = append(environ, env...)
	return &specs.Spec{
		Version: specs.Version,
		Process: &specs.Process{
			User:            specs.User{UID: uid, GID: gid},
			Args:            argv,
			Env:             environ,
			Cwd:             cwd,
			Capabilities:    &specs.LinuxCapabilities{Bounding: caps, Effective: caps, Permitted: caps},
			NoNewPrivileges: true,
			Rlimits:         []specs.POSIXRlimit{{Type: "RLIMIT_CORE", Hard: 0, Soft: 0}},
			OOMScoreAdj:     &oomScoreAdj,
		},
		Root:     &specs.Root{Path: root},
		Hostname: "soci-eks-record",
		Mounts: []specs.Mount{
			{Destination: "/proc", Type: "proc", Source: "proc", Options: []string{"nosuid", "noexec", "nodev"}},
			{Destination: "/dev", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "strictatime", "mode=755", "size=65536k"}},
			{Destination: "/dev/pts", Type: "devpts", Source: "devpts", Options: []string{"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"}},
			{Destination: "/dev/shm", Type: "tmpfs", Source: "shm", Options: []string{"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}},
			{Destination: "/dev/mqueue", Type: "mqueue", Source: "mqueue", Options: []string{"nosuid", "noexec", "nodev"}},
			{Destination: "/sys", Type: "sysfs", Source: "sysfs", Options: []string{"nosuid", "noexec", "nodev", "ro"}},
		},
		Linux: &specs.Linux{
			Namespaces: []specs.LinuxNamespace{{Type: "pid"}, {Type: "network"}, {Type: "ipc"}, {Type: "uts"}, {Type: "mount"}, {Type: "cgroup"}},
			MaskedPaths: []string{"/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list",
				"/proc/timer_stats", "/proc/sched_debug", "/sys/firmware", "/proc/scsi"},
			ReadonlyPaths: []string{"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"},
			Resources:     resources(lim),
		},
	}
}

// oomScoreAdj: the recorded image is the first thing the kernel kills when the node runs out of memory.
var oomScoreAdj = 1000

func resources(lim SandboxLimits) *specs.LinuxResources {
	r := &specs.LinuxResources{}
	if lim.Pids > 0 {
		n := lim.Pids
		r.Pids = &specs.LinuxPids{Limit: &n}
	}
	if lim.MemoryBytes > 0 {
		m := lim.MemoryBytes
		r.Memory = &specs.LinuxMemory{Limit: &m}
	}
	return r
}

// Record runs the image once in a sandbox over a recording mount and writes what it read in the first Seconds.
func Record(ctx context.Context, o RecordOptions) (*Reads, error) {
	lay := Layout{Dir: o.Layout}
	if o.Platform == "" {
		o.Platform = "linux/" + runtime.GOARCH
	}
	m, err := pickManifest(lay, o.Platform)
	if err != nil {
		return nil, err
	}
	man, err := lay.JSON(m.Digest())
	if err != nil {
		return nil, err
	}
	cfgDesc := Descriptor(man["config"].(map[string]any))
	var cfg imageConfig
	cb, err := lay.Blob(cfgDesc.Digest())
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(cb, &cfg); err != nil {
		return nil, fmt.Errorf("image config: %w", err)
	}
	if len(cfg.Config.Entrypoint)+len(cfg.Config.Cmd)+len(o.Args) == 0 {
		return nil, errors.New("the image has neither ENTRYPOINT nor CMD: give --arg")
	}

	work, err := os.MkdirTemp(o.WorkDir, "record-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(work)
	rootfs, mnt, bundle, state := filepath.Join(work, "rootfs"), filepath.Join(work, "mnt"), filepath.Join(work, "bundle"), filepath.Join(work, "runc")
	for _, d := range []string{rootfs, mnt, bundle, state} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, err
		}
	}
	t0 := time.Now()
	if err := unpack(ctx, lay, man, rootfs); err != nil {
		return nil, fmt.Errorf("unpack: %w", err)
	}
	logf("unpacked %d layers in %.1fs", len(Descriptors(man, "layers")), time.Since(t0).Seconds())
	uid, gid, err := userOf(rootfs, cfg.Config.User)
	if err != nil {
		return nil, err
	}

	rl := newReadLog()
	server, err := mountRecording(rootfs, mnt, rl)
	if err != nil {
		return nil, fmt.Errorf("mount the recording filesystem: %w", err)
	}
	defer func() { _ = server.Unmount() }()

	spec := runtimeSpec(mnt, cfg, uid, gid, o.Args, o.Env, defaultSandboxLimits())
	sb, _ := json.MarshalIndent(spec, "", "  ")
	if err := os.WriteFile(filepath.Join(bundle, "config.json"), sb, 0o600); err != nil {
		return nil, err
	}
	id := fmt.Sprintf("soci-eks-record-%d", os.Getpid())
	logFile, err := os.Create(filepath.Join(work, "container.log"))
	if err != nil {
		return nil, err
	}
	defer logFile.Close()
	cmd := exec.Command(o.Runc, "--root", state, "run", "--bundle", bundle, id)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	rl.mu.Lock()
	rl.start = time.Now()
	rl.mu.Unlock()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", o.Runc, err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	ending := Ending{Kind: "timeout"}
	select {
	case err := <-done:
		ending = Ending{Kind: "exited"}
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			ending.Code = ee.ExitCode()
		} else if err != nil {
			ending = Ending{Kind: "failed", Err: err.Error()}
		}
	case <-time.After(time.Duration(o.Seconds * float64(time.Second))):
		_ = exec.Command(o.Runc, "--root", state, "kill", id, "KILL").Run()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	case <-ctx.Done():
		_ = exec.Command(o.Runc, "--root", state, "kill", id, "KILL").Run()
		<-done
		ending = Ending{Kind: "interrupted"}
	}
	elapsed := time.Since(rl.start)
	_ = exec.Command(o.Runc, "--root", state, "delete", "--force", id).Run()
	if tail, err := os.ReadFile(filepath.Join(work, "container.log")); err == nil && len(tail) > 0 {
		if len(tail) > 2000 {
			tail = tail[len(tail)-2000:]
		}
		logf("container output (last %d bytes):\n%s", len(tail), tail)
	}
	image := o.Image
	if image == "" {
		image = o.Layout
	}
	warning, err := ending.Check(image, elapsed.Seconds(), o.Seconds, o.AllowNonZeroExit)
	if err != nil {
		return nil, err
	}
	if warning != "" {
		logf("WARNING: %s", warning)
	}
	ended := ending.String()

	rl.mu.Lock()
	defer rl.mu.Unlock()
	reads := &Reads{Version: 1, Source: "record", Platform: o.Platform, Seconds: elapsed.Round(time.Millisecond).Seconds(), Ended: ended,
		EndedAs: ending.Describe(elapsed.Seconds()), AllowedNonZeroExit: warning != "", Files: []FileRead{}}
	paths := make([]string, 0, len(rl.reads))
	for p := range rl.reads {
		if !rl.written[p] {
			paths = append(paths, p)
		}
	}
	if len(paths) == 0 {
		return nil, fmt.Errorf("the container of %s read no file of the image (%s); see its output above", image, ending.Describe(elapsed.Seconds()))
	}
	// In the order the container first read them.
	sort.Slice(paths, func(i, j int) bool { return rl.first[paths[i]] < rl.first[paths[j]] })
	for _, p := range paths {
		reads.Files = append(reads.Files, FileRead{Path: p, Ranges: MergeRanges(rl.reads[p])})
	}
	return reads, nil
}
