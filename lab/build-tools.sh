#!/usr/bin/env bash
# Builds the real node software the lab runs (soci-snapshotter, containerd, a registry,
# crictl, nodeadm, an IMDS mock) plus the lab's own small Go helpers into lab/.bin/.
#
# Every third-party binary comes from a wrapper module under lab/tools/<name>/ whose
# go.mod/go.sum pin the exact versions (see lab/README.md). A binary is rebuilt only
# when its stamp (hash of the module's go.mod, go.sum and .go files, the Go version and
# the build flags) differs from lab/.bin/.stamps/<binary>. Logs go to stderr.
#
# Usage: lab/build-tools.sh [name...]   (names: soci containerd registry crictl nodeadm imds-mock labtools nodeadm-sim karpenter-merge
#        soci-eks-prefetch)
#        lab/build-tools.sh --check [name...]   needs no Go: exit 1 if a binary in lab/.bin was built from other
#        module files or flags than the checkout now holds (lab/run.sh runs it when LAB_SKIP_BUILD=1); a missing binary
#        is only listed (the sections that need it say so)
set -euo pipefail

LAB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BIN_DIR=${LAB_BIN_DIR:-$LAB_DIR/.bin}
STAMP_DIR=$BIN_DIR/.stamps
TOOLS_DIR=$LAB_DIR/tools

log() { printf '[build-tools %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# --- apt packages the lab needs (installed only if missing) ---
APT_PACKAGES=(runc fuse3 skopeo iproute2 zlib1g-dev jq shellcheck gcc libc6-dev util-linux python3)
ensure_apt() {
  local missing=() p
  for p in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  if ((${#missing[@]})); then
    log "apt-get install ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2 \
      || { log "apt-get install failed; trying apt-get update first"; apt-get update -qq >&2;
           DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2; }
  else
    log "apt packages present: ${APT_PACKAGES[*]}"
  fi
}

find_go() {
  command -v go >/dev/null 2>&1 || { [[ -x /usr/local/go/bin/go ]] && PATH=/usr/local/go/bin:$PATH; }
  command -v go >/dev/null 2>&1 || die "go not found (need Go >= 1.24 on PATH or in /usr/local/go)"
}

# Only the wrapper modules' go.sum decides what is built. cri-tools v1.34.0 and its
# k8s.io/*-rc.2 dependencies are not in sum.golang.org (lookup 404), so the checksum
# database is skipped for them; go.sum committed in lab/tools/crictl still pins their hashes.
export GONOSUMDB=${GONOSUMDB:-sigs.k8s.io/cri-tools,k8s.io/cri-client,k8s.io/cri-api,k8s.io}
export GOFLAGS="-mod=readonly -buildvcs=false"
export GOTOOLCHAIN=local

GO_VERSION=

# name|cgo|packages (space separated)|binaries produced|extra -ldflags (version stamps, as upstream Makefiles set them)
#   |module directory relative to the repository (default lab/tools/<name>)
TARGETS=(
  "soci|1|github.com/awslabs/soci-snapshotter/cmd/soci github.com/awslabs/soci-snapshotter/cmd/soci-snapshotter-grpc|soci soci-snapshotter-grpc|-X github.com/awslabs/soci-snapshotter/version.Version=v0.16.1 -X github.com/awslabs/soci-snapshotter/version.Revision=61147fe7c929"
  "containerd|1|github.com/containerd/containerd/v2/cmd/containerd github.com/containerd/containerd/v2/cmd/ctr github.com/containerd/containerd/v2/cmd/containerd-shim-runc-v2|containerd ctr containerd-shim-runc-v2|-X github.com/containerd/containerd/v2/version.Version=v2.2.4"
  "registry|0|github.com/distribution/distribution/v3/cmd/registry|registry"
  "crictl|0|sigs.k8s.io/cri-tools/cmd/crictl|crictl"
  "nodeadm|0|github.com/awslabs/amazon-eks-ami/nodeadm/cmd/nodeadm|nodeadm"
  "imds-mock|0|github.com/aws/amazon-ec2-metadata-mock/cmd/ec2-metadata-mock|ec2-metadata-mock"
  "labtools|0|./cmd/mkimage ./cmd/labentry ./cmd/labpause ./cmd/countproxy|mkimage labentry labpause countproxy"
  "nodeadm-sim|0|.|nodeadm-sim"
  "karpenter-merge|0|.|karpenter-merge"
  "soci-eks-prefetch|1|.|soci-eks-prefetch||tools/soci-eks-prefetch"
)

# toolchain_for DIR: `local`, or go<version> when the wrapper's go.mod needs a newer Go than this one
# (karpenter-provider-aws v1.15.2 needs go 1.26.11; the go command fetches that toolchain from the module proxy).
toolchain_for() {
  local want have=${GO_VERSION#go}
  want=$(awk '$1 == "go" { print $2; exit }' "$1/go.mod")
  if [[ $(printf '%s\n%s\n' "$want" "$have" | sort -V | tail -n 1) == "$have" ]]; then echo local; else echo "go$want"; fi
}

# sources_of DIR CGO LDFLAGS: what a binary is built from, except the Go version (so it can be checked without Go)
sources_of() {
  local dir=$1 cgo=$2 ldflags=$3
  {
    echo "cgo=$cgo flags=-trimpath ldflags=-s -w $ldflags"
    find "$dir" -type f \( -name go.mod -o -name go.sum -o -name '*.go' \) -print0 | LC_ALL=C sort -z | xargs -0 sha256sum | sed "s#$dir/##"
  } | sha256sum | cut -d' ' -f1
}

# A binary's stamp file: line 1 the full stamp (Go version and sources), line 2 `sources=` for --check.
stamp_of() { # dir cgo ldflags
  printf 'go=%s sources=%s\n' "$GO_VERSION" "$(sources_of "$@")" | sha256sum | cut -d' ' -f1
}

# target_fields SPEC: sets name cgo pkgs bins ldflags dir (the caller declares them local)
target_fields() {
  local moddir
  IFS='|' read -r name cgo pkgs bins ldflags moddir <<<"$1"
  dir=$TOOLS_DIR/$name
  [[ -z $moddir ]] || dir=$LAB_DIR/../$moddir
  [[ -f $dir/go.mod ]] || die "missing $dir/go.mod"
}

build_target() {
  local spec=$1 name cgo pkgs bins ldflags dir stamp b need=0 t0
  target_fields "$spec"
  stamp=$(stamp_of "$dir" "$cgo" "$ldflags")
  for b in $bins; do
    if [[ ! -x $BIN_DIR/$b || "$(head -n 1 "$STAMP_DIR/$b" 2>/dev/null)" != "$stamp" ]]; then need=1; fi
  done
  if ((need == 0)); then
    log "$name: up to date ($bins)"
    return 0
  fi
  log "$name: building $bins (CGO_ENABLED=$cgo, GOTOOLCHAIN=$(toolchain_for "$dir"))"
  t0=$SECONDS
  # shellcheck disable=SC2086 # pkgs is a space-separated list on purpose
  (cd "$dir" && GOTOOLCHAIN=$(toolchain_for "$dir") CGO_ENABLED=$cgo go build -trimpath -ldflags "-s -w $ldflags" -o "$BIN_DIR/" $pkgs) >&2 \
    || die "$name: go build failed"
  for b in $bins; do
    [[ -x $BIN_DIR/$b ]] || die "$name: $b not produced"
    printf '%s\nsources=%s\n' "$stamp" "$(sources_of "$dir" "$cgo" "$ldflags")" >"$STAMP_DIR/$b"
  done
  log "$name: built in $((SECONDS - t0))s"
}

# check_target SPEC: 1 if a binary of it in $BIN_DIR was built from other sources or flags than the checkout holds
check_target() {
  local spec=$1 name cgo pkgs bins ldflags dir sources b rc=0
  target_fields "$spec"
  sources=$(sources_of "$dir" "$cgo" "$ldflags")
  for b in $bins; do
    if [[ ! -x $BIN_DIR/$b ]]; then
      log "$name: $b is not in $BIN_DIR (a section that needs it will say so)"
    elif [[ "$(sed -n 2p "$STAMP_DIR/$b" 2>/dev/null)" != "sources=$sources" ]]; then
      log "$name: $BIN_DIR/$b was built from other sources than ${dir#"$LAB_DIR/../"} holds now: rebuild it with lab/build-tools.sh $name (or run without LAB_SKIP_BUILD=1)"
      rc=1
    fi
  done
  return "$rc"
}

main() {
  local check=0
  if [[ ${1:-} == --check ]]; then check=1; shift; fi
  local want=("$@") spec name t0=$SECONDS stale=0
  for name in "${want[@]}"; do
    [[ " ${TARGETS[*]%%|*} " == *" $name "* ]] || die "unknown target '$name' (targets: ${TARGETS[*]%%|*})"
  done
  if ((check == 0)); then
    find_go
    GO_VERSION=$(go env GOVERSION)
    mkdir -p "$BIN_DIR" "$STAMP_DIR"
    if [[ ${LAB_SKIP_APT:-0} != 1 ]]; then ensure_apt; fi
  fi
  for spec in "${TARGETS[@]}"; do
    name=${spec%%|*}
    if ((${#want[@]})) && [[ " ${want[*]} " != *" $name "* ]]; then continue; fi
    if ((check)); then check_target "$spec" || stale=1; else build_target "$spec"; fi
  done
  if ((check)); then
    ((stale == 0)) || die "lab/.bin does not match this checkout (above)"
    log "binaries in $BIN_DIR match this checkout"
  else
    log "all done in $((SECONDS - t0))s; binaries in $BIN_DIR"
  fi
}

main "$@"
