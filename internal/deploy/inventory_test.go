package deploy

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"wookie.dev/wookie/internal/plan"
)

// manyEntries makes n inventory entries of ConfigMaps in namespace ns,
// sorted, whose names end in 24 random hex digits (the same for the same
// n): hard to compress, as names of real objects are.
func manyEntries(ns string, n int) []InventoryEntry {
	rng := rand.New(rand.NewPCG(uint64(n), 1))
	out := make([]InventoryEntry, n)
	for i := range out {
		out[i] = InventoryEntry{ID: fmt.Sprintf("%s_config-%06d-%012x%012x__ConfigMap", ns, i, rng.Uint64()>>16, rng.Uint64()>>16), Version: "v1", Bundle: "many", Priority: 600}
	}
	return out
}

// shardNames lists the inventory shards of the cluster.
func (k *testCluster) shardNames(ctx context.Context, t *testing.T) []string {
	t.Helper()
	var list corev1.ConfigMapList
	if err := k.c.List(ctx, &list, client.InNamespace(InventoryNamespace), client.MatchingLabels{LabelInventory: clusterName}); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, cm := range list.Items {
		names = append(names, cm.Name)
	}
	slices.Sort(names)
	return names
}

// TestInventoryShards writes an inventory of 50,000 entries (the single
// ConfigMap of before failed at about 6,000), reads it back whole, and
// shows that a write cut off between its shards, or a ConfigMap of the
// inventory before shards, loses no entry.
func TestInventoryShards(t *testing.T) {
	k := startCluster(t, "shards")
	ctx := testContext(t)
	inv := &Inventory{APIVersion: "wookie.dev/v1alpha1", Kind: "Inventory", cluster: clusterName, Entries: manyEntries("big", 50000)}
	if err := saveInventory(ctx, k.c, inv); err != nil {
		t.Fatalf("save 50,000 entries: %v", err)
	}
	got, err := loadInventory(ctx, k.c, clusterName)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(manyEntries("big", 50000), got.Entries); diff != "" {
		t.Fatalf("entries read back (-want +got):\n%s", diff)
	}
	first := k.shardNames(ctx, t)
	t.Logf("50,000 entries in shards %v", first)
	if len(first) < 2 {
		t.Errorf("50,000 entries in %d shard, want them split", len(first))
	}

	// A second write replaces the shards.
	got.Entries = got.Entries[:10]
	if err := saveInventory(ctx, k.c, got); err != nil {
		t.Fatal(err)
	}
	if names := k.shardNames(ctx, t); len(names) != 1 || slices.Contains(first, names[0]) {
		t.Fatalf("shards after the second write: %v, want one new one (the first were %v)", names, first)
	}
	// Writing the same entries again writes nothing.
	second := k.shardNames(ctx, t)
	again, err := loadInventory(ctx, k.c, clusterName)
	if err != nil {
		t.Fatal(err)
	}
	if err := saveInventory(ctx, k.c, again); err != nil {
		t.Fatal(err)
	}
	if names := k.shardNames(ctx, t); !slices.Equal(names, second) {
		t.Errorf("shards after writing the same entries: %v, want %v untouched", names, second)
	}

	// A write cut off after its first shard: the older generation is
	// still there, and the union is read.
	partial := &Inventory{generation: got.generation, Entries: []InventoryEntry{{ID: "cut_off__ConfigMap", Version: "v1", Bundle: "cut"}}}
	shards, err := packShards(partial.Entries)
	if err != nil {
		t.Fatal(err)
	}
	cm := &corev1.ConfigMap{}
	cm.Name, cm.Namespace = fmt.Sprintf("%s-%s-%d-0", InventoryName, clusterName, got.generation+1), InventoryNamespace
	cm.Labels = map[string]string{LabelInventory: clusterName, LabelGeneration: fmt.Sprint(got.generation + 1)}
	cm.BinaryData = map[string][]byte{inventoryShard: shards[0]}
	if err := k.c.Create(ctx, cm); err != nil {
		t.Fatal(err)
	}
	// And the ConfigMap of wookie before shards.
	legacy := &corev1.ConfigMap{}
	legacy.Name, legacy.Namespace = InventoryName, InventoryNamespace
	legacy.Data = map[string]string{inventoryKey: `{"apiVersion":"wookie.dev/v1alpha1","kind":"Inventory","entries":[{"id":"old_cm__ConfigMap","version":"v1","bundle":"old","priority":1}]}`}
	if err := k.c.Create(ctx, legacy); err != nil {
		t.Fatal(err)
	}
	union, err := loadInventory(ctx, k.c, clusterName)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, e := range union.Entries {
		ids = append(ids, e.ID)
	}
	slices.Sort(ids)
	want := []string{"cut_off__ConfigMap", "old_cm__ConfigMap"}
	for _, e := range manyEntries("big", 50000)[:10] {
		want = append(want, e.ID)
	}
	slices.Sort(want)
	if diff := cmp.Diff(want, ids); diff != "" {
		t.Fatalf("union of the shards and the old ConfigMap (-want +got):\n%s", diff)
	}
	if err := saveInventory(ctx, k.c, union); err != nil {
		t.Fatal(err)
	}
	if names := k.shardNames(ctx, t); len(names) != 1 {
		t.Errorf("shards after a full write: %v, want one", names)
	}
	if k.get(ctx, t, "v1", "ConfigMap", InventoryNamespace, InventoryName) != nil {
		t.Errorf("the ConfigMap of before shards is still there after a write")
	}
}

// TestDeployInterruptedRecords cancels a deploy while its second batch
// waits: what the first and second batches applied is in the inventory
// (it was written with the cancelled context before, and lost), and a
// later deploy of a Plan without them prunes them.
func TestDeployInterruptedRecords(t *testing.T) {
	k := startCluster(t, "interrupt")
	ctx := testContext(t)
	stuck := bundle("stuck", "apps", configMap(t, "waiting"))
	stuck.Readiness = []plan.Readiness{{APIVersion: "v1", Kind: "ConfigMap", Current: "has(data.never)"}}
	p := k.newPlan(t,
		batch("first", 100, bundle("one", "apps", configMap(t, "one"))),
		batch("second", 200, stuck, bundle("two", "apps", configMap(t, "two"))),
		batch("third", 300, bundle("three", "apps", configMap(t, "three"))))
	dctx, cancel := context.WithCancel(ctx)
	twoDone := make(chan struct{})
	go func() {
		// Cancel once bundle two is done and stuck's ConfigMap applied.
		<-twoDone
		for {
			if u, err := k.lookup(ctx, "v1", "ConfigMap", "apps", "waiting"); err == nil && u != nil {
				cancel()
				return
			}
			select {
			case <-dctx.Done():
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}()
	_, events, err := deployPlan(dctx, t, p, Options{OnEvent: func(e Event) {
		if e.Type == "done" && e.Bundle == "two" {
			close(twoDone)
		}
	}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("deploy: %v, want it cancelled\n%s", err, eventLines(events))
	}
	ids := k.inventoryIDs(ctx, t)
	for _, name := range []string{"one", "two", "waiting"} {
		if !slices.Contains(ids, "apps_"+name+"__ConfigMap") {
			t.Errorf("inventory %v lacks ConfigMap apps/%s, applied before the deploy was cancelled", ids, name)
		}
	}
	if slices.Contains(ids, "apps_three__ConfigMap") {
		t.Errorf("inventory %v has ConfigMap apps/three, of a batch never started", ids)
	}
	if k.get(ctx, t, "coordination.k8s.io/v1", "Lease", InventoryNamespace, lockName(clusterName)) != nil {
		t.Errorf("the lock is still held after the deploy returned")
	}
	next := k.newPlan(t, batch("first", 100, bundle("one", "apps", configMap(t, "one"))))
	mustDeploy(ctx, t, next, Options{Prune: true})
	for _, name := range []string{"two", "waiting"} {
		if k.exists(ctx, t, "v1", "ConfigMap", "apps", name) {
			t.Errorf("ConfigMap apps/%s left the Plan and was not pruned", name)
		}
	}
	if !k.exists(ctx, t, "v1", "ConfigMap", "apps", "one") {
		t.Errorf("ConfigMap apps/one, still in the Plan, is gone")
	}
	if diff := cmp.Diff([]string{"apps_one__ConfigMap"}, k.inventoryIDs(ctx, t)); diff != "" {
		t.Errorf("inventory after the prune (-want +got):\n%s", diff)
	}
}

// holdLock makes the deploy lock of the cluster held by holder, renewed
// at renewed for duration.
func (k *testCluster) holdLock(ctx context.Context, t *testing.T, holder string, renewed time.Time, duration time.Duration) {
	t.Helper()
	ns := &corev1.Namespace{}
	ns.Name = InventoryNamespace
	_ = k.c.Create(ctx, ns)
	lease := &coordinationv1.Lease{}
	lease.Name, lease.Namespace = lockName(clusterName), InventoryNamespace
	lease.Spec = coordinationv1.LeaseSpec{
		HolderIdentity:       ptr.To(holder),
		LeaseDurationSeconds: ptr.To(int32(duration / time.Second)),
		RenewTime:            ptr.To(metav1.NewMicroTime(renewed)),
	}
	if err := k.c.Create(ctx, lease); err != nil {
		t.Fatal(err)
	}
}

// TestDeployLock: a deploy refuses while another holds the cluster's lock,
// naming the holder; with --lock-wait it waits until the lock is free; it
// takes over a lock that lapsed, or whose holder on this host has exited.
func TestDeployLock(t *testing.T) {
	k := startCluster(t, "lock")
	ctx := testContext(t)
	p := k.newPlan(t, batch("apps", 100, bundle("one", "apps", configMap(t, "one"))))
	k.holdLock(ctx, t, "alice@elsewhere pid 42 #cafe", time.Now(), time.Minute)
	_, _, err := deployPlan(ctx, t, p, Options{})
	var le *LockError
	if !errors.As(err, &le) || le.Holder != "alice@elsewhere pid 42 #cafe" || !strings.Contains(err.Error(), "alice@elsewhere pid 42") {
		t.Fatalf("deploy while another holds the lock: %v, want a LockError naming alice@elsewhere pid 42", err)
	}
	if k.exists(ctx, t, "v1", "ConfigMap", "apps", "one") {
		t.Fatalf("the refused deploy applied ConfigMap apps/one")
	}

	// The holder lets go while a deploy waits.
	go func() {
		time.Sleep(1500 * time.Millisecond)
		lease := &coordinationv1.Lease{}
		lease.Name, lease.Namespace = lockName(clusterName), InventoryNamespace
		_ = k.c.Delete(context.Background(), lease)
	}()
	if _, events, err := deployPlan(ctx, t, p, Options{LockWait: 30 * time.Second}); err != nil {
		t.Fatalf("deploy with --lock-wait: %v\n%s", err, eventLines(events))
	}

	for _, tc := range []struct{ name, holder, note string }{
		{"lapsed", "bob@elsewhere pid 7 #beef", "took over the lock that bob@elsewhere pid 7 #beef left"},
		{"holder exited", "carol@" + hostname(t) + " pid 999999999 #f00d", "which has exited"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			renewed := time.Now()
			if tc.name == "lapsed" {
				renewed = renewed.Add(-2 * time.Minute)
			}
			k.holdLock(ctx, t, tc.holder, renewed, time.Minute)
			_, events, err := deployPlan(ctx, t, p, Options{})
			if err != nil {
				t.Fatalf("deploy: %v", err)
			}
			if !slices.ContainsFunc(events, func(e Event) bool { return e.Type == "note" && strings.Contains(e.Message, tc.note) }) {
				t.Errorf("no note %q among\n%s", tc.note, eventLines(events))
			}
		})
	}
}

// TestConcurrentDeploys runs deploys of different Plans to one cluster at
// once: each waits for the lock, and the inventory keeps every entry (the
// last writer's entries used to win).
func TestConcurrentDeploys(t *testing.T) {
	k := startCluster(t, "concurrent")
	ctx := testContext(t)
	const n = 4
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		p := k.newPlan(t, batch("apps", 100, bundle(fmt.Sprintf("b%d", i), "apps", configMap(t, fmt.Sprintf("cm%d", i)))))
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _, errs[i] = deployPlan(ctx, t, p, Options{LockWait: time.Minute})
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	ids := k.inventoryIDs(ctx, t)
	for i := range n {
		if id := fmt.Sprintf("apps_cm%d__ConfigMap", i); !slices.Contains(ids, id) {
			t.Errorf("inventory %v lost %s", ids, id)
		}
	}
}

// TestDeployTenThousand deploys 10,000 ConfigMaps in one bundle: the
// inventory is written, and all of them are in it.
func TestDeployTenThousand(t *testing.T) {
	k := startCluster(t, "tenk")
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Minute)
	defer cancel()
	var objs []plan.Object
	for i := range 10000 {
		objs = append(objs, configMap(t, fmt.Sprintf("cm-%05d", i)))
	}
	many := bundle("many", "bulk", objs...)
	many.Wait = ptr.To(false)
	p := k.newPlan(t, batch("bulk", 600, many))
	sum, events, err := deployPlan(ctx, t, p, Options{})
	if err != nil {
		t.Fatalf("deploy: %v\n%s", err, eventLines(events))
	}
	if sum.Objects != 10000 {
		t.Errorf("deployed %d objects, want 10000", sum.Objects)
	}
	if ids := k.inventoryIDs(ctx, t); len(ids) != 10000 {
		t.Errorf("inventory has %d entries, want 10000", len(ids))
	}
}

// hostname is this machine's host name, as a lock's holder names it.
func hostname(t *testing.T) string {
	t.Helper()
	h, err := os.Hostname()
	if err != nil {
		t.Fatal(err)
	}
	return h
}
