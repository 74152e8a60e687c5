#!/usr/bin/env bash
# soci-eks: installs the SOCI snapshotter on an AL2023 EKS node at first boot.
#
# The cloud-config part of the user data writes it to /usr/local/libexec/soci-eks/install-soci.sh,
# together with /etc/soci-eks/install.env, SOCI's config.toml and the systemd units; the user data's
# shell part runs it (cloud-final), after nodeadm-config wrote the containerd and kubelet configs
# from our NodeConfig and before nodeadm-run starts containerd and kubelet.
#
# What it does, each step safe to repeat:
#   0. one document for many instance types (SOCI_EKS_ARCH=auto, SOCI_EKS_TUNING=at-boot): picks the
#      release architecture from uname -m and sizes SOCI's parallelism from nproc and MemTotal;
#   1. makes sure pigz (parallel gunzip), fuse (lazy mode), jq and the ECR credential helper are present;
#   2. downloads the pinned soci-snapshotter release with retries, verifies its sha256
#      (a digest pinned in the user data, or the release's published .sha256sum), installs it;
#   3. points root's Docker config at the ECR credential helper for this account's registry,
#      so SOCI gets rotating ECR credentials from the node role;
#   4. enables our soci-snapshotter socket, the pause-image import unit and (lazy mode) the SOCI store timer;
#   5. under systemd, starts SOCI and containerd and imports the pause image.
# A failed step applies SOCI_EKS_ON_FAILURE (docs/boot-and-failures.md): fallback writes a
# nodeadm drop-in that makes this a stock node labelled soci-eks/degraded=<reason> (exit 0);
# fail makes kubelet's start fail with the cause (exit 1).
#
# Environment (tests only): SOCI_EKS_ROOT installs into a throwaway root and skips systemd;
# AWS_EC2_METADATA_SERVICE_ENDPOINT points IMDS at a loopback mock; SOCI_EKS_RETRY_BASE_DELAY
# shortens the retry back-off; SOCI_EKS_MACHINE, SOCI_EKS_NPROC and SOCI_EKS_MEMINFO stand in for
# uname -m, nproc and /proc/meminfo.
set -euo pipefail

ROOT="${SOCI_EKS_ROOT:-}"
ENV_FILE="${ROOT}/etc/soci-eks/install.env"
STATE_DIR="${ROOT}/var/lib/soci-eks"
BIN_DIR="${ROOT}/usr/local/bin"
DOCKER_CONFIG_FILE="${ROOT}/root/.docker/config.json"
IMDS="${AWS_EC2_METADATA_SERVICE_ENDPOINT:-http://169.254.169.254}"
IMDS="${IMDS%/}"
RETRY_BASE_DELAY="${SOCI_EKS_RETRY_BASE_DELAY:-2}"
SOCI_CONFIG_FILE="${ROOT}/etc/soci-eks/soci-snapshotter-grpc.toml"
MEMINFO="${SOCI_EKS_MEMINFO:-/proc/meminfo}"
SYSTEMD_DIR="${ROOT}/etc/systemd/system"
FALLBACK_DROPIN="${ROOT}/etc/eks/nodeadm.d/90-soci-eks-fallback.yaml"
KUBELET_HOLD="${SYSTEMD_DIR}/kubelet.service.d/05-soci-eks-failed.conf"
DEGRADED_MARKER="${STATE_DIR}/degraded"
FAILED_MARKER="${STATE_DIR}/failed"
# Until install.env is read, failures take the default policy.
POLICY=fallback
SYSTEMD=no
[[ -z "${ROOT}" && -d /run/systemd/system ]] && SYSTEMD=yes

log() {
  echo "soci-eks: $*" >&2
  logger -t soci-eks -- "$*" 2>/dev/null || true
}

# write_marker FILE REASON MESSAGE FIX (read by people and the pull report)
write_marker() {
  mkdir -p "${STATE_DIR}"
  printf 'reason=%s\npolicy=%s\nmessage=%s\nfix=%s\n' "$2" "${POLICY}" "$3" "$4" >"$1.tmp"
  mv "$1.tmp" "$1"
}

# fall_back REASON: nodeadm-run merges the drop-in over the user data and, the config having
# changed, rewrites containerd's and kubelet's configs: a stock node.
fall_back() {
  mkdir -p "${FALLBACK_DROPIN%/*}"
  # printf, not a heredoc: the user data strips full-line comments from this script (userdata/compact.ts).
  printf '%s\n' \
    "# soci-eks: SOCI could not be set up ($1), see /var/lib/soci-eks/degraded" \
    "apiVersion: node.eks.aws/v1alpha1" \
    "kind: NodeConfig" \
    "spec:" \
    "  featureGates:" \
    "    FastImagePull: false" \
    "  containerd:" \
    "    config: |" \
    "      [plugins.'io.containerd.cri.v1.images']" \
    "      snapshotter = \"overlayfs\"" \
    "      disable_snapshot_annotations = true" \
    "  kubelet:" \
    "    config:" \
    "      imageServiceEndpoint: unix:///run/containerd/containerd.sock" \
    "    flags:" \
    "      - --node-labels=soci-eks/degraded=$1" >"${FALLBACK_DROPIN}.tmp"
  mv "${FALLBACK_DROPIN}.tmp" "${FALLBACK_DROPIN}"
  stop_soci
}

# stop_soci: containerd must not wait for SOCI (our drop-in, and nodeadm's with FastImagePull),
# kubelet not for the pause import
stop_soci() {
  rm -f "${SYSTEMD_DIR}"/containerd.service.d/10-soci-{eks,snapshotter}.conf
  if [[ "${SYSTEMD}" == yes ]]; then
    systemctl disable --now soci-eks-pause-import.service soci-snapshotter.socket soci-snapshotter.service || true
    systemctl daemon-reload || true
  fi
}

# hold_kubelet: every start of kubelet fails, printing the cause
hold_kubelet() {
  mkdir -p "${KUBELET_HOLD%/*}"
  printf '%s\n' \
    "[Service]" \
    "ExecStartPre=/bin/sh -c 'cat /var/lib/soci-eks/failed >&2; echo \"soci-eks: kubelet held back by onSociFailure=fail\" >&2; exit 1'" \
    >"${KUBELET_HOLD}"
  stop_soci
}

# soci_failed REASON MESSAGE FIX: applies the policy and exits. REASON is a label value.
soci_failed() {
  trap - ERR
  if [[ "${POLICY}" == fail ]]; then
    write_marker "${FAILED_MARKER}" "$@"
    hold_kubelet
    log "FAILED (onSociFailure=fail): $1: $2. kubelet will not start; the node never joins. Fix: $3"
    exit 1
  fi
  write_marker "${DEGRADED_MARKER}" "$@"
  fall_back "$1"
  log "DEGRADED (onSociFailure=fallback): $1: $2. The node joins without SOCI, labelled soci-eks/degraded=$1. Fix: $3"
  exit 0
}

trap 'soci_failed installer-error "line ${LINENO}: ${BASH_COMMAND} failed" "see journalctl -t soci-eks"' ERR

# retry ATTEMPTS COMMAND...: runs COMMAND until it succeeds, waiting 2, 4, 8... seconds (max 30).
retry() {
  local attempts=$1 n=1 delay=${RETRY_BASE_DELAY}
  shift
  until "$@"; do
    if ((n >= attempts)); then
      log "giving up after ${n} attempts: $*"
      return 1
    fi
    log "attempt ${n}/${attempts} failed, retrying in ${delay}s: $*"
    sleep "${delay}"
    n=$((n + 1))
    delay=$((delay * 2 > 30 ? 30 : delay * 2))
  done
}

# ensure_package COMMAND PACKAGE: installs PACKAGE with dnf unless COMMAND already exists.
ensure_package() {
  local cmd=$1 pkg=$2
  if command -v "${cmd}" >/dev/null 2>&1; then
    return 0
  fi
  if ! command -v dnf >/dev/null 2>&1; then
    log "${cmd} is missing and dnf is not available to install ${pkg}"
    return 1
  fi
  log "installing ${pkg}"
  retry 5 dnf install -y --quiet "${pkg}"
}

download() {
  local url=$1 dest=$2
  curl --fail --silent --show-error --location --retry 5 --retry-delay 2 --retry-all-errors \
    --connect-timeout 10 --max-time 600 --output "${dest}" "${url}"
}

[[ -f "${ENV_FILE}" ]] || soci_failed config-missing "${ENV_FILE} is missing: the cloud-config part of the user data did not run" \
  "see /var/log/cloud-init.log"
# shellcheck source=/dev/null
. "${ENV_FILE}"
case "${SOCI_EKS_ON_FAILURE:-fallback}" in
  fallback | fail) POLICY="${SOCI_EKS_ON_FAILURE:-fallback}" ;;
  *) soci_failed bad-config "SOCI_EKS_ON_FAILURE='${SOCI_EKS_ON_FAILURE}' is not fallback or fail" "render the user data with soci-eks" ;;
esac
: "${SOCI_EKS_MODE:?SOCI_EKS_MODE is not set in ${ENV_FILE}}"
: "${SOCI_EKS_SOCI_VERSION:?SOCI_EKS_SOCI_VERSION is not set in ${ENV_FILE}}"
: "${SOCI_EKS_ARCH:?SOCI_EKS_ARCH is not set in ${ENV_FILE}}"
: "${SOCI_EKS_MIRROR_BASE_URL:?SOCI_EKS_MIRROR_BASE_URL is not set in ${ENV_FILE}}"
SOCI_EKS_SOCI_SHA256="${SOCI_EKS_SOCI_SHA256:-}"
SOCI_EKS_EXTRA_ECR_REGISTRIES="${SOCI_EKS_EXTRA_ECR_REGISTRIES:-}"
SOCI_EKS_TUNING="${SOCI_EKS_TUNING:-}"

case "${SOCI_EKS_MODE}" in
  lazy | parallel) ;;
  *) soci_failed bad-config "SOCI_EKS_MODE='${SOCI_EKS_MODE}' is not lazy or parallel" "render the user data with soci-eks" ;;
esac

# --- 0. decided on this node: architecture and parallelism ---------------------------
if [[ "${SOCI_EKS_ARCH}" == auto ]]; then
  machine="${SOCI_EKS_MACHINE:-$(uname -m)}"
  case "${machine}" in
    x86_64) SOCI_EKS_ARCH=amd64 ;;
    aarch64 | arm64) SOCI_EKS_ARCH=arm64 ;;
    *) soci_failed unsupported-arch "this node's architecture '${machine}' (uname -m) has no soci-snapshotter release" "restrict the NodePool to kubernetes.io/arch amd64 or arm64" ;;
  esac
  log "architecture ${machine}: using the ${SOCI_EKS_ARCH} release"
fi
case "${SOCI_EKS_ARCH}" in
  amd64 | arm64) ;;
  *) soci_failed bad-config "SOCI_EKS_ARCH='${SOCI_EKS_ARCH}' is not amd64, arm64 or auto" "render the user data with soci-eks" ;;
esac

clamp() { # VALUE MIN MAX
  local v=$1
  ((v < $2)) && v=$2
  ((v > $3)) && v=$3
  echo "${v}"
}

# set_knob KEY VALUE: rewrites `KEY = ...` in SOCI's config.toml; fails unless exactly one line matched.
set_knob() {
  local key=$1 value=$2
  [[ "$(grep -c "^${key} = " "${SOCI_CONFIG_FILE}")" == 1 ]] || soci_failed bad-config "${SOCI_CONFIG_FILE} has no single '${key} = ' line to size" "render the user data with soci-eks"
  sed -i "s|^${key} = .*|${key} = ${value}|" "${SOCI_CONFIG_FILE}"
}

# The same rules as the renderer's parallelTuning() (userdata/sociConfig.ts): downloads one per vCPU,
# 8..20 per image and twice that in total; unpacks one per vCPU, 2..12 per image and twice that
# in total; 64 MiB chunks on every size. EC2's memory size is MemTotal rounded up to whole GiB (the
# kernel keeps well under 1 GiB of an 8 GiB instance for itself); it is logged, not used.
if [[ "${SOCI_EKS_TUNING}" == at-boot ]]; then
  [[ -f "${SOCI_CONFIG_FILE}" ]] || soci_failed bad-config "${SOCI_CONFIG_FILE} is missing: the cloud-config part of the user data did not run" "check cloud-init's log for the cloud-config part"
  vcpus="${SOCI_EKS_NPROC:-$(nproc)}"
  mem_kib=$(awk '$1 == "MemTotal:" { print $2 }' "${MEMINFO}")
  [[ "${vcpus}" =~ ^[1-9][0-9]*$ ]] || soci_failed bad-config "cannot count this node's vCPUs (nproc said '${vcpus}')" "check nproc on the node"
  [[ "${mem_kib}" =~ ^[1-9][0-9]*$ ]] || soci_failed bad-config "cannot read MemTotal from ${MEMINFO}" "check /proc/meminfo on the node"
  mem_mib=$((((mem_kib + 1048575) / 1048576) * 1024))
  downloads=$(clamp "${vcpus}" 8 20)
  unpacks=$(clamp "${vcpus}" 2 12)
  chunk=64mb
  set_knob max_concurrent_downloads $((downloads * 2))
  set_knob max_concurrent_downloads_per_image "${downloads}"
  set_knob concurrent_download_chunk_size "\"${chunk}\""
  set_knob max_concurrent_unpacks $((unpacks * 2))
  set_knob max_concurrent_unpacks_per_image "${unpacks}"
  log "sized SOCI for ${vcpus} vCPUs and ${mem_mib} MiB: ${downloads} downloads and ${unpacks} unpacks per image, ${chunk} chunks"
fi

log "installing soci-snapshotter ${SOCI_EKS_SOCI_VERSION} (${SOCI_EKS_ARCH}) for ${SOCI_EKS_MODE} mode"
mkdir -p "${STATE_DIR}" "${BIN_DIR}"

# --- 1. packages -------------------------------------------------------------
PACKAGES_FIX="let the node reach the AL2023 package repositories, or use an AMI with pigz and jq"
ensure_package unpigz pigz ||
  soci_failed packages-missing "unpigz is required: SOCI's config decompresses layers with /usr/bin/unpigz" "${PACKAGES_FIX}"
ensure_package jq jq || soci_failed packages-missing "jq is required to write root's Docker config" "${PACKAGES_FIX}"
if [[ "${SOCI_EKS_MODE}" == lazy ]]; then
  if ! command -v fusermount >/dev/null 2>&1 && ! command -v fusermount3 >/dev/null 2>&1; then
    ensure_package fusermount fuse || log "WARNING: fusermount is missing; SOCI will try a direct FUSE mount"
  fi
  if [[ -z "${ROOT}" && ! -e /dev/fuse ]]; then
    modprobe fuse || log "WARNING: could not load the fuse kernel module; lazy loading will fail"
  fi
fi
ecr_helper=yes
ensure_package docker-credential-ecr-login amazon-ecr-credential-helper || {
  ecr_helper=no
  log "WARNING: amazon-ecr-credential-helper is unavailable; SOCI falls back to kubelet's CRI credentials (in memory, not rotated)"
}

# --- 2. the soci-snapshotter release ----------------------------------------
asset="soci-snapshotter-${SOCI_EKS_SOCI_VERSION}-linux-${SOCI_EKS_ARCH}.tar.gz"
url="${SOCI_EKS_MIRROR_BASE_URL%/}/v${SOCI_EKS_SOCI_VERSION}/${asset}"
marker="${STATE_DIR}/installed-release"

installed=""
[[ -f "${marker}" && -x "${BIN_DIR}/soci-snapshotter-grpc" && -x "${BIN_DIR}/soci" ]] && installed=$(cat "${marker}")
if [[ "${installed}" == "${asset} sha256:"* ]] &&
  [[ -z "${SOCI_EKS_SOCI_SHA256}" || "${installed}" == *":${SOCI_EKS_SOCI_SHA256,,}" ]]; then
  log "${installed} is already installed; skipping download"
else
  workdir=$(mktemp -d)
  trap 'rm -rf "${workdir}"' EXIT
  log "downloading ${url}"
  retry 3 download "${url}" "${workdir}/${asset}" || soci_failed download-failed "could not download ${url}" \
    "let the node reach the mirror (NAT, proxy), or set sociMirrorUrl"

  if [[ -n "${SOCI_EKS_SOCI_SHA256}" ]]; then
    expected="${SOCI_EKS_SOCI_SHA256}"
    log "verifying against the sha256 pinned in the user data"
  else
    retry 3 download "${url}.sha256sum" "${workdir}/${asset}.sha256sum" ||
      soci_failed download-failed "could not download ${url}.sha256sum and no sha256 is pinned" \
        "let the node reach the mirror, or set sociSha256"
    expected=$(awk 'NR == 1 { print $1 }' "${workdir}/${asset}.sha256sum")
    log "verifying against the published ${asset}.sha256sum"
  fi
  expected=$(tr '[:upper:]' '[:lower:]' <<<"${expected}")
  [[ "${expected}" =~ ^[0-9a-f]{64}$ ]] || soci_failed checksum-mismatch "the expected sha256 for ${asset} is not 64 hex digits: '${expected}'" \
    "fix the mirror's .sha256sum, or set sociSha256"
  actual=$(sha256sum "${workdir}/${asset}" | awk '{ print $1 }')
  if [[ "${actual}" != "${expected}" ]]; then
    soci_failed checksum-mismatch "checksum mismatch for ${asset}: expected ${expected}, got ${actual}; refusing to install" \
      "compare the mirror's tarball with the upstream release; check sociSha256"
  fi
  log "sha256 ${actual} verified"

  tar -xzf "${workdir}/${asset}" -C "${workdir}" soci soci-snapshotter-grpc 2>/dev/null ||
    soci_failed release-incomplete "${asset} does not contain soci and soci-snapshotter-grpc" \
      "point sociMirrorUrl at an unmodified upstream release"
  install -m 0755 "${workdir}/soci-snapshotter-grpc" "${workdir}/soci" "${BIN_DIR}/"
  echo "${asset} sha256:${actual}" >"${marker}"
  log "installed soci and soci-snapshotter-grpc into ${BIN_DIR}"
fi

# --- 3. ECR credentials for SOCI through the credential helper ----------------
imds_get() {
  local token
  token=$(curl --fail --silent --max-time 5 -X PUT "${IMDS}/latest/api/token" \
    -H "X-aws-ec2-metadata-token-ttl-seconds: 300") || return 1
  curl --fail --silent --max-time 5 -H "X-aws-ec2-metadata-token: ${token}" "${IMDS}/latest/$1"
}

if [[ "${ecr_helper}" == yes ]]; then
  registries=()
  if identity=$(retry 5 imds_get dynamic/instance-identity/document); then
    account=$(jq -r '.accountId' <<<"${identity}")
    region=$(jq -r '.region' <<<"${identity}")
    suffix=amazonaws.com
    [[ "${region}" == cn-* ]] && suffix=amazonaws.com.cn
    registries+=("${account}.dkr.ecr.${region}.${suffix}")
  else
    log "WARNING: could not read the instance identity from IMDS; only extra registries get the credential helper"
  fi
  read -r -a extra <<<"${SOCI_EKS_EXTRA_ECR_REGISTRIES}"
  registries+=("${extra[@]}")
  if ((${#registries[@]} > 0)); then
    mkdir -p "$(dirname "${DOCKER_CONFIG_FILE}")"
    existing='{}'
    [[ -s "${DOCKER_CONFIG_FILE}" ]] && existing=$(cat "${DOCKER_CONFIG_FILE}")
    jq --args '.credHelpers = ((.credHelpers // {}) + ($ARGS.positional | map({(.): "ecr-login"}) | add))' \
      "${registries[@]}" <<<"${existing}" >"${DOCKER_CONFIG_FILE}.tmp"
    chmod 0600 "${DOCKER_CONFIG_FILE}.tmp"
    mv "${DOCKER_CONFIG_FILE}.tmp" "${DOCKER_CONFIG_FILE}"
    log "credential helper ecr-login serves: ${registries[*]}"
  fi
fi

# --- 4. systemd ------------------------------------------------------------------
if [[ "${SYSTEMD}" != yes ]]; then
  log "not running under systemd (root='${ROOT}'); units are written but not enabled"
else
  systemctl daemon-reload
  # The AMI's own socket-activated daemon may already be listening on the same path;
  # our units replace it by name, so restart the socket to pick up our definition.
  if systemctl is-active --quiet soci-snapshotter.service; then
    log "stopping the AMI's running soci-snapshotter.service"
    systemctl stop soci-snapshotter.service
  fi
  systemctl enable soci-snapshotter.socket soci-eks-pause-import.service
  systemctl restart soci-snapshotter.socket
  log "enabled soci-snapshotter.socket and soci-eks-pause-import.service"
  # Lazy mode: the timer that prunes SOCI's own content store (written only in that mode).
  # Not needed to join: a failure is a warning, not a reason to fall back.
  if [[ -f "${SYSTEMD_DIR}/soci-eks-store-gc.timer" ]]; then
    if systemctl enable --now soci-eks-store-gc.timer; then
      log "enabled soci-eks-store-gc.timer"
    else
      log "WARNING: could not enable soci-eks-store-gc.timer: SOCI's store is not pruned on this node (see journalctl -u soci-eks-store-gc.timer)"
    fi
  fi

  # --- 5. SOCI must work before nodeadm-run points kubelet at it ---
  # containerd first: a SOCI restarting with lazy snapshots restores them through containerd
  systemctl start containerd.service ||
    soci_failed containerd-start-failed "containerd did not start with SOCI" "see journalctl -u containerd"
  retry 3 systemctl start soci-snapshotter.service ||
    soci_failed soci-start-failed "soci-snapshotter.service did not start" "see journalctl -u soci-snapshotter"
  systemctl start soci-eks-pause-import.service ||
    soci_failed pause-import-failed "could not import /etc/eks/pause.tar into SOCI" "see journalctl -u soci-eks-pause-import"
  log "soci-snapshotter, containerd and the pause image are up"
fi

# an earlier failed run's traces
rm -f "${FALLBACK_DROPIN}" "${KUBELET_HOLD}" "${DEGRADED_MARKER}" "${FAILED_MARKER}"

log "done: soci-snapshotter ${SOCI_EKS_SOCI_VERSION} in ${SOCI_EKS_MODE} mode"
