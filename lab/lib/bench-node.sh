# Sourced by lab/lib/node.sh when LAB_ACTION=bench (inside the lab's namespaces).
# shellcheck shell=bash
RUNS=${BENCH_RUNS:-3}
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
key="big-9x${LAYER_MIB}MiB-${FILES}f-frac${FRAC}"
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

# Shape the namespace's loopback: registry and node share it (lab-notes.md).
tc qdisc add dev lo root tbf rate "$RATE" burst 1mb latency 100ms
log "lo shaped: $(tc qdisc show dev lo)"

registry_bytes_since() { # LINE: bytes the registry sent in response bodies after log line LINE
  sleep 0.5
  awk -v from="$1" 'NR > from && $6 ~ /"(GET|HEAD)/ && $9 ~ /^[0-9]+$/ && $10 ~ /^[0-9]+$/ { s += $10 } END { print s + 0 }' "$LOGS/registry.log"
}

JSONL=$WORK/bench.jsonl
: >"$JSONL"
for mode in off parallel lazy; do
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
    start_node "bench-$mode-$r" || { log "node did not start for $mode"; stop_node; continue; }
    [[ $mode == off ]] || import_pause "bench-$mode-$r" || log "pause import failed"
    if [[ $mode == off ]]; then
      ctr --address "$CTR_SOCK" -n k8s.io images import --local /etc/eks/pause.tar >/dev/null 2>&1 || true
    fi
    crictl_init
    mark=$(wc -l <"$LOGS/registry.log")
    before=$(fuse_mounts)
    ok=true
    run_image "$ref" "bench-$mode-$r" >/dev/null 2>&1 || ok=false
    bytes=$(registry_bytes_since "$mark")
    mounts=$(($(fuse_mounts) - before))
    log "bench $mode run $r: ok=$ok to-ready ${RUN_MS:-?} ms (pull ${PULL_MS:-?} ms), registry sent $bytes bytes, fuse mounts +$mounts: ${READY_LINE:-}"
    printf '{"mode":"%s","run":%d,"ok":%s,"pull_to_ready_ms":%s,"pull_ms":%s,"registry_bytes":%s,"fuse_mounts":%s,"ready_line":"%s"}\n' \
      "$mode" "$r" "$ok" "${RUN_MS:-null}" "${PULL_MS:-null}" "$bytes" "$mounts" "${READY_LINE:-}" >>"$JSONL"
    stop_node
    RUN_MS='' PULL_MS='' READY_LINE=''
  done
done
tc qdisc del dev lo root 2>/dev/null || true

stamp=$(date -u +%Y%m%dT%H%M%SZ)
out=$RESULTS/bench-$stamp
jq -s --arg rate "$RATE" --arg stamp "$stamp" --argjson image_bytes "$IMAGE_BYTES" --argjson layers "$LAYERS" \
  --arg frac "$FRAC" --arg cpus "$(nproc)" '
  def stats(f): (map(f) | sort) as $v | {min: $v[0], median: $v[(($v|length)-1)/2|floor], max: $v[-1]};
  {date: $stamp, link: ("tbf " + $rate + " on the lab netns lo"), cpus: ($cpus|tonumber),
   image: {layer_bytes_compressed: $image_bytes, layers: $layers, entry_reads_fraction: ($frac|tonumber)},
   software: {containerd: "v2.2.4", soci_snapshotter: "v0.16.1", runc: "Debian 1.1.5"},
   measure: "crictl pull request (to the NodeConfig kubelet imageServiceEndpoint; containerd socket for the stock node) to the container exiting after its ready line; registry bytes = sum of response sizes in the registry access log",
   runs: .,
   summary: (group_by(.mode) | map({mode: .[0].mode, n: length, ok: (map(select(.ok)) | length),
      pull_to_ready_ms: (map(select(.ok)) | if length > 0 then stats(.pull_to_ready_ms) else null end),
      registry_bytes: stats(.registry_bytes)}))}' "$JSONL" >"$out.json"
{
  echo "# Pull-to-ready benchmark ($stamp)"
  echo
  jq -r '"Link: \(.link); \(.cpus) CPUs; image: \(.image.layers) layers, \(.image.layer_bytes_compressed) compressed layer bytes; entrypoint reads \(.image.entry_reads_fraction * 100)% of each file. Software: containerd \(.software.containerd), soci-snapshotter \(.software.soci_snapshotter). Measure: \(.measure)."' "$out.json"
  echo
  echo "| mode | runs ok | min s | median s | max s | registry MB (median) |"
  echo "|---|---|---|---|---|---|"
  jq -r '.summary[] | "| \(.mode | if . == "off" then "stock overlayfs" elif . == "parallel" then "soci parallel" else "soci lazy" end) | \(.ok)/\(.n) | \(if .pull_to_ready_ms then (.pull_to_ready_ms.min/1000) else "-" end) | \(if .pull_to_ready_ms then (.pull_to_ready_ms.median/1000) else "-" end) | \(if .pull_to_ready_ms then (.pull_to_ready_ms.max/1000) else "-" end) | \((.registry_bytes.median/1000000*10|floor)/10) |"' "$out.json"
} >"$out.md"
cat "$out.md"
log "results: $out.json $out.md"
