#!/usr/bin/env bash
# soci-eks: refuses to start kubelet on the root volume when the node group asked for
# instance-store SSDs.
#
# Run as an ExecStartPre of kubelet.service (drop-in 10-soci-eks-local-storage.conf). On
# AL2023, nodeadm-run builds the RAID0 array over the NVMe instance-store disks, mounts it at
# /mnt/k8s-disks/0 and bind-mounts the state directories onto it, then starts kubelet. When it
# finds no instance-store disk it logs "no NVMe instance storage disks found!" and goes on, so
# the node would silently fill its EBS root volume with image data. This check turns that into
# a loud failure: each directory in SOCI_EKS_ARRAY_DIRS must live on the same filesystem as
# the array mount point, and the array must be mounted.
#
# Configuration: /etc/soci-eks/local-storage.env (written by the user data):
#   SOCI_EKS_ARRAY_MOUNT  the array's mount point (nodeadm: <mountPath>/0)
#   SOCI_EKS_ARRAY_DIRS   space-separated directories that must be on the array
#   SOCI_EKS_NO_INSTANCE_STORE  (optional) `root-volume`: one document serves many instance types
#                         (Karpenter); on an instance with no instance-store NVMe disk at all, warn and let
#                         kubelet start with its data on the root volume. Disks that exist without an array
#                         still fail the check. Default: fail.
# Environment (tests only): SOCI_EKS_LOCAL_STORAGE_ENV (path of the env file), SOCI_EKS_DISK_BY_ID
# (the directory udev fills with /dev/disk/by-id links).
# Exit status: 0 when everything is on the array (or, with root-volume, no instance store exists),
# 1 otherwise (kubelet then does not start).
set -euo pipefail

ENV_FILE="${SOCI_EKS_LOCAL_STORAGE_ENV:-/etc/soci-eks/local-storage.env}"
BY_ID="${SOCI_EKS_DISK_BY_ID:-/dev/disk/by-id}"

log() {
  echo "soci-eks: $*" >&2
  logger -t soci-eks -- "$*" 2>/dev/null || true
}

[[ -r "${ENV_FILE}" ]] || { log "ERROR: ${ENV_FILE} is missing" && exit 1; }
# shellcheck source=/dev/null # written by the user data at boot
. "${ENV_FILE}"
ARRAY_MOUNT="${SOCI_EKS_ARRAY_MOUNT:?SOCI_EKS_ARRAY_MOUNT is not set in ${ENV_FILE}}"
read -r -a ARRAY_DIRS <<<"${SOCI_EKS_ARRAY_DIRS:?SOCI_EKS_ARRAY_DIRS is not set in ${ENV_FILE}}"

HINT="setup-local-disks found no NVMe instance-store disk or failed (journalctl -u nodeadm-run)"

# The filesystem a path is on: its device number and, for the log, source and type.
describe() {
  findmnt --noheadings --output SOURCE,FSTYPE --target "$1" 2>/dev/null | head -n 1 | tr -s ' ' || echo "unknown"
}

if [[ "${SOCI_EKS_NO_INSTANCE_STORE:-fail}" == root-volume ]] && ! mountpoint -q "${ARRAY_MOUNT}"; then
  # The names nodeadm's setup-local-disks looks for.
  shopt -s nullglob
  disks=("${BY_ID}"/*NVMe_Instance_Storage_*)
  shopt -u nullglob
  if ((${#disks[@]} == 0)); then
    log "WARNING: this instance type has no NVMe instance-store disk; ${ARRAY_DIRS[*]} stay on the root volume (require karpenter.k8s.aws/instance-local-nvme in the NodePool)"
    exit 0
  fi
fi

if ! mountpoint -q "${ARRAY_MOUNT}"; then
  log "ERROR: ssd: true, but nothing is mounted at ${ARRAY_MOUNT}: ${HINT}. kubelet will not start on the root volume."
  exit 1
fi
array_dev=$(stat -c %d "${ARRAY_MOUNT}")
array_desc=$(describe "${ARRAY_MOUNT}")

failed=0
for dir in "${ARRAY_DIRS[@]}"; do
  if [[ ! -d "${dir}" ]]; then
    log "ERROR: ${dir} does not exist: ${HINT}"
    failed=1
    continue
  fi
  if [[ "$(stat -c %d "${dir}")" != "${array_dev}" ]]; then
    log "ERROR: ${dir} is on $(describe "${dir}"), not on the instance-store array at ${ARRAY_MOUNT} (${array_desc}): ${HINT}"
    failed=1
  fi
done
if ((failed)); then
  log "ERROR: kubelet will not start on the root volume (for SOCI's directory, an AMI that does not bind it needs keepSociOnRootVolume: true)"
  exit 1
fi
log "instance-store array ${ARRAY_MOUNT} (${array_desc}) holds ${ARRAY_DIRS[*]}"
