//go:build tools

// Package tools pins the node software the lab builds (see lab/build-tools.sh).
package tools

import (
	_ "github.com/distribution/distribution/v3/cmd/registry"
)
