package deploy

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"wookie.dev/wookie/internal/plan"
)

// readTimeout bounds one read of an input's object.
const readTimeout = 10 * time.Second

// inputReader reads the inputs of clusters from the live state of the
// clusters they come from, with one connection per source cluster.
type inputReader struct {
	p    *plan.Plan
	opts Options
	// selected are the targets of the selected clusters.
	selected map[string]Target

	mu    sync.Mutex
	conns map[string]*conn
}

// conn returns the connection to the Plan cluster name: its target when it
// is selected, else its own kubeconfig context (--kubeconfig still
// applies).
func (ir *inputReader) conn(name string) (*conn, error) {
	ir.mu.Lock()
	defer ir.mu.Unlock()
	if c, ok := ir.conns[name]; ok {
		return c, nil
	}
	t, ok := ir.selected[name]
	if !ok {
		i := slices.IndexFunc(ir.p.Clusters, func(c plan.Cluster) bool { return c.Name == name })
		if i < 0 {
			return nil, fmt.Errorf("no cluster %q in the Plan", name)
		}
		t = Target{Kubeconfig: ir.p.Clusters[i].Kubeconfig, Context: ir.p.Clusters[i].Context}
		if ir.opts.Kubeconfig != "" {
			t.Kubeconfig = ir.opts.Kubeconfig
		}
	}
	c, err := connect(t)
	if err != nil {
		return nil, err
	}
	if ir.conns == nil {
		ir.conns = map[string]*conn{}
	}
	ir.conns[name] = c
	return c, nil
}

// read returns the values of c's inputs by name, reading them in parallel.
//
// With wait, each input's object is read until the expression yields a
// non-empty string or the input's timeout passes, which is an error; the
// first error is returned after every read has ended. Without wait (diff,
// status, dry runs) each object is read once, and an input without a value
// keeps its reference, reported by a warning event.
func (ir *inputReader) read(ctx context.Context, c *plan.Cluster, wait bool, emit func(Event)) (map[string]string, error) {
	values := map[string]string{}
	errs := make([]error, len(c.Inputs))
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i := range c.Inputs {
		in := &c.Inputs[i]
		wg.Go(func() {
			v, err := ir.readOne(ctx, c.Name, in, wait, emit)
			if err != nil && !wait {
				emit(Event{Type: "warning", Cluster: c.Name, Input: in.Name, Object: sourceName(&in.From),
					Message: fmt.Sprintf("%v: the reference %s stays in its place", err, plan.InputRef(in.Name))})
				v, err = plan.InputRef(in.Name), nil
			}
			mu.Lock()
			defer mu.Unlock()
			values[in.Name], errs[i] = v, err
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return values, nil
}

// sourceName names an input's object: Kind/namespace/name.
func sourceName(s *plan.InputSource) string {
	if s.Namespace != "" {
		return s.Kind + "/" + s.Namespace + "/" + s.Name
	}
	return s.Kind + "/" + s.Name
}

// permanentError is a read error that reading again cannot cure.
type permanentError struct{ msg string }

func (e *permanentError) Error() string { return e.msg }

// readOne reads one input, once or until it has a value or times out.
func (ir *inputReader) readOne(ctx context.Context, cluster string, in *plan.Input, wait bool, emit func(Event)) (string, error) {
	start := time.Now()
	src := &in.From
	where := fmt.Sprintf("%s in cluster %s", sourceName(src), src.Cluster)
	what := fmt.Sprintf("(expression %q)", src.Expression)
	fail := func(format string, args ...any) (string, error) {
		return "", fmt.Errorf("input %s: "+format, append([]any{in.Name}, args...)...)
	}
	expr, err := plan.CompileInputExpression(src.Expression)
	if err != nil {
		return fail("expression %q: %v", src.Expression, err)
	}
	c, err := ir.conn(src.Cluster)
	if err != nil {
		return fail("cluster %s: %v", src.Cluster, err)
	}
	timeout := src.TimeoutOrDefault()
	interval := ir.opts.Interval
	if interval <= 0 {
		interval = time.Second
	}
	waiting := false
	for {
		value, err := readValue(ctx, c, src, expr)
		switch {
		case err == nil && value != "":
			emit(Event{Type: "input", Cluster: cluster, Input: in.Name, Object: sourceName(src),
				Message: "from cluster " + src.Cluster, Seconds: time.Since(start).Seconds()})
			return value, nil
		case err == nil:
			err = errors.New("it yields an empty string")
		}
		if ctx.Err() != nil {
			return "", ctx.Err()
		}
		if !wait {
			return fail("no value from %s %s: %v", where, what, err)
		}
		var perm *permanentError
		if errors.As(err, &perm) {
			return fail("%s: %v", where, err)
		}
		if time.Since(start) >= timeout {
			return fail("no value from %s after %s %s: %v", where, timeout, what, err)
		}
		if !waiting {
			waiting = true
			emit(Event{Type: "input-wait", Cluster: cluster, Input: in.Name, Object: sourceName(src),
				Message: fmt.Sprintf("waiting up to %s for cluster %s: %v", timeout, src.Cluster, err)})
		}
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(min(interval, max(timeout-time.Since(start), time.Millisecond))):
		}
	}
}

// readValue reads an input's object once and evaluates the expression. The
// error says why there is no value yet; it is a *permanentError when
// reading again cannot help.
func readValue(ctx context.Context, c *conn, src *plan.InputSource, expr *plan.InputExpression) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, readTimeout)
	defer cancel()
	gvk := schema.FromAPIVersionAndKind(src.APIVersion, src.Kind)
	mapping, err := c.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	switch {
	case meta.IsNoMatchError(err):
		return "", fmt.Errorf("the cluster does not serve %s %s", src.APIVersion, src.Kind)
	case err != nil:
		return "", err
	}
	namespaced := mapping.Scope.Name() == meta.RESTScopeNameNamespace
	switch {
	case namespaced && src.Namespace == "":
		return "", &permanentError{src.Kind + " is namespaced: set from.namespace"}
	case !namespaced && src.Namespace != "":
		return "", &permanentError{src.Kind + " is cluster-scoped: leave from.namespace empty"}
	}
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(gvk)
	err = c.client.Get(ctx, client.ObjectKey{Namespace: src.Namespace, Name: src.Name}, u)
	switch {
	case apierrors.IsNotFound(err):
		return "", errors.New("not found")
	case err != nil:
		return "", errors.New(strings.Join(strings.Fields(err.Error()), " "))
	}
	return expr.Eval(ctx, u.Object)
}
