# Sourced by lab/lib/node.sh when LAB_ACTION=bench (inside the lab's namespaces).
# shellcheck shell=bash
RUNS=${BENCH_RUNS:-3}
MODES=${BENCH_MODES:-off parallel lazy}
RATE=${BENCH_RATE:-1gbit}
LAYER_MIB=${BENCH_LAYER_MIB:-120}
FILES=${BENCH_FILES:-4}
FRAC=${BENCH_FRAC:-0.06}
# shellcheck disable=SC2034 # read by start_node in node.sh
ALLOW_NO_SOCI=1
RESULTS=$LAB_DIR/results
mkdir -p "$RESULTS"

setup_fs
start_services
pack_release
build_images # pause image and the small ones (cheap, cached)

img=$CACHE/images
exec 8>"$CACHE/big-image.lock"
flock 8
# keyed by the entry binary too: a rebuilt labentry makes a new image (no stale leftovers)
key="big-9x${LAYER_MIB}MiB-${FILES}f-frac${FRAC}-entry$(sha256sum "$BIN/labentry" | cut -c1-12)"
if [[ ! -f $img/$key.done ]]; then
  t0=$SECONDS
  mkimage -out "$img/big" -name "$REGISTRY/lab/big:v1" -entry "$BIN/labentry" \
    -cmd "/bin/entry,-frac,$FRAC,/data" -layers 9 -layer-bytes $((LAYER_MIB << 20)) -files "$FILES" -seed 42 >&2
  rm -rf "$img/big-soci"
  soci convert --standalone --format oci-dir "$img/big" "$img/big-soci" >"$LOGS/soci-convert-big.log" 2>&1 ||
    { log "soci convert failed: $(tail -n 3 "$LOGS/soci-convert-big.log")"; exit 1; }
  rm -f "$img"/big-*.done
  touch "$img/$key.done"
  log "built the big image in $((SECONDS - t0))s"
fi
t0=$SECONDS
skopeo copy -q --dest-tls-verify=false "oci:$img/big:v1" "docker://$REGISTRY/lab/big:v1"
skopeo copy -q --all --dest-tls-verify=false "oci:$img/big-soci" "docker://$REGISTRY/lab/big:v1-soci"
log "pushed in $((SECONDS - t0))s"
flock -u 8
big_manifest=$img/big/blobs/sha256/$(jq -r '.manifests[0].digest' "$img/big/index.json" | cut -d: -f2)
IMAGE_BYTES=$(jq '[.layers[].size] | add' "$big_manifest")
LAYERS=$(jq '.layers | length' "$big_manifest")
# What a lazy run may cost (issue 11): every indexed layer FUSE-mounted, none of them served whole, and no
# more bytes than the un-indexed layers + the zTOCs + at most (reads / span + 1) spans per file read, +5%.
soci_index=$(soci_index_blob "$img/big-soci")
INDEXED=$(jq '.layers | length' "$soci_index")
jq -r '.layers[].annotations["com.amazon.soci.image-layer-digest"]' "$soci_index" >"$WORK/indexed-layers"
SPAN=$(jq -r '[.layers[].annotations["com.amazon.soci.span-size"] // empty] | first // 4194304' "$soci_index")
ztoc_bytes=$(jq '[.layers[].size] | add' "$soci_index")
unindexed_bytes=$(jq --slurpfile idx <(jq -R . "$WORK/indexed-layers") '[.layers[] | select(.digest as $d | $idx | index($d) | not) | .size] | add // 0' "$big_manifest")
file_bytes=$(((LAYER_MIB << 20) / FILES))
read_bytes=$(awk -v f="$file_bytes" -v x="$FRAC" 'BEGIN { printf "%d", f * x }')
LAZY_MAX_BYTES=$(((unindexed_bytes + ztoc_bytes + INDEXED * FILES * ((read_bytes + SPAN - 1) / SPAN + 1) * SPAN) * 105 / 100))
log "lazy expectation: $INDEXED indexed layers FUSE-mounted, none served whole, <= $LAZY_MAX_BYTES bytes"

# Shape the namespace's loopback: registry and node share it (lab-notes.md).
tc qdisc add dev lo root tbf rate "$RATE" burst 1mb latency 100ms
log "lo shaped: $(tc qdisc show dev lo)"

registry_bytes_since() { # LINE: bytes the registry sent in response bodies after log line LINE
  sleep 0.5
  awk -v from="$1" 'NR > from && $6 ~ /"(GET|HEAD)/ && $9 ~ /^[0-9]+$/ && $10 ~ /^[0-9]+$/ { s += $10 } END { print s + 0 }' "$LOGS/registry.log"
}

JSONL=$WORK/bench.jsonl
: >"$JSONL"
# whole_indexed_gets LINE: GETs after log line LINE that served an indexed layer whole (status 200, not a range)
whole_indexed_gets() {
  awk -v from="$1" 'NR == FNR { idx[$1] = 1; next }
    FNR > from && $6 ~ /"GET/ && $9 == 200 { n = split($7, p, "/"); if (p[n] in idx) c++ } END { print c + 0 }' \
    "$WORK/indexed-layers" "$LOGS/registry.log"
}

FAILED_RUNS=0
for mode in $MODES; do
  # shellcheck disable=SC2034 # read by render_userdata in node.sh
  MODE=$mode
  MIME=$WORK/userdata-$mode.mime
  render_userdata "$MIME"
  ref=$REGISTRY/lab/big:v1
  [[ $mode == lazy ]] && ref=$REGISTRY/lab/big:v1-soci
  for ((r = 1; r <= RUNS; r++)); do
    wipe_node_state
    rm -f /usr/local/bin/soci /usr/local/bin/soci-snapshotter-grpc /etc/soci-eks/soci-snapshotter-grpc.toml /etc/systemd/system/soci-snapshotter.service
    apply_userdata "$MIME" "bench-$mode-$r" >"$LOGS/apply-$mode-$r.log" 2>&1 || { log "apply failed for $mode: $(tail -n 3 "$LOGS/apply-$mode-$r.log")"; continue; }
    # LAB_SOCI_CONTENT_STORE=containerd: the SOCI config before issue 11, to see the bench flag degraded runs.
    if [[ $mode == lazy && ${LAB_SOCI_CONTENT_STORE:-} == containerd ]]; then gc_old_content_store; fi
    # BENCH_GC_PRESSURE=1: the GC-pressure section's aggressive collector and lease churn (lab/lib/gc-pressure.sh).
    if [[ ${BENCH_GC_PRESSURE:-0} == 1 ]]; then gc_aggressive_config; fi
    start_node "bench-$mode-$r" || { log "node did not start for $mode"; stop_node; continue; }
    [[ $mode == off ]] || import_pause "bench-$mode-$r" || log "pause import failed"
    if [[ $mode == off ]]; then
      ctr --address "$CTR_SOCK" -n k8s.io images import --local /etc/eks/pause.tar >/dev/null 2>&1 || true
    fi
    crictl_init
    mark=$(wc -l <"$LOGS/registry.log")
    before=$(fuse_mounts)
    ok=true
    if [[ ${BENCH_GC_PRESSURE:-0} == 1 ]]; then gc_churn_start; fi
    run_image "$ref" "bench-$mode-$r" >/dev/null 2>&1 || ok=false
    if [[ ${BENCH_GC_PRESSURE:-0} == 1 ]]; then gc_churn_stop >/dev/null; fi
    bytes=$(registry_bytes_since "$mark")
    mounts=$(($(fuse_mounts) - before))
    whole=$(whole_indexed_gets "$mark")
    # What the pull left in SOCI's own content store (lazy mode keeps its index and zTOCs there; issue 11).
    store_bytes=$(du -sb /var/lib/soci-snapshotter-grpc/content 2>/dev/null | cut -f1 || true)
    # A lazy run that was not lazy is a failed run (issue 11).
    reasons=''
    if [[ $mode == lazy ]]; then
      ((mounts >= INDEXED)) || reasons+="fuse mounts $mounts < $INDEXED indexed layers; "
      ((whole == 0)) || reasons+="$whole whole GETs of indexed layers; "
      ((bytes <= LAZY_MAX_BYTES)) || reasons+="$bytes bytes > lazy expectation $LAZY_MAX_BYTES; "
    fi
    degraded=false
    [[ -n $reasons ]] && degraded=true ok=false
    [[ $ok == true ]] || FAILED_RUNS=$((FAILED_RUNS + 1))
    log "bench $mode run $r: ok=$ok${reasons:+ DEGRADED (${reasons%; })} to-ready ${RUN_MS:-?} ms (pull ${PULL_MS:-?} ms), registry sent $bytes bytes, fuse mounts +$mounts: ${READY_LINE:-}"
    printf '{"mode":"%s","run":%d,"ok":%s,"degraded":%s,"degraded_reasons":"%s","pull_to_ready_ms":%s,"pull_ms":%s,"registry_bytes":%s,"fuse_mounts":%s,"whole_indexed_layer_gets":%s,"soci_store_bytes":%s,"ready_line":"%s"}\n' \
      "$mode" "$r" "$ok" "$degraded" "${reasons%; }" "${RUN_MS:-null}" "${PULL_MS:-null}" "$bytes" "$mounts" "$whole" "${store_bytes:-0}" "${READY_LINE:-}" >>"$JSONL"
    stop_node
    RUN_MS='' PULL_MS='' READY_LINE=''
  done
done
tc qdisc del dev lo root 2>/dev/null || true

stamp=$(date -u +%Y%m%dT%H%M%SZ)
out=$RESULTS/bench-$stamp
jq -s --arg rate "$RATE" --arg stamp "$stamp" --argjson image_bytes "$IMAGE_BYTES" --argjson layers "$LAYERS" \
  --arg frac "$FRAC" --arg cpus "$(nproc)" --argjson indexed "$INDEXED" --argjson lazy_max "$LAZY_MAX_BYTES" \
  --arg store "${LAB_SOCI_CONTENT_STORE:-soci}" --arg gcp "${BENCH_GC_PRESSURE:-0}" '
  def stats(f): (map(f) | sort) as $v | {min: $v[0], median: $v[(($v|length)-1)/2|floor], max: $v[-1]};
  {date: $stamp, link: ("tbf " + $rate + " on the lab netns lo"), cpus: ($cpus|tonumber),
   image: {layer_bytes_compressed: $image_bytes, layers: $layers, indexed_layers: $indexed, entry_reads_fraction: ($frac|tonumber)},
   lazy_expectation: {fuse_mounts: $indexed, whole_indexed_layer_gets: 0, max_registry_bytes: $lazy_max,
     rule: "a lazy run is degraded (and failed) if fewer FUSE mounts than indexed layers, any indexed layer served whole, or more bytes than the un-indexed layers + zTOCs + (reads/span + 1) spans per file read, +5%"},
   software: {containerd: "v2.2.4", soci_snapshotter: "v0.16.1", runc: "Debian 1.1.5"},
   soci_content_store_lazy: $store, gc_pressure: ($gcp == "1"),
   measure: "crictl pull request (to the NodeConfig kubelet imageServiceEndpoint; containerd socket for the stock node) to the container exiting after its ready line; registry bytes = sum of response sizes in the registry access log",
   runs: .,
   degraded_runs: (map(select(.degraded)) | length),
   summary: (group_by(.mode) | map({mode: .[0].mode, n: length, ok: (map(select(.ok)) | length), degraded: (map(select(.degraded)) | length),
      pull_to_ready_ms_all: (map(select(.pull_to_ready_ms != null)) | if length > 0 then stats(.pull_to_ready_ms) else null end),
      pull_to_ready_ms: (map(select(.ok)) | if length > 0 then stats(.pull_to_ready_ms) else null end),
      registry_bytes: stats(.registry_bytes)}))}' "$JSONL" >"$out.json"
{
  echo "# Pull-to-ready benchmark ($stamp)"
  echo
  jq -r '"Link: \(.link); \(.cpus) CPUs; image: \(.image.layers) layers, \(.image.layer_bytes_compressed) compressed layer bytes; entrypoint reads \(.image.entry_reads_fraction * 100)% of each file. Software: containerd \(.software.containerd), soci-snapshotter \(.software.soci_snapshotter). Measure: \(.measure)."' "$out.json"
  echo
  jq -r '"SOCI content store in lazy mode: \(.soci_content_store_lazy); containerd GC pressure: \(.gc_pressure). Degraded lazy runs (counted as failed): \(.degraded_runs). A lazy run is degraded if it has fewer than \(.lazy_expectation.fuse_mounts) FUSE mounts, serves any indexed layer whole, or serves more than \(.lazy_expectation.max_registry_bytes / 1000000 * 10 | floor / 10) MB."' "$out.json"
  echo
  echo "| mode | runs ok | degraded | min s | median s | max s | median s, all runs | registry MB (median) |"
  echo "|---|---|---|---|---|---|---|---|"
  jq -r 'def s(x): if x then (x/1000) else "-" end;
    .summary[] | "| \(.mode | if . == "off" then "stock overlayfs" elif . == "parallel" then "soci parallel" else "soci lazy" end) | \(.ok)/\(.n) | \(.degraded) | \(s(.pull_to_ready_ms.min)) | \(s(.pull_to_ready_ms.median)) | \(s(.pull_to_ready_ms.max)) | \(s(.pull_to_ready_ms_all.median)) | \((.registry_bytes.median/1000000*10|floor)/10) |"' "$out.json"
  echo
  echo "Every run (min/median/max above are over ok runs):"
  echo
  echo "| mode | run | ok | FUSE mounts | registry MB | pull s | to ready s | SOCI store MB | degraded because |"
  echo "|---|---|---|---|---|---|---|---|---|"
  jq -r '.runs[] | "| \(.mode) | \(.run) | \(.ok) | \(.fuse_mounts) | \((.registry_bytes/100000|floor)/10) | \(if .pull_ms then .pull_ms/1000 else "-" end) | \(if .pull_to_ready_ms then .pull_to_ready_ms/1000 else "-" end) | \((.soci_store_bytes/100000|floor)/10) | \(.degraded_reasons) |"' "$out.json"
} >"$out.md"
cat "$out.md"
log "results: $out.json $out.md"
if ((FAILED_RUNS > 0)); then
  echo "FAILED: $FAILED_RUNS runs failed or were degraded (see $out.md)"
  exit 1
fi
