#!/usr/bin/env bash
# Checks the component package as a Python user gets it, with the real Pulumi CLI (built by build-pulumi-cli.sh)
# and without AWS. Each step that needs something this machine may lack says "skipped:" with the reason.
#  1. The npm package: `npm pack` of this checkout, installed with `npm install --prefix` (the command in
#     docs/multi-language.md; npm installs the @pulumi/* peers beside it) into a scratch folder.
#  2. The Python SDK `pulumi package add` generates, from the shipped schema: `pulumi package gen-sdk --language
#     python` when pulumi-language-python is on PATH (the CLI runs the generator inside it), else pulumi-gen-python
#     (the same generator, pkg/v3/codegen/python, built by build-pulumi-cli.sh). Its Python names are checked
#     (size_gib, throughput_mibps, on_soci_failure).
#  3. With pulumi-language-nodejs on PATH: `pulumi package get-schema <installed>/provider` (the plugin started by
#     the engine from the npm package) equals provider/schema.json after the CLI's normalization.
#  4. With pulumi-language-python on PATH: `pulumi package add <installed>/provider` in a new Python project.
#  5. With $PULUMI_PYTHON_LIB (sdk/python/lib of the Pulumi source at the CLI's version) and Debian's python3-grpcio
#     python3-protobuf python3-dill python3-semver python3-yaml python3-packaging: the SDK imports; examples/python
#     runs on it under the Pulumi Python SDK's mocks and the inputs it sends go to the provider's Construct (node
#     mocks); a bad setting from Python fails Construct with the TypeScript component's message.
# Needs: npm run build; network to the npm registry (or its packages in npm's cache) for step 1.
# Usage: provider/scripts/check-python-sdk.sh   (PULUMI_BIN: folder with pulumi, default .pulumi-cli/bin)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
bin="${PULUMI_BIN:-$root/.pulumi-cli/bin}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
export PATH="$bin:$PATH" PULUMI_HOME="$work/home" PULUMI_SKIP_UPDATE_CHECK=1 PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
log() { printf 'check-python-sdk: %s\n' "$*" >&2; }
fail() { log "FAIL: $*"; exit 1; }
cd "$root"
command -v pulumi >/dev/null || fail "no pulumi in $bin (provider/scripts/build-pulumi-cli.sh builds it)"

log "1. npm pack, then npm install --prefix $work/plugin <tarball>"
tarball="$(npm pack --ignore-scripts --silent --pack-destination "$work")"
npm install --prefix "$work/plugin" --no-audit --no-fund --loglevel=error "$work/$tarball" >&2
plugin="$work/plugin/node_modules/soci-eks/provider"
[[ -f $plugin/PulumiPlugin.yaml && -f $plugin/schema.json && -f $plugin/../dist/provider/index.js ]] || fail "the installed package lacks the plugin files"
[[ -z "$(find "$work/plugin/node_modules/soci-eks" -name '*.ts' ! -name '*.d.ts')" ]] || fail "the package ships TypeScript sources"
log "installed: $(cd "$work/plugin/node_modules" && for p in soci-eks @pulumi/pulumi @pulumi/aws @pulumi/eks @pulumi/kubernetes; do printf '%s@%s ' "$p" "$(node -p "require('./$p/package.json').version")"; done)"

if command -v pulumi-language-python >/dev/null; then
  log "2. $(pulumi version): gen-sdk --language python from the installed schema"
  pulumi package gen-sdk "$plugin/schema.json" --language python --out "$work/sdk" >&2
else
  command -v pulumi-gen-python >/dev/null || fail "no pulumi-gen-python in $bin (provider/scripts/build-pulumi-cli.sh builds it)"
  log "2. pulumi-gen-python (pkg/v3/codegen/python of Pulumi $(pulumi version)) from the installed schema (no pulumi-language-python on PATH for gen-sdk)"
  pulumi-gen-python "$plugin/schema.json" "$work/sdk/python"
fi
sdk="$work/sdk/python"
inputs="$sdk/pulumi_soci_eks/_inputs.py"
[[ -f $inputs ]] || fail "no $inputs"
names="$(grep -ho 'def [a-z_0-9]*(' "$sdk"/pulumi_soci_eks/*.py | sed 's/def \(.*\)(/\1/' | grep -v '^_' | sort -u)"
for want in size_gib throughput_mibps on_soci_failure keep_soci_on_root_volume extra_ecr_registries metadata_hop_limit; do
  grep -qx "$want" <<<"$names" || fail "the generated SDK has no property $want"
done
if grep -Eqx '.*_(gi|mi)_b.*' <<<"$names"; then fail "the generated SDK splits a unit: $(grep -Ex '.*_(gi|mi)_b.*' <<<"$names" | tr '\n' ' ')"; fi
log "Python property names: $(tr '\n' ' ' <<<"$names")"

log "3. get-schema from the installed plugin"
if command -v pulumi-language-nodejs >/dev/null; then
  pulumi package get-schema "$plugin" > "$work/cli-schema.json"
  normalize='walk(if type == "object" then del(.optional) | (if .required == [] then del(.required) else . end) else . end) | del(.dependencies, .config)'
  diff <(jq -S "$normalize" "$work/cli-schema.json") <(jq -S "$normalize" provider/schema.json) || fail "the served schema differs from provider/schema.json"
  log "the engine started the plugin from the npm package; it serves provider/schema.json"
else
  log "skipped: no pulumi-language-nodejs on PATH (the Pulumi CLI's release archive ships it; the Go module proxy does not serve it)"
fi

log "4. pulumi package add in a Python project"
if command -v pulumi-language-python >/dev/null; then
  mkdir -p "$work/project" && cd "$work/project"
  printf 'name: check\nruntime:\n  name: python\n  options:\n    toolchain: pip\n    virtualenv: venv\n' > Pulumi.yaml
  printf 'import pulumi_soci_eks\n' > __main__.py
  pulumi package add "$plugin" >&2 || fail "pulumi package add failed"
  grep -q 'soci-eks' Pulumi.yaml || fail "pulumi package add did not record the package in Pulumi.yaml"
  cd "$root"
else
  log "skipped: no pulumi-language-python on PATH (it links the SDK into the project's virtualenv with pip, which also needs PyPI)"
fi

log "5. the SDK under the Pulumi Python SDK's mocks"
if [[ -z ${PULUMI_PYTHON_LIB:-} ]] || ! /usr/bin/python3 -c 'import grpc, google.protobuf, dill, semver, yaml' 2>/dev/null; then
  log "skipped: set PULUMI_PYTHON_LIB and install Debian's python3-grpcio python3-protobuf python3-dill python3-semver python3-yaml python3-packaging"
  log "OK (steps 1-2$(command -v pulumi-language-nodejs >/dev/null && echo ", 3")$(command -v pulumi-language-python >/dev/null && echo ", 4"))"
  exit 0
fi
# The package metadata the SDK reads its version from (pip writes it when it installs the SDK).
(cd "$sdk" && /usr/bin/python3 setup.py -q egg_info)
export PYTHONPATH="$sdk:$PULUMI_PYTHON_LIB:$root/test/consumers/python-stubs"
/usr/bin/python3 -c 'import pulumi_soci_eks as s; assert {"Cluster", "NodeGroup", "ClusterNodeGroupArgs", "RootVolumeArgs", "TaintArgs"} <= set(dir(s)); print("imported", s.__file__)' >&2
# sociSha256: test-only stand-ins (sha256 of "a" and "b"; they match no tarball, nothing is installed here)
/usr/bin/python3 test/consumers/python_sdk_program.py examples/python \
  '{"existingClusterName": "prod", "existingSubnetIds": "[\"subnet-a\", \"subnet-b\"]", "sociSha256": "amd64='"$(printf a | sha256sum | cut -d' ' -f1)"',arm64='"$(printf b | sha256sum | cut -d' ' -f1)"'"}' > "$work/recorded.json"
jq -e '[.[] | select(.type == "soci-eks:index:NodeGroup") | .inputs] | .[0].rootVolume == {"sizeGib": 200, "throughputMibps": 500} and .[0].onSociFailure == "fail"' "$work/recorded.json" > /dev/null \
  || fail "examples/python did not send rootVolume.sizeGib / onSociFailure: $(jq -c '.[] | select(.type == "soci-eks:index:NodeGroup") | .inputs' "$work/recorded.json")"
node -e 'require("./dist/test/helpers/packageConstruct").main(process.argv[1])' "$work/recorded.json" > "$work/constructed.json"
cat "$work/constructed.json"
jq -e 'length == 2 and all(.[]; has("outputs") and .children > 0)' "$work/constructed.json" > /dev/null || fail "Construct did not build both components"

mkdir -p "$work/bad"
cat > "$work/bad/__main__.py" <<'PY'
import pulumi_soci_eks as soci_eks
soci_eks.NodeGroup("ng", cluster_name="prod", subnet_ids=["subnet-a"], on_soci_failure="retry",
                   soci=soci_eks.SociReleaseArgs(sha256="ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb"))
PY
/usr/bin/python3 test/consumers/python_sdk_program.py "$work/bad" > "$work/bad.json"
node -e 'require("./dist/test/helpers/packageConstruct").main(process.argv[1])' "$work/bad.json" > "$work/bad-constructed.json"
cat "$work/bad-constructed.json"
jq -e '.[0].error | startswith("SociNodeGroup '"'"'ng'"'"' has 1 problem; nothing was created:\n  - ng.onSociFailure: '"'"'retry'"'"'")' "$work/bad-constructed.json" > /dev/null \
  || fail "a bad onSociFailure from Python did not fail Construct with the component's message"
log "OK (steps 1, 2, 5$(command -v pulumi-language-nodejs >/dev/null && echo ", 3")$(command -v pulumi-language-python >/dev/null && echo ", 4"))"
