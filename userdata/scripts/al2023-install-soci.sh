#!/usr/bin/env bash
# soci-eks: installs the SOCI snapshotter on an AL2023 EKS node at first boot.
#
# Runs as a cloud-init user script (cloud-final), after nodeadm-config wrote the
# containerd and kubelet configs from our NodeConfig and before nodeadm-run starts
# containerd and kubelet. The cloud-config part of the same user data has already
# written /etc/soci-eks/install.env, SOCI's config.toml and the systemd units.
#
# What it does, each step safe to repeat:
#   1. makes sure pigz (parallel gunzip), fuse (lazy mode), jq and the ECR credential helper are present;
#   2. downloads the pinned soci-snapshotter release with retries, verifies its sha256
#      (a digest pinned in the user data, or the release's published .sha256sum), installs it;
#   3. points root's Docker config at the ECR credential helper for this account's registry,
#      so SOCI gets rotating ECR credentials from the node role;
#   4. enables our soci-snapshotter socket, the pause-image import unit and (lazy mode) the SOCI store timer.
#
# Environment (tests only): SOCI_EKS_ROOT installs into a throwaway root and skips systemd;
# AWS_EC2_METADATA_SERVICE_ENDPOINT points IMDS at a loopback mock; SOCI_EKS_RETRY_BASE_DELAY
# shortens the retry back-off.
set -euo pipefail

ROOT="${SOCI_EKS_ROOT:-}"
ENV_FILE="${ROOT}/etc/soci-eks/install.env"
STATE_DIR="${ROOT}/var/lib/soci-eks"
BIN_DIR="${ROOT}/usr/local/bin"
DOCKER_CONFIG_FILE="${ROOT}/root/.docker/config.json"
IMDS="${AWS_EC2_METADATA_SERVICE_ENDPOINT:-http://169.254.169.254}"
IMDS="${IMDS%/}"
RETRY_BASE_DELAY="${SOCI_EKS_RETRY_BASE_DELAY:-2}"

log() {
  echo "soci-eks: $*" >&2
  logger -t soci-eks -- "$*" 2>/dev/null || true
}

die() {
  log "ERROR: $*"
  exit 1
}

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

[[ -f "${ENV_FILE}" ]] || die "${ENV_FILE} is missing: the cloud-config part of the user data did not run"
# shellcheck source=/dev/null
. "${ENV_FILE}"
: "${SOCI_EKS_MODE:?SOCI_EKS_MODE is not set in ${ENV_FILE}}"
: "${SOCI_EKS_SOCI_VERSION:?SOCI_EKS_SOCI_VERSION is not set in ${ENV_FILE}}"
: "${SOCI_EKS_ARCH:?SOCI_EKS_ARCH is not set in ${ENV_FILE}}"
: "${SOCI_EKS_MIRROR_BASE_URL:?SOCI_EKS_MIRROR_BASE_URL is not set in ${ENV_FILE}}"
SOCI_EKS_SOCI_SHA256="${SOCI_EKS_SOCI_SHA256:-}"
SOCI_EKS_EXTRA_ECR_REGISTRIES="${SOCI_EKS_EXTRA_ECR_REGISTRIES:-}"

case "${SOCI_EKS_MODE}" in
  lazy | parallel) ;;
  *) die "SOCI_EKS_MODE='${SOCI_EKS_MODE}' is not lazy or parallel" ;;
esac
case "${SOCI_EKS_ARCH}" in
  amd64 | arm64) ;;
  *) die "SOCI_EKS_ARCH='${SOCI_EKS_ARCH}' is not amd64 or arm64" ;;
esac

log "installing soci-snapshotter ${SOCI_EKS_SOCI_VERSION} (${SOCI_EKS_ARCH}) for ${SOCI_EKS_MODE} mode"
mkdir -p "${STATE_DIR}" "${BIN_DIR}"

# --- 1. packages -------------------------------------------------------------
ensure_package unpigz pigz || die "unpigz is required: SOCI's config decompresses layers with /usr/bin/unpigz"
ensure_package jq jq || die "jq is required to write root's Docker config"
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
  retry 3 download "${url}" "${workdir}/${asset}" || die "could not download ${url}"

  if [[ -n "${SOCI_EKS_SOCI_SHA256}" ]]; then
    expected="${SOCI_EKS_SOCI_SHA256}"
    log "verifying against the sha256 pinned in the user data"
  else
    retry 3 download "${url}.sha256sum" "${workdir}/${asset}.sha256sum" ||
      die "could not download ${url}.sha256sum and no sha256 is pinned (set sociSha256)"
    expected=$(awk 'NR == 1 { print $1 }' "${workdir}/${asset}.sha256sum")
    log "verifying against the published ${asset}.sha256sum"
  fi
  expected=$(tr '[:upper:]' '[:lower:]' <<<"${expected}")
  [[ "${expected}" =~ ^[0-9a-f]{64}$ ]] || die "the expected sha256 for ${asset} is not 64 hex digits: '${expected}'"
  actual=$(sha256sum "${workdir}/${asset}" | awk '{ print $1 }')
  if [[ "${actual}" != "${expected}" ]]; then
    die "checksum mismatch for ${asset}: expected ${expected}, got ${actual}; refusing to install"
  fi
  log "sha256 ${actual} verified"

  tar -xzf "${workdir}/${asset}" -C "${workdir}" soci soci-snapshotter-grpc ||
    die "${asset} does not contain soci and soci-snapshotter-grpc"
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
if [[ -n "${ROOT}" ]] || [[ ! -d /run/systemd/system ]]; then
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
  if [[ -f /etc/systemd/system/soci-eks-store-gc.timer ]]; then
    systemctl enable --now soci-eks-store-gc.timer
    log "enabled soci-eks-store-gc.timer"
  fi
fi

log "done: soci-snapshotter ${SOCI_EKS_SOCI_VERSION} in ${SOCI_EKS_MODE} mode"
