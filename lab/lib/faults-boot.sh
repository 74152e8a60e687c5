#!/usr/bin/env bash
# One boot of one lab node, as an AL2023 EKS instance boots. Run by
# lab/lib/faults.sh inside the lab's network namespace, in a fresh private mount namespace
# (unshare -m), so every boot gets its own /etc, /usr/local, /var/lib (overlays whose upper
# layers live in NODE_DIR: a second boot of the same NODE_DIR is a reboot) and a fresh /run.
#
# Order, as on a node (lab/FINDINGS.md, "Failure policy"):
#   AMI contents (first boot): /etc/eks/pause.tar, kubelet version, credential provider stub
#   nodeadm-config: NODEADM init --skip run (user data + the lab's EKS-style part)
#   cloud-init (first boot only; per-instance): write_files (nodeadm-sim's cloud-init half; a file it cannot
#     write stops write_files, as in cloud-init), then the user-data scripts, under `systemctl` =
#     lib/fake-systemctl.sh and /run/systemd/system present
#   later boots: the enabled units ordered Before=nodeadm-run.service (soci-eks-install.service), as systemd
#     starts them (enabled during the first boot, they do not run in it)
#   nodeadm-run: NODEADM init --skip config (+ file:///etc/eks/nodeadm.d/): restarts containerd and
#     kubelet through the fake systemctl (kubelet = its ExecStartPre checks and required units)
# Then it probes what kubelet would have: its image endpoint, node labels, containerd's CRI snapshotter,
# and, when kubelet "started", runs IMAGE as a pod through CRI (crictl with kubelet's image endpoint).
# Results: OUT/result.env (key=value) and logs in OUT.
# Usage: faults-boot.sh NODE_HOME OUT MIME EKS_PART IMAGE
# Env:   PRISTINE (the host's /etc, /usr/local, /root, /var/lib bind-mounted under it by node.sh)
#        FAULT_BEFORE_CLOUDINIT (a command run after nodeadm-config, before cloud-init, at every boot: a fault)
#        FAULT_BEFORE_SCRIPTS (a command run after write_files, before the user-data scripts: first boot only)
#        FAULT_DISK_BYTES (the node's disk, the upper layers of its overlays, is a tmpfs of this size; with
#          FAULT_DISK=the tmpfs in the fault commands' environment, e.g. to fill it: first boot only)
#        FAULT_INSTALLER_TIMEOUT (seconds: the user-data scripts are SIGKILLed then, every process they started, as
#          systemd kills a timed-out unit's cgroup; they run in a session of their own for that)
#        FAULT_HANG_CMDS ("NAME..." : a stub NAME on PATH that records its call in OUT/hang.log, ignores SIGTERM and
#          never ends: a dnf whose repository stalls, a ctr whose call never returns)
#        FAULT_NO_REPOS=1 (`dnf` fails as on a node whose package repositories cannot be reached)
#        FAULT_INSTALLER_ENV ("K=V ..." for the user-data scripts only, e.g. an IMDS endpoint nothing listens on)
#        FAULT_RUNTIME (soci-killed | registry-5xx: a runtime fault after the pod ran, lib/faults-runtime.sh)
set -euo pipefail

NODE_HOME=$1 OUT=$2 MIME=$3 EKS_PART=$4 IMAGE=$5
LAB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN=$LAB_DIR/.bin
# FAULTS_NODEADM (set by lib/faults.sh): "model" = our model of nodeadm's two phases (nodeadm-sim init),
# or the path of a current nodeadm whose systemd client runs systemctl (nodeadm-labsd).
if [[ ${FAULTS_NODEADM:-model} == model ]]; then
  NODEADM=(nodeadm-sim) # `nodeadm-sim init` takes nodeadm's flags
  export NODEADM_SIM_CONTAINERD_BASE=$LAB_DIR/fixtures/containerd-base-al2023.toml
else
  NODEADM=("$FAULTS_NODEADM")
fi
IMDS_PORT=${IMDS_PORT:-1338}
PULL_REGISTRY=${PULL_REGISTRY:-127.0.0.1:5001}
CACHE=$LAB_DIR/.cache
mkdir -p "$OUT" "$NODE_HOME"

R() { printf '%s=%s\n' "$1" "$2" >>"$OUT/result.env"; }
: >"$OUT/result.env"

# ---- the instance's disks ----
first_boot=1
[[ -f $NODE_HOME/booted ]] && first_boot=0
if [[ -n ${FAULT_DISK_BYTES:-} ]]; then # a small disk: what the node writes lands on a tmpfs of that size
  mkdir -p "$NODE_HOME/ovl"
  mount -t tmpfs -o "size=$FAULT_DISK_BYTES" fb-disk "$NODE_HOME/ovl"
fi
export FAULT_DISK=$NODE_HOME/ovl
for d in /etc /usr/local /var/lib /root; do
  n=${d//\//_}
  mkdir -p "$NODE_HOME/ovl/$n/up" "$NODE_HOME/ovl/$n/wk"
  mount -t overlay "fb$n" -o "lowerdir=${PRISTINE:?}$d,upperdir=$NODE_HOME/ovl/$n/up,workdir=$NODE_HOME/ovl/$n/wk" "$d"
done
for d in containerd soci-snapshotter-grpc; do
  mkdir -p "$NODE_HOME/data/$d" "/var/lib/$d"
  mount --bind "$NODE_HOME/data/$d" "/var/lib/$d"
done
mount -t tmpfs -o mode=0755 fb-run /run
mkdir -p /run/lock /run/systemd/system # the installer's "running under systemd" test
mkdir -p "$OUT/podlogs"

FAKE=$OUT/fakebin
mkdir -p "$FAKE"
ln -sf "$LAB_DIR/lib/fake-systemctl.sh" "$FAKE/systemctl"
for c in ${FAULT_HANG_CMDS:-}; do
  printf '%s\n' '#!/bin/bash' "trap '' TERM" "echo \"\$\$ $c \$*\" >>$OUT/hang.log" 'exec sleep 3600' >"$FAKE/$c"
  chmod +x "$FAKE/$c"
done
if [[ ${FAULT_NO_REPOS:-0} == 1 ]]; then # dnf's own words and exit status when no repository answers
  printf '%s\n' '#!/bin/sh' "echo \"dnf \$*\" >>$OUT/dnf.log" \
    "echo \"Error: Failed to download metadata for repo 'amazonlinux': Cannot download repomd.xml: All mirrors were tried\" >&2" \
    'exit 1' >"$FAKE/dnf"
  chmod +x "$FAKE/dnf"
fi
export PATH=$FAKE:$BIN:/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export LAB_SD_LOGS=$OUT
export AWS_EC2_METADATA_SERVICE_ENDPOINT=http://127.0.0.1:$IMDS_PORT AWS_REGION=us-east-1
# nodeadm's own test hook for the CPU count (internal/system/resources.go:33-39): an m6i.xlarge's 4 vCPUs.
export CPU_DIR=$NODE_HOME/sysmock/cpu NODE_DIR=$NODE_HOME/sysmock/node
for i in 0 1 2 3; do mkdir -p "$CPU_DIR/cpu$i" "$NODE_DIR/node0/cpu$i"; done

cleanup() {
  systemctl stop kubelet.service containerd.service soci-snapshotter.service >/dev/null 2>&1 || true
  local me p
  me=$(readlink /proc/self/ns/mnt)
  for p in /proc/[0-9]*; do
    [[ $(readlink "$p/ns/mnt" 2>/dev/null) == "$me" ]] || continue
    case $(cat "$p/comm" 2>/dev/null) in containerd-shim* | containerd | soci-snapshotte* | pause | entry) kill -KILL "${p#/proc/}" 2>/dev/null || true ;; esac
  done
  awk '$3 ~ /^fuse/ || $1 == "soci" || $2 ~ "^/var/lib/containerd/|^/run/containerd/" {print $2}' /proc/mounts | sort -r |
    while read -r m; do umount -l "$m" 2>/dev/null || true; done
}
trap cleanup EXIT

if ((first_boot)); then # what the AMI brings
  mkdir -p /etc/eks/nodeadm.d /etc/eks/image-credential-provider
  cp "$CACHE/images/pause.tar" /etc/eks/pause.tar
  echo "Kubernetes v1.34.2" >/etc/eks/kubelet-version.txt
  printf '#!/bin/sh\nexit 0\n' >/etc/eks/image-credential-provider/ecr-credential-provider
  chmod +x /etc/eks/image-credential-provider/ecr-credential-provider
  # The AMI's own SOCI units, where today's AMI puts them (/etc/systemd/system, socket enabled at build time;
  # the AMI's binary is /usr/bin/soci-snapshotter-grpc from its RPM): write_files must replace them.
  mkdir -p /etc/systemd/system/.lab-enabled
  printf '[Unit]\nDescription=soci snapshotter containerd plugin (AMI)\n[Service]\nType=notify\nExecStart=/usr/bin/soci-snapshotter-grpc --address fd://\n' \
    >/etc/systemd/system/soci-snapshotter.service
  printf '[Unit]\nDescription=soci snapshotter containerd plugin socket (AMI)\n[Socket]\nListenStream=/run/soci-snapshotter-grpc/soci-snapshotter-grpc.sock\n[Install]\nWantedBy=sockets.target\n' \
    >/etc/systemd/system/soci-snapshotter.socket
  touch /etc/systemd/system/.lab-enabled/soci-snapshotter.socket
  # The AMI build caches the pause image in containerd's overlayfs snapshotter (cache-pause-container).
  mkdir -p "$OUT/ami"
  printf 'version = 3\n' >"$OUT/ami/containerd.toml"
  containerd --config "$OUT/ami/containerd.toml" >"$OUT/ami/containerd.log" 2>&1 &
  ami_pid=$!
  for ((i = 0; i < 100; i++)); do ctr version >/dev/null 2>&1 && break; sleep 0.1; done
  ctr -n k8s.io images import --local /etc/eks/pause.tar >"$OUT/ami/import.log" 2>&1 || echo "AMI pause cache failed" >>"$OUT/ami/import.log"
  kill -TERM "$ami_pid"
  wait "$ami_pid" || true
  # Lab-only: the registry is plain HTTP on loopback (ECR is HTTPS).
  mkdir -p "/etc/containerd/certs.d/$PULL_REGISTRY"
  printf 'server = "http://%s"\n[host."http://%s"]\n  capabilities = ["pull", "resolve"]\n' \
    "$PULL_REGISTRY" "$PULL_REGISTRY" >"/etc/containerd/certs.d/$PULL_REGISTRY/hosts.toml"
fi
R first_boot "$first_boot"

SOURCES=(--config-source "file://$MIME" --config-source "file://$EKS_PART")
CACHE_FLAG=(--config-cache /run/eks/nodeadm/config.json)

# ---- nodeadm-config ----
rc=0
"${NODEADM[@]}" init --skip run "${SOURCES[@]}" "${CACHE_FLAG[@]}" >"$OUT/nodeadm-config.log" 2>&1 || rc=$?
R nodeadm_config_rc "$rc"

if [[ -n ${FAULT_BEFORE_CLOUDINIT:-} ]]; then bash -c "$FAULT_BEFORE_CLOUDINIT" >"$OUT/fault.log" 2>&1 || true; fi

# ---- cloud-init (per instance: first boot only) ----
if ((first_boot)); then
  cp /etc/containerd/config.toml "$OUT/containerd-config-by-nodeadm.toml"
  # nodeadm-sim for its cloud-init half only (write_files, script extraction); it also writes its own
  # containerd merge, which nodeadm has already done for real: put nodeadm's file back.
  nodeadm-sim -userdata "$MIME" -base "$LAB_DIR/fixtures/containerd-base-al2023.toml" -root / -out "$OUT/sim" >"$OUT/sim.json" 2>"$OUT/sim.err"
  cp "$OUT/containerd-config-by-nodeadm.toml" /etc/containerd/config.toml
  rc=0
  R write_files_error "$(jq -r '.writeFilesError // empty' "$OUT/sim.json")"
  if [[ -n ${FAULT_BEFORE_SCRIPTS:-} ]]; then bash -c "$FAULT_BEFORE_SCRIPTS" >>"$OUT/fault.log" 2>&1 || true; fi
  t0=$SECONDS
  for s in $(jq -r '.scripts[]?' "$OUT/sim.json"); do
    # shellcheck disable=SC2086 # FAULT_INSTALLER_ENV is a list of K=V words
    env SOCI_EKS_RETRY_BASE_DELAY=1 ${FAULT_INSTALLER_ENV:-} setsid bash "$s" >>"$OUT/installer.log" 2>&1 &
    pid=$!
    if [[ -n ${FAULT_INSTALLER_TIMEOUT:-} ]]; then
      for ((i = 0; i < FAULT_INSTALLER_TIMEOUT * 10; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      pkill -KILL -s "$pid" 2>/dev/null || true # the whole session (our installer runs itself under timeout, a group of its own)
    fi
    wait "$pid" || rc=$?
  done
  R installer_left "$(pgrep -s "$pid" 2>/dev/null | wc -l)"
  R installer_rc "$rc"
  R installer_seconds "$((SECONDS - t0))"
  touch "$NODE_HOME/booted"
else
  # systemd at a later boot: the units enabled in /etc/systemd/system whose unit file orders them
  # Before=nodeadm-run.service (soci-eks-install.service reinstalls if needed, checks SOCI, applies the policy)
  rc=0 ran=""
  for u in /etc/systemd/system/.lab-enabled/*.service; do
    [[ -f $u ]] || continue
    u=${u##*/}
    grep -q '^Before=.*nodeadm-run\.service' "/etc/systemd/system/$u" 2>/dev/null || continue
    ran+="$u "
    # shellcheck disable=SC2086 # FAULT_INSTALLER_ENV is a list of K=V words (test-only installer settings)
    env SOCI_EKS_RETRY_BASE_DELAY=1 ${FAULT_INSTALLER_ENV:-} systemctl start "$u" >>"$OUT/boot-units.log" 2>&1 || rc=$?
  done
  R boot_units "${ran% }"
  R boot_units_rc "$rc"
  cp "$OUT/soci-eks-install.service.log" "$OUT/installer.log" 2>/dev/null || true
fi

# ---- nodeadm-run ----
rc=0
"${NODEADM[@]}" init --skip config "${SOURCES[@]}" --config-source file:///etc/eks/nodeadm.d/ "${CACHE_FLAG[@]}" \
  >"$OUT/nodeadm-run.log" 2>&1 || rc=$?
R nodeadm_run_rc "$rc"
R nodeadm_run_reconfigured "$(grep -c 'Configuring daemons' "$OUT/nodeadm-run.log" || true)"

# ---- what kubelet would have ----
active() { systemctl is-active --quiet "$1" && echo 1 || echo 0; }
R kubelet_active "$(active kubelet.service)"
R containerd_active "$(active containerd.service)"
R soci_active "$(active soci-snapshotter.service)"
# kubelet's config as kubelet reads it: config.json, then the drop-in directory only when nodeadm passed
# --config-dir (a file left there by an earlier boot is not read without it)
kubelet_conf() { # JQ-FILTER
  local v=""
  grep -q -- '--config-dir=' /etc/eks/kubelet/environment 2>/dev/null &&
    v=$(jq -c "$1 // empty" /etc/kubernetes/kubelet/config.json.d/40-nodeadm.conf 2>/dev/null || true)
  [[ -n $v ]] || v=$(jq -c "$1 // empty" /etc/kubernetes/kubelet/config.json 2>/dev/null || true)
  printf '%s' "$v"
}
ise=$(kubelet_conf .imageServiceEndpoint | tr -d '"')
R image_endpoint "${ise:-unix:///run/containerd/containerd.sock}"
R node_labels "$(grep -o -- '--node-labels=[^ ]*' /etc/eks/kubelet/environment 2>/dev/null | tr '\n' ' ' || true)"
R cri_snapshotter "$(containerd --config /etc/containerd/config.toml config dump 2>/dev/null | python3 -c '
import sys, tomllib
print(tomllib.loads(sys.stdin.read())["plugins"]["io.containerd.cri.v1.images"].get("snapshotter"))' || true)"
R degraded_marker "$(tr '\n' ' ' </run/soci-eks/degraded 2>/dev/null || true)"
R failed_marker "$(tr '\n' ' ' </run/soci-eks/failed 2>/dev/null || true)"
R degraded_marker_disk "$(tr '\n' ' ' </var/lib/soci-eks/degraded 2>/dev/null || true)"
R failed_marker_disk "$(tr '\n' ' ' </var/lib/soci-eks/failed 2>/dev/null || true)"
# The installer's drop-in: a symlink to this boot's state, or (a node whose files never unpacked) a file.
dropin=/etc/eks/nodeadm.d/90-soci-eks.yaml
if [[ -L $dropin ]]; then R dropin "symlink:$(readlink "$dropin")"; elif [[ -f $dropin ]]; then R dropin file; else R dropin none; fi
R dropin_says "$(grep -q 'snapshotter = .soci.' $dropin 2>/dev/null && echo soci || { grep -q 'soci-eks/degraded=' $dropin 2>/dev/null && echo degraded; } || { grep -q '^spec: {}' $dropin 2>/dev/null && echo nothing; } || echo none)"
R kubelet_taints "$(kubelet_conf .registerWithTaints)"
R kubelet_hold "$([[ -f /run/systemd/system/kubelet.service.d/05-soci-eks-failed.conf ]] && echo 1 || echo 0)"
# Is SOCI serving? Both of what the wiring relies on must answer: containerd's calls to SOCI's snapshotter
# and kubelet's CRI image calls to SOCI's socket.
serving=0
if timeout 15 ctr --address /run/containerd/containerd.sock -n k8s.io snapshots --snapshotter soci ls >/dev/null 2>&1 &&
  timeout 15 crictl --image-endpoint unix:///run/soci-snapshotter-grpc/soci-snapshotter-grpc.sock --timeout 10s images >/dev/null 2>&1; then
  serving=1
fi
R soci_serving "$serving"
R soci_binary "$([[ -x /usr/local/bin/soci-snapshotter-grpc ]] && echo 1 || echo 0)"
R soci_config_default_path "$(head -c 200 /etc/soci-snapshotter-grpc/config.toml 2>/dev/null | tr '\n' ' ' || true)"
R store_gc_timer "$(systemctl is-enabled soci-eks-store-gc.timer >/dev/null 2>&1 && echo 1 || echo 0)"
R soci_unit_exec "$(sed -n 's/^ExecStart=//p' /etc/systemd/system/soci-snapshotter.service 2>/dev/null | head -n 1)"
R soci_socket_unit "$(sed -n 's/^Description=//p' /etc/systemd/system/soci-snapshotter.socket 2>/dev/null | head -n 1)"
R soci_config_ours "$([[ -f /etc/soci-eks/soci-snapshotter-grpc.toml ]] && echo 1 || echo 0)"
R soci_config_default_is_other "$([[ -s /etc/soci-snapshotter-grpc/config.toml ]] && ! cmp -s /etc/soci-snapshotter-grpc/config.toml /etc/soci-eks/soci-snapshotter-grpc.toml && echo 1 || echo 0)"
cp /etc/eks/kubelet/environment "$OUT/" 2>/dev/null || true
cp /etc/containerd/config.toml "$OUT/containerd-config-final.toml" 2>/dev/null || true

# ---- a pod, as kubelet would run it ----
pod_ran=0 fuse_new=0
if systemctl is-active --quiet kubelet.service; then
  crictl=(crictl --runtime-endpoint unix:///run/containerd/containerd.sock --image-endpoint "${ise:-unix:///run/containerd/containerd.sock}" --timeout 120s)
  before=$(awk '$3 == "fuse.rawBridge"' /proc/mounts | wc -l)
  cat >"$OUT/pod.json" <<EOF
{"metadata":{"name":"fault","namespace":"lab","uid":"fault-$$","attempt":0},"log_directory":"$OUT/podlogs",
 "linux":{"security_context":{"namespace_options":{"network":2}}}}
EOF
  printf '{"metadata":{"name":"app"},"image":{"image":"%s"},"log_path":"app.log","linux":{}}\n' "$IMAGE" >"$OUT/ctr.json"
  if "${crictl[@]}" pull "$IMAGE" >"$OUT/pull.log" 2>&1 &&
    pod=$("${crictl[@]}" runp "$OUT/pod.json" 2>"$OUT/runp.log") &&
    cid=$("${crictl[@]}" create "$pod" "$OUT/ctr.json" "$OUT/pod.json" 2>"$OUT/create.log") &&
    "${crictl[@]}" start "$cid" >/dev/null 2>"$OUT/start.log"; then
    for ((i = 0; i < 300; i++)); do
      [[ $("${crictl[@]}" inspect -o json "$cid" 2>/dev/null | jq -r .status.state) == CONTAINER_EXITED ]] && break
      sleep 0.1
    done
    "${crictl[@]}" logs "$cid" >"$OUT/pod.log" 2>&1 || true
    grep -q LAB-READY "$OUT/pod.log" && pod_ran=1
    after=$(awk '$3 == "fuse.rawBridge"' /proc/mounts | wc -l)
    ((after > before)) && fuse_new=1
    "${crictl[@]}" rmp -f "$pod" >/dev/null 2>&1 || true
  fi
fi
R pod_ran "$pod_ran"
R lazy "$fuse_new"
R fuse_mounts "$(awk '$3 == "fuse.rawBridge"' /proc/mounts | wc -l)"

# ---- a runtime fault on the running node ----
if [[ -n ${FAULT_RUNTIME:-} ]] && ((pod_ran)); then
  # shellcheck source=lab/lib/faults-runtime.sh
  . "$LAB_DIR/lib/faults-runtime.sh"
  runtime_fault "$FAULT_RUNTIME"
fi
R docker_config "$(jq -c . /root/.docker/config.json 2>/dev/null || true)"
