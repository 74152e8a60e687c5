# Sourced by lab/lib/bench-node.sh: the disk under containerd's and SOCI's roots for the bench's disk conditions.
# shellcheck shell=bash
#
# The lab's node keeps /var/lib/containerd and /var/lib/soci-snapshotter-grpc on this machine's own disk, whose speed
# nobody controls (other jobs share it). The disk conditions put both roots on a fresh XFS file system (AL2023 formats
# its root volume and nodeadm its instance-store array as XFS) on a loop device whose backing file is in RAM (tmpfs),
# so the only limit is the one set here, with the kernel's block throttle (cgroup v1 blkio, root group, on the loop
# device: it applies to every read and write of that device, page-cache writeback included):
#   gp3  the EBS root volume of an EKS node: gp3's baseline, 3,000 IOPS and 125 MiB/s (Amazon EBS User Guide, "Amazon
#        EBS General Purpose SSD volumes": "a baseline of 3,000 IOPS and 125 MiB/s"), reads and writes each
#   ssd  a local NVMe instance-store SSD: m5d.large's published 30,000 random-read and 15,000 write IOPS (4 KiB, Amazon EC2
#        User Guide, general purpose instances, "SSD I/O performance"); no byte-rate limit (AWS publishes none; the
#        RAM-backed loop device is then the limit)
# The network is the `link` condition's (BENCH_RATE, 1 Gbit/s). Env: BENCH_DISK_GIB (6) sizes the file system.

BENCH_DISK_DIR=''
BENCH_DISK_LOOP=''
BENCH_DISK_MM=''

# disk_limits COND: prints "read_bps write_bps read_iops write_iops" (0 = no limit) for a disk condition; fails otherwise
disk_limits() {
  case $1 in
    gp3) echo "131072000 131072000 3000 3000" ;;
    ssd) echo "0 0 30000 15000" ;;
    *) return 1 ;;
  esac
}

# disk_throttle MAJ:MIN READ_BPS WRITE_BPS READ_IOPS WRITE_IOPS: the root blkio group's limits for one device (0 clears)
disk_throttle() {
  local mm=$1 f=/sys/fs/cgroup/blkio/blkio.throttle
  echo "$mm $2" >"$f.read_bps_device" && echo "$mm $3" >"$f.write_bps_device" &&
    echo "$mm $4" >"$f.read_iops_device" && echo "$mm $5" >"$f.write_iops_device"
}

# disk_setup COND: for a disk condition, a fresh throttled file system under containerd's and SOCI's roots (before the
# user data is applied and the daemons start); nothing for other conditions. Fails if any step fails.
disk_setup() {
  local limits d
  limits=$(disk_limits "$1") || return 0
  [[ -w /sys/fs/cgroup/blkio/blkio.throttle.write_bps_device ]] || { log "no cgroup v1 blkio throttle here: cannot emulate disks"; return 1; }
  BENCH_DISK_DIR=$WORK/bench-disk
  mkdir -p "$BENCH_DISK_DIR"
  mount -t tmpfs -o "size=$((${BENCH_DISK_GIB:-6} + 1))G,mode=0700" soci-eks-bench-disk "$BENCH_DISK_DIR" || return 1
  truncate -s "${BENCH_DISK_GIB:-6}G" "$BENCH_DISK_DIR/disk.img" || return 1
  BENCH_DISK_LOOP=$(losetup -f --show "$BENCH_DISK_DIR/disk.img") || return 1
  BENCH_DISK_MM=$(lsblk -dno MAJ:MIN "$BENCH_DISK_LOOP" | tr -d ' ')
  mkfs.xfs -q -f "$BENCH_DISK_LOOP" || return 1
  mkdir -p "$BENCH_DISK_DIR/mnt"
  mount "$BENCH_DISK_LOOP" "$BENCH_DISK_DIR/mnt" || return 1
  for d in containerd soci-snapshotter-grpc; do
    mkdir -p "$BENCH_DISK_DIR/mnt/$d"
    mount --bind "$BENCH_DISK_DIR/mnt/$d" "/var/lib/$d" || return 1
  done
  # shellcheck disable=SC2086 # four numbers
  disk_throttle "$BENCH_DISK_MM" $limits
}

# teardown_bench_disk: undoes disk_setup (also from the lab's EXIT trap); safe to call when nothing is set up
teardown_bench_disk() {
  local d
  [[ -n $BENCH_DISK_DIR ]] || return 0
  [[ -n $BENCH_DISK_MM ]] && disk_throttle "$BENCH_DISK_MM" 0 0 0 0 2>/dev/null
  for d in containerd soci-snapshotter-grpc; do
    if findmnt -rno SOURCE "/var/lib/$d" 2>/dev/null | grep -q "${BENCH_DISK_LOOP:-/nonexistent}"; then umount "/var/lib/$d" || umount -l "/var/lib/$d"; fi
  done
  mountpoint -q "$BENCH_DISK_DIR/mnt" && { umount "$BENCH_DISK_DIR/mnt" || umount -l "$BENCH_DISK_DIR/mnt"; }
  [[ -n $BENCH_DISK_LOOP ]] && losetup -d "$BENCH_DISK_LOOP"
  mountpoint -q "$BENCH_DISK_DIR" && umount "$BENCH_DISK_DIR"
  BENCH_DISK_DIR='' BENCH_DISK_LOOP='' BENCH_DISK_MM=''
}
