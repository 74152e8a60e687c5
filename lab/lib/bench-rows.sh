# Sourced by lab/lib/bench-node.sh: what each bench row changes on the node, and the link conditions.
# shellcheck shell=bash
#
# Rows (BENCH_MODES picks among them; a row runs with the user data of its mode):
#   off        stock node (overlayfs, containerd's defaults: 3 downloads per image, whole-layer GETs)
#   off-tuned  stock node with containerd's own concurrency knobs: CRI max_concurrent_downloads = 20 and
#              concurrent_layer_fetch_buffer = 16 MiB (containerd >= 2.1 fetches one layer in parallel 16 MiB ranges)
#   parallel   our `sociMode: parallel` user data, tuned for this machine's vCPUs (nproc)
#   parallel-dNuM  our parallel config with N downloads and M unpacks per image (2N and 2M across images): a tuning probe
#   peer       the AL2023 AMI's own SOCI parallel setup, as nodeadm's featureGates.FastImagePull writes it
#              (20 downloads and 12 unpacks per image, 16 MiB chunks), in place of our SOCI config
#   lazy       our `sociMode: lazy` user data, the image's SOCI index with the builder's default span size
#   lazy-sN    the same with the index built with N MiB spans
#   lazy-bg    lazy with SOCI's background fetcher started at once (silence_period_msec = 0, one span per 50 ms)
#   lazy-nobg  lazy with the background fetcher off
#   lazy-pf    lazy with SOCI's prefetch on ([prefetch] enable = true) and an index whose prefetch artifacts list the
#              files the entrypoint reads (workloads that read whole files: big)
# Conditions (BENCH_CONDITIONS), applied by the lab's counting proxy in front of the registry:
#   link     BENCH_RATE (1gbit) for all connections together
#   conncap  BENCH_RATE in total, BENCH_CONN_RATE (125mbit) per connection, like an object-store-backed registry
#   ttfb     BENCH_RATE and BENCH_TTFB_MS (40) added before every registry request

# bytes_per_s RATE: 1gbit / 125mbit / 500kbit / a plain number of bytes per second
bytes_per_s() {
  case $1 in
    *gbit) echo $((${1%gbit} * 125000000)) ;;
    *mbit) echo $((${1%mbit} * 125000)) ;;
    *kbit) echo $((${1%kbit} * 125)) ;;
    *) echo "$1" ;;
  esac
}

# condition_shape COND: sets the counting proxy's shaping; prints a label for the results
condition_shape() {
  local rate conn=0 ttfb=0 label
  rate=$(bytes_per_s "${BENCH_RATE:-1gbit}")
  label="${BENCH_RATE:-1gbit} link"
  case $1 in
    link) ;;
    conncap)
      conn=$(bytes_per_s "${BENCH_CONN_RATE:-125mbit}")
      label="${BENCH_RATE:-1gbit} link, ${BENCH_CONN_RATE:-125mbit} per connection"
      ;;
    ttfb)
      ttfb=${BENCH_TTFB_MS:-40}
      label="${BENCH_RATE:-1gbit} link, +$ttfb ms to first byte per request"
      ;;
    *)
      log "unknown condition $1 (want link, conncap or ttfb)"
      return 1
      ;;
  esac
  curl -fsS -X POST "http://$PULL_REGISTRY/__lab/shape?rate=$rate&conn_rate=$conn&ttfb_ms=$ttfb" >/dev/null || return 1
  # shellcheck disable=SC2034 # read by bench-node.sh
  COND_RATE=$rate COND_CONN_RATE=$conn COND_TTFB_MS=$ttfb COND_LABEL=$label
}

# row_mode ROW: the user-data mode of a row
row_mode() {
  case $1 in
    off | off-tuned) echo off ;;
    parallel | parallel-d*u* | peer) echo parallel ;;
    lazy | lazy-*) echo lazy ;;
    *) return 1 ;;
  esac
}

# row_index ROW: the index a lazy row pulls: <span MiB>, or <span MiB>-pf with prefetch artifacts
row_index() {
  if [[ $1 =~ ^lazy-s([0-9]+)$ ]]; then
    echo "${BASH_REMATCH[1]}"
  elif [[ $1 == lazy-pf ]]; then
    echo "$DEFAULT_SPAN_MIB-pf"
  else
    echo "$DEFAULT_SPAN_MIB"
  fi
}

# row_label ROW: what the results table calls a row
row_label() {
  case $1 in
    off) echo "stock overlayfs" ;;
    off-tuned) echo "stock + containerd knobs (20 downloads, 16 MiB ranges)" ;;
    parallel) echo "soci parallel (ours, ${TUNE_VCPUS} vCPU tuning)" ;;
    parallel-d*u*) echo "soci parallel, ${1#parallel-d} downloads/unpacks per image" | sed 's#u\([0-9]*\) downloads#/\1 downloads#' ;;
    peer) echo "soci parallel (AMI FastImagePull: 20/12, 16 MiB)" ;;
    lazy) echo "soci lazy (${DEFAULT_SPAN_MIB} MiB spans)" ;;
    lazy-s*) echo "soci lazy (${1#lazy-s} MiB spans)" ;;
    lazy-bg) echo "soci lazy, background fetch at once" ;;
    lazy-nobg) echo "soci lazy, background fetch off" ;;
    lazy-pf) echo "soci lazy, prefetch of the files read" ;;
  esac
}

# row_apply ROW: changes the applied user data's files for ROW (before the daemons start)
row_apply() {
  local cfg=/etc/soci-eks/soci-snapshotter-grpc.toml
  case $1 in
    off-tuned)
      python3 - /etc/containerd/config.toml <<'PY'
import re, sys
path = sys.argv[1]
text = open(path).read()
new, n = re.subn(r"(?m)^(\[plugins\.['\"]io\.containerd\.cri\.v1\.images['\"]\]\n)",
                 r"\1max_concurrent_downloads = 20\nconcurrent_layer_fetch_buffer = 16777216\n", text, count=1)
if n != 1:
    sys.exit("no [plugins.'io.containerd.cri.v1.images'] table in " + path)
open(path, "w").write(new)
PY
      ;;
    peer)
      # The AMI's SOCI config (nodeadm internal/containerd, FastImagePull; shared/research/soci-details.md), at the path
      # our unit reads. Its metrics are left off, as on the AMI.
      cat >"$cfg" <<'EOF'
# The AL2023 AMI's FastImagePull SOCI config (lab bench peer row)
[content_store]
type = "containerd"

[cri_keychain]
enable_keychain = true

[pull_modes.parallel_pull_unpack]
enable = true
concurrent_download_chunk_size = "16mb"
discard_unpacked_layers = true
max_concurrent_downloads = -1
max_concurrent_downloads_per_image = 20
max_concurrent_unpacks = -1
max_concurrent_unpacks_per_image = 12

[pull_modes.parallel_pull_unpack.decompress_streams.gzip]
path = "/usr/bin/unpigz"
args = ["-d", "-c"]
EOF
      ;;
    parallel-d*u*)
      [[ $1 =~ ^parallel-d([0-9]+)u([0-9]+)$ ]] || return 1
      sed -i -E "s/^max_concurrent_downloads_per_image = .*/max_concurrent_downloads_per_image = ${BASH_REMATCH[1]}/;
        s/^max_concurrent_downloads = .*/max_concurrent_downloads = $((BASH_REMATCH[1] * 2))/;
        s/^max_concurrent_unpacks_per_image = .*/max_concurrent_unpacks_per_image = ${BASH_REMATCH[2]}/;
        s/^max_concurrent_unpacks = .*/max_concurrent_unpacks = $((BASH_REMATCH[2] * 2))/" "$cfg"
      grep -q "^max_concurrent_downloads_per_image = ${BASH_REMATCH[1]}$" "$cfg" || return 1
      ;;
    lazy-bg) printf '\n[background_fetch]\nsilence_period_msec = 0\nfetch_period_msec = 50\n' >>"$cfg" ;;
    lazy-nobg) printf '\n[background_fetch]\ndisable = true\n' >>"$cfg" ;;
    lazy-pf) grep -q '^\[prefetch\]' "$cfg" || printf '\n[prefetch]\nenable = true\n' >>"$cfg" ;;
  esac
}
