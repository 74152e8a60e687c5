//go:build tools

// Package tools pins the node software the lab builds (see lab/build-tools.sh).
package tools

import (
	_ "github.com/aws/amazon-ec2-metadata-mock/cmd/ec2-metadata-mock"
)
