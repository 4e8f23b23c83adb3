// Command wookie plans, renders and deploys Kubernetes stacks described by
// NixOS-style CUE modules.
package main

import (
	"os"

	"wookie.dev/wookie/internal/cli"
)

func main() { os.Exit(cli.Main()) }
