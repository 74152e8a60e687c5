#!/usr/bin/env bash
# Builds the Pulumi CLI (the version of @pulumi/pulumi in package.json) from its Go module into $OUT/bin (default
# .pulumi-cli/bin at the repository root, gitignored), and beside it `pulumi-gen-python`: Pulumi's Python SDK
# generator (pkg/v3/codegen/python, what `pulumi package gen-sdk --language python` runs inside the Python language
# host) as a command: `pulumi-gen-python SCHEMA_JSON OUT_DIR`. Nothing is downloaded but Go modules (through the Go
# module proxy) and nothing built is committed. A CLI of the right version already in $OUT/bin is kept.
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
mkdir -p gen-python
cat > gen-python/main.go <<'GO'
// Command pulumi-gen-python writes the Python SDK of a Pulumi package schema: pulumi-gen-python SCHEMA_JSON OUT_DIR.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/blang/semver"
	"github.com/pulumi/pulumi/pkg/v3/codegen/python"
	"github.com/pulumi/pulumi/pkg/v3/codegen/schema"
)

// noDependencies is the loader of a schema that references no other package (it fails any lookup).
type noDependencies struct{}

var errDependency = errors.New("the schema references another package; pulumi-gen-python loads none")

func (noDependencies) LoadPackage(string, *semver.Version) (*schema.Package, error) { return nil, errDependency }
func (noDependencies) LoadPackageV2(context.Context, *schema.PackageDescriptor) (*schema.Package, error) {
	return nil, errDependency
}
func (noDependencies) LoadPackageReference(string, *semver.Version) (schema.PackageReference, error) {
	return nil, errDependency
}
func (noDependencies) LoadPackageReferenceV2(context.Context, *schema.PackageDescriptor) (schema.PackageReference, error) {
	return nil, errDependency
}

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: pulumi-gen-python SCHEMA_JSON OUT_DIR")
		os.Exit(2)
	}
	if err := run(os.Args[1], os.Args[2]); err != nil {
		fmt.Fprintln(os.Stderr, "pulumi-gen-python:", err)
		os.Exit(1)
	}
}

func run(schemaFile, out string) error {
	data, err := os.ReadFile(schemaFile)
	if err != nil {
		return err
	}
	var spec schema.PackageSpec
	if err := json.Unmarshal(data, &spec); err != nil {
		return err
	}
	pkg, diags, err := schema.BindSpec(spec, noDependencies{}, schema.ValidationOptions{})
	if err != nil {
		return err
	}
	if diags.HasErrors() {
		return diags
	}
	files, err := python.GeneratePackage("pulumi-gen-python", pkg, nil, noDependencies{})
	if err != nil {
		return err
	}
	for name, content := range files {
		path := filepath.Join(out, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(path, content, 0o644); err != nil {
			return err
		}
	}
	return nil
}
GO
go get "github.com/pulumi/pulumi/pkg/v3@v$version" "github.com/pulumi/pulumi/sdk/v3@v$version"
go mod tidy
if [[ -x $out/bin/pulumi && "$("$out/bin/pulumi" version 2>/dev/null)" == "v$version" ]]; then
  log "$out/bin/pulumi is already v$version"
else
  go build -trimpath -ldflags "-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$version" \
    -o "$out/bin/pulumi" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi
  log "built $out/bin/pulumi"
fi
go build -trimpath -o "$out/bin/pulumi-gen-python" ./gen-python
log "built $out/bin/pulumi-gen-python"

