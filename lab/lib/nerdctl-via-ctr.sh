#!/usr/bin/env bash
# Lab-only stand-in for nerdctl, used as NERDCTL_BIN when the node lab runs
# components/scripts/build-soci-index.sh. The Go module proxy here serves no nerdctl module
# (github.com/containerd/nerdctl/v2: 403), so the four nerdctl calls the script makes are
# carried out with containerd's own ctr against the same containerd and namespace:
#
#   nerdctl --address A --namespace N pull [--insecure-registry] --all-platforms --unpack=false --quiet REF
#       -> ctr images pull --all-platforms [--plain-http] REF   (content only; no unpack)
#   nerdctl ... image inspect --mode=native REF
#       -> the image's index and manifests as JSON (the script greps the layer media types)
#   nerdctl ... push [--insecure-registry] --all-platforms REF
#       -> ctr images push [--plain-http] REF                  (every platform of the index)
#   nerdctl ... rmi --force REF -> ctr images rm REF
#
# Anything else is an error, so a new nerdctl call in the script cannot pass unnoticed.
set -euo pipefail

CTR=${LAB_CTR:-ctr}
address=/run/containerd/containerd.sock
namespace=default
while [[ ${1:-} == --* ]]; do
  case $1 in
    --address) address=$2; shift 2 ;;
    --namespace) namespace=$2; shift 2 ;;
    *) echo "nerdctl-via-ctr: unsupported global flag $1" >&2; exit 2 ;;
  esac
done
ctr_ns() { "$CTR" --address "$address" --namespace "$namespace" "$@"; }

# flags FLAGS...: sets PLAIN_HTTP and REF from the subcommand's arguments
parse() {
  PLAIN_HTTP=()
  REF=
  local a
  for a in "$@"; do
    case $a in
      --insecure-registry) PLAIN_HTTP=(--plain-http) ;;
      --all-platforms | --unpack=false | --quiet | --force | --mode=native) ;;
      --*) echo "nerdctl-via-ctr: unsupported flag $a" >&2; exit 2 ;;
      *) [[ -z $REF ]] || { echo "nerdctl-via-ctr: more than one reference" >&2; exit 2; }; REF=$a ;;
    esac
  done
  [[ -n $REF ]] || { echo "nerdctl-via-ctr: no image reference" >&2; exit 2; }
}

# The JSON of a blob in the content store.
blob() { ctr_ns content get "$1"; }

inspect_native() {
  local target mt d
  read -r target mt < <(ctr_ns images ls | awk -v r="$REF" '$1 == r {print $3, $2}')
  [[ -n ${target:-} ]] || { echo "nerdctl-via-ctr: no such image: $REF" >&2; exit 1; }
  echo "{\"Index\": $(blob "$target"), \"Manifests\": ["
  if [[ $mt == *index* || $mt == *manifest.list* ]]; then
    local first=1
    for d in $(blob "$target" | python3 -c 'import json,sys; [print(m["digest"]) for m in json.load(sys.stdin)["manifests"]]'); do
      ctr_ns content get "$d" >/dev/null 2>&1 || continue # platforms not pulled
      ((first)) || echo ","
      first=0
      blob "$d"
    done
  fi
  echo "]}"
}

cmd=${1:-}
shift || true
case $cmd in
  pull) parse "$@"; ctr_ns images pull --all-platforms "${PLAIN_HTTP[@]}" "$REF" >/dev/null ;;
  push) parse "$@"; ctr_ns images push "${PLAIN_HTTP[@]}" "$REF" "$REF" >/dev/null ;;
  rmi) parse "$@"; ctr_ns images rm "$REF" >/dev/null ;;
  image)
    [[ ${1:-} == inspect ]] || { echo "nerdctl-via-ctr: unsupported: image ${1:-}" >&2; exit 2; }
    shift
    parse "$@"
    inspect_native
    ;;
  *) echo "nerdctl-via-ctr: unsupported command '$cmd'" >&2; exit 2 ;;
esac
