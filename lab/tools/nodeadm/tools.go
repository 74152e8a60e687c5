//go:build tools

// Package tools pins the node software the lab builds (see lab/build-tools.sh).
package tools

import (
	_ "github.com/awslabs/amazon-eks-ami/nodeadm/cmd/nodeadm"
)
