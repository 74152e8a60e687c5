#!/usr/bin/env bash
# The lab's ssd section (issue 4), sourced by lab/lib/node.sh after its main checks.
#
# On an AL2023 ssd node the order is: cloud-init runs our installer and units write SOCI's and
# containerd's state on the root volume (pause image imported); then nodeadm-run's
# setup-local-disks builds the RAID0 array, stops the daemons, copies /var/lib/{kubelet,
# containerd,soci-snapshotter-grpc} and /var/log/pods onto it, bind-mounts them and restarts
# the daemons; then kubelet starts, after our ExecStartPre check. This section replays that
# order on real software: loop devices as the NVMe disks, mdadm (when the kernel has md), a
# real xfs, real bind mounts, then containerd + soci-snapshotter-grpc and a lazy pull + run.
# It also shows that a missing or unformattable disk fails loudly.
#
# Needs from node.sh: pass fail skip check log render_userdata apply_userdata start_node stop_node
# import_pause crictl_init lazy_run_checks wipe_node_state, $WORK $LOGS $BIN $MODE
# $PULL_REGISTRY $SIM_JSON.

SSD_ARRAY_ROOT=/mnt/k8s-disks
SSD_LOOPS=()

# make_disks N SIZE: N sparse files as loop devices, linked in a fresh $WORK/by-id-* dir the way udev names
# EC2 instance-store disks. Sets BYID to that dir. (Not run in a $(...) subshell: SSD_LOOPS must
# reach teardown_disks, or the loop devices stay attached after the lab.)
make_disks() {
  local n=$1 size=$2 i dev
  BYID=$WORK/by-id-$RANDOM
  mkdir -p "$BYID"
  for ((i = 1; i <= n; i++)); do
    truncate -s "$size" "$BYID.disk$i.img"
    dev=$(losetup --find --show "$BYID.disk$i.img")
    SSD_LOOPS+=("$dev")
    ln -s "$dev" "$BYID/nvme-Amazon_EC2_NVMe_Instance_Storage_AWSLAB$i"
  done
}

# Undoes the array: every mount made since the stand-in ran (newest first), md, loop devices.
# The mounts that existed before are listed (id, root, mount point), not marked by the highest mount id: the kernel
# hands out the lowest free id, so after other sections freed mounts (FUSE layers, overlays) new ones can get lower ids.
SSD_MOUNTS_BEFORE=''
mount_list() { awk '{print $1, $4, $5}' /proc/self/mountinfo; }
teardown_disks() {
  local m d
  if [[ -n $SSD_MOUNTS_BEFORE && -f $SSD_MOUNTS_BEFORE ]]; then # the stand-in ran: undo its mounts
    mount_list | awk 'NR == FNR { before[$0] = 1; next } !($0 in before) { print $3 }' "$SSD_MOUNTS_BEFORE" - | tac |
      while read -r m; do umount "$m" 2>/dev/null || umount -l "$m" || true; done
  fi
  [[ -e /dev/md/kubernetes ]] && { mdadm --stop /dev/md/kubernetes >/dev/null 2>&1 || true; }
  for d in "${SSD_LOOPS[@]}"; do losetup -d "$d" 2>/dev/null || true; done
  SSD_LOOPS=()
  rm -rf "${SSD_ARRAY_ROOT:?}"/*
  SSD_MOUNTS_BEFORE=''
}

# The NodeConfig's localStorage, turned into setup-local-disks flags the way nodeadm does
# (disabledMounts Containerd/PodLogs/SOCI -> --no-bind-*). Prints the strategy, then flags.
local_storage_flags() {
  python3 - "$WORK/ud-$1/merged-nodeconfig.yaml" <<'PY'
import sys, yaml
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
ls = {}
for d in docs:
    ls.update(((d.get("spec") or {}).get("instance") or {}).get("localStorage") or {})
flags = {"Containerd": "--no-bind-containerd", "PodLogs": "--no-bind-pods-logs", "SOCI": "--no-bind-soci"}
print(" ".join([ls.get("strategy", "none").lower()] + [flags[m] for m in ls.get("disabledMounts", [])]))
PY
}

# kubelet's ExecStartPre from our drop-in, run as systemd would before kubelet.
run_kubelet_check() { # NAME
  local cmd
  cmd=$(sed -n 's/^ExecStartPre=//p' /etc/systemd/system/kubelet.service.d/10-soci-eks-local-storage.conf | head -n 1)
  [[ -n $cmd ]] || { echo "no ExecStartPre in the kubelet drop-in" >"$LOGS/kubelet-check-$1.log"; return 1; }
  $cmd >"$LOGS/kubelet-check-$1.log" 2>&1
}

on_array() { [[ $(stat -c %d "$1") == "$(stat -c %d "$SSD_ARRAY_ROOT/0")" ]]; }
fs_of() { findmnt -n -o SOURCE,FSTYPE -T "$1" | tail -n 1 | tr -s ' '; }
# What kubelet's namespace holds: images ready (all content present, unpacked into soci) and soci's snapshots.
# (Not raw blobs: ctr import's own temporary index blob is garbage-collected on the next start.)
node_images() {
  ctr --address "$CTR_SOCK" --namespace k8s.io images check --snapshotter soci 2>/dev/null | awk 'NR > 1 {print $1, $3, $4, $NF}' | sort
  ctr --address "$CTR_SOCK" --namespace k8s.io snapshots --snapshotter soci ls 2>/dev/null | awk 'NR > 1 {print "snapshot", $1, $NF}' | sort
}

# ssd_boot NAME FLAGS BYID: fresh node state; user data rendered with FLAGS and applied
# (installer runs), daemons started and pause imported on the root volume; then the
# setup-local-disks stand-in runs with the NodeConfig's flags, and the daemons restart.
# Sets SSD_SIM_RC; logs in $LOGS/setup-local-disks-NAME.log.
ssd_boot() {
  local name=$1 flags=$2 byid=$3 mime=$WORK/userdata-$1.mime storage md_flag=()
  wipe_node_state
  LAB_USERDATA_FLAGS=$flags render_userdata "$mime"
  apply_userdata "$mime" "$name" || return 1
  start_node "$name-root" || return 1
  import_pause "$name-root" || return 1
  STATE_BEFORE=$(node_images)
  stop_node
  read -r -a storage <<<"$(local_storage_flags "$name")"
  [[ ${storage[0]} == raid0 ]] || { log "NodeConfig asks for localStorage '${storage[0]}', not raid0"; return 1; }
  [[ -e /proc/mdstat ]] || md_flag=(--no-md)
  SSD_SIM_RC=0
  SSD_MOUNTS_BEFORE=$WORK/ssd-mounts-before
  mount_list >"$SSD_MOUNTS_BEFORE"
  bash "$LAB_DIR/lib/setup-local-disks-sim.sh" raid0 --by-id "$byid" --dir "$SSD_ARRAY_ROOT" "${md_flag[@]}" "${storage[@]:1}" \
    >"$LOGS/setup-local-disks-$name.log" 2>&1 || SSD_SIM_RC=$?
  return 0
}

ssd_section() {
  local ndisks size used0 used1
  log "ssd section: instance-store array on loop devices"
  if [[ ! -e /dev/loop-control ]] || ! { grep -qw xfs /proc/filesystems || modprobe xfs 2>/dev/null; }; then
    skip "ssd section: this machine has no loop devices (/dev/loop-control) or no xfs in the kernel; nothing of it ran"
    return 0
  fi
  # /var/log is the host's: give the node a private one for /var/log/pods.
  mount -t tmpfs -o mode=0755 lab-varlog /var/log
  local saved_pod_log_dir=$POD_LOG_DIR
  POD_LOG_DIR=/var/log/pods
  mkdir -p "$SSD_ARRAY_ROOT"
  if [[ -e /proc/mdstat ]]; then
    ndisks=2 size=320M
  else
    ndisks=1 size=512M
    skip "ssd: mdadm RAID0 assembly: this kernel has no md driver (no /proc/mdstat; mdadm --create fails), so the 'array' is one xfs-formatted loop device; everything after the array is built is checked for real"
  fi

  # ---- the real order: installer + pause import on the root volume, then the array + binds
  make_disks "$ndisks" "$size"
  if ! ssd_boot ssd "--ssd" "$BYID"; then
    fail "ssd: could not boot the node before the disk setup (see $LOGS)"
    teardown_disks
    return
  fi
  if ((SSD_SIM_RC == 0)) && mountpoint -q "$SSD_ARRAY_ROOT/0"; then
    pass "ssd: setup-local-disks stand-in built the array after our installer ran: $(fs_of "$SSD_ARRAY_ROOT/0") at $SSD_ARRAY_ROOT/0, $(grep -c '^setup-local-disks-sim: copying' "$LOGS/setup-local-disks-ssd.log") directories copied and bind-mounted"
  else
    fail "ssd: setup-local-disks stand-in failed (exit $SSD_SIM_RC): $(tail -n 2 "$LOGS/setup-local-disks-ssd.log" | tr '\n' ' ')"
  fi
  if run_kubelet_check ssd; then
    pass "ssd: kubelet's ExecStartPre check (verify-local-storage.sh) passes: $(tail -n 1 "$LOGS/kubelet-check-ssd.log")"
  else
    fail "ssd: kubelet's ExecStartPre check fails on a good array: $(tail -n 2 "$LOGS/kubelet-check-ssd.log" | tr '\n' ' ')"
  fi
  local not_on=() d
  for d in /var/lib/containerd /var/lib/soci-snapshotter-grpc /var/lib/kubelet /var/log/pods; do on_array "$d" || not_on+=("$d"); done
  check "ssd: containerd, SOCI, kubelet and pod-log directories are on the array${not_on[*]:+; not: ${not_on[*]}}" test ${#not_on[@]} -eq 0
  check "ssd: our installed files are not hidden by the bind mounts (/usr/local/bin/soci-snapshotter-grpc, /etc/soci-snapshotter-grpc/config.toml, /var/lib/soci-eks/installed-release)" \
    test -x /usr/local/bin/soci-snapshotter-grpc -a -f /etc/soci-snapshotter-grpc/config.toml -a -f /var/lib/soci-eks/installed-release
  if start_node ssd-array; then
    pass "ssd: soci-snapshotter-grpc and containerd restart with their state on the array (SOCI root on $(fs_of /var/lib/soci-snapshotter-grpc))"
  else
    fail "ssd: daemons did not restart on the array (see $LOGS/soci-ssd-array.log, containerd-ssd-array.log)"
  fi
  local state_after lost
  state_after=$(node_images)
  lost=$(comm -23 <(echo "$STATE_BEFORE") <(echo "$state_after") | tr '\n' ';')
  check "ssd: what containerd held before the array (the imported pause image: $(echo "$STATE_BEFORE" | grep -v '^snapshot' | tr '\n' ' ')and $(grep -c '^snapshot' <<<"$STATE_BEFORE") soci snapshots) is there after the copy${lost:+; lost: $lost}" \
    test -n "$STATE_BEFORE" -a -z "$lost"
  crictl_init
  used0=$(df --output=used -B1 "$SSD_ARRAY_ROOT/0" | tail -n 1 | tr -d ' ')
  # No pause import here: the sandbox must use the pause image imported before the array existed.
  lazy_run_checks "ssd: on the array, with the pause image from before the array" "$PULL_REGISTRY/lab/small:v1-soci" ssd
  used1=$(df --output=used -B1 "$SSD_ARRAY_ROOT/0" | tail -n 1 | tr -d ' ')
  local fuse_under
  fuse_under=$(awk '$3 == "fuse.rawBridge" && index($2, "/var/lib/soci-snapshotter-grpc/") == 1' /proc/mounts | wc -l)
  check "ssd: SOCI lazy-loads from the array: $fuse_under FUSE mounts under the bind-mounted /var/lib/soci-snapshotter-grpc; array usage grew $(((used1 - used0) / 1024)) KiB" \
    test "$fuse_under" -gt 0 -a "$used1" -gt "$used0"
  stop_node
  teardown_disks

  # ---- keepSociOnRootVolume: NodeConfig disabledMounts [SOCI] -> --no-bind-soci
  make_disks "$ndisks" "$size"
  if ssd_boot ssd-keep "--ssd --keep-soci-on-root-volume" "$BYID" && ((SSD_SIM_RC == 0)); then
    local flags
    flags=$(local_storage_flags ssd-keep)
    if run_kubelet_check ssd-keep && on_array /var/lib/containerd && ! on_array /var/lib/soci-snapshotter-grpc; then
      pass "ssd keepSociOnRootVolume: NodeConfig gives setup-local-disks '$flags'; containerd is on the array, SOCI stays on the root volume, and the kubelet check passes"
    else
      fail "ssd keepSociOnRootVolume: flags '$flags'; check: $(tail -n 1 "$LOGS/kubelet-check-ssd-keep.log"); containerd on array: $(on_array /var/lib/containerd && echo yes || echo no); SOCI on array: $(on_array /var/lib/soci-snapshotter-grpc && echo yes || echo no)"
    fi
  else
    fail "ssd keepSociOnRootVolume: could not set up (exit ${SSD_SIM_RC:-?}; see $LOGS/setup-local-disks-ssd-keep.log)"
  fi
  teardown_disks

  # ---- no instance-store disk: nodeadm goes on; our check must stop kubelet, loudly
  BYID=$WORK/by-id-empty
  mkdir -p "$BYID"
  if ssd_boot ssd-nodisk "--ssd" "$BYID"; then
    local sim_out check_rc=0
    sim_out=$(tail -n 1 "$LOGS/setup-local-disks-ssd-nodisk.log")
    run_kubelet_check ssd-nodisk || check_rc=$?
    if ((SSD_SIM_RC == 0 && check_rc != 0)) && grep -q "soci-eks: ERROR: .*nothing is mounted at $SSD_ARRAY_ROOT/0" "$LOGS/kubelet-check-ssd-nodisk.log"; then
      pass "ssd negative no-disk: setup-local-disks says '$sim_out' and exits 0; our kubelet check exits $check_rc: $(head -n 1 "$LOGS/kubelet-check-ssd-nodisk.log" | cut -c1-220)"
    else
      fail "ssd negative no-disk: setup-local-disks exit $SSD_SIM_RC ('$sim_out'); kubelet check exit $check_rc: $(head -n 1 "$LOGS/kubelet-check-ssd-nodisk.log")"
    fi
  else
    fail "ssd negative no-disk: could not boot the node"
  fi
  teardown_disks

  # ---- a disk xfs cannot format (too small): setup-local-disks fails, and so does our check
  make_disks 1 64M
  if ssd_boot ssd-badisk "--ssd" "$BYID"; then
    local check_rc=0
    run_kubelet_check ssd-badisk || check_rc=$?
    if ((SSD_SIM_RC != 0 && check_rc != 0)) && grep -q "soci-eks: ERROR" "$LOGS/kubelet-check-ssd-badisk.log"; then
      pass "ssd negative unformattable-disk: setup-local-disks exits $SSD_SIM_RC ('$(grep -m1 -i 'must be larger\|error\|fail' "$LOGS/setup-local-disks-ssd-badisk.log" | cut -c1-120)'); our kubelet check exits $check_rc: $(head -n 1 "$LOGS/kubelet-check-ssd-badisk.log" | cut -c1-160)"
    else
      fail "ssd negative unformattable-disk: setup-local-disks exit $SSD_SIM_RC; kubelet check exit $check_rc: $(head -n 1 "$LOGS/kubelet-check-ssd-badisk.log")"
    fi
  else
    fail "ssd negative unformattable-disk: could not boot the node"
  fi
  teardown_disks
  umount /var/log 2>/dev/null || umount -l /var/log || true
  POD_LOG_DIR=$saved_pod_log_dir
  local left
  left=$(losetup -a | grep -c "$WORK/by-id" || true)
  check "ssd: every loop device the lab attached is detached again ($left left)" test "$left" -eq 0
}
