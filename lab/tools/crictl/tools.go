//go:build tools

// Package tools pins the node software the lab builds (see lab/build-tools.sh).
package tools

import (
	_ "sigs.k8s.io/cri-tools/cmd/crictl"
)
