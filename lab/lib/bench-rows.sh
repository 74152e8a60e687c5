# Sourced by lab/lib/bench-node.sh: what each bench row changes on the node, and the link conditions.
# shellcheck shell=bash
#
# Rows (BENCH_MODES picks among them; a row runs with the user data of its mode). A row's changes to our SOCI config
# are edits made with the lab's config editor (lab/config: parse the TOML, set the key at its path, write it back), and
# every run checks the whole edited file against soci-snapshotter-grpc's own `config dump`: a key SOCI does not read
# where it was written, or reads as another value, fails the run (lab/lib/bench-node.sh).
#   off        stock node (overlayfs, containerd's defaults: 3 downloads per image, whole-layer GETs)
#   off-tuned  stock node with containerd's own concurrency knobs: CRI max_concurrent_downloads = 20 and
#              concurrent_layer_fetch_buffer = 16 MiB (containerd >= 2.1 fetches one layer in parallel 16 MiB ranges)
#   parallel   our `sociMode: parallel` user data, tuned for this machine's vCPUs (nproc)
#   parallel[-dNuM][-cK|-w][-igzip]  a parallel probe: N downloads and M unpacks per image (2N and 2M across images),
#              K MiB chunks or whole-layer downloads (-w: no concurrent_download_chunk_size), igzip (Debian isal) as
#              the gzip decompressor in place of unpigz
#   peer       the AL2023 AMI's own SOCI parallel setup, as nodeadm's featureGates.FastImagePull writes it
#              (20 downloads and 12 unpacks per image, 16 MiB chunks), in place of our SOCI config
#   lazy       our `sociMode: lazy` user data as shipped, the image's SOCI index with the builder's default span size
#   lazy-sN    the same with the index built with N MiB spans
#   lazy-pf    lazy pulling an index with prefetch artifacts for the files the entrypoint reads (workloads that read
#              whole files: big); our config turns [prefetch] on
#   lazy-rec   lazy pulling an index whose prefetch artifacts the index builder's writer made from a recording of the
#              image: `soci-eks-prefetch record` ran it once (sandboxed, time-limited; cached per image digest and
#              recorder inputs) and `soci-eks-prefetch apply` mapped the recorded byte ranges to spans
#              (docs/index-builder.md): what SociIndexBuilder's `prefetch.record` option builds; for partial reads (ref)
#              only the spans the reads touch. The recording must cover every byte the entrypoint reads by the
#              workload's definition, else its runs fail (lib/bench-workloads.sh, lab/report/recording.ts)
#   lazy-pf-rr30  lazy-pf with SOCI's default resolve cache (resolve_result_entry = 30, below big's 32 layers)
#   lazy-rr30  lazy with resolve_result_entry = 30
#   lazy-nosync   lazy with metadata_db_no_sync = true (no fsync per metadata transaction)
#   lazy-dbmulti  lazy with metadata_store = "db-multi" (one metadata database per layer)
#   lazy-pre21 lazy with SOCI's defaults for the resolve cache and prefetch (no resolve_result_entry, no [prefetch])
#   lazy-bg    lazy with SOCI's background fetcher started at once (silence_period_msec = 1: 0 means the 30 s default;
#              one span per 50 ms)
#   lazy-nobg  lazy with the background fetcher off
# Conditions (BENCH_CONDITIONS), applied by the lab's counting proxy in front of the registry:
#   link     BENCH_RATE (1gbit) for all connections together
#   conncap  BENCH_RATE in total, BENCH_CONN_RATE (125mbit) per connection, like an object-store-backed registry
#   ttfb     BENCH_RATE and BENCH_TTFB_MS (40) added before every registry request
#   ecr      BENCH_RATE in total, BENCH_ECR_CONN_RATE (85 MB/s) per connection and BENCH_ECR_TTFB_MS (100) before every
#            request: ECR serves layers from Amazon S3, and AWS publishes for S3 "first-byte-out latencies ... of roughly
#            100–200 milliseconds" (S3 User Guide, "Best practices design patterns: optimizing Amazon S3 performance")
#            and "one concurrent request for each 85–90 MB/s of desired network throughput" (same guide, "Performance
#            design patterns", horizontal scaling). The low ends are used: a node in the registry's region. Real ECR adds
#            its own API round trip before the redirect to S3; this condition does not.
#   gp3, ssd `link`, with containerd's and SOCI's roots on an emulated gp3 root volume or instance-store SSD
#            (lib/bench-disk.sh says how and with which published figures)

# bytes_per_s RATE: 1gbit / 125mbit / 500kbit / a plain number of bytes per second
bytes_per_s() {
  case $1 in
    *gbit) echo $((${1%gbit} * 125000000)) ;;
    *mbit) echo $((${1%mbit} * 125000)) ;;
    *kbit) echo $((${1%kbit} * 125)) ;;
    *) echo "$1" ;;
  esac
}

# condition_params COND: sets COND_RATE, COND_CONN_RATE, COND_TTFB_MS (what the counting proxy is told) and COND_LABEL
# (for the results) for condition COND; fails for an unknown one
condition_params() {
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
    ecr)
      conn=$(bytes_per_s "${BENCH_ECR_CONN_RATE:-85000000}")
      ttfb=${BENCH_ECR_TTFB_MS:-100}
      label="${BENCH_RATE:-1gbit} link, ECR-like: $((conn / 1000000)) MB/s per connection, +$ttfb ms per request"
      ;;
    gp3)
      label="${BENCH_RATE:-1gbit} link; containerd and SOCI roots on an emulated gp3 root volume (125 MiB/s, 3,000 IOPS)"
      ;;
    ssd)
      label="${BENCH_RATE:-1gbit} link; containerd and SOCI roots on an emulated instance-store SSD (30,000/15,000 read/write IOPS)"
      ;;
    *)
      log "unknown condition $1 (want link, conncap, ttfb, ecr, gp3 or ssd)"
      return 1
      ;;
  esac
  # shellcheck disable=SC2034 # read by bench-node.sh
  COND_RATE=$rate COND_CONN_RATE=$conn COND_TTFB_MS=$ttfb COND_LABEL=$label
}

# condition_shape COND: sets the counting proxy's shaping for COND (condition_params)
condition_shape() {
  condition_params "$1" || return 1
  curl -fsS -X POST "http://$PULL_REGISTRY/__lab/shape?rate=$COND_RATE&conn_rate=$COND_CONN_RATE&ttfb_ms=$COND_TTFB_MS" >/dev/null
}

# row_mode ROW: the user-data mode of a row
row_mode() {
  case $1 in
    off | off-tuned) echo off ;;
    parallel | peer) echo parallel ;;
    parallel-*) parallel_probe "$1" >/dev/null && echo parallel ;;
    lazy | lazy-*) echo lazy ;;
    *) return 1 ;;
  esac
}

# row_index ROW: the index a lazy row pulls: <span MiB>, or <span MiB>-pf with prefetch artifacts
row_index() {
  if [[ $1 =~ ^lazy-s([0-9]+)$ ]]; then
    echo "${BASH_REMATCH[1]}"
  elif [[ $1 == lazy-pf || $1 == lazy-pf-* ]]; then
    echo "$DEFAULT_SPAN_MIB-pf"
  elif [[ $1 == lazy-rec ]]; then
    echo "$DEFAULT_SPAN_MIB-rec"
  else
    echo "$DEFAULT_SPAN_MIB"
  fi
}

# parallel_probe ROW: for parallel[-dNuM][-cK|-w][-igzip] prints "N M CHUNK IGZIP", each "-" when the row keeps our
# setting (CHUNK: K MiB or "whole"; IGZIP: igzip or -); fails for anything else.
parallel_probe() {
  [[ $1 =~ ^parallel(-d([0-9]+)u([0-9]+))?(-c([0-9]+)|-(w))?(-(igzip))?$ ]] || return 1
  local n=${BASH_REMATCH[2]:--} m=${BASH_REMATCH[3]:--} chunk=${BASH_REMATCH[5]:--} igzip=${BASH_REMATCH[8]:--}
  [[ ${BASH_REMATCH[6]} == w ]] && chunk=whole
  echo "$n $m $chunk $igzip"
}

# row_label ROW: what the results table calls a row
row_label() {
  local n m chunk igzip l
  case $1 in
    off) echo "stock overlayfs" ;;
    off-tuned) echo "stock + containerd knobs (20 downloads, 16 MiB ranges)" ;;
    parallel) echo "soci parallel (ours, ${TUNE_VCPUS} vCPU tuning)" ;;
    parallel-*)
      read -r n m chunk igzip <<<"$(parallel_probe "$1")"
      l="soci parallel"
      [[ $n != - ]] && l+=", $n/$m downloads/unpacks per image"
      [[ $chunk == whole ]] && l+=", whole-layer downloads"
      [[ $chunk =~ ^[0-9]+$ ]] && l+=", $chunk MiB chunks"
      [[ $igzip == igzip ]] && l+=", igzip"
      echo "$l"
      ;;
    peer) echo "soci parallel (AMI FastImagePull: 20/12, 16 MiB)" ;;
    lazy) echo "soci lazy (${DEFAULT_SPAN_MIB} MiB spans)" ;;
    lazy-s*) echo "soci lazy (${1#lazy-s} MiB spans)" ;;
    lazy-pf) echo "soci lazy, prefetch of the files read" ;;
    lazy-rec) echo "soci lazy, recorded prefetch (byte ranges, index builder's recorder and writer)" ;;
    lazy-pf-rr30) echo "soci lazy, prefetch, resolve cache 30 (SOCI's default)" ;;
    lazy-rr30) echo "soci lazy, resolve cache 30 (SOCI's default)" ;;
    lazy-nosync) echo "soci lazy, metadata_db_no_sync" ;;
    lazy-dbmulti) echo "soci lazy, metadata_store db-multi" ;;
    lazy-pre21) echo "soci lazy, SOCI defaults for resolve cache and prefetch" ;;
    lazy-bg) echo "soci lazy, background fetch at once" ;;
    lazy-nobg) echo "soci lazy, background fetch off" ;;
  esac
}

# row_soci_edits ROW: the row's edits of our SOCI config, one lab/config edit per line (KEY.PATH = VALUE sets, a bare
# KEY.PATH removes); nothing for rows that keep it as rendered. Fails for a parallel row that is not a valid probe.
row_soci_edits() {
  local p=pull_modes.parallel_pull_unpack probe n m chunk igzip
  case $1 in
    lazy-pf-rr30 | lazy-rr30) echo 'resolve_result_entry = 30' ;;
    lazy-nosync) echo 'metadata_db_no_sync = true' ;;
    lazy-dbmulti) echo 'metadata_store = "db-multi"' ;;
    lazy-pre21) printf '%s\n' resolve_result_entry prefetch ;;
    lazy-bg) printf '%s\n' 'background_fetch.silence_period_msec = 1' 'background_fetch.fetch_period_msec = 50' ;;
    lazy-nobg) echo 'background_fetch.disable = true' ;;
    parallel-*)
      probe=$(parallel_probe "$1") || return 1
      read -r n m chunk igzip <<<"$probe"
      if [[ $n != - ]]; then
        printf '%s\n' "$p.max_concurrent_downloads_per_image = $n" "$p.max_concurrent_downloads = $((n * 2))" \
          "$p.max_concurrent_unpacks_per_image = $m" "$p.max_concurrent_unpacks = $((m * 2))"
      fi
      if [[ $chunk == whole ]]; then
        echo "$p.concurrent_download_chunk_size"
      elif [[ $chunk != - ]]; then
        echo "$p.concurrent_download_chunk_size = \"${chunk}mb\""
      fi
      if [[ $igzip == igzip ]]; then echo "$p.decompress_streams.gzip.path = \"/usr/bin/igzip\""; fi
      ;;
  esac
  return 0
}

# row_apply ROW: changes the applied user data's files for ROW (before the daemons start)
row_apply() {
  local cfg=/etc/soci-eks/soci-snapshotter-grpc.toml edits
  local -a list
  case $1 in
    off-tuned)
      config_edit /etc/containerd/config.toml \
        'plugins."io.containerd.cri.v1.images".max_concurrent_downloads = 20' \
        'plugins."io.containerd.cri.v1.images".concurrent_layer_fetch_buffer = 16777216'
      return
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
      return
      ;;
  esac
  edits=$(row_soci_edits "$1") || return 1
  [[ -n $edits ]] || return 0
  mapfile -t list <<<"$edits"
  config_edit "$cfg" "${list[@]}"
}

# config_edit FILE EDIT...: the lab's TOML editor (lab/config) on FILE
config_edit() { node "$REPO_DIR/dist/lab/config/main.js" edit "$@"; }

# soci_config_check and containerd_config_check: lib/config-check.sh
