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

# builder_tools: a directory with exactly the builder image's tools (soci, skopeo, jq, soci-eks-prefetch) for PATH
builder_tools() {
  local dir=${WORK:?}/builder-tools t
  mkdir -p "$dir"
  ln -sf /usr/local/bin/soci "$dir/soci"
  ln -sf "$BIN/soci-eks-prefetch" "$dir/soci-eks-prefetch"
  for t in skopeo jq; do ln -sf "$(command -v "$t")" "$dir/$t"; done
  printf '%s' "$dir"
}

# build_index NAME SRC_REF DST_REF [VAR=VALUE...]: runs the Job script unprivileged in $WORK/builder-NAME (kept when
# STEP=fetch, for the recording); sets BUILD_RC, log in $LOGS/build-index-NAME[-STEP].log
build_index() {
  local name=$1 src=$2 dst=$3 work tools step=all v
  shift 3
  for v in "$@"; do [[ $v != STEP=* ]] || step=${v#STEP=}; done
  work=${WORK:?}/builder-$name
  tools=$(builder_tools)
  if [[ $step != build ]]; then
    rm -rf "$work"
    mkdir -p "$work"
    chown "$BUILDER_UID:$BUILDER_UID" "$work"
  fi
  BUILD_LOG=$LOGS/build-index-$name$([[ $step == all ]] || echo "-$step").log
  BUILD_RC=0
  # shellcheck disable=SC2016 # expanded by the inner bash
  setpriv --reuid "$BUILDER_UID" --regid "$BUILDER_UID" --clear-groups --inh-caps=-all --bounding-set=-all --no-new-privs \
    env -i PATH="$tools:/usr/bin:/bin" HOME="$work" TMPDIR="$work/tmp" WORK_DIR="$work" \
    SRC_REF="$src" DST_REF="$dst" SOCI_VERSION=0.16.1 CREDENTIAL_HELPER='' INSECURE_REGISTRY=1 TERMINATION_LOG="$work/termination-log" "$@" \
    bash -c 'echo "[lab] builder runs as uid=$(id -u) gid=$(id -g) $(grep CapEff /proc/self/status | tr -s "\t" " ") $(grep NoNewPrivs /proc/self/status | tr -s "\t" " ")"; exec bash "$1"' _ \
    "$REPO_DIR/components/scripts/build-soci-index.sh" >"$BUILD_LOG" 2>&1 || BUILD_RC=$?
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
  local shape idx_digest idx_raw=""
  idx_digest=$(jq -r 'first(.manifests[]?.annotations["com.amazon.soci.index-digest"] // empty)' <<<"$raw" 2>/dev/null || true)
  [[ -z $idx_digest ]] || idx_raw=$(skopeo inspect --tls-verify=false --raw "docker://${dst%:*}@$idx_digest" 2>/dev/null || true)
  shape=$(RAW=$raw IDX=$idx_raw python3 - <<'PY2'
import json, os
try:
    d = json.loads(os.environ["RAW"])
    idx = json.loads(os.environ["IDX"] or "{}")
except ValueError:
    print("not JSON")
    raise SystemExit
ms = d.get("manifests", [])
digests = {m["digest"] for m in ms}
linked = [m for m in ms if (m.get("annotations") or {}).get("com.amazon.soci.index-digest") in digests]
is_v2 = (idx.get("config") or {}).get("mediaType") == "application/vnd.amazon.soci.index.v2+json"
if d.get("mediaType") == "application/vnd.oci.image.index.v1+json" and linked and is_v2:
    m = linked[0]
    print("ok: image manifest %s... annotated com.amazon.soci.index-digest -> a manifest in the same index whose config is application/vnd.amazon.soci.index.v2+json, with %d zTOCs" % (m["digest"][:19], len(idx.get("layers", []))))
else:
    print("bad: %s with %d manifests, %d image manifests pointing at one of them, index config %s" % (d.get("mediaType", "?"), len(ms), len(linked), (idx.get("config") or {}).get("mediaType")))
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

  prefetch_section
}

# ---------------------------------------------------------------- recorded-access prefetch (issue 21) ---
PF_CFG=/etc/soci-eks/soci-snapshotter-grpc.toml
PF_RESOLVE=64

# pf_image SEED NAME: a ref-like workload: 4 x 24 MiB incompressible layers of 2 files (12 MiB each); the entrypoint
# reads the first 6% of every file, so a whole-file prefetch would fetch ~16x what it reads.
pf_image() {
  local img=$CACHE/images/pf-$2
  mkimage -out "$img" -name "$REGISTRY/lab/$2:v1" -entry "$BIN/labentry" -cmd "/bin/entry,-frac,0.06,/data" \
    -layers 4 -layer-bytes $((24 << 20)) -files 2 -seed "$1" >&2
  skopeo copy -q --dest-tls-verify=false "oci:$img:v1" "docker://$REGISTRY/lab/$2:v1"
}

# pf_enable_soci: [prefetch] enable = true and resolve_result_entry at the TOP of SOCI's config (a top-level key after a
# table would land in that table and be ignored), checked with config dump, then SOCI restarted. Saves the config.
pf_enable_soci() {
  cp "$PF_CFG" "$WORK/soci-config-before-prefetch.toml"
  if grep -q '^resolve_result_entry' "$PF_CFG"; then
    # already at the top level (lazy-mode user data sets it): raise it only if it is lower
    (($(sed -nE 's/^resolve_result_entry *= *([0-9]+).*/\1/p' "$PF_CFG") >= PF_RESOLVE)) ||
      sed -i -E "s/^resolve_result_entry *=.*/resolve_result_entry = $PF_RESOLVE/" "$PF_CFG"
  else
    { printf 'resolve_result_entry = %s\n' "$PF_RESOLVE"; cat "$WORK/soci-config-before-prefetch.toml"; } >"$PF_CFG"
  fi
  if grep -q '^\[prefetch\]' "$PF_CFG"; then
    python3 - "$PF_CFG" <<'PY'
import re, sys
p = sys.argv[1]
s = open(p).read()
head, _, rest = s.partition("[prefetch]\n")
body, sep, tail = rest.partition("\n[")
body = re.sub(r"(?m)^enable *=.*\n?", "", body)
open(p, "w").write(head + "[prefetch]\nenable = true\n" + body + sep + tail)
PY
  else
    printf '\n[prefetch]\nenable = true\n' >>"$PF_CFG"
  fi
  /usr/local/bin/soci-snapshotter-grpc --config "$PF_CFG" config dump >"$LOGS/soci-config-dump-prefetch.toml" 2>&1 || true
  python3 - "$LOGS/soci-config-dump-prefetch.toml" "$PF_RESOLVE" <<'PY' >"$WORK/pf-dump-check" 2>&1
import sys, tomllib
d = tomllib.load(open(sys.argv[1], "rb"))
ok = d.get("prefetch", {}).get("enable") is True and (d.get("resolve_result_entry") or 0) >= int(sys.argv[2])
print("%s prefetch.enable=%s resolve_result_entry=%s" % ("ok" if ok else "bad", d.get("prefetch", {}).get("enable"), d.get("resolve_result_entry")))
PY
  check "prefetch: SOCI's config dump shows [prefetch] enable = true and resolve_result_entry >= $PF_RESOLVE ($(cat "$WORK/pf-dump-check"))" \
    grep -q "^ok " "$WORK/pf-dump-check"
  restart_soci prefetch
}

pf_restore_soci() {
  cp "$WORK/soci-config-before-prefetch.toml" "$PF_CFG"
  restart_soci after-prefetch
}

# pf_spans REF: "<artifacts> <spans>" of the prefetch artifacts of REF's SOCI index (read from the registry)
pf_spans() {
  local raw man idx d artifacts=0 spans=0 n repo=${1#*/}
  repo=${repo%:*}
  raw=$(skopeo inspect --tls-verify=false --raw "docker://$1")
  man=$(jq -r '.manifests[] | select(.annotations["com.amazon.soci.index-digest"] != null) | .digest' <<<"$raw" | head -n 1)
  idx=$(skopeo inspect --tls-verify=false --raw "docker://${1%:*}@$man" | jq -r '.annotations["com.amazon.soci.index-digest"]')
  for d in $(skopeo inspect --tls-verify=false --raw "docker://${1%:*}@$idx" | jq -r '.layers[] | select(.mediaType == "application/vnd.amazon.soci.prefetch.v1+json") | .digest'); do
    n=$(curl -fsS "http://$REGISTRY/v2/$repo/blobs/$d" 2>/dev/null | jq '[.prefetch_spans[] | .end_span - .start_span + 1] | add')
    artifacts=$((artifacts + 1)) spans=$((spans + n))
  done
  echo "$artifacts $spans"
}

prefetch_section() {
  local work=$WORK/builder-pf reads span_mib=2 files plain_od pf_od artifacts spans whole loaded ok PLAIN_PULL_BYTES
  log "index-builder prefetch: record, build with prefetch artifacts, pull lazily with [prefetch] enable = true"
  pf_image 31 pf-plain
  pf_image 32 pf
  local src_plain src_pf
  src_plain=$REGISTRY/lab/pf-plain@$(registry_digest "$REGISTRY/lab/pf-plain:v1")
  src_pf=$REGISTRY/lab/pf@$(registry_digest "$REGISTRY/lab/pf:v1")

  # The tool's own unit tests (pure pieces: ranges -> spans, merging, shadowing).
  if (cd "$REPO_DIR/tools/soci-eks-prefetch" && GOFLAGS=-mod=readonly GOTOOLCHAIN=local go test ./... >"$LOGS/soci-eks-prefetch-go-test.log" 2>&1); then
    pass "prefetch: soci-eks-prefetch go test: $(tail -n 1 "$LOGS/soci-eks-prefetch-go-test.log")"
  else
    fail "prefetch: soci-eks-prefetch go test failed: $(tail -n 5 "$LOGS/soci-eks-prefetch-go-test.log" | tr '\n' ' ')"
  fi

  # 1. fetch (unprivileged), 2. record (root: FUSE + runc, the image in its own namespaces, loopback-only network),
  # 3. build with the recorded reads (unprivileged): the recording Job's three containers.
  build_index pf "$src_pf" "$REGISTRY/lab/pf:v1-soci" STEP=fetch
  ((BUILD_RC == 0)) || { fail "prefetch: fetch step exit $BUILD_RC: $(tail -n 3 "$BUILD_LOG" | tr '\n' ' ')"; return 0; }
  reads=$work/reads-record.json
  if "$BIN/soci-eks-prefetch" record --layout "$work/src" --seconds 5 --out "$reads" --workdir "$work" --runc "$(command -v runc)" \
    >"$LOGS/prefetch-record.log" 2>&1; then
    pass "prefetch: recorded $(grep -o 'recorded .*' "$LOGS/prefetch-record.log")"
  else
    fail "prefetch: record failed: $(tail -n 5 "$LOGS/prefetch-record.log" | tr '\n' ' ' | cut -c1-400)"
    return 0
  fi
  check "prefetch: the recording left no mount behind" test "$(grep -c soci-eks-record /proc/mounts)" -eq 0
  files=$(jq '[.files[] | select(.path | startswith("/data/"))] | length' "$reads")
  # each data file read from offset 0, less than a fifth of it (6% plus the kernel's read-ahead), not the whole file
  check "prefetch: the record holds byte ranges, not whole files: $files of 8 data files, each a range from 0 of $(jq -r '[.files[] | select(.path | startswith("/data/")) | .ranges[0][1]] | unique | map(tostring) | join(",")' "$reads") of 12582912 bytes" \
    jq -e '[.files[] | select(.path | startswith("/data/"))] | length == 8 and all(.ranges[0][0] == 0 and (.ranges | map(.[1]) | add) < 12582912 / 5)' "$reads"
  chmod 0644 "$reads"
  build_index pf "$src_pf" "$REGISTRY/lab/pf:v1-soci" STEP=build PREFETCH_READS="$reads"
  if ((BUILD_RC == 0)) && grep -q "prefetch (linux/" "$BUILD_LOG"; then
    pass "prefetch: built and pushed $REGISTRY/lab/pf:v1-soci: $(grep -o 'SOCI index manifest v2): .*' "$BUILD_LOG")"
  else
    fail "prefetch: build step exit $BUILD_RC: $(tail -n 4 "$BUILD_LOG" | tr '\n' ' ' | cut -c1-400)"
    return 0
  fi
  read -r artifacts spans <<<"$(pf_spans "$REGISTRY/lab/pf:v1-soci")"
  whole=$((8 * 12 / span_mib))
  check "prefetch: the pushed index has $artifacts prefetch artifacts (4 indexed layers) with $spans spans, against $whole for the whole files" \
    test "$artifacts" -eq 4 -a "$spans" -le $((whole / 3))
  build_index pf-plain "$src_plain" "$REGISTRY/lab/pf-plain:v1-soci"
  ((BUILD_RC == 0)) || fail "prefetch: plain build exit $BUILD_RC: $(tail -n 3 "$BUILD_LOG" | tr '\n' ' ')"
  check "prefetch: without the option the index has no prefetch artifact (indexed as before): $(pf_spans "$REGISTRY/lab/pf-plain:v1-soci")" \
    test "$(pf_spans "$REGISTRY/lab/pf-plain:v1-soci")" = "0 0"

  # 4. Pull both lazily on a node with prefetch on. On-demand bytes = bytes served between the end of the pull and the
  # container's exit (after its reads): with the recorded prefetch the reads must find their spans already fetched.
  pf_enable_soci
  lazy_run_checks "prefetch: plain index" "$PULL_REGISTRY/lab/pf-plain:v1-soci" pfplain 4
  plain_od=$((BYTES - PULL_BYTES)) PLAIN_PULL_BYTES=$PULL_BYTES
  lazy_run_checks "prefetch: recorded index" "$PULL_REGISTRY/lab/pf:v1-soci" pf 4
  pf_od=$((BYTES - PULL_BYTES))
  loaded=$(grep -c 'Successfully loaded prefetch artifact' "$SOCI_LOG_NOW" || true)
  check "prefetch: SOCI loaded the prefetch artifact of every indexed layer ($loaded 'Successfully loaded prefetch artifact' lines, want 4)" test "$loaded" -ge 4
  ok=0
  ((plain_od > 0 && pf_od * 10 <= plain_od)) && ok=1
  check "prefetch: the recorded reads came from prefetch, not on-demand fetches: after the pull the container fetched $pf_od bytes (plain index: $plain_od after its pull of $PLAIN_PULL_BYTES); this pull fetched ${PULL_BYTES} bytes, total $BYTES" test "$ok" -eq 1
  check "prefetch: prefetch fetched the read spans, not the files ($BYTES bytes in all, at most 1.3x the plain index's $((plain_od + PLAIN_PULL_BYTES)))" \
    test "$BYTES" -le $(((plain_od + PLAIN_PULL_BYTES) * 13 / 10))
  pf_restore_soci
}
