#!/usr/bin/env bash
# The fault-injection section of the lab (issue 12), sourced by lib/node.sh (after its other sections,
# or alone with LAB_ACTION=faults). Each case is a real boot of a fresh lab node through our user data
# (lib/faults-boot.sh: today's nodeadm, cloud-init's write_files, our installer, containerd 2.2.4,
# soci-snapshotter 0.16.1, the pause import, crictl for kubelet) with one fault injected, and asserts
# the node's end state under the failure policy the user data carries:
#   soci      joined on SOCI: kubelet up, image endpoint SOCI's socket, CRI on soci, an indexed image runs lazily
#   degraded  joined without SOCI: installer exit 0, /var/lib/soci-eks/degraded names the reason, the nodeadm
#             drop-in made nodeadm-run rewrite the configs (overlayfs, containerd's image service), the label
#             soci-eks/degraded=<reason> is in kubelet's flags, SOCI is not running, the image runs (not lazily)
#   failed    never joins: installer exit 1, /var/lib/soci-eks/failed names the reason, kubelet's start fails
#             printing the reason and the fix, nodeadm-run fails, no fallback drop-in
# One PASS/FAIL line per case. docs/boot-and-failures.md's fault-case table lists the same case ids
# (test/unit/faultsTable.test.ts keeps them equal).
# Uses node.sh's pass/fail/log, WORK, LOGS, CACHE, BIN, MIRROR_PORT, PULL_REGISTRY, IMDS_PORT.

FAULTS_DIR=$WORK/faults
SMALL_SOCI=$PULL_REGISTRY/lab/small:v1-soci

# faults_mirror NAME KIND: a mirror variant under http://127.0.0.1:$MIRROR_PORT/NAME (KIND: tampered,
# nobins, brokensoci), each with a .sha256sum that matches its tarball unless KIND says otherwise.
faults_mirror() {
  local name=$1 kind=$2 ver=0.16.1 asset dir pkg
  asset=soci-snapshotter-$ver-linux-amd64.tar.gz
  dir=$WORK/mirror/$name/v$ver
  pkg=$FAULTS_DIR/pkg-$name
  mkdir -p "$dir" "$pkg"
  case $kind in
    tampered) # the good tarball with bytes appended; the published .sha256sum is the good one
      cp "$WORK/mirror/v$ver/$asset" "$WORK/mirror/v$ver/$asset.sha256sum" "$dir/"
      printf 'tampered' >>"$dir/$asset"
      return 0
      ;;
    nobins) # an upstream-looking tarball without soci and soci-snapshotter-grpc
      cp "$WORK/pkg/THIRD_PARTY_LICENSES" "$WORK/pkg/NOTICE.md" "$pkg/"
      tar -C "$pkg" -cf - THIRD_PARTY_LICENSES NOTICE.md | gzip -n >"$dir/$asset"
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
# (nodeadm would otherwise ask the EC2 API for the node's DNS name).
faults_eks_part() { # OUT [FastImagePull]
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
EOF
}

# faults_render OUT MIRROR_URL POLICY: the lab's lazy user data (the CLI, like lib/render-userdata.mjs)
faults_render() {
  LAB_USERDATA_FLAGS="--on-soci-failure $3" node "$LAB_DIR/lib/render-userdata.mjs" "$REPO_DIR" lazy "$2" \
    >"$1" 2>>"$FAULTS_DIR/render.log"
}

# faults_boot NODE CASE MIME EKS_PART: one boot of node NODE (same NODE again = a reboot). Sets BOOT_OUT.
faults_boot() {
  local node=$1 case=$2 n=1
  while [[ -d $FAULTS_DIR/$case-boot$n ]]; do n=$((n + 1)); done
  BOOT_OUT=$FAULTS_DIR/$case-boot$n
  PRISTINE=$WORK/pristine IMDS_PORT=$IMDS_PORT PULL_REGISTRY=$PULL_REGISTRY \
    unshare --mount --propagation private --fork -- \
    bash "$LAB_DIR/lib/faults-boot.sh" "$FAULTS_DIR/node-$node" "$BOOT_OUT" "$3" "$4" "$SMALL_SOCI" \
    >"$BOOT_OUT.log" 2>&1 || log "boot $case ($node) exited $?: $(tail -n 2 "$BOOT_OUT.log" | tr '\n' ' ')"
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
expect_soci() {
  want "nodeadm-run exit 0 (got $(r nodeadm_run_rc))" test "$(r nodeadm_run_rc)" = 0
  want "kubelet started" test "$(r kubelet_active)" = 1
  want "image endpoint SOCI (got $(r image_endpoint))" test "$(r image_endpoint)" = unix:///run/soci-snapshotter-grpc/soci-snapshotter-grpc.sock
  want "CRI snapshotter soci (got $(r cri_snapshotter))" test "$(r cri_snapshotter)" = soci
  want "pod ran" test "$(r pod_ran)" = 1
  if [[ ${PULLED_BEFORE:-0} == 0 ]]; then
    want "lazily (new FUSE mounts)" test "$(r lazy)" = 1
  else # pulled on an earlier boot: SOCI restored its lazy mounts at start
    want "lazy mounts restored (FUSE mounts: $(r fuse_mounts))" test "$(r fuse_mounts)" -ge 1
  fi
  want "our soci-snapshotter units replaced the AMI's in /etc/systemd/system (ExecStart: $(r soci_unit_exec); socket: $(r soci_socket_unit))" \
    test "$(r soci_unit_exec)|$(r soci_socket_unit)" = "/usr/local/bin/soci-snapshotter-grpc --address fd:// --config /etc/soci-eks/soci-snapshotter-grpc.toml|SOCI snapshotter socket (soci-eks)"
  want "no degraded marker" test -z "$(r degraded_marker)"
  want "no fallback drop-in" test "$(r fallback_dropin)" = 0
  want "the SOCI store cleanup timer is enabled (lazy)" test "$(r store_gc_timer)" = 1
  verdict "$1" "joined on SOCI: $2"
}
expect_degraded() {
  local reason=$3
  want "installer exit 0 (got $(r installer_rc))" test "$(r installer_rc)" = 0
  want "marker reason=$reason (got '$(r degraded_marker)')" grep -q "^degraded_marker=reason=$reason policy=fallback message=.* fix=." "$BOOT_OUT/result.env"
  want "journal line" grep -q "soci-eks: DEGRADED (onSociFailure=fallback): $reason: " "$BOOT_OUT/installer.log"
  want "fallback drop-in" test "$(r fallback_dropin)" = 1
  want "nodeadm-run exit 0 (got $(r nodeadm_run_rc))" test "$(r nodeadm_run_rc)" = 0
  want "nodeadm-run re-ran its config phase" test "$(r nodeadm_run_reconfigured)" -ge 1
  want "kubelet started" test "$(r kubelet_active)" = 1
  want "image endpoint containerd (got $(r image_endpoint))" test "$(r image_endpoint)" = unix:///run/containerd/containerd.sock
  want "CRI snapshotter overlayfs (got $(r cri_snapshotter))" test "$(r cri_snapshotter)" = overlayfs
  want "label soci-eks/degraded=$reason (got $(r node_labels))" grep -q "^node_labels=.*--node-labels=soci-eks/degraded=$reason" "$BOOT_OUT/result.env"
  want "SOCI not running" test "$(r soci_active)" = 0
  want "pod ran" test "$(r pod_ran)" = 1
  want "not lazily" test "$(r lazy)" = 0
  verdict "$1" "joined degraded (soci-eks/degraded=$reason), a pod runs: $2"
}
expect_failed() {
  local reason=$3
  want "installer exit 1 (got $(r installer_rc))" test "$(r installer_rc)" = 1
  want "marker reason=$reason (got '$(r failed_marker)')" grep -q "^failed_marker=reason=$reason policy=fail message=.* fix=." "$BOOT_OUT/result.env"
  want "journal line" grep -q "soci-eks: FAILED (onSociFailure=fail): $reason: " "$BOOT_OUT/installer.log"
  want "kubelet not started" test "$(r kubelet_active)" = 0
  want "kubelet's log names the cause and the fix" grep -q "^reason=$reason" "$BOOT_OUT/kubelet.service.log"
  want "kubelet's log has the fix" grep -q "^fix=." "$BOOT_OUT/kubelet.service.log"
  want "nodeadm-run fails (got $(r nodeadm_run_rc))" test "$(r nodeadm_run_rc)" != 0
  want "no fallback drop-in" test "$(r fallback_dropin)" = 0
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

# The installer's retries without their back-off sleeps (2, 4, 8 s...): the attempts still happen (the dnf cases count
# them), they just do not wait. Only for the package and IMDS cases, to keep the section short.
NO_BACKOFF=SOCI_EKS_RETRY_BASE_DELAY=0

# LAB_FAULTS="group ..." runs some groups only (default: all): base download packages fastimagepull runtime
faults_group() { [[ " ${LAB_FAULTS:-base download packages fastimagepull runtime} " == *" $1 "* ]]; }

faults_section() {
  mkdir -p "$FAULTS_DIR"
  faults_nodeadm || { fail "faults section: LAB_NODEADM_CURRENT is set but holds no nodeadm-labsd"; return 0; }
  export FAULTS_NODEADM
  echo "INFO fault boots: nodeadm: $FAULTS_NODEADM_LABEL"
  local t0=$SECONDS
  faults_mirror tampered tampered
  faults_mirror nobins nobins
  faults_mirror brokensoci brokensoci
  EKS=$FAULTS_DIR/eks-part.yaml
  faults_eks_part "$EKS"
  faults_eks_part "$FAULTS_DIR/eks-part-fastimagepull.yaml" FastImagePull
  local p m
  for p in fallback fail; do
    faults_render "$FAULTS_DIR/good-$p.mime" "http://127.0.0.1:$MIRROR_PORT" "$p"
    faults_render "$FAULTS_DIR/unreachable-$p.mime" "http://127.0.0.1:1/down" "$p" # nothing listens: connection refused
    for m in tampered nobins brokensoci; do faults_render "$FAULTS_DIR/$m-$p.mime" "http://127.0.0.1:$MIRROR_PORT/$m" "$p"; done
  done
  if faults_group base; then faults_base; fi
  if faults_group download; then faults_download; fi
  if faults_group packages; then faults_packages; fi
  if faults_group fastimagepull; then faults_fastimagepull; fi
  if faults_group runtime; then faults_runtime; fi
  echo "INFO fault section: $((SECONDS - t0)) s [nodeadm: $FAULTS_NODEADM_LABEL]"
}

# --- a healthy node, then its reboot (cloud-init does not run again), then a cloud-init re-run
faults_base() {
  local gets
  faults_boot healthy healthy "$FAULTS_DIR/good-fallback.mime" "$EKS"
  want "nodeadm-run kept the cached config: no drop-in, no second config phase (got $(r nodeadm_run_reconfigured))" test "$(r nodeadm_run_reconfigured)" = 0
  expect_soci healthy "a healthy boot (baseline for the cases below)"
  gets=$(mirror_gets)
  faults_boot healthy reboot "$FAULTS_DIR/good-fallback.mime" "$EKS"
  want "no mirror request (before $gets, after $(mirror_gets))" test "$(mirror_gets)" = "$gets"
  want "cloud-init did not run again" test -z "$(r installer_rc)"
  PULLED_BEFORE=1 expect_soci reboot "second boot of the same node: nothing downloaded, units and the pause image work again"
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
    faults_boot "unreachable-$p" "mirror-unreachable-$p" "$FAULTS_DIR/unreachable-$p.mime" "$EKS"
    if [[ $p == fallback ]]; then expect_degraded mirror-unreachable-fallback "the mirror refuses every connection, through all retries" download-failed
    else expect_failed mirror-unreachable-fail "the mirror refuses every connection, through all retries" download-failed; fi
    faults_boot "tampered-$p" "checksum-mismatch-$p" "$FAULTS_DIR/tampered-$p.mime" "$EKS"
    want "nothing installed" test "$(r soci_binary)" = 0
    if [[ $p == fallback ]]; then expect_degraded checksum-mismatch-fallback "the tarball does not match its .sha256sum; nothing installed" checksum-mismatch
    else expect_failed checksum-mismatch-fail "the tarball does not match its .sha256sum; nothing installed" checksum-mismatch; fi
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

  # a degraded node stays degraded after a reboot (the drop-in is on disk; nodeadm-config rewrites the
  # SOCI wiring at every boot and nodeadm-run undoes it again)
  faults_boot unreachable-fallback degraded-reboot "$FAULTS_DIR/unreachable-fallback.mime" "$EKS"
  want "cloud-init did not run again" test -z "$(r installer_rc)"
  want "marker still there" grep -q "^degraded_marker=reason=download-failed" "$BOOT_OUT/result.env"
  want "nodeadm-run exit 0" test "$(r nodeadm_run_rc)" = 0
  want "image endpoint containerd" test "$(r image_endpoint)" = unix:///run/containerd/containerd.sock
  want "CRI snapshotter overlayfs" test "$(r cri_snapshotter)" = overlayfs
  want "label" grep -q "^node_labels=.*soci-eks/degraded=download-failed" "$BOOT_OUT/result.env"
  want "pod ran" test "$(r pod_ran)" = 1
  verdict degraded-reboot "joined degraded again after a reboot of a degraded node"
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
  want "installer warned" grep -q "WARNING: amazon-ecr-credential-helper is unavailable; SOCI falls back to kubelet's CRI credentials" "$BOOT_OUT/installer.log"
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
  want "the running container's later reads fail: stale file handle (got '$(r rt_first_error)')" grep -q '^rt_first_error=.*stale file handle' "$BOOT_OUT/result.env"
  want "and do not recover after SOCI's restart (last step: $(step 12))" test "$(step 12)" = error
  want "a new container of the same image reads every byte ($(r rt_after_error))" test "$(r rt_after_ran)" = 1
  verdict soci-killed "soci-snapshotter-grpc killed mid-read: systemd restarts it; the running container gets 'stale file handle' until it is restarted; new containers work"

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
