# shellcheck shell=bash
# The bench's config gate: a row's settings count only when the daemon's own `config dump` reads them as the file
# writes them (SOCI 0.16.1 drops unknown and misplaced keys without a word). Each check prints what is wrong and fails,
# or prints nothing and succeeds; a failing dump, a verifier that crashes or cannot parse the dump fail it too.
# Needs REPO_DIR (dist/lab/config/main.js). test/unit/benchConfigGate.test.ts runs these functions.

# config_verify FILE DUMP [KEY.PATH...]: lab/config's verify; succeeds only when it exits 0 and reports no mismatch
config_verify() {
  local out rc=0
  out=$(node "$REPO_DIR/dist/lab/config/main.js" verify "$@" 2>&1) || rc=$?
  if ((rc == 0)) && [[ $out != *MISMATCH* ]]; then
    return 0
  fi
  echo "${out:-config verify exited $rc and printed nothing}"
  return 1
}

# soci_config_check CFG OUT: soci-snapshotter-grpc's config dump of CFG into OUT (its stderr into OUT.stderr), then
# every key of CFG must hold its value there. CONFIG_GATE_SOCI_BIN: the binary (default the node's).
soci_config_check() {
  local bin=${CONFIG_GATE_SOCI_BIN:-/usr/local/bin/soci-snapshotter-grpc}
  "$bin" --config "$1" config dump >"$2" 2>"$2.stderr" || {
    echo "config dump failed: $(tail -n 1 "$2.stderr")"
    return 1
  }
  config_verify "$1" "$2"
}

# containerd_config_check OUT KEY.PATH...: containerd's config dump into OUT holds each KEY.PATH as the config file says
containerd_config_check() {
  local out=$1 cfg=${CONFIG_GATE_CONTAINERD_CONFIG:-/etc/containerd/config.toml}
  shift
  "${CONFIG_GATE_CONTAINERD_BIN:-containerd}" --config "$cfg" config dump >"$out" 2>"$out.stderr" || {
    echo "containerd config dump failed: $(tail -n 1 "$out.stderr")"
    return 1
  }
  config_verify "$cfg" "$out" "$@"
}
