// Package chart resolves, fetches, verifies and caches Helm charts: from
// http(s) chart repositories, OCI registries and local directories or .tgz
// files. Every chart is pinned by version and content digest (see package
// lock), and bytes whose digest does not match their pin are never returned.
//
// The Helm v4 SDK does the Helm work: repository indexes are parsed by
// pkg/repo/v1, OCI registries are spoken to by pkg/registry, archives are
// loaded by pkg/chart/v2/loader. This package adds what a pinning tool
// needs around them: digests, a content-addressed cache, retries, bounded
// parallelism, credentials that never come from the configuration, and
// checks that keep hostile archives out.
package chart
