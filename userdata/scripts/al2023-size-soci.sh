#!/usr/bin/env bash
# soci-eks: sizes SOCI's parallelism from this node's vCPUs, for a user data document that serves many instance
# types (SOCI_EKS_TUNING=at-boot: `soci-eks userdata --karpenter` without instance flags). Sourced by
# al2023-setup-soci.sh (and so by the installer, whose functions and ERR trap it uses); in the node's files of such
# documents only. The same rules as the renderer's parallelTuning() (userdata/sociConfig.ts): downloads one per
# vCPU, 8..20 per image and twice that in total; unpacks one per vCPU, 2..12 per image and twice that in total;
# 64 MiB chunks on every size. Each key must be on exactly one line of SOCI's config. Tests: SOCI_EKS_NPROC stands
# in for nproc.
# shellcheck disable=SC2154 # ROOT comes from the installer
set -Eeuo pipefail

conf="${ROOT}/etc/soci-eks/soci-snapshotter-grpc.toml"
v="${SOCI_EKS_NPROC:-$(nproc)}"
[[ "${v}" =~ ^[1-9][0-9]*$ ]] || soci_failed bad-config "cannot count this node's vCPUs (nproc said '${v}')"
d=$((v < 8 ? 8 : v > 20 ? 20 : v))
u=$((v < 2 ? 2 : v > 12 ? 12 : v))
for kv in max_concurrent_downloads=$((d * 2)) max_concurrent_downloads_per_image=${d} max_concurrent_unpacks=$((u * 2)) \
  max_concurrent_unpacks_per_image=${u} concurrent_download_chunk_size='"64mb"'; do
  k=${kv%%=*}
  [[ "$(grep -c "^${k} = " "${conf}")" == 1 ]] || soci_failed bad-config "${conf} has no single '${k} = ' line to size"
  sed -i "s|^${k} = .*|${k} = ${kv#*=}|" "${conf}"
done
log "sized SOCI for ${v} vCPUs: ${d} downloads and ${u} unpacks per image, 64mb chunks"
