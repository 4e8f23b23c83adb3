// Package emit writes a rendered Plan for people and tools: the manifests
// directory tree and a single YAML stream (GitOps formats follow). Every
// output is deterministic and written atomically.
package emit
