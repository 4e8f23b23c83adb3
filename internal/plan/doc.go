// Package plan defines the Plan, the one versioned data type between wookie's
// front end (module evaluation) and its back end (render, GitOps outputs,
// deploy). A Plan lists clusters, each with batches in deploy order, each with
// bundles in deploy order.
//
// The package is pure: it decodes, validates and orders Plans and does no
// network, file or cluster I/O of its own. Any front end that writes the JSON
// or YAML form (for example `nix eval --json`) can feed wookie's back end.
//
// A Plan goes through three steps: Decode checks the shape of a document
// strictly, Normalize checks its meaning (reporting every problem as Errors)
// and puts it into canonical order, and EncodeJSON or EncodeYAML write it out
// byte for byte the same every time. docs/plan.md describes the format.
package plan
