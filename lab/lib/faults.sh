#!/usr/bin/env bash
# The fault-injection section of the lab (issues 12 and 19), sourced by lib/node.sh (after its other sections,
# or alone with LAB_ACTION=faults). Each case is a real boot of a fresh lab node through our user data
# (lib/faults-boot.sh: today's nodeadm, cloud-init's write_files, our installer, containerd 2.2.4,
# soci-snapshotter 0.16.1, the pause import, crictl for kubelet) with one fault injected, and asserts
# the node's end state under the failure policy the user data carries:
#   soci      joined on SOCI: kubelet up, image endpoint SOCI's socket, CRI on soci, SOCI serving, an indexed
#             image runs lazily; the wiring came from the installer's drop-in (nodeadm-run re-ran its config)
#   degraded  joined without SOCI: /run/soci-eks/degraded names the reason, the drop-in made nodeadm-run add the
#             label soci-eks/degraded=<reason>, soci-eks/mode=off and the taint soci-eks/degraded:PreferNoSchedule
#             (keeping the other NodeConfigs' taints), CRI on overlayfs, containerd's image service, SOCI not
#             running, the image runs (not lazily)
#   failed    never joins: /run/soci-eks/failed names the reason, kubelet's start fails printing the reason and
#             the fix, nodeadm-run fails
# After every boot, whatever the case expects, one generic post-condition: a node that ends wired to SOCI
# (containerd's CRI snapshotter soci, or kubelet's image endpoint SOCI's socket) must have SOCI serving
# (containerd's snapshot calls to SOCI and CRI image calls on SOCI's socket answer); otherwise a FAIL-OPEN line,
# and the section's last check counts them.
# One PASS/FAIL line per case. docs/boot-and-failures.md's "What happens when…" table lists the same case ids
# (test/unit/faultsTable.test.ts keeps them equal).
# Uses node.sh's pass/fail/log, WORK, LOGS, CACHE, BIN, MIRROR_PORT, PULL_REGISTRY, IMDS_PORT, PIDS, wait_for.

FAULTS_DIR=$WORK/faults
SMALL_SOCI=$PULL_REGISTRY/lab/small:v1-soci
SOCI_ENDPOINT=unix:///run/soci-snapshotter-grpc/soci-snapshotter-grpc.sock
STALL_PORT=8099

# faults_mirror NAME KIND: a mirror variant under http://127.0.0.1:$MIRROR_PORT/NAME (KIND: tampered,
# nobins, brokensoci), each with a .sha256sum that matches its tarball (the installer never reads it).
faults_mirror() {
  local name=$1 kind=$2 ver=0.16.1 asset dir pkg
  asset=soci-snapshotter-$ver-linux-amd64.tar.gz
  dir=$WORK/mirror/$name/v$ver
  pkg=$FAULTS_DIR/pkg-$name
  mkdir -p "$dir" "$pkg"
  case $kind in
    tampered) # the good tarball replaced (bytes appended) together with its .sha256sum, which matches it
      cp "$WORK/mirror/v$ver/$asset" "$dir/"
      printf 'tampered' >>"$dir/$asset"
      ;;
    nobins) # an upstream-looking tarball without soci and soci-snapshotter-grpc
      cp "$WORK/pkg/THIRD_PARTY_LICENSES" "$WORK/pkg/NOTICE.md" "$pkg/"
      tar -C "$pkg" -cf - THIRD_PARTY_LICENSES NOTICE.md | gzip -n >"$dir/$asset"
      ;;
    mutesoci) # soci-snapshotter-grpc accepts connections on its socket and never answers (no gRPC, no HTTP/2)
      cp "$WORK/pkg/soci" "$WORK/pkg/THIRD_PARTY_LICENSES" "$WORK/pkg/NOTICE.md" "$pkg/"
      printf '%s\n' '#!/usr/bin/env python3' 'import os, socket' 'p = "/run/soci-snapshotter-grpc/soci-snapshotter-grpc.sock"' \
        'os.makedirs(os.path.dirname(p), exist_ok=True)' 'os.path.exists(p) and os.unlink(p)' \
        's = socket.socket(socket.AF_UNIX); s.bind(p); s.listen(64); held = []' 'while True: held.append(s.accept())' >"$pkg/soci-snapshotter-grpc"
      chmod 0755 "$pkg/soci-snapshotter-grpc"
      tar -C "$pkg" -cf - soci soci-snapshotter-grpc THIRD_PARTY_LICENSES NOTICE.md | gzip -n >"$dir/$asset"
      ;;
    brokensoci) # the binaries are there, but soci-snapshotter-grpc dies at start
      cp "$WORK/pkg/soci" "$WORK/pkg/THIRD_PARTY_LICENSES" "$WORK/pkg/NOTICE.md" "$pkg/"
      printf '#!/bin/sh\necho "soci-snapshotter-grpc: lab fault: exiting at start" >&2\nexit 1\n' >"$pkg/soci-snapshotter-grpc"
      chmod 0755 "$pkg/soci-snapshotter-grpc"
      tar -C "$pkg" -cf - soci soci-snapshotter-grpc THIRD_PARTY_LICENSES NOTICE.md | gzip -n >"$dir/$asset"
      ;;
  esac
  (cd "$dir" && sha256sum "$asset" >"$asset.sha256sum")
}

# The NodeConfig EKS appends (cluster fields), plus the lab's containerd deviations: the two of lab/README.md
# and a third one, an open-files limit this machine allows (nodeadm's base runtime spec asks for 65536/1048576;
# the hard limit here is lower, and runc then fails "error setting rlimit type 7"), and InstanceIdNodeName
# (nodeadm would otherwise ask the EC2 API for the node's DNS name). KUBELET: lines added under spec.
faults_eks_part() { # OUT [FastImagePull] [KUBELET]
  cat >"$1" <<EOF
apiVersion: node.eks.aws/v1alpha1
kind: NodeConfig
spec:
  cluster:
    name: lab
    apiServerEndpoint: https://127.0.0.1:6443
    certificateAuthority: bGFiLWNh
    cidr: 10.100.0.0/16
  featureGates:
    InstanceIdNodeName: true
${2:+    FastImagePull: true}
  containerd:
    baseRuntimeSpec:
      process:
        rlimits:
          - type: RLIMIT_NOFILE
            soft: $(ulimit -Hn)
            hard: $(ulimit -Hn)
    config: |
      [plugins.'io.containerd.cri.v1.runtime']
      restrict_oom_score_adj = true
      [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options]
      SystemdCgroup = false
${3:-}
EOF
}

# faults_render OUT MIRROR_URL POLICY [SHA256]: the lab's lazy user data (the CLI, like lib/render-userdata.mjs),
# pinning SHA256 (default: the good release's, RELEASE_SHA256)
faults_render() {
  LAB_USERDATA_FLAGS="--on-soci-failure $3" node "$LAB_DIR/lib/render-userdata.mjs" "$REPO_DIR" lazy "$2" "${4:-$RELEASE_SHA256}" \
    >"$1" 2>>"$FAULTS_DIR/render.log"
}

# faults_boot NODE CASE MIME EKS_PART: one boot of node NODE (same NODE again = a reboot). Sets BOOT_OUT.
# Then the generic post-condition (see the top of this file), for every boot of every case.
FAULT_BOOTS=0
FAIL_OPEN=()
faults_boot() {
  local node=$1 case=$2 n=1
  while [[ -d $FAULTS_DIR/$case-boot$n ]]; do n=$((n + 1)); done
  BOOT_OUT=$FAULTS_DIR/$case-boot$n
  PRISTINE=$WORK/pristine IMDS_PORT=$IMDS_PORT PULL_REGISTRY=$PULL_REGISTRY \
    unshare --mount --propagation private --fork -- \
    bash "$LAB_DIR/lib/faults-boot.sh" "$FAULTS_DIR/node-$node" "$BOOT_OUT" "$3" "$4" "$SMALL_SOCI" \
    >"$BOOT_OUT.log" 2>&1 || log "boot $case ($node) exited $?: $(tail -n 2 "$BOOT_OUT.log" | tr '\n' ' ')"
  FAULT_BOOTS=$((FAULT_BOOTS + 1))
  local open=0
  [[ $(r cri_snapshotter) == soci || $(r image_endpoint) == "$SOCI_ENDPOINT" ]] && [[ $(r soci_serving) != 1 ]] && open=1
  if [[ ${EXPECT_FAIL_OPEN:-0} == 1 ]]; then # the self-test below: this boot must be caught
    if ((open)); then pass "fault boots: the post-condition catches a node wired to SOCI while SOCI is not serving ($case: CRI $(r cri_snapshotter), image endpoint $(r image_endpoint))"
    else fail "fault boots: the post-condition missed a node wired to SOCI while SOCI is not serving ($case; see $BOOT_OUT)"; fi
  elif ((open)); then
    FAIL_OPEN+=("$case")
    fail "fault boot $case: FAIL-OPEN: the node ends wired to SOCI (CRI snapshotter $(r cri_snapshotter), image endpoint $(r image_endpoint)) while SOCI is not serving [nodeadm: $FAULTS_NODEADM_LABEL] (see $BOOT_OUT)"
  fi
}

r() { sed -n "s/^$1=//p" "$BOOT_OUT/result.env" 2>/dev/null | head -n 1; }

# expect_* CASE DESCRIPTION [REASON]: one PASS/FAIL line with every failed condition named.
FAULT_BAD=()
want() { # LABEL CMD...
  if ! "${@:2}" >/dev/null 2>&1; then FAULT_BAD+=("$1"); fi
}
verdict() { # CASE TEXT
  if ((${#FAULT_BAD[@]} == 0)); then pass "fault $1: $2 [nodeadm: $FAULTS_NODEADM_LABEL]"; else fail "fault $1: $2 [nodeadm: $FAULTS_NODEADM_LABEL] -- not met: ${FAULT_BAD[*]} (see $BOOT_OUT)"; fi
  FAULT_BAD=()
}
# has_taint KEY VALUE EFFECT: kubelet's registerWithTaints (nodeadm's kubelet config drop-in) holds it
has_taint() { r kubelet_taints | jq -e --arg k "$1" --arg v "$2" --arg e "$3" 'any(.[]; .key == $k and (.value // "") == $v and .effect == $e)'; }
# The installer's exit status: the user-data script's on the first boot, soci-eks-install.service's later.
installer_rc() { if [[ -n $(r installer_rc) ]]; then r installer_rc; else r boot_units_rc; fi; }
# journal_line WORD POLICY REASON. JOURNAL=0: the installer was killed and wrote no last line; its first one
# says the policy holds until SOCI serves.
journal_line() {
  if [[ ${JOURNAL:-1} == 1 ]]; then
    want "journal line" grep -q "soci-eks: $1 (onSociFailure=$2): $3: " "$BOOT_OUT/installer.log"
  else
    want "the installer's first line: the policy holds" grep -q "soci-eks: onSociFailure=$2 holds until SOCI is installed and serves" "$BOOT_OUT/installer.log"
  fi
}
expect_soci() {
  want "nodeadm-run exit 0 (got $(r nodeadm_run_rc))" test "$(r nodeadm_run_rc)" = 0
  want "kubelet started" test "$(r kubelet_active)" = 1
  want "image endpoint SOCI (got $(r image_endpoint))" test "$(r image_endpoint)" = "$SOCI_ENDPOINT"
  want "CRI snapshotter soci (got $(r cri_snapshotter))" test "$(r cri_snapshotter)" = soci
  want "SOCI serving" test "$(r soci_serving)" = 1
  want "wired by the installer's drop-in, a link to this boot's state (got $(r dropin), it says $(r dropin_says))" \
    test "$(r dropin)|$(r dropin_says)" = "symlink:/run/soci-eks/nodeadm.yaml|soci"
  want "nodeadm-run re-ran its config phase for the drop-in (got $(r nodeadm_run_reconfigured))" test "$(r nodeadm_run_reconfigured)" -ge 1
  want "pod ran" test "$(r pod_ran)" = 1
  if [[ ${PULLED_BEFORE:-0} == 0 ]]; then
    want "lazily (new FUSE mounts)" test "$(r lazy)" = 1
  else # pulled on an earlier boot: SOCI restored its lazy mounts at start
    want "lazy mounts restored (FUSE mounts: $(r fuse_mounts))" test "$(r fuse_mounts)" -ge 1
  fi
  want "our soci-snapshotter units replaced the AMI's in /etc/systemd/system (ExecStart: $(r soci_unit_exec); socket: $(r soci_socket_unit))" \
    test "$(r soci_unit_exec)|$(r soci_socket_unit)" = "/usr/local/bin/soci-snapshotter-grpc --address fd:// --config /etc/soci-eks/soci-snapshotter-grpc.toml|SOCI snapshotter socket (soci-eks)"
  want "no degraded or failed marker" test -z "$(r degraded_marker)$(r failed_marker)$(r degraded_marker_disk)$(r failed_marker_disk)"
  want "no kubelet hold" test "$(r kubelet_hold)" = 0
  want "the SOCI store cleanup timer is enabled (lazy)" test "$(r store_gc_timer)" = 1
  verdict "$1" "joined on SOCI: $2"
}
expect_degraded() {
  local reason=$3
  want "installer exit ${WANT_RC:-0} (got $(installer_rc))" test "$(installer_rc)" = "${WANT_RC:-0}"
  want "marker reason=$reason (got '$(r degraded_marker)')" grep -q "^degraded_marker=reason=$reason policy=fallback message=.* fix=." "$BOOT_OUT/result.env"
  journal_line DEGRADED fallback "$reason"
  want "the drop-in says degraded (got $(r dropin_says))" test "$(r dropin_says)" = degraded
  want "nodeadm-run exit 0 (got $(r nodeadm_run_rc))" test "$(r nodeadm_run_rc)" = 0
  want "nodeadm-run re-ran its config phase" test "$(r nodeadm_run_reconfigured)" -ge 1
  want "kubelet started" test "$(r kubelet_active)" = 1
  want "image endpoint containerd (got $(r image_endpoint))" test "$(r image_endpoint)" = unix:///run/containerd/containerd.sock
  want "CRI snapshotter overlayfs (got $(r cri_snapshotter))" test "$(r cri_snapshotter)" = overlayfs
  want "label soci-eks/degraded=$reason and soci-eks/mode=off, last (got $(r node_labels))" \
    grep -q "^node_labels=.*--node-labels=soci-eks/degraded=$reason,soci-eks/mode=off *$" "$BOOT_OUT/result.env"
  want "taint soci-eks/degraded=$reason:PreferNoSchedule (got $(r kubelet_taints))" has_taint soci-eks/degraded "$reason" PreferNoSchedule
  want "SOCI not running" test "$(r soci_active)" = 0
  want "pod ran" test "$(r pod_ran)" = 1
  want "not lazily" test "$(r lazy)" = 0
  verdict "$1" "joined degraded (soci-eks/degraded=$reason, tainted), a pod runs: $2"
}
expect_failed() {
  local reason=$3
  want "installer exit ${WANT_RC:-1} (got $(installer_rc))" test "$(installer_rc)" = "${WANT_RC:-1}"
  want "marker reason=$reason (got '$(r failed_marker)')" grep -q "^failed_marker=reason=$reason policy=fail message=.* fix=." "$BOOT_OUT/result.env"
  journal_line FAILED fail "$reason"
  want "kubelet not started" test "$(r kubelet_active)" = 0
  want "kubelet's log names the cause and the fix" grep -q "^reason=$reason" "$BOOT_OUT/kubelet.service.log"
  want "kubelet's log has the fix" grep -q "^fix=." "$BOOT_OUT/kubelet.service.log"
  want "nodeadm-run fails (got $(r nodeadm_run_rc))" test "$(r nodeadm_run_rc)" != 0
  want "the drop-in changes nothing (got $(r dropin_says))" test "$(r dropin_says)" = nothing
  want "no pod" test "$(r pod_ran)" = 0
  verdict "$1" "never joins (kubelet held back, cause $reason in its log): $2"
}

mirror_gets() { grep -c '"GET /' "$LOGS/mirror.log" || true; }

# faults_nodeadm: which nodeadm plays the two phases. LAB_NODEADM_CURRENT=DIR: DIR/nodeadm-labsd, today's
# nodeadm with a systemd client that runs systemctl (the lab has no D-Bus), built outside this repository
# (the Go module proxy serves only the Feb-2024 nodeadm, and nothing here builds from a fetched checkout;
# DIR/commit may name its amazon-eks-ami commit). Otherwise, as in CI: our model, `nodeadm-sim init`
# (lab/tools/nodeadm-sim/initcmd.go says what it does and does not model). Sets FAULTS_NODEADM, FAULTS_NODEADM_LABEL.
faults_nodeadm() {
  if [[ -z ${LAB_NODEADM_CURRENT:-} ]]; then
    FAULTS_NODEADM=model
    FAULTS_NODEADM_LABEL="model (nodeadm-sim)"
    return 0
  fi
  [[ -x $LAB_NODEADM_CURRENT/nodeadm-labsd ]] || { log "LAB_NODEADM_CURRENT=$LAB_NODEADM_CURRENT has no nodeadm-labsd"; return 1; }
  FAULTS_NODEADM=$LAB_NODEADM_CURRENT/nodeadm-labsd
  FAULTS_NODEADM_LABEL="current $(cat "$LAB_NODEADM_CURRENT/commit" 2>/dev/null || echo "(commit unknown)")"
}

# hide_cmds NAME...: a FAULT_BEFORE_CLOUDINIT command that removes NAMEs from /usr/bin for one boot (an
# overlay with whiteouts, in the boot's own mount namespace; /bin is /usr/bin here as on AL2023)
hide_cmds() {
  local c wh=''
  for c in "$@"; do wh+=" && mknod \$d/up/$c c 0 0"; done
  printf '%s' "d=$FAULTS_DIR/hide-\$\$ && mkdir -p \$d/up \$d/wk$wh && mount -t overlay hide -o lowerdir=/usr/bin,upperdir=\$d/up,workdir=\$d/wk /usr/bin"
}

# fill_disk LEAVE: a fault command that fills the node's disk (FAULT_DISK_BYTES, a tmpfs) to LEAVE bytes free
fill_disk() {
  printf '%s' "fallocate -l \$((\$(df --output=avail -B1 \"\$FAULT_DISK\" | tail -n 1) - $1)) \"\$FAULT_DISK/.fill\""
}

# The installer's retries without their back-off sleeps (2, 4, 8 s...): the attempts still happen (the dnf cases count
# them), they just do not wait. Only for the package and IMDS cases, to keep the section short.
NO_BACKOFF=SOCI_EKS_RETRY_BASE_DELAY=0
# A mirror that refuses connections is retried until the download deadline (300 s on a node; 10 s here).
SHORT_DEADLINE=SOCI_EKS_DOWNLOAD_DEADLINE=10
NODE_FILES=/usr/local/libexec/soci-eks/node-files.gz
NODE_DISK_BYTES=$((64 * 1024 * 1024))
FULL_STATE_DIR="mkdir -p /var/lib/soci-eks && mount -t tmpfs -o size=4k lab-full /var/lib/soci-eks && fallocate -l 4096 /var/lib/soci-eks/.fill"

# LAB_FAULTS="group ..." runs some groups only (default: all of FAULT_GROUPS)
FAULT_GROUPS="selftest base download archive disk function stall killed deadline reboot packages fastimagepull karpenter runtime"
faults_group() { [[ " ${LAB_FAULTS:-$FAULT_GROUPS} " == *" $1 "* ]]; }

# A mirror that answers with headers and 1 KiB of the tarball, then sends nothing more (the connection stays open).
start_stall_mirror() {
  python3 -c '
import http.server, socketserver, sys, time
class Stall(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", str(30 * 1024 * 1024))
        self.end_headers()
        self.wfile.write(b"\0" * 1024)
        self.wfile.flush()
        time.sleep(3600)
    def log_message(self, fmt, *args):
        sys.stderr.write("stall mirror: " + fmt % args + "\n")
class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
Server(("127.0.0.1", int(sys.argv[1])), Stall).serve_forever()
' "$STALL_PORT" >"$LOGS/stall-mirror.log" 2>&1 &
  PIDS+=("$!")
  wait_for 10 "stall mirror" bash -c "exec 3<>/dev/tcp/127.0.0.1/$STALL_PORT"
}

faults_section() {
  mkdir -p "$FAULTS_DIR"
  faults_nodeadm || { fail "faults section: LAB_NODEADM_CURRENT is set but holds no nodeadm-labsd"; return 0; }
  export FAULTS_NODEADM
  echo "INFO fault boots: nodeadm: $FAULTS_NODEADM_LABEL"
  local t0=$SECONDS
  faults_mirror tampered tampered
  faults_mirror nobins nobins
  faults_mirror brokensoci brokensoci
  faults_mirror mutesoci mutesoci
  start_stall_mirror || log "the stall mirror did not start"
  EKS=$FAULTS_DIR/eks-part.yaml
  faults_eks_part "$EKS"
  faults_eks_part "$FAULTS_DIR/eks-part-fastimagepull.yaml" FastImagePull
  # Karpenter's NodeConfig comes last in its merged user data: taints (karpenter.sh/unregistered, the
  # NodePool's) and labels, the mode label among them.
  faults_eks_part "$FAULTS_DIR/eks-part-karpenter.yaml" "" "$(printf '%s\n' '  kubelet:' '    config:' \
    '      registerWithTaints: [{key: karpenter.sh/unregistered, effect: NoExecute}, {key: team, value: a, effect: NoSchedule}]' \
    '    flags: ["--node-labels=karpenter.sh/nodepool=lab,soci-eks/mode=lazy"]')"
  local p m g
  for p in fallback fail; do
    faults_render "$FAULTS_DIR/good-$p.mime" "http://127.0.0.1:$MIRROR_PORT" "$p"
    faults_render "$FAULTS_DIR/unreachable-$p.mime" "http://127.0.0.1:1/down" "$p" # nothing listens: connection refused
    faults_render "$FAULTS_DIR/stall-$p.mime" "http://127.0.0.1:$STALL_PORT" "$p"
    # tampered pins the good release's digest (what its user would have pinned); nobins and brokensoci pin their
    # own tarballs' digests, so that the boot gets past the checksum to the fault they inject.
    faults_render "$FAULTS_DIR/tampered-$p.mime" "http://127.0.0.1:$MIRROR_PORT/tampered" "$p"
    for m in nobins brokensoci mutesoci; do
      faults_render "$FAULTS_DIR/$m-$p.mime" "http://127.0.0.1:$MIRROR_PORT/$m" "$p" "$(cut -d' ' -f1 "$WORK/mirror/$m/v0.16.1/soci-snapshotter-0.16.1-linux-amd64.tar.gz.sha256sum")"
    done
  done
  for g in $FAULT_GROUPS; do
    if faults_group "$g"; then "faults_$g"; fi
  done
  check "fault boots: $FAULT_BOOTS boots; endings wired to SOCI while SOCI is not serving: ${#FAIL_OPEN[@]}${FAIL_OPEN[*]:+ (${FAIL_OPEN[*]})}" \
    test "${#FAIL_OPEN[@]}" = 0
  echo "INFO fault section: $((SECONDS - t0)) s, $FAULT_BOOTS boots [nodeadm: $FAULTS_NODEADM_LABEL]"
}

# --- the post-condition can fail: a user data that points containerd and kubelet at SOCI itself (as before
# issue 19), booted with its node-files archive missing, ends wired to a SOCI that is not there
faults_selftest() {
  local wired=$FAULTS_DIR/wired-fallback.mime
  sed -e 's/^      snapshotter = "overlayfs"$/      snapshotter = "soci"\n      disable_snapshot_annotations = false/' \
    -e "0,/^spec:$/s##spec:\n  kubelet:\n    config:\n      imageServiceEndpoint: $SOCI_ENDPOINT#" "$FAULTS_DIR/good-fallback.mime" >"$wired"
  EXPECT_FAIL_OPEN=1 FAULT_BEFORE_SCRIPTS="rm -f $NODE_FILES" faults_boot wired selftest-wired "$wired" "$EKS"
}

# --- a healthy node, then its reboot (cloud-init does not run again; soci-eks-install.service checks SOCI
# again), then a cloud-init re-run
faults_base() {
  local gets
  faults_boot healthy healthy "$FAULTS_DIR/good-fallback.mime" "$EKS"
  want "the user data alone left CRI on overlayfs (nodeadm-config's containerd config)" \
    grep -q "snapshotter = 'overlayfs'" "$BOOT_OUT/containerd-config-by-nodeadm.toml"
  expect_soci healthy "a healthy boot (baseline for the cases below): the installer's drop-in wires SOCI once it serves"
  gets=$(mirror_gets)
  faults_boot healthy reboot "$FAULTS_DIR/good-fallback.mime" "$EKS"
  want "no mirror request (before $gets, after $(mirror_gets))" test "$(mirror_gets)" = "$gets"
  want "cloud-init did not run again" test -z "$(r installer_rc)"
  want "soci-eks-install.service ran before nodeadm-run (got '$(r boot_units)', exit $(r boot_units_rc))" test "$(r boot_units)|$(r boot_units_rc)" = "soci-eks-install.service|0"
  want "it found the release installed" grep -q "is already installed; skipping download" "$BOOT_OUT/installer.log"
  PULLED_BEFORE=1 expect_soci reboot "second boot of the same node: SOCI checked again before nodeadm-run, nothing downloaded, the pause image imported again"
  rm -f "$FAULTS_DIR/node-healthy/booted" # as after `cloud-init clean`: write_files and the installer run again
  faults_boot healthy rerun "$FAULTS_DIR/good-fallback.mime" "$EKS"
  want "installer skipped the download" grep -q "is already installed; skipping download" "$BOOT_OUT/installer.log"
  want "no mirror request (before $gets, after $(mirror_gets))" test "$(mirror_gets)" = "$gets"
  PULLED_BEFORE=1 expect_soci installer-rerun "the installer runs again on an installed node: nothing downloaded"
}

# --- faults in the release download, pigz and the pause import, under both policies; then a degraded node's reboot
faults_download() {
  # The pause import fails: the AMI's /etc/eks/pause.tar is cut short after nodeadm-config (the AMI's
  # own overlayfs copy of the pause image, cached at build time, is intact).
  local cut_pause='truncate -s 2048 /etc/eks/pause.tar' no_pigz p
  # pigz cannot be installed: unpigz is not on the AMI and dnf fails (no repository answers).
  no_pigz=$(hide_cmds unpigz)
  for p in fallback fail; do
    FAULT_INSTALLER_ENV=$SHORT_DEADLINE faults_boot "unreachable-$p" "mirror-unreachable-$p" "$FAULTS_DIR/unreachable-$p.mime" "$EKS"
    want "gave up at the download deadline" grep -q "download deadline (10s) reached" "$BOOT_OUT/installer.log"
    if [[ $p == fallback ]]; then expect_degraded mirror-unreachable-fallback "the mirror refuses every connection until the download deadline" download-failed
    else expect_failed mirror-unreachable-fail "the mirror refuses every connection until the download deadline" download-failed; fi
    faults_boot "tampered-$p" "checksum-mismatch-$p" "$FAULTS_DIR/tampered-$p.mime" "$EKS"
    want "nothing installed" test "$(r soci_binary)" = 0
    if [[ $p == fallback ]]; then expect_degraded checksum-mismatch-fallback "the mirror's tarball was replaced with a matching .sha256sum; it does not match the digest in the user data; nothing installed" checksum-mismatch
    else expect_failed checksum-mismatch-fail "the mirror's tarball was replaced with a matching .sha256sum; it does not match the digest in the user data; nothing installed" checksum-mismatch; fi
    faults_boot "nobins-$p" "release-incomplete-$p" "$FAULTS_DIR/nobins-$p.mime" "$EKS"
    want "nothing installed" test "$(r soci_binary)" = 0
    if [[ $p == fallback ]]; then expect_degraded release-incomplete-fallback "the release tarball lacks the binaries" release-incomplete
    else expect_failed release-incomplete-fail "the release tarball lacks the binaries" release-incomplete; fi
    faults_boot "brokensoci-$p" "soci-start-fails-$p" "$FAULTS_DIR/brokensoci-$p.mime" "$EKS"
    if [[ $p == fallback ]]; then expect_degraded soci-start-fails-fallback "soci-snapshotter-grpc exits at start" soci-start-failed
    else expect_failed soci-start-fails-fail "soci-snapshotter-grpc exits at start" soci-start-failed; fi
    FAULT_NO_REPOS=1 FAULT_INSTALLER_ENV=$NO_BACKOFF FAULT_BEFORE_CLOUDINIT=$no_pigz faults_boot "nopigz-$p" "packages-missing-$p" "$FAULTS_DIR/good-$p.mime" "$EKS"
    want "dnf was asked for pigz 5 times (got $(grep -c 'install -y --quiet pigz' "$BOOT_OUT/dnf.log" 2>/dev/null || echo 0))" test "$(grep -c 'install -y --quiet pigz' "$BOOT_OUT/dnf.log" 2>/dev/null)" = 5
    if [[ $p == fallback ]]; then expect_degraded packages-missing-fallback "pigz is missing and dnf cannot install it (no repository answers)" packages-missing
    else expect_failed packages-missing-fail "pigz is missing and dnf cannot install it (no repository answers)" packages-missing; fi
    FAULT_BEFORE_CLOUDINIT=$cut_pause faults_boot "pause-$p" "pause-import-fails-$p" "$FAULTS_DIR/good-$p.mime" "$EKS"
    if [[ $p == fallback ]]; then expect_degraded pause-import-fails-fallback "/etc/eks/pause.tar is corrupt, the import into soci fails" pause-import-failed
    else expect_failed pause-import-fails-fail "/etc/eks/pause.tar is corrupt, the import into soci fails" pause-import-failed; fi
  done

  # A degraded node boots again: soci-eks-install.service tries again (the mirror still refuses) and the
  # node joins degraded again.
  FAULT_INSTALLER_ENV=$SHORT_DEADLINE faults_boot unreachable-fallback degraded-reboot "$FAULTS_DIR/unreachable-fallback.mime" "$EKS"
  want "cloud-init did not run again" test -z "$(r installer_rc)"
  want "soci-eks-install.service ran (got '$(r boot_units)')" test "$(r boot_units)" = soci-eks-install.service
  expect_degraded degraded-reboot "a degraded node boots again: the installer tries again at boot, the mirror still refuses" download-failed
}

# --- the node's files cannot be unpacked: the installer travels beside the archive and applies the policy
faults_archive() {
  local p f=$NODE_FILES zero half trailer
  zero="s=\$(stat -c %s $f) && dd if=/dev/zero of=$f bs=1 count=16 seek=\$((s / 2)) conv=notrunc"
  half="truncate -s \$((\$(stat -c %s $f) / 2)) $f"
  trailer="truncate -s \$((\$(stat -c %s $f) - 8)) $f"
  for p in fallback fail; do
    FAULT_BEFORE_SCRIPTS=$zero faults_boot "zero-$p" "node-files-corrupt-$p" "$FAULTS_DIR/good-$p.mime" "$EKS"
    if [[ $p == fallback ]]; then expect_degraded node-files-corrupt-fallback "16 bytes of the node-files archive zeroed mid-archive" node-files-corrupt
    else expect_failed node-files-corrupt-fail "16 bytes of the node-files archive zeroed mid-archive" node-files-corrupt; fi
    FAULT_BEFORE_SCRIPTS=$half faults_boot "half-$p" "node-files-truncated-$p" "$FAULTS_DIR/good-$p.mime" "$EKS"
    if [[ $p == fallback ]]; then expect_degraded node-files-truncated-fallback "the node-files archive cut to half its size" node-files-corrupt
    else expect_failed node-files-truncated-fail "the node-files archive cut to half its size" node-files-corrupt; fi
    FAULT_BEFORE_SCRIPTS=$trailer faults_boot "trailer-$p" "node-files-trailer-cut-$p" "$FAULTS_DIR/good-$p.mime" "$EKS"
    if [[ $p == fallback ]]; then expect_degraded node-files-trailer-cut-fallback "the archive's last 8 bytes (gzip trailer) cut: every member intact" node-files-corrupt
    else expect_failed node-files-trailer-cut-fail "the archive's last 8 bytes (gzip trailer) cut: every member intact" node-files-corrupt; fi
    FAULT_BEFORE_SCRIPTS="rm -f $f" faults_boot "nofiles-$p" "node-files-missing-$p" "$FAULTS_DIR/good-$p.mime" "$EKS"
    if [[ $p == fallback ]]; then expect_degraded node-files-missing-fallback "the node-files archive is missing" node-files-missing
    else expect_failed node-files-missing-fail "the node-files archive is missing" node-files-missing; fi
  done
  # Its reboot: no soci-eks-install.service (the files never unpacked); the degraded drop-in stayed on disk.
  faults_boot zero-fallback node-files-corrupt-reboot "$FAULTS_DIR/good-fallback.mime" "$EKS"
  want "no unit ran at boot (got '$(r boot_units)')" test -z "$(r boot_units)"
  want "the drop-in is a file on disk (got $(r dropin))" test "$(r dropin)" = file
  want "the disk marker: reason=node-files-corrupt" grep -q "^degraded_marker_disk=reason=node-files-corrupt" "$BOOT_OUT/result.env"
  want "nodeadm-run exit 0" test "$(r nodeadm_run_rc)" = 0
  want "CRI snapshotter overlayfs, image endpoint containerd" test "$(r cri_snapshotter)|$(r image_endpoint)" = "overlayfs|unix:///run/containerd/containerd.sock"
  want "label" grep -q "^node_labels=.*--node-labels=soci-eks/degraded=node-files-corrupt,soci-eks/mode=off" "$BOOT_OUT/result.env"
  want "pod ran" test "$(r pod_ran)" = 1
  verdict node-files-corrupt-reboot "a node whose files never unpacked boots again: joins degraded again (the drop-in was kept on disk)"
}

# --- a full disk: the node's disk is a 64 MiB tmpfs under its overlays, filled by the fault
faults_disk() {
  local p
  for p in fallback fail; do
    # cloud-init's write_files: room for the installer (written first) but not for the archive
    FAULT_DISK_BYTES=$NODE_DISK_BYTES FAULT_BEFORE_CLOUDINIT=$(fill_disk $((3 * 4096))) \
      faults_boot "wfull-$p" "disk-full-write-files-$p" "$FAULTS_DIR/good-$p.mime" "$EKS"
    want "cloud-init could not write the archive (got '$(r write_files_error)')" grep -q "^write_files_error=$NODE_FILES: .*no space left on device" "$BOOT_OUT/result.env"
    if [[ $p == fallback ]]; then expect_degraded disk-full-write-files-fallback "the disk fills while cloud-init writes the node-files archive" node-files-corrupt
    else expect_failed disk-full-write-files-fail "the disk fills while cloud-init writes the node-files archive" node-files-corrupt; fi
    # the archive is written; unpacking it fills the disk
    FAULT_DISK_BYTES=$NODE_DISK_BYTES FAULT_BEFORE_SCRIPTS=$(fill_disk 4096) \
      faults_boot "ufull-$p" "disk-full-unpack-$p" "$FAULTS_DIR/good-$p.mime" "$EKS"
    if [[ $p == fallback ]]; then expect_degraded disk-full-unpack-fallback "the disk fills while the installer unpacks the node's files" node-files-unpack-failed
    else expect_failed disk-full-unpack-fail "the disk fills while the installer unpacks the node's files" node-files-unpack-failed; fi
    # /var/lib/soci-eks (the markers' copies) is full, and the mirror refuses: the policy's state is in /run
    FAULT_INSTALLER_ENV=$SHORT_DEADLINE FAULT_BEFORE_SCRIPTS=$FULL_STATE_DIR \
      faults_boot "mfull-$p" "markers-disk-full-$p" "$FAULTS_DIR/unreachable-$p.mime" "$EKS"
    want "the installer warned that the marker's copy could not be written" grep -q "WARNING: no copy of the marker in /var/lib/soci-eks" "$BOOT_OUT/installer.log"
    if [[ $p == fallback ]]; then expect_degraded markers-disk-full-fallback "the mirror refuses and /var/lib/soci-eks is full when the markers are written" download-failed
    else expect_failed markers-disk-full-fail "the mirror refuses and /var/lib/soci-eks is full when the markers are written" download-failed; fi
  done
  # SOCI installs, but its record (/var/lib/soci-eks/installed-release) cannot be written: SOCI still serves
  FAULT_BEFORE_SCRIPTS=$FULL_STATE_DIR faults_boot records-full records-disk-full "$FAULTS_DIR/good-fail.mime" "$EKS"
  want "the installer warned it could not record the release" grep -q "could not record them in /var/lib/soci-eks" "$BOOT_OUT/installer.log"
  expect_soci records-disk-full "/var/lib/soci-eks is full when the installer records the release (booted with fail): SOCI serves, the node joins on it"
}

# --- a command fails inside an installer function: the ERR trap fires there too (set -E)
faults_function() {
  local p block='rm -rf /root/.docker && echo "a file where a directory must go" >/root/.docker'
  for p in fallback fail; do
    FAULT_BEFORE_SCRIPTS=$block faults_boot "func-$p" "function-error-$p" "$FAULTS_DIR/good-$p.mime" "$EKS"
    want "the ERR trap named the command inside write_docker_config" grep -qF 'installer-error: line' "$BOOT_OUT/installer.log"
    if [[ $p == fallback ]]; then expect_degraded function-error-fallback "mkdir fails inside an installer function (/root/.docker is a file)" installer-error
    else expect_failed function-error-fail "mkdir fails inside an installer function (/root/.docker is a file)" installer-error; fi
  done
}

# --- a mirror that stalls: cut below the minimum rate, given up at the overall deadline (20 s here, 300 s on a node)
faults_stall() {
  local p limits="SOCI_EKS_DOWNLOAD_DEADLINE=20 SOCI_EKS_DOWNLOAD_SPEED_TIME=5"
  for p in fallback fail; do
    FAULT_INSTALLER_ENV=$limits faults_boot "stall-$p" "mirror-stalled-$p" "$FAULTS_DIR/stall-$p.mime" "$EKS"
    want "given up at the deadline (20 s)" grep -q "download deadline (20s) reached" "$BOOT_OUT/installer.log"
    want "an attempt was cut below the minimum rate and tried again" grep -q "Operation too slow.*Will retry\|Will retry" "$BOOT_OUT/installer.log"
    want "the boot went on soon after the deadline (installer $(r installer_seconds) s)" test "$(r installer_seconds)" -le 45
    if [[ $p == fallback ]]; then expect_degraded mirror-stalled-fallback "the mirror sends 1 KiB, then nothing" download-failed
    else expect_failed mirror-stalled-fail "the mirror sends 1 KiB, then nothing" download-failed; fi
  done
}

# --- the installer is killed (a unit's start timeout, an OOM kill): the state it wrote first holds
faults_killed() {
  local p
  for p in fallback fail; do
    FAULT_INSTALLER_TIMEOUT=8 faults_boot "killed-$p" "installer-killed-$p" "$FAULTS_DIR/stall-$p.mime" "$EKS"
    if [[ $p == fallback ]]; then JOURNAL=0 WANT_RC=137 expect_degraded installer-killed-fallback "the installer is SIGKILLed mid-download" not-verified
    else JOURNAL=0 WANT_RC=137 expect_failed installer-killed-fail "the installer is SIGKILLed mid-download" not-verified; fi
  done
}

# --- the installer's overall deadline (15 min on a node; 20 or 30 s here): something the install waits on never
# answers. Whatever runs at the deadline gets SIGTERM (dnf, which ignores it here, SIGKILL 5 s later) and the TERM
# trap applies the policy: install-timeout. Then a SOCI that accepts connections and never answers.
faults_deadline() {
  local p no_pigz
  no_pigz=$(hide_cmds unpigz)
  printf '%s\n' '#!/bin/bash' "echo \"\$\$ ctr \$*\" >>$FAULTS_DIR/hang-ctr.log" 'exec sleep 3600' >"$FAULTS_DIR/hang-ctr"
  chmod +x "$FAULTS_DIR/hang-ctr"
  for p in fallback fail; do
    # unpigz is missing and dnf never returns (a stalled repository); it also ignores SIGTERM
    FAULT_HANG_CMDS=dnf FAULT_INSTALLER_ENV="SOCI_EKS_INSTALL_DEADLINE=20 SOCI_EKS_DNF_TIMEOUT=600" FAULT_BEFORE_CLOUDINIT=$no_pigz \
      faults_boot "dnfhang-$p" "dnf-hangs-$p" "$FAULTS_DIR/good-$p.mime" "$EKS"
    want "the install reached dnf, which hung (got '$(cat "$BOOT_OUT/hang.log" 2>/dev/null)')" grep -q " dnf install -y --quiet pigz" "$BOOT_OUT/hang.log"
    want "ended at the deadline (installer $(r installer_seconds) s; deadline 20 s)" test "$(r installer_seconds)" -le 40
    want "nothing of the install left running (got $(r installer_left))" test "$(r installer_left)" = 0
    if [[ $p == fallback ]]; then expect_degraded dnf-hangs-fallback "dnf never returns and ignores SIGTERM: the installer's deadline ends the install" install-timeout
    else expect_failed dnf-hangs-fail "dnf never returns and ignores SIGTERM: the installer's deadline ends the install" install-timeout; fi
    # a ctr call that never returns (it dies on SIGTERM, as a Go program does): SOCI_EKS_CTR, the installer's only
    FAULT_INSTALLER_ENV="SOCI_EKS_INSTALL_DEADLINE=30 SOCI_EKS_CTR=$FAULTS_DIR/hang-ctr" faults_boot "ctrhang-$p" "ctr-hangs-$p" "$FAULTS_DIR/good-$p.mime" "$EKS"
    want "the install reached ctr, which hung" grep -q "ctr --address" "$FAULTS_DIR/hang-ctr.log"
    want "ended at the deadline (installer $(r installer_seconds) s; deadline 30 s)" test "$(r installer_seconds)" -le 50
    want "nothing of the install left running (got $(r installer_left))" test "$(r installer_left)" = 0
    if [[ $p == fallback ]]; then expect_degraded ctr-hangs-fallback "a ctr call never returns: the installer's deadline ends the install" install-timeout
    else expect_failed ctr-hangs-fail "a ctr call never returns: the installer's deadline ends the install" install-timeout; fi
    # soci-snapshotter-grpc accepts connections on its socket and never answers (no HTTP/2 preface): the real ctr,
    # through containerd's proxy plugin, fails within seconds; the SOCI check catches it
    faults_boot "mute-$p" "soci-mute-$p" "$FAULTS_DIR/mutesoci-$p.mime" "$EKS"
    want "caught within a minute (installer $(r installer_seconds) s)" test "$(r installer_seconds)" -le 60
    if [[ $p == fallback ]]; then expect_degraded soci-mute-fallback "SOCI accepts connections but never answers" pause-import-failed
    else expect_failed soci-mute-fail "SOCI accepts connections but never answers" pause-import-failed; fi
  done
}

# --- SOCI fails at a later boot (the pause image cut before it): the check at boot applies the policy; kubelet
# does not depend on a SOCI unit
faults_reboot() {
  local p
  for p in fallback fail; do
    faults_boot "rb-$p" "reboot-first-$p" "$FAULTS_DIR/good-$p.mime" "$EKS"
    FAULT_BEFORE_CLOUDINIT='truncate -s 2048 /etc/eks/pause.tar' faults_boot "rb-$p" "reboot-pause-import-fails-$p" "$FAULTS_DIR/good-$p.mime" "$EKS"
    want "soci-eks-install.service ran at boot (got '$(r boot_units)')" test "$(r boot_units)" = soci-eks-install.service
    if [[ $p == fallback ]]; then expect_degraded reboot-pause-import-fails-fallback "a node that joined on SOCI boots again and the pause import fails" pause-import-failed
    else expect_failed reboot-pause-import-fails-fail "a node that joined on SOCI boots again and the pause import fails" pause-import-failed; fi
  done
}

# --- what the installer only warns about: fuse or the ECR credential helper cannot be installed, IMDS
# cannot be reached by the installer. Booted under `fail`, the stricter policy: none of them may stop the node.
faults_packages() {
  FAULT_NO_REPOS=1 FAULT_INSTALLER_ENV=$NO_BACKOFF FAULT_BEFORE_CLOUDINIT=$(hide_cmds fusermount fusermount3) faults_boot nofuse fuse-missing "$FAULTS_DIR/good-fail.mime" "$EKS"
  want "dnf was asked for fuse 5 times" test "$(grep -c 'install -y --quiet fuse' "$BOOT_OUT/dnf.log" 2>/dev/null)" = 5
  want "installer warned" grep -q "WARNING: fusermount is missing; SOCI will try a direct FUSE mount" "$BOOT_OUT/installer.log"
  expect_soci fuse-missing "fusermount is missing and dnf cannot install fuse: SOCI mounts FUSE directly (as root)"

  FAULT_NO_REPOS=1 FAULT_INSTALLER_ENV=$NO_BACKOFF FAULT_BEFORE_CLOUDINIT=$(hide_cmds docker-credential-ecr-login) faults_boot nocredhelper credential-helper-missing "$FAULTS_DIR/good-fail.mime" "$EKS"
  want "dnf was asked for the helper 5 times" test "$(grep -c 'install -y --quiet amazon-ecr-credential-helper' "$BOOT_OUT/dnf.log" 2>/dev/null)" = 5
  want "installer warned" grep -q "WARNING: no amazon-ecr-credential-helper: SOCI uses kubelet's CRI credentials" "$BOOT_OUT/installer.log"
  want "no credHelpers in root's Docker config (got '$(r docker_config)')" test -z "$(r docker_config)"
  expect_soci credential-helper-missing "dnf cannot install amazon-ecr-credential-helper: SOCI uses kubelet's CRI credentials"

  # IMDS refuses the installer's connections (nodeadm-config, before it, had IMDS: without IMDS nodeadm
  # itself cannot enrich its config and the node never joins, whatever our policy says)
  FAULT_INSTALLER_ENV="$NO_BACKOFF AWS_EC2_METADATA_SERVICE_ENDPOINT=http://127.0.0.1:1" faults_boot noimds imds-unreachable "$FAULTS_DIR/good-fail.mime" "$EKS"
  want "installer warned" grep -q "WARNING: could not read the instance identity from IMDS" "$BOOT_OUT/installer.log"
  want "no credHelpers for the account's registry (got '$(r docker_config)')" test -z "$(r docker_config)"
  expect_soci imds-unreachable "the installer cannot reach IMDS: no ECR registry for the credential helper, SOCI still installed"
}

# --- FastImagePull set by the user (EKS part), and a file in /etc/eks/nodeadm.d/ (makes nodeadm-run redo
# its config phase, which rewrites /etc/soci-snapshotter-grpc/config.toml with the AMI's): our daemon reads
# its own config, so the node still lazy-loads.
faults_fastimagepull() {
  local user_dropin='printf "apiVersion: node.eks.aws/v1alpha1\nkind: NodeConfig\nspec:\n  kubelet:\n    config:\n      maxPods: 50\n" >/etc/eks/nodeadm.d/50-user.yaml'
  FAULT_BEFORE_CLOUDINIT=$user_dropin faults_boot fastimagepull fastimagepull "$FAULTS_DIR/good-fallback.mime" "$FAULTS_DIR/eks-part-fastimagepull.yaml"
  want "nodeadm-run redid its config phase" test "$(r nodeadm_run_reconfigured)" -ge 1
  want "nodeadm wrote its own SOCI config to its default path (got '$(r soci_config_default_path | cut -c1-60)')" test "$(r soci_config_default_is_other)" = 1
  want "our config is where our unit reads it" test "$(r soci_config_ours)" = 1
  expect_soci fastimagepull "featureGates.FastImagePull plus a user drop-in: our SOCI config still wins"
}

# --- Karpenter's NodeConfig, appended last, sets taints and the mode label: a degraded node keeps Karpenter's
# taints, adds its own, and its mode label says off (our drop-in comes after every part of the user data)
faults_karpenter() {
  FAULT_INSTALLER_ENV=$SHORT_DEADLINE faults_boot karpenter karpenter-degraded "$FAULTS_DIR/unreachable-fallback.mime" "$FAULTS_DIR/eks-part-karpenter.yaml"
  want "Karpenter's taint kept (got $(r kubelet_taints))" has_taint karpenter.sh/unregistered "" NoExecute
  want "the NodePool's taint kept" has_taint team a NoSchedule
  want "Karpenter's soci-eks/mode=lazy comes before ours (the last value wins)" grep -q "^node_labels=.*soci-eks/mode=lazy.*soci-eks/mode=off *$" "$BOOT_OUT/result.env"
  expect_degraded karpenter-degraded "after Karpenter's NodeConfig (taints, soci-eks/mode=lazy), the mirror refuses" download-failed
}

# --- runtime faults on a node that joined on SOCI (lib/faults-runtime.sh). A container reads its lazily
# loaded files in 12 steps, one a second; the fault comes after step 2.
step() { r rt_steps | cut -d' ' -f "$1"; }
faults_runtime() {
  FAULT_RUNTIME=soci-killed faults_boot rt-killed soci-killed "$FAULTS_DIR/good-fallback.mime" "$EKS"
  echo "INFO soci-killed: reader steps: $(r rt_steps); first error: $(r rt_first_error); SOCI restarts: $(r rt_soci_restarts)"
  want "the node joined on SOCI and lazily" test "$(r pod_ran)$(r lazy)" = 11
  want "reads before the kill ok (steps: $(r rt_steps))" test "$(step 1)$(step 2)" = okok
  want "SOCI running again, a new process (Restart=always; pid $(r rt_soci_pid_before) -> $(r rt_soci_pid_after))" \
    test "$(r rt_soci_active_after)" = 1 -a -n "$(r rt_soci_pid_after)" -a "$(r rt_soci_pid_after)" != "$(r rt_soci_pid_before)"
  # the first failed read meets the dead mount (ENOTCONN) or, when it comes after SOCI's restart, the stale one (ESTALE)
  want "the running container's later reads fail: transport endpoint is not connected or stale file handle (got '$(r rt_first_error)')" \
    grep -Eq '^rt_first_error=.*(stale file handle|transport endpoint is not connected)' "$BOOT_OUT/result.env"
  want "and do not recover after SOCI's restart (last step: $(step 12))" test "$(step 12)" = error
  want "a new container of the same image reads every byte ($(r rt_after_error))" test "$(r rt_after_ran)" = 1
  verdict soci-killed "soci-snapshotter-grpc killed mid-read: systemd restarts it; the running container's reads fail until it is restarted; new containers work"

  FAULT_5XX_SECONDS=${LAB_5XX_SECONDS:-12} FAULT_RUNTIME=registry-5xx faults_boot rt-5xx registry-5xx "$FAULTS_DIR/good-fallback.mime" "$EKS"
  local injected secs=${LAB_5XX_SECONDS:-12}
  injected=$(grep -c -- '-> 503 (injected) agent="soci-snapshotter' "$LOGS/countproxy.log" 2>/dev/null || true)
  echo "INFO registry-5xx: reader steps: $(r rt_steps); longest step $(r rt_longest_step_ms) ms; 503s sent to SOCI (all runtime cases so far): $injected"
  want "the node joined on SOCI and lazily" test "$(r pod_ran)$(r lazy)" = 11
  want "every read succeeds in the end (steps: $(r rt_steps))" test "$(r rt_steps)" = "ok ok ok ok ok ok ok ok ok ok ok ok"
  want "the read in flight waited out the ${secs} s outage (longest step $(r rt_longest_step_ms) ms)" test "$(r rt_longest_step_ms)" -ge $(((secs - 2) * 1000))
  want "SOCI retried past its HTTP client's 1 + 8 attempts ($injected 503s)" test "$injected" -gt 9
  want "a new container of the same image reads every byte ($(r rt_after_error))" test "$(r rt_after_ran)" = 1
  verdict registry-5xx "the registry answers SOCI's span fetches with 503 for ${secs} s mid-read: the read in flight blocks until the registry answers again, then succeeds; no error, no restart"
}
