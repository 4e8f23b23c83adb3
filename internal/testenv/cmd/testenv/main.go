// Command testenv starts the test control plane of package testenv outside
// tests, prints `export KUBECONFIG=...` and runs until interrupted.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"wookie.dev/wookie/internal/testenv"
)

func main() {
	name := flag.String("name", "", `cluster and context name in the kubeconfig (default "testenv")`)
	bare := flag.Bool("bare", false, "start etcd and kube-apiserver only")
	flag.Parse()

	opts := testenv.Options{Name: *name, Controllers: true, Scheduler: true, Kwok: true}
	if *bare {
		opts = testenv.Options{Name: *name}
	}
	fmt.Fprintln(os.Stderr, "starting the test control plane ...")
	env, err := testenv.StartE(opts)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Fprintf(os.Stderr, "✓ %s at %s (%s)\n", env.Context, env.Server, env.Timings())
	fmt.Printf("export KUBECONFIG=%s\n", env.Kubeconfig)
	fmt.Fprintln(os.Stderr, "Ctrl-C stops it and removes its directory.")

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	<-sig
	env.Stop()
	fmt.Fprintln(os.Stderr, "stopped")
}
