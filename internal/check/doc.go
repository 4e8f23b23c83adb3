// Package check validates a rendered Plan offline, before anything reaches
// a cluster: every object against its built-in API type or the schema of
// the CRD in the Plan that defines it, and the Plan as a whole (namespaces
// that exist, custom resources after their CRDs, no private keys in
// outputs meant for Git and a warning for each Secret with data, which
// those outputs leave out (sensitive bundles, which only wookie deploy
// applies, are exempt), no deploy-time input references left, Services
// that select pods, images pinned by tag).
//
// Run takes a Plan and its render.Result and returns a Report of findings,
// each naming the cluster, batch, bundle, object, field path and rule. A
// bundle turns rules off with checks.skip in the Plan, each with a reason
// the Report keeps.
package check
