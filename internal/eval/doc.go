// Package eval evaluates wookie's configuration: the embedded standard CUE
// modules unified with the user's files (CUE, YAML or JSON), and turns the
// result into a Plan. It reads files and does nothing else: no network, no
// cluster, no writes.
package eval
