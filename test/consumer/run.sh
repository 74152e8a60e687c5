#!/usr/bin/env bash
# The package as a consumer gets it: `npm pack` here, then, in a fresh project outside this repository,
# `npm install` of the tarball with the @pulumi/* peer dependencies at the LOW end of every range in
# package.json's peerDependencies and again at the HIGH end (the newest version the npm registry has
# in the range). In each project it checks:
#   - one copy of @pulumi/pulumi, at the version asked for (soci-eks brings none of its own);
#   - require("soci-eks") works and exports the components;
#   - every TypeScript block of README.md, as the consumer's program, compiles under strict tsc
#     (no skipLibCheck) against the installed packages;
#   - each block runs under Pulumi's mocks (project/run-under-mocks.ts) and builds SOCI node groups;
#   - `npx soci-eks --help` works.
# npm pack builds dist/ (prepare). Needs the npm registry. Not part of `npm test` (two installs of @pulumi/aws take minutes); .ci/run runs
# it after the lab. Usage: test/consumer/run.sh [low|high|git ...]  (default: all three)   Env: KEEP=1
set -euo pipefail

REPO_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
HERE=$REPO_DIR/test/consumer
ENDS=("$@")
((${#ENDS[@]})) || ENDS=(low high git)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/soci-eks-consumer.XXXXXX")
TSC=$REPO_DIR/node_modules/.bin/tsc
PEERS=(@pulumi/pulumi @pulumi/aws @pulumi/eks @pulumi/kubernetes)

log() { printf '[consumer %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() { log "FAIL: $*"; exit 1; }
# shellcheck disable=SC2317 # invoked by the EXIT trap
cleanup() { if [[ ${KEEP:-0} == 1 ]]; then log "kept $WORK"; else rm -rf "$WORK"; fi; }
trap cleanup EXIT

[[ -x $TSC ]] || die "$TSC is missing: run npm ci in $REPO_DIR first"

t0=$SECONDS
log "npm pack (prepare builds dist/)"
(cd "$REPO_DIR" && npm pack --silent --pack-destination "$WORK" >"$WORK/pack.out")
TGZ=$WORK/$(tail -n1 "$WORK/pack.out")
[[ -f $TGZ ]] || die "npm pack made no tarball"
tar -tzf "$TGZ" | sed 's|^package/||' | sort >"$WORK/files"
for f in LICENSE README.md package.json dist/components/index.js dist/components/index.d.ts dist/cli/main.js \
  userdata/scripts/al2023-install-soci.sh; do
  grep -qx "$f" "$WORK/files" || die "the tarball lacks $f"
done
if grep -E '^(dist/test/|test/|lab/|node_modules/)' "$WORK/files" >/dev/null; then die "the tarball ships test, lab or node_modules files"; fi
log "tarball: $(basename "$TGZ"), $(wc -l <"$WORK/files") files, $(du -k "$TGZ" | cut -f1) KiB ($((SECONDS - t0)) s)"

peer_range() { node -e 'process.stdout.write(require(process.argv[1]).peerDependencies[process.argv[2]])' "$REPO_DIR/package.json" "$1"; }
version_at() { # END PACKAGE: the low end is the range's floor (">=X ..."); the high end the newest release in range
  local range
  range=$(peer_range "$2")
  if [[ $1 == low ]]; then
    [[ $range =~ ^\>=([0-9]+\.[0-9]+\.[0-9]+) ]] || die "peer range '$range' of $2 has no >= floor"
    echo "${BASH_REMATCH[1]}"
  else
    # npm lists the matching versions in publish order, not semver order: take the highest release.
    npm view "$2@$range" version --json | node -e '
      let s = "";
      process.stdin.on("data", (d) => (s += d)).on("end", () => {
        const all = [].concat(JSON.parse(s)).filter((v) => /^\d+\.\d+\.\d+$/.test(v));
        const key = (v) => v.split(".").map(Number);
        all.sort((a, b) => { const [x, y] = [key(a), key(b)]; return x[0] - y[0] || x[1] - y[1] || x[2] - y[2]; });
        process.stdout.write(all[all.length - 1] ?? "");
      });'
  fi
}

mapfile -t BLOCKS < <(node -e 'const r = require(process.argv[1]); console.log(r.writeTsBlocks(process.argv[2], process.argv[3]).join("\n"))' \
  "$REPO_DIR/dist/test/helpers/readme.js" "$REPO_DIR/README.md" "$WORK/blocks")
((${#BLOCKS[@]} >= 2)) || die "found ${#BLOCKS[@]} TypeScript blocks in README.md"

for end in "${ENDS[@]}"; do
  t1=$SECONDS
  dir=$WORK/consumer-$end
  mkdir -p "$dir/src"
  cp "$HERE/project/tsconfig.json" "$dir/"
  cp "$HERE/project/run-under-mocks.ts" "$dir/src/"
  cp "$WORK/blocks/"*.ts "$dir/src/"
  printf '{ "name": "soci-eks-consumer-%s", "version": "1.0.0", "private": true, "license": "UNLICENSED" }\n' "$end" >"$dir/package.json"
  case "$end" in
    low | high) source_spec=$TGZ; peers_at=$end; scripts=(--ignore-scripts) ;;
    git) source_spec="git+file://$REPO_DIR#$(git -C "$REPO_DIR" rev-parse HEAD)"; peers_at=high; scripts=() ;;
    *) die "unknown end '$end' (low, high or git)" ;;
  esac
  specs=()
  for p in "${PEERS[@]}"; do specs+=("$p@$(version_at "$peers_at" "$p")"); done
  log "$end: npm install ${source_spec##*/} ${specs[*]}"
  (cd "$dir" && npm install --no-audit --no-fund "${scripts[@]}" --loglevel=error "$source_spec" "${specs[@]}" @types/node@20 >/dev/null)

  want_pulumi=${specs[0]##*@}
  mapfile -t copies < <(cd "$dir" && find node_modules -path '*/@pulumi/pulumi/package.json' -not -path '*/vendor/*')
  ((${#copies[@]} == 1)) || die "$end: ${#copies[@]} copies of @pulumi/pulumi: ${copies[*]}"
  got=$(cd "$dir" && node -p 'require("@pulumi/pulumi/package.json").version')
  [[ $got == "$want_pulumi" ]] || die "$end: @pulumi/pulumi is $got, asked for $want_pulumi"
  for p in "${PEERS[@]:1}"; do
    v=$(cd "$dir" && node -p "require('$p/package.json').version")
    log "$end: $p $v"
  done

  (cd "$dir" && node -e 'const s = require("soci-eks"); for (const k of ["SociCluster", "SociNodeGroup", "SociIndexBuilder", "PullCheck"]) if (typeof s[k] !== "function") { console.error("soci-eks exports no " + k); process.exit(1); }') \
    || die "$end: require(\"soci-eks\") failed"

  log "$end: strict tsc of ${BLOCKS[*]} and run-under-mocks.ts"
  (cd "$dir" && "$TSC" -p tsconfig.json) || die "$end: the README's TypeScript does not compile against the installed package"

  # Every README program runs under mocks, the @pulumi/eks plug-in example included (it needs no transforms, which
  # Pulumi's mocks refuse); a block that uses them would only compile.
  js=()
  for b in "${BLOCKS[@]}"; do
    if grep -q "transforms" "$dir/src/$b"; then
      log "$end: $b uses transforms (not supported by Pulumi's mocks): compiled, not run"
    else
      js+=("dist/${b%.ts}.js")
    fi
  done
  ((${#js[@]} > 0)) || die "$end: no README program to run under mocks"
  (cd "$dir" && node dist/run-under-mocks.js "${js[@]}") || die "$end: a README program failed under mocks"

  help=$(cd "$dir" && npx --no-install soci-eks --help) || die "$end: npx soci-eks --help failed"
  [[ $help == *"Usage: soci-eks <command>"* && $help == *"userdata"* && $help == *"pull-report"* ]] || die "$end: npx soci-eks --help printed no usage"
  log "$end: PASS (pulumi $want_pulumi; $((SECONDS - t1)) s)"
done
log "all ends passed (${ENDS[*]}) in $((SECONDS - t0)) s"
