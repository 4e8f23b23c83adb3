package plan

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestURLCredentialsRefused: a URL with a password is refused under any
// scheme, in any case of the scheme, and so is a token alone under http,
// https and oci; a user without a password over ssh is not a secret. The
// message names the field and never repeats the secret.
func TestURLCredentialsRefused(t *testing.T) {
	const (
		chartMsg  = `%q has credentials in it (before the @): give them in the credentials file ($WOOKIE_CREDENTIALS), not in the configuration`
		gitMsg    = `%q has credentials in it (before the @): it is written into every GitOps output; give the engines Git credentials of their own`
		serverMsg = `%q has credentials in it (before the @): it is written into the GitOps output; give the engine credentials of its own`
	)
	chartRepo := func(url string) func(*Plan) {
		return func(p *Plan) { p.Clusters[0].Batches[1].Bundles[0].Chart.Repo = url }
	}
	gitRepo := func(url string) func(*Plan) {
		return func(p *Plan) { p.GitOps = &GitOps{Repo: url} }
	}
	chartErr := func(redacted string) Errors {
		return Errors{{Cluster: cl, Batch: "operators", Bundle: "istiod", Field: "chart.repo", Msg: fmt.Sprintf(chartMsg, redacted)}}
	}
	gitErr := func(redacted string) Errors {
		return Errors{{Field: "gitops.repo", Msg: fmt.Sprintf(gitMsg, redacted)}}
	}
	tests := []struct {
		name   string
		mutate func(*Plan)
		want   Errors
	}{
		{"chart repo, upper-case scheme", chartRepo("HTTPS://ci:s3cret@charts.example.com/x"), chartErr("https://xxxxx@charts.example.com/x")},
		{"chart repo, mixed-case http", chartRepo("Http://ci:s3cret@charts.example.com/x"), chartErr("http://xxxxx@charts.example.com/x")},
		{"chart repo, upper-case oci token", chartRepo("OCI://s3cret@registry.example.com/x"), chartErr("oci://xxxxx@registry.example.com/x")},
		{"chart repo, other scheme with a password", chartRepo("ftp://ci:s3cret@charts.example.com/x"), chartErr("ftp://xxxxx@charts.example.com/x")},
		{"gitops repo, ssh with a password", gitRepo("ssh://git:s3cret@git.example.com/org/x.git"), gitErr("ssh://xxxxx@git.example.com/org/x.git")},
		{"gitops repo, upper-case ssh with a password", gitRepo("SSH://git:s3cret@git.example.com/org/x.git"), gitErr("ssh://xxxxx@git.example.com/org/x.git")},
		{"gitops repo, ssh password that does not parse", gitRepo("ssh://git:s3c ret@git.example.com/org/x.git"), gitErr("ssh://xxxxx@git.example.com/org/x.git")},
		{"gitops repo, upper-case https token", gitRepo("HTTPS://s3cret@git.example.com/org/x.git"), gitErr("https://xxxxx@git.example.com/org/x.git")},
		{"gitops repo, ssh user without a password", gitRepo("ssh://git@git.example.com/org/x.git"), nil},
		{"gitops repo, scp-like ssh", gitRepo("git@git.example.com:org/x.git"), nil},
		{
			name: "fleet API server, upper-case https token",
			mutate: func(p *Plan) {
				p.Clusters[0].GitOps = &ClusterGitOps{Fleet: &FleetCluster{APIServer: "HTTPS://s3cret@dev.example.com:6443"}}
			},
			want: Errors{{Cluster: cl, Field: "gitops.fleet.apiServer", Msg: fmt.Sprintf(serverMsg, "https://xxxxx@dev.example.com:6443")}},
		},
		{
			name: "argocd server with user and password",
			mutate: func(p *Plan) {
				p.Clusters[0].GitOps = &ClusterGitOps{ArgoCD: &ArgoCDCluster{Server: "https://admin:s3cret@dev.example.com"}}
			},
			want: Errors{{Cluster: cl, Field: "gitops.argocd.server", Msg: fmt.Sprintf(serverMsg, "https://xxxxx@dev.example.com")}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := validPlan()
			tt.mutate(p)
			err := Normalize(p)
			var got Errors
			if err != nil && !errors.As(err, &got) {
				t.Fatalf("Normalize returned %T, want Errors: %v", err, err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Normalize errors (-want +got):\n%s", diff)
			}
			if err != nil && strings.Contains(err.Error(), "s3c") {
				t.Errorf("message repeats the secret: %v", err)
			}
		})
	}
}

// TestHasCredentials: which URLs carry a secret.
func TestHasCredentials(t *testing.T) {
	for _, tc := range []struct {
		url  string
		want bool
	}{
		{"https://charts.example.com/x", false},
		{"HTTPS://charts.example.com/x", false},
		{"https://ci:s3cret@charts.example.com/x", true},
		{"HTTPS://ci:s3cret@charts.example.com/x", true},
		{"https://tok3n@charts.example.com/x", true},
		{"https://ci:s3cret/x@charts.example.com", true},
		{"oci://registry.example.com/x/a@sha256:0123", false},
		{"ssh://git@git.example.com/x.git", false},
		{"ssh://git:s3cret@git.example.com/x.git", true},
		{"git+ssh://git:s3cret@git.example.com/x.git", true},
		{"ssh://git:s3c ret@git.example.com/x.git", true},
		{"ssh://git@git.example.com/x@y.git", false},
		{"git@git.example.com:org/x.git", false},
		{"./charts/x", false},
	} {
		if got := hasCredentials(tc.url); got != tc.want {
			t.Errorf("hasCredentials(%q) = %v, want %v", tc.url, got, tc.want)
		}
	}
}
