package pipeline

import (
	"context"
	"io"
	"slices"
	"time"

	"wookie.dev/wookie/internal/cert"
	"wookie.dev/wookie/internal/cluster"
	"wookie.dev/wookie/internal/render"
)

// UpOptions are the choices of Up: Deploy's, and how k3d clusters are
// created.
type UpOptions struct {
	DeployOptions
	// Kubeconfig of DeployOptions is also where k3d writes the new
	// clusters' contexts.

	// ClusterTimeout is how long to wait for each k3d cluster's API
	// server and nodes; 0 means cluster.DefaultTimeout.
	ClusterTimeout time.Duration
	// OnCert receives what was done to each CA the clusters need.
	OnCert func(CertAction)
	// OnCluster receives each step of creating the k3d clusters, and
	// ClusterProgress the output of k3d itself; nil drops them.
	OnCluster       func(cluster.Event)
	ClusterProgress io.Writer
}

// UpError is an error of a stage of Up, which it names, so that a caller
// can tell what to hint at.
type UpError struct {
	// Stage is StageCerts, StageRender, StageRenderInputs, StageClusters
	// or StageDeploy.
	Stage string
	Err   error
}

// The stages of Up, in order.
const (
	// StageCerts makes the missing certificates.
	StageCerts = "certs"
	// StageRender renders the clusters as Deploy needs them.
	StageRender = "render"
	// StageRenderInputs renders the clusters that read inputs with their
	// ((input NAME)) references in place, before any cluster is created.
	StageRenderInputs = "render-inputs"
	// StageClusters creates the k3d clusters.
	StageClusters = "clusters"
	// StageDeploy deploys.
	StageDeploy = "deploy"
)

func (e *UpError) Error() string { return e.Err.Error() }

func (e *UpError) Unwrap() error { return e.Err }

// Up brings the selected clusters of pl up: it makes the certificates
// their Istio cacerts bundles need and the store lacks (never replacing
// any), renders every selected cluster (so that nothing is created when
// the Plan does not render), creates the k3d clusters k3d does not have,
// and deploys.
func (p *Pipeline) Up(ctx context.Context, pl *Plan, o UpOptions) (*Summary, error) {
	sel, err := SelectClusters(pl, o.Clusters)
	if err != nil {
		return nil, err
	}
	if err := p.makeMissingCerts(sel, o.OnCert); err != nil {
		return nil, &UpError{Stage: StageCerts, Err: err}
	}
	res, err := p.RenderLive(ctx, pl, o.Clusters)
	if err != nil {
		return nil, &UpError{Stage: StageRender, Err: err}
	}
	if err := p.renderWithInputRefs(ctx, pl, sel); err != nil {
		return nil, &UpError{Stage: StageRenderInputs, Err: err}
	}
	if k3d := K3dClusters(sel); len(k3d) > 0 {
		m, err := p.ClusterManager(o.Kubeconfig)
		if err != nil {
			return nil, err
		}
		m.Timeout, m.OnEvent, m.Progress = o.ClusterTimeout, o.OnCluster, o.ClusterProgress
		if _, err := m.Create(ctx, k3d); err != nil {
			return nil, &UpError{Stage: StageClusters, Err: err}
		}
	}
	sum, err := p.Deploy(ctx, pl, res, o.DeployOptions)
	if err != nil {
		return nil, &UpError{Stage: StageDeploy, Err: err}
	}
	return sum, nil
}

// renderWithInputRefs renders the clusters of sel that read inputs, which
// RenderLive leaves to Deploy, with the input references in place, as
// Deploy first renders them (to know which batch waits for which input).
// The rendering is dropped, its warnings too (Deploy says them).
func (p *Pipeline) renderWithInputRefs(ctx context.Context, pl *Plan, sel []Cluster) error {
	with := &Plan{APIVersion: pl.APIVersion, Kind: pl.Kind, GitOps: pl.GitOps}
	for _, c := range sel {
		if len(c.Inputs) > 0 {
			with.Clusters = append(with.Clusters, c)
		}
	}
	if len(with.Clusters) == 0 {
		return nil
	}
	opts, err := p.renderOptions(liveRender)
	if err != nil {
		return err
	}
	_, err = render.Render(ctx, with, opts)
	return err
}

// makeMissingCerts makes the root CA and the intermediate CAs that the
// istioCACerts bundles of clusters need and the certificate store lacks,
// replacing nothing.
func (p *Pipeline) makeMissingCerts(clusters []Cluster, onCert func(CertAction)) error {
	var names []string
	for _, c := range clusters {
		for _, b := range c.Batches {
			for _, u := range b.Bundles {
				if u.Generate != nil && u.Generate.IstioCACerts != nil {
					names = append(names, u.Generate.IstioCACerts.Cluster)
				}
			}
		}
	}
	if len(names) == 0 {
		return nil
	}
	slices.Sort(names)
	return p.InitCerts(slices.Compact(names), CertsOptions{KeyAlgorithm: cert.RSA, OnCert: onCert})
}
