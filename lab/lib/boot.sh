#!/usr/bin/env bash
# A node from our user data: render it, apply it as nodeadm + cloud-init would (nodeadm-sim), run the
# installer, start SOCI and containerd from the units it wrote, import the pause image; boot_section checks it.
# Sourced by lab/lib/node.sh (uses its pass/fail/check/log, WORK, LOGS, CACHE, BIN and the ports).

# ---------------------------------------------------------------- user data -> node ---
render_userdata() { # OUT [MUTATOR]
  node "$LAB_DIR/lib/render-userdata.mjs" "$REPO_DIR" "$MODE" "http://127.0.0.1:$MIRROR_PORT" "$RELEASE_SHA256" 2>"$LOGS/render.log" >"$1"
  log "$(cat "$LOGS/render.log")"
}

# Applies the user data the way nodeadm-config + cloud-init would (nodeadm-sim), then runs
# the x-shellscript parts as cloud-final would. Sets SIM_JSON.
apply_userdata() { # MIME NAME
  local mime=$1 name=$2 out=$WORK/ud-$2 s
  mkdir -p "$out"
  # A new instance: no drop-in and no boot state from an earlier document.
  rm -rf /etc/eks/nodeadm.d/90-soci-eks.yaml /run/soci-eks
  nodeadm-sim -userdata "$mime" -base "$LAB_DIR/fixtures/containerd-base-al2023.toml" -root / -out "$out" \
    -cluster lab,https://127.0.0.1:6443,bGFiLWNh,10.100.0.0/16 >"$out/summary.json" || { log "nodeadm-sim failed"; return 1; }
  SIM_JSON=$out/summary.json
  # The files nodeadm writes that the lab needs too: containerd's base runtime spec and,
  # as the AMI does at build time, the cached pause image.
  [[ -f /etc/containerd/base-runtime-spec.json ]] || ctr oci spec >/etc/containerd/base-runtime-spec.json
  mkdir -p /etc/eks
  cp "$CACHE/images/pause.tar" /etc/eks/pause.tar
  # Lab-only: the registry is plain HTTP on loopback (ECR is HTTPS).
  mkdir -p "/etc/containerd/certs.d/$PULL_REGISTRY"
  printf 'server = "http://%s"\n[host."http://%s"]\n  capabilities = ["pull", "resolve"]\n' \
    "$PULL_REGISTRY" "$PULL_REGISTRY" >"/etc/containerd/certs.d/$PULL_REGISTRY/hosts.toml"
  local t0
  # No systemd here: the installer cannot start and check SOCI itself (start_node and import_pause below do
  # that), so SOCI_EKS_NO_SYSTEMD_OK lets it hand over its SOCI wiring drop-in unchecked.
  for s in $(jq -r '.scripts[]?' "$SIM_JSON"); do
    log "running user-data script $s"
    t0=$(date +%s%N)
    AWS_EC2_METADATA_SERVICE_ENDPOINT=http://127.0.0.1:$IMDS_PORT SOCI_EKS_RETRY_BASE_DELAY=1 SOCI_EKS_NO_SYSTEMD_OK=1 \
      bash "$s" >"$out/$(basename "$s").log" 2>&1 || { log "script $s failed: $(tail -n 3 "$out/$(basename "$s").log")"; return 1; }
    # What the installer adds to boot with a mirror next to the node (download, sha256, install, config).
    INSTALLER_MS=$((($(date +%s%N) - t0) / 1000000))
  done
  # nodeadm-run: the user data plus /etc/eks/nodeadm.d (the installer's drop-in), merged again.
  if compgen -G '/etc/eks/nodeadm.d/*.yaml' >/dev/null; then
    nodeadm-sim -userdata "$mime" -base "$LAB_DIR/fixtures/containerd-base-al2023.toml" -root / -out "$out/run" \
      -dropins /etc/eks/nodeadm.d -config-only >"$out/summary-run.json" || { log "nodeadm-sim (drop-ins) failed"; return 1; }
    jq -s '.[0] + {containerdSchema: .[1].containerdSchema, imageServiceEndpoint: .[1].imageServiceEndpoint}' \
      "$out/summary.json" "$out/summary-run.json" >"$out/summary-merged.json"
    SIM_JSON=$out/summary-merged.json
  fi
}

unit_exec() { # UNIT: prints the ExecStart command line of a unit the user data wrote
  sed -n 's/^ExecStart=//p' "/etc/systemd/system/$1" | head -n 1
}

# containerd shims daemonize (they outlive containerd): stop the ones started in THIS lab's
# private mount namespace, by pid.
kill_ns_shims() {
  local me p
  me=$(readlink /proc/self/ns/mnt)
  for p in /proc/[0-9]*; do
    [[ $(readlink "$p/ns/mnt" 2>/dev/null) == "$me" ]] || continue
    [[ $(cat "$p/comm" 2>/dev/null) == containerd-shim* ]] || continue
    kill -KILL "${p#/proc/}" 2>/dev/null || true
  done
}

# effective config of a containerd plugin section, e.g. cri_images_key snapshotter
cri_images_key() {
  # A config containerd cannot load (a negative trial's) dumps nothing: say so instead of a Python traceback.
  containerd --config /etc/containerd/config.toml config dump 2>/dev/null | python3 -c '
import sys, tomllib
text = sys.stdin.read()
if not text.strip():
    print("(no config: containerd config dump failed)")
    sys.exit(0)
section = tomllib.loads(text).get("plugins", {}).get("io.containerd.cri.v1.images")
print("(no io.containerd.cri.v1.images section)" if section is None else section.get(sys.argv[1]))' "$1"
}

# containerd answers; fails at once (ends the wait) if it exited
containerd_up() {
  if ! kill -0 "$CONTAINERD_PID" 2>/dev/null; then
    log "containerd exited: $(grep -m1 -E 'panic|level=fatal' "$LOGS"/containerd-*.log 2>/dev/null | tail -n 1 | cut -c1-200)"
    return 0 # stop waiting; the ctr check below decides
  fi
  ctr --address "$CTR_SOCK" version
}

SOCI_PID=
CONTAINERD_PID=
start_node() { # NAME
  local name=$1 cmd
  if [[ ! -f /etc/systemd/system/soci-snapshotter.service && ${ALLOW_NO_SOCI:-0} == 1 ]]; then
    log "no soci-snapshotter.service in the user data (stock node): starting containerd only"
  else
  cmd=$(unit_exec soci-snapshotter.service)
  [[ -n $cmd ]] || { log "no ExecStart in soci-snapshotter.service"; return 1; }
  log "starting (as soci-snapshotter.service would, without socket activation): $cmd"
  # shellcheck disable=SC2086 # the unit's ExecStart, word-split like systemd does
  $cmd --log-level debug >"$LOGS/soci-$name.log" 2>&1 &
  SOCI_PID=$!
  wait_for 30 "soci socket" test -S /run/soci-snapshotter-grpc/soci-snapshotter-grpc.sock || return 1
  fi
  containerd --config /etc/containerd/config.toml --log-level debug >"$LOGS/containerd-$name.log" 2>&1 &
  CONTAINERD_PID=$!
  wait_for 30 "containerd socket" containerd_up || return 1
  ctr --address "$CTR_SOCK" version >/dev/null 2>&1 || return 1
}

stop_node() {
  [[ -n $CONTAINERD_PID ]] && { kill -TERM "$CONTAINERD_PID" 2>/dev/null || true; wait "$CONTAINERD_PID" 2>/dev/null || true; }
  kill_ns_shims
  [[ -n $SOCI_PID ]] && { kill -TERM "$SOCI_PID" 2>/dev/null || true; wait "$SOCI_PID" 2>/dev/null || true; }
  CONTAINERD_PID=''
  SOCI_PID=''
  awk '$3 ~ /^fuse/ || $1 == "soci" || $2 ~ "^/var/lib/containerd/|^/run/containerd/" {print $2}' /proc/mounts | sort -r |
    while read -r m; do umount -l "$m" 2>/dev/null || true; done
}

wipe_node_state() {
  rm -rf /var/lib/containerd/* /var/lib/soci-snapshotter-grpc/* /run/containerd /run/soci-snapshotter-grpc
}

# import_pause NAME: what the installer does after containerd and SOCI start (setup-soci.sh's import_pause; the
# fault boots run the installer's own, under the lab's systemctl): the AMI's pause image into the soci snapshotter.
import_pause() {
  local ctr=(ctr --address "$CTR_SOCK" --namespace k8s.io) i
  for ((i = 0; i < 60; i++)); do "${ctr[@]}" snapshots --snapshotter soci ls >/dev/null 2>&1 && break; sleep 1; done
  "${ctr[@]}" images import --snapshotter soci --discard-unpacked-layers=false --local /etc/eks/pause.tar >"$LOGS/pause-import-$1.log" 2>&1 &&
    "${ctr[@]}" images label localhost/kubernetes/pause:latest io.cri-containerd.pinned=pinned >>"$LOGS/pause-import-$1.log" 2>&1
}

unknown_keys() { # OURS DUMP: prints keys of OURS that the daemon's config dump does not know
  python3 - "$1" "$2" <<'PY'
import sys, tomllib
def keys(d, p=""):
    for k, v in d.items():
        yield p + k
        if isinstance(v, dict):
            yield from keys(v, p + k + ".")
ours = set(keys(tomllib.load(open(sys.argv[1], "rb"))))
known = set(keys(tomllib.load(open(sys.argv[2], "rb"))))
print(" ".join(sorted(ours - known)))
PY
}

# boot_section: the main node, from rendering to the pause import (PASS/FAIL lines). Sets MIME, SIM_JSON.
boot_section() {
  MIME=$WORK/userdata.mime
  render_userdata "$MIME"
  check "user data renders as MIME ($(wc -c <"$MIME") bytes; EC2 limit 16384 before base64 is not checked here)" grep -q '^Content-Type: multipart/mixed' "$MIME"

  # Apply and install
  if apply_userdata "$MIME" main; then
    pass "user data applied: $(jq -r '.writtenFiles | length' "$SIM_JSON") cloud-config files written, containerd schema $(jq -r .containerdSchema "$SIM_JSON"), installer script ran"
    echo "INFO installer's added boot time with a loopback release mirror: ${INSTALLER_MS:-?} ms (download, sha256 check, install, Docker config; packages already present)"
  else
    fail "user data could not be applied (see $LOGS)"
  fi
  # nodeadm (Feb 2024 build, the newest the module proxy serves) decodes the merged NodeConfig
  # (our parts + the cluster fields EKS appends). Its `config check` only proves the document
  # decodes into the v1alpha1 NodeConfig types (unknown fields are NOT rejected; see lab/README.md).
  if nodeadm config check --config-source "file://$WORK/ud-main/merged-nodeconfig.yaml" >"$LOGS/nodeadm-check.log" 2>&1; then
    pass "nodeadm (2024-02 build) config check decodes our merged NodeConfig (+ EKS-style cluster fields)"
  else
    fail "nodeadm config check rejects our NodeConfig: $(tail -n 1 "$LOGS/nodeadm-check.log" | cut -c1-300)"
  fi
  check "containerd snippet keeps nodeadm on the v3 template (no migrate path)" test "$(jq -r .containerdSchema "$SIM_JSON")" = 3
  check "the user data alone keeps kubelet and CRI off SOCI (image endpoint '$(jq -r .imageServiceEndpoint "$WORK/ud-main/summary.json")')" \
    test -z "$(jq -r .imageServiceEndpoint "$WORK/ud-main/summary.json")"
  check "with the installer's drop-in (/etc/eks/nodeadm.d/90-soci-eks.yaml), kubelet's imageServiceEndpoint is SOCI's socket" \
    test "$(jq -r .imageServiceEndpoint "$SIM_JSON")" = unix:///run/soci-snapshotter-grpc/soci-snapshotter-grpc.sock
  check "installer put soci-snapshotter-grpc v0.16.1 in /usr/local/bin" bash -c '/usr/local/bin/soci-snapshotter-grpc --version 2>&1 | grep -q "v0.16.1"'
  check "soci-snapshotter-grpc 0.16.1 accepts our config.toml (config dump)" \
    bash -c '/usr/local/bin/soci-snapshotter-grpc --config /etc/soci-eks/soci-snapshotter-grpc.toml config dump >'"$LOGS"'/soci-config-dump.toml 2>'"$LOGS"'/soci-config-dump.err'

  unknown=$(unknown_keys /etc/soci-eks/soci-snapshotter-grpc.toml "$LOGS/soci-config-dump.toml" 2>&1 || echo "(could not compare)")
  check "every key of our SOCI config.toml is known to 0.16.1 (it ignores unknown keys silently)${unknown:+; unknown: $unknown}" test -z "$unknown"
  # Known is not enough: a key in the wrong table, or a value SOCI reads as another (silence_period_msec = 0 is 30 s).
  check "every key of our SOCI config.toml holds its value in SOCI's config dump (lab/config verify)" \
    node "$REPO_DIR/dist/lab/config/main.js" verify /etc/soci-eks/soci-snapshotter-grpc.toml "$LOGS/soci-config-dump.toml"
  # The unit test that renders every mode, release and instance size and checks each with config dump; here the
  # binary is present, so it cannot skip (in a plain npm test without lab/.bin it skips and says why).
  # shellcheck disable=SC2016 # positional parameters of the inner bash
  check "every SOCI config our user data renders is read as written, and the bench gate fails one that is not (test/unit/sociConfigDump, benchConfigGate)" \
    bash -c 'SOCI_EKS_REQUIRE_SOCI_BIN=1 SOCI_SNAPSHOTTER_GRPC="$1/soci-snapshotter-grpc" node --test "$2/dist/test/unit/sociConfigDump.test.js" "$2/dist/test/unit/benchConfigGate.test.js" >"$3/soci-config-dump-test.log" 2>&1' _ "$BIN" "$REPO_DIR" "$LOGS"

  if start_node main; then
    pass "soci-snapshotter-grpc and containerd 2.2.4 start with the user data's configs"
  else
    fail "node daemons did not start (see $LOGS/soci-main.log, containerd-main.log)"
  fi
  check "containerd reports the soci proxy snapshotter ok" \
    bash -c "ctr --address $CTR_SOCK plugins ls | awk '\$2 == \"soci\" && \$NF == \"ok\" {f=1} END {exit !f}'"
  eff_snap=$(cri_images_key snapshotter)
  eff_dsa=$(cri_images_key disable_snapshot_annotations)
  check "containerd's effective CRI image config (config dump): snapshotter=$eff_snap disable_snapshot_annotations=$eff_dsa" \
    test "$eff_snap|$eff_dsa" = "soci|False"

  if import_pause main; then
    pass "pause import imported localhost/kubernetes/pause:latest into soci"
  else
    fail "pause import failed: $(tail -n 3 "$LOGS/pause-import-main.log" | tr '\n' ' ')"
  fi

}
