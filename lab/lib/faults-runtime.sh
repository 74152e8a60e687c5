#!/usr/bin/env bash
# Runtime faults on a node that joined on SOCI (issue 12), sourced by lib/faults-boot.sh when
# FAULT_RUNTIME is set; it runs after the boot's own pod, with crictl as kubelet would call it.
#   soci-killed    soci-snapshotter-grpc is killed (SIGKILL) while a container reads its lazily loaded files
#   registry-5xx   the registry answers SOCI's span fetches (range GETs on layer blobs) with 503 for
#                  FAULT_5XX_SECONDS (default 5) while a container reads
# The reading container is labentry with -steps: after its ready line it reads the rest of every file
# in 12 steps, one a second, printing ok/error per step, so its log says what the container saw before,
# during and after the fault. Then a new container of the same image reads every byte (does SOCI serve
# the image again?). Results: rt_* keys in result.env; logs in OUT/runtime-*.
# Uses faults-boot.sh's R, OUT, IMAGE, PULL_REGISTRY, ise.

rt_crictl() {
  crictl --runtime-endpoint unix:///run/containerd/containerd.sock --image-endpoint "${ise:-unix:///run/containerd/containerd.sock}" --timeout 120s "$@"
}

# rt_run_pod NAME ARGS_JSON: starts a pod with one container of IMAGE running /bin/entry ARGS; prints "POD CID".
rt_run_pod() {
  local name=$1 args=$2 pod cid
  cat >"$OUT/runtime-$name-pod.json" <<EOF
{"metadata":{"name":"rt-$name","namespace":"lab","uid":"rt-$name-$$","attempt":0},"log_directory":"$OUT/podlogs",
 "linux":{"security_context":{"namespace_options":{"network":2}}}}
EOF
  printf '{"metadata":{"name":"%s"},"image":{"image":"%s"},"command":["/bin/entry"],"args":%s,"log_path":"%s.log","linux":{}}\n' \
    "$name" "$IMAGE" "$args" "$name" >"$OUT/runtime-$name-ctr.json"
  pod=$(rt_crictl runp "$OUT/runtime-$name-pod.json" 2>>"$OUT/runtime.log") || return 1
  cid=$(rt_crictl create "$pod" "$OUT/runtime-$name-ctr.json" "$OUT/runtime-$name-pod.json" 2>>"$OUT/runtime.log") || return 1
  rt_crictl start "$cid" >/dev/null 2>>"$OUT/runtime.log" || return 1
  echo "$pod $cid"
}

# rt_wait_log CID PATTERN SECONDS: waits until the container's log has PATTERN
rt_wait_log() {
  local i
  for ((i = 0; i < $3 * 5; i++)); do
    rt_crictl logs "$1" 2>/dev/null | grep -q -- "$2" && return 0
    sleep 0.2
  done
  return 1
}

runtime_fault() {
  local kind=$1 pp pod cid i soci_pid steps
  R rt_kind "$kind"
  pp=$(rt_run_pod reader '["-frac","0.06","-steps","12","-every","1s","/data"]') || { R rt_started 0; return 0; }
  read -r pod cid <<<"$pp"
  R rt_started 1
  rt_wait_log "$cid" "LAB-STEP 2 " 60 || true
  case $kind in
    soci-killed)
      soci_pid=$(cat /run/lab-systemd/soci-snapshotter.service.pid 2>/dev/null || true)
      R rt_soci_pid_before "$soci_pid"
      [[ -n $soci_pid ]] && kill -KILL "$soci_pid"
      echo "killed soci-snapshotter-grpc ($soci_pid) after LAB-STEP 2" >>"$OUT/runtime.log"
      ;;
    registry-5xx)
      curl -fsS -X POST "http://$PULL_REGISTRY/__lab/fail?path=/blobs/&agent=soci-snapshotter&count=100000&status=503&range=1" >/dev/null
      echo "registry: 503 for SOCI's range GETs for ${FAULT_5XX_SECONDS:-5}s after LAB-STEP 2" >>"$OUT/runtime.log"
      sleep "${FAULT_5XX_SECONDS:-5}"
      curl -fsS "http://$PULL_REGISTRY/__lab/bytes" >>"$OUT/runtime.log" || true
      curl -fsS -X POST "http://$PULL_REGISTRY/__lab/fail?path=none&count=0" >/dev/null
      ;;
  esac
  rt_wait_log "$cid" "LAB-DONE" 120 || true
  rt_crictl logs "$cid" >"$OUT/runtime-reader.log" 2>&1 || true
  # one word per step: ok or error
  steps=$(sed -n 's/^LAB-STEP [0-9]* \(ok\|error\).*/\1/p' "$OUT/runtime-reader.log" | tr '\n' ' ')
  R rt_steps "${steps% }"
  R rt_first_error "$(grep -m1 '^LAB-STEP [0-9]* error' "$OUT/runtime-reader.log" | sed 's/^[^:]*: //' | cut -c1-200)"
  R rt_reader_done "$(grep -c '^LAB-DONE' "$OUT/runtime-reader.log" || true)"
  R rt_longest_step_ms "$(sed -n 's/^LAB-STEP [0-9]* [a-z]* bytes=[0-9]* ms=\([0-9]*\).*/\1/p' "$OUT/runtime-reader.log" | sort -n | tail -n 1)"
  rt_crictl rmp -f "$pod" >/dev/null 2>&1 || true
  if [[ $kind == soci-killed ]]; then
    for ((i = 0; i < 100; i++)); do systemctl is-active --quiet soci-snapshotter.service && break; sleep 0.2; done
    R rt_soci_active_after "$(systemctl is-active --quiet soci-snapshotter.service && echo 1 || echo 0)"
    R rt_soci_pid_after "$(cat /run/lab-systemd/soci-snapshotter.service.pid 2>/dev/null || true)"
    R rt_soci_restarts "$(grep -c 'started again' "$OUT/soci-snapshotter.service.log" || true)"
  fi
  # a new container of the same image reads every byte of its files
  pp=$(rt_run_pod after '["-frac","1","/data"]') || { R rt_after_ran 0; return 0; }
  read -r pod cid <<<"$pp"
  rt_wait_log "$cid" "LAB-READY" 60 || true
  rt_crictl logs "$cid" >"$OUT/runtime-after.log" 2>&1 || true
  R rt_after_ran "$(grep -c '^LAB-READY' "$OUT/runtime-after.log" || true)"
  R rt_after_error "$(grep -m1 'labentry:' "$OUT/runtime-after.log" | cut -c1-200)"
  rt_crictl rmp -f "$pod" >/dev/null 2>&1 || true
}
