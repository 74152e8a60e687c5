//go:build tools

package tools

import (
	_ "github.com/awslabs/soci-snapshotter/cmd/soci"
	_ "github.com/awslabs/soci-snapshotter/cmd/soci-snapshotter-grpc"
)
