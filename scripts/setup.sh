#!/usr/bin/env bash
# Makes this machine ready for `npm test` (profile "test", run as npm's pretest), for the node lab
# (profile "lab", run as npm's prelab and prebench) or for the consumer test (profile "consumer", run as
# npm's pretest:consumer). Safe to run any number of times.
#
#  - Debian packages the tests (or the lab) need: as root with apt-get, the missing ones are installed
#    (one `apt-get update` per hour at most, then one `apt-get install`); otherwise the script prints
#    exactly which are missing and the command that installs them, and exits 1.
#  - node_modules: `npm ci` when it is missing or differs from package-lock.json.
#  - test: Go >= 1.24 (on PATH or in /usr/local/go), to build lab/.bin/karpenter-merge (Karpenter's own
#    bootstrap code, from the Go module proxy; its go.mod asks for the go1.26.11 toolchain, which the go command
#    fetches from the proxy) unless it is up to date: the size tests merge every document with it.
#  - lab: Go >= 1.24 (on PATH or in /usr/local/go) unless LAB_SKIP_BUILD=1, and root.
#  - consumer: git (the test installs the package from git), and Node.js 22 for the high end of the
#    @pulumi/pulumi range (3.249 and newer need Node 22): `npm ci` in test/consumer/node22, whose lockfile
#    pins the npm registry's package of the official Node.js build for this platform, with its integrity.
#
# Usage: scripts/setup.sh [--check] test|lab|consumer
#   --check  report what is missing and exit 1 if anything is; install nothing
# Env: SOCI_EKS_SKIP_SETUP=1 skips everything (e.g. a non-Debian machine with the tools installed
#      another way that this script cannot recognise).
set -euo pipefail

REPO_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
APT_STAMP=${SOCI_EKS_APT_STAMP:-/tmp/soci-eks-apt-update.stamp}
GO_MIN_MINOR=24 # Go 1.24

log() { printf 'setup: %s\n' "$*" >&2; }

CHECK_ONLY=0
if [[ ${1:-} == --check ]]; then
  CHECK_ONLY=1
  shift
fi
PROFILE=${1:-test}
case "$PROFILE" in
  test | lab | consumer) ;;
  *) log "unknown profile '$PROFILE' (use test, lab or consumer)"; exit 2 ;;
esac

if [[ ${SOCI_EKS_SKIP_SETUP:-0} == 1 ]]; then
  log "SOCI_EKS_SKIP_SETUP=1: not checking packages, toolchain or node_modules"
  exit 0
fi

# package|check|why. check is cmd:NAME (on PATH, sbin included), file:PATH or py:MODULE (Debian's python3).
TEST_NEEDS=(
  "shellcheck|cmd:shellcheck|lints every shell script (npm run lint:sh)"
  "cloud-init|py:cloudinit|Debian's cloud-init parses the rendered user data"
  "jq|cmd:jq|the node installer writes root's Docker config with it"
  "pigz|cmd:unpigz|the node installer requires it (SOCI decompresses layers with it)"
  "fuse3|cmd:fusermount3|lazy mode's FUSE mounts"
  "amazon-ecr-credential-helper|cmd:docker-credential-ecr-login|the node installer wires it into root's Docker config"
  "curl|cmd:curl|the node installer downloads the release with it"
  "ca-certificates|file:/etc/ssl/certs/ca-certificates.crt|TLS to the npm registry"
)
LAB_NEEDS=(
  "runc|cmd:runc|containerd runs the lab's containers with it"
  "skopeo|cmd:skopeo|copies images into the lab's registry"
  "iproute2|cmd:ip|the lab's network namespace and its tc rate limit"
  "util-linux|cmd:nsenter|enters the lab's namespaces"
  "gcc|cmd:gcc|cgo for soci-snapshotter and containerd"
  "libc6-dev|file:/usr/include/stdio.h|cgo headers"
  "zlib1g-dev|file:/usr/include/zlib.h|soci-snapshotter's zTOC code links zlib"
  "mdadm|cmd:mdadm|the SSD array (RAID0) on a kernel with md"
  "xfsprogs|cmd:mkfs.xfs|the SSD array's filesystem"
  "python3|cmd:python3|the lab's helpers"
)

CONSUMER_NEEDS=(
  "git|cmd:git|the consumer test installs the package from git (git+file://), as npm does from a git URL"
  "ca-certificates|file:/etc/ssl/certs/ca-certificates.crt|TLS to the npm registry"
)

present() { # CHECK
  local kind=${1%%:*} arg=${1#*:}
  case "$kind" in
    cmd) PATH=$PATH:/usr/local/sbin:/usr/sbin:/sbin command -v "$arg" >/dev/null 2>&1 ;;
    file) [[ -e $arg ]] ;;
    py) [[ -x /usr/bin/python3 ]] && /usr/bin/python3 -c "import $arg" >/dev/null 2>&1 ;;
    *) log "internal error: unknown check '$1'"; exit 2 ;;
  esac
}

case "$PROFILE" in
  test) needs=("${TEST_NEEDS[@]}") ;;
  lab) needs=("${TEST_NEEDS[@]}" "${LAB_NEEDS[@]}") ;;
  consumer) needs=("${CONSUMER_NEEDS[@]}") ;;
esac

missing=()
reasons=()
for entry in "${needs[@]}"; do
  IFS='|' read -r pkg check why <<<"$entry"
  if ! present "$check"; then
    missing+=("$pkg")
    reasons+=("$(printf '  %-30s %s' "$pkg" "$why")")
  fi
done

is_root() { [[ $(id -u) == 0 ]]; }

# Go >= 1.24: the test profile builds the Karpenter merge program, the lab its node software (unless LAB_SKIP_BUILD=1).
go_problem() {
  local go_bin go_version
  go_bin=$(command -v go || true)
  [[ -z $go_bin && -x /usr/local/go/bin/go ]] && go_bin=/usr/local/go/bin/go
  go_version=""
  [[ -n $go_bin ]] && go_version=$("$go_bin" env GOVERSION 2>/dev/null || true)
  if [[ $go_version =~ ^go1\.([0-9]+) ]] && ((BASH_REMATCH[1] >= GO_MIN_MINOR)); then
    log "Go: $go_version ($go_bin)"
    return 0
  fi
  printf '%s\n' "$1 needs Go >= 1.$GO_MIN_MINOR; found: ${go_version:-no Go (not on PATH, not in /usr/local/go)}.
  Debian bookworm's golang-go is 1.19, too old. Install an official release (1.$GO_MIN_MINOR or newer) from
  https://go.dev/dl/ into /usr/local/go:  sudo tar -C /usr/local -xzf go1.N.P.linux-amd64.tar.gz"
  return 1
}

# The lab's own needs: root, and Go >= 1.24 unless the binaries are already built; the tests' need: Go.
lab_problems=()
if [[ $PROFILE == lab ]]; then
  is_root || lab_problems+=("the lab must run as root (network namespaces, mounts, FUSE): sudo npm run lab")
  if [[ ${LAB_SKIP_BUILD:-0} != 1 ]]; then
    why=$(go_problem "the lab builds its node software from source and") || lab_problems+=("$why
  or run with LAB_SKIP_BUILD=1 if lab/.bin already holds the binaries.")
  fi
elif [[ $PROFILE == test ]]; then
  why=$(go_problem "npm test builds Karpenter's own merge code (lab/tools/karpenter-merge) and") || lab_problems+=("$why")
fi

report_lab_problems() {
  local p
  for p in "${lab_problems[@]}"; do log "$p"; done
  ((${#lab_problems[@]} == 0))
}

if ((${#missing[@]})); then
  if ((CHECK_ONLY)) || ! is_root || ! command -v apt-get >/dev/null 2>&1; then
    printf 'setup: missing for the %s profile (Debian package, what needs it):\n' "$PROFILE" >&2
    printf '%s\n' "${reasons[@]}" >&2
    if command -v apt-get >/dev/null 2>&1; then
      printf 'setup: install them, then run the command again:\n  sudo apt-get update && sudo apt-get install -y --no-install-recommends %s\n' "${missing[*]}" >&2
    else
      printf 'setup: this is not a Debian machine (no apt-get): install the equivalent packages, or set SOCI_EKS_SKIP_SETUP=1 if they are there under other names.\n' >&2
    fi
    report_lab_problems || true
    exit 1
  fi
  report_lab_problems || exit 1
  export DEBIAN_FRONTEND=noninteractive
  if [[ -z $(find "$APT_STAMP" -mmin -60 2>/dev/null) ]]; then
    log "apt-get update"
    apt-get update -qq
    touch "$APT_STAMP"
  fi
  log "apt-get install ${missing[*]}"
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  for entry in "${needs[@]}"; do
    IFS='|' read -r pkg check _ <<<"$entry"
    present "$check" || { log "ERROR: $pkg is installed but its check ($check) still fails"; exit 1; }
  done
else
  log "Debian packages for the $PROFILE profile: all present"
  report_lab_problems || exit 1
fi

# The consumer test's Node.js 22: the package for this platform from test/consumer/node22's lockfile.
NODE22_DIR=$REPO_DIR/test/consumer/node22
NODE22_PKG=node-$(node -p 'process.platform + "-" + process.arch')
node22_problem() { # prints why the locked Node 22 is not usable here; nothing when it is
  if ! node -e 'process.exit(require(process.argv[1]).packages["node_modules/" + process.argv[2]] ? 0 : 1)' "$NODE22_DIR/package-lock.json" "$NODE22_PKG"; then
    echo "no $NODE22_PKG in test/consumer/node22/package-lock.json (Node 22 is locked for linux-x64 and linux-arm64 only)"
  elif [[ ! -x $NODE22_DIR/node_modules/$NODE22_PKG/bin/node ]]; then
    echo "test/consumer/node22/node_modules/$NODE22_PKG/bin/node is missing"
  else
    node "$REPO_DIR/scripts/node-modules-current.js" "$NODE22_DIR" || true
  fi
}

if ((CHECK_ONLY)); then
  node "$REPO_DIR/scripts/node-modules-current.js" "$REPO_DIR" >&2 || exit 1
  if [[ $PROFILE == consumer ]]; then
    problem=$(node22_problem)
    [[ -z $problem ]] || { log "Node 22 for the consumer test: $problem"; exit 1; }
  fi
  exit 0
fi

if ! reason=$(node "$REPO_DIR/scripts/node-modules-current.js" "$REPO_DIR"); then
  log "npm ci ($reason)"
  (cd "$REPO_DIR" && npm ci --ignore-scripts --no-audit --no-fund)
else
  log "node_modules matches package-lock.json"
fi

if [[ $PROFILE == consumer ]]; then
  problem=$(node22_problem)
  if [[ $problem == "no "* ]]; then
    log "Node 22 for the consumer test: $problem; test/consumer/run.sh will skip the high end and say why"
  elif [[ -n $problem ]]; then
    log "Node 22 for the consumer test: npm ci in test/consumer/node22 ($problem)"
    (cd "$NODE22_DIR" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
    problem=$(node22_problem)
    [[ -z $problem ]] || { log "ERROR: Node 22 is still not usable after npm ci: $problem"; exit 1; }
  fi
  [[ -n $problem ]] || log "Node 22 for the consumer test: $("$NODE22_DIR/node_modules/$NODE22_PKG/bin/node" --version)"
fi
if [[ $PROFILE == test ]]; then
  # Karpenter's own bootstrap code, for the size and merge tests (rebuilt only when lab/tools/karpenter-merge changes).
  LAB_SKIP_APT=1 bash "$REPO_DIR/lab/build-tools.sh" karpenter-merge || { log "ERROR: could not build lab/.bin/karpenter-merge (see above)"; exit 1; }
fi
log "ready for the $PROFILE profile (${SECONDS} s)"
