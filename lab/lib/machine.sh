#!/usr/bin/env bash
# The lab machine: private copies of the node's paths, the loopback services (registry, counting proxy,
# release mirror, IMDS mock), the release tarball and the test images.
# Sourced by lab/lib/node.sh (uses its pass/fail/check/log, WORK, LOGS, CACHE, BIN and the ports).

# ---------------------------------------------------------------- filesystem ---
# Private copies of the node's paths: overlays over /etc, /usr/local, /root and /var/lib
# (writes stay in $WORK), a fresh /run, and real directories for containerd's and SOCI's
# data (overlayfs cannot be an overlay upper layer).
setup_fs() {
  local d name
  # the host's own dirs, for lib/faults-boot.sh's fresh instances (lowerdirs without this lab's writes)
  for d in /etc /usr/local /root /var/lib; do mkdir -p "$WORK/pristine$d" && mount --bind "$d" "$WORK/pristine$d"; done
  for d in /etc /usr/local /root /var/lib; do
    name=${d//\//_}
    mkdir -p "$WORK/ovl/$name/up" "$WORK/ovl/$name/wk"
    mount -t overlay "lab$name" -o "lowerdir=$d,upperdir=$WORK/ovl/$name/up,workdir=$WORK/ovl/$name/wk" "$d"
  done
  mount -t tmpfs -o mode=0755 lab-run /run
  mkdir -p /run/lock
  for d in containerd soci-snapshotter-grpc; do
    mkdir -p "$WORK/data/$d" "/var/lib/$d"
    mount --bind "$WORK/data/$d" "/var/lib/$d"
  done
  # pod logs stay in $WORK too (/var/log itself is the host's)
  mkdir -p "$WORK/podlogs"
  mount -t tmpfs -o mode=0755 lab-podlogs /mnt
  mkdir -p /mnt/pods
  mount --bind "$WORK/podlogs" /mnt/pods
  # shellcheck disable=SC2034 # read by lib/pull.sh
  POD_LOG_DIR=/mnt/pods
}

# ---------------------------------------------------------------- loopback services ---
start_services() {
  mkdir -p "$CACHE/registry" "$WORK/mirror"
  cat >"$WORK/registry.yml" <<EOF
version: 0.1
log: {level: info, formatter: text}
storage:
  filesystem: {rootdirectory: $CACHE/registry}
  delete: {enabled: true}
http: {addr: $REGISTRY}
EOF
  registry serve "$WORK/registry.yml" >"$LOGS/registry.log" 2>&1 &
  PIDS+=($!)
  countproxy -listen "$PULL_REGISTRY" -target "http://$REGISTRY" -v >"$LOGS/countproxy.log" 2>&1 &
  PIDS+=($!)
  python3 -m http.server --bind 127.0.0.1 --directory "$WORK/mirror" "$MIRROR_PORT" >"$LOGS/mirror.log" 2>&1 &
  PIDS+=($!)
  ec2-metadata-mock --hostname 127.0.0.1 --port "$IMDS_PORT" >"$LOGS/imds.log" 2>&1 &
  PIDS+=($!)
  wait_for 20 registry curl -fsS "http://$REGISTRY/v2/"
  wait_for 10 countproxy curl -fsS "http://$PULL_REGISTRY/__lab/bytes"
  wait_for 10 mirror curl -fsS "http://127.0.0.1:$MIRROR_PORT/"
  wait_for 20 "IMDS mock" curl -fsS "http://127.0.0.1:$IMDS_PORT/latest/meta-data/instance-id" || log "IMDS mock did not answer (installer will warn)"
}

# Release tarball in upstream layout (soci, soci-snapshotter-grpc, THIRD_PARTY_LICENSES,
# NOTICE.md at top level) and its .sha256sum, served as /v0.16.1/<asset>. The license files come from the
# soci-snapshotter module in Go's module cache, which built the binaries; Go itself is not needed (with
# LAB_SKIP_BUILD=1 there may be none): without the module in the cache a note stands in for them.
pack_release() {
  local ver=0.16.1 asset dir src modcache
  asset=soci-snapshotter-$ver-linux-amd64.tar.gz
  dir=$WORK/mirror/v$ver
  mkdir -p "$dir" "$WORK/pkg"
  cp "$BIN/soci" "$BIN/soci-snapshotter-grpc" "$WORK/pkg/"
  if command -v go >/dev/null 2>&1; then modcache=$(go env GOMODCACHE); else modcache=${GOMODCACHE:-${GOPATH:-$HOME/go}/pkg/mod}; fi
  src=$modcache/github.com/awslabs/soci-snapshotter@v$ver
  if [[ -f $src/THIRD_PARTY_LICENSES ]]; then
    cp "$src/THIRD_PARTY_LICENSES" "$WORK/pkg/"
  elif [[ -f $src/LICENSE ]]; then
    cp "$src/LICENSE" "$WORK/pkg/THIRD_PARTY_LICENSES"
  else
    echo "soci-snapshotter $ver is licensed under the Apache License 2.0 (its module was not in $modcache on this machine)" >"$WORK/pkg/THIRD_PARTY_LICENSES"
  fi
  if [[ -f $src/NOTICE.md ]]; then cp "$src/NOTICE.md" "$WORK/pkg/"; else echo "soci-snapshotter $ver built from the Go module proxy by soci-eks lab/build-tools.sh" >"$WORK/pkg/NOTICE.md"; fi
  chmod 0644 "$WORK/pkg/THIRD_PARTY_LICENSES" "$WORK/pkg/NOTICE.md"
  tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$WORK/pkg" \
    -cf - soci soci-snapshotter-grpc THIRD_PARTY_LICENSES NOTICE.md | gzip -n >"$dir/$asset"
  (cd "$dir" && sha256sum "$asset" >"$asset.sha256sum")
  RELEASE_SHA256=$(cut -d' ' -f1 "$dir/$asset.sha256sum")
  log "release mirror: http://127.0.0.1:$MIRROR_PORT/v$ver/$asset sha256 $RELEASE_SHA256"
}

# ---------------------------------------------------------------- images ---
# Deterministic images (mkimage: fixed mtimes, seeded data); cached in lab/.cache/images.
build_images() {
  local img=$CACHE/images
  mkdir -p "$img"
  # lab/.cache is shared by concurrent lab runs (each with its own netns): one builder at a time.
  exec 9>"$CACHE/images.lock"
  flock 9
  # pause image, as the AMI caches it in /etc/eks/pause.tar
  mkimage -out "$img/pause" -name localhost/kubernetes/pause:latest -entry "$BIN/labpause" -layers 0 \
    -tar "$img/pause.tar" >&2
  # "small": entry binary + 2 x 16 MiB layers of incompressible data, one file each, so the
  # entrypoint's 6% reads touch one 4 MiB span of four (zTOCs at --min-layer-size 1 MiB)
  mkimage -out "$img/small" -name "$REGISTRY/lab/small:v1" -entry "$BIN/labentry" \
    -cmd "/bin/entry,-frac,0.06,/data" -layers 2 -layer-bytes 16777216 -files 1 -seed 1 >&2
  rm -rf "$img/small-soci"
  soci convert --standalone --format oci-dir --min-layer-size 1048576 "$img/small" "$img/small-soci" >"$LOGS/soci-convert.log" 2>&1
  # "plain": same shape, different data, no SOCI index
  mkimage -out "$img/plain" -name "$REGISTRY/lab/plain:v1" -entry "$BIN/labentry" \
    -cmd "/bin/entry,-frac,0.06,/data" -layers 2 -layer-bytes 16777216 -files 1 -seed 2 >&2
  skopeo copy -q --dest-tls-verify=false "oci:$img/small:v1" "docker://$REGISTRY/lab/small:v1"
  skopeo copy -q --all --dest-tls-verify=false "oci:$img/small-soci" "docker://$REGISTRY/lab/small:v1-soci"
  skopeo copy -q --dest-tls-verify=false "oci:$img/plain:v1" "docker://$REGISTRY/lab/plain:v1"
  flock -u 9
}
