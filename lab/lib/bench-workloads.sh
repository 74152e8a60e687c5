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
# Index "<span>-rec" (lazy-rec rows): prefetch artifacts written by the index builder's `soci-eks-prefetch apply` from
# a recording of the image (`soci-eks-prefetch record`, run once per image and recorder inputs; wl_record).
# BENCH_RECORD_SECONDS (30): the recording window from the container's start; BENCH_RECORD_TIMEOUT (900): seconds the
# whole recorder may take (it unpacks the image first).

SPANS=${BENCH_SPANS:-4 2 1}
# Per workload: the id of its recorded index (the recording's digest, 12 hex) and the recording's check (JSON,
# lab/report/recording.ts) or failure ({"workload", "ok": false, "problems"}).
declare -gA WL_REC_ID=() WL_REC_RESULT=()

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

# wl_index_dir WL INDEX / wl_index_tag WL INDEX: where index INDEX of WL lives in the cache and its tag in the
# registry. A recorded index (<span>-rec) is named by its recording (WL_REC_ID): another recording, another name.
wl_index_dir() {
  local d=$CACHE/images/bench-$1-soci-s$2
  [[ $2 != *-rec ]] || d+=-${WL_REC_ID[$1]:?no recording for $1}
  echo "$d"
}
wl_index_tag() {
  local t=v1-soci-s$2
  [[ $2 != *-rec ]] || t+=-${WL_REC_ID[$1]:?no recording for $1}
  echo "$t"
}

# wl_build WL: builds (once; cached per shape and entry binary) and pushes WL and its SOCI indexes, one per span size:
# $REGISTRY/lab/bench-WL:v1 and :v1-soci-s<MiB>, :v1-soci-s<MiB>-pf (prefetch) and :v1-soci-s<MiB>-rec-<id> (recorded
# prefetch). Sets WL_KEY and WL_INDEXES. A recording that fails leaves the -rec index out and says why in
# WL_REC_RESULT[WL] (its rows fail; the other rows run).
wl_build() {
  local wl=$1 img=$CACHE/images t0 span layout b idx f pf want i
  wl_image "$wl" || return 1
  WL_INDEXES=$SPANS
  ((${#WL_PREFETCH[@]} == 0)) || WL_INDEXES+=" $DEFAULT_SPAN_MIB-pf"
  # the bench passes the indexes its plan pulls (WL_WANT_INDEXES); a prefetch index only where the workload has one
  if [[ -n ${WL_WANT_INDEXES+x} ]]; then
    want=''
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
    rm -f "$img"/bench-"$wl"-*.done "$img"/bench-"$wl".record-*
    rm -rf "$img/bench-$wl" "$img"/bench-"$wl"-soci-s*
    mkimage -out "$img/bench-$wl" -name "$REGISTRY/lab/bench-$wl:v1" -entry "$BIN/labentry" -cmd "$WL_CMD" \
      -layers "$WL_LAYERS" -layer-bytes $((WL_LAYER_MIB << 20)) -files "$WL_FILES" -seed "$WL_SEED" "${WL_EXTRA[@]}" >&2
    touch "$img/$WL_KEY.done"
    log "built workload $wl in $((SECONDS - t0))s"
  fi
  # recorded prefetch: record the image once (cached), or leave its index out and say why
  unset "WL_REC_ID[$wl]" "WL_REC_RESULT[$wl]"
  if [[ " $WL_INDEXES " == *-rec* ]]; then
    if wl_record "$wl"; then
      WL_REC_ID[$wl]=$(sha256sum "$WL_REC_READS" | cut -c1-12)
    else
      WL_REC_RESULT[$wl]=$(jq -c -n --arg wl "$wl" --arg why "$WL_REC_ERROR" '{workload: $wl, ok: false, problems: ["recording failed: \($why)"]}')
      want=''
      for i in $WL_INDEXES; do [[ $i == *-rec ]] || want+=" $i"; done
      WL_INDEXES=${want# }
    fi
  fi
  for idx in $WL_INDEXES; do
    layout=$(wl_index_dir "$wl" "$idx")
    [[ -f $layout.$WL_KEY.done ]] && continue
    t0=$SECONDS
    # a recorded index replaces those of older recordings (their layouts, markers and summaries)
    [[ $idx != *-rec ]] || rm -rf "$img"/bench-"$wl"-soci-s"$idx"-*
    rm -rf "$layout"
    span=${idx%-pf} pf=()
    span=${span%-rec}
    if [[ $idx == *-pf ]]; then for f in "${WL_PREFETCH[@]}"; do pf+=(--prefetch-file "$f"); done; fi
    soci convert --standalone --format oci-dir --span-size $((span << 20)) "${pf[@]}" "$img/bench-$wl" "$layout" >"$LOGS/soci-convert-$wl-s$idx.log" 2>&1 ||
      { log "soci convert failed: $(tail -n 3 "$LOGS/soci-convert-$wl-s$idx.log")"; return 1; }
    # -rec: the index builder's prefetch writer adds artifacts for the byte ranges the recording holds
    if [[ $idx == *-rec ]]; then
      "$BIN/soci-eks-prefetch" apply --layout "$layout" --reads "$WL_REC_READS" --summary "$layout.apply.json" >"$LOGS/prefetch-apply-$wl.log" 2>&1 ||
        { log "soci-eks-prefetch apply failed: $(tail -n 3 "$LOGS/prefetch-apply-$wl.log")"; return 1; }
    fi
    # the layers are the image's own: hard links, not copies (disk)
    for b in "$layout"/blobs/sha256/*; do
      [[ -f $img/bench-$wl/blobs/sha256/${b##*/} ]] && ln -f "$img/bench-$wl/blobs/sha256/${b##*/}" "$b"
    done
    touch "$layout.$WL_KEY.done"
    log "indexed workload $wl: index $idx (span MiB; -pf: with prefetch artifacts; -rec: from the recording) in $((SECONDS - t0))s"
  done
  # the recording against what the entrypoint reads by the workload's definition (lab/report/recording.ts)
  if [[ -n ${WL_REC_ID[$wl]:-} ]]; then
    idx=$(for i in $WL_INDEXES; do [[ $i == *-rec ]] && echo "$i"; done | head -n 1)
    wl_definition_json "$wl" >"$LOGS/definition-$wl.json" || return 1
    WL_REC_RESULT[$wl]=$(node "$REPO_DIR/dist/lab/report/recordingMain.js" compare --workload "$wl" --definition "$LOGS/definition-$wl.json" \
      --recorded "$WL_REC_READS" --apply "$(wl_index_dir "$wl" "$idx").apply.json") || { log "could not compare the recording of $wl"; return 1; }
    log "recording of $wl: $(jq -r '"\(.recorded.files) files, \(.recorded.bytes) bytes recorded; covers \(.covered_bytes) of the \(.definition.bytes) bytes the entrypoint reads; prefetch \(.prefetch.spans) spans (\(.prefetch.span_bytes) bytes)" + (if .ok then "" else "; FAILED: " + (.problems | join("; ")) end)' <<<"${WL_REC_RESULT[$wl]}")"
  fi
  t0=$SECONDS
  skopeo copy -q --dest-tls-verify=false "oci:$img/bench-$wl:v1" "docker://$REGISTRY/lab/bench-$wl:v1"
  for idx in $WL_INDEXES; do
    skopeo copy -q --all --dest-tls-verify=false "oci:$(wl_index_dir "$wl" "$idx")" "docker://$REGISTRY/lab/bench-$wl:$(wl_index_tag "$wl" "$idx")"
  done
  flock -u 8
  log "pushed workload $wl in $((SECONDS - t0))s"
}

# wl_record WL: records what WL's image reads when it starts, once: `soci-eks-prefetch record` on the image's layout, as
# the index builder's record step runs it (root, runc, the image in its own pid/mount/ipc/uts/cgroup namespaces and a
# network namespace with only loopback; the recorder unpacks the image into a scratch directory and removes it), for at
# most BENCH_RECORD_SECONDS from the container's start and BENCH_RECORD_TIMEOUT in all. The reads file is cached beside
# the image as bench-WL.record-<key>.json, key = sha256 of the recorder's inputs (the image's manifest digest, the
# recorder binary, runc, the kernel, the window, the platform; listed in .inputs beside it): another image or another
# recorder is another key, so a stale recording is never used. Sets WL_REC_READS, or WL_REC_ERROR and fails.
wl_record() {
  local wl=$1 img=$CACHE/images digest inputs key out work rc runc t0 left
  WL_REC_READS='' WL_REC_ERROR=''
  [[ -x $BIN/soci-eks-prefetch ]] || { WL_REC_ERROR="no $BIN/soci-eks-prefetch: build it with lab/build-tools.sh soci-eks-prefetch (or run without LAB_SKIP_BUILD=1)"; return 1; }
  runc=$(command -v runc) || { WL_REC_ERROR="runc is not installed (Debian package runc)"; return 1; }
  digest=$(jq -r '.manifests[0].digest' "$img/bench-$wl/index.json") || { WL_REC_ERROR="no image layout $img/bench-$wl"; return 1; }
  inputs=$(printf '%s\n' "image $digest" "recorder sha256:$(sha256sum "$BIN/soci-eks-prefetch" | cut -c1-64)" \
    "runc $("$runc" --version 2>&1 | paste -sd ' ')" "kernel $(uname -r)" "seconds ${BENCH_RECORD_SECONDS:-30}" "platform linux/amd64")
  key=$(sha256sum <<<"$inputs" | cut -c1-16)
  out=$img/bench-$wl.record-$key.json
  if [[ -f $out && "$(cat "$out.inputs" 2>/dev/null)" == "$inputs" ]] && jq -e '.version == 1 and .source == "record"' "$out" >/dev/null 2>&1; then
    WL_REC_READS=$out
    log "recording of $wl: cached ($out)"
    return 0
  fi
  # shellcheck disable=SC2153 # WORK: node.sh's work directory
  work=$WORK/record-$wl
  mkdir -p "$work"
  t0=$SECONDS
  rc=0
  timeout --kill-after=30 "${BENCH_RECORD_TIMEOUT:-900}" "$BIN/soci-eks-prefetch" record --layout "$img/bench-$wl" --seconds "${BENCH_RECORD_SECONDS:-30}" \
    --platform linux/amd64 --out "$work/reads.json" --workdir "$work" --runc "$runc" >"$LOGS/record-$wl.log" 2>&1 || rc=$?
  # a recorder killed by the timeout may leave its FUSE mount: never leave one behind
  left=$(awk -v w="$work/" 'index($2, w) == 1 { print $2 }' /proc/mounts | sort -r)
  if [[ -n $left ]]; then
    log "recording of $wl left mounts behind; unmounting: $(tr '\n' ' ' <<<"$left")"
    while read -r f; do umount -l "$f" || true; done <<<"$left"
  fi
  if ((rc != 0)); then
    WL_REC_ERROR="soci-eks-prefetch record exit $rc$( ((rc == 124 || rc == 137)) && echo " (timed out after ${BENCH_RECORD_TIMEOUT:-900} s)"): $(grep -v '^$' "$LOGS/record-$wl.log" | tail -n 3 | tr '\n' ' ' | cut -c1-400)"
    rm -rf "$work"
    return 1
  fi
  # the cache: the reads file and its inputs, replacing older recordings of this workload
  rm -f "$img"/bench-"$wl".record-*
  cp "$work/reads.json" "$out.tmp"
  cp "$LOGS/record-$wl.log" "$out.log"
  printf '%s\n' "$inputs" >"$out.inputs"
  mv "$out.tmp" "$out"
  rm -rf "$work"
  WL_REC_READS=$out
  log "recorded $wl in $((SECONDS - t0))s: $(grep -o 'recorded .*' "$LOGS/record-$wl.log" | tail -n 1)"
}

# wl_definition_json WL: the reads file of what WL's entrypoint reads by the workload's definition (its argv and the
# image's files, lab/report/recording.ts): what a recording must cover
wl_definition_json() {
  wl_image "$1" || return 1
  node "$REPO_DIR/dist/lab/report/recordingMain.js" definition --cmd "$WL_CMD" --layers "$WL_LAYERS" \
    --layer-bytes $((WL_LAYER_MIB << 20)) --files "$WL_FILES"
}

# wl_facts WL INDEX: prints one JSON object with what the lazy expectation and the floor need for WL's index INDEX
# (<span MiB>, <span MiB>-pf or <span MiB>-rec); for -rec also the compressed bytes of the spans its artifacts list
# (`soci-eks-prefetch apply`'s summary)
wl_facts() {
  local wl=$1 span=${2%-pf} img=$CACHE/images man idx idx_manifest pf_spans d dir rec_bytes=null
  span=${span%-rec}
  wl_image "$wl" || return 1
  dir=$(wl_index_dir "$wl" "$2")
  man=$img/bench-$wl/blobs/sha256/$(jq -r '.manifests[0].digest' "$img/bench-$wl/index.json" | cut -d: -f2)
  idx=$(soci_index_blob "$dir") || { log "no SOCI index in $dir"; return 1; }
  idx_manifest=$(stat -c %s "$idx")
  # the spans the index's prefetch artifacts list (prefetch rows may fetch them all)
  pf_spans=0
  for d in $(jq -r '.layers[] | select(.mediaType == "application/vnd.amazon.soci.prefetch.v1+json") | .digest | sub("sha256:"; "")' "$idx"); do
    pf_spans=$((pf_spans + $(jq '[.prefetch_spans[] | .end_span - .start_span + 1] | add // 0' "$dir/blobs/sha256/$d")))
  done
  if [[ $2 == *-rec ]]; then rec_bytes=$(jq '[.platforms[].spanBytes] | add' "$dir.apply.json") || return 1; fi
  jq -n --slurpfile m "$man" --slurpfile i "$idx" --argjson idx_manifest "$idx_manifest" --argjson span $((span << 20)) \
    --argjson pf_spans "$pf_spans" --argjson rec_bytes "$rec_bytes" \
    --argjson read_files "$WL_READ_FILES" --argjson read_per_file "$WL_READ_BYTES_PER_FILE" --arg desc "$WL_DESC" \
    --argjson layer_bytes $((WL_LAYER_MIB << 20)) '
    ($i[0].layers | map(select(.mediaType == "application/octet-stream"))) as $ztocs |
    ($i[0].layers | map(select(.mediaType == "application/vnd.amazon.soci.prefetch.v1+json"))) as $prefetch |
    ($ztocs | map(.annotations["com.amazon.soci.image-layer-digest"])) as $indexed |
    {description: $desc, layers: ($m[0].layers | length), image_bytes: ($m[0].layers | map(.size) | add),
     indexed_layers: ($indexed | length), indexed_digests: $indexed, span_bytes: $span,
     ztoc_bytes: ($ztocs | map(.size) | add), prefetch_artifact_bytes: ($prefetch | map(.size) | add // 0),
     prefetch_spans: $pf_spans, prefetch_span_bytes: ($pf_spans * $span), recorded_span_bytes: $rec_bytes,
     index_manifest_bytes: ($idx_manifest + ($prefetch | map(.size) | add // 0)),
     unindexed_bytes: ([$m[0].layers[] | select(.digest as $d | $indexed | index($d) | not) | .size] | add // 0),
     read_files: $read_files, read_bytes_per_file: $read_per_file,
     # compressed / uncompressed bytes of the indexed layers (at most 1): spans are counted in uncompressed bytes,
     # the registry serves compressed ones
     indexed_compression_ratio: ([($m[0].layers | map(select(.digest as $d | $indexed | index($d))) | map(.size) | add)
       / (($indexed | length) * $layer_bytes), 1] | min)}'
}
