// Package bench holds whole-process benchmarks of the wookie binary. Run
// them with `go test -run='^$' -bench=. ./bench`.
package bench
