#!/usr/bin/env bash
# Builds the Pulumi CLI and its nodejs and python language hosts (the version of @pulumi/pulumi in package.json)
# from Go source into $OUT/bin (default .pulumi-cli/bin at the repository root, gitignored). Nothing is downloaded
# but Go modules (through the Go module proxy) and nothing built is committed.
#
# - The CLI: `go install github.com/pulumi/pulumi/pkg/v3/cmd/pulumi@vX` refuses the module (its go.mod has replace
#   directives), so a wrapper module requires pkg/v3 and sdk/v3 at the version and builds the command from it.
# - The language hosts (`pulumi-language-nodejs` runs the plugin in provider/; `pulumi-language-python` generates
#   the Python SDK, with the pulumi-language-python-exec script) are separate modules of the pulumi/pulumi repository, not on the proxy: pass a checkout or an
#   extracted tree of the repository at tag vX as PULUMI_SRC. Their replace directives are pointed at the pkg/v3
#   and sdk/v3 modules of the same version in the module cache.
# Usage: PULUMI_SRC=/path/to/pulumi provider/scripts/build-pulumi-cli.sh   (about 2 GB of RAM; slow on 2 cores)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
version="$(node -p 'require(process.argv[1]).dependencies["@pulumi/pulumi"]' "$root/package.json")"
out="${OUT:-$root/.pulumi-cli}"
mkdir -p "$out/bin" "$out/wrapper"
log() { printf 'build-pulumi-cli: %s\n' "$*" >&2; }

log "Pulumi v$version into $out/bin"
cd "$out/wrapper"
cat > go.mod <<MOD
module example.invalid/pulumicli

go 1.25

replace github.com/atotto/clipboard => github.com/tgummerer/clipboard v0.0.0-20241001131231-d02d263e614e
MOD
cat > tools.go <<'GO'
//go:build tools

package tools

import _ "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi"
GO
go get "github.com/pulumi/pulumi/pkg/v3@v$version" "github.com/pulumi/pulumi/sdk/v3@v$version"
go mod tidy
go build -trimpath -ldflags "-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$version" \
  -o "$out/bin/pulumi" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi
log "built $out/bin/pulumi"

if [[ -z "${PULUMI_SRC:-}" ]]; then
  log "PULUMI_SRC not set: language hosts not built"
  exit 0
fi
modcache="$(go env GOMODCACHE)/github.com/pulumi/pulumi"
for lang in nodejs python; do
  src="$PULUMI_SRC/sdk/$lang/cmd/pulumi-language-$lang"
  work="$out/hosts/pulumi-language-$lang"
  rm -rf "$work" && mkdir -p "$work" && cp -r "$src/." "$work/"
  chmod -R u+w "$work"
  sed -i -e "s#=> \.\./\.\./\.\./\.\./pkg\$#=> $modcache/pkg/v3@v$version#" -e "s#=> \.\./\.\./\.\.\$#=> $modcache/sdk/v3@v$version#" "$work/go.mod"
  (cd "$work" && go build -mod=mod -trimpath -o "$out/bin/pulumi-language-$lang" .)
  log "built $out/bin/pulumi-language-$lang"
done
# The python host runs programs (and reads plugin info) through this Python script next to it.
install -m 0755 "$PULUMI_SRC/sdk/python/cmd/pulumi-language-python-exec" "$out/bin/pulumi-language-python-exec"
log "copied $out/bin/pulumi-language-python-exec"
