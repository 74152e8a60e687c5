#!/usr/bin/env bash
# Builds a SOCI index manifest v2 image ("SOCI-enabled image") from one source image and pushes it.
#
# Runs inside the SociIndexBuilder Kubernetes Job on a SOCI node. The Job mounts, from the node:
#   - the containerd socket            (CONTAINERD_ADDRESS, default /run/containerd/containerd.sock)
#   - the directories holding the soci CLI (/usr/local/bin, soci-eks's installer), nerdctl (/usr/bin, AL2023 EKS
#     AMI) and docker-credential-ecr-login (/usr/bin, soci-eks's installer), read-only under /host; SOCI_BIN and
#     NERDCTL_BIN name the binaries and PATH reaches the credential helper. Directories, not files: a missing
#     binary is then this script's clear error instead of a pod stuck on a hostPath type check.
#   - root's Docker config             (/root/.docker, whose credHelpers send ECR to ecr-login)
# and runs with hostNetwork, so ecr-login gets the node role's credentials from IMDS (hop limit 1).
#
# Steps: pull the source by digest (all platforms, no unpack) into a private containerd namespace,
# refuse zstd-only images, `soci convert`, `nerdctl push --all-platforms`, then remove both images
# from that namespace. Kubelet's namespace (k8s.io) is never touched.
#
# Inputs (environment):
#   SRC_REF          registry/repository@sha256:...   (required)
#   DST_REF          registry/repository:tag           (required; tagged, no digest: soci convert's rule)
#   SOCI_VERSION     expected `soci --version` (without v); empty skips the check
#   MIN_LAYER_SIZE   --min-layer-size in bytes (default 10485760, soci's own default)
#   SPAN_SIZE        --span-size in bytes (default 2097152: 2 MiB, half soci's own default; the component's
#                    spanSizeBytes doc and docs/measured-results.md give the reason)
#   BUILD_NAMESPACE  containerd namespace for the build (default soci-eks-build)
#   WORK_DIR         scratch directory; soci's --root lives under it (default /work)
#   CONTAINERD_ADDRESS  containerd socket (default /run/containerd/containerd.sock)
#   SOCI_BIN         the soci CLI (default: soci on PATH)
#   NERDCTL_BIN      nerdctl (default: nerdctl on PATH)
#   CREDENTIAL_HELPER   credential helper the preflight requires (default docker-credential-ecr-login; empty: none,
#                    e.g. for a lab registry without auth)
#   INSECURE_REGISTRY   "1" adds --insecure-registry to nerdctl pull/push (a plain-HTTP lab registry); default 0
#   DRY_RUN          "1" prints the commands instead of running them (used by tests)
set -euo pipefail

log() { printf '[build-soci-index] %s\n' "$*" >&2; }
die() {
  log "ERROR: $*"
  exit 1
}

: "${SRC_REF:?SRC_REF is required (registry/repository@sha256:...)}"
: "${DST_REF:?DST_REF is required (registry/repository:tag)}"
SOCI_VERSION="${SOCI_VERSION:-}"
MIN_LAYER_SIZE="${MIN_LAYER_SIZE:-10485760}"
SPAN_SIZE="${SPAN_SIZE:-2097152}"
BUILD_NAMESPACE="${BUILD_NAMESPACE:-soci-eks-build}"
WORK_DIR="${WORK_DIR:-/work}"
CONTAINERD_ADDRESS="${CONTAINERD_ADDRESS:-/run/containerd/containerd.sock}"
DRY_RUN="${DRY_RUN:-0}"
SOCI_BIN="${SOCI_BIN:-soci}"
NERDCTL_BIN="${NERDCTL_BIN:-nerdctl}"
CREDENTIAL_HELPER="${CREDENTIAL_HELPER-docker-credential-ecr-login}"
INSECURE_REGISTRY="${INSECURE_REGISTRY:-0}"
registry_flags=()
[[ "${INSECURE_REGISTRY}" == "1" ]] && registry_flags=(--insecure-registry)
SOCI_ROOT="${WORK_DIR}/soci-root"

[[ "${SRC_REF}" == *@sha256:* ]] || die "SRC_REF must be pinned by digest (got ${SRC_REF})"
[[ "${DST_REF}" != *@* ]] || die "DST_REF must be a tag, not a digest (got ${DST_REF}); soci convert requires a tagged destination"
[[ "${MIN_LAYER_SIZE}" =~ ^[0-9]+$ ]] || die "MIN_LAYER_SIZE must be a byte count (got ${MIN_LAYER_SIZE})"
[[ "${SPAN_SIZE}" =~ ^[0-9]+$ ]] || die "SPAN_SIZE must be a byte count (got ${SPAN_SIZE})"

run() {
  if [[ "${DRY_RUN}" == "1" ]]; then
    printf '+ %s\n' "$*"
  else
    "$@"
  fi
}

nerdctl_ns() { "${NERDCTL_BIN}" --address "${CONTAINERD_ADDRESS}" --namespace "${BUILD_NAMESPACE}" "$@"; }

# The exact conversion command; the node lab runs the same line.
soci_convert() {
  run "${SOCI_BIN}" --address "${CONTAINERD_ADDRESS}" --namespace "${BUILD_NAMESPACE}" \
    --content-store containerd --root "${SOCI_ROOT}" \
    convert --all-platforms --min-layer-size "${MIN_LAYER_SIZE}" --span-size "${SPAN_SIZE}" \
    "${SRC_REF}" "${DST_REF}"
}

cleanup() {
  [[ "${DRY_RUN}" == "1" ]] && return 0
  nerdctl_ns rmi --force "${DST_REF}" >/dev/null 2>&1 || true
  nerdctl_ns rmi --force "${SRC_REF}" >/dev/null 2>&1 || true
}

preflight() {
  local tool
  for tool in "${SOCI_BIN}" "${NERDCTL_BIN}" ${CREDENTIAL_HELPER:+"${CREDENTIAL_HELPER}"}; do
    command -v "${tool}" >/dev/null 2>&1 || die "${tool} not found (PATH=${PATH}); is this a soci-eks SOCI node (soci-eks/mode lazy or parallel)? Check the builder's hostPaths"
  done
  [[ -S "${CONTAINERD_ADDRESS}" ]] || die "containerd socket ${CONTAINERD_ADDRESS} is not mounted"
  if [[ -n "${SOCI_VERSION}" ]]; then
    local have
    have="$("${SOCI_BIN}" --version 2>&1 || true)"
    [[ "${have}" == *"${SOCI_VERSION}"* ]] ||
      die "node has '${have}', this builder was configured for soci ${SOCI_VERSION}; set sociVersion to the node group's SOCI version"
  fi
}

# Fails when every layer of the image is zstd (SOCI builds zTOCs only for gzip and uncompressed
# layers); warns when some are, because those layers will be pulled eagerly.
check_layer_compression() {
  local manifest zstd total
  manifest="$(nerdctl_ns image inspect --mode=native "${SRC_REF}")"
  total="$(grep -oE 'application/vnd\.(oci\.image\.layer\.v1\.tar[^"]*|docker\.image\.rootfs\.diff\.tar[^"]*)"' <<<"${manifest}" | wc -l || true)"
  zstd="$(grep -oE 'application/vnd\.oci\.image\.layer\.v1\.tar\+zstd[^"]*"' <<<"${manifest}" | wc -l || true)"
  log "layers: ${total}, zstd: ${zstd}"
  if ((total > 0 && zstd == total)); then
    die "every layer of ${SRC_REF} is zstd-compressed; SOCI can index only gzip or uncompressed layers. Rebuild the image with gzip layers (e.g. docker buildx build --output type=image,compression=gzip,force-compression=true)"
  fi
  if ((zstd > 0)); then
    log "WARNING: ${zstd} of ${total} layers are zstd-compressed: they get no zTOC and are pulled eagerly"
  fi
}

main() {
  log "source ${SRC_REF}"
  log "destination ${DST_REF}"
  if [[ "${DRY_RUN}" != "1" ]]; then
    preflight
    mkdir -p "${SOCI_ROOT}"
    trap cleanup EXIT
  fi
  run "${NERDCTL_BIN}" --address "${CONTAINERD_ADDRESS}" --namespace "${BUILD_NAMESPACE}" \
    pull "${registry_flags[@]}" --all-platforms --unpack=false --quiet "${SRC_REF}"
  if [[ "${DRY_RUN}" != "1" ]]; then
    check_layer_compression
  fi
  soci_convert
  run "${NERDCTL_BIN}" --address "${CONTAINERD_ADDRESS}" --namespace "${BUILD_NAMESPACE}" \
    push "${registry_flags[@]}" --all-platforms "${DST_REF}"
  log "pushed ${DST_REF} (SOCI index manifest v2)"
}

main "$@"
