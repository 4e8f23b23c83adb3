package emit

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/yaml"

	"wookie.dev/wookie/internal/plan"
	"wookie.dev/wookie/internal/render"
)

// The fixed parts of the Argo CD output.
const (
	argoAPIVersion = "argoproj.io/v1alpha1"
	argoKind       = "Application"
	// argoFinalizer makes Argo CD delete an Application's resources when
	// the Application is deleted.
	argoFinalizer = "resources-finalizer.argocd.argoproj.io"
	// argoSyncWave orders the children of an app-of-apps.
	argoSyncWave = "argocd.argoproj.io/sync-wave"
	// argoInCluster is the API server of Argo CD's own cluster, where the
	// Applications live.
	argoInCluster = "https://kubernetes.default.svc"
)

// errArgoNoRepo is returned when the repository the Applications point at
// is not known.
var errArgoNoRepo = errors.New("argocd: the Applications need the Git repository the output is pushed to: set gitops.repo in the configuration or --git-repo")

// argoApplication is the part of an Argo CD Application that wookie writes.
type argoApplication struct {
	APIVersion string      `json:"apiVersion"`
	Kind       string      `json:"kind"`
	Metadata   argoMeta    `json:"metadata"`
	Spec       argoAppSpec `json:"spec"`
}

type argoMeta struct {
	Name        string            `json:"name"`
	Namespace   string            `json:"namespace"`
	Labels      map[string]string `json:"labels,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
	Finalizers  []string          `json:"finalizers,omitempty"`
}

type argoAppSpec struct {
	Project           string                 `json:"project"`
	Source            argoSource             `json:"source"`
	Destination       argoDestination        `json:"destination"`
	SyncPolicy        argoSyncPolicy         `json:"syncPolicy"`
	IgnoreDifferences []argoIgnoreDifference `json:"ignoreDifferences,omitempty"`
}

// argoSource is a directory of a Git repository (Path) or, in chart mode,
// a chart of a Helm repository (Chart, Helm).
type argoSource struct {
	RepoURL        string    `json:"repoURL"`
	TargetRevision string    `json:"targetRevision"`
	Path           string    `json:"path,omitempty"`
	Chart          string    `json:"chart,omitempty"`
	Helm           *argoHelm `json:"helm,omitempty"`
}

// argoHelm is the part of Argo CD's ApplicationSourceHelm that wookie
// writes: how the repo-server runs helm template on the chart.
type argoHelm struct {
	ReleaseName  string      `json:"releaseName"`
	ValuesObject plan.Object `json:"valuesObject,omitempty"`
	// SkipCrds leaves out the chart's crds/ directory (helm template
	// --skip-crds; Argo CD passes --include-crds otherwise).
	SkipCrds bool `json:"skipCrds,omitempty"`
	// SkipTests leaves out the chart's test hooks, which wookie drops.
	SkipTests bool `json:"skipTests,omitempty"`
	// SkipSchemaValidation renders the chart without checking the values
	// against its values.schema.json (helm template
	// --skip-schema-validation).
	SkipSchemaValidation bool `json:"skipSchemaValidation,omitempty"`
}

// argoDestination is a cluster by API server URL (Server) or by the name
// it is registered with in Argo CD (Name), and a namespace.
type argoDestination struct {
	Server    string `json:"server,omitempty"`
	Name      string `json:"name,omitempty"`
	Namespace string `json:"namespace"`
}

type argoSyncPolicy struct {
	Automated   argoAutomated `json:"automated"`
	SyncOptions []string      `json:"syncOptions"`
	Retry       argoRetry     `json:"retry"`
}

type argoAutomated struct {
	Prune    bool `json:"prune"`
	SelfHeal bool `json:"selfHeal"`
}

type argoRetry struct {
	Limit   int         `json:"limit"`
	Backoff argoBackoff `json:"backoff"`
}

type argoBackoff struct {
	Duration    string `json:"duration"`
	Factor      int    `json:"factor"`
	MaxDuration string `json:"maxDuration"`
}

type argoIgnoreDifference struct {
	Group        string   `json:"group,omitempty"`
	Kind         string   `json:"kind"`
	Name         string   `json:"name,omitempty"`
	Namespace    string   `json:"namespace,omitempty"`
	JSONPointers []string `json:"jsonPointers"`
}

// argoRetryPolicy retries a failed sync for a few minutes, so a bundle
// whose CRDs or namespace come from an Application still syncing recovers
// on its own.
var argoRetryPolicy = argoRetry{Limit: 5, Backoff: argoBackoff{Duration: "10s", Factor: 2, MaxDuration: "3m"}}

// argocd builds the Argo CD layout of every cluster:
//
//	<cluster>/<batch>/<bundle>/manifests.yaml  the bundle's manifests
//	<cluster>/applications/<bundle>.yaml       the bundle's Application
//	<cluster>/app-of-apps.yaml                 the Application of the above
//
// The user applies <cluster>/app-of-apps.yaml to Argo CD's namespace once;
// it syncs the bundles' Applications in the order of their sync waves. In
// the rendered mode every Application reads its bundle's manifests from
// Git. In chart mode the Application of a chart bundle has the chart as a
// Helm source instead, which Argo CD's repo-server renders, and the bundle
// has no manifests.yaml.
func (s *site) argocd() error {
	mode := or(s.opts.ArgoCDMode, ModeRendered)
	if mode != ModeRendered && mode != ModeChart {
		return fmt.Errorf("argocd: mode %q: want %s or %s", mode, ModeRendered, ModeChart)
	}
	if s.gitops.Repo == "" {
		return errArgoNoRepo
	}
	owners := map[string]string{} // Application name -> what it deploys
	claim := func(name, subject, what string) error {
		if err := argoCheckName(name, subject); err != nil {
			return err
		}
		if other, dup := owners[name]; dup {
			return fmt.Errorf("%s: argocd: Application name %s is also the one of %s: rename one of them", subject, name, other)
		}
		owners[name] = what
		return nil
	}
	for _, g := range s.clusters {
		if err := claim(g.name, "cluster "+g.name, "the app-of-apps of cluster "+g.name); err != nil {
			return err
		}
		if len(g.nodes) == 0 {
			s.warnf("cluster %s: argocd: no bundles, so %s/applications is empty and Git keeps no empty directory: Argo CD reports the app-of-apps' path missing", g.name, g.name)
		}
		for _, n := range g.nodes {
			subject := fmt.Sprintf("cluster %s: bundle %s", g.name, n.name)
			app := s.argoBundleApp(g, n)
			if err := claim(app.Metadata.Name, subject, fmt.Sprintf("bundle %s of cluster %s", n.name, g.name)); err != nil {
				return err
			}
			chart := false
			if mode == ModeChart && n.plan != nil && n.plan.Chart != nil {
				if src, ok := s.argoChartSource(g, n); ok {
					app.Spec.Source, chart = src, true
				}
			}
			data, err := yaml.Marshal(app)
			if err != nil {
				return fmt.Errorf("%s: argocd: %w", subject, err)
			}
			s.put(g.name+"/applications/"+n.name+".yaml", data)
			if chart {
				continue
			}
			manifests, err := render.MarshalYAML(n.bundle.Objects)
			if err != nil {
				return fmt.Errorf("%s: %w", subject, err)
			}
			s.put(n.dir(g.name)+"/manifests.yaml", manifests)
		}
		data, err := yaml.Marshal(s.argoRootApp(g))
		if err != nil {
			return fmt.Errorf("cluster %s: argocd: %w", g.name, err)
		}
		header := fmt.Sprintf("# The Application of the Applications that deploy cluster %s, one per bundle in\n"+
			"# %s, synced in the order of their sync waves. Apply it once:\n"+
			"#   kubectl apply -n %s -f %s\n",
			g.name, s.repoPath(g.name+"/applications"), s.gitops.ArgoCD.Namespace, s.repoPath(g.name+"/app-of-apps.yaml"))
		s.put(g.name+"/app-of-apps.yaml", append([]byte(header), data...))
	}
	s.warnf("argocd: sync waves between Applications need Application health checks in argocd-cm (resource.customizations.health.argoproj.io_Application); see README")
	return nil
}

// argoCheckName checks that name can be an Application's: Argo CD uses it
// as the value of the app.kubernetes.io/instance label of every resource
// it deploys, so it must be a DNS-1123 label. subject begins the error.
func argoCheckName(name, subject string) error {
	if len(name) > validation.DNS1123LabelMaxLength {
		return fmt.Errorf("%s: argocd: Application name %q is %d characters; Argo CD uses it as the value of the app.kubernetes.io/instance label, which allows at most %d: shorten the cluster or bundle name",
			subject, name, len(name), validation.DNS1123LabelMaxLength)
	}
	if msgs := validation.IsDNS1123Label(name); len(msgs) > 0 {
		return fmt.Errorf("%s: argocd: Application name %q: %s", subject, name, strings.Join(msgs, "; "))
	}
	return nil
}

// argoBundleApp is the Application that deploys n's manifests directory.
func (s *site) argoBundleApp(g *clusterGraph, n *node) argoApplication {
	options := []string{"ServerSideApply=true"}
	if g.needsNamespace(n) {
		options = append(options, "CreateNamespace=true")
	}
	if len(g.crdsFrom(n)) > 0 {
		// The CRDs come from an Application of an earlier wave: without
		// this, the dry run fails until they are there.
		options = append(options, "SkipDryRunOnMissingResource=true")
	}
	var ignore []argoIgnoreDifference
	if n.plan != nil {
		for _, d := range n.plan.IgnoreDifferences {
			ignore = append(ignore, argoIgnoreDifference{
				Group: schema.FromAPIVersionAndKind(d.APIVersion, d.Kind).Group, Kind: d.Kind, Name: d.Name, Namespace: d.Namespace, JSONPointers: d.JSONPointers,
			})
		}
	}
	if len(ignore) > 0 {
		options = append(options, "RespectIgnoreDifferences=true")
	}
	dest := argoDestination{Name: g.name, Namespace: n.namespace}
	if gc := g.cluster.GitOps; gc != nil && gc.ArgoCD != nil {
		if gc.ArgoCD.Server != "" {
			dest.Server, dest.Name = gc.ArgoCD.Server, ""
		} else if gc.ArgoCD.Name != "" {
			dest.Name = gc.ArgoCD.Name
		}
	}
	return argoApplication{
		APIVersion: argoAPIVersion,
		Kind:       argoKind,
		Metadata: argoMeta{
			Name:        g.name + "-" + n.name,
			Namespace:   s.gitops.ArgoCD.Namespace,
			Labels:      n.labels(g.name),
			Annotations: map[string]string{argoSyncWave: strconv.Itoa(n.wave)},
			Finalizers:  []string{argoFinalizer},
		},
		Spec: argoAppSpec{
			Project:     s.gitops.ArgoCD.Project,
			Source:      s.argoSource(n.dir(g.name)),
			Destination: dest,
			SyncPolicy: argoSyncPolicy{
				Automated:   argoAutomated{Prune: true, SelfHeal: true},
				SyncOptions: options,
				Retry:       argoRetryPolicy,
			},
			IgnoreDifferences: ignore,
		},
	}
}

// argoRootApp is the app-of-apps of g: it deploys the bundles'
// Applications into Argo CD's own namespace.
func (s *site) argoRootApp(g *clusterGraph) argoApplication {
	return argoApplication{
		APIVersion: argoAPIVersion,
		Kind:       argoKind,
		Metadata: argoMeta{
			Name:       g.name,
			Namespace:  s.gitops.ArgoCD.Namespace,
			Labels:     map[string]string{"wookie.dev/cluster": g.name},
			Finalizers: []string{argoFinalizer},
		},
		Spec: argoAppSpec{
			Project:     s.gitops.ArgoCD.Project,
			Source:      s.argoSource(g.name + "/applications"),
			Destination: argoDestination{Server: argoInCluster, Namespace: s.gitops.ArgoCD.Namespace},
			SyncPolicy: argoSyncPolicy{
				Automated:   argoAutomated{Prune: true, SelfHeal: true},
				SyncOptions: []string{"ServerSideApply=true"},
				Retry:       argoRetryPolicy,
			},
		},
	}
}

// argoSource is the directory rel of the output in the Git repository.
func (s *site) argoSource(rel string) argoSource {
	return argoSource{RepoURL: s.gitops.Repo, TargetRevision: s.gitops.Revision, Path: s.repoPath(rel)}
}

// argoChartSource is the Helm source that has Argo CD render n's chart, and
// whether there is one: a chart from a local path, or whose values use
// deploy-time inputs, stays rendered.
//
// A chart of an OCI registry is written as Argo CD's Helm OCI source: the
// registry path without oci:// as repoURL (Argo CD takes a repoURL without
// a scheme for an OCI registry) and the chart's name as chart. The release
// name is the bundle's, as wookie renders it; the values go verbatim into
// valuesObject, which Argo CD substitutes nothing in. CRDs of the chart's
// crds/ that wookie puts into a separate bundle (or skips) are left out, so
// that one Application owns them; test hooks are left out, as wookie drops
// them. Argo CD renders with the destination cluster's Kubernetes version
// and API versions, as Fleet and Flux do.
func (s *site) argoChartSource(g *clusterGraph, n *node) (argoSource, bool) {
	ch := n.plan.Chart
	if inputs := n.chartInputs(); len(inputs) > 0 {
		s.warnInputs(g, n, "argocd", inputs, "rendered")
		return argoSource{}, false
	}
	src := argoSource{Chart: ch.Name, TargetRevision: ch.Version}
	switch {
	case strings.HasPrefix(ch.Repo, "oci://"):
		src.RepoURL = strings.TrimSuffix(strings.TrimPrefix(ch.Repo, "oci://"), "/")
	case strings.HasPrefix(ch.Repo, "https://") || strings.HasPrefix(ch.Repo, "http://"):
		src.RepoURL = ch.Repo
	default:
		s.warnf("cluster %s: bundle %s: argocd: the chart comes from the local path %s, which Argo CD cannot pull: its manifests are written rendered", g.name, n.name, ch.Repo)
		return argoSource{}, false
	}
	src.Helm = &argoHelm{
		ReleaseName:          n.name,
		ValuesObject:         ch.Values,
		SkipCrds:             n.plan.CRDs == plan.CRDsSkip || g.separateCRDs(n),
		SkipTests:            true,
		SkipSchemaValidation: ch.SkipSchemaValidation,
	}
	return src, true
}
