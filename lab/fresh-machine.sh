#!/usr/bin/env bash
# Proves the README's one command (`npm test`) on a fresh Debian machine.
#
# Builds a clean Debian 12 root with `debootstrap --variant=minbase bookworm`, adds only what this
# machine kind's image provides (see /work/shared/research/findings-2026-11-30.md, "A fresh machine,
# emulated"): the nodejs package's files and the global npm, Go in /usr/local/go (bind mount,
# read-only), the image's CA bundle, apt sources, npm and Go settings, jq, iproute2 and curl, and the
# image's environment. It clones this repository's committed HEAD (or --ref) into the root and runs the
# README command there, as root, in a chroot with /proc, /sys, /dev, /dev/pts and /run bound. Nothing
# else is installed beforehand: shellcheck, cloud-init, pigz, fuse3, amazon-ecr-credential-helper and
# node_modules must come from `npm test` itself. Every mount is undone and the root removed on exit.
#
# Not run by CI (it downloads a Debian base system and every npm package: minutes, not seconds).
# Usage: lab/fresh-machine.sh [--ref REF] [--keep] [--lab-setup] [-- COMMAND...]
#   --ref REF     what to clone (default HEAD of this checkout)
#   --keep        leave the root in place (mounts are still undone)
#   --lab-setup   then also run `bash scripts/setup.sh lab` (the lab's packages and Go check)
#   COMMAND       what to run in the clone instead of `npm test`
# Output: timings per step and the command's output; exit status of the command.
# shellcheck disable=SC2317 # the functions below run through step() and the EXIT trap
set -euo pipefail

LAB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(cd "$LAB_DIR/.." && pwd)
REF=HEAD
KEEP=0
LAB_SETUP=0
COMMAND=(npm test)
while (($#)); do
  case "$1" in
    --ref) REF=$2; shift 2 ;;
    --keep) KEEP=1; shift ;;
    --lab-setup) LAB_SETUP=1; shift ;;
    --) shift; COMMAND=("$@"); break ;;
    *) echo "usage: $0 [--ref REF] [--keep] [--lab-setup] [-- COMMAND...]" >&2; exit 2 ;;
  esac
done

log() { printf '[fresh %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
[[ $(id -u) == 0 ]] || { echo "fresh-machine.sh must run as root (debootstrap, chroot, mounts)" >&2; exit 2; }

MIRROR=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
MIRROR=${MIRROR:-http://deb.debian.org/debian}
WORK=$(mktemp -d /var/tmp/soci-eks-fresh.XXXXXX)
ROOT=$WORK/root
MOUNTS=()

cleanup() {
  local rc=$? i
  trap - EXIT INT TERM
  for ((i = ${#MOUNTS[@]} - 1; i >= 0; i--)); do
    umount "${MOUNTS[i]}" 2>/dev/null || umount -l "${MOUNTS[i]}" || log "WARNING: could not unmount ${MOUNTS[i]}"
  done
  if grep -q " $WORK" /proc/self/mountinfo; then
    log "WARNING: still mounted under $WORK, not removing it:"
    grep " $WORK" /proc/self/mountinfo >&2 || true
  elif ((KEEP)); then
    log "kept $ROOT (nothing mounted)"
  else
    rm -rf "$WORK"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

bind() { # SRC DEST [ro]
  mkdir -p "$2"
  mount --bind "$1" "$2"
  MOUNTS+=("$2")
  [[ ${3:-} == ro ]] && mount -o remount,bind,ro "$2"
  return 0
}

step() { # NAME COMMAND...: runs and times one step
  local name=$1 t0=$SECONDS rc=0
  shift
  log "$name"
  "$@" || rc=$?
  log "$name: $((SECONDS - t0)) s (exit $rc)"
  TIMINGS+=("$(printf '%-40s %4d s  exit %d' "$name" $((SECONDS - t0)) "$rc")")
  return "$rc"
}
TIMINGS=()

command -v debootstrap >/dev/null 2>&1 || step "apt-get install debootstrap" apt-get install -y -qq debootstrap >/dev/null

step "debootstrap minbase bookworm" debootstrap --variant=minbase bookworm "$ROOT" "$MIRROR" >"$WORK/debootstrap.log"

add_image_files() {
  # node and npm as the image has them (nodesource's nodejs package, npm updated globally)
  dpkg -L nodejs | while read -r f; do [[ -f $f || -L $f ]] && printf '%s\n' "${f#/}"; done >"$WORK/nodejs.files"
  tar -C / --no-recursion -cf - -T "$WORK/nodejs.files" | tar -C "$ROOT" -xf -
  tar -C / -cf - usr/lib/node_modules usr/bin/npm usr/bin/npx | tar -C "$ROOT" -xf -
  # the image's CA bundle, apt sources and npm/Go settings
  mkdir -p "$ROOT/etc/ssl/certs"
  cp /etc/ssl/certs/ca-certificates.crt "$ROOT/etc/ssl/certs/"
  mkdir -p "$ROOT/usr/local/share" "$ROOT/root/.config"
  cp -a /usr/local/share/ca-certificates "$ROOT/usr/local/share/" 2>/dev/null || true
  rm -f "$ROOT/etc/apt/sources.list"
  cp /etc/apt/sources.list.d/debian.sources "$ROOT/etc/apt/sources.list.d/"
  cp /root/.npmrc "$ROOT/root/.npmrc"
  cp -a /root/.config/go "$ROOT/root/.config/go"
  cp /etc/resolv.conf "$ROOT/etc/resolv.conf"
}
step "add what the image provides" add_image_files

mount_all() {
  bind /proc "$ROOT/proc"
  bind /sys "$ROOT/sys"
  bind /dev "$ROOT/dev"
  bind /dev/pts "$ROOT/dev/pts"
  bind /run "$ROOT/run"
  bind /usr/local/go "$ROOT/usr/local/go" ro
}
step "bind mounts" mount_all

# The image's environment (no pyenv, cargo or other extras: they are not what the tests rely on).
ENV=(HOME=/root LANG=C.UTF-8 TERM=dumb CI=true DEBIAN_FRONTEND=noninteractive
  PATH=/usr/local/go/bin:/root/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
  SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt SSL_CERT_DIR=/etc/ssl/certs
  NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt CURL_CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt)
in_root() { chroot "$ROOT" /usr/bin/env -i "${ENV[@]}" "$@"; }

step "image packages: jq iproute2 curl" in_root bash -c \
  'apt-get update -qq && apt-get install -y -qq --no-install-recommends jq iproute2 curl >/dev/null'

# The machine must really lack what npm test is supposed to install.
for c in shellcheck unpigz fusermount3 docker-credential-ecr-login runc skopeo; do
  if in_root bash -c "command -v $c" >/dev/null; then log "ERROR: $c is already in the fresh root"; exit 1; fi
done
in_root /usr/bin/python3 -c 'import cloudinit' 2>/dev/null && { log "ERROR: cloud-init is already in the fresh root"; exit 1; }
node_version=$(in_root node --version)
npm_version=$(in_root npm --version)
go_version=$(in_root go version)
log "fresh root: node $node_version, npm $npm_version, $go_version"

COMMIT=$(git -C "$REPO_DIR" rev-parse "$REF")
step "git clone $COMMIT" git clone -q --no-local --no-checkout "$REPO_DIR" "$ROOT/work/soci-eks"
git -C "$ROOT/work/soci-eks" checkout -q --detach "$COMMIT"

rc=0
step "run: ${COMMAND[*]}" in_root bash -c 'cd /work/soci-eks && "$@"' run "${COMMAND[@]}" || rc=$?
lab_rc=0
if ((LAB_SETUP)); then
  step "run: bash scripts/setup.sh lab" in_root bash -c 'cd /work/soci-eks && bash scripts/setup.sh lab' || lab_rc=$?
fi

log "timings:"
printf '  %s\n' "${TIMINGS[@]}" >&2
log "exit status of '${COMMAND[*]}': $rc"
((LAB_SETUP)) && log "exit status of 'bash scripts/setup.sh lab': $lab_rc"
((rc == 0)) || exit "$rc"
exit "$lab_rc"
