#!/usr/bin/env bash
# soci-eks: steps 1 to 5 of the installer (al2023-install-soci.sh) and the wiring, which the installer sources
# from the node's files (/usr/local/libexec/soci-eks/setup-soci.sh) once it has unpacked them:
#   1. one document for many instance types (SOCI_EKS_ARCH=auto, SOCI_EKS_TUNING=at-boot): the release
#      architecture from uname -m, SOCI's parallelism from nproc (al2023-size-soci.sh);
#   2. pigz (parallel gunzip), fuse (lazy mode), jq and the ECR credential helper;
#   3. the pinned soci-snapshotter release: downloaded within an overall deadline and a minimum rate,
#      checked against the sha256 pinned in the user data (never one from the mirror), installed; skipped when
#      the installed binaries match their record;
#   4. root's Docker config: the ECR credential helper for this account's registry, so SOCI gets rotating
#      ECR credentials from the node role;
#   5. under systemd: SOCI's socket, containerd and SOCI started, SOCI checked and the pause image imported
#      into it: the proof that SOCI serves;
#   then, and only then, the wiring: /run/soci-eks/nodeadm.yaml (the target of the installer's nodeadm drop-in)
#   points containerd's CRI and kubelet at SOCI, and containerd is ordered after SOCI.
# It uses the installer's variables and functions (log, soci_failed, ...) and its ERR trap: a failure here
# applies onSociFailure like one in the installer. Not run on its own.
# shellcheck disable=SC2154 # the installer's variables (ROOT, LIBEXEC, POLICY, MARKER...) and install.env's SOCI_EKS_* settings
set -Eeuo pipefail

# The installer's parameters, rendered with the user data
[[ -f "${ENV_FILE}" ]] || soci_failed config-missing "${ENV_FILE} is missing"
# shellcheck source=/dev/null
. "${ENV_FILE}"

BIN_DIR="${ROOT}/usr/local/bin"
DOCKER_CONFIG_FILE="${ROOT}/root/.docker/config.json"
IMDS="${AWS_EC2_METADATA_SERVICE_ENDPOINT:-http://169.254.169.254}"
RETRY_BASE_DELAY="${SOCI_EKS_RETRY_BASE_DELAY:-2}"
# The release download: all attempts together within DOWNLOAD_DEADLINE seconds; an attempt slower than
# DOWNLOAD_MIN_RATE bytes/s for DOWNLOAD_SPEED_TIME seconds is a stall and is cut.
DOWNLOAD_DEADLINE="${SOCI_EKS_DOWNLOAD_DEADLINE:-300}"
DOWNLOAD_MIN_RATE="${SOCI_EKS_DOWNLOAD_MIN_RATE:-65536}"
DOWNLOAD_SPEED_TIME="${SOCI_EKS_DOWNLOAD_SPEED_TIME:-30}"
# Each dnf run ends after SOCI_EKS_DNF_TIMEOUT (120) seconds (a repository that stalls, a held rpm lock); the
# installer's overall deadline (install-soci.sh) bounds the whole install. Every timeout here runs with --foreground:
# it stays in the installer's process group, which gets SIGTERM at the deadline.

# retry ATTEMPTS COMMAND...: runs COMMAND until it succeeds, waiting 2, 4, 8... seconds (max 30).
retry() {
  local attempts=$1 n=1 delay=${RETRY_BASE_DELAY}
  shift
  until "$@"; do
    ((n < attempts)) || return 1
    log "attempt ${n}/${attempts} failed, retrying in ${delay}s: $*"
    sleep "${delay}"
    n=$((n + 1))
    delay=$((delay * 2 > 30 ? 30 : delay * 2))
  done
}


# --- 1. decided on this node: architecture and parallelism ---------------------------
if [[ "${SOCI_EKS_ARCH}" == auto ]]; then
  machine="${SOCI_EKS_MACHINE:-$(uname -m)}"
  case "${machine}" in
    x86_64) SOCI_EKS_ARCH=amd64 ;;
    aarch64 | arm64) SOCI_EKS_ARCH=arm64 ;;
    *) soci_failed unsupported-arch "no soci-snapshotter release for '${machine}' (uname -m)" ;;
  esac
  log "${machine}: the ${SOCI_EKS_ARCH} release"
fi
# shellcheck source=userdata/scripts/al2023-size-soci.sh
[[ "${SOCI_EKS_TUNING:-}" != at-boot ]] || . "${LIBEXEC}/size-soci.sh"


# --- 2. packages -------------------------------------------------------------
# ensure_package COMMAND PACKAGE: installs PACKAGE with dnf unless COMMAND already exists.
ensure_package() {
  command -v "$1" >/dev/null 2>&1 && return 0
  command -v dnf >/dev/null 2>&1 || return 1
  log "installing $2"
  retry 5 timeout --foreground -k 5 "${SOCI_EKS_DNF_TIMEOUT:-120}" dnf install -y --quiet "$2"
}
ensure_package unpigz pigz || soci_failed packages-missing "SOCI's config needs /usr/bin/unpigz"
ensure_package jq jq || soci_failed packages-missing "jq is missing"
if [[ "${SOCI_EKS_MODE}" == lazy ]]; then
  command -v fusermount3 >/dev/null 2>&1 || ensure_package fusermount fuse || log "WARNING: fusermount is missing; SOCI will try a direct FUSE mount"
  [[ -n "${ROOT}" || -e /dev/fuse ]] || modprobe fuse || log "WARNING: no fuse kernel module"
fi
ecr_helper=yes
ensure_package docker-credential-ecr-login amazon-ecr-credential-helper || {
  ecr_helper=no
  log "WARNING: no amazon-ecr-credential-helper: SOCI uses kubelet's CRI credentials"
}

# --- 3. the soci-snapshotter release ----------------------------------------
asset="soci-snapshotter-${SOCI_EKS_SOCI_VERSION}-linux-${SOCI_EKS_ARCH}.tar.gz"
url="${SOCI_EKS_MIRROR_BASE_URL%/}/v${SOCI_EKS_SOCI_VERSION}/${asset}"
record="${STATE_DIR}/installed-release"
# The sha256 pinned in the user data for this architecture: SOCI_EKS_SOCI_SHA256 is one digest, or
# amd64=<hex>,arm64=<hex>. Nothing from the mirror is trusted: without a digest nothing is downloaded.
sha=",${SOCI_EKS_SOCI_SHA256:-}"
sha="${sha#*,"${SOCI_EKS_ARCH}"=}"
sha="${sha#,}"
sha="${sha%%,*}"
[[ "${sha}" =~ ^[0-9a-f]{64}$ ]] || soci_failed digest-missing "no sha256 for ${asset} in ${ENV_FILE}"
# (logs show ${url##*@}: never a user:password before an @)
# curl speaks https only (redirects too), unless the mirror itself is plain http
proto="=https"
[[ "${url}" != http://* ]] || proto="=http,https"
deadline=$((SECONDS + DOWNLOAD_DEADLINE))

# download URL DEST: curl retries until the deadline, when timeout ends it whatever attempt runs, and cuts an
# attempt that moves fewer than DOWNLOAD_MIN_RATE bytes/s for DOWNLOAD_SPEED_TIME seconds.
download() {
  { ((deadline > SECONDS)) && timeout --foreground "$((deadline - SECONDS))" curl -fSL --no-progress-meter --proto "${proto}" --proto-redir "${proto}" \
    --connect-timeout 10 --speed-limit "${DOWNLOAD_MIN_RATE}" --speed-time "${DOWNLOAD_SPEED_TIME}" --retry 100 --retry-all-errors \
    --retry-delay "${RETRY_BASE_DELAY}" -o "$2" "$1"; } || { log "download deadline (${DOWNLOAD_DEADLINE}s) reached: ${url##*@}" && return 1; }
}

# installed_ok: the record names this asset and its pinned digest, and the binaries are there
installed_ok() {
  [[ "$(cat "${record}" 2>/dev/null)" == "${asset} sha256:${sha}" && -x "${BIN_DIR}/soci" && -x "${BIN_DIR}/soci-snapshotter-grpc" ]]
}

install_release() {
  local actual
  dir=$(mktemp -d)
  trap 'rm -rf "${dir}"' EXIT
  log "downloading ${url##*@}"
  download "${url}" "${dir}/${asset}" || soci_failed download-failed "could not download ${url##*@} within ${DOWNLOAD_DEADLINE}s"
  actual=$(sha256sum <"${dir}/${asset}")
  actual="${actual%% *}"
  [[ "${actual}" == "${sha}" ]] || soci_failed checksum-mismatch "${asset} has sha256 ${actual}, not the pinned ${sha}"
  log "sha256 ${actual} verified"
  tar -xzf "${dir}/${asset}" -C "${dir}" soci soci-snapshotter-grpc 2>/dev/null ||
    soci_failed release-incomplete "${asset} does not contain soci and soci-snapshotter-grpc"
  mkdir -p "${BIN_DIR}"
  install -m 0755 "${dir}/soci-snapshotter-grpc" "${dir}/soci" "${BIN_DIR}/"
  # The record the next boots check the binaries against. Without it (a full disk) SOCI works; the next boot
  # downloads again.
  if ! { mkdir -p "${STATE_DIR}" && echo "${asset} sha256:${actual}" >"${record}"; } 2>/dev/null; then
    rm -f "${record}"
    log "WARNING: could not record them in ${STATE_DIR} (disk full?)"
  fi
  log "installed soci and soci-snapshotter-grpc into ${BIN_DIR}"
}

if installed_ok; then
  log "$(cat "${record}") is already installed; skipping download"
else
  install_release
fi

# --- 4. ECR credentials for SOCI through the credential helper ----------------
imds_get() {
  local token
  token=$(curl -fs --max-time 5 -X PUT "${IMDS%/}/latest/api/token" -H "X-aws-ec2-metadata-token-ttl-seconds: 300") &&
    curl -fs --max-time 5 -H "X-aws-ec2-metadata-token: ${token}" "${IMDS%/}/latest/$1"
}

write_docker_config() {
  local registries=() identity region existing extra=()
  if identity=$(retry 5 imds_get dynamic/instance-identity/document); then
    region=$(jq -r .region <<<"${identity}")
    registries+=("$(jq -r .accountId <<<"${identity}").dkr.ecr.${region}.amazonaws.com$([[ "${region}" != cn-* ]] || echo .cn)")
  else
    log "WARNING: could not read the instance identity from IMDS"
  fi
  read -r -a extra <<<"${SOCI_EKS_EXTRA_ECR_REGISTRIES:-}"
  registries+=("${extra[@]}")
  ((${#registries[@]} > 0)) || return 0
  mkdir -p "${DOCKER_CONFIG_FILE%/*}"
  existing=$(cat "${DOCKER_CONFIG_FILE}" 2>/dev/null) || true
  [[ -n "${existing}" ]] || existing='{}'
  jq --args '.credHelpers = ((.credHelpers // {}) + ($ARGS.positional | map({(.): "ecr-login"}) | add))' \
    "${registries[@]}" <<<"${existing}" >"${DOCKER_CONFIG_FILE}.tmp"
  chmod 0600 "${DOCKER_CONFIG_FILE}.tmp"
  mv "${DOCKER_CONFIG_FILE}.tmp" "${DOCKER_CONFIG_FILE}"
  log "credential helper ecr-login serves: ${registries[*]}"
}
[[ "${ecr_helper}" == no ]] || write_docker_config

# --- 5. SOCI must serve before nodeadm-run points containerd and kubelet at it ---------------
# ctr_k8s LIMIT ARGS...: ctr in containerd's k8s.io namespace, its calls ended after LIMIT (ctr's own --timeout, e.g.
# 10s: a SOCI that accepts connections but never answers holds a call forever without it)
ctr_k8s() { "${SOCI_EKS_CTR:-ctr}" --address "${CONTAINERD_ADDRESS:-/run/containerd/containerd.sock}" --namespace k8s.io --timeout "$@"; }

# import_pause: SOCI answers containerd's snapshot calls (containerd lists its proxy plugin "ok" whether or not
# SOCI serves; 60 tries a second apart, each call at most 2 s), then the AMI's cached pause image goes into the soci snapshotter: the AMI caches
# it in overlayfs only, and with CRI on soci a sandbox would otherwise fetch its layers from a registry before
# any credentials exist (awslabs/amazon-eks-ami#2710). Safe to repeat.
import_pause() {
  local pause="${SOCI_EKS_PAUSE_TAR:-${ROOT}/etc/eks/pause.tar}" n
  for n in $(seq 1 60); do
    ctr_k8s 2s snapshots --snapshotter soci ls >/dev/null 2>&1 && break
    ((n < 60)) || { log "ERROR: SOCI does not answer containerd after 60 tries" && return 1; }
    sleep 1
  done
  [[ -f "${pause}" ]] || return 0
  for n in 1 2 3; do
    ctr_k8s 2m images import --snapshotter soci --discard-unpacked-layers=false --local "${pause}" >&2 && break
    ((n < 3)) || return 1
    sleep 2
  done
  ctr_k8s 10s images label localhost/kubernetes/pause:latest io.cri-containerd.pinned=pinned >/dev/null || log "WARNING: could not pin the pause image"
  log "imported ${pause} into the soci snapshotter"
}

start_and_check_soci() {
  systemctl daemon-reload
  # The AMI's own socket-activated daemon may be running on the same path: ours replace its units by name.
  ! systemctl is-active --quiet soci-snapshotter.service || systemctl stop soci-snapshotter.service
  systemctl enable soci-snapshotter.socket
  systemctl restart soci-snapshotter.socket
  # Lazy mode: the timer that prunes SOCI's own content store. Not needed to join: a failure only warns.
  if [[ -f "${UNITS}/soci-eks-store-gc.timer" ]]; then
    if systemctl enable --now soci-eks-store-gc.timer; then
      log "enabled soci-eks-store-gc.timer"
    else
      log "WARNING: soci-eks-store-gc.timer not enabled"
    fi
  fi
  # containerd first: a SOCI restarting with lazy snapshots restores them through containerd. Its config
  # (from the user data) declares SOCI's proxy snapshotter but keeps CRI on overlayfs.
  systemctl start containerd.service || soci_failed containerd-start-failed "containerd did not start"
  retry 3 systemctl start soci-snapshotter.service ||
    soci_failed soci-start-failed "soci-snapshotter.service did not start"
  import_pause || soci_failed pause-import-failed "could not import /etc/eks/pause.tar into SOCI"
}

if [[ "${SYSTEMD}" == yes ]]; then
  start_and_check_soci
elif [[ -n "${ROOT}" || "${SOCI_EKS_NO_SYSTEMD_OK:-}" == 1 ]]; then
  log "not under systemd: its caller starts and checks SOCI"
else
  soci_failed no-systemd "systemd is not running: SOCI cannot be started and checked"
fi

# --- the wiring: only now ------------------------------------------------------
put "${BOOT_CONFIG}" <"${LIBEXEC}/nodeadm-soci.yaml"
put "${CTRD_DROPIN}" <"${LIBEXEC}/containerd-soci.conf"
[[ -s "${BOOT_CONFIG}" && -s "${CTRD_DROPIN}" ]] || soci_failed installer-error "could not write ${BOOT_CONFIG}"
rm -f "${HOLD}" "${RUN_DIR}/${MARKER}" "${STATE_DIR}/${MARKER}"
[[ "${SYSTEMD}" == no ]] || systemctl daemon-reload
log "done: soci-snapshotter ${SOCI_EKS_SOCI_VERSION} serves (${SOCI_EKS_MODE}); containerd and kubelet use it"
