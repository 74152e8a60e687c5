# The lab's GC-pressure section (issue 11), sourced by lab/lib/node.sh.
# shellcheck shell=bash
#
# N cold lazy pulls of the indexed small image through CRI while containerd's garbage collector runs as
# often as it can (aggressive gc scheduler settings + a lease-churn loop: every lease deletion marks the
# metadata dirty and schedules a collection). A pull is DEGRADED when SOCI mounted fewer layers over FUSE than
# the image's SOCI index has zTOCs, when SOCI logged a failed remote prepare of an indexed layer, or when the registry served
# >= 60% of the image's layer bytes by the ready line. The check asserts 0 degraded pulls.
#
# Env: LAB_GC_RUNS (20) pulls; LAB_SOCI_CONTENT_STORE=containerd runs the same test against the old SOCI
# config ([content_store] type = "containerd") to show the failure; LAB_GC_CHURNERS (2) lease-churn loops.
#
# Needs from node.sh: pass fail log apply_userdata start_node stop_node import_pause crictl_init run_image
# wipe_node_state fuse_mounts $WORK $LOGS $CACHE $CTR_SOCK $PULL_REGISTRY $MIME.

GC_RUNS=${LAB_GC_RUNS:-20}
GC_CHURNERS=${LAB_GC_CHURNERS:-2}

# The aggressive collector: a collection may take half of the time (pause_threshold 0.5, containerd's
# maximum), one deletion or one mutation schedules it, with no delay.
gc_aggressive_config() {
  cat >>/etc/containerd/config.toml <<'EOF'

# Lab (GC-pressure section): collect as often as containerd allows.
[plugins.'io.containerd.gc.v1.scheduler']
pause_threshold = 0.5
deletion_threshold = 1
mutation_threshold = 1
schedule_delay = '0s'
startup_delay = '0s'
EOF
}

# The old SOCI config: the rendered one with its content store switched back to containerd's.
gc_old_content_store() {
  python3 - /etc/soci-eks/soci-snapshotter-grpc.toml <<'PY'
import re, sys
path = sys.argv[1]
text = open(path).read()
new, n = re.subn(r'(?m)^(\[content_store\]\n(?:(?!\[).*\n)*?)type = "[a-z]+"', r'\1type = "containerd"', text)
if n != 1:
    sys.exit("no [content_store] type in " + path)
open(path, "w").write(new)
PY
}

GC_CHURN_PIDS=()
# Lease churn: create and delete leases as fast as ctr allows; one line per deletion in $LOGS/gc-churn.count.
gc_churn_start() {
  local c
  GC_CHURN_PIDS=()
  : >"$LOGS/gc-churn.count"
  for ((c = 1; c <= GC_CHURNERS; c++)); do
    (
      while :; do
        id=$(ctr --address "$CTR_SOCK" -n k8s.io leases create 2>/dev/null | awk '{print $1; exit}') || continue
        [[ -n $id ]] && ctr --address "$CTR_SOCK" -n k8s.io leases delete "$id" >/dev/null 2>&1 && echo >>"$LOGS/gc-churn.count"
      done
    ) &
    GC_CHURN_PIDS+=($!)
  done
}
gc_churn_stop() { # prints the number of lease deletions
  local p
  for p in "${GC_CHURN_PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${GC_CHURN_PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  GC_CHURN_PIDS=()
  wc -l <"$LOGS/gc-churn.count"
}

# soci_index_blob LAYOUT: path of the SOCI v2 index blob LAYOUT serves (a `soci convert --standalone` OCI layout):
# the one its first image manifest, reached from index.json, names in com.amazon.soci.index-digest. Not a scan of
# blobs/: `soci-eks-prefetch apply` (the -rec indexes) leaves the index it replaced there, and which of the two sorts
# first by digest is chance.
soci_index_blob() {
  local layout=$1 blob digest idx
  local -a queue=()
  mapfile -t queue < <(jq -r '.manifests[].digest' "$layout/index.json" 2>/dev/null)
  while ((${#queue[@]} > 0)); do
    blob=$layout/blobs/${queue[0]/://}
    queue=("${queue[@]:1}")
    [[ -f $blob ]] || continue
    if jq -e '.manifests' "$blob" >/dev/null 2>&1; then
      mapfile -t -O "${#queue[@]}" queue < <(jq -r '.manifests[].digest' "$blob")
      continue
    fi
    digest=$(jq -r '.annotations["com.amazon.soci.index-digest"] // empty' "$blob" 2>/dev/null)
    [[ -n $digest ]] || continue
    idx=$layout/blobs/${digest/://}
    if jq -e '(.artifactType // .config.mediaType) == "application/vnd.amazon.soci.index.v2+json"' "$idx" >/dev/null 2>&1; then
      echo "$idx"
      return 0
    fi
  done
  return 1
}

# soci_failure_metric: SOCI's fuse_mount_failure_count + local_mount_failure_count (metrics socket of our config)
soci_failure_metric() {
  curl -s --unix-socket /run/soci-snapshotter-grpc/metrics.sock http://soci/metrics 2>/dev/null |
    awk '/^soci_fs_operation_count\{/ && /operation_type="(fuse_mount|local_mount)_failure_count"/ { s += $NF } END { print s + 0 }'
}

# gc_pressure_section: the section; PASS/FAIL "0 degraded" and one INFO line per pull.
gc_pressure_section() {
  local ref=$PULL_REGISTRY/lab/small:v1-soci want image_bytes degraded=0 seen_by_metric=0 r before mounts bytes reasons churn soci_log metric
  local store
  local idx_blob soci_digests removed_soci total_churn=0 total_removed=0 n_removed
  idx_blob=$(soci_index_blob "$CACHE/images/small-soci")
  want=$(jq '.layers | length' "$idx_blob")
  # SOCI's artifacts of this image: the index and its zTOCs (to spot them in containerd's "remove content" lines)
  soci_digests=$WORK/gc-soci-digests
  { echo "sha256:$(basename "$idx_blob")"; jq -r '.layers[].digest' "$idx_blob"; } >"$soci_digests"
  [[ $want =~ ^[0-9]+$ && $want -gt 0 ]] || { fail "gc-pressure: could not count the zTOCs of small:v1-soci ($want)"; return 1; }
  image_bytes=$(jq '[.layers[].size] | add' "$CACHE/images/small/blobs/sha256/$(jq -r '.manifests[0].digest' "$CACHE/images/small/index.json" | cut -d: -f2)")
  apply_userdata "$MIME" gc >"$LOGS/apply-gc.log" 2>&1 || { fail "gc-pressure: user data did not apply"; return 1; }
  gc_aggressive_config
  if [[ ${LAB_SOCI_CONTENT_STORE:-} == containerd ]]; then
    gc_old_content_store || { fail "gc-pressure: could not switch the SOCI config back to the containerd content store"; return 1; }
  fi
  store=$(awk '/^\[content_store\]/ { f = 1 } f && /^type/ { gsub(/"/, "", $3); print $3; exit }' /etc/soci-eks/soci-snapshotter-grpc.toml)
  log "gc-pressure: $GC_RUNS cold lazy pulls of $ref ($want indexed layers), SOCI content store: $store"
  for ((r = 1; r <= GC_RUNS; r++)); do
    wipe_node_state
    start_node "gc-$r" || { fail "gc-pressure run $r: node did not start"; stop_node; return 1; }
    import_pause "gc-$r" || log "gc-pressure run $r: pause import failed"
    crictl_init
    before=$(fuse_mounts)
    gc_churn_start
    run_image "$ref" "gc-$r" >/dev/null 2>&1 || true
    churn=$(gc_churn_stop)
    mounts=$(($(fuse_mounts) - before))
    bytes=${BYTES:-0}
    soci_log=$LOGS/soci-gc-$r.log
    reasons=''
    [[ -n ${READY_LINE:-} ]] || reasons+=' did-not-run'
    ((mounts >= want)) || reasons+=" fuse-mounts=$mounts<$want"
    ((bytes < image_bytes * 60 / 100)) || reasons+=" bytes=$bytes>=60%"
    # (a layer without a zTOC logs "failed to prepare remote snapshot ... no ztoc for layer": expected)
    grep 'failed to prepare remote snapshot' "$soci_log" | grep -vq 'no ztoc for layer' && reasons+=" remote-prepare-failed"
    removed_soci=$(grep -o 'msg="remove content".*key="sha256:[0-9a-f]*"' "$LOGS/containerd-gc-$r.log" | grep -oE 'sha256:[0-9a-f]{64}' | grep -cxFf "$soci_digests" || true)
    n_removed=$(grep -c 'msg="remove content"' "$LOGS/containerd-gc-$r.log" || true)
    total_churn=$((total_churn + churn))
    total_removed=$((total_removed + n_removed))
    # The operator's signal (docs/troubleshooting.md): SOCI's mount-failure counters on its metrics socket.
    metric=$(soci_failure_metric)
    if [[ -n $reasons ]]; then
      degraded=$((degraded + 1))
      ((metric > 0)) && seen_by_metric=$((seen_by_metric + 1))
    fi
    echo "INFO gc-pressure run $r/$GC_RUNS (content store: $store): ${reasons:+DEGRADED$reasons; }fuse mounts +$mounts of $want, SOCI fuse/local mount failures (metrics): $metric, registry served $bytes of $image_bytes bytes, pull ${PULL_MS:-?} ms, lease deletions during the pull: $churn, containerd GC removed $n_removed blobs, $removed_soci of them this image's SOCI index/zTOCs${reasons:+; SOCI: $(grep 'failed to prepare' "$soci_log" | grep -v 'no ztoc for layer' | grep -oE '"error":"([^"\\]|\\.)*"' | head -n 2 | cut -c1-240 | tr '\n' ' ')}"
    stop_node
    BYTES='' READY_LINE='' PULL_MS=''
  done
  # A pass means nothing unless the collector really ran during the pulls.
  check "gc-pressure: containerd's GC ran during the pulls ($total_churn lease deletions, $total_removed blobs removed by its GC)" \
    test "$total_churn" -gt 0 -a "$total_removed" -gt 0
  ((degraded == 0)) || echo "INFO gc-pressure: SOCI's fuse/local mount failure metrics counted $seen_by_metric of the $degraded degraded pulls"
  if ((degraded == 0)); then
    pass "gc-pressure: 0 of $GC_RUNS cold lazy pulls degraded under containerd GC pressure (SOCI content store: $store)"
  else
    fail "gc-pressure: $degraded of $GC_RUNS cold lazy pulls degraded under containerd GC pressure (SOCI content store: $store)"
  fi
}
