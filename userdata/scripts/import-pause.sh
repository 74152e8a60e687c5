#!/usr/bin/env bash
# soci-eks: imports the AMI's cached pause image into the soci snapshotter.
#
# Run by soci-eks-pause-import.service after containerd starts and before kubelet.
# The AMI caches localhost/kubernetes/pause:latest in overlayfs only; with CRI on the
# soci snapshotter, creating a sandbox would otherwise fetch its layers from a registry
# before any credentials exist (awslabs/amazon-eks-ami#2710). Safe to repeat.
#
# Environment (tests only): SOCI_EKS_ROOT, SOCI_EKS_PAUSE_TAR, CONTAINERD_ADDRESS, SOCI_EKS_CTR.
set -euo pipefail

ROOT="${SOCI_EKS_ROOT:-}"
PAUSE_TAR="${SOCI_EKS_PAUSE_TAR:-${ROOT}/etc/eks/pause.tar}"
ADDRESS="${CONTAINERD_ADDRESS:-/run/containerd/containerd.sock}"
CTR="${SOCI_EKS_CTR:-ctr}"
PAUSE_REF="localhost/kubernetes/pause:latest"

log() {
  echo "soci-eks: $*" >&2
  logger -t soci-eks -- "$*" 2>/dev/null || true
}

ctr_k8s() {
  "${CTR}" --address "${ADDRESS}" --namespace k8s.io "$@"
}

if [[ ! -f "${PAUSE_TAR}" ]]; then
  log "no cached pause image at ${PAUSE_TAR}; kubelet's CRI will pull it through SOCI"
  exit 0
fi

# containerd reports the soci proxy plugin once the snapshotter socket answers.
for attempt in $(seq 1 60); do
  if ctr_k8s plugins ls 2>/dev/null | awk '$2 == "soci" && $NF == "ok" { found = 1 } END { exit !found }'; then
    break
  fi
  if ((attempt == 60)); then
    log "ERROR: containerd's soci snapshotter plugin is not ok after 60s; see journalctl -u soci-snapshotter"
    exit 1
  fi
  sleep 1
done

for attempt in 1 2 3; do
  if ctr_k8s images import --snapshotter soci --discard-unpacked-layers=false --local "${PAUSE_TAR}" >&2; then
    break
  fi
  if ((attempt == 3)); then
    log "ERROR: could not import ${PAUSE_TAR} into the soci snapshotter"
    exit 1
  fi
  log "import attempt ${attempt} failed; retrying"
  sleep 2
done
ctr_k8s images label "${PAUSE_REF}" io.cri-containerd.pinned=pinned >/dev/null ||
  log "WARNING: could not label ${PAUSE_REF} as pinned"
log "imported ${PAUSE_TAR} into the soci snapshotter"
