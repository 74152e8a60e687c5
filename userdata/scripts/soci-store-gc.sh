#!/usr/bin/env bash
# soci-eks: removes SOCI artifacts no image needs from SOCI's own store, which SOCI never prunes (#1069).
# Keeps indexes named by a manifest in containerd, covering a soci snapshot's layer, or loaded by the running
# daemon (it caches them until restart), their blobs, and blobs younger than the grace. Unsure: removes nothing.
# docs/troubleshooting.md. Tests: SOCI_EKS_ROOT, CONTAINERD_ADDRESS, SOCI_EKS_CTR, SOCI_EKS_SOCI_LOG.
set -euo pipefail

ROOT="${SOCI_EKS_ROOT:-}"
STORE="${ROOT}/var/lib/soci-snapshotter-grpc/content/blobs/sha256"
ADDRESS="${CONTAINERD_ADDRESS:-/run/containerd/containerd.sock}"
CTR="${SOCI_EKS_CTR:-ctr}"
GRACE="${SOCI_EKS_STORE_GC_GRACE_MINUTES:-60}"
DRY_RUN="${SOCI_EKS_STORE_GC_DRY_RUN:-0}"
INDEX_ANNOTATION="com.amazon.soci.index-digest"
LAYER_LABEL="containerd.io/snapshot/cri.layer-digest"
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
if [[ ! -d "${STORE}" ]]; then
  log "no SOCI content store at ${STORE}; nothing to do"
  exit 0
fi

ctr_ns() { # NAMESPACE ARGS...
  local ns=$1
  shift
  "${CTR}" --address "${ADDRESS}" --namespace "${ns}" "$@"
}

WORK=$(mktemp -d)
trap 'rm -rf "${WORK}"' EXIT
: >"${WORK}/wanted-indexes"
: >"${WORK}/layers"

# Candidates first: what containerd learns later is at worst kept.
find "${STORE}" -maxdepth 1 -type f -regextype posix-extended -regex '.*/[0-9a-f]{64}' -mmin +"${GRACE}" \
  -printf '%f\n' | sort >"${WORK}/candidates"

namespaces=$("${CTR}" --address "${ADDRESS}" namespaces ls -q) || die "containerd at ${ADDRESS} did not list its namespaces"
for ns in ${namespaces}; do
  content=$(ctr_ns "${ns}" content ls) || die "could not list content in namespace ${ns}"
  mapfile -t manifests < <(awk 'NR > 1 && /containerd\.io\/gc\.ref\.content\.config=/ { print $1 }' <<<"${content}")
  for manifest in "${manifests[@]}"; do
    body=$(ctr_ns "${ns}" content get "${manifest}") || die "could not read manifest ${manifest} in namespace ${ns}"
    jq -r --arg a "${INDEX_ANNOTATION}" '.annotations[$a] // empty' <<<"${body}" >>"${WORK}/wanted-indexes" ||
      die "manifest ${manifest} in namespace ${ns} is not JSON"
  done
  snapshots=$(ctr_ns "${ns}" snapshots --snapshotter soci ls) || die "could not list soci snapshots in namespace ${ns}"
  mapfile -t keys < <(awk 'NR > 1 { print $1 }' <<<"${snapshots}")
  for key in "${keys[@]}"; do
    info=$(ctr_ns "${ns}" snapshots --snapshotter soci info "${key}") || die "could not read soci snapshot ${key}"
    jq -r --arg l "${LAYER_LABEL}" '.Labels[$l] // empty' <<<"${info}" >>"${WORK}/layers"
  done
done
sort -u -o "${WORK}/layers" "${WORK}/layers"

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
loaded=$(daemon_log) || die "could not read the SOCI daemon's log"
if [[ -n "${loaded}" ]] && ! grep -qF '"msg":"starting soci-snapshotter-grpc"' <<<"${loaded}"; then
  die "the SOCI daemon's log no longer starts at its start"
fi
grep -F 'fetching SOCI index' <<<"${loaded}" | grep -oE '"digest":"sha256:[0-9a-f]{64}"' | cut -d'"' -f4 \
  >>"${WORK}/wanted-indexes" || true

: >"${WORK}/keep"
cat "${WORK}/layers" >>"${WORK}/keep"
while read -r name; do
  blob="${STORE}/${name}"
  [[ $(head -c 1 "${blob}") == "{" ]] || continue
  [[ $(stat -c %s "${blob}") -lt 4194304 ]] || continue
  refs=$(jq -r '
    select(((.artifactType // .config.mediaType // "") | test("^application/vnd\\.amazon\\.soci\\.index\\.v[12]\\+json$")))
    | (.layers // .blobs // [])[] | .digest, (.annotations["com.amazon.soci.image-layer-digest"] // empty)' "${blob}" 2>/dev/null) ||
    continue
  [[ -n "${refs}" ]] || continue
  if grep -qx "sha256:${name}" "${WORK}/wanted-indexes" || grep -qxFf "${WORK}/layers" <<<"${refs}"; then
    echo "sha256:${name}" >>"${WORK}/keep"
    grep '^sha256:' <<<"${refs}" >>"${WORK}/keep"
  fi
done < <(find "${STORE}" -maxdepth 1 -type f -regextype posix-extended -regex '.*/[0-9a-f]{64}' -printf '%f\n')
sed 's/^sha256://' "${WORK}/keep" | sort -u >"${WORK}/keep-hex"

removed=0
removed_bytes=0
kept=0
while read -r name; do
  if grep -qx "${name}" "${WORK}/keep-hex"; then
    kept=$((kept + 1))
    continue
  fi
  size=$(stat -c %s "${STORE}/${name}" 2>/dev/null) || continue
  if [[ "${DRY_RUN}" != 1 ]]; then
    rm -f -- "${STORE:?}/${name}"
  fi
  removed=$((removed + 1))
  removed_bytes=$((removed_bytes + size))
done <"${WORK}/candidates"
verb=removed
[[ "${DRY_RUN}" == 1 ]] && verb="would remove (dry run)"
log "${verb} ${removed} blobs (${removed_bytes} bytes); kept ${kept} older than ${GRACE} min that images, snapshots or the running daemon need"
