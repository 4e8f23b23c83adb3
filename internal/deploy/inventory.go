package deploy

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/fluxcd/cli-utils/pkg/object"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// The inventory: what wookie applied to a cluster, kept in a ConfigMap.
const (
	InventoryNamespace = "wookie-system"
	InventoryName      = "wookie-inventory"
	inventoryKey       = "inventory.json"
)

// Inventory lists the objects wookie applied to one cluster.
type Inventory struct {
	APIVersion string           `json:"apiVersion"`
	Kind       string           `json:"kind"`
	Entries    []InventoryEntry `json:"entries"`
}

// InventoryEntry is one applied object.
type InventoryEntry struct {
	// ID is the object: namespace_name_group_kind, as cli-utils writes it.
	ID string `json:"id"`
	// Version is the API version it was applied with.
	Version string `json:"version"`
	// Bundle and Priority (of its batch) say where it came from, for the
	// order of pruning.
	Bundle   string `json:"bundle"`
	Priority int    `json:"priority"`
	// Prune is set when the bundle allows deleting CRDs, Namespaces and
	// PersistentVolumeClaims.
	Prune bool `json:"prune,omitempty"`
}

// loadInventory reads the inventory of a cluster; a missing one is empty.
func loadInventory(ctx context.Context, c client.Client) (*Inventory, error) {
	var cm corev1.ConfigMap
	err := c.Get(ctx, client.ObjectKey{Namespace: InventoryNamespace, Name: InventoryName}, &cm)
	if apierrors.IsNotFound(err) {
		return &Inventory{APIVersion: "wookie.dev/v1alpha1", Kind: "Inventory"}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read inventory %s/%s: %w", InventoryNamespace, InventoryName, err)
	}
	var inv Inventory
	if err := json.Unmarshal([]byte(cm.Data[inventoryKey]), &inv); err != nil {
		return nil, fmt.Errorf("inventory %s/%s is damaged (%v): delete it to start over, then deploy without --prune once", InventoryNamespace, InventoryName, err)
	}
	return &inv, nil
}

// saveInventory writes the inventory, sorted, with server-side apply.
func saveInventory(ctx context.Context, c client.Client, inv *Inventory) error {
	slices.SortFunc(inv.Entries, func(a, b InventoryEntry) int { return strings.Compare(a.ID, b.ID) })
	data, err := json.MarshalIndent(inv, "", "  ")
	if err != nil {
		return err
	}
	ns := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1", "kind": "Namespace",
		"metadata": map[string]any{"name": InventoryNamespace},
	}}
	cm := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1", "kind": "ConfigMap",
		"metadata": map[string]any{"name": InventoryName, "namespace": InventoryNamespace,
			"labels": map[string]any{"app.kubernetes.io/managed-by": "wookie"}},
		"data": map[string]any{inventoryKey: string(data)},
	}}
	for _, o := range []*unstructured.Unstructured{ns, cm} {
		if err := c.Patch(ctx, o, client.Apply, client.FieldOwner(FieldManager), client.ForceOwnership); err != nil {
			return fmt.Errorf("write inventory %s/%s: %w", InventoryNamespace, InventoryName, err)
		}
	}
	return nil
}

// merge adds or replaces entries by ID.
func (inv *Inventory) merge(entries []InventoryEntry) {
	for _, e := range entries {
		if i := slices.IndexFunc(inv.Entries, func(x InventoryEntry) bool { return x.ID == e.ID }); i >= 0 {
			inv.Entries[i] = e
		} else {
			inv.Entries = append(inv.Entries, e)
		}
	}
}

// entryFor makes the inventory entry of an object.
func entryFor(u *unstructured.Unstructured, bundle string, priority int, prune bool) InventoryEntry {
	return InventoryEntry{ID: object.UnstructuredToObjMetadata(u).String(), Version: u.GetAPIVersion(), Bundle: bundle, Priority: priority, Prune: prune}
}

// protected kinds are kept by prune unless their bundle says prune: true.
func protected(kind, group string) bool {
	switch {
	case kind == "CustomResourceDefinition" && group == "apiextensions.k8s.io":
		return true
	case kind == "Namespace" && group == "":
		return true
	case kind == "PersistentVolumeClaim" && group == "":
		return true
	}
	return false
}

// object makes an object with just the identity of an inventory entry.
func (e InventoryEntry) object() (*unstructured.Unstructured, error) {
	id, err := object.ParseObjMetadata(e.ID)
	if err != nil {
		return nil, fmt.Errorf("inventory entry %q: %w", e.ID, err)
	}
	u := &unstructured.Unstructured{}
	u.SetAPIVersion(e.Version)
	u.SetKind(id.GroupKind.Kind)
	u.SetName(id.Name)
	u.SetNamespace(id.Namespace)
	return u, nil
}
