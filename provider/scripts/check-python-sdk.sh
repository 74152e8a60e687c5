#!/usr/bin/env bash
# Checks the component package with the real Pulumi CLI (built by build-pulumi-cli.sh) and the Python SDK it
# generates, without AWS: (1) `pulumi package get-schema provider` equals provider/schema.json after the CLI's
# normalization; (2) `pulumi package gen-sdk --language python` generates `pulumi_soci_eks`, which imports;
# (3) examples/python runs on it under the Pulumi Python SDK's mocks, and the inputs it sends for the package
# components are handed to the provider's Construct (node mocks): both build, with the expected outputs;
# (4) the same with a bad setting fails Construct with the TypeScript component's message.
# Needs: npm run build; $PULUMI_BIN with pulumi, pulumi-language-nodejs, pulumi-language-python and
# pulumi-language-python-exec; $PULUMI_PYTHON_LIB = sdk/python/lib of the pulumi/pulumi tree at the CLI's tag;
# Debian's python3-grpcio python3-protobuf python3-dill python3-semver python3-yaml python3-packaging python3-debugpy.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
bin="${PULUMI_BIN:-$root/.pulumi-cli/bin}"
pylib="${PULUMI_PYTHON_LIB:?set PULUMI_PYTHON_LIB to sdk/python/lib of the pulumi/pulumi tree}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
export PATH="$bin:$PATH" PULUMI_HOME="$work/home" PULUMI_SKIP_UPDATE_CHECK=1 PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
log() { printf 'check-python-sdk: %s\n' "$*" >&2; }
cd "$root"

log "$(pulumi version): get-schema"
pulumi package get-schema ./provider > "$work/cli-schema.json"
normalize='walk(if type == "object" then del(.optional) | (if .required == [] then del(.required) else . end) else . end) | del(.dependencies, .config)'
if ! diff <(jq -S "$normalize" "$work/cli-schema.json") <(jq -S "$normalize" provider/schema.json); then
  log "FAIL: the CLI's schema differs from provider/schema.json"
  exit 1
fi
log "schema: the CLI serves provider/schema.json ($(jq '.resources | length' "$work/cli-schema.json") resources, $(jq '.types | length' "$work/cli-schema.json") types)"

pulumi package gen-sdk ./provider --language python --out "$work/sdk" >&2
(cd "$work/sdk/python" && /usr/bin/python3 setup.py -q egg_info)
export PYTHONPATH="$work/sdk/python:$pylib:$root/test/consumers/python-stubs"
/usr/bin/python3 -c 'import pulumi_soci_eks as s; assert {"Cluster", "NodeGroup", "ClusterNodeGroupArgs", "ScalingArgs", "TaintArgs"} <= set(dir(s)); print("imported", s.__file__)' >&2

log "examples/python under the Python SDK's mocks"
/usr/bin/python3 test/consumers/python_sdk_program.py examples/python \
  '{"existingClusterName": "prod", "existingSubnetIds": "[\"subnet-a\", \"subnet-b\"]"}' > "$work/recorded.json"
node -e 'require("./dist/test/helpers/packageConstruct").main(process.argv[1])' "$work/recorded.json" > "$work/constructed.json"
cat "$work/constructed.json"
jq -e 'length == 2 and all(.[]; has("outputs") and .children > 0)' "$work/constructed.json" > /dev/null

log "a bad setting from Python"
mkdir -p "$work/bad"
cat > "$work/bad/__main__.py" <<'PY'
import pulumi_soci_eks as soci_eks
soci_eks.NodeGroup("ng", cluster_name="prod", subnet_ids=["subnet-a"], os="bottlerocket")
PY
/usr/bin/python3 test/consumers/python_sdk_program.py "$work/bad" > "$work/bad.json"
node -e 'require("./dist/test/helpers/packageConstruct").main(process.argv[1])' "$work/bad.json" > "$work/bad-constructed.json"
cat "$work/bad-constructed.json"
jq -e --arg want "SociNodeGroup 'ng' has 1 problem; nothing was created:" '.[0].error | startswith($want)' "$work/bad-constructed.json" > /dev/null
log "OK"
