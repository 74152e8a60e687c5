#!/usr/bin/env bash
# The node lab: proves that our AL2023 user data works on real node software.
#
# It renders the launch template's MIME user data (dist/, the same code the Pulumi
# components use), then, inside a throwaway network namespace and a private mount
# namespace (overlays over /etc, /usr/local, /root, /var/lib and a fresh /run), does what
# nodeadm + cloud-init do on an AL2023 node: writes the cloud-config files, deep-merges the
# NodeConfig containerd snippet into nodeadm's containerd-2 base config, runs our installer
# script against a loopback release mirror, starts soci-snapshotter-grpc 0.16.1 and
# containerd 2.2.4 the way our units do, imports the pause image, and then pulls and runs
# images through CRI via SOCI's socket (kubelet's imageServiceEndpoint) with crictl.
# Finally it checks that deliberately broken configs are caught.
#
# Output: PASS/FAIL/SKIP lines and a last line "N passed, M failed, K skipped"; exit 1 on any failure.
# Usage: lab/run.sh [--keep]     (--keep leaves lab/.work/run-<pid> for inspection)
# Env:   LAB_SKIP_BUILD=1 (use lab/.bin without building; refused if a binary there was built from other sources), LAB_MODE=lazy (user-data mode), LAB_VERBOSE=1
set -euo pipefail

LAB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(cd "$LAB_DIR/.." && pwd)
KEEP=0
[[ ${1:-} == --keep ]] && KEEP=1

log() { printf '[lab %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }

[[ $(id -u) == 0 ]] || { echo "lab/run.sh must run as root (namespaces, mounts, FUSE)" >&2; exit 2; }

if [[ ${LAB_SKIP_BUILD:-0} != 1 ]]; then
  t0=$SECONDS
  "$LAB_DIR/build-tools.sh"
  log "build-tools took $((SECONDS - t0))s"
else
  "$LAB_DIR/build-tools.sh" --check || exit 2
fi
[[ -f $REPO_DIR/dist/userdata/index.js ]] || { echo "dist/ is missing: run npm run build first" >&2; exit 2; }

NS=sociLab-$$
WORK=$LAB_DIR/.work/run-$$
mkdir -p "$WORK"
INNER_PID=

# shellcheck disable=SC2317 # invoked by the EXIT trap
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if [[ -n $INNER_PID ]] && kill -0 "$INNER_PID" 2>/dev/null; then
    kill -TERM "$INNER_PID" 2>/dev/null || true
    sleep 2
    kill -KILL "$INNER_PID" 2>/dev/null || true
  fi
  if ip netns list | grep -qw "$NS"; then
    local pids
    pids=$(ip netns pids "$NS" 2>/dev/null || true)
    if [[ -n $pids ]]; then
      log "killing leftover processes in $NS: $(echo "$pids" | tr '\n' ' ')"
      # shellcheck disable=SC2086 # one pid per word
      kill -KILL $pids 2>/dev/null || true
      sleep 1
    fi
    ip netns del "$NS" || log "WARNING: could not delete netns $NS"
  fi
  # The private mount namespace dies with its last process; nothing is mounted on the host.
  if grep -q " $WORK" /proc/self/mountinfo; then
    log "WARNING: mounts under $WORK are still visible on the host:"
    grep " $WORK" /proc/self/mountinfo >&2 || true
  fi
  if ((KEEP)); then
    log "kept $WORK"
  else
    rm -rf "$WORK" || log "WARNING: could not remove $WORK"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ip netns add "$NS"
ip -n "$NS" link set lo up
log "network namespace $NS; work dir $WORK"

# nsenter (not `ip netns exec`): `ip netns exec` remounts /sys in a new mount namespace
# and runc then finds no cgroup mount (lab-notes.md). unshare -m gives the node its own
# private mount namespace whose mounts vanish with it.
set +e
LAB_ACTION=${LAB_ACTION:-lab} nsenter --net="/var/run/netns/$NS" -- \
  unshare --mount --propagation private --fork -- \
  bash "$LAB_DIR/lib/node.sh" "$WORK" &
INNER_PID=$!
wait "$INNER_PID"
rc=$?
INNER_PID=
set -e
exit "$rc"
