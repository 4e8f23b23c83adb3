// Package planview draws a Plan: its clusters as groups, their batches in
// deploy order, bundles as nodes, and as edges the dependsOn of bundles and
// the cross-cluster inputs that tie a bundle of one cluster to the bundle
// of another whose object it reads.
//
// Build turns a Plan, and optionally its rendered objects, into a Graph;
// DOT, Mermaid and HTML write it. The HTML page is self-contained: the
// layout is computed here, the page carries its own styles and a small
// script for search and selection, and it loads nothing at view time. With
// the bundle states that status reads (Options.Status), its nodes are
// coloured by readiness.
//
// Every output is deterministic: the same Plan gives byte-identical text.
package planview
