# Sourced by lab/lib/node.sh when LAB_ACTION=bench (inside the lab's namespaces).
# shellcheck shell=bash
#
# For every condition x workload x row (lab/lib/bench-rows.sh, lab/lib/bench-workloads.sh), BENCH_RUNS cold pulls on a
# wiped node booted from that row's user data. Per run: phases from stamps (the host's clock around each CRI call, the
# entrypoint's own start/ready stamps inside the container, SOCI's log for the last snapshot prepared), registry bytes
# and requests (the counting proxy), soci-snapshotter-grpc's and containerd's peak RSS (VmHWM) and CPU seconds (their
# own + waited-for children such as unpigz), SOCI's metrics when its config exposes them. Stock runs also start the
# image once more with it present (the stock start cost the floor uses). lab/report turns the runs into JSON, Markdown
# and an SVG plot under lab/results/.
RUNS=${BENCH_RUNS:-3}
WORKLOADS=${BENCH_WORKLOADS:-ref big}
CONDITIONS=${BENCH_CONDITIONS:-link}
# shellcheck disable=SC2034 # read by start_node in node.sh
ALLOW_NO_SOCI=1
RESULTS=$LAB_DIR/results
mkdir -p "$RESULTS"
# shellcheck source=lab/lib/bench-workloads.sh
. "$LAB_DIR/lib/bench-workloads.sh"
# shellcheck source=lab/lib/bench-rows.sh
. "$LAB_DIR/lib/bench-rows.sh"
# shellcheck source=lab/lib/bench-disk.sh
. "$LAB_DIR/lib/bench-disk.sh"
# shellcheck source=lab/lib/config-check.sh
. "$LAB_DIR/lib/config-check.sh"

# The builder's default span size (components/scripts/build-soci-index.sh): the index `lazy` pulls.
# shellcheck disable=SC2016 # the script's literal ${SPAN_SIZE:-N}
DEFAULT_SPAN_MIB=$(($(sed -n 's/^SPAN_SIZE="\${SPAN_SIZE:-\([0-9]*\)}"$/\1/p' "$REPO_DIR/components/scripts/build-soci-index.sh") >> 20))
((DEFAULT_SPAN_MIB > 0)) || { log "could not read the builder's default SPAN_SIZE"; exit 1; }
[[ " $SPANS " == *" $DEFAULT_SPAN_MIB "* ]] || SPANS="$DEFAULT_SPAN_MIB $SPANS"

# The plan: condition, workload, rows. BENCH_WORKLOADS, BENCH_CONDITIONS and BENCH_MODES (rows) filter it.
# The default plan is the one the project's targets are checked on (lab/report checkTargets): every condition the targets
# name, the product's rows (off, parallel, lazy, and lazy-pf where the workload has a prefetch index) and beside them
# the rows that show why the defaults are what they are (the tuning and config before, resolve cache, metadata, igzip).
# lazy-rec runs on every workload: each one's recording is checked against what its entrypoint reads.
DEFAULT_PLAN="link ref off parallel lazy lazy-rec lazy-pre21
link big off parallel parallel-d20u2-c16 lazy lazy-rec lazy-pf lazy-rr30 lazy-pre21 lazy-nosync lazy-dbmulti
link refgz off parallel parallel-igzip lazy lazy-rec
link files lazy lazy-rec lazy-nosync lazy-dbmulti
ttfb ref off parallel lazy lazy-rec
ttfb big lazy lazy-rec lazy-pf
conncap ref off parallel parallel-d20u2-c16 lazy lazy-rec
conncap big lazy lazy-rec lazy-pf
ecr ref off parallel lazy lazy-rec
ecr big lazy lazy-rec lazy-pf
gp3 ref off parallel lazy
ssd ref off parallel lazy"
PLAN=${BENCH_PLAN:-$DEFAULT_PLAN}

# plan_list: checks every plan line the filters keep (a known condition, workload and row) and prints one line per row
# with its mode, index and label, then the totals; fails on the first unknown name. BENCH_DRY=1 prints it and stops.
plan_list() {
  local cond wl rows row mode idx lines=0 nrows=0
  while read -r cond wl rows; do
    [[ -n $cond ]] || continue
    [[ " $WORKLOADS " == *" $wl "* && " $CONDITIONS " == *" $cond "* ]] || continue
    condition_params "$cond" || return 1
    wl_image "$wl" || return 1
    lines=$((lines + 1))
    for row in $rows; do
      [[ -z ${BENCH_MODES:-} || " $BENCH_MODES " == *" $row "* ]] || continue
      mode=$(row_mode "$row") || { log "unknown row $row (plan line: $cond $wl $rows)"; return 1; }
      # lazy-* and parallel-* rows have a mode by pattern: a row is known only if it also has a label
      [[ -n $(row_label "$row") ]] || { log "unknown row $row (plan line: $cond $wl $rows): no such row in lib/bench-rows.sh"; return 1; }
      row_soci_edits "$row" >/dev/null || { log "row $row has no valid SOCI edits"; return 1; }
      idx=-
      [[ $mode != lazy ]] || idx=$(row_index "$row")
      if [[ $idx == *-pf ]] && ((${#WL_PREFETCH[@]} == 0)); then log "row $row needs a prefetch index, which workload $wl has not (it reads no whole files)"; return 1; fi
      if [[ $idx == *-rec && ! -x $BIN/soci-eks-prefetch ]]; then
        log "row $row records the image with $BIN/soci-eks-prefetch, which is missing: build it with lab/build-tools.sh soci-eks-prefetch (or run without LAB_SKIP_BUILD=1)"
        return 1
      fi
      printf '%-8s %-6s %-22s %-9s %-7s %s\n' "$cond" "$wl" "$row" "$mode" "$idx" "$(row_label "$row")"
      nrows=$((nrows + 1))
    done
  done <<<"$PLAN"
  ((nrows > 0)) || { log "the plan has no row for BENCH_WORKLOADS=\"$WORKLOADS\" BENCH_CONDITIONS=\"$CONDITIONS\" BENCH_MODES=\"${BENCH_MODES:-}\""; return 1; }
  echo "plan: $lines lines, $nrows rows, $((nrows * RUNS)) cold pulls ($RUNS per row)"
}

# The parallel tuning is rendered for this machine's vCPUs (EC2 facts of the m6i size with that many).
TUNE_VCPUS=$(nproc)
case $TUNE_VCPUS in
  2) TUNE_TYPE=m6i.large ;;
  4) TUNE_TYPE=m6i.xlarge ;;
  8) TUNE_TYPE=m6i.2xlarge ;;
  16) TUNE_TYPE=m6i.4xlarge ;;
  32) TUNE_TYPE=m6i.8xlarge ;;
  *) TUNE_TYPE=m6i.xlarge TUNE_VCPUS=4; log "no m6i size with $(nproc) vCPUs: tuning rendered for m6i.xlarge" ;;
esac
export LAB_INSTANCE="$TUNE_TYPE,$TUNE_VCPUS,$((TUNE_VCPUS * 4096))"

plan_listing=$(plan_list) || exit 1
if [[ ${BENCH_DRY:-0} == 1 ]]; then
  echo "$plan_listing"
  exit 0
fi
log "${plan_listing##*$'\n'}"

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
setup_fs
start_services
pack_release
build_images # pause image and the small ones (cheap, cached)

declare -A FACTS=()
for wl in $WORKLOADS; do
  grep -q "^[a-z0-9]* $wl " <<<"$PLAN" || continue
  # only the indexes the plan's rows for this workload pull (conditions filtered as the runs are)
  WL_WANT_INDEXES=$({ echo "$DEFAULT_SPAN_MIB"; awk -v wl="$wl" -v conds=" $CONDITIONS " '$2 == wl && index(conds, " " $1 " ") { for (i = 3; i <= NF; i++) print $i }' <<<"$PLAN" |
    while read -r r; do
      if [[ (-z ${BENCH_MODES:-} || " $BENCH_MODES " == *" $r "*) && $(row_mode "$r" 2>/dev/null || true) == lazy ]]; then row_index "$r"; fi
    done; } | sort -u | tr '\n' ' ')
  export WL_WANT_INDEXES
  wl_build "$wl" || exit 1
  for idx in $WL_INDEXES; do FACTS[$wl-$idx]=$(wl_facts "$wl" "$idx") || exit 1; done
done

registry_mark() { wc -l <"$LOGS/registry.log"; }
# whole_indexed_gets LINE DIGESTS_FILE: GETs after registry log line LINE that served an indexed layer whole (200, not a range)
whole_indexed_gets() {
  awk -v from="$1" 'NR == FNR { idx[$1] = 1; next }
    FNR > from && $6 ~ /"GET/ && $9 == 200 { n = split($7, p, "/"); if (p[n] in idx) c++ } END { print c + 0 }' \
    "$2" "$LOGS/registry.log"
}

# proc_stats PID: {"rss_peak_kib":N,"cpu_s":S} of a live process (own + waited-for children), or null
proc_stats() {
  local pid=$1 hwm stat tck
  [[ -n $pid && -r /proc/$pid/status ]] || { echo null; return; }
  hwm=$(awk '/^VmHWM:/ { print $2 }' "/proc/$pid/status")
  # fields after the ")" of comm: utime is the 12th, stime 13th, cutime 14th, cstime 15th
  stat=$(sed 's/.*) //' "/proc/$pid/stat")
  tck=$(getconf CLK_TCK)
  awk -v h="${hwm:-0}" -v t="$tck" '{ printf "{\"rss_peak_kib\":%d,\"cpu_s\":%.2f}", h, ($12 + $13 + $14 + $15) / t }' <<<"$stat"
}

# soci_metrics: SOCI's counters and gauges (histogram buckets left out) as one JSON object, or null
soci_metrics() {
  local out
  out=$(curl -s --max-time 5 --unix-socket /run/soci-snapshotter-grpc/metrics.sock http://soci/metrics 2>/dev/null) || { echo null; return; }
  [[ -n $out ]] || { echo null; return; }
  # summed over layers (the per-layer labels dropped)
  awk '/^soci_/ && $1 !~ /_bucket\{/ { k = $1; gsub(/(layer|digest|mountpoint)="[^"]*",?/, "", k); sub(/,\}/, "}", k); sub(/\{\}/, "", k); s[k] += $2 }
    END { for (k in s) printf "%s\t%s\n", k, s[k] }' <<<"$out" | sort | jq -R -s 'split("\n") | map(select(length > 0) | split("\t")) | map({(.[0]): (.[1] | tonumber)}) | add // {}'
}

# last_snapshot_ns LOG: when SOCI logged its last "snapshot successfully prepared" (ns since the epoch), or empty
last_snapshot_ns() {
  local t
  t=$(grep 'snapshot successfully prepared' "$1" 2>/dev/null | tail -n 1 | jq -r '.time // empty' 2>/dev/null || true)
  [[ -n $t ]] && date -d "$t" +%s%N
}

# cpu_busy_pct BEFORE AFTER: percent of the machine's CPU time (all cores, every process on the host, other users
# included) that was busy between two /proc/stat "cpu" lines
cpu_busy_pct() {
  awk -v a="$1" -v b="$2" 'BEGIN {
    n = split(a, x, " "); split(b, y, " "); tot = 0
    for (i = 2; i <= 9 && i <= n; i++) tot += y[i] - x[i] # user .. steal (guest time is inside user)
    idle = (y[5] - x[5]) + (y[6] - x[6])
    if (tot > 0) printf "%.0f", 100 * (tot - idle) / tot; else print "null" }'
}

# after_pull_fetches MARK: {"bytes":N,"requests":M} of the requests the counting proxy logged after line MARK of its
# log (each line: "DATE TIME METHOD PATH range=... -> STATUS len=N ..."; bytes of GETs only, a HEAD's len is the
# blob's): for a lazy run, the on-demand fetches after the pull
after_pull_fetches() {
  awk -v from="${1:-0}" 'NR > from && / -> [0-9]+ len=/ { n++; if ($3 == "GET") for (i = 1; i <= NF; i++) if ($i ~ /^len=[0-9]+$/) b += substr($i, 5) }
    END { printf "{\"bytes\":%d,\"requests\":%d}", b, n }' "$LOGS/countproxy.log"
}

now_ns() { echo "${EPOCHREALTIME/./}000"; }
ms() { if [[ -n $1 && -n $2 ]]; then echo $((($2 - $1) / 1000000)); else echo null; fi; } # FROM_NS TO_NS

# bench_start REF TAG [nopull]: pulls REF through CRI (kubelet's image endpoint) unless nopull, runs it as a pod and
# waits for the entrypoint's ready line (read from the pod log file: no CRI polling). Sets B_T0 B_PULL_END
# B_RUNP_END B_CREATE_END (host ns), B_PULL_MARK (the counting proxy's log lines at the pull's end) and B_READY_LINE.
bench_start() {
  local ref=$1 tag=$2 pull=${3:-pull} pod cid i
  B_READY_LINE='' B_PULL_END='' B_RUNP_END='' B_CREATE_END='' B_PULL_MARK=''
  B_T0=$(now_ns)
  if [[ $pull == pull ]]; then
    "${CRICTL[@]}" pull "$ref" >"$LOGS/pull-$tag.log" 2>&1 || { log "pull $ref failed: $(tail -n 2 "$LOGS/pull-$tag.log")"; return 1; }
  fi
  B_PULL_END=$(now_ns)
  # the counting proxy's log (one line per proxied request) up to here: what came after is on-demand
  B_PULL_MARK=$(wc -l <"$LOGS/countproxy.log")
  pod_specs "$ref" "$tag"
  pod=$("${CRICTL[@]}" runp "$WORK/pod-$tag.json" 2>"$LOGS/runp-$tag.log") || { log "runp failed: $(tail -n 2 "$LOGS/runp-$tag.log")"; return 1; }
  B_RUNP_END=$(now_ns)
  cid=$("${CRICTL[@]}" create "$pod" "$WORK/ctr-$tag.json" "$WORK/pod-$tag.json" 2>"$LOGS/create-$tag.log") || { log "create failed: $(tail -n 2 "$LOGS/create-$tag.log")"; return 1; }
  B_CREATE_END=$(now_ns)
  "${CRICTL[@]}" start "$cid" >/dev/null 2>"$LOGS/start-$tag.log" || { log "start failed: $(tail -n 2 "$LOGS/start-$tag.log")"; return 1; }
  for ((i = 0; i < 6000; i++)); do
    if [[ -s $POD_LOG_DIR/lab-$tag/app.log ]] && grep -q LAB-READY "$POD_LOG_DIR/lab-$tag/app.log"; then break; fi
    sleep 0.05
  done
  B_READY_LINE=$(grep -m1 -o 'LAB-READY.*' "$POD_LOG_DIR/lab-$tag/app.log" 2>/dev/null || true)
  "${CRICTL[@]}" rmp -f "$pod" >/dev/null 2>&1 || true
  [[ -n $B_READY_LINE ]]
}

ready_field() { sed -n "s/.* $1=\([0-9]*\).*/\1/p" <<<"$B_READY_LINE"; }

JSONL=$WORK/bench.jsonl
: >"$JSONL"
FAILED_RUNS=0
# not_run COND WL ROW MODE RUN REASONS: a run that was not measured (misconfigured, or its index could not be made):
# a degraded, failed run in the results
not_run() {
  jq -c -n --arg cond "$1" --arg wl "$2" --arg row "$3" --arg rowlabel "$(row_label "$3")" --arg mode "$4" --argjson run "$5" --arg reasons "$6" \
    '{condition: $cond, condition_label: $cond, link: {rate_bytes_per_s: 0, conn_rate_bytes_per_s: 0, ttfb_ms: 0}, workload: $wl, row: $row,
      label: $rowlabel, mode: $mode, span_mib: null, run: $run, ok: false, degraded: true, degraded_reasons: $reasons,
      phases_ms: {pull: null, last_snapshot_prepared: null, sandbox: null, create: null, start: null, app_read: null, ready: null},
      warm_start_ms: null, app_read_bytes: null, registry: {bytes: 0, requests: 0, range_requests: 0}, fuse_mounts: 0,
      whole_indexed_layer_gets: 0, soci_store_bytes: 0, lazy_max_bytes: null, soci_snapshotter: null, containerd: null,
      soci_metrics: null, index: null, ready_line: ""}' >>"$JSONL"
  FAILED_RUNS=$((FAILED_RUNS + 1))
}
declare -A MIMES=()
CONFIG_ONLY_OK=() CONFIG_ONLY_BAD=()
while read -r cond wl rows; do
  [[ -n $cond ]] || continue
  [[ " $WORKLOADS " == *" $wl "* && " $CONDITIONS " == *" $cond "* ]] || continue
  for row in $rows; do
    [[ -z ${BENCH_MODES:-} || " $BENCH_MODES " == *" $row "* ]] || continue
    mode=$(row_mode "$row") || { log "unknown row $row"; exit 1; }
    idx=$(row_index "$row")
    span=${idx%-pf} span=${span%-rec}
    facts=${FACTS[$wl-$idx]:-}
    # recorded prefetch: no recording, no row (each run fails with the reason); a recording that misses reads fails
    # every run of the row
    rec_problems=''
    if [[ $idx == *-rec ]]; then
      rec_problems=$(jq -r 'select(.ok | not) | .problems | join("; ")' <<<"${WL_REC_RESULT[$wl]:-"{\"ok\":false,\"problems\":[\"no recording\"]}"}")
      if [[ -z $facts ]]; then
        log "bench $cond-$wl-$row: not run: ${rec_problems:-no recorded index}"
        for ((r = 1; r <= RUNS; r++)); do not_run "$cond" "$wl" "$row" "$mode" "$r" "recording: ${rec_problems:-no recorded index}"; done
        continue
      fi
    fi
    [[ -n $facts ]] || { log "no index $idx for $wl (BENCH_SPANS=$SPANS; -pf only for workloads that read whole files)"; exit 1; }
    if [[ -z ${MIMES[$mode]:-} ]]; then
      # shellcheck disable=SC2034 # MODE is read by render_userdata in node.sh
      MODE=$mode
      MIMES[$mode]=$WORK/userdata-$mode.mime
      render_userdata "${MIMES[$mode]}"
    fi
    ref=$PULL_REGISTRY/lab/bench-$wl:v1
    [[ $mode == lazy ]] && ref=$PULL_REGISTRY/lab/bench-$wl:$(wl_index_tag "$wl" "$idx")
    jq -r '.indexed_digests[]' <<<"$facts" >"$WORK/indexed-layers"
    # What a lazy run may cost (issue 11): every indexed layer FUSE-mounted, none served whole, and no more bytes than
    # the un-indexed layers + the index + the spans the app's reads can touch (at most reads / span + 1 per file read)
    # or, for an index with prefetch artifacts, the spans they list if that is more, +5%. A recorded index (-rec): the
    # spans of its recording (their compressed bytes, from `apply`), which must hold every read, +5%. Each run adds
    # the spans SOCI's background fetcher fetched (its own count): it takes one span per 500 ms from the layers' resolve
    # until the image's first FUSE mount pauses it (fs/fs.go ~1228, layer.go ~378), and prefetch delays that mount.
    if [[ $idx == *-rec ]]; then
      lazy_max=$(jq '((.unindexed_bytes + .ztoc_bytes + .index_manifest_bytes + .recorded_span_bytes) * 1.05) | floor' <<<"$facts")
    else
      # spans in uncompressed bytes, scaled to what the registry serves for them (+10%: compression varies by span)
      lazy_max=$(jq '((.unindexed_bytes + .ztoc_bytes + .index_manifest_bytes + ([.read_files * (((.read_bytes_per_file + .span_bytes - 1) / .span_bytes | floor) + 1) * .span_bytes, (.prefetch_span_bytes // 0)] | max) * ([.indexed_compression_ratio * 1.1, 1] | min)) * 1.05) | floor' <<<"$facts")
    fi
    indexed=$(jq .indexed_layers <<<"$facts")
    for ((r = 1; r <= RUNS; r++)); do
      tag=$cond-$wl-$row-$r
      teardown_bench_disk
      wipe_node_state
      # disk conditions: containerd's and SOCI's roots on a fresh throttled file system (lib/bench-disk.sh)
      disk_setup "$cond" || { log "could not set up the disk for $cond"; exit 1; }
      rm -f /usr/local/bin/soci /usr/local/bin/soci-snapshotter-grpc /etc/soci-eks/soci-snapshotter-grpc.toml /etc/systemd/system/soci-snapshotter.service
      apply_userdata "${MIMES[$mode]}" "bench-$tag" >"$LOGS/apply-$tag.log" 2>&1 || {
        log "apply failed for $tag: $(tail -n 3 "$LOGS/apply-$tag.log")"
        not_run "$cond" "$wl" "$row" "$mode" "$r" "user data did not apply: $(tail -n 1 "$LOGS/apply-$tag.log")"
        continue
      }
      row_apply "$row" || { log "row $row could not be applied"; exit 1; }
      # The row's settings must be what the daemons read (a misplaced or misread key fails the run, it is not measured).
      config_bad=''
      if [[ $mode != off ]]; then
        config_bad=$(soci_config_check /etc/soci-eks/soci-snapshotter-grpc.toml "$LOGS/soci-config-dump-$tag.toml") || true
      elif [[ $row == off-tuned ]]; then
        config_bad=$(containerd_config_check "$LOGS/containerd-config-dump-$tag.toml" \
          'plugins."io.containerd.cri.v1.images".max_concurrent_downloads' 'plugins."io.containerd.cri.v1.images".concurrent_layer_fetch_buffer') || true
      fi
      # BENCH_CONFIG_ONLY=1: every row's config through the gate, one run each, no pulls (a plan's configs in minutes)
      if [[ ${BENCH_CONFIG_ONLY:-0} == 1 ]]; then
        if [[ -n $config_bad ]]; then
          CONFIG_ONLY_BAD+=("$cond $wl $row: $(tr '\n' ';' <<<"$config_bad")")
        elif [[ $mode != off || $row == off-tuned ]]; then
          CONFIG_ONLY_OK+=("$cond $wl $row")
        fi
        break
      fi
      if [[ -n $config_bad ]]; then
        log "bench $tag: MISCONFIGURED, not run: $(tr '\n' ';' <<<"$config_bad")"
        not_run "$cond" "$wl" "$row" "$mode" "$r" "config: $(tr '\n' ';' <<<"$config_bad")"
        continue
      fi
      # LAB_SOCI_CONTENT_STORE=containerd: the SOCI config before issue 11, to see the bench flag degraded runs.
      if [[ $mode == lazy && ${LAB_SOCI_CONTENT_STORE:-} == containerd ]]; then gc_old_content_store; fi
      # BENCH_GC_PRESSURE=1: the GC-pressure section's aggressive collector and lease churn (lab/lib/gc-pressure.sh).
      if [[ ${BENCH_GC_PRESSURE:-0} == 1 ]]; then gc_aggressive_config; fi
      # containerd (and SOCI for layers it unpacks itself) decompress gzip with igzip when it is on PATH, else unpigz
      # (containerd pkg/archive/compression). An AL2023 node has unpigz and no igzip: every row runs that way except the
      # -igzip rows, which are about igzip.
      if [[ $row == *-igzip ]]; then
        command -v igzip >/dev/null || { log "row $row needs igzip (Debian package isal: apt-get install isal)"; exit 1; }
        unset CONTAINERD_DISABLE_IGZIP
      else
        export CONTAINERD_DISABLE_IGZIP=1
      fi
      start_node "bench-$tag" || {
        log "node did not start for $tag"
        stop_node
        not_run "$cond" "$wl" "$row" "$mode" "$r" "node did not start"
        continue
      }
      # ... and the daemon was started with that file (the unit's ExecStart).
      if [[ $mode != off ]] && ! tr '\0' ' ' <"/proc/$SOCI_PID/cmdline" | grep -q -- '--config /etc/soci-eks/soci-snapshotter-grpc.toml'; then
        log "soci-snapshotter-grpc was not started with our config file: $(tr '\0' ' ' <"/proc/$SOCI_PID/cmdline")"
        exit 1
      fi
      if [[ $mode == off ]]; then
        ctr --address "$CTR_SOCK" -n k8s.io images import --local /etc/eks/pause.tar >/dev/null 2>&1 || true
      else
        import_pause "bench-$tag" || {
          log "pause import failed for $tag"
          stop_node
          not_run "$cond" "$wl" "$row" "$mode" "$r" "the pause image did not import into SOCI's snapshotter"
          continue
        }
      fi
      crictl_init
      condition_shape "$cond" || { log "could not shape the link for $cond"; exit 1; }
      curl -fsS -X POST "http://$PULL_REGISTRY/__lab/reset" >/dev/null
      mark=$(registry_mark)
      before=$(fuse_mounts)
      ok=true
      if [[ ${BENCH_GC_PRESSURE:-0} == 1 ]]; then gc_churn_start; fi
      cpu_before=$(head -n 1 /proc/stat)
      bench_start "$ref" "$tag" || ok=false
      cpu_busy=$(cpu_busy_pct "$cpu_before" "$(head -n 1 /proc/stat)")
      if [[ ${BENCH_GC_PRESSURE:-0} == 1 ]]; then gc_churn_stop >/dev/null; fi
      served=$(curl -fsS "http://$PULL_REGISTRY/__lab/bytes")
      after_pull='{"bytes":0,"requests":0}'
      [[ -z ${B_PULL_MARK:-} ]] || after_pull=$(after_pull_fetches "$B_PULL_MARK")
      soci_stats=$(proc_stats "$SOCI_PID")
      ctrd_stats=$(proc_stats "$CONTAINERD_PID")
      metrics=null
      [[ $mode == off ]] || metrics=$(soci_metrics)
      snap_ns=''
      [[ $mode == off ]] || snap_ns=$(last_snapshot_ns "$LOGS/soci-bench-$tag.log" || true)
      # the pull phase layer by layer, from SOCI's log: its Prepare calls and containerd's time between them
      timeline=null
      if [[ $mode != off && -n $B_PULL_END ]]; then
        timeline=$(node "$REPO_DIR/dist/lab/report/timelineMain.js" "$LOGS/soci-bench-$tag.log" "$B_T0" "$B_PULL_END" 2>/dev/null) || timeline=null
      fi
      mounts=$(($(fuse_mounts) - before))
      whole=$(whole_indexed_gets "$mark" "$WORK/indexed-layers")
      bytes=$(jq .bytes <<<"$served")
      store_bytes=$(du -sb /var/lib/soci-snapshotter-grpc/content 2>/dev/null | cut -f1 || true)
      start_ns=$(ready_field start_ns) ready_ns=$(ready_field ready_ns) read_bytes=$(ready_field bytes_read)
      phases=$(jq -c -n --argjson pull "$(ms "$B_T0" "$B_PULL_END")" --argjson snap "$(ms "$B_T0" "$snap_ns")" \
        --argjson runp "$(ms "$B_PULL_END" "$B_RUNP_END")" --argjson create "$(ms "$B_RUNP_END" "$B_CREATE_END")" \
        --argjson start "$(ms "$B_CREATE_END" "$start_ns")" --argjson read "$(ms "$start_ns" "$ready_ns")" \
        --argjson ready "$(ms "$B_T0" "$ready_ns")" \
        '{pull: $pull, last_snapshot_prepared: $snap, sandbox: $runp, create: $create, start: $start, app_read: $read, ready: $ready}')
      line=$B_READY_LINE
      # The stock start cost: the same image started again, present this time (no pull).
      warm=null
      if [[ $mode == off && $ok == true ]]; then
        if bench_start "$ref" "$tag-warm" nopull; then
          warm=$(((${B_READY_LINE##*ready_ns=} - B_PULL_END) / 1000000))
        fi
      fi
      reasons=''
      run_max=$lazy_max
      if [[ $mode == lazy ]]; then
        bg_spans=$(jq '.["soci_fs_operation_count{operation_type=\"background_span_fetch_count\"}"] // 0' <<<"$metrics")
        # the fetcher's own pace (one span per 500 ms) bounds what it may add: more than that is not the fetcher
        bg_max=$(($(jq '.ready // 0' <<<"$phases") / 500 + 1))
        ((bg_spans <= bg_max)) || reasons+="$bg_spans background span fetches > $bg_max (one per 500 ms until ready); "
        run_max=$((lazy_max + (bg_spans < bg_max ? bg_spans : bg_max) * $(jq .span_bytes <<<"$facts")))
        ((mounts >= indexed)) || reasons+="fuse mounts $mounts < $indexed indexed layers; "
        ((whole == 0)) || reasons+="$whole whole GETs of indexed layers; "
        ((bytes <= run_max)) || reasons+="$bytes bytes > lazy expectation $run_max ($bg_spans background span fetches); "
      fi
      [[ -z $rec_problems ]] || reasons+="recording: $rec_problems; "
      # a recorded index that covers the reads leaves the container nothing to fetch: its spans came with the pull
      if [[ $idx == *-rec && -z $rec_problems ]] && (($(jq .requests <<<"$after_pull") > 0)); then
        reasons+="$(jq -r '"\(.requests) requests (\(.bytes) bytes)"' <<<"$after_pull") on demand after the pull: the recorded prefetch did not serve every read; "
      fi
      degraded=false
      [[ -n $reasons ]] && degraded=true ok=false
      [[ -n $ready_ns ]] || ok=false
      [[ $ok == true ]] || FAILED_RUNS=$((FAILED_RUNS + 1))
      jq -c -n --arg cond "$cond" --arg cond_label "$COND_LABEL" --arg wl "$wl" --arg row "$row" --arg rowlabel "$(row_label "$row")" \
        --arg mode "$mode" --argjson span "$span" --argjson run "$r" --argjson ok "$ok" --argjson degraded "$degraded" \
        --arg reasons "${reasons%; }" --argjson served "$served" --argjson fuse "$mounts" --argjson whole "$whole" \
        --argjson store "${store_bytes:-0}" --argjson cpu_busy "${cpu_busy:-null}" --argjson soci "$soci_stats" --argjson containerd "$ctrd_stats" \
        --argjson metrics "$metrics" --argjson warm "$warm" --argjson read_bytes "${read_bytes:-null}" \
        --argjson phases "$phases" --argjson rate "$COND_RATE" --argjson conn_rate "$COND_CONN_RATE" \
        --argjson ttfb "$COND_TTFB_MS" --argjson facts "$facts" --argjson lazy_max "$run_max" --arg line "$line" --argjson after "$after_pull" \
        --arg edits "$(row_soci_edits "$row")" --argjson timeline "${timeline:-null}" '
        {condition: $cond, condition_label: $cond_label, link: {rate_bytes_per_s: $rate, conn_rate_bytes_per_s: $conn_rate, ttfb_ms: $ttfb},
         workload: $wl, row: $row, label: $rowlabel, mode: $mode, span_mib: (if $mode == "lazy" then $span else null end), run: $run,
         ok: $ok, degraded: $degraded, degraded_reasons: $reasons,
         phases_ms: $phases,
         warm_start_ms: $warm, app_read_bytes: $read_bytes,
         registry: {bytes: $served.bytes, requests: $served.requests, range_requests: $served.range_requests,
                    after_pull_bytes: $after.bytes, after_pull_requests: $after.requests},
         fuse_mounts: $fuse, whole_indexed_layer_gets: $whole, soci_store_bytes: $store, lazy_max_bytes: (if $mode == "lazy" then $lazy_max else null end),
         machine_cpu_busy_pct: $cpu_busy, soci_snapshotter: $soci, containerd: $containerd, soci_metrics: $metrics,
         index: (if $mode == "lazy" then {span_bytes: $facts.span_bytes, ztoc_bytes: $facts.ztoc_bytes, index_manifest_bytes: $facts.index_manifest_bytes, unindexed_bytes: $facts.unindexed_bytes, indexed_compression_ratio: $facts.indexed_compression_ratio} else null end),
         soci_edits: ($edits | split("\n") | map(select(length > 0))), pull_timeline: $timeline,
         ready_line: $line}' >>"$JSONL"
      log "bench $tag: ok=$ok${reasons:+ DEGRADED (${reasons%; })} phases $phases, warm start $warm ms, registry $bytes bytes in $(jq .requests <<<"$served") requests ($(jq -r '"\(.bytes) bytes in \(.requests)"' <<<"$after_pull") after the pull), fuse +$mounts, soci $soci_stats, machine CPU busy $cpu_busy%"
      stop_node
      teardown_bench_disk
    done
  done
done <<<"$PLAN"
curl -fsS -X POST "http://$PULL_REGISTRY/__lab/shape?rate=0" >/dev/null || true

if [[ ${BENCH_CONFIG_ONLY:-0} == 1 ]]; then
  printf 'config ok: %s\n' "${CONFIG_ONLY_OK[@]}"
  ((${#CONFIG_ONLY_BAD[@]} == 0)) || printf 'MISCONFIGURED: %s\n' "${CONFIG_ONLY_BAD[@]}"
  echo "config-only: ${#CONFIG_ONLY_OK[@]} rows read as written, ${#CONFIG_ONLY_BAD[@]} misconfigured (stock rows have no SOCI config)"
  ((${#CONFIG_ONLY_BAD[@]} == 0)) || exit 1
  exit 0
fi
stamp=$(date -u +%Y%m%dT%H%M%SZ)
out=$RESULTS/bench-$stamp
workloads_json=$(for k in "${!FACTS[@]}"; do jq -c --arg k "$k" '{($k): (del(.indexed_digests))}' <<<"${FACTS[$k]}"; done | jq -s 'add // {}')
# in the order of BENCH_WORKLOADS
recordings_json=$(for k in $WORKLOADS; do [[ -z ${WL_REC_RESULT[$k]:-} ]] || jq -c --arg k "$k" '{($k): .}' <<<"${WL_REC_RESULT[$k]}"; done | jq -s 'add // {}')
jq -n --arg stamp "$stamp" --argjson cpus "$(nproc)" --arg load_before "$LOAD_BEFORE" --arg load_after "$(cut -d' ' -f1-3 /proc/loadavg)" \
  --arg tune "$LAB_INSTANCE" --argjson runs "$RUNS" --argjson workloads "$workloads_json" --argjson default_span "$DEFAULT_SPAN_MIB" \
  --argjson recordings "$recordings_json" \
  --arg store "${LAB_SOCI_CONTENT_STORE:-soci}" --argjson gcp "$([[ ${BENCH_GC_PRESSURE:-0} == 1 ]] && echo true || echo false)" \
  --arg kernel "$(uname -r)" --arg command "BENCH_RUNS=$RUNS BENCH_WORKLOADS='$WORKLOADS' BENCH_CONDITIONS='$CONDITIONS'${BENCH_MODES:+ BENCH_MODES='$BENCH_MODES'} npm run bench" '
  {date: $stamp, command: $command, cpus: $cpus, kernel: $kernel, loadavg_before: $load_before, loadavg_after: $load_after,
   parallel_tuning_rendered_for: $tune, runs_per_row: $runs, default_span_mib: $default_span, workloads: $workloads,
   recordings: $recordings,
   soci_content_store_lazy: $store, gc_pressure: $gcp,
   software: {containerd: "v2.2.4", soci_snapshotter: "v0.16.1", runc: "Debian 1.1.5"}}' >"$WORK/bench-meta.json"
node "$REPO_DIR/dist/lab/report/main.js" --meta "$WORK/bench-meta.json" --runs "$JSONL" --out "$out" || { log "report failed"; exit 1; }
cat "$out.md"
log "results: $out.json $out.md $out.svg"
if ((FAILED_RUNS > 0)); then
  echo "FAILED: $FAILED_RUNS runs failed or were degraded (see $out.md)"
  exit 1
fi
