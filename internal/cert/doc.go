// Package cert makes and keeps the plug-in certificate authority of a
// multi-cluster Istio mesh: one root CA shared by every cluster and one
// intermediate CA per cluster, the layout of Istio's tools/certs Makefile
// (https://istio.io/latest/docs/tasks/security/cert-management/plugin-ca-cert/).
//
// NewRoot makes a self-signed root CA, Root.Intermediate signs a cluster's
// intermediate CA with it, and Intermediate.Files gives the four PEM files
// istiod reads from the cacerts Secret (ca-cert.pem, ca-key.pem,
// root-cert.pem, cert-chain.pem); CacertsSecret wraps them in that Secret.
//
// A Store keeps the material in a state directory:
//
//	<dir>/root-cert.pem
//	<dir>/root-key.pem
//	<dir>/<cluster>/ca-cert.pem
//	<dir>/<cluster>/ca-key.pem
//	<dir>/<cluster>/root-cert.pem
//	<dir>/<cluster>/cert-chain.pem
//
// Files are written with mode 0600 and directories the Store creates with
// mode 0700. Every write is atomic: a file goes through a temporary file in
// the same directory and a cluster's four files through a temporary
// directory, each renamed into place, so a failure never leaves a
// half-written set. Loading checks what it reads: every PEM parses, every
// key matches its certificate, and an intermediate chains to the Store's
// root. Loading an intermediate does not need the root key, which may be
// kept offline.
//
// Describe and Info report on certificates for `wookie certs show`; they,
// the String methods and the error messages of this package never contain
// key material.
//
// The package uses the standard library's crypto/x509 only. Since Go 1.26
// key generation always draws from crypto/rand whatever io.Reader the
// options name; the options' Rand feeds serial numbers and signatures.
// Tests that need identical keys use testing/cryptotest.SetGlobalRandom.
package cert
