#!/usr/bin/env bash
# Pull-to-ready benchmark on real node software (npm run bench). Same namespaces and user-data
# path as lab/run.sh, then a >= 1 GB image of 9 layers behind a tbf-shaped loopback:
# stock overlayfs vs SOCI parallel vs SOCI lazy, N runs each. Writes JSON + Markdown to lab/results/.
# Env: BENCH_RUNS (3), BENCH_MODES ("off parallel lazy"), BENCH_RATE (1gbit, tc tbf rate), BENCH_LAYER_MIB (120), BENCH_FILES (4),
#      BENCH_FRAC (0.06), LAB_SKIP_BUILD=1. A lazy run that was not lazy is degraded and failed (exit 1).
set -euo pipefail
export LAB_ACTION=bench
exec bash "$(dirname "${BASH_SOURCE[0]}")/run.sh" "$@"
