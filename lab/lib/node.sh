#!/usr/bin/env bash
# The "node" half of lab/run.sh. Runs inside the lab's network namespace and a private
# mount namespace (started by run.sh with nsenter + unshare -m); never run it directly.
# Usage: node.sh WORK_DIR
set -euo pipefail

WORK=$1
LAB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
REPO_DIR=$(cd "$LAB_DIR/.." && pwd)
BIN=$LAB_DIR/.bin
CACHE=$LAB_DIR/.cache
MODE=${LAB_MODE:-lazy}
LOGS=$WORK/logs
mkdir -p "$LOGS" "$CACHE"
export PATH=$BIN:/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

REGISTRY=127.0.0.1:5000       # the registry itself
PULL_REGISTRY=127.0.0.1:5001  # countproxy in front of it: counts bytes served to the node
MIRROR_PORT=8089
IMDS_PORT=1338
CTR_SOCK=/run/containerd/containerd.sock

PASSED=0
FAILED=0
SKIPPED=0
pass() { PASSED=$((PASSED + 1)); printf 'PASS %s\n' "$*"; }
fail() { FAILED=$((FAILED + 1)); printf 'FAIL %s\n' "$*"; }
skip() { SKIPPED=$((SKIPPED + 1)); printf 'SKIP %s\n' "$*"; }
log() { printf '[node %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
# check NAME CMD...: PASS/FAIL on CMD's exit status.
check() { local name=$1; shift; if "$@"; then pass "$name"; else fail "$name"; fi; }

PIDS=()
cleanup() {
  local rc=$? p
  trap - EXIT
  stop_node || true
  if declare -F teardown_disks >/dev/null; then teardown_disks || true; fi
  if declare -F teardown_bench_disk >/dev/null; then teardown_bench_disk || true; fi
  for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  sleep 0.5
  for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
  exit "$rc"
}
trap cleanup EXIT

wait_for() { # SECONDS DESC CMD...
  local t=$1 desc=$2 i
  shift 2
  for ((i = 0; i < t * 10; i++)); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.1
  done
  log "timed out after ${t}s waiting for $desc"
  return 1
}

# The lab's stages, one file each (sourced here; each defines functions only):
# shellcheck source=lab/lib/machine.sh
. "$LAB_DIR/lib/machine.sh"
# shellcheck source=lab/lib/boot.sh
. "$LAB_DIR/lib/boot.sh"
# shellcheck source=lab/lib/pull.sh
. "$LAB_DIR/lib/pull.sh"
# shellcheck source=lab/lib/trials.sh
. "$LAB_DIR/lib/trials.sh"


# shellcheck source=lab/lib/gc-pressure.sh
. "$LAB_DIR/lib/gc-pressure.sh"
if [[ ${LAB_ACTION:-lab} == bench ]]; then
  # shellcheck source=lab/lib/bench-node.sh
  . "$LAB_DIR/lib/bench-node.sh"
  exit 0
fi
# shellcheck source=lab/lib/store-gc.sh
. "$LAB_DIR/lib/store-gc.sh"
# shellcheck source=lab/lib/local-disks.sh
[[ ${LAB_ACTION:-lab} == ssd ]] && . "$LAB_DIR/lib/local-disks.sh"
if [[ ${LAB_ACTION:-lab} == gc-pressure || ${LAB_ACTION:-lab} == store-gc || ${LAB_ACTION:-lab} == ssd ]]; then
  # One section alone (lab/gc-pressure.sh: LAB_GC_RUNS, LAB_SOCI_CONTENT_STORE=containerd; LAB_ACTION=store-gc).
  setup_fs
  start_services
  pack_release
  build_images
  MIME=$WORK/userdata.mime
  render_userdata "$MIME"
  if [[ $LAB_ACTION == gc-pressure ]]; then
    gc_pressure_section || fail "gc-pressure section stopped early (exit $?; see $LOGS)"
  elif [[ $LAB_ACTION == ssd ]]; then
    ssd_section || fail "ssd section stopped early (exit $?; see $LOGS)"
  else
    store_gc_section || fail "store-gc section stopped early (exit $?; see $LOGS)"
  fi
  echo "$PASSED passed, $FAILED failed, $SKIPPED skipped (a skip is not a pass)${FAULTS_NODEADM_LABEL:+; fault boots: nodeadm: $FAULTS_NODEADM_LABEL}"
  ((FAILED == 0))
  exit
fi

# ================================================================ main ===
setup_fs
start_services
pack_release
t0=$SECONDS
build_images
log "images built and pushed in $((SECONDS - t0))s"

# shellcheck source=lab/lib/faults.sh
. "$LAB_DIR/lib/faults.sh"
if [[ ${LAB_ACTION:-lab} == karpenter ]]; then # only the boot from Karpenter's own merge of our user data
  # shellcheck source=lab/lib/karpenter-merge.sh
  . "$LAB_DIR/lib/karpenter-merge.sh"
  karpenter_section || fail "karpenter section stopped early (exit $?; see $LOGS)"
  echo "$PASSED passed, $FAILED failed, $SKIPPED skipped (a skip is not a pass)"
  ((FAILED == 0))
  exit
fi
if [[ ${LAB_ACTION:-lab} == faults ]]; then # only the fault-injection boots (issue 12)
  faults_section || fail "faults section stopped early (exit $?; see $WORK/faults)"
  echo "$PASSED passed, $FAILED failed, $SKIPPED skipped (a skip is not a pass)${FAULTS_NODEADM_LABEL:+; fault boots: nodeadm: $FAULTS_NODEADM_LABEL}"
  ((FAILED == 0))
  exit
fi

boot_section
if [[ ${LAB_ACTION:-lab} == negative ]]; then # the main boot (the trials mutate its user data), then only the negative trials
  stop_node
  negative_section
  echo "$PASSED passed, $FAILED failed, $SKIPPED skipped (a skip is not a pass)"
  ((FAILED == 0))
  exit
fi

# The SociIndexBuilder Job's script, on this node (issues 5, 19, 21).
# shellcheck source=lab/lib/index-builder.sh
. "$LAB_DIR/lib/index-builder.sh"
if [[ ${LAB_ACTION:-lab} == index-builder ]]; then # the boot, then only the index builder (LAB_ACTION=index-builder)
  crictl_init
  index_builder_section || fail "index builder section stopped early (exit $?; see $LOGS)"
  stop_node
  echo "$PASSED passed, $FAILED failed, $SKIPPED skipped (a skip is not a pass)"
  ((FAILED == 0))
  exit
fi

pull_section

if [[ ${LAB_ACTION:-lab} == boot ]]; then # only the main node's boot checks and its pulls
  echo "$PASSED passed, $FAILED failed, $SKIPPED skipped (a skip is not a pass)"
  ((FAILED == 0))
  exit
fi

index_builder_section || fail "index builder section stopped early (exit $?; see $LOGS)"

stop_node

# ---------------------------------------------------------------- GC pressure (issue 11) ---
# Cold lazy pulls while containerd's GC runs as often as it can: none may degrade.
if [[ ${LAB_SKIP_GC:-0} == 1 ]]; then
  skip "gc-pressure section: LAB_SKIP_GC=1"
else
  gc_pressure_section || fail "gc-pressure section stopped early (exit $?; see $LOGS)"
fi
# SOCI's own store and our cleanup of it (issue 11).
store_gc_section || fail "store-gc section stopped early (exit $?; see $LOGS)"

# ---------------------------------------------------------------- negative checks ---
# Each variant mutates the rendered NodeConfig, re-applies the user data on a wiped node
# and expects the lab's own checks to catch it (lib/trials.sh).
negative_section

# ---------------------------------------------------------------- parallel mode ---
parallel_section

# ---------------------------------------------------------------- ssd (issue 4) ---
# Instance-store array on loop devices + xfs, bind-mounted after our installer ran.
# shellcheck source=lab/lib/local-disks.sh
. "$LAB_DIR/lib/local-disks.sh"
if [[ ${LAB_SKIP_SSD:-0} == 1 ]]; then
  skip "ssd section: LAB_SKIP_SSD=1"
else
  ssd_section || fail "ssd section stopped early (exit $?; see $LOGS)"
fi

# ---------------------------------------------------------------- experiments (INFO only) ---
experiments_section

# ---------------------------------------------------------------- Karpenter's merge (issue 14) ---
# shellcheck source=lab/lib/karpenter-merge.sh
. "$LAB_DIR/lib/karpenter-merge.sh"
if [[ ${LAB_SKIP_KARPENTER:-0} == 1 ]]; then skip "karpenter section: LAB_SKIP_KARPENTER=1"; else karpenter_section || fail "karpenter section stopped early (exit $?; see $LOGS)"; fi

# ---------------------------------------------------------------- faults (issue 12) ---
# Fresh nodes booted with today's nodeadm, one injected fault each (lib/faults.sh); skip with LAB_SKIP_FAULTS=1.
if [[ ${LAB_SKIP_FAULTS:-0} == 1 ]]; then
  skip "faults section: LAB_SKIP_FAULTS=1"
else
  faults_section || fail "faults section stopped early (exit $?; see $WORK/faults)"
fi

echo "$PASSED passed, $FAILED failed, $SKIPPED skipped (a skip is not a pass)${FAULTS_NODEADM_LABEL:+; fault boots: nodeadm: $FAULTS_NODEADM_LABEL}"
((FAILED == 0))
