#!/usr/bin/env bash
# The lab's Karpenter section (issue 14), sourced by lab/lib/node.sh after its other sections.
#
# Boots the node from the document a Karpenter node really receives: our instance-agnostic AL2023
# user data (one EC2NodeClass for many instance types) merged by Karpenter's own bootstrap code
# (github.com/aws/karpenter-provider-aws v1.15.2, bootstrap.Nodeadm{...}.Script(), built as
# lab/.bin/karpenter-merge: Karpenter's NodeConfig, every part rewritten with only its Content-Type,
# Karpenter's part appended last). Then: the real
# nodeadm (2024-02 build) reads the merged document from a loopback IMDS, nodeadm-sim applies it,
# the shell part runs the installer, which picks the release from uname -m and sizes SOCI from
# nproc and MemTotal, and an indexed image is pulled and run lazily through SOCI.
# Sizes of every rendered variant after this merge are asserted by npm test (test/unit/userDataSize.test.ts).
#
# Needs from node.sh: pass fail skip check log apply_userdata start_node stop_node import_pause
# crictl_init lazy_run_checks wipe_node_state, $WORK $LOGS $BIN $REPO_DIR $LAB_DIR $MODE $MIRROR_PORT
# $RELEASE_SHA256 $SIM_JSON.

KARPENTER_IMDS_PORT=18339

# Our user data for a Karpenter EC2NodeClass: the CLI's `--karpenter` output when it renders
# instance-agnostic documents, else renderUserData() with instance and architecture decided at boot.
render_karpenter_userdata() { # OUT
  # The document runs on amd64 and arm64 nodes, so it pins both digests; the lab's mirror serves an amd64 tarball
  # only (this machine is x86_64), and the arm64 digest, the same stand-in, is never used.
  node - "$REPO_DIR" "$MODE" "http://127.0.0.1:$MIRROR_PORT" "$1" "$RELEASE_SHA256" <<'JS' 2>"$LOGS/render-karpenter.log"
const [repo, mode, mirror, out, sha256] = process.argv.slice(2);
const { execFileSync } = require("node:child_process");
const { writeFileSync } = require("node:fs");
const yaml = require(repo + "/node_modules/yaml");
let text, how;
try {
  const args = ["userdata", "--karpenter", "--mode", mode, "--soci-version", "0.16.1", "--mirror", mirror, "--soci-sha256", `amd64=${sha256},arm64=${sha256}`,
    "--role", "KarpenterNodeRole-lab", "--discovery-tag", "lab", "--node-class-name", "soci-lab"];
  const manifest = execFileSync(process.execPath, [repo + "/dist/cli/main.js", ...args], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  text = yaml.parseAllDocuments(manifest).map((d) => d.toJSON()).find((d) => d && d.kind === "EC2NodeClass").spec.userData;
  how = "node dist/cli/main.js " + args.join(" ") + " (EC2NodeClass spec.userData)";
} catch (e) {
  const u = require(repo + "/dist/userdata/index.js");
  text = u.renderUserData("al2023", { mode, release: { version: "0.16.1", mirrorBaseUrl: mirror, sha256: { amd64: sha256, arm64: sha256 } }, instance: u.AT_BOOT, architecture: u.AT_BOOT }).text;
  how = "renderUserData(al2023, {instance: AT_BOOT, architecture: AT_BOOT}) (CLI: " + String(e.stderr || e.message).split("\n")[0] + ")";
}
writeFileSync(out, text);
process.stderr.write("rendered with: " + how + "\n");
JS
}

# nodeadm config check, reading the document from a loopback IMDS as a node does.
nodeadm_check_imds() { # FILE
  local out rc=0 pid
  node "$LAB_DIR/lib/imds-userdata.mjs" "$1" "$KARPENTER_IMDS_PORT" >"$WORK/karpenter-imds.out" 2>&1 &
  pid=$!
  wait_for 10 "user-data IMDS" test -s "$WORK/karpenter-imds.out"
  out=$(AWS_EC2_METADATA_SERVICE_ENDPOINT="http://127.0.0.1:$KARPENTER_IMDS_PORT" timeout 30 nodeadm config check \
    --config-source imds://user-data 2>&1) || rc=$?
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  printf '%s\n' "$out" >"$LOGS/nodeadm-check-karpenter.log"
  ((rc == 0)) && [[ $out == *"Configuration is valid"* ]]
}

# What SOCI's config.toml should say for this machine (the renderer's parallelTuning, in node).
expected_tuning() {
  node -e '
    const u = require(process.argv[1] + "/dist/userdata/index.js");
    const mem = Number(/MemTotal:\s+(\d+)/.exec(require("fs").readFileSync("/proc/meminfo", "utf8"))[1]);
    const t = u.parallelTuning({ vcpus: require("os").availableParallelism(), memoryMiB: Math.ceil(mem / 1048576) * 1024 });
    console.log([t.maxConcurrentDownloads, t.maxConcurrentDownloadsPerImage, t.chunkSize, t.maxConcurrentUnpacks, t.maxConcurrentUnpacksPerImage].join(" "));' "$REPO_DIR"
}
actual_tuning() {
  python3 -c '
import sys, tomllib
p = tomllib.load(open("/etc/soci-eks/soci-snapshotter-grpc.toml", "rb"))["pull_modes"]["parallel_pull_unpack"]
print(" ".join(str(p[k]) for k in ("max_concurrent_downloads", "max_concurrent_downloads_per_image", "concurrent_download_chunk_size", "max_concurrent_unpacks", "max_concurrent_unpacks_per_image")))'
}

karpenter_section() {
  local ours=$WORK/userdata-karpenter-ours.mime merged=$WORK/userdata-karpenter-merged.mime
  log "karpenter section: our instance-agnostic user data through Karpenter's own MIME merge"
  if [[ ! -x $BIN/karpenter-merge ]]; then
    fail "karpenter: $BIN/karpenter-merge is missing: run lab/build-tools.sh karpenter-merge"
    return 0
  fi
  render_karpenter_userdata "$ours" || { fail "karpenter: could not render the user data: $(tail -n 2 "$LOGS/render-karpenter.log")"; return 0; }
  log "$(cat "$LOGS/render-karpenter.log")"
  if karpenter-merge -userdata "$ours" -out "$merged" >"$LOGS/karpenter-merge.json" 2>"$LOGS/karpenter-merge.err"; then
    pass "karpenter: Karpenter v1.15.2's bootstrap (Nodeadm.Script) merged our $(wc -c <"$ours")-byte document into $(wc -c <"$merged") bytes ($(jq -r .parts "$LOGS/karpenter-merge.json") parts, Karpenter's part $(jq -r .karpenterPartBytes "$LOGS/karpenter-merge.json") bytes; EC2 limit 16384)"
  else
    fail "karpenter: Karpenter's merge failed: $(tail -n 2 "$LOGS/karpenter-merge.err")"
    return 0
  fi
  check "karpenter: the merged document leaves at least 1 KiB of EC2's 16384 bytes and carries no Content-Transfer-Encoding" \
    bash -c "(( \$(wc -c <'$merged') <= 16384 - 1024 )) && ! grep -qi '^Content-Transfer-Encoding' '$merged'"
  if nodeadm_check_imds "$merged"; then
    pass "karpenter: nodeadm (2024-02 build) reads the merged document from IMDS and its merged NodeConfig is valid"
  else
    fail "karpenter: nodeadm config check rejects the merged document: $(tail -n 2 "$LOGS/nodeadm-check-karpenter.log" | tr '\n' ' ' | cut -c1-300)"
  fi

  # A fresh node: nothing of the earlier boots (installed release, our files, daemons' state) remains.
  stop_node
  wipe_node_state
  rm -rf /etc/soci-eks /etc/soci-snapshotter-grpc /usr/local/libexec/soci-eks /var/lib/soci-eks \
    /usr/local/bin/soci /usr/local/bin/soci-snapshotter-grpc /etc/systemd/system/soci-snapshotter.service \
    /etc/systemd/system/soci-snapshotter.socket /etc/systemd/system/soci-eks-install.service \
    /etc/containerd/config.toml
  if apply_userdata "$merged" karpenter; then
    pass "karpenter: merged user data applied: parts $(jq -r '[.parts[].contentType] | join(", ")' "$SIM_JSON"); $(jq -r '.writtenFiles | length' "$SIM_JSON") cloud-config files written, the shell part ran the installer"
  else
    fail "karpenter: merged user data could not be applied (see $WORK/ud-karpenter)"
    return 0
  fi
  check "karpenter: the installer picked the $(uname -m) release at boot (installed-release: $(cat /var/lib/soci-eks/installed-release 2>/dev/null))" \
    grep -q "linux-$(case $(uname -m) in x86_64) echo amd64 ;; *) echo arm64 ;; esac).tar.gz sha256:$RELEASE_SHA256" /var/lib/soci-eks/installed-release
  local want got
  want=$(expected_tuning)
  got=$(actual_tuning)
  check "karpenter: SOCI sized at boot for $(nproc) vCPUs and this machine's memory: '$got' (downloads, per image, chunk, unpacks, per image; want '$want')" test "$got" = "$want"
  check "karpenter: containerd snippet keeps nodeadm on the v3 template; kubelet imageServiceEndpoint is SOCI's socket" \
    test "$(jq -r .containerdSchema "$SIM_JSON")|$(jq -r .imageServiceEndpoint "$SIM_JSON")" = "3|unix:///run/soci-snapshotter-grpc/soci-snapshotter-grpc.sock"
  if start_node karpenter; then
    pass "karpenter: soci-snapshotter-grpc and containerd 2.2.4 start from the merged user data"
  else
    fail "karpenter: node daemons did not start (see $LOGS/soci-karpenter.log, containerd-karpenter.log)"
    return 0
  fi
  import_pause karpenter || fail "karpenter: pause import failed: $(tail -n 2 "$LOGS/pause-import-karpenter.log" | tr '\n' ' ')"
  crictl_init
  if [[ $MODE == lazy ]]; then
    lazy_run_checks "karpenter-merged user data" "$PULL_REGISTRY/lab/small:v1-soci" karpenter
  else
    skip "karpenter: lazy pull (LAB_MODE=$MODE)"
  fi
  stop_node
}
