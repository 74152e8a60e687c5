#!/usr/bin/env bash
# The GC-pressure test alone (issue 11): N cold lazy pulls through CRI while containerd's garbage collector
# runs as often as it can; asserts that none degrades (lab/lib/gc-pressure.sh). Same namespaces as lab/run.sh.
# Env: LAB_GC_RUNS (20), LAB_SOCI_CONTENT_STORE=containerd (the old SOCI config: shows the failure),
#      LAB_GC_CHURNERS (2), LAB_SKIP_BUILD=1.
set -euo pipefail
export LAB_ACTION=gc-pressure
exec bash "$(dirname "${BASH_SOURCE[0]}")/run.sh" "$@"
