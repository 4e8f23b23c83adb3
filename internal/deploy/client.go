package deploy

import (
	"fmt"
	"sync"

	"github.com/go-logr/logr"

	"github.com/fluxcd/cli-utils/pkg/kstatus/polling"
	"github.com/fluxcd/cli-utils/pkg/kstatus/polling/engine"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/fluxcd/pkg/ssa"
)

// FieldManager is the server-side apply field manager wookie uses.
const FieldManager = "wookie"

// owner names wookie to fluxcd/pkg/ssa.
var owner = ssa.Owner{Field: FieldManager, Group: "wookie.dev"}

// Target says how to reach one cluster.
type Target struct {
	// Kubeconfig is the kubeconfig file; "" means $KUBECONFIG or
	// ~/.kube/config.
	Kubeconfig string
	// Context is the kubeconfig context.
	Context string
}

// conn is a connection to one cluster.
type conn struct {
	cfg    *rest.Config
	client client.Client
	mapper meta.RESTMapper
}

// quietLogs silences controller-runtime's logger once: unset, it prints a
// stack trace to stderr when a client is made 30 s after start.
var quietLogs sync.Once

// connect builds a client for t. The REST mapper discovers kinds lazily,
// so kinds whose CRDs an earlier batch created are found.
func connect(t Target) (*conn, error) {
	quietLogs.Do(func() { ctrllog.SetLogger(logr.Discard()) })
	cfg, err := RESTConfig(t)
	if err != nil {
		return nil, err
	}
	hc, err := rest.HTTPClientFor(cfg)
	if err != nil {
		return nil, fmt.Errorf("kubeconfig context %q: %w", t.Context, err)
	}
	mapper, err := apiutil.NewDynamicRESTMapper(cfg, hc)
	if err != nil {
		return nil, fmt.Errorf("context %q: %w", t.Context, err)
	}
	c, err := client.New(cfg, client.Options{HTTPClient: hc, Mapper: mapper})
	if err != nil {
		return nil, fmt.Errorf("context %q: %w", t.Context, err)
	}
	return &conn{cfg: cfg, client: c, mapper: mapper}, nil
}

// RESTConfig is the client configuration of t, as every deploy uses it:
// user agent wookie, no client-side rate limit (API Priority and Fairness
// on the server does that job, as kubectl leaves it to the server, and
// client-go's per-resource buckets would otherwise slow a deploy of
// hundreds of objects down to its QPS).
func RESTConfig(t Target) (*rest.Config, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	if t.Kubeconfig != "" {
		rules.ExplicitPath = t.Kubeconfig
	}
	overrides := &clientcmd.ConfigOverrides{CurrentContext: t.Context}
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, overrides).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("kubeconfig context %q: %w", t.Context, err)
	}
	cfg = rest.CopyConfig(cfg)
	cfg.QPS, cfg.Burst = -1, 0
	cfg.UserAgent = "wookie"
	return cfg, nil
}

// manager returns a resource manager whose waits also use the given
// custom status readers.
func (c *conn) manager(readers []func(meta.RESTMapper) engine.StatusReader) *ssa.ResourceManager {
	var custom []engine.StatusReader
	for _, r := range readers {
		custom = append(custom, r(c.mapper))
	}
	poller := polling.NewStatusPoller(c.client, c.mapper, polling.Options{CustomStatusReaders: custom})
	rm := ssa.NewResourceManager(c.client, poller, owner)
	rm.SetConcurrency(8)
	return rm
}
