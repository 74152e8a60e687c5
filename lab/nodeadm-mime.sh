#!/usr/bin/env bash
# The real nodeadm reads our launch-template user data the way a node does: from IMDS.
#
# `nodeadm config check --config-source imds://user-data` fetches the user data from a loopback
# IMDSv2 stand-in (AWS_EC2_METADATA_SERVICE_ENDPOINT, never 169.254.169.254), splits the MIME
# document, decodes every application/node.eks.aws part into NodeConfig and merges them. It is the
# 2024-02 nodeadm build, the only one the Go module proxy serves (see lab/README.md): it proves the
# MIME walk and NodeConfig decoding, not today's containerd merge (nodeadm-sim covers that).
# Each rendered document carries the cluster fields EKS would add. Output ends "N passed, M failed".
set -euo pipefail

LAB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(cd "$LAB_DIR/.." && pwd)
NODEADM=${NODEADM:-$LAB_DIR/.bin/nodeadm}
PORT=${LAB_IMDS_PORT:-18338}
WORK=$(mktemp -d)
SERVER_PID=
passed=0
failed=0

cleanup() {
  if [[ -n $SERVER_PID ]]; then kill "$SERVER_PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

[[ -x $NODEADM ]] || { echo "nodeadm-mime: $NODEADM is missing: run lab/build-tools.sh nodeadm" >&2; exit 2; }
[[ -f $REPO_DIR/dist/userdata/index.js ]] || { echo "nodeadm-mime: run npm run build first" >&2; exit 2; }

# nodeadm reads only the NodeConfig parts here and nothing is installed: the release digest is a stand-in.
STAND_IN_SHA256=$(printf 'soci-eks lab stand-in digest' | sha256sum | cut -d' ' -f1)
render() { # MODE OUT: our user data for MODE with EKS-style cluster fields
  node -e '
    const u = require(process.argv[1] + "/dist/userdata/index.js");
    process.stdout.write(u.renderUserData("al2023", {
      mode: process.argv[2],
      release: { version: u.DEFAULT_SOCI_VERSION, mirrorBaseUrl: u.DEFAULT_MIRROR_BASE_URL, sha256: { amd64: process.argv[3] } },
      instance: { instanceType: "m6i.xlarge", vcpus: 4, memoryMiB: 16384, architectures: ["x86_64"], gpus: 0 },
      architecture: "x86_64",
      cluster: { name: "lab", apiServerEndpoint: "https://127.0.0.1:6443", certificateAuthority: "bGFiLWNh", serviceCidr: "10.100.0.0/16" },
    }).text);' "$REPO_DIR" "$1" "$STAND_IN_SHA256" >"$2"
}

# check NAME FILE EXPECT(valid|invalid)
check() {
  local name=$1 file=$2 expect=$3 out rc=0
  node "$LAB_DIR/lib/imds-userdata.mjs" "$file" "$PORT" >"$WORK/server.out" &
  SERVER_PID=$!
  for _ in $(seq 1 50); do [[ -s $WORK/server.out ]] && break; sleep 0.1; done
  out=$(AWS_EC2_METADATA_SERVICE_ENDPOINT="http://127.0.0.1:$PORT" timeout 30 "$NODEADM" config check \
    --config-source imds://user-data 2>&1) || rc=$?
  kill "$SERVER_PID" 2>/dev/null || true
  wait "$SERVER_PID" 2>/dev/null || true
  SERVER_PID=
  if [[ $expect == valid && $rc == 0 && $out == *"Configuration is valid"* ]] ||
    [[ $expect == invalid && $rc != 0 && $out != *"request to EC2 IMDS failed"* ]]; then
    local detail=""
    if ((rc != 0)); then detail=" ($(grep -o '"error":"[^"]*' <<<"$out" | head -n 1 | cut -c10-))"; fi
    echo "PASS nodeadm config check, $name: $expect$detail"
    passed=$((passed + 1))
  else
    echo "FAIL nodeadm config check, $name: expected $expect, exit $rc: $(tail -n 2 <<<"$out")"
    failed=$((failed + 1))
  fi
}

for mode in lazy parallel off; do
  render "$mode" "$WORK/$mode.mime"
  check "$mode user data (MIME from IMDS, cloud-config and shell parts ignored)" "$WORK/$mode.mime" valid
  # The self-managed @pulumi/eks plug-in path (eks.NodeGroupV2): @pulumi/eks's cluster and kubelet-flags NodeConfig parts, then ours.
  LAB_RENDER=eks-plugin node "$LAB_DIR/lib/render-userdata.mjs" "$REPO_DIR" "$mode" https://github.com/awslabs/soci-snapshotter/releases/download "$STAND_IN_SHA256" \
    >"$WORK/eks-$mode.mime" 2>/dev/null
  check "$mode user data of eks.NodeGroupV2 + sociForEksSelfManaged (@pulumi/eks's document shape)" "$WORK/eks-$mode.mime" valid
done

# The check can fail: a NodeConfig part whose kubelet config is a list, not a map.
# (Our parts carry no kubelet section, so the lab adds one; the first NodeConfig part only.)
sed '0,/^spec:$/s//spec:\n  kubelet:\n    config: [1, 2]/' "$WORK/lazy.mime" >"$WORK/broken.mime"
check "broken NodeConfig part (kubelet.config is a list)" "$WORK/broken.mime" invalid
# ...and a NodeConfig of the wrong API version.
sed 's#node.eks.aws/v1alpha1#node.eks.aws/v9#' "$WORK/lazy.mime" >"$WORK/version.mime"
check "NodeConfig with an unknown apiVersion" "$WORK/version.mime" invalid

echo "$passed passed, $failed failed"
((failed == 0))
