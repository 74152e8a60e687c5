#!/usr/bin/env bash
# soci-eks: removes SOCI artifacts no image needs from SOCI's own store, which SOCI never prunes (#1069).
# Needed: indexes named by a manifest in containerd, covering a soci snapshot's layer, or loaded by the running
# daemon (it caches them until restart), their blobs, and blobs younger than the grace. Unsure: removes nothing.
# Never what a pull is using: a blob is removed only when it was unneeded at the previous run too (it is marked
# then, in /var/lib/soci-eks/store-gc-marks), and only if a second look, taken just before the removal, still finds
# no image, snapshot or daemon needing it. An image pulled again between two runs, or during a run, keeps its
# index and zTOCs. docs/troubleshooting.md.
# Tests: SOCI_EKS_ROOT, CONTAINERD_ADDRESS, SOCI_EKS_CTR, SOCI_EKS_SOCI_LOG; SOCI_EKS_STORE_GC_BEFORE_RECHECK runs a
# command between the first look and the second (a pull there is the race this guards against).
set -euo pipefail

ROOT="${SOCI_EKS_ROOT:-}"
STORE="${ROOT}/var/lib/soci-snapshotter-grpc/content/blobs/sha256"
MARKS="${ROOT}/var/lib/soci-eks/store-gc-marks"
ADDRESS="${CONTAINERD_ADDRESS:-/run/containerd/containerd.sock}"
CTR="${SOCI_EKS_CTR:-ctr}"
GRACE="${SOCI_EKS_STORE_GC_GRACE_MINUTES:-60}"
DRY_RUN="${SOCI_EKS_STORE_GC_DRY_RUN:-0}"
SOCI_LOG="${SOCI_EKS_SOCI_LOG:-}"

log() {
  echo "soci-eks store-gc: $*" >&2
  logger -t soci-eks -- "store-gc: $*" 2>/dev/null || true
}
die() {
  log "ERROR: $*; nothing removed"
  exit 1
}

[[ "${GRACE}" =~ ^[0-9]+$ ]] || die "SOCI_EKS_STORE_GC_GRACE_MINUTES='${GRACE}' is not a whole number of minutes"
[[ -d "${STORE}" ]] || { log "no SOCI content store at ${STORE}; nothing to do" && exit 0; }

ctr_ns() { "${CTR}" --address "${ADDRESS}" --namespace "$@"; }

WORK=$(mktemp -d)
trap 'rm -rf "${WORK}"' EXIT

blobs() { find "${STORE}" -maxdepth 1 -type f -regextype posix-extended -regex '.*/[0-9a-f]{64}' "$@" -printf '%f\n' | sort; }

# SOCI logs each index it loads (and caches) with 'fetching SOCI index'.
daemon_log() {
  if [[ -n "${SOCI_LOG}" ]]; then
    cat -- "${SOCI_LOG}"
    return
  fi
  local pid
  pid=$(systemctl show --property MainPID --value soci-snapshotter.service) || return 1
  [[ "${pid}" != 0 ]] || return 0
  journalctl --quiet --output cat _PID="${pid}"
}

# needed OUT: the blobs (hex digests, sorted) an image, a soci snapshot or the running daemon needs
needed() {
  local w=${WORK}/needed namespaces ns content manifests manifest body snapshots keys key info loaded name blob refs
  : >"${w}-indexes"
  : >"${w}-layers"
  namespaces=$("${CTR}" --address "${ADDRESS}" namespaces ls -q) || die "containerd at ${ADDRESS} did not list its namespaces"
  for ns in ${namespaces}; do
    content=$(ctr_ns "${ns}" content ls) || die "ctr content ls failed in namespace ${ns}"
    mapfile -t manifests < <(awk 'NR > 1 && /containerd\.io\/gc\.ref\.content\.config=/ { print $1 }' <<<"${content}")
    for manifest in "${manifests[@]}"; do
      body=$(ctr_ns "${ns}" content get "${manifest}") || die "ctr content get ${manifest} failed"
      jq -r '.annotations["com.amazon.soci.index-digest"] // empty' <<<"${body}" >>"${w}-indexes" || die "${manifest} is not JSON"
    done
    snapshots=$(ctr_ns "${ns}" snapshots --snapshotter soci ls) || die "ctr snapshots ls failed in namespace ${ns}"
    mapfile -t keys < <(awk 'NR > 1 { print $1 }' <<<"${snapshots}")
    for key in "${keys[@]}"; do
      info=$(ctr_ns "${ns}" snapshots --snapshotter soci info "${key}") || die "ctr snapshots info ${key} failed"
      jq -r '.Labels["containerd.io/snapshot/cri.layer-digest"] // empty' <<<"${info}" >>"${w}-layers"
    done
  done
  sort -u -o "${w}-layers" "${w}-layers"
  loaded=$(daemon_log) || die "could not read the SOCI daemon's log"
  if [[ -n "${loaded}" ]] && ! grep -qF '"msg":"starting soci-snapshotter-grpc"' <<<"${loaded}"; then
    die "the SOCI daemon's log no longer starts at its start"
  fi
  grep -F 'fetching SOCI index' <<<"${loaded}" | grep -oE '"digest":"sha256:[0-9a-f]{64}"' | cut -d'"' -f4 >>"${w}-indexes" || true
  # An index is needed when an image names it or a snapshot covers one of its layers: then its zTOCs are too.
  cp "${w}-layers" "${w}-keep"
  while read -r name; do
    blob="${STORE}/${name}"
    [[ $(head -c 1 "${blob}" 2>/dev/null) == "{" ]] || continue
    refs=$(jq -r '
      select(((.artifactType // .config.mediaType // "") | test("^application/vnd\\.amazon\\.soci\\.index\\.v[12]\\+json$")))
      | (.layers // .blobs // [])[] | .digest, (.annotations["com.amazon.soci.image-layer-digest"] // empty)' "${blob}" 2>/dev/null) || continue
    [[ -n "${refs}" ]] || continue
    if grep -qx "sha256:${name}" "${w}-indexes" || grep -qxFf "${w}-layers" <<<"${refs}"; then
      echo "sha256:${name}" >>"${w}-keep"
      grep '^sha256:' <<<"${refs}" >>"${w}-keep"
    fi
  done < <(blobs)
  sed 's/^sha256://' "${w}-keep" | sort -u >"$1"
}

# Older than the grace and not needed now: unneeded. Unneeded at the previous run too: due.
blobs -mmin +"${GRACE}" >"${WORK}/candidates"
needed "${WORK}/needed1"
comm -23 "${WORK}/candidates" "${WORK}/needed1" >"${WORK}/unneeded"
sort -u "${MARKS}" 2>/dev/null | comm -12 "${WORK}/unneeded" - >"${WORK}/due" || true
[[ -z "${SOCI_EKS_STORE_GC_BEFORE_RECHECK:-}" ]] || bash -c "${SOCI_EKS_STORE_GC_BEFORE_RECHECK}"
# The second look, just before removing: what a pull started since needs is kept.
needed "${WORK}/needed2"
comm -23 "${WORK}/due" "${WORK}/needed2" >"${WORK}/remove"
comm -23 "${WORK}/unneeded" "${WORK}/needed2" | comm -23 - "${WORK}/remove" >"${WORK}/marks"
rechecked=$(comm -12 "${WORK}/due" "${WORK}/needed2" | wc -l)

removed=0
bytes=0
while read -r name; do
  size=$(stat -c %s "${STORE}/${name}" 2>/dev/null) || continue
  [[ "${DRY_RUN}" == 1 ]] || rm -f -- "${STORE:?}/${name}"
  removed=$((removed + 1))
  bytes=$((bytes + size))
done <"${WORK}/remove"
verb="would remove (dry run)"
if [[ "${DRY_RUN}" != 1 ]]; then
  verb=removed
  mkdir -p "${MARKS%/*}"
  cp "${WORK}/marks" "${MARKS}"
fi
log "${verb} ${removed} blobs (${bytes} bytes) unneeded since the last run; marked $(wc -l <"${WORK}/marks") newly unneeded; kept ${rechecked} needed again at the second look"
