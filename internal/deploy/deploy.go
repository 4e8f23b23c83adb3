package deploy

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"wookie.dev/wookie/internal/plan"
	"wookie.dev/wookie/internal/render"
)

// DefaultTimeout bounds the wait for one bundle unless the bundle or the
// caller says otherwise.
const DefaultTimeout = 5 * time.Minute

// Options configure Deploy.
type Options struct {
	// Clusters selects clusters by name; empty means all.
	Clusters []string
	// Select picks batches and bundles of the selected clusters (see
	// plan.Selection and select.go); a cluster it picks nothing of is
	// left out as if not selected. The zero Selection picks everything.
	Select plan.Selection
	// Kubeconfig replaces every cluster's kubeconfig file when set.
	Kubeconfig string
	// Context replaces the kubeconfig context; only with one cluster.
	Context string
	// Timeout replaces every bundle's timeout when set.
	Timeout time.Duration
	// DryRun sends every object as a server-side dry run and changes
	// nothing.
	DryRun bool
	// Prune deletes objects wookie applied before that left the Plan.
	Prune bool
	// ForceConflicts takes over fields other field managers own.
	ForceConflicts bool
	// Parallel bounds the bundles of a cluster deployed at once; 0 means 4.
	Parallel int
	// ParallelClusters bounds the clusters applying at once; 0 means 4. A
	// cluster waiting for another cluster's batch does not count.
	ParallelClusters int
	// Render renders the clusters that have inputs, once their values are
	// read and substituted (and, in Deploy, first with the references in
	// place, to know which objects each batch makes), and the clusters
	// that the render.Result given to Deploy, Diff or Status lacks or
	// rendered with a chart calling lookup (render.Bundle.Lookups). Its
	// Charts are needed when those clusters have chart bundles. Its Lookup
	// is replaced: each cluster answers its own charts' lookup calls,
	// read-only, when it is rendered, and those renders are never cached.
	// Its IncludeSecrets and LeaveOutInputRefs are replaced too: what is
	// applied keeps every Secret, and no reference is left in it. The
	// render.Result given should be rendered with IncludeSecrets as well.
	Render render.Options
	// LockWait is how long a deploy waits for another deploy that holds a
	// cluster's lock; 0 refuses at once with a *LockError.
	LockWait time.Duration
	// LockDuration is how long the lock lasts unless renewed; 0 means
	// DefaultLockDuration.
	LockDuration time.Duration
	// Interval is how often readiness is polled; 0 means 1s.
	Interval time.Duration
	// OnEvent receives progress; nil drops it. It is called from several
	// goroutines, one call at a time.
	OnEvent func(Event)

	// diff, set by Diff, records the changes of the dry run.
	diff *changeLog
}

// Event is one step of a deploy, for progress lines and JSON output.
type Event struct {
	Time time.Time `json:"time"`
	// Type is start, done, failed, skipped, namespace, pruned or kept for
	// a bundle or object; hook when the Helm hooks of one phase and weight
	// of a bundle are ready (Message: "pre-install hooks of weight -5
	// ready (Job/ns/name, ...)"); cluster when a cluster is deployed, failed or
	// skipped without a bundle for a cluster that failed or was not
	// deployed (with Batch when it stopped before that batch); input when
	// an input has its value, input-wait when deploy waits for it (with
	// the Batch that needs it, unless the cluster deploys as a whole); note
	// and warning for messages. A note with Batch and Input says that the
	// batch waits for a batch of another cluster, or all of it, because of
	// the input: "batch operators waits for cluster east batch services
	// (input east-ewgw)".
	Type    string `json:"type"`
	Cluster string `json:"cluster"`
	Batch   string `json:"batch,omitempty"`
	Bundle  string `json:"bundle,omitempty"`
	// Input names the input of an input, input-wait or warning event.
	Input      string        `json:"input,omitempty"`
	Objects    int           `json:"objects,omitempty"`
	Created    int           `json:"created,omitempty"`
	Configured int           `json:"configured,omitempty"`
	Unchanged  int           `json:"unchanged,omitempty"`
	Seconds    float64       `json:"seconds,omitempty"`
	Object     string        `json:"object,omitempty"`
	Message    string        `json:"message,omitempty"`
	NotReady   []ObjectState `json:"notReady,omitempty"`
	DryRun     bool          `json:"dryRun,omitempty"`
	// Unvalidated lists, on the done event of a bundle in a dry run, the
	// objects the server could not check because their namespace or kind
	// does not exist before the deploy creates it.
	Unvalidated []string `json:"unvalidated,omitempty"`
}

// ObjectState is the readiness of one live object.
type ObjectState struct {
	Object     string   `json:"object"`
	Status     string   `json:"status"`
	Message    string   `json:"message,omitempty"`
	Conditions []string `json:"conditions,omitempty"`
	// Causes say, one line each, why a workload is not ready, as far as
	// the API server knows (see causes).
	Causes []string `json:"causes,omitempty"`
}

// Summary totals a deploy.
type Summary struct {
	Bundles, Objects, Created, Configured, Unchanged, Pruned, Kept int
}

// Deploy applies r, rendered from p, to the selected clusters of p.
//
// Deploy schedules batches of clusters. All selected clusters start at
// once, up to opts.ParallelClusters applying at a time (a cluster waiting
// for another gives its place up), and each deploys its batches in order.
// A cluster's first batch waits until every selected cluster of its
// dependsOn is deployed. A batch whose bundles refer to inputs waits, for
// each input of a selected cluster, until the batch of that cluster that
// makes the input's object (the first whose rendered objects include one
// of the same API group, kind, namespace and name) is deployed, every
// bundle ready, or, when none makes it, until that whole cluster is; it
// then reads the inputs from the live clusters (waiting for each up to its
// timeout; once, without waiting, in a dry run), substitutes them with
// those read for earlier batches into the cluster, renders the cluster
// with opts.Render and applies the batch from that rendering. Which
// objects a batch makes is known from a rendering with the input
// references in place, made before anything is applied; a cluster that
// cannot be rendered so deploys as a whole, after every selected cluster
// its inputs come from. Inputs from clusters that are not selected are
// read from their live state. Batches that wait for each other are an
// error, naming the chain, before anything is applied.
//
// After a cluster fails, the clusters that depend on it are skipped, and
// a cluster stops before a batch that waits for what the failed cluster
// did not make; the others go on. The error names every cluster that
// failed or was skipped.
func Deploy(ctx context.Context, p *plan.Plan, r *render.Result, opts Options) (*Summary, error) {
	f, err := newFleet(p, r, opts)
	if err != nil {
		return nil, err
	}
	return f.deploy(ctx)
}

// selectClusters returns the target of every selected cluster.
func selectClusters(p *plan.Plan, opts Options) (map[string]Target, error) {
	out := map[string]Target{}
	for _, name := range opts.Clusters {
		if !slices.ContainsFunc(p.Clusters, func(c plan.Cluster) bool { return c.Name == name }) {
			var names []string
			for _, c := range p.Clusters {
				names = append(names, c.Name)
			}
			return nil, fmt.Errorf("--cluster %s: no such cluster in the Plan (it has %s)", name, strings.Join(names, ", "))
		}
	}
	for _, c := range p.Clusters {
		if len(opts.Clusters) > 0 && !slices.Contains(opts.Clusters, c.Name) || !opts.Select.PicksAny(&c) {
			continue
		}
		t := Target{Kubeconfig: c.Kubeconfig, Context: c.Context}
		if opts.Kubeconfig != "" {
			t.Kubeconfig = opts.Kubeconfig
		}
		if opts.Context != "" {
			t.Context = opts.Context
		}
		out[c.Name] = t
	}
	if opts.Context != "" && len(out) > 1 {
		return nil, fmt.Errorf("--context applies to one cluster, and %d are selected: add --cluster", len(out))
	}
	return out, nil
}

// clusterDeploy deploys one cluster.
type clusterDeploy struct {
	plan     *plan.Cluster
	rendered *render.Cluster
	opts     Options
	emit     func(Event)
	sum      *Summary
	conn     *conn
	// next, when set, gives batch i of rendered once it may be applied,
	// perhaps rendered anew: run applies what it returns. done, when set,
	// learns that batch i is deployed.
	next func(ctx context.Context, i int) (*render.Batch, error)
	done func(i int)
	// picked is what opts.Select picks of rendered; nil for all.
	picked *render.Picked

	mu      sync.Mutex
	applied []InventoryEntry

	// absent are the objects that did not exist when their bundle
	// started (uptodate.go); guarded by mu.
	absent map[liveKey]bool

	nsMu      sync.Mutex
	nsChecked map[string]bool // namespaces known to exist or created

	dry dryState // in a dry run, what the deploy would have created
}

// bundleMeta is what the Plan says about a rendered bundle.
type bundleMeta struct {
	wait      bool
	timeout   time.Duration
	readiness []plan.Readiness
	prune     bool
}

func (d *clusterDeploy) meta(b *render.Bundle) (bundleMeta, error) {
	name := b.Name
	if b.Generated {
		name = strings.TrimSuffix(name, "-crds")
	}
	m := bundleMeta{wait: true, timeout: DefaultTimeout}
	for _, pb := range d.plan.Batches {
		for _, u := range pb.Bundles {
			if u.Name != name {
				continue
			}
			m.prune = u.Prune
			if b.Generated {
				break
			}
			m.wait = u.Wait == nil || *u.Wait
			m.readiness = u.Readiness
			if u.Timeout != "" {
				t, err := time.ParseDuration(u.Timeout)
				if err != nil {
					return m, fmt.Errorf("bundle %s: timeout %q: %w", b.Name, u.Timeout, err)
				}
				m.timeout = t
			}
		}
	}
	if d.opts.Timeout > 0 {
		m.timeout = d.opts.Timeout
	}
	return m, nil
}

func (d *clusterDeploy) interval() time.Duration {
	if d.opts.Interval > 0 {
		return d.opts.Interval
	}
	return time.Second
}

// batch returns batch i to apply, from next when it is set.
func (d *clusterDeploy) batch(ctx context.Context, i int) (*render.Batch, error) {
	if d.next == nil {
		return &d.rendered.Batches[i], nil
	}
	b, err := d.next(ctx, i)
	if err != nil {
		return nil, err
	}
	d.rendered.Batches[i] = *b
	return b, nil
}
