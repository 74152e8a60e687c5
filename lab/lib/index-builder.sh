#!/usr/bin/env bash
# The lab's index-builder section (issues 5, 19), sourced by lab/lib/node.sh while the lazy node runs.
#
# Runs the SociIndexBuilder Job's script, components/scripts/build-soci-index.sh, as the Job runs it: as uid 65532
# with no capabilities and no_new_privs (setpriv), a private work directory, no containerd socket and nothing of the
# node's credentials, with the real skopeo (Debian) and the soci 0.16.1 CLI our installer put in /usr/local/bin, the
# loopback registry as "ECR". Then the node pulls the built image through CRI and must lazy-load it. A missing image
# and a zstd image must fail with the script's clear errors.
#
# Needs from node.sh: pass fail check log lazy_run_checks $WORK $LOGS $BIN $CACHE $REGISTRY $PULL_REGISTRY $CTR_SOCK.

BUILDER_UID=65532

# builder_tools: a directory with exactly the builder image's tools (soci, skopeo, jq) for PATH
builder_tools() {
  local dir=${WORK:?}/builder-tools t
  mkdir -p "$dir"
  ln -sf /usr/local/bin/soci "$dir/soci"
  for t in skopeo jq; do ln -sf "$(command -v "$t")" "$dir/$t"; done
  printf '%s' "$dir"
}

# build_index NAME SRC_REF DST_REF: runs the Job script unprivileged; sets BUILD_RC, log in $LOGS/build-index-NAME.log
build_index() {
  local name=$1 work tools
  work=${WORK:?}/builder-$name
  tools=$(builder_tools)
  rm -rf "$work"
  mkdir -p "$work"
  chown "$BUILDER_UID:$BUILDER_UID" "$work"
  BUILD_RC=0
  # shellcheck disable=SC2016 # expanded by the inner bash
  setpriv --reuid "$BUILDER_UID" --regid "$BUILDER_UID" --clear-groups --inh-caps=-all --bounding-set=-all --no-new-privs \
    env -i PATH="$tools:/usr/bin:/bin" HOME="$work" TMPDIR="$work/tmp" WORK_DIR="$work" \
    SRC_REF="$2" DST_REF="$3" SOCI_VERSION=0.16.1 CREDENTIAL_HELPER='' INSECURE_REGISTRY=1 TERMINATION_LOG="$work/termination-log" \
    bash -c 'echo "[lab] builder runs as uid=$(id -u) gid=$(id -g) $(grep CapEff /proc/self/status | tr -s "\t" " ") $(grep NoNewPrivs /proc/self/status | tr -s "\t" " ")"; exec bash "$1"' _ \
    "$REPO_DIR/components/scripts/build-soci-index.sh" >"$LOGS/build-index-$name.log" 2>&1 || BUILD_RC=$?
}

soci_index_shape_ok() { [[ $1 == ok:* ]]; }

registry_digest() { skopeo inspect --tls-verify=false --format '{{.Digest}}' "docker://$1"; }

index_builder_section() {
  local img=$CACHE/images/app src digest dst raw
  log "index-builder section: build-soci-index.sh against the loopback registry"
  # A fresh image (seed 3) the node has never seen, so nothing of it is cached in k8s.io.
  mkimage -out "$img" -name "$REGISTRY/lab/app:v1" -entry "$BIN/labentry" \
    -cmd "/bin/entry,-frac,0.06,/data" -layers 2 -layer-bytes 16777216 -files 1 -seed 3 >&2
  skopeo copy -q --dest-tls-verify=false "oci:$img:v1" "docker://$REGISTRY/lab/app:v1"
  digest=$(registry_digest "$REGISTRY/lab/app:v1")
  src=$REGISTRY/lab/app@$digest
  dst=$REGISTRY/lab/app:v1-soci

  build_index app "$src" "$dst"
  if ((BUILD_RC == 0)) && grep -q "pushed $dst (SOCI index manifest v2)" "$LOGS/build-index-app.log"; then
    pass "index builder: build-soci-index.sh copied $src, ran soci convert --standalone (soci 0.16.1, no containerd) and pushed $dst: $(grep -o 'SOCI index manifest v2): .*' "$LOGS/build-index-app.log")"
  else
    fail "index builder: build-soci-index.sh exit $BUILD_RC: $(tail -n 3 "$LOGS/build-index-app.log" | tr '\n' ' ' | cut -c1-300)"
  fi
  check "index builder: the build ran as uid $BUILDER_UID with no capabilities and no_new_privs ($(grep -m1 '^\[lab\] builder runs as' "$LOGS/build-index-app.log" | cut -c7-))" \
    grep -q "^\[lab\] builder runs as uid=$BUILDER_UID gid=$BUILDER_UID CapEff: 0000000000000000 NoNewPrivs: 1" "$LOGS/build-index-app.log"
  raw=$(skopeo inspect --tls-verify=false --raw "docker://$dst" 2>/dev/null || true)
  local shape
  shape=$(RAW=$raw python3 - <<'PY2'
import json, os
try:
    d = json.loads(os.environ["RAW"])
except ValueError:
    print("not JSON")
    raise SystemExit
ms = d.get("manifests", [])
v2 = {m["digest"] for m in ms if m.get("artifactType") == "application/vnd.amazon.soci.index.v2+json"}
linked = [m for m in ms if (m.get("annotations") or {}).get("com.amazon.soci.index-digest") in v2]
if d.get("mediaType") == "application/vnd.oci.image.index.v1+json" and linked:
    m = linked[0]
    print("ok: image manifest %s... annotated com.amazon.soci.index-digest -> a SOCI index v2 manifest (artifactType application/vnd.amazon.soci.index.v2+json) in the same index" % m["digest"][:19])
else:
    print("bad: %s with %d manifests, %d SOCI index v2 artifacts, %d image manifests pointing at one" % (d.get("mediaType", "?"), len(ms), len(v2), len(linked)))
PY2
)
  check "index builder: the pushed image is a SOCI index manifest v2 image ($shape)" \
    soci_index_shape_ok "$shape"
  local left
  left=$(ctr --address "$CTR_SOCK" namespaces ls -q 2>/dev/null | grep -c '^soci-eks-build$' || true)
  check "index builder: the build never touched the node's containerd (no soci-eks-build namespace: $left)" test "$left" -eq 0

  lazy_run_checks "index builder: the built image" "$PULL_REGISTRY/lab/app:v1-soci" built

  # ---- negatives: a missing source image, and an image with only zstd layers
  build_index missing "$REGISTRY/lab/app@sha256:$(printf '0%.0s' {1..64})" "$REGISTRY/lab/app:missing-soci"
  if ((BUILD_RC != 0)); then
    pass "index builder negative missing-image: exit $BUILD_RC: $(grep -m1 -iE 'not found|error|failed' "$LOGS/build-index-missing.log" | cut -c1-200)"
  else
    fail "index builder negative missing-image: the script succeeded"
  fi
  # zstd layers are made in a local OCI layout first: pushing with --dest-compress-format zstd straight to the
  # registry let skopeo reuse the gzip blobs it had just pushed for app:v1 (seen on a fresh clone).
  rm -rf "$img-zstd"
  skopeo copy -q --dest-compress-format zstd --dest-compress "oci:$img:v1" "oci:$img-zstd:v1"
  skopeo copy -q --dest-tls-verify=false "oci:$img-zstd:v1" "docker://$REGISTRY/lab/app-zstd:v1"
  local zstd_layers
  zstd_layers=$(skopeo inspect --tls-verify=false --raw "docker://$REGISTRY/lab/app-zstd:v1" | grep -c 'tar+zstd' || true)
  ((zstd_layers > 0)) || fail "index builder negative zstd-image: the lab could not make a zstd image (no tar+zstd layer in the pushed manifest)"
  digest=$(registry_digest "$REGISTRY/lab/app-zstd:v1")
  build_index zstd "$REGISTRY/lab/app-zstd@$digest" "$REGISTRY/lab/app-zstd:v1-soci"
  if ((BUILD_RC != 0)) && grep -q "zstd-compressed; SOCI can index only gzip or uncompressed layers" "$LOGS/build-index-zstd.log"; then
    pass "index builder negative zstd-image: exit $BUILD_RC: $(grep -m1 'ERROR' "$LOGS/build-index-zstd.log" | cut -c1-200)"
  else
    fail "index builder negative zstd-image: exit $BUILD_RC: $(tail -n 2 "$LOGS/build-index-zstd.log" | tr '\n' ' ' | cut -c1-300)"
  fi
}
