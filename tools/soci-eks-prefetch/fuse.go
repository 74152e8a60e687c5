package main

import (
	"context"
	"sync"
	"syscall"
	"time"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
)

// readLog collects the reads the kernel sends to the recording filesystem: per path, [offset, length] in arrival
// order, and the paths the container wrote (their reads are not the image's).
type readLog struct {
	mu      sync.Mutex
	start   time.Time
	reads   map[string][][2]int64
	first   map[string]time.Duration
	written map[string]bool
}

func newReadLog() *readLog {
	return &readLog{start: time.Now(), reads: map[string][][2]int64{}, first: map[string]time.Duration{}, written: map[string]bool{}}
}

func (l *readLog) read(p string, off int64, n int) {
	if n <= 0 {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, ok := l.first[p]; !ok {
		l.first[p] = time.Since(l.start)
	}
	l.reads[p] = append(l.reads[p], [2]int64{off, int64(n)})
}

func (l *readLog) write(p string) {
	l.mu.Lock()
	l.written[p] = true
	l.mu.Unlock()
}

// recNode is a loopback node that hands out recording file handles.
type recNode struct {
	fs.LoopbackNode
	log *readLog
}

func (n *recNode) relPath() string { return "/" + n.EmbeddedInode().Path(nil) }

const writeFlags = syscall.O_WRONLY | syscall.O_RDWR | syscall.O_TRUNC

func (n *recNode) Open(ctx context.Context, flags uint32) (fs.FileHandle, uint32, syscall.Errno) {
	fh, ff, errno := n.LoopbackNode.Open(ctx, flags)
	if errno != 0 {
		return fh, ff, errno
	}
	p := n.relPath()
	if flags&writeFlags != 0 {
		n.log.write(p)
	}
	if lf, ok := fh.(*fs.LoopbackFile); ok {
		return &recFile{LoopbackFile: lf, path: p, log: n.log}, ff, 0
	}
	return fh, ff, 0
}

func (n *recNode) Create(ctx context.Context, name string, flags uint32, mode uint32, out *fuse.EntryOut) (*fs.Inode, fs.FileHandle, uint32, syscall.Errno) {
	inode, fh, ff, errno := n.LoopbackNode.Create(ctx, name, flags, mode, out)
	if errno == 0 {
		n.log.write(n.relPath() + "/" + name)
	}
	return inode, fh, ff, errno
}

// recFile logs every read; every other operation is the loopback file's (promoted through the embedded pointer).
type recFile struct {
	*fs.LoopbackFile
	path string
	log  *readLog
}

func (f *recFile) Read(ctx context.Context, buf []byte, off int64) (fuse.ReadResult, syscall.Errno) {
	res, errno := f.LoopbackFile.Read(ctx, buf, off)
	if errno == 0 && res != nil {
		f.log.read(f.path, off, res.Size())
	}
	return res, errno
}

// PassthroughFd: never hand the kernel the backing file, or reads would bypass the log.
func (f *recFile) PassthroughFd() (int, bool) { return 0, false }

// mountRecording mounts a recording passthrough of dir at mnt. The kernel's read-ahead stays at its default, as on
// SOCI's own FUSE mounts (which set none), so the reads logged are the reads SOCI would serve.
func mountRecording(dir, mnt string, log *readLog) (*fuse.Server, error) {
	var st syscall.Stat_t
	if err := syscall.Stat(dir, &st); err != nil {
		return nil, err
	}
	root := &fs.LoopbackRoot{Path: dir, Dev: uint64(st.Dev)}
	root.NewNode = func(r *fs.LoopbackRoot, parent *fs.Inode, name string, st *syscall.Stat_t) fs.InodeEmbedder {
		return &recNode{LoopbackNode: fs.LoopbackNode{RootData: r}, log: log}
	}
	rootNode := root.NewNode(root, nil, "", &st)
	root.RootNode = rootNode
	one := time.Second
	return fs.Mount(mnt, rootNode, &fs.Options{
		MountOptions: fuse.MountOptions{AllowOther: true, DirectMount: true, FsName: "soci-eks-record", Name: "soci-eks-record", Options: []string{"default_permissions"}},
		AttrTimeout:  &one,
		EntryTimeout: &one,
	})
}
