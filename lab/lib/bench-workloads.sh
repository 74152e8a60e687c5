# Sourced by lab/lib/bench-node.sh: the bench's workloads (images), built once and cached in lab/.cache/images.
# shellcheck shell=bash
#
# A workload is an image, its SOCI indexes (one per span size) and what its entrypoint reads:
#   ref    the reference image: 9 x 120 MiB incompressible layers of 4 files; the entrypoint reads the first 6% of each
#          of its 36 files (Harter et al.'s 6.4%).
#   big    a big mostly-unread image, like an ML image whose entrypoint imports a few libraries: 32 x 120 MiB
#          incompressible layers of 16 files (7.5 MiB each, 4.03 GB); the entrypoint reads 10 whole files in 10 layers
#          (75 MiB, 1.95%).
#   refgz  ref's shape with compressible text-like data and real gzip (-6, about 2.4:1): unpacking costs CPU.
#   files  8 x 16 MiB layers of 8000 small files each (64,000 files): what SOCI's per-file metadata costs at mount.
# Env: BENCH_LAYER_MIB (120), BENCH_FILES (4), BENCH_FRAC (0.06) shape ref and refgz; BENCH_SPANS ("4 2 1", MiB) the
# SOCI indexes built for every workload. A workload whose entrypoint reads whole files (big) also gets an index with
# SOCI prefetch artifacts for those files (`soci convert --prefetch-file`, default span size): index "<span>-pf".

SPANS=${BENCH_SPANS:-4 2 1}

# wl_image WL: sets WL_LAYERS WL_FILES WL_CMD WL_SEED WL_EXTRA (mkimage flags) and WL_DESC for workload WL
wl_image() {
  local mib=${BENCH_LAYER_MIB:-120} files=${BENCH_FILES:-4} frac=${BENCH_FRAC:-0.06} f paths=()
  case $1 in
    ref | refgz)
      WL_LAYERS=9 WL_LAYER_MIB=$mib WL_FILES=$files WL_CMD="/bin/entry,-frac,$frac,/data" WL_SEED=42 WL_EXTRA=()
      WL_PREFETCH=()
      WL_READ_FILES=$((9 * files)) WL_READ_BYTES_PER_FILE=$(awk -v b=$(((mib << 20) / files)) -v x="$frac" 'BEGIN { printf "%d", b * x }')
      WL_DESC="9 x $mib MiB incompressible layers of $files files; the entrypoint reads the first $(awk -v x="$frac" 'BEGIN { print x * 100 }')% of each file"
      if [[ $1 == refgz ]]; then
        WL_SEED=43 WL_EXTRA=(-compressible -gzip-level 6)
        WL_DESC="9 x $mib MiB layers of compressible text-like data (gzip -6, about 2.4:1) of $files files; the entrypoint reads the first $(awk -v x="$frac" 'BEGIN { print x * 100 }')% of each file"
      fi
      ;;
    big)
      # 10 whole files, one in each of layers 3, 6, ..., 30
      for ((f = 3; f <= 30; f += 3)); do paths+=("/data/L$(printf %02d "$f")/f$(printf %03d $((f % 16))).bin"); done
      WL_LAYERS=32 WL_LAYER_MIB=120 WL_FILES=16 WL_SEED=44 WL_EXTRA=()
      WL_CMD="/bin/entry,-frac,1,$(
        IFS=,
        echo "${paths[*]}"
      )"
      WL_PREFETCH=("${paths[@]}")
      WL_READ_FILES=${#paths[@]} WL_READ_BYTES_PER_FILE=$(((120 << 20) / 16))
      WL_DESC="32 x 120 MiB incompressible layers of 16 files; the entrypoint reads ${#paths[@]} whole files in ${#paths[@]} layers"
      ;;
    files)
      # many small files, like a Python or Node image: what SOCI's metadata store (bbolt, one entry per file) costs
      WL_LAYERS=8 WL_LAYER_MIB=16 WL_FILES=8000 WL_SEED=45 WL_EXTRA=() WL_PREFETCH=()
      WL_CMD="/bin/entry,-frac,1,/data/L01"
      # the entrypoint reads one layer's 8000 files, laid out one after another: counted as one 16 MiB read
      WL_READ_FILES=1 WL_READ_BYTES_PER_FILE=$((16 << 20))
      WL_DESC="8 x 16 MiB incompressible layers of 8000 files (2 KiB each); the entrypoint reads every file of one layer"
      ;;
    *)
      log "unknown workload $1 (want ref, big, refgz or files)"
      return 1
      ;;
  esac
}

# wl_build WL: builds (once; cached per shape and entry binary) and pushes WL and its SOCI indexes, one per span size:
# $REGISTRY/lab/bench-WL:v1 and :v1-soci-s<MiB>, and :v1-soci-s<MiB>-pf (prefetch). Sets WL_KEY and WL_INDEXES.
wl_build() {
  local wl=$1 img=$CACHE/images t0 span layout b idx f pf
  wl_image "$wl" || return 1
  WL_INDEXES=$SPANS
  ((${#WL_PREFETCH[@]} == 0)) || WL_INDEXES+=" $DEFAULT_SPAN_MIB-pf"
  # the bench passes the indexes its plan pulls (WL_WANT_INDEXES); a prefetch index only where the workload has one
  if [[ -n ${WL_WANT_INDEXES+x} ]]; then
    local want='' i
    for i in $WL_WANT_INDEXES; do
      if [[ $i == *-pf ]] && ((${#WL_PREFETCH[@]} == 0)); then continue; fi
      want+=" $i"
    done
    WL_INDEXES=${want# }
  fi
  WL_KEY="bench-$wl-${WL_LAYERS}x${WL_LAYER_MIB}MiB-${WL_FILES}f-$(printf '%s' "$WL_CMD ${WL_EXTRA[*]}" | sha256sum | cut -c1-8)-entry$(sha256sum "$BIN/labentry" | cut -c1-12)"
  exec 8>"$CACHE/bench-$wl.lock"
  flock 8
  if [[ ! -f $img/$WL_KEY.done ]]; then
    t0=$SECONDS
    rm -f "$img"/bench-"$wl"-*.done
    rm -rf "$img/bench-$wl" "$img"/bench-"$wl"-soci-s*
    mkimage -out "$img/bench-$wl" -name "$REGISTRY/lab/bench-$wl:v1" -entry "$BIN/labentry" -cmd "$WL_CMD" \
      -layers "$WL_LAYERS" -layer-bytes $((WL_LAYER_MIB << 20)) -files "$WL_FILES" -seed "$WL_SEED" "${WL_EXTRA[@]}" >&2
    touch "$img/$WL_KEY.done"
    log "built workload $wl in $((SECONDS - t0))s"
  fi
  for idx in $WL_INDEXES; do
    layout=$img/bench-$wl-soci-s$idx
    [[ -f $layout.$WL_KEY.done ]] && continue
    t0=$SECONDS
    rm -rf "$layout"
    span=${idx%-pf} pf=()
    span=${span%-rec}
    if [[ $idx == *-pf ]]; then for f in "${WL_PREFETCH[@]}"; do pf+=(--prefetch-file "$f"); done; fi
    soci convert --standalone --format oci-dir --span-size $((span << 20)) "${pf[@]}" "$img/bench-$wl" "$layout" >"$LOGS/soci-convert-$wl-s$idx.log" 2>&1 ||
      { log "soci convert failed: $(tail -n 3 "$LOGS/soci-convert-$wl-s$idx.log")"; return 1; }
    # -rec: the index builder's prefetch writer adds artifacts for the byte ranges the entrypoint reads
    if [[ $idx == *-rec ]]; then
      wl_reads_json "$wl" >"$LOGS/reads-$wl.json" || return 1
      "$BIN/soci-eks-prefetch" apply --layout "$layout" --reads "$LOGS/reads-$wl.json" >"$LOGS/prefetch-apply-$wl.log" 2>&1 ||
        { log "soci-eks-prefetch apply failed: $(tail -n 3 "$LOGS/prefetch-apply-$wl.log")"; return 1; }
    fi
    # the layers are the image's own: hard links, not copies (disk)
    for b in "$layout"/blobs/sha256/*; do
      [[ -f $img/bench-$wl/blobs/sha256/${b##*/} ]] && ln -f "$img/bench-$wl/blobs/sha256/${b##*/}" "$b"
    done
    touch "$layout.$WL_KEY.done"
    log "indexed workload $wl: index $idx (span MiB; -pf: with prefetch artifacts) in $((SECONDS - t0))s"
  done
  t0=$SECONDS
  skopeo copy -q --dest-tls-verify=false "oci:$img/bench-$wl:v1" "docker://$REGISTRY/lab/bench-$wl:v1"
  for idx in $WL_INDEXES; do
    skopeo copy -q --all --dest-tls-verify=false "oci:$img/bench-$wl-soci-s$idx" "docker://$REGISTRY/lab/bench-$wl:v1-soci-s$idx"
  done
  flock -u 8
  log "pushed workload $wl in $((SECONDS - t0))s"
}

# wl_reads_json WL: the entrypoint's reads as the index builder's read list (docs/index-builder.md, "soci-eks-prefetch"):
# ref/refgz: the first BENCH_FRAC of each of the 9 x BENCH_FILES files; big: its 10 files whole
wl_reads_json() {
  local wl=$1 l f size
  wl_image "$wl" || return 1
  case $wl in
    ref | refgz)
      for ((l = 1; l <= WL_LAYERS; l++)); do
        for ((f = 0; f < WL_FILES; f++)); do
          size=$(((WL_LAYER_MIB << 20) / WL_FILES))
          ((f == WL_FILES - 1)) && size=$(((WL_LAYER_MIB << 20) - size * (WL_FILES - 1)))
          printf '%s %s\n' "$(printf '/data/L%02d/f%03d.bin' "$l" "$f")" "$(awk -v s="$size" -v x="${BENCH_FRAC:-0.06}" 'BEGIN { printf "%d", s * x + 1 }')"
        done
      done | jq -R -s '{version: 1, source: "list", platform: "linux/amd64",
        files: (split("\n") | map(select(length > 0) | split(" ") | {path: .[0], ranges: [[0, (.[1] | tonumber)]]}))}'
      ;;
    big) printf '%s\n' "${WL_PREFETCH[@]}" | jq -R -s '{version: 1, source: "list", platform: "linux/amd64", files: (split("\n") | map(select(length > 0) | {path: .}))}' ;;
    *) log "no read list for workload $wl"; return 1 ;;
  esac
}

# wl_facts WL INDEX: prints one JSON object with what the lazy expectation and the floor need for WL's index INDEX
# (<span MiB> or <span MiB>-pf)
wl_facts() {
  local wl=$1 span=${2%-pf} img=$CACHE/images man idx idx_manifest pf_spans d
  span=${span%-rec}
  wl_image "$wl" || return 1
  man=$img/bench-$wl/blobs/sha256/$(jq -r '.manifests[0].digest' "$img/bench-$wl/index.json" | cut -d: -f2)
  idx=$(soci_index_blob "$img/bench-$wl-soci-s$2") || { log "no SOCI index in $img/bench-$wl-soci-s$2"; return 1; }
  idx_manifest=$(stat -c %s "$idx")
  # the spans the index's prefetch artifacts list (prefetch rows may fetch them all)
  pf_spans=0
  for d in $(jq -r '.layers[] | select(.mediaType == "application/vnd.amazon.soci.prefetch.v1+json") | .digest | sub("sha256:"; "")' "$idx"); do
    pf_spans=$((pf_spans + $(jq '[.prefetch_spans[] | .end_span - .start_span + 1] | add // 0' "$img/bench-$wl-soci-s$2/blobs/sha256/$d")))
  done
  jq -n --slurpfile m "$man" --slurpfile i "$idx" --argjson idx_manifest "$idx_manifest" --argjson span $((span << 20)) \
    --argjson pf_spans "$pf_spans" \
    --argjson read_files "$WL_READ_FILES" --argjson read_per_file "$WL_READ_BYTES_PER_FILE" --arg desc "$WL_DESC" '
    ($i[0].layers | map(select(.mediaType == "application/octet-stream"))) as $ztocs |
    ($i[0].layers | map(select(.mediaType == "application/vnd.amazon.soci.prefetch.v1+json"))) as $prefetch |
    ($ztocs | map(.annotations["com.amazon.soci.image-layer-digest"])) as $indexed |
    {description: $desc, layers: ($m[0].layers | length), image_bytes: ($m[0].layers | map(.size) | add),
     indexed_layers: ($indexed | length), indexed_digests: $indexed, span_bytes: $span,
     ztoc_bytes: ($ztocs | map(.size) | add), prefetch_artifact_bytes: ($prefetch | map(.size) | add // 0),
     prefetch_spans: $pf_spans, prefetch_span_bytes: ($pf_spans * $span),
     index_manifest_bytes: ($idx_manifest + ($prefetch | map(.size) | add // 0)),
     unindexed_bytes: ([$m[0].layers[] | select(.digest as $d | $indexed | index($d) | not) | .size] | add // 0),
     read_files: $read_files, read_bytes_per_file: $read_per_file}'
}
