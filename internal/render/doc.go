// Package render turns a Plan into Kubernetes objects, cluster by cluster,
// batch by batch, bundle by bundle: charts are rendered client-side with
// the Helm v4 SDK (never the helm binary), raw manifests are taken as they
// are, and both get the same treatment afterwards — the bundle's namespace
// on namespaced objects that have none, wookie's labels, Helm's install
// order, CRDs from a chart's crds/ directory in a bundle of their own, Helm
// hooks ordered around the bundle's objects, and a check that no object is
// produced twice.
//
// Bundles whose objects carry secrets (sensitive bundles, and bundles
// generated from wookie's certificate store) are left out unless the caller
// asks for secrets, as wookie deploy does; they are never put in the cache.
//
// Rendering is deterministic (the same Plan and charts give the same
// objects in the same order) and runs bundles in parallel: every chart
// renders as soon as its archive is read, all batches at once, unless its
// templates read the API versions the bundles it depends on bring, in
// which case it renders again in its turn (speculate.go). Helm's fromYaml
// and toYaml are wookie's, with Helm's results and without their JSON
// round trip (templatefuncs.go, yamldecode.go, yamlencode.go); a large
// chart's documents are parsed and its objects encoded on every core
// (parallel.go). An optional
// cache keyed by chart digest, values, capabilities and wookie's version
// makes an unchanged bundle free: it keeps the objects with their YAML
// (yamlmemo.go), which MarshalYAML reuses for every top-level field whose
// value has not changed since, and the objects of charts' crds/
// directories, so that a chart found there is not even loaded. Nothing of
// a cluster rendered with its inputs' values filled in is cached.
package render
