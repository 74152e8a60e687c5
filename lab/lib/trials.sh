#!/usr/bin/env bash
# Trials: the user data re-applied on a wiped node with one change each: the negative checks (the lab must
# catch a broken config), parallel mode, and INFO-only experiments.
# Sourced by lab/lib/node.sh (uses its pass/fail/check/log, WORK, LOGS, CACHE, BIN and the ports).

# Each variant mutates the rendered NodeConfig, re-applies the user data on a wiped node
# and expects the lab's own checks to catch it.
# trial NAME SED_EXPR|-: re-applies a mutated copy of the rendered user data on a wiped node,
# starts it and tries the indexed image. Sets T_APPLIED T_SCHEMA T_STARTED T_RAN T_LAZY (0/1).
trial() {
  local name=$1 expr=$2 mime=$WORK/userdata-$1.mime before
  T_APPLIED=0 T_SCHEMA='' T_STARTED=0 T_RAN=0 T_LAZY=0 T_DSA=''
  if [[ $expr == - ]]; then
    cp "$MIME" "$mime" # unchanged user data (the trial changes something else)
  else
    sed -e "$expr" "$MIME" | mutate_bundle "$expr" >"$mime"
    if cmp -s "$mime" "$MIME"; then log "trial $name: mutation did not change the user data"; return 1; fi
  fi
  wipe_node_state
  apply_userdata "$mime" "$name" >/dev/null 2>&1 && T_APPLIED=1
  T_SCHEMA=$(jq -r .containerdSchema "$SIM_JSON")
  T_DSA=$(cri_images_key disable_snapshot_annotations)
  if ((T_APPLIED)) && start_node "$name"; then
    T_STARTED=1
    [[ ${T_SKIP_PAUSE:-0} == 1 ]] || import_pause "$name" || true
    crictl_init
    before=$(fuse_mounts)
    if [[ -n ${T_BEFORE_RUN:-} ]]; then "$T_BEFORE_RUN"; fi
    run_image "$PULL_REGISTRY/lab/small:v1-soci" "$name" >/dev/null 2>&1 && T_RAN=1
    [[ $(fuse_mounts) -gt $before ]] && T_LAZY=1
  fi
  stop_node
  return 0
}
# mutate_bundle SED_EXPR: the user data on stdin with SED_EXPR applied to every member of its node-files bundle too
# (the SOCI wiring the installer writes once SOCI serves travels there, userdata/bundle.ts), the bundle rebuilt.
mutate_bundle() {
  python3 -c '
import base64, gzip, re, subprocess, sys
expr, text = sys.argv[1], sys.stdin.read()
def rebuild(m):
    data, out, off = gzip.decompress(base64.b64decode(m.group(2))), [], 0
    while True:
        nl = data.index(b"\n", off)
        head = data[off:nl].decode()
        if head == "-":
            break
        path, mode, size = head.split(" ")
        body = data[nl + 1:nl + 1 + int(size)]
        body = subprocess.run(["sed", "-e", expr], input=body, capture_output=True, check=True).stdout
        out.append(b"%s %s %d\n" % (path.encode(), mode.encode(), len(body)) + body)
        off = nl + 1 + int(size)
    return m.group(1) + base64.b64encode(gzip.compress(b"".join(out) + b"-\n", mtime=0)).decode()
sys.stdout.write(re.sub(r"(path: \S+/node-files\.gz\n(?:.*\n)*?\s+content: )(\S+)", rebuild, text, count=1))
' "$1"
}

# negative NAME SED_EXPR: the lab must catch the broken config (no lazy run on the v3 path).
negative() {
  if ! trial "neg-$1" "$2"; then fail "negative $1: mutation did not change the user data"; return; fi
  if ((T_APPLIED && T_STARTED && T_RAN && T_LAZY)) && [[ $T_SCHEMA == 3 ]]; then
    fail "negative $1: broken config was NOT detected"
  else
    pass "negative $1: broken config is detected (applied=$T_APPLIED nodeadm-schema=$T_SCHEMA daemons-up=$T_STARTED ran=$T_RAN lazy=$T_LAZY)"
  fi
}

negative_section() {
  negative wrong-socket 's#address = "/run/soci-snapshotter-grpc/soci-snapshotter-grpc.sock"#address = "/run/soci-snapshotter-grpc/wrong.sock"#'
  negative no-proxy-plugin '/\[proxy_plugins.soci\]/,/root = /d'
  negative proxy-plugin-without-type '/\[proxy_plugins.soci\]/,/^ *$/d'
  negative v2-cri-keys "s#\[plugins.\"io.containerd.cri.v1.images\"\]#[plugins.\"io.containerd.grpc.v1.cri\".containerd]#;s#\[plugins.'io.containerd.cri.v1.images'\]#[plugins.\"io.containerd.grpc.v1.cri\".containerd]#"

  # Without the pause import (amazon-eks-ami#2710) the first sandbox must fail: the pinned
  # localhost/kubernetes/pause image exists nowhere the soci snapshotter can get it from.
  # (Same user data; the trial skips the pause import.)
  T_SKIP_PAUSE=1
  if trial neg-no-pause-import -; then
    if ((T_STARTED && !T_RAN)); then pass "negative no-pause-import: sandbox creation fails without the pause import (amazon-eks-ami#2710 reproduced)"
    else fail "negative no-pause-import: pod ran without the pause import (started=$T_STARTED ran=$T_RAN)"; fi
  else
    fail "negative no-pause-import: mutation did not apply"
  fi
  T_SKIP_PAUSE=0

  # The installer must refuse a release whose bytes do not match the sha256 pinned in the user data.
  asset_path=$WORK/mirror/v0.16.1/soci-snapshotter-0.16.1-linux-amd64.tar.gz
  cp "$asset_path" "$WORK/asset.bak"
  printf 'tampered' >>"$asset_path"
  rm -f /usr/local/bin/soci /usr/local/bin/soci-snapshotter-grpc /var/lib/soci-eks/installed-release
  tamper_rc=0
  for sc in $(jq -r '.scripts[]?' "$WORK/ud-main/summary.json"); do
    SOCI_EKS_NO_SYSTEMD_OK=1 AWS_EC2_METADATA_SERVICE_ENDPOINT=http://127.0.0.1:$IMDS_PORT SOCI_EKS_RETRY_BASE_DELAY=1 bash "$sc" >"$LOGS/installer-tampered.log" 2>&1 || tamper_rc=$?
  done
  # (onSociFailure fallback, the default: the installer handles it and exits 0; lib/faults.sh boots such nodes)
  if [[ ! -e /usr/local/bin/soci-snapshotter-grpc ]] && grep -q "checksum-mismatch: .* not the pinned" "$LOGS/installer-tampered.log" &&
    grep -q "DEGRADED (onSociFailure=fallback): checksum-mismatch" "$LOGS/installer-tampered.log"; then
    pass "negative tampered-release: the installer refuses it (exit $tamper_rc, 'not the pinned' digest, nothing installed, fallback applied)"
  else
    fail "negative tampered-release: installer exit $tamper_rc; $(tail -n 2 "$LOGS/installer-tampered.log" | tr '\n' ' ')"
  fi
  cp "$WORK/asset.bak" "$asset_path"
}

# parallel_section: the same checks for `--mode parallel`.
parallel_section() {
  LAZY_MIME=$MIME
  MIME=$WORK/userdata-parallel-base.mime
  MODE=parallel render_userdata "$MIME"
  if trial parallel -; then
    if ((T_STARTED && T_RAN && !T_LAZY)); then
      pass "mode parallel: the indexed image pulls through SOCI and runs with no FUSE mounts (registry served ${BYTES:-?} bytes)"
    else
      fail "mode parallel: started=$T_STARTED ran=$T_RAN lazy=$T_LAZY (want 1 1 0)"
    fi
    if grep -q "preparing snapshot with parallel pull/unpack" "$LOGS/soci-parallel.log"; then pass "mode parallel: SOCI prepared the layers with parallel pull/unpack (daemon log)"; else fail "mode parallel: no \"preparing snapshot with parallel pull/unpack\" in the SOCI log"; fi
  else
    fail "mode parallel: could not run"
  fi
  MIME=$LAZY_MIME
}

# experiments_section: INFO lines only.
# shellcheck disable=SC2154 # image_bytes: set by pull_section (lib/pull.sh)
experiments_section() {
  # Does containerd 2.2.4's CRI (pulling through SOCI's image service) still lazy-load without
  # disable_snapshot_annotations = false? (containerd's own default is printed.)
  if trial exp-no-dsa '/disable_snapshot_annotations = false/d'; then
    echo "INFO without disable_snapshot_annotations=false: effective disable_snapshot_annotations=$T_DSA, daemons-up=$T_STARTED ran=$T_RAN lazy(FUSE mounts)=$T_LAZY"
  fi

  # Experiment for the cold-cache finding (lab/FINDINGS.md): SOCI cannot fetch the image's bottom layer, which
  # has no zTOC (the counting proxy answers SOCI's requests for it with 503). Expected if the mechanism there is
  # right: SOCI defers that layer to containerd, whose unpacker fetches it and every layer above it in full,
  # while SOCI still mounts the upper layers lazily.
  small_manifest=$CACHE/images/small/blobs/sha256/$(jq -r '.manifests[0].digest' "$CACHE/images/small/index.json" | cut -d: -f2)
  EXP_BOTTOM=$(jq -r '.layers[0].digest' "$small_manifest")
  # shellcheck disable=SC2317 # run by trial through T_BEFORE_RUN
  fail_bottom_layer_for_soci() {
    curl -fsS -X POST "http://$PULL_REGISTRY/__lab/fail?path=$EXP_BOTTOM&agent=soci-snapshotter&count=1000" >/dev/null
  }
  T_BEFORE_RUN=fail_bottom_layer_for_soci
  if trial exp-bottom-layer-fails -; then
    curl -fsS -X POST "http://$PULL_REGISTRY/__lab/fail?path=none&count=0" >/dev/null
    exp_log=$LOGS/served-exp-bottom-layer-fails.log
    exp_whole=$(grep -c 'range="" -> 200 .*agent="containerd' "$exp_log" || true)
    exp_reproduced=no
    ((T_LAZY && BYTES > image_bytes)) && grep -q 'failed to prepare local snapshot' "$LOGS/soci-exp-bottom-layer-fails.log" && exp_reproduced=yes
    echo "INFO experiment, SOCI's fetches of the zTOC-less bottom layer fail (double download reproduced: $exp_reproduced): ran=$T_RAN lazy(FUSE mounts)=$T_LAZY;" \
      "registry served ${BYTES:-?} bytes for an image of $image_bytes layer bytes;" \
      "whole-blob GETs by containerd: $exp_whole," \
      "503s injected for SOCI: $(grep -c '503 (injected)' "$exp_log" || true);" \
      "SOCI log: $(grep -c 'failed to prepare local snapshot' "$LOGS/soci-exp-bottom-layer-fails.log" || true) 'failed to prepare local snapshot'"
  fi
  T_BEFORE_RUN=
}
