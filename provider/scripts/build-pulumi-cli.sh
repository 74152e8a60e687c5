#!/usr/bin/env bash
# Builds the Pulumi CLI (the version of @pulumi/pulumi in package.json) from its Go module into $OUT/bin (default
# .pulumi-cli/bin at the repository root, gitignored). Nothing is downloaded but Go modules (through the Go module
# proxy) and nothing built is committed.
#
# - The CLI: `go install github.com/pulumi/pulumi/pkg/v3/cmd/pulumi@vX` refuses the module (its go.mod has replace
#   directives), so a wrapper module requires pkg/v3 and sdk/v3 at the version and builds the command from it.
# - The language hosts (`pulumi-language-nodejs`, `pulumi-language-python`) are separate modules of the pulumi/pulumi
#   repository that the module proxy does not serve; this script does not build them. Put them on PATH yourself.
# Usage: provider/scripts/build-pulumi-cli.sh   (about 2 GB of RAM; slow on 2 cores)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
version="$(node -p 'require(process.argv[1]).devDependencies["@pulumi/pulumi"]' "$root/package.json")"
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

