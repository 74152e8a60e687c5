#!/usr/bin/env bash
# Pull-to-ready benchmark on real node software (npm run bench). Same namespaces and user-data
# path as lab/run.sh; conditions x workloads x rows (stock, stock with containerd's knobs, SOCI parallel, the AMI's
# FastImagePull peer, SOCI lazy and its variants) behind a link shaped by the lab's counting proxy, N cold runs each.
# Writes JSON + Markdown + SVG to lab/results/ (lab/README.md, "Benchmark").
# Env: BENCH_RUNS (3), BENCH_WORKLOADS ("ref big"), BENCH_CONDITIONS ("link"), BENCH_MODES (rows; all), BENCH_PLAN,
#      BENCH_RATE (1gbit), BENCH_CONN_RATE (125mbit), BENCH_TTFB_MS (40), BENCH_SPANS ("4 2 1"), BENCH_LAYER_MIB (120),
#      BENCH_FILES (4), BENCH_FRAC (0.06), BENCH_RECORD_SECONDS (30), BENCH_RECORD_TIMEOUT (900), LAB_SKIP_BUILD=1,
#      BENCH_DRY=1 (check and list the plan, run nothing), BENCH_CONFIG_ONLY=1 (every row's configs through the
#      config-dump gate, no pulls). A lazy run that was not lazy is degraded and failed (exit 1).
set -euo pipefail
export LAB_ACTION=bench
exec bash "$(dirname "${BASH_SOURCE[0]}")/run.sh" "$@"
