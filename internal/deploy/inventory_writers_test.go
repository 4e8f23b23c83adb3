package deploy

import (
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestInventoryTwoWriters: a writer that read the inventory before
// another wrote it (a deploy that lost its lock, and the deploy that took
// it) writes the generation the other wrote already. It does not replace
// the other's shards: the inventory keeps the entries of both, and one
// generation is left.
func TestInventoryTwoWriters(t *testing.T) {
	k := startCluster(t, "writers")
	ctx := testContext(t)
	entry := func(name string) InventoryEntry {
		return InventoryEntry{ID: "apps_" + name + "__ConfigMap", Version: "v1", Bundle: name, Priority: 100}
	}
	first := &Inventory{APIVersion: "wookie.dev/v1alpha1", Kind: "Inventory", cluster: clusterName, Entries: []InventoryEntry{entry("first")}}
	if err := saveInventory(ctx, k.c, first); err != nil {
		t.Fatal(err)
	}
	late, err := loadInventory(ctx, k.c, clusterName)
	if err != nil {
		t.Fatal(err)
	}
	other, err := loadInventory(ctx, k.c, clusterName)
	if err != nil {
		t.Fatal(err)
	}
	other.merge([]InventoryEntry{entry("other")})
	if err := saveInventory(ctx, k.c, other); err != nil {
		t.Fatalf("the other writer: %v", err)
	}
	written := k.shardNames(ctx, t)
	// The late writer drops first (as a prune would) and adds its own.
	late.Entries = []InventoryEntry{entry("late")}
	if err := saveInventory(ctx, k.c, late); err != nil {
		t.Fatalf("the late writer: %v", err)
	}
	want := []string{"apps_first__ConfigMap", "apps_late__ConfigMap", "apps_other__ConfigMap"}
	got := k.inventoryIDs(ctx, t)
	slices.Sort(got)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("inventory after both wrote (-want +got):\n%s", diff)
	}
	names := k.shardNames(ctx, t)
	if len(names) != 1 || slices.Contains(written, names[0]) {
		t.Errorf("shards after the late write: %v, want one newer than the other writer's %v", names, written)
	}
}
