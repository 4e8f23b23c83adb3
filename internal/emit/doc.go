// Package emit writes a rendered Plan for people and tools: the manifests
// directory tree, a single YAML stream, and what the GitOps engines Rancher
// Fleet, Helmfile, Argo CD and Flux read, with the Plan's batch order and
// dependsOn carried over in each engine's terms. Every output is built in
// memory, checked whole, then written deterministically and atomically.
package emit
