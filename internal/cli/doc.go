// Package cli is wookie's command line: one file per command, each built by
// a constructor with its flags in a private struct, each turning its flags
// into one library call. stdout carries the product, stderr the narration.
package cli
