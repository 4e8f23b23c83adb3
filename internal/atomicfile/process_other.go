//go:build !unix

package atomicfile

// processGone cannot tell here, so no temporary is taken for a dead
// process's: they stay until removed by hand.
func processGone(int) bool { return false }
