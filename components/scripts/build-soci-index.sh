#!/usr/bin/env bash
# Builds a SOCI index manifest v2 image ("SOCI-enabled image") from one source image and pushes it.
#
# Runs inside the SociIndexBuilder Kubernetes Job, as a non-root user with no capabilities, a read-only root
# filesystem and no host path: everything it needs is in the builder image (bash, jq, skopeo, soci,
# docker-credential-ecr-login) and everything it writes goes to WORK_DIR (an emptyDir). It talks to ECR with the
# builder's own role (EKS Pod Identity, through the credential helper); no containerd, no node credentials.
#
# Steps: copy the source by digest, every platform, into an OCI layout (skopeo); refuse zstd-only images;
# `soci convert --standalone` into a second layout (no containerd); with PREFETCH_READS, add prefetch artifacts for
# those reads (soci-eks-prefetch apply); copy that layout, every manifest, to the destination (skopeo); check that
# the pushed image index still pairs each image manifest with its SOCI index; report what was built on stderr and in
# the termination message (with a recording: how it ended, after how long, its files and bytes; the prefetch spans). (Not --preserve-digests: skopeo before 1.13 re-serializes an image index without the
# descriptors' artifactType and then refuses; the manifests themselves, which carry the pairing, are copied as they
# are, and the check below proves it.)
# STEP splits this for a recording Job: `fetch` only copies the source (and keeps it for the next container), the
# recording container runs `soci-eks-prefetch record` on it, and `build` does the rest from the copied layout.
#
# Inputs (environment):
#   SRC_REF          registry/repository@sha256:...   (required)
#   DST_REF          registry/repository:tag           (required; a tag, not a digest: soci convert's rule)
#   SOCI_VERSION     expected `soci --version` (without v); empty skips the check
#   MIN_LAYER_SIZE   --min-layer-size in bytes (default 10485760, soci's own default)
#   SPAN_SIZE        --span-size in bytes (default 2097152: 2 MiB, half soci's own default; the component's
#                    spanSizeBytes doc and docs/measured-results.md give the reason)
#   WORK_DIR         scratch directory for both layouts and soci's --root (default /work); emptied on exit
#   CREDENTIAL_HELPER   credential helper suffix for both registries (default ecr-login: docker-credential-ecr-login);
#                    empty: none, e.g. for a lab registry without auth
#   INSECURE_REGISTRY   "1" talks plain HTTP to both registries (a lab registry); default 0
#   TERMINATION_LOG  where the one-line summary goes for `kubectl get pod` (default /dev/termination-log, if writable)
#   STEP             all (default), fetch or build (see above)
#   PREFETCH_READS   colon-separated reads files (a recording's, a user's list) for soci-eks-prefetch apply; empty: none
#   DRY_RUN          "1" prints the commands instead of running them (used by tests)
set -Eeuo pipefail

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
WORK_DIR="${WORK_DIR:-/work}"
DRY_RUN="${DRY_RUN:-0}"
CREDENTIAL_HELPER="${CREDENTIAL_HELPER-ecr-login}"
INSECURE_REGISTRY="${INSECURE_REGISTRY:-0}"
TERMINATION_LOG="${TERMINATION_LOG:-/dev/termination-log}"
STEP="${STEP:-all}"
PREFETCH_READS="${PREFETCH_READS:-}"
RECORDING=""
SRC_LAYOUT="${WORK_DIR}/src"
OUT_LAYOUT="${WORK_DIR}/out"
SOCI_ROOT="${WORK_DIR}/soci-root"

[[ "${SRC_REF}" == *@sha256:* ]] || die "SRC_REF must be pinned by digest (got ${SRC_REF})"
[[ "${DST_REF}" != *@* ]] || die "DST_REF must be a tag, not a digest (got ${DST_REF}); soci convert requires a tagged destination"
[[ "${MIN_LAYER_SIZE}" =~ ^[0-9]+$ ]] || die "MIN_LAYER_SIZE must be a byte count (got ${MIN_LAYER_SIZE})"
[[ "${SPAN_SIZE}" =~ ^[0-9]+$ ]] || die "SPAN_SIZE must be a byte count (got ${SPAN_SIZE})"
[[ "${STEP}" =~ ^(all|fetch|build)$ ]] || die "STEP must be all, fetch or build (got ${STEP})"

src_tls=()
dst_tls=()
dst_inspect_tls=()
if [[ "${INSECURE_REGISTRY}" == "1" ]]; then
  src_tls=(--src-tls-verify=false)
  dst_tls=(--dest-tls-verify=false)
  dst_inspect_tls=(--tls-verify=false)
fi

run() {
  if [[ "${DRY_RUN}" == "1" ]]; then
    printf '+ %s\n' "$*"
  else
    "$@"
  fi
}

registry_of() { printf '%s' "${1%%/*}"; }

preflight() {
  local tool
  for tool in skopeo soci jq ${CREDENTIAL_HELPER:+"docker-credential-${CREDENTIAL_HELPER}"} ${PREFETCH_READS:+soci-eks-prefetch}; do
    command -v "${tool}" >/dev/null 2>&1 || die "${tool} not found in the builder image (PATH=${PATH}); see docs/index-builder.md, 'The builder image'"
  done
  if [[ -n "${SOCI_VERSION}" ]]; then
    local have
    have="$(soci --version 2>&1 || true)"
    [[ "${have}" == *"${SOCI_VERSION}"* ]] ||
      die "the builder image has '${have}', this builder was configured for soci ${SOCI_VERSION}; set sociVersion to the image's soci release"
  fi
  mkdir -p "${WORK_DIR}" "${TMPDIR:-${WORK_DIR}/tmp}" || die "cannot write ${WORK_DIR}; mount a writable volume there"
}

# skopeo's trust policy, explicit rather than whatever the image ships: accept what the registry serves, because the
# source is pinned by the digest the preview read, and what is pushed is what soci convert just wrote.
write_policy_file() {
  printf '%s\n' '{"default":[{"type":"insecureAcceptAnything"}]}' >"${WORK_DIR}/policy.json"
}

# Both registries get the credential helper through a containers auth file in WORK_DIR: nothing of the node's.
write_auth_file() {
  [[ -n "${CREDENTIAL_HELPER}" ]] || return 0
  export REGISTRY_AUTH_FILE="${WORK_DIR}/auth.json"
  jq -n --arg src "$(registry_of "${SRC_REF}")" --arg dst "$(registry_of "${DST_REF}")" --arg helper "${CREDENTIAL_HELPER}" \
    '{credHelpers: {($src): $helper, ($dst): $helper}}' >"${REGISTRY_AUTH_FILE}"
}

# layer_media_types LAYOUT: every layer media type of every image manifest in an OCI layout, one per line
# (through nested indexes: a multi-platform image lists one manifest per platform).
layer_media_types() {
  local layout=$1 digest blob
  local -a queue
  [[ -f "${layout}/index.json" ]] || die "${layout} is not an OCI image layout (no index.json)"
  mapfile -t queue < <(jq -r '.manifests[].digest' "${layout}/index.json")
  while ((${#queue[@]} > 0)); do
    digest=${queue[0]}
    queue=("${queue[@]:1}")
    blob="${layout}/blobs/${digest/://}"
    [[ -f "${blob}" ]] || continue
    if jq -e '.manifests' "${blob}" >/dev/null 2>&1; then
      mapfile -t -O "${#queue[@]}" queue < <(jq -r '.manifests[].digest' "${blob}")
    else
      jq -r '.layers[]?.mediaType' "${blob}"
    fi
  done
}

# Fails when every layer is zstd (SOCI builds zTOCs only for gzip and uncompressed layers); warns when some are,
# because those layers will be pulled eagerly.
check_layer_compression() {
  local types total zstd
  types="$(layer_media_types "${SRC_LAYOUT}")" || exit 1
  total="$(grep -cE 'application/vnd\.(oci\.image\.layer\.v1\.tar|docker\.image\.rootfs\.diff\.tar)' <<<"${types}" || true)"
  zstd="$(grep -c 'application/vnd\.oci\.image\.layer\.v1\.tar+zstd' <<<"${types}" || true)"
  log "layers: ${total}, zstd: ${zstd}"
  if ((total > 0 && zstd == total)); then
    die "every layer of ${SRC_REF} is zstd-compressed; SOCI can index only gzip or uncompressed layers. Rebuild the image with gzip layers (e.g. docker buildx build --output type=image,compression=gzip,force-compression=true)"
  fi
  if ((zstd > 0)); then
    log "WARNING: ${zstd} of ${total} layers are zstd-compressed: they get no zTOC and are pulled eagerly"
  fi
}

# The exact conversion command; the node lab and the bench run the same line.
soci_convert() {
  run soci --root "${SOCI_ROOT}" convert --standalone --format oci-dir --all-platforms \
    --min-layer-size "${MIN_LAYER_SIZE}" --span-size "${SPAN_SIZE}" "${SRC_LAYOUT}" "${OUT_LAYOUT}"
}

# recording_line FILE: "recording (<platform>): <how it ended>, <files> files, <bytes> bytes read" for a reads file
# that `soci-eks-prefetch record` wrote; nothing for a list. Fails, naming the image, the ending and the fix, for a
# recording whose container exited non-zero before its time limit without allowNonZeroExit (a recorder that predates
# that rule wrote it, or the file was edited): such reads are not what the image reads on a node.
recording_line() {
  local file=$1 line
  [[ "$(jq -r '.source // ""' "${file}")" == record ]] || return 0
  if jq -e '(.ended // "") | test("^exited [1-9]")' "${file}" >/dev/null && ! jq -e '.allowedNonZeroExit == true' "${file}" >/dev/null; then
    die "the recording of ${SRC_REF} $(jq -r '.endedAs // "\(.ended) after \(.seconds) s"' "${file}"), before its time limit: a start that failed. Fix the start (prefetch.record.args or prefetch.record.env), give prefetch.files instead, or set prefetch.record.allowNonZeroExit: true"
  fi
  line="$(jq -r '"recording (\(.platform // "any")): \(.endedAs // "\(.ended // "ended") after \(.seconds // 0) s")\(if .allowedNonZeroExit then " (kept: allowNonZeroExit)" else "" end), \(.files | length) files, \([.files[].ranges // [] | .[] | .[1]] | add // 0) bytes read"' "${file}")" ||
    die "prefetch reads file ${file} is not a reads file (JSON with files)"
  printf '%s' "${line}"
}

# Prefetch artifacts for the reads (byte ranges mapped to the spans that hold them), in the converted layout.
apply_prefetch() {
  local -a reads_flags=() files=()
  local file line
  IFS=: read -r -a files <<<"${PREFETCH_READS}"
  RECORDING=""
  for file in "${files[@]}"; do
    [[ -f "${file}" ]] || die "prefetch reads file ${file} is missing"
    line="$(recording_line "${file}")" || exit 1
    if [[ -n "${line}" ]]; then
      log "${line}"
      RECORDING="${line}"
    fi
    reads_flags+=(--reads "${file}")
  done
  run soci-eks-prefetch apply --layout "${OUT_LAYOUT}" "${reads_flags[@]}" --summary "${WORK_DIR}/prefetch-summary.json"
}

# The pushed image index must list, for every image manifest that names a SOCI index (com.amazon.soci.index-digest),
# that index: SOCI finds its index through that annotation, by digest.
verify_pushed() {
  local raw missing
  raw="$(skopeo --policy "${WORK_DIR}/policy.json" inspect --raw --retry-times 3 "${dst_inspect_tls[@]}" "docker://${DST_REF}")" ||
    die "cannot read back ${DST_REF} after the push"
  missing="$(jq -r '[.manifests[].digest] as $all | [.manifests[] | .annotations["com.amazon.soci.index-digest"] // empty | select(. as $d | $all | index($d) | not)] | length' <<<"${raw}")" ||
    die "${DST_REF} is not an image index after the push"
  [[ "$(jq '[.manifests[] | select(.annotations["com.amazon.soci.index-digest"])] | length' <<<"${raw}")" -gt 0 ]] ||
    die "${DST_REF} has no image manifest with a SOCI index after the push"
  ((missing == 0)) || die "${DST_REF} names ${missing} SOCI index(es) it does not hold after the push"
}

# summary: "<ztocs> zTOCs, <prefetch> prefetch artifacts" of the converted layout
summary() {
  local types
  types="$(layer_media_types "${OUT_LAYOUT}")" || exit 1
  printf '%s zTOCs, %s prefetch artifacts' \
    "$(grep -cx 'application/octet-stream' <<<"${types}" || true)" \
    "$(grep -cx 'application/vnd.amazon.soci.prefetch.v1+json' <<<"${types}" || true)"
  if [[ -f "${WORK_DIR}/prefetch-summary.json" ]]; then
    [[ -z "${RECORDING}" ]] || printf '; %s' "${RECORDING}"
    jq -r '.platforms[] | "; prefetch (\(.platform)): \(.prefetchFiles) files, \(.readBytes) bytes read -> \(.spans) spans, \(.spanBytes) registry bytes"' \
      "${WORK_DIR}/prefetch-summary.json" | tr -d '\n'
  fi
}

report() {
  log "$1"
  if [[ -w "${TERMINATION_LOG}" ]] || { [[ ! -e "${TERMINATION_LOG}" ]] && [[ -w "$(dirname "${TERMINATION_LOG}")" ]]; }; then
    printf '%s\n' "$1" >"${TERMINATION_LOG}" || true
  fi
}

cleanup() {
  [[ "${DRY_RUN}" == "1" ]] && return 0
  # The fetch step leaves the source for the recording and the build step.
  [[ "${STEP}" == "fetch" ]] || rm -rf "${SRC_LAYOUT}"
  rm -rf "${OUT_LAYOUT}" "${SOCI_ROOT}" "${WORK_DIR}/auth.json" "${WORK_DIR}/policy.json" "${WORK_DIR}/prefetch-summary.json"
}

main() {
  log "source ${SRC_REF}"
  log "destination ${DST_REF}"
  if [[ "${DRY_RUN}" != "1" ]]; then
    preflight
    trap cleanup EXIT
    write_policy_file
    write_auth_file
  fi
  if [[ "${STEP}" != "build" ]]; then
    run skopeo --policy "${WORK_DIR}/policy.json" copy --all --retry-times 3 --quiet "${src_tls[@]}" "docker://${SRC_REF}" "oci:${SRC_LAYOUT}"
    if [[ "${DRY_RUN}" != "1" ]]; then
      check_layer_compression
    fi
    if [[ "${STEP}" == "fetch" ]]; then
      log "copied ${SRC_REF} to ${SRC_LAYOUT} for the recording"
      return 0
    fi
  fi
  soci_convert
  [[ -z "${PREFETCH_READS}" ]] || apply_prefetch
  run skopeo --policy "${WORK_DIR}/policy.json" copy --all --retry-times 3 --quiet "${dst_tls[@]}" "oci:${OUT_LAYOUT}" "docker://${DST_REF}"
  if [[ "${DRY_RUN}" != "1" ]]; then
    verify_pushed
    report "pushed ${DST_REF} (SOCI index manifest v2): $(summary)"
  else
    log "pushed ${DST_REF} (SOCI index manifest v2)"
  fi
}

main "$@"
