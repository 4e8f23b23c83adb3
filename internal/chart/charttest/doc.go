// Package charttest builds Helm charts in tests and serves them from real
// servers on 127.0.0.1: an HTTP chart repository (Repo) and an OCI registry
// (Registry).
//
// Charts are built by the tests themselves (Package, WriteDir), byte for byte
// reproducibly, so digests can be compared and pinned. Broken and hostile
// archives are built with Archive and Bomb. The servers inject faults on
// demand (FailNext, Delay, Tamper, SetIndex) and count the requests they
// serve, so tests can check retries, timeouts, digest verification and
// offline behaviour against real HTTP.
//
// Every server is closed when its test ends, and every exported method is
// safe for concurrent use.
package charttest
