#!/usr/bin/env bash
# The package as a consumer gets it: `npm pack` here, then, in fresh projects outside this repository, an
# install of the package with the @pulumi/* peer dependencies at one end of every range in package.json's
# peerDependencies, on a Node.js and a TypeScript a consumer has:
#
#   end   installs             peers                                  Node.js                     TypeScript, module resolution
#   low   the tarball          the floor of each range                this machine's (20)         5.0.4, node10 ("node")
#   high  the tarball          the newest in each range               22 (test/consumer/node22)   the newest 6.x, nodenext
#   git   git+file:// of HEAD  each range as written: npm's own pick  this machine's (20)         the newest 6.x, nodenext
#
# "The newest" is what the npm registry has at run time. The git end is what a user on Node 20 gets today: npm
# picks the newest release whose engines and peers fit (@pulumi/pulumi 3.249+ needs Node 22; TypeScript 6 needs
# @pulumi/pulumi 3.229+, whose peer range for typescript is < 7). Each end checks that every peer's
# `engines.node` allows the Node.js it runs on, then:
#   - one copy of @pulumi/pulumi, at the version asked for (soci-eks brings none of its own);
#   - require("soci-eks") works and exports the components;
#   - every TypeScript block of README.md, as the consumer's program, compiles under strict tsc
#     (no skipLibCheck) against the installed packages;
#   - the blocks built on the components run under Pulumi's mocks (project/run-under-mocks.ts);
#   - `npx soci-eks --help` works.
# The high end needs Node.js 22 from test/consumer/node22 (scripts/setup.sh consumer installs it, as npm's
# pretest:consumer); without it that end is skipped with the reason. npm pack builds dist/ (prepare). Needs
# the npm registry. Not part of `npm test` (installs of @pulumi/aws take minutes); .ci/run runs it after the lab.
# Usage: test/consumer/run.sh [low|high|git ...]  (default: all three)   Env: KEEP=1
set -euo pipefail

REPO_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
HERE=$REPO_DIR/test/consumer
ENDS=("$@")
((${#ENDS[@]})) || ENDS=(low high git)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/soci-eks-consumer.XXXXXX")
PEERS=(@pulumi/pulumi @pulumi/aws @pulumi/eks @pulumi/kubernetes)
# TypeScript: the oldest release soci-eks supports, and the ranges whose newest release the high end uses.
TS_LOW=5.0.4
TS_CURRENT_RANGE=^6
NODE22_DIR=$HERE/node22

log() { printf '[consumer %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() { log "FAIL: $*"; exit 1; }
# shellcheck disable=SC2317 # invoked by the EXIT trap
cleanup() { if [[ ${KEEP:-0} == 1 ]]; then log "kept $WORK"; else rm -rf "$WORK"; fi; }
trap cleanup EXIT

[[ -x $REPO_DIR/node_modules/.bin/tsc ]] || die "$REPO_DIR/node_modules is not installed: run npm ci in $REPO_DIR first (npm pack builds dist/ with it)"

t0=$SECONDS
log "npm pack (prepare builds dist/)"
(cd "$REPO_DIR" && npm pack --silent --pack-destination "$WORK" >"$WORK/pack.out")
TGZ=$WORK/$(tail -n1 "$WORK/pack.out")
[[ -f $TGZ ]] || die "npm pack made no tarball"
tar -tzf "$TGZ" | sed 's|^package/||' | sort >"$WORK/files"
shipped=(LICENSE README.md package.json dist/components/index.js dist/components/index.d.ts dist/cli/main.js userdata/scripts/al2023-install-soci.sh)
for page in "$REPO_DIR"/docs/*.md; do shipped+=("docs/${page##*/}"); done
for f in "${shipped[@]}"; do
  grep -qx "$f" "$WORK/files" || die "the tarball lacks $f"
done
if grep -E '^(dist/test/|test/|lab/|node_modules/)' "$WORK/files" >/dev/null; then die "the tarball ships test, lab or node_modules files"; fi
log "tarball: $(basename "$TGZ"), $(wc -l <"$WORK/files") files, $(du -k "$TGZ" | cut -f1) KiB ($((SECONDS - t0)) s)"

# The newest release (no prerelease) of PACKAGE in RANGE on the npm registry. npm lists the matching versions in
# publish order, not semver order: sort them.
newest_in() { # RANGE PACKAGE
  npm view "$2@$1" version --json | node -e '
    let s = "";
    process.stdin.on("data", (d) => (s += d)).on("end", () => {
      const all = [].concat(JSON.parse(s)).filter((v) => /^\d+\.\d+\.\d+$/.test(v));
      const key = (v) => v.split(".").map(Number);
      all.sort((a, b) => { const [x, y] = [key(a), key(b)]; return x[0] - y[0] || x[1] - y[1] || x[2] - y[2]; });
      process.stdout.write(all[all.length - 1] ?? "");
    });'
}
peer_range() { node -e 'process.stdout.write(require(process.argv[1]).peerDependencies[process.argv[2]])' "$REPO_DIR/package.json" "$1"; }
version_at() { # END PACKAGE: the low end is the range's floor (">=X ..."); the high end the newest release in
  # range; "npm" the range as written, for npm to pick from
  local range
  range=$(peer_range "$2")
  if [[ $1 == npm ]]; then
    echo "$range"
  elif [[ $1 == low ]]; then
    [[ $range =~ ^\>=([0-9]+\.[0-9]+\.[0-9]+) ]] || die "peer range '$range' of $2 has no >= floor"
    echo "${BASH_REMATCH[1]}"
  else
    local v
    v=$(newest_in "$range" "$2")
    [[ -n $v ]] || die "the npm registry has no release of $2 in '$range'"
    echo "$v"
  fi
}

# The directory holding Node.js 22's `node` for this platform, or nothing (with the reason on stderr).
node22_bin_dir() {
  local pkg
  pkg=node-$(node -p 'process.platform + "-" + process.arch')
  if [[ -x $NODE22_DIR/node_modules/$pkg/bin/node ]]; then
    echo "$NODE22_DIR/node_modules/$pkg/bin"
  else
    echo "no Node.js 22 in test/consumer/node22/node_modules/$pkg (run scripts/setup.sh consumer; the lockfile has linux-x64 and linux-arm64 only)" >&2
  fi
}

mapfile -t BLOCKS < <(node -e 'const r = require(process.argv[1]); console.log(r.writeTsBlocks(process.argv[2], process.argv[3]).join("\n"))' \
  "$REPO_DIR/dist/test/helpers/readme.js" "$REPO_DIR/README.md" "$WORK/blocks")
((${#BLOCKS[@]} >= 2)) || die "found ${#BLOCKS[@]} TypeScript blocks in README.md"

passed=()
skipped=()
# Runs a command in this end's project, with this end's Node.js first on PATH.
in_leg() { (cd "$dir" && PATH=$leg_path "$@"); }
for end in "${ENDS[@]}"; do
  t1=$SECONDS
  dir=$WORK/consumer-$end
  leg_path=$PATH
  case "$end" in
    low) source_spec=$TGZ; peers_at=low; ts=$TS_LOW; resolution=node10; types_node=20; scripts=(--ignore-scripts) ;;
    high)
      bin=$(node22_bin_dir 2>"$WORK/node22.why") || true
      if [[ -z $bin ]]; then
        log "SKIP high: $(cat "$WORK/node22.why")"
        skipped+=(high)
        continue
      fi
      leg_path=$bin:$PATH
      source_spec=$TGZ; peers_at=high; ts=$(newest_in "$TS_CURRENT_RANGE" typescript); resolution=nodenext; types_node=22; scripts=(--ignore-scripts) ;;
    git)
      command -v git >/dev/null || die "git: git is not installed (scripts/setup.sh consumer installs it; npm run test:consumer runs that first)"
      source_spec="git+file://$REPO_DIR#$(git -C "$REPO_DIR" rev-parse HEAD)"; peers_at=npm; ts=$(newest_in "$TS_CURRENT_RANGE" typescript)
      resolution=nodenext; types_node=20; scripts=() ;;
    *) die "unknown end '$end' (low, high or git)" ;;
  esac
  [[ -n $ts ]] || die "$end: the npm registry has no TypeScript release in $TS_CURRENT_RANGE"
  node_version=$(PATH=$leg_path node --version)

  mkdir -p "$dir/src"
  cp "$HERE/project/tsconfig.$resolution.json" "$dir/tsconfig.json"
  cp "$HERE/project/run-under-mocks.ts" "$dir/src/"
  cp "$WORK/blocks/"*.ts "$dir/src/"
  printf '{ "name": "soci-eks-consumer-%s", "version": "1.0.0", "private": true, "license": "UNLICENSED" }\n' "$end" >"$dir/package.json"
  specs=()
  for p in "${PEERS[@]}"; do specs+=("$p@$(version_at "$peers_at" "$p")"); done
  tools=("typescript@$ts" "@types/node@$types_node")
  log "$end: Node.js $node_version, TypeScript $ts ($resolution): npm install ${source_spec##*/} ${specs[*]}"
  in_leg npm install --no-audit --no-fund "${scripts[@]}" --loglevel=error "$source_spec" "${specs[@]}" "${tools[@]}" >/dev/null

  # Every peer's engines must allow the Node.js this end runs on (npm only warns).
  in_leg node -e '
    const semver = require(require.resolve("semver", { paths: [require.resolve("@pulumi/pulumi/package.json")] }));
    let bad = 0;
    for (const p of process.argv.slice(1)) {
      const { version, engines } = require(p + "/package.json");
      const wanted = engines && engines.node;
      if (wanted && !semver.satisfies(process.version, wanted)) { console.error(p + " " + version + " needs Node.js " + wanted + "; this end runs " + process.version); bad++; }
    }
    process.exit(bad ? 1 : 0);' "${PEERS[@]}" || die "$end: a peer's engines do not allow Node.js $node_version"

  mapfile -t copies < <(cd "$dir" && find node_modules -path '*/@pulumi/pulumi/package.json' -not -path '*/vendor/*')
  ((${#copies[@]} == 1)) || die "$end: ${#copies[@]} copies of @pulumi/pulumi: ${copies[*]}"
  pulumi_version=$(in_leg node -p 'require("@pulumi/pulumi/package.json").version')
  if [[ $peers_at != npm ]]; then
    [[ $pulumi_version == "${specs[0]##*@}" ]] || die "$end: @pulumi/pulumi is $pulumi_version, asked for ${specs[0]##*@}"
  fi
  log "$end: @pulumi/pulumi $pulumi_version"
  got_ts=$(in_leg node -p 'require("typescript/package.json").version')
  [[ $got_ts == "$ts" ]] || die "$end: typescript is $got_ts, asked for $ts"
  for p in "${PEERS[@]:1}"; do
    log "$end: $p $(in_leg node -p "require('$p/package.json').version")"
  done

  in_leg node -e 'const s = require("soci-eks"); for (const k of ["SociCluster", "SociNodeGroup", "SociIndexBuilder", "PullCheck"]) if (typeof s[k] !== "function") { console.error("soci-eks exports no " + k); process.exit(1); }' \
    || die "$end: require(\"soci-eks\") failed"

  log "$end: strict tsc $ts of ${BLOCKS[*]} and run-under-mocks.ts"
  in_leg ./node_modules/.bin/tsc -p tsconfig.json || die "$end: the README's TypeScript does not compile with TypeScript $ts ($resolution)"

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
  in_leg node dist/run-under-mocks.js "${js[@]}" || die "$end: a README program failed under mocks"

  help=$(in_leg npx --no-install soci-eks --help) || die "$end: npx soci-eks --help failed"
  [[ $help == *"Usage: soci-eks <command>"* && $help == *"userdata"* && $help == *"pull-report"* ]] || die "$end: npx soci-eks --help printed no usage"
  log "$end: PASS (Node.js $node_version, TypeScript $ts, @pulumi/pulumi $pulumi_version; $((SECONDS - t1)) s)"
  passed+=("$end")
done
log "ends passed: ${passed[*]:-none}; skipped: ${skipped[*]:-none} ($((SECONDS - t0)) s)"
echo "consumer: ${#passed[@]} passed, 0 failed, ${#skipped[@]} skipped"
