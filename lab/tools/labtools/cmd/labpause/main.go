// Command labpause is the lab's pause (sandbox) image entrypoint: it blocks until
// SIGTERM/SIGINT and exits 0, like registry.k8s.io/pause.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	c := make(chan os.Signal, 1)
	signal.Notify(c, syscall.SIGTERM, syscall.SIGINT)
	<-c
}
