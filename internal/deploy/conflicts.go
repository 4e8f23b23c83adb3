package deploy

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"golang.org/x/sync/errgroup"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// conflicts applies every object as a dry run without taking over fields:
// fields another field manager owns are a *ConflictError naming each
// object, manager and field. Any other error fails too, naming the object
// (the apply would not be reached). An object whose namespace or kind does
// not exist yet (the apply creates it first) cannot conflict.
func (d *clusterDeploy) conflicts(ctx context.Context, objs []*unstructured.Unstructured) error {
	msgs := make([]string, len(objs))
	errs := make([]error, len(objs))
	var g errgroup.Group
	g.SetLimit(8)
	for i, o := range objs {
		if ctx.Err() != nil {
			break
		}
		if d.isAbsent(o) {
			continue // nobody else has fields of it
		}
		g.Go(func() error {
			msgs[i], errs[i] = d.conflict(ctx, o)
			return nil
		})
	}
	g.Wait()
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	var ce ConflictError
	for i, m := range msgs {
		if m != "" {
			ce.Conflicts = append(ce.Conflicts, subject(objs[i])+": "+m)
		}
	}
	if len(ce.Conflicts) == 0 {
		return nil
	}
	slices.Sort(ce.Conflicts)
	return &ce
}

// conflict applies o as a dry run without taking over fields, and
// returns the conflicts it meets, or "".
func (d *clusterDeploy) conflict(ctx context.Context, o *unstructured.Unstructured) (string, error) {
	err := d.conn.client.Patch(ctx, o.DeepCopy(), client.Apply, client.FieldOwner(FieldManager), client.DryRunAll)
	switch {
	case err == nil:
		return "", nil
	case apierrors.IsConflict(err):
		return strings.TrimPrefix(err.Error(), "Apply failed with "), nil
	case apierrors.IsNotFound(err) || meta.IsNoMatchError(err):
		if why, _, gerr := d.gap(ctx, o); gerr == nil && why != "" {
			return "", nil // it does not exist yet
		}
	}
	return "", fmt.Errorf("%s: check for fields of other managers: %w", subject(o), applyError(err))
}

// ConflictError reports fields other field managers own.
type ConflictError struct {
	// Conflicts name each object, manager and field.
	Conflicts []string
}

func (e *ConflictError) Error() string {
	return "field conflicts with other managers: " + strings.Join(e.Conflicts, "; ")
}
