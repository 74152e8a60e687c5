#!/usr/bin/env bash
# soci-eks: installs and checks the SOCI snapshotter on an AL2023 EKS node, at every boot, before
# nodeadm-run starts containerd and kubelet. docs/boot-and-failures.md describes the whole sequence.
#
# The user data's NodeConfig never points containerd or kubelet at SOCI. This script does, and only as
# its last step, once SOCI is installed and serving: it points /etc/eks/nodeadm.d/90-soci-eks.yaml (a
# symlink) at /run/soci-eks/nodeadm.yaml and fills that file with the SOCI wiring; nodeadm-run merges it
# over the user data (drop-ins come last, so they win), re-renders containerd's and kubelet's configs and
# starts them. Until then the file holds what onSociFailure says (written first, so a run that is killed
# or times out leaves the policy's state, never the wiring):
#   fallback  the node joins without SOCI: label soci-eks/degraded=<reason> (and soci-eks/mode=off), taint
#             soci-eks/degraded=<reason>:PreferNoSchedule, marker /run/soci-eks/degraded, journal line;
#   fail      a runtime kubelet drop-in whose ExecStartPre prints the cause and exits 1: the node never
#             joins; marker /run/soci-eks/failed, journal line.
# This boot's state lives in /run (a tmpfs: nothing stale survives a reboot, and a full root volume
# cannot stop it); markers are copied to /var/lib/soci-eks when the disk allows. First boot: the user
# data's shell part runs this (cloud-final). Every later boot: soci-eks-install.service runs it again.
#
# The whole install runs within one deadline (15 min) on every boot: at the deadline the policy applies.
# Steps, each safe to repeat (1 to 5 and the wiring are in al2023-setup-soci.sh, which this script sources from
# the node's files: this one travels beside the archive, so that it runs when the archive is damaged):
#   0. the policy's state for this boot; unbundle the node's files (node-files.gz, checked whole first);
#   1. one document for many instance types (SOCI_EKS_ARCH=auto, SOCI_EKS_TUNING=at-boot): the release
#      architecture from uname -m, SOCI's parallelism from nproc;
#   2. pigz (parallel gunzip), fuse (lazy mode), jq and the ECR credential helper;
#   3. the pinned soci-snapshotter release: downloaded within an overall deadline and a minimum rate,
#      checked against its sha256, installed (skipped when the installed binaries match);
#   4. root's Docker config: the ECR credential helper for this account's registry;
#   5. under systemd: SOCI's socket, containerd and SOCI started, the pause image imported into SOCI:
#      the proof that SOCI serves; then the wiring.
#
# Environment (tests only): SOCI_EKS_ROOT installs into a throwaway root and skips systemd (and so wires
# without starting SOCI); SOCI_EKS_NO_SYSTEMD_OK=1 does the same on a machine without systemd whose caller
# starts and checks SOCI itself (the lab's main node); AWS_EC2_METADATA_SERVICE_ENDPOINT points IMDS at a
# loopback mock; SOCI_EKS_RETRY_BASE_DELAY shortens back-offs; SOCI_EKS_DOWNLOAD_DEADLINE,
# SOCI_EKS_DOWNLOAD_MIN_RATE and SOCI_EKS_DOWNLOAD_SPEED_TIME shorten the download limits, SOCI_EKS_INSTALL_DEADLINE
# and SOCI_EKS_DNF_TIMEOUT the whole install's and each dnf run's; SOCI_EKS_MACHINE,
# SOCI_EKS_NPROC stand in for uname -m and nproc.
set -Eeuo pipefail

ROOT="${SOCI_EKS_ROOT:-}"
LIBEXEC="${ROOT}/usr/local/libexec/soci-eks"
NODE_FILES="${LIBEXEC}/node-files.gz"
ENV_FILE="${ROOT}/etc/soci-eks/install.env"
STATE_DIR="${ROOT}/var/lib/soci-eks"
RUN_DIR="${ROOT}/run/soci-eks"
BOOT_CONFIG="${RUN_DIR}/nodeadm.yaml"
DROPIN="${ROOT}/etc/eks/nodeadm.d/90-soci-eks.yaml"
UNITS="${ROOT}/etc/systemd/system"
HOLD="${ROOT}/run/systemd/system/kubelet.service.d/05-soci-eks-failed.conf"
CTRD_DROPIN="${ROOT}/run/systemd/system/containerd.service.d/10-soci-eks.conf"
POLICY=fallback
# Each reason's cause and fix are in the docs (a table there, not text here: the user data is tight).
FIX="see docs/boot-and-failures.md#reasons (soci-eks)"
SYSTEMD=no
# (SOCI_EKS_NO_SYSTEMD_OK: no systemd, whatever /run holds: our own runtime drop-ins create /run/systemd/system)
[[ -z "${ROOT}" && -d /run/systemd/system && "${SOCI_EKS_NO_SYSTEMD_OK:-}" != 1 ]] && SYSTEMD=yes

log() {
  echo "soci-eks: $*" >&2
  logger -t soci-eks -- "$*" 2>/dev/null || true
}

# put FILE: stdin into FILE atomically; never fails the caller
put() {
  mkdir -p "${1%/*}" 2>/dev/null && cat >"$1.tmp" 2>/dev/null && mv -f "$1.tmp" "$1" 2>/dev/null
  return 0
}

# degraded_config REASON: the drop-in of a node that joins without SOCI. registerWithTaints gets the taints
# nodeadm-config rendered from every NodeConfig of the user data (ours, EKS's, Karpenter's) plus ours: a later
# NodeConfig replaces the list. A --register-with-taints flag (which overrides the list) is extended too.
# No jq (a missing jq is one of the failures this serves): taints hold no spaces, brackets or braces.
degraded_config() {
  local taints flag k="${ROOT}/etc/kubernetes/kubelet"
  # every taint object, one a line, each once (the same text); an earlier soci-eks/degraded taint gives way to this boot's
  taints=$(cat "${k}/config.json" "${k}"/config.json.d/*.conf 2>/dev/null | tr -d ' \t\r\n' | grep -o '"registerWithTaints":\[[^]]*' |
    grep -o '{[^}]*}' | grep -v '"soci-eks/degraded"' | awk '!s[$0]++' | tr '\n' ,) || true
  flag=$(grep -o -- '--register-with-taints=[^ "]*' "${ROOT}/etc/eks/kubelet/environment" 2>/dev/null | tail -n 1) || flag=""
  printf '%s\n' "apiVersion: node.eks.aws/v1alpha1" "kind: NodeConfig" "spec:" "  featureGates: {FastImagePull: false}" "  kubelet:" \
    "    flags: [\"--node-labels=soci-eks/degraded=$1,soci-eks/mode=off\"${flag:+, \"${flag},soci-eks/degraded=$1:PreferNoSchedule\"}]" \
    "    config: {registerWithTaints: [${taints}{key: soci-eks/degraded, value: $1, effect: PreferNoSchedule}]}"
}

# apply_policy REASON MESSAGE: this boot's state as onSociFailure says (safe to repeat). The drop-in is a
# symlink to /run: it takes no data blocks (a full disk allows it) and holds for one boot only.
apply_policy() {
  { mkdir -p "${DROPIN%/*}" && ln -sfn "${BOOT_CONFIG}" "${DROPIN}"; } 2>/dev/null || log "WARNING: cannot link ${DROPIN}"
  rm -f "${CTRD_DROPIN}" "${RUN_DIR}/degraded" "${RUN_DIR}/failed" "${HOLD}"
  printf 'reason=%s\npolicy=%s\nmessage=%s\nfix=%s\n' "$1" "${POLICY}" "$2" "${FIX}" | put "${RUN_DIR}/${MARKER}"
  if [[ "${POLICY}" == fail ]]; then
    printf '%s\n' "apiVersion: node.eks.aws/v1alpha1" "kind: NodeConfig" "spec: {}" | put "${BOOT_CONFIG}"
    printf '%s\n' "[Service]" "ExecStartPre=/bin/sh -c 'cat /run/soci-eks/failed >&2; exit 1'" | put "${HOLD}"
  else
    degraded_config "$1" | put "${BOOT_CONFIG}"
  fi
  [[ "${SYSTEMD}" == no ]] || systemctl daemon-reload || true
}

# soci_failed REASON MESSAGE: applies the policy, stops SOCI, logs, exits (fail: 1). REASON is a label value.
soci_failed() {
  trap - ERR
  set +e
  apply_policy "$@"
  # containerd must not wait for SOCI (nodeadm's FastImagePull drop-in either)
  rm -f "${UNITS}/containerd.service.d/10-soci-snapshotter.conf" "${STATE_DIR}/degraded" "${STATE_DIR}/failed"
  [[ "${SYSTEMD}" == no ]] || systemctl disable --now soci-snapshotter.socket soci-snapshotter.service
  # Copies on disk for the next boots; not on a (nearly) full root volume, where nodeadm-run needs the little
  # that is left to rewrite kubelet's and containerd's configs.
  if (($(df --output=avail -B1 "${ROOT}/etc/" 2>/dev/null | tail -n 1) < 1048576)); then
    log "WARNING: the root volume is (nearly) full: the marker is in /run/soci-eks only"
  else
    mkdir -p "${STATE_DIR}"
    cp "${RUN_DIR}/${MARKER}" "${STATE_DIR}/" || log "WARNING: no copy of the marker in ${STATE_DIR}"
    # Files that never unpacked bring no soci-eks-install.service to redo this at the next boot: the fallback's
    # drop-in goes on disk (if that fails, the link stays, good for this boot).
    if [[ "${POLICY}" == fallback && ! -f "${UNITS}/soci-eks-install.service" ]]; then
      { cp "${BOOT_CONFIG}" "${DROPIN}.tmp" && mv -f "${DROPIN}.tmp" "${DROPIN}"; } || rm -f "${DROPIN}.tmp"
    fi
  fi
  if [[ "${POLICY}" == fail ]]; then
    log "FAILED (onSociFailure=fail): $1: $2. kubelet will not start; the node never joins. Fix: ${FIX}"
    exit 1
  fi
  log "DEGRADED (onSociFailure=fallback): $1: $2. The node joins without SOCI, labelled soci-eks/degraded=$1. Fix: ${FIX}"
  exit 0
}

# on_err LINE COMMAND: an unexpected failure anywhere (set -E: in functions too); in a command substitution's
# subshell only the caller decides.
on_err() {
  [[ "${BASHPID}" == "$$" ]] || return 0
  soci_failed installer-error "line $1: $2 failed"
}
trap 'on_err "${LINENO}" "${BASH_COMMAND}"' ERR

# --- 0. this boot's state first, then the node's files ----------------------------------
# The policy: the shell part passes it on the first boot (install.env is in the archive); later boots read it.
case "${1:-}" in
  fallback | fail) POLICY=$1 ;;
  *) grep -qx "SOCI_EKS_ON_FAILURE='fail'" "${ENV_FILE}" 2>/dev/null && POLICY=fail ;;
esac
MARKER=degraded
[[ "${POLICY}" == fallback ]] || MARKER=failed

# The deadline: the whole install, on every boot, within SOCI_EKS_INSTALL_DEADLINE (900) seconds (cloud-final has none;
# soci-eks-install.service's TimeoutStartSec is only a backstop above it). The installer runs itself under timeout,
# which at the deadline sends SIGTERM to its process group (every command the install runs; the commands' own
# timeouts run with --foreground, so they stay in it); the TERM trap then applies onSociFailure (install-timeout),
# never the wiring. A command that ignores SIGTERM is killed 60 s later, the installer with it: the state step 0
# wrote holds (not-verified).
[[ "${2:-}" == timed ]] || exec timeout --preserve-status -k 60 "${SOCI_EKS_INSTALL_DEADLINE:-900}" "$0" "${POLICY}" timed
# (its log lines to the installer's own stderr, fd 3: the command it interrupts may have redirected stderr)
exec 3>&2
trap 'soci_failed install-timeout "SIGTERM at the deadline" 2>&3' TERM
apply_policy not-verified "the installer did not finish"
log "onSociFailure=${POLICY} holds until SOCI is installed and serves"

# unbundle: the node's files from the bundle on stdin (userdata/bundle.ts): a line "PATH MODE BYTES", then BYTES
# bytes; a last line "-" (without it the bundle was cut short). A file of the same name is replaced (a symlink too,
# its target untouched); written paths are listed in /run/soci-eks/unbundled.
unbundle() {
  local path mode size body
  while read -r path mode size; do
    [[ "${path}" != - ]] || return 0
    IFS= read -r -N "${size}" body && ((${#body} == size)) || return 1
    echo "${ROOT}${path}" >>"${RUN_DIR}/unbundled"
    mkdir -p "${ROOT}${path%/*}" && rm -f "${ROOT}${path}" && printf '%s' "${body}" >"${ROOT}${path}" && chmod "${mode}" "${ROOT}${path}" || return 1
  done
  return 1
}

# The bundle is checked whole (gzip's CRC and length) before anything is written from it; a partial unbundle (a
# full disk) is undone, and the bundle removed to make room for the policy's files.
[[ -f "${NODE_FILES}" ]] || soci_failed node-files-missing "${NODE_FILES} is missing"
gzip -t "${NODE_FILES}" 2>/dev/null || {
  rm -f "${NODE_FILES}"
  soci_failed node-files-corrupt "${NODE_FILES} is corrupt or cut short"
}
rm -f "${RUN_DIR}/unbundled"
gzip -dc "${NODE_FILES}" | LC_ALL=C unbundle || {
  xargs -r rm -f -- "${NODE_FILES}" <"${RUN_DIR}/unbundled"
  soci_failed node-files-unpack-failed "could not unpack ${NODE_FILES}"
}
[[ "${SYSTEMD}" == no ]] || systemctl enable soci-eks-install.service

# --- 1 to 5, and the wiring: in the node's files (they compress better there) ------------------
# shellcheck source=userdata/scripts/al2023-setup-soci.sh
. "${LIBEXEC}/setup-soci.sh"
