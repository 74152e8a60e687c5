#!/usr/bin/env bash
# soci-eks: unpacks the node's files that the cloud-config part of this user data wrote as one archive
# (cloud-init writes files in its init stage; this part runs in cloud-final, after it), then runs the installer.
# Unpacking replaces files of the same name, symlinks included, and is safe to repeat.
# Environment (tests only): SOCI_EKS_ROOT, the throwaway root the files were written to.
set -euo pipefail
root="${SOCI_EKS_ROOT:-}"
bundle="${root}/usr/local/libexec/soci-eks/node-files.tar.gz"
if ! tar --extract --gzip --file "${bundle}" --directory "${root}/" --no-same-owner --touch --no-overwrite-dir; then
  echo "soci-eks: could not unpack ${bundle}; SOCI is not installed" >&2
  logger -t soci-eks -- "could not unpack ${bundle}; SOCI is not installed" 2>/dev/null || true
  exit 1
fi
exec "${root}/usr/local/libexec/soci-eks/install-soci.sh"
