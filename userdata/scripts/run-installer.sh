#!/usr/bin/env bash
# soci-eks: runs the SOCI installer that the cloud-config part of this user data wrote
# (cloud-init writes files in its init stage; this part runs in cloud-final, after it).
# Environment (tests only): SOCI_EKS_ROOT, the throwaway root the installer was written to.
set -euo pipefail
exec "${SOCI_EKS_ROOT:-}/usr/local/libexec/soci-eks/install-soci.sh"
