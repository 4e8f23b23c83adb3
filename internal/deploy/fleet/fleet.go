package fleet

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"wookie.dev/wookie/internal/deploy"
	"wookie.dev/wookie/internal/emit"
	"wookie.dev/wookie/internal/plan"
)

// The resources of Fleet that wookie writes or reads.
var (
	bundleGVR           = schema.GroupVersionResource{Group: "fleet.cattle.io", Version: "v1alpha1", Resource: "bundles"}
	bundleDeploymentGVR = schema.GroupVersionResource{Group: "fleet.cattle.io", Version: "v1alpha1", Resource: "bundledeployments"}
	clusterGVR          = schema.GroupVersionResource{Group: "fleet.cattle.io", Version: "v1alpha1", Resource: "clusters"}
)

const (
	// ManagedBy is the label (app.kubernetes.io/managed-by: wookie) on
	// every Bundle, Cluster and kubeconfig Secret Deploy writes; Prune
	// deletes only Bundles that carry it.
	ManagedBy = "app.kubernetes.io/managed-by"
	// InstallsLabel marks a bundle of the Plan that installs Fleet itself
	// (wookie.dev/installs: fleet): never handed to Fleet.
	InstallsLabel = "wookie.dev/installs"
	clusterLabel  = "wookie.dev/cluster"
	batchLabel    = "wookie.dev/batch"
	bundleLabel   = "wookie.dev/bundle"
	// gitRepoLabel carries gitops.fleet.gitRepo on the Bundles Deploy
	// makes, so two configurations sharing a workspace prune only their
	// own.
	gitRepoLabel = "wookie.dev/gitrepo"
)

// Options say which clusters Deploy and Status work on, how they reach
// the management cluster and how long Deploy follows Fleet.
type Options struct {
	// Clusters selects clusters of the Plan by name; none means all.
	Clusters []string
	// Kubeconfig replaces every cluster's kubeconfig file when set.
	Kubeconfig string
	// Context replaces the management cluster's kubeconfig context.
	Context string
	// Timeout is how long Deploy waits for Fleet to make every bundle
	// ready; 0 means 10 minutes.
	Timeout time.Duration
	// Settle is how long a Fleet error must last unchanged before Deploy
	// gives up on the bundle and the bundles that depend on it; 0 means
	// 30 seconds.
	Settle time.Duration
	// Interval is how often Deploy reads Fleet's status; 0 means 1s.
	Interval time.Duration
	// Prune deletes the Bundles Deploy made earlier for the selected
	// clusters that are no longer in the Plan.
	Prune bool
	// OnEvent receives each step.
	OnEvent func(deploy.Event)
}

// State is Fleet's verdict on one bundle of the Plan.
type State struct {
	// Cluster, Batch and Bundle name the bundle in the Plan.
	Cluster string `json:"cluster"`
	Batch   string `json:"batch"`
	Bundle  string `json:"bundle"`
	// Workspace and Name name the Fleet Bundle.
	Workspace string `json:"workspace"`
	Name      string `json:"name"`
	// Ready is whether Fleet reports the Bundle Ready on every cluster it
	// targets (at least one).
	Ready bool `json:"ready"`
	// State is Fleet's state of the Bundle (Ready, NotReady, WaitApplied,
	// ErrApplied, OutOfSync, Modified, Pending), or Absent when there is
	// no such Bundle, NoCluster when it targets no Fleet cluster, Stale
	// when Fleet has not processed its current version yet, or Extra for
	// a Bundle wookie made that is no longer in the Plan (Status only).
	State string `json:"state"`
	// Clusters is Fleet's count of ready clusters, "1/1".
	Clusters string `json:"clusters,omitempty"`
	// Message is Fleet's message: the Ready condition's, else those of
	// the BundleDeployments that are not ready, one per cluster.
	Message string `json:"message,omitempty"`
}

// Result is what Deploy did.
type Result struct {
	// States are the bundles handed to Fleet, in the Plan's order.
	States []State `json:"states"`
	// Created, Configured and Unchanged count the Bundles applied.
	Created, Configured, Unchanged int
	// Registered counts the Fleet clusters registered or updated.
	Registered int
	// Pruned counts the Bundles deleted.
	Pruned int
}

// NotReadyError reports bundles Fleet did not make ready.
type NotReadyError struct {
	// States are the bundles that are not ready.
	States []State
	// Of is the number of bundles handed to Fleet.
	Of int
	// Why is "after 10m0s" or "Fleet reports errors".
	Why string
}

func (e *NotReadyError) Error() string {
	lines := []string{fmt.Sprintf("Fleet: %d of %d bundles not ready (%s):", len(e.States), e.Of, e.Why)}
	for _, s := range e.States {
		lines = append(lines, fmt.Sprintf("cluster %s: bundle %s (Bundle %s/%s): %s", s.Cluster, s.Bundle, s.Workspace, s.Name, describe(s)))
	}
	return strings.Join(lines, "\n")
}

// NotInstalledError reports a management cluster without Fleet.
type NotInstalledError struct {
	// Cluster is the management cluster.
	Cluster string
}

func (e *NotInstalledError) Error() string {
	return fmt.Sprintf("cluster %s: Fleet is not installed (the API server has no bundles.fleet.cattle.io)", e.Cluster)
}

// describe is a state for messages: "ErrApplied: message".
func describe(s State) string {
	if s.Message == "" {
		return s.State
	}
	return s.State + ": " + s.Message
}

// session is one Deploy or Status: the Plan, the management cluster's
// clients and the bundles to hand over.
type session struct {
	p       *plan.Plan
	opts    Options
	mgmt    *plan.Cluster
	cfg     *rest.Config
	dyn     dynamic.Interface
	cs      kubernetes.Interface
	bundles []handed
	// selected are the names of the selected clusters that Fleet deploys
	// to.
	selected map[string]bool
	// scope are the clusters --cluster picks (all without it), Fleet's or
	// not: Prune deletes the Bundles wookie made for them that are not
	// handed over now.
	scope []string
}

// FleetClusters returns the clusters of p that deploy --via fleet hands
// to Fleet: the management cluster and gitops.fleet.downstream, or every
// cluster when that is empty.
func FleetClusters(p *plan.Plan) map[string]bool {
	out := map[string]bool{}
	var downstream []string
	mgmt := ""
	if p.GitOps != nil && p.GitOps.Fleet != nil {
		downstream, mgmt = p.GitOps.Fleet.Downstream, p.GitOps.Fleet.Management
	}
	for _, c := range p.Clusters {
		if len(downstream) == 0 || c.Name == mgmt || slices.Contains(downstream, c.Name) || (mgmt == "" && len(p.Clusters) == 1) {
			out[c.Name] = true
		}
	}
	return out
}

// Bundle is the Fleet Bundle resource of one bundle of the Plan, as
// emit.FleetBundles builds it.
type Bundle = emit.FleetBundle

// handed is one bundle to hand to Fleet: its Bundle with wookie's labels
// and the dependsOn entries naming bundles that install Fleet dropped.
type handed struct {
	emit.FleetBundle
	batch string
	obj   *unstructured.Unstructured
}

// Management returns the cluster of p that Fleet runs in:
// gitops.fleet.management, else the only cluster.
func Management(p *plan.Plan) (*plan.Cluster, error) {
	name := ""
	if p.GitOps != nil && p.GitOps.Fleet != nil {
		name = p.GitOps.Fleet.Management
	}
	if name == "" {
		if len(p.Clusters) == 1 {
			return &p.Clusters[0], nil
		}
		var names []string
		for _, c := range p.Clusters {
			names = append(names, c.Name)
		}
		return nil, fmt.Errorf("gitops.fleet.management: not set, and the Plan has %d clusters (%s): name the cluster Fleet runs in (projects: fleet: cluster)", len(p.Clusters), strings.Join(names, ", "))
	}
	for i := range p.Clusters {
		if p.Clusters[i].Name == name {
			return &p.Clusters[i], nil
		}
	}
	return nil, fmt.Errorf("gitops.fleet.management: %s is not a cluster of the Plan", name)
}

// newSession connects to p's management cluster and picks the bundles of
// the selected clusters that Fleet is to deploy.
func newSession(p *plan.Plan, bundles []Bundle, opts Options) (*session, error) {
	mgmt, err := Management(p)
	if err != nil {
		return nil, err
	}
	s := &session{p: p, opts: opts, mgmt: mgmt, selected: map[string]bool{}}
	for _, name := range opts.Clusters {
		if !slices.ContainsFunc(p.Clusters, func(c plan.Cluster) bool { return c.Name == name }) {
			return nil, fmt.Errorf("--cluster %s: no such cluster in the Plan", name)
		}
	}
	viaFleet := FleetClusters(p)
	for _, name := range opts.Clusters {
		if !viaFleet[name] {
			return nil, fmt.Errorf("--cluster %s: not deployed through Fleet (gitops.fleet.downstream, projects.fleet.downstream, leaves it out): deploy it with wookie deploy", name)
		}
	}
	for _, c := range p.Clusters {
		if len(opts.Clusters) == 0 || slices.Contains(opts.Clusters, c.Name) {
			s.scope = append(s.scope, c.Name)
			if viaFleet[c.Name] {
				s.selected[c.Name] = true
			}
		}
	}
	s.cfg, err = deploy.RESTConfig(deploy.Target{Kubeconfig: or(opts.Kubeconfig, mgmt.Kubeconfig), Context: or(opts.Context, mgmt.Context)})
	if err != nil {
		return nil, fmt.Errorf("cluster %s (Fleet's management cluster): %w", mgmt.Name, err)
	}
	if s.dyn, err = dynamic.NewForConfig(s.cfg); err != nil {
		return nil, fmt.Errorf("cluster %s: %w", mgmt.Name, err)
	}
	if s.cs, err = kubernetes.NewForConfig(s.cfg); err != nil {
		return nil, fmt.Errorf("cluster %s: %w", mgmt.Name, err)
	}
	if err := s.pick(bundles); err != nil {
		return nil, err
	}
	return s, nil
}

// pick keeps the bundles of the selected clusters that do not install
// Fleet, and drops the dependsOn entries that name the ones that do:
// those are deployed, and ready, before Fleet can take anything.
func (s *session) pick(bundles []Bundle) error {
	installs := map[string]bool{} // Fleet names of bundles that install Fleet
	for _, b := range bundles {
		if s.installsFleet(b.Cluster, b.Bundle) {
			installs[b.Workspace+"/"+b.Name] = true
		}
	}
	for _, b := range bundles {
		if !s.selected[b.Cluster] || installs[b.Workspace+"/"+b.Name] {
			continue
		}
		obj := &unstructured.Unstructured{Object: b.Object}
		obj = obj.DeepCopy()
		if deps, ok, _ := unstructured.NestedSlice(obj.Object, "spec", "dependsOn"); ok {
			var keep []any
			for _, d := range deps {
				if m, ok := d.(map[string]any); ok && installs[b.Workspace+"/"+fmt.Sprint(m["name"])] {
					continue
				}
				keep = append(keep, d)
			}
			if len(keep) == 0 {
				unstructured.RemoveNestedField(obj.Object, "spec", "dependsOn")
			} else if err := unstructured.SetNestedSlice(obj.Object, keep, "spec", "dependsOn"); err != nil {
				return fmt.Errorf("cluster %s: bundle %s: %w", b.Cluster, b.Bundle, err)
			}
		}
		l := obj.GetLabels()
		if l == nil {
			l = map[string]string{}
		}
		l[ManagedBy] = deploy.FieldManager
		l[gitRepoLabel] = emit.FleetSettings(s.p).GitRepo
		obj.SetLabels(l)
		s.bundles = append(s.bundles, handed{FleetBundle: b, batch: l[batchLabel], obj: obj})
	}
	return nil
}

// installsFleet reports whether bundle of cluster carries
// wookie.dev/installs: fleet in the Plan.
func (s *session) installsFleet(cluster, bundle string) bool {
	for _, c := range s.p.Clusters {
		if c.Name != cluster {
			continue
		}
		for _, b := range c.Batches {
			for _, u := range b.Bundles {
				if u.Name == bundle {
					return u.Labels[InstallsLabel] == "fleet"
				}
			}
		}
	}
	return false
}

// emit sends e to OnEvent.
func (s *session) emit(e deploy.Event) {
	if s.opts.OnEvent != nil {
		e.Time = time.Now()
		s.opts.OnEvent(e)
	}
}

// checkInstalled fails with a *NotInstalledError when the management
// cluster does not serve Fleet's Bundles.
func (s *session) checkInstalled(ctx context.Context) error {
	_, err := s.dyn.Resource(bundleGVR).List(ctx, metav1.ListOptions{Limit: 1})
	if apierrors.IsNotFound(err) {
		return &NotInstalledError{Cluster: s.mgmt.Name}
	}
	if err != nil {
		return fmt.Errorf("cluster %s: list Fleet Bundles: %w", s.mgmt.Name, err)
	}
	return nil
}

// Deploy hands bundles (emit.FleetBundles of p) to Fleet on p's
// management cluster and follows Fleet until every one is ready. It
// registers the selected downstream clusters with Fleet first, and with
// opts.Prune deletes the Bundles it made before that left the Plan. A
// bundle Fleet does not make ready is a *NotReadyError carrying Fleet's
// messages; a management cluster without Fleet a *NotInstalledError.
func Deploy(ctx context.Context, p *plan.Plan, bundles []Bundle, opts Options) (*Result, error) {
	s, err := newSession(p, bundles, opts)
	if err != nil {
		return nil, err
	}
	if err := s.checkInstalled(ctx); err != nil {
		return nil, err
	}
	res := &Result{}
	if len(opts.Clusters) == 0 {
		for _, c := range p.Clusters {
			if !s.selected[c.Name] {
				s.emit(deploy.Event{Type: "note", Cluster: c.Name,
					Message: "not deployed through Fleet (gitops.fleet.downstream leaves it out): deploy it with wookie deploy --cluster " + c.Name})
			}
		}
	}
	if res.Registered, err = s.register(ctx); err != nil {
		return nil, err
	}
	before, err := s.look(ctx, false)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	if err := s.apply(ctx, before, res); err != nil {
		return res, err
	}
	if opts.Prune {
		if res.Pruned, err = s.prune(ctx, before); err != nil {
			return res, err
		}
	}
	res.States, err = s.follow(ctx, start)
	return res, err
}

// Status reads Fleet's verdict on every bundle of the selected clusters
// that Deploy would hand to Fleet, and lists as Extra the Bundles Deploy
// made for them that are no longer in the Plan.
func Status(ctx context.Context, p *plan.Plan, bundles []Bundle, opts Options) ([]State, error) {
	s, err := newSession(p, bundles, opts)
	if err != nil {
		return nil, err
	}
	if err := s.checkInstalled(ctx); err != nil {
		return nil, err
	}
	snap, err := s.look(ctx, true)
	if err != nil {
		return nil, err
	}
	var out []State
	for _, b := range s.bundles {
		out = append(out, s.read(b, snap))
	}
	for _, o := range s.stale(snap) {
		l := o.GetLabels()
		out = append(out, State{
			Cluster: l[clusterLabel], Batch: l[batchLabel], Bundle: l[bundleLabel],
			Workspace: o.GetNamespace(), Name: o.GetName(), State: "Extra",
			Message: "no longer in the Plan: deploy --via fleet --prune deletes it",
		})
	}
	return out, nil
}

// or returns a, or b when a is empty.
func or(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// sortedKeys returns m's keys in order.
func sortedKeys[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}
