#!/usr/bin/env bash
# Builds today's nodeadm (awslabs/amazon-eks-ami at a pinned commit) from a local git checkout,
# because the Go module proxy serves only the Feb-2024 nodeadm module (lab/README.md).
#
# The checkout is a bare git directory (e.g. the one the `fetch` tool leaves in
# /work/.mirror/awslabs+amazon-eks-ami/repo). nodeadm's vendor/ directory is left out (the
# snapshot lacks its largest file); dependencies come from the Go module proxy, checked
# against nodeadm's own go.sum. Output: lab/.bin-current/nodeadm (gitignored), version-stamped with the commit.
#
# Also builds nodeadm-labsd: the same source with one file swapped through `go build -overlay`:
# internal/daemon/systemd.go (nodeadm's D-Bus client for systemd) becomes
# lab/tools/nodeadm-labsd/systemctl_manager.go, which runs `systemctl start|restart|is-active`
# instead. The lab has no systemd as PID 1; its `systemctl` is lab/lib/fake-systemctl.sh. All
# config logic, merging and post-launch steps are nodeadm's own.
#
# Usage: NODEADM_GIT_DIR=/path/to/amazon-eks-ami.git lab/build-nodeadm-current.sh
# Env:   NODEADM_COMMIT (default 81fec2e8, 2026-07-23), NODEADM_OUT (default lab/.bin-current)
set -euo pipefail

LAB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
GIT_DIR_IN=${NODEADM_GIT_DIR:-/work/.mirror/awslabs+amazon-eks-ami/repo}
COMMIT=${NODEADM_COMMIT:-81fec2e8}
OUT=${NODEADM_OUT:-$LAB_DIR/.bin-current}

log() { printf '[build-nodeadm %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

command -v go >/dev/null 2>&1 || { [[ -x /usr/local/go/bin/go ]] && PATH=/usr/local/go/bin:$PATH; }
command -v go >/dev/null 2>&1 || die "go not found"
git --git-dir="$GIT_DIR_IN" cat-file -e "$COMMIT^{commit}" 2>/dev/null ||
  die "commit $COMMIT not in $GIT_DIR_IN (set NODEADM_GIT_DIR to an amazon-eks-ami checkout)"
full=$(git --git-dir="$GIT_DIR_IN" rev-parse "$COMMIT^{commit}")

src=$OUT/src-$full
if [[ ! -f $src/nodeadm/go.mod ]]; then
  rm -rf "$src.tmp"
  mkdir -p "$src.tmp"
  git --git-dir="$GIT_DIR_IN" archive "$full" -- nodeadm ":(exclude)nodeadm/vendor" | tar -x -C "$src.tmp"
  mv "$src.tmp" "$src"
fi
stamp=$OUT/.stamp-nodeadm
if [[ -x $OUT/nodeadm && -x $OUT/nodeadm-labsd && "$(cat "$stamp" 2>/dev/null)" == "$full $(go env GOVERSION) $(sha256sum <"$LAB_DIR/tools/nodeadm-labsd/systemctl_manager.go" | cut -c1-16)" ]]; then
  log "nodeadm $full: up to date"
  exit 0
fi
log "building nodeadm at $full ($(go env GOVERSION), -mod=mod, module proxy)"
(cd "$src/nodeadm" && CGO_ENABLED=0 GOFLAGS=-mod=mod GOTOOLCHAIN=local \
  go build -trimpath -ldflags "-s -w" -o "$OUT/" ./cmd/nodeadm) >&2 || die "go build failed"
overlay=$OUT/overlay-labsd
mkdir -p "$overlay"
printf '{"Replace":{"%s":"%s"}}\n' \
  "$src/nodeadm/internal/daemon/systemd.go" "$LAB_DIR/tools/nodeadm-labsd/systemctl_manager.go" >"$overlay/overlay.json"
(cd "$src/nodeadm" && CGO_ENABLED=0 GOFLAGS=-mod=mod GOTOOLCHAIN=local \
  go build -trimpath -ldflags "-s -w" -overlay "$overlay/overlay.json" -o "$OUT/nodeadm-labsd" ./cmd/nodeadm) >&2 ||
  die "go build (labsd) failed"
printf '%s %s %s\n' "$full" "$(go env GOVERSION)" "$(sha256sum <"$LAB_DIR/tools/nodeadm-labsd/systemctl_manager.go" | cut -c1-16)" >"$stamp"
log "built $OUT/nodeadm and $OUT/nodeadm-labsd"
