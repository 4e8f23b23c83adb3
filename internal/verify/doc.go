// Package verify runs wookie test: it checks a deployed stack, bundle by
// bundle in batch order. For each bundle it runs its chart's Helm test
// hooks (applied, waited for until they succeed or fail, logs read on
// failure, deleted as their delete policy says) and the tests the bundle
// declares in the Plan: CEL expressions over live objects, HTTP requests
// made from inside the cluster by a Job, and sidecar injection checked
// with a server-side dry-run Pod. Each check gives a Result; Report turns
// them into lines, JSON or JUnit XML.
package verify
