// Command writecharts writes the test charts of rendertest (Istio's base,
// istiod and gateway, and the pxc-operator with crds/) as chart directories
// under the directory it is given, a local chart repository for
// bench/render.sh: the same charts the render tests and benchmarks use.
//
// Usage:
//
//	go run ./bench/cmd/writecharts DIR
package main

import (
	"fmt"
	"os"
	"testing"

	"wookie.dev/wookie/internal/chart/charttest"
	"wookie.dev/wookie/internal/render/rendertest"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: writecharts DIR")
		os.Exit(2)
	}
	dir := os.Args[1]
	var t fatal
	rendertest.WriteIstio(t, dir)
	charttest.WriteDir(t, dir, rendertest.Operator())
}

// fatal is the testing.TB that rendertest and charttest write through: a
// failure ends the program. They call only Helper and Fatalf.
type fatal struct{ testing.TB }

func (fatal) Helper() {}

func (fatal) Fatalf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "writecharts: "+format+"\n", args...)
	os.Exit(1)
}
