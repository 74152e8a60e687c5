#!/usr/bin/env bash
# The lab's stand-in for nodeadm's setup-local-disks (amazon-eks-ami
# templates/al2023/runtime/bin/setup-local-disks, run by nodeadm-run for
# NodeConfig instance.localStorage), following its documented steps on real block devices:
#
#   1. find the instance-store disks: symlinks named *NVMe_Instance_Storage_* in the by-id dir;
#      none found -> print "no NVMe instance storage disks found!" and exit 0 (as nodeadm does);
#   2. raid0: mdadm --create /dev/md/kubernetes --level=0 over all of them;
#   3. format xfs (mkfs.xfs -K -l su=8b) unless the device already has a filesystem;
#   4. mount it at <dir>/0 with noatime;
#   5. for /var/lib/kubelet, /var/lib/containerd, /var/lib/soci-snapshotter-grpc and
#      /var/log/pods (minus the --no-bind-* ones): cp -a the existing contents to <dir>/0/<name>
#      and bind-mount that over the directory.
#
# Differences from the real script, on purpose: it does not write systemd .mount units and does
# not stop/start kubelet, containerd or soci-snapshotter itself (no systemd in the lab: the
# caller stops the daemons before and starts them after, as the real script does with
# systemctl). With --no-md (kernels without the md driver) step 2 is skipped and the single
# disk is formatted and mounted as the array; the caller reports that as a SKIP.
#
# Usage: setup-local-disks-sim.sh raid0 --by-id DIR [--dir /mnt/k8s-disks] [--no-md]
#          [--no-bind-containerd] [--no-bind-pods-logs] [--no-bind-soci]
set -euo pipefail

log() { echo "setup-local-disks-sim: $*" >&2; }

STRATEGY=${1:-}
shift || true
BY_ID=/dev/disk/by-id
MNT_DIR=/mnt/k8s-disks
NO_MD=0
BIND_CONTAINERD=1
BIND_POD_LOGS=1
BIND_SOCI=1
while (($#)); do
  case $1 in
    --by-id) BY_ID=$2; shift 2 ;;
    --dir) MNT_DIR=$2; shift 2 ;;
    --no-md) NO_MD=1; shift ;;
    --no-bind-containerd) BIND_CONTAINERD=0; shift ;;
    --no-bind-pods-logs) BIND_POD_LOGS=0; shift ;;
    --no-bind-soci) BIND_SOCI=0; shift ;;
    *) log "unknown argument $1"; exit 2 ;;
  esac
done
[[ $STRATEGY == raid0 ]] || { log "only raid0 is simulated (got '$STRATEGY')"; exit 2; }

mapfile -t links < <(find -L "$BY_ID" -xtype l -name '*NVMe_Instance_Storage_*' 2>/dev/null | sort)
if ((${#links[@]} == 0)); then
  echo "no NVMe instance storage disks found!"
  exit 0
fi
mapfile -t disks < <(realpath "${links[@]}" | sort -u)
log "instance-store disks: ${disks[*]}"

if ((NO_MD)); then
  ((${#disks[@]} == 1)) || { log "--no-md needs exactly one disk (got ${#disks[@]})"; exit 2; }
  device=${disks[0]}
  log "no md driver: using ${device} itself as the array"
else
  device=/dev/md/kubernetes
  mdadm --create --force --verbose "$device" --level=0 --name=kubernetes --raid-devices="${#disks[@]}" "${disks[@]}"
fi

if [[ -z $(blkid -s TYPE -o value "$device" 2>/dev/null || true) ]]; then
  mkfs.xfs -K -l su=8b "$device"
fi
array=$MNT_DIR/0
mkdir -p "$array"
mount -o defaults,noatime "$device" "$array"
log "mounted $device ($(blkid -s TYPE -o value "$device")) at $array"

targets=(/var/lib/kubelet)
((BIND_CONTAINERD)) && targets+=(/var/lib/containerd)
((BIND_SOCI)) && targets+=(/var/lib/soci-snapshotter-grpc)
((BIND_POD_LOGS)) && targets+=(/var/log/pods)
for dir in "${targets[@]}"; do
  name=$(basename "$dir")
  mkdir -p "$dir"
  log "copying $dir/ to $array/$name/"
  cp -a "$dir/" "$array/$name/"
  mount --bind "$array/$name" "$dir"
done
echo "Successfully setup RAID-0 consisting of ${disks[*]}"
