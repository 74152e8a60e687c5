# The lab's SOCI-store cleanup section (issue 11), sourced by lab/lib/node.sh.
# shellcheck shell=bash
#
# Lazy nodes keep SOCI's artifacts in SOCI's own content store, which SOCI never prunes. On a lazy node with the
# product config: three indexed images are pulled lazily through CRI.
#   gone    - pulled, run, its pod and image removed: what it leaves behind is measured;
#   cached  - pulled and run, image kept;
#   running - a container that keeps running, whose image record was deleted (ctr images rm) and whose manifest
#             containerd then collected: only its snapshots say what it needs.
# The cleanup (userdata/scripts/soci-store-gc.sh, as soci-eks-store-gc.service runs it) must first keep `gone`
# too, because the running daemon cached its index (a re-pull would then fail to find the zTOCs); after SOCI
# restarts (as on a reboot or a unit restart) it must remove `gone` only; the running container keeps running;
# `gone` pulls lazily again; with containerd stopped the cleanup removes nothing and exits 1.
#
# Needs from node.sh: pass fail check log apply_userdata start_node stop_node import_pause crictl_init run_image
# wipe_node_state fuse_mounts soci_index_blob $WORK $LOGS $CACHE $BIN $CTR_SOCK $REGISTRY $PULL_REGISTRY $MIME
# $CRICTL $POD_LOG_DIR $CONTAINERD_PID.

SOCI_BLOBS=/var/lib/soci-snapshotter-grpc/content/blobs/sha256

# store_gc_image NAME SEED: an indexed image like small (2 x 16 MiB layers), built once into lab/.cache, pushed.
store_gc_image() {
  local name=$1 seed=$2 img=$CACHE/images key
  exec 9>"$CACHE/images.lock"
  flock 9
  # Cached per entry binary and seed: a rebuilt labentry makes a new image (no stale leftovers).
  key="$(sha256sum "$BIN/labentry" | cut -d' ' -f1) seed=$seed"
  if [[ "$(cat "$img/$name-soci.done" 2>/dev/null)" != "$key" ]]; then
    mkimage -out "$img/$name" -name "$REGISTRY/lab/$name:v1" -entry "$BIN/labentry" \
      -cmd "/bin/entry,-frac,0.06,/data" -layers 2 -layer-bytes 16777216 -files 1 -seed "$seed" >&2
    rm -rf "$img/$name-soci"
    soci convert --standalone --format oci-dir --min-layer-size 1048576 "$img/$name" "$img/$name-soci" >"$LOGS/soci-convert-$name.log" 2>&1
    printf '%s\n' "$key" >"$img/$name-soci.done"
  fi
  skopeo copy -q --all --dest-tls-verify=false "oci:$img/$name-soci" "docker://$REGISTRY/lab/$name:v1-soci"
  flock -u 9
}

# artifacts NAME: the SOCI index digest and its zTOC digests (hex), one per line
artifacts() {
  local idx
  idx=$(soci_index_blob "$CACHE/images/$1-soci")
  basename "$idx"
  jq -r '.layers[].digest | sub("^sha256:"; "")' "$idx"
}
# present NAME: how many of NAME's SOCI artifacts are in SOCI's store
present() {
  local n=0 d
  for d in $(artifacts "$1"); do [[ -f $SOCI_BLOBS/$d ]] && n=$((n + 1)); done
  echo "$n"
}
ready_line_seen() { "${CRICTL[@]}" logs "$1" 2>&1 | grep -q LAB-READY; }
manifest_gone() { ! ctr --address "$CTR_SOCK" -n k8s.io content ls | grep -q "$1"; }
container_running() { "${CRICTL[@]}" inspect -o json "$1" | jq -e '.status.state == "CONTAINER_RUNNING"' >/dev/null; }
store_bytes() { du -sb "$SOCI_BLOBS" 2>/dev/null | cut -f1; }

SOCI_LOG_NOW=
run_store_gc() { # runs the cleanup as its unit does (the daemon's log file stands in for its journal)
  CONTAINERD_ADDRESS=$CTR_SOCK SOCI_EKS_CTR=$BIN/ctr SOCI_EKS_STORE_GC_GRACE_MINUTES=0 SOCI_EKS_SOCI_LOG=$SOCI_LOG_NOW \
    bash /usr/local/libexec/soci-eks/soci-store-gc.sh >"$LOGS/store-gc-$1.log" 2>&1
}
restart_soci() { # NAME: stops SOCI and starts it again from the unit's ExecStart (systemd's Restart=, or a reboot)
  local cmd
  kill -TERM "$SOCI_PID" 2>/dev/null || true
  wait "$SOCI_PID" 2>/dev/null || true
  cmd=$(unit_exec soci-snapshotter.service)
  # shellcheck disable=SC2086 # the unit's ExecStart, word-split like systemd does
  $cmd --log-level debug >"$LOGS/soci-$1.log" 2>&1 &
  SOCI_PID=$!
  SOCI_LOG_NOW=$LOGS/soci-$1.log
  wait_for 30 "soci restart" grep -q 'soci-snapshotter-grpc successfully started' "$SOCI_LOG_NOW"
}

store_gc_section() {
  local want_gone want_cached want_running before after gone_bytes rc pod cid n
  log "store-gc section: SOCI's own content store and soci-store-gc.sh"
  store_gc_image gcgone 21
  store_gc_image gccached 22
  store_gc_image gcrun 23
  want_gone=$(artifacts gcgone | wc -l)
  want_cached=$(artifacts gccached | wc -l)
  want_running=$(artifacts gcrun | wc -l)

  wipe_node_state
  apply_userdata "$MIME" store-gc >"$LOGS/apply-store-gc.log" 2>&1 || { fail "store-gc: user data did not apply"; return 1; }
  # The lazy user data ships the cleanup (script, service, timer) in its node-files archive; the installer enables
  # the timer. The lab runs the script by hand (no systemd timers here), as soci-eks-store-gc.service would.
  check "store-gc: the user data put the cleanup script on the node" test -x /usr/local/libexec/soci-eks/soci-store-gc.sh
  check "store-gc: the user data put the cleanup service and timer on the node" \
    test -f /etc/systemd/system/soci-eks-store-gc.service -a -f /etc/systemd/system/soci-eks-store-gc.timer
  start_node store-gc || { fail "store-gc: node did not start"; return 1; }
  SOCI_LOG_NOW=$LOGS/soci-store-gc.log
  import_pause store-gc || log "store-gc: pause import failed"
  crictl_init

  before=$(store_bytes)
  run_image "$PULL_REGISTRY/lab/gcgone:v1-soci" gcgone >/dev/null 2>&1 || { fail "store-gc: gcgone did not run"; return 1; }
  gone_bytes=$(($(store_bytes) - ${before:-0}))
  run_image "$PULL_REGISTRY/lab/gccached:v1-soci" gccached >/dev/null 2>&1 || { fail "store-gc: gccached did not run"; return 1; }

  # running: a pod whose container holds after its ready line
  cat >"$WORK/pod-gcrun.json" <<EOF
{"metadata":{"name":"lab-gcrun","namespace":"lab","uid":"lab-gcrun-$$","attempt":0},"log_directory":"$POD_LOG_DIR/lab-gcrun",
 "linux":{"security_context":{"namespace_options":{"network":2}}}}
EOF
  cat >"$WORK/ctr-gcrun.json" <<EOF
{"metadata":{"name":"app"},"image":{"image":"$PULL_REGISTRY/lab/gcrun:v1-soci"},"command":["/bin/entry"],"args":["-frac","0.06","-hold","/data"],"log_path":"app.log","linux":{}}
EOF
  mkdir -p "$POD_LOG_DIR/lab-gcrun"
  "${CRICTL[@]}" pull "$PULL_REGISTRY/lab/gcrun:v1-soci" >"$LOGS/pull-gcrun.log" 2>&1 || { fail "store-gc: gcrun did not pull"; return 1; }
  if ! pod=$("${CRICTL[@]}" runp "$WORK/pod-gcrun.json" 2>"$LOGS/runp-gcrun.log") ||
    ! cid=$("${CRICTL[@]}" create "$pod" "$WORK/ctr-gcrun.json" "$WORK/pod-gcrun.json" 2>"$LOGS/create-gcrun.log") ||
    ! "${CRICTL[@]}" start "$cid" >/dev/null 2>"$LOGS/start-gcrun.log"; then
    fail "store-gc: gcrun did not start"
    return 1
  fi
  wait_for 30 "gcrun ready line" ready_line_seen "$cid"

  check "store-gc: after the pulls, SOCI's store holds every artifact of the three images ($want_gone + $want_cached + $want_running)" \
    test "$(present gcgone)$(present gccached)$(present gcrun)" = "$want_gone$want_cached$want_running"

  # gone: pod and image removed, the way kubelet's image GC removes an unused image
  "${CRICTL[@]}" rmp -f "$("${CRICTL[@]}" pods -q --name lab-gcgone)" >/dev/null 2>&1 || true
  "${CRICTL[@]}" rmi "$PULL_REGISTRY/lab/gcgone:v1-soci" >"$LOGS/rmi-gcgone.log" 2>&1 || log "rmi gcgone: $(tail -n 1 "$LOGS/rmi-gcgone.log")"
  # running: its image record goes too (the container keeps running on its snapshots)
  ctr --address "$CTR_SOCK" -n k8s.io images rm "$PULL_REGISTRY/lab/gcrun:v1-soci" >/dev/null 2>&1 || true
  sleep 2 # containerd's GC runs after deletions
  n=$(present gcgone)
  echo "INFO store-gc: SOCI's own store keeps what an image leaves behind: after its pod and image were removed, $n of $want_gone SOCI artifacts of gcgone remain; bytes the lazy pull of one 34.5 MB image added to SOCI's store: ${gone_bytes} (index + zTOCs + the zTOC-less entry layer SOCI unpacked itself)"
  check "store-gc: without the cleanup, SOCI's store keeps the removed image's artifacts ($n of $want_gone; upstream #1069)" test "$n" = "$want_gone"
  check "store-gc: the running container's manifest is gone from containerd (its snapshots are all that say what it needs)" \
    manifest_gone "$(jq -r '.manifests[0].digest' "$CACHE/images/gcrun/index.json")"

  # 1. While the daemon that loaded `gone` runs: nothing of it may go (it caches the index until it restarts).
  if run_store_gc run1; then
    pass "store-gc: soci-store-gc.sh ran with the daemon that loaded every image: $(tail -n 1 "$LOGS/store-gc-run1.log")"
  else
    fail "store-gc: soci-store-gc.sh failed: $(tail -n 2 "$LOGS/store-gc-run1.log" | tr '\n' ' ')"
  fi
  check "store-gc: it keeps the removed image's artifacts while the daemon that cached its index runs ($(present gcgone) of $want_gone)" \
    test "$(present gcgone)" = "$want_gone"
  # 2. SOCI restarts (a reboot, or systemd restarting the unit): its cache is empty. The cleanup finds nothing
  # about gone and marks its artifacts; it removes nothing yet.
  restart_soci store-gc-restarted || { fail "store-gc: SOCI did not restart"; return 1; }
  if run_store_gc run2; then
    pass "store-gc: soci-store-gc.sh ran after SOCI restarted: $(tail -n 1 "$LOGS/store-gc-run2.log")"
  else
    fail "store-gc: soci-store-gc.sh failed after SOCI restarted: $(tail -n 2 "$LOGS/store-gc-run2.log" | tr '\n' ' ')"
  fi
  check "store-gc: unneeded for the first time, the removed image's artifacts are marked, not removed ($(present gcgone) of $want_gone)" \
    test "$(present gcgone)" = "$want_gone" -a "$(wc -l </var/lib/soci-eks/store-gc-marks)" -ge "$want_gone"
  # 3. The race of findings 2026-12-07 §3, replayed: the next run finds gone's artifacts unneeded again (due for
  # removal); between that first look and the removal a pod pulls gone again (SOCI loads its index from its own
  # store). The second look, just before removing, sees the manifest again: nothing of gone goes.
  local repull
  repull="$(printf '%q ' "${CRICTL[@]}") pull $PULL_REGISTRY/lab/gcgone:v1-soci >$LOGS/pull-gcgone-race.log 2>&1"
  before=$(fuse_mounts)
  if SOCI_EKS_STORE_GC_BEFORE_RECHECK=$repull run_store_gc run3-race; then
    pass "store-gc: a pull between the cleanup's first look and its removal: $(tail -n 1 "$LOGS/store-gc-run3-race.log")"
  else
    fail "store-gc: soci-store-gc.sh failed with a pull mid-run: $(tail -n 2 "$LOGS/store-gc-run3-race.log" | tr '\n' ' ')"
  fi
  check "store-gc: the image pulled again mid-run keeps its index and zTOCs ($(present gcgone) of $want_gone; the second look kept them)" \
    test "$(present gcgone)" = "$want_gone" -a "$(grep -c 'kept [1-9][0-9]* needed again at the second look' "$LOGS/store-gc-run3-race.log")" = 1
  check "store-gc: the pull mid-run was lazy, from the index in SOCI's store (FUSE mounts $before -> $(fuse_mounts))" test "$(($(fuse_mounts) - before))" -ge 2
  if run_image "$PULL_REGISTRY/lab/gcgone:v1-soci" gcgone-race >/dev/null 2>&1; then
    pass "store-gc: the image pulled again mid-run runs after the cleanup: ${READY_LINE:0:60}"
  else
    fail "store-gc: the image pulled again mid-run did not run after the cleanup"
  fi
  # 4. gone is removed again and SOCI restarts: two runs later its artifacts are gone.
  "${CRICTL[@]}" rmi "$PULL_REGISTRY/lab/gcgone:v1-soci" >/dev/null 2>&1 || true
  restart_soci store-gc-restarted2 || { fail "store-gc: SOCI did not restart"; return 1; }
  if ! { run_store_gc run4 && run_store_gc run5; }; then
    fail "store-gc: soci-store-gc.sh failed: $(tail -n 2 "$LOGS/store-gc-run5.log" | tr '\n' ' ')"
  fi
  check "store-gc: unneeded at two runs in a row, the removed image's SOCI artifacts are gone ($(present gcgone) of $want_gone left): $(tail -n 1 "$LOGS/store-gc-run5.log")" \
    test "$(present gcgone)" = 0
  check "store-gc: the cached image keeps its SOCI artifacts ($(present gccached) of $want_cached)" test "$(present gccached)" = "$want_cached"
  check "store-gc: the running container's image keeps its SOCI artifacts ($(present gcrun) of $want_running)" test "$(present gcrun)" = "$want_running"
  check "store-gc: the running container still runs (through SOCI's restarts and the cleanup)" container_running "$cid"

  before=$(fuse_mounts)
  if run_image "$PULL_REGISTRY/lab/gcgone:v1-soci" gcgone-again >/dev/null 2>&1; then
    after=$(fuse_mounts)
    check "store-gc: the removed image pulls lazily again after the cleanup (FUSE mounts $before -> $after, artifacts fetched again: $(present gcgone) of $want_gone)" \
      test "$((after - before))" -ge 2 -a "$(present gcgone)" = "$want_gone"
  else
    fail "store-gc: the removed image did not pull and run again after the cleanup"
  fi
  check "store-gc: no failed remote prepare of an indexed layer in the restarted daemon's log" \
    bash -c "! grep 'failed to prepare remote snapshot' '$SOCI_LOG_NOW' | grep -vq 'no ztoc for layer'"

  # Never remove on incomplete knowledge: containerd down -> exit 1, nothing removed.
  "${CRICTL[@]}" rmp -f "$pod" >/dev/null 2>&1 || true
  n=$(find "$SOCI_BLOBS" -type f | wc -l)
  kill -TERM "$CONTAINERD_PID" 2>/dev/null || true
  wait "$CONTAINERD_PID" 2>/dev/null || true
  CONTAINERD_PID=''
  rc=0
  run_store_gc down || rc=$?
  check "store-gc: with containerd down the cleanup exits 1 and removes nothing (exit $rc, blobs $n -> $(find "$SOCI_BLOBS" -type f | wc -l))" \
    test "$rc" = 1 -a "$(find "$SOCI_BLOBS" -type f | wc -l)" = "$n"
  stop_node
}
