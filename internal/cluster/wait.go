package cluster

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// requestTimeout bounds each request to an API server.
const requestTimeout = 5 * time.Second

// Target says how to reach a cluster.
type Target struct {
	// Kubeconfig is the kubeconfig file; "" means $KUBECONFIG or
	// ~/.kube/config.
	Kubeconfig string
	// Context is the kubeconfig context.
	Context string
}

// restConfig reads t's kubeconfig afresh (k3d may just have written it).
func (t Target) restConfig() (*rest.Config, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	if t.Kubeconfig != "" {
		rules.ExplicitPath = t.Kubeconfig
	}
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{CurrentContext: t.Context}).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("kubeconfig context %q: %w", t.Context, err)
	}
	cfg = rest.CopyConfig(cfg)
	cfg.Timeout = requestTimeout
	cfg.UserAgent = "wookie"
	return cfg, nil
}

// NotReadyError reports a cluster that did not become ready in time.
type NotReadyError struct {
	// Timeout is how long wookie waited.
	Timeout time.Duration
	// Problem is what was not ready at the last look.
	Problem string
}

func (e *NotReadyError) Error() string {
	return fmt.Sprintf("not ready after %s: %s", e.Timeout, e.Problem)
}

// waitReady waits until t's API server is ready and at least nodes nodes
// are registered and every one is Ready, looking every interval, for at
// most timeout. It returns the number of nodes.
func waitReady(ctx context.Context, t Target, nodes int, timeout, interval time.Duration) (int, error) {
	deadline := time.Now().Add(timeout)
	ctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	var last string // what the last look that finished in time saw
	var lastN int
	for {
		n, problem := probe(ctx, t, nodes)
		if problem == "" {
			return n, nil
		}
		// A look cut short by the deadline says only that: the look before
		// it tells what was not ready. The clock says so, not ctx.Err():
		// client-go's rate limiter refuses a request at the deadline
		// ("would exceed context deadline") before the context's timer has
		// fired.
		if time.Now().Before(deadline) || last == "" {
			last, lastN = problem, n
		}
		select {
		case <-ctx.Done():
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return lastN, &NotReadyError{Timeout: timeout, Problem: last}
			}
			return lastN, ctx.Err()
		case <-time.After(interval):
		}
	}
}

// probe looks once at t: it returns the number of nodes and what is not
// ready yet, or "" when the API server is ready and at least want nodes
// are registered, all Ready.
func probe(ctx context.Context, t Target, want int) (int, string) {
	cfg, err := t.restConfig()
	if err != nil {
		return 0, err.Error()
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return 0, err.Error()
	}
	if _, err := cs.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx); err != nil {
		return 0, fmt.Sprintf("API server %s: %s", cfg.Host, reason(err))
	}
	list, err := cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return 0, fmt.Sprintf("list nodes: %s", reason(err))
	}
	var notReady []string
	for _, n := range list.Items {
		if !nodeReady(&n) {
			notReady = append(notReady, n.Name+nodeCondition(&n))
		}
	}
	slices.Sort(notReady)
	switch {
	case len(list.Items) < want:
		msg := fmt.Sprintf("%d of %d nodes registered", len(list.Items), want)
		if len(notReady) > 0 {
			msg += "; not Ready: " + strings.Join(notReady, ", ")
		}
		return len(list.Items), msg
	case len(notReady) > 0:
		return len(list.Items), "nodes not Ready: " + strings.Join(notReady, ", ")
	}
	return len(list.Items), ""
}

// nodeReady reports whether n's Ready condition is True.
func nodeReady(n *corev1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// nodeCondition is n's Ready condition for messages: " (Reason: message)".
func nodeCondition(n *corev1.Node) string {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady && (c.Reason != "" || c.Message != "") {
			return fmt.Sprintf(" (%s: %s)", c.Reason, c.Message)
		}
	}
	return " (no Ready condition)"
}

// reachable asks t's API server for its version.
func reachable(ctx context.Context, t Target) (server, version string, err error) {
	cfg, err := t.restConfig()
	if err != nil {
		return "", "", err
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return cfg.Host, "", err
	}
	v, err := cs.Discovery().ServerVersion()
	if err != nil {
		return cfg.Host, "", fmt.Errorf("API server %s: %s", cfg.Host, reason(err))
	}
	return cfg.Host, v.GitVersion, nil
}

// reason is err without the request URL that client-go puts in front of
// the cause of a failed connection.
func reason(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err.Error()
	}
	return err.Error()
}
