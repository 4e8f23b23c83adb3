// Package pipeline is wookie as a library: configuration to Plan, Plan
// pinned by the lock file, charts fetched and rendered, objects written as
// a GitOps output, checked, or deployed, diffed and read back from live
// clusters. The wookie command only turns its flags into calls of this
// package; a program does the same:
//
//	p, err := pipeline.New(pipeline.Config{Files: []string{"wookie.cue"}})
//	pl, err := p.Load()
//	res, err := p.RenderLive(ctx, pl, nil)
//	sum, err := p.Deploy(ctx, pl, res, pipeline.DeployOptions{Prune: true})
//
// Part of it, one batch after another:
//
//	sel := pipeline.Selection{Batches: []string{"crds"}}
//	sum, err = p.Deploy(ctx, pl, res, pipeline.DeployOptions{Select: sel})
//	sts, err := p.Status(ctx, pl, res, pipeline.DeployOptions{Select: sel})
//
// The stages hand each other data: a Plan, a rendered Result, a Summary,
// Changes, BundleStatuses. The types are aliases of wookie's own, so their
// fields and methods are those the command works with. Warnings go to
// Config.Warn; nothing is printed.
//
// Files:
//
//	pipeline.go  Config, New, Load (evaluate or read a Plan), the types
//	lock.go      Pin, Lock, pinned entries, the chart client
//	render.go    Render, RenderLive, Check, Write, WritePart
//	render_output.go  RenderOutput: render, check and write an output, skipped when unchanged
//	output.go    the record of an output, for RenderOutput to skip an unchanged one
//	notes.go     what rendering left out, as notes
//	charts.go    ChartUsage: the Plan's charts, pins, cache state and bundles
//	live.go      Deploy, Diff, Status; ConflictError, LockError
//	fleet.go     FleetBundles, DeployViaFleet, StatusViaFleet; Fleet's errors
//	test.go      Test: Helm test hooks and the bundles' tests on the live clusters
//	state.go     the state directory: configuration name, certificate store, k3d manager
//	certs.go     InitCerts
//	up.go        Up: certificates, rendering, k3d clusters, deploy
//	select.go    the part of a Plan to work on: clusters, batches, bundles
//	version.go   wookie's version
package pipeline
