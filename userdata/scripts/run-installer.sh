#!/usr/bin/env bash
# soci-eks: the user data's shell part. cloud-final runs it after cloud-init's write_files wrote the
# installer and the node's files; the installer unpacks those files, installs and checks SOCI and applies
# onSociFailure (docs/boot-and-failures.md). The renderer sets the installer's argument to the document's
# onSociFailure (fallback or fail): the policy holds even when the node's files cannot be unpacked.
# Nothing in the user data points containerd or kubelet at SOCI: if cloud-init could not even write the
# installer, the node joins as a stock node.
# Environment (tests only): SOCI_EKS_ROOT, the throwaway root the files were written to.
set -euo pipefail
exec "${SOCI_EKS_ROOT:-}/usr/local/libexec/soci-eks/install-soci.sh" fallback
