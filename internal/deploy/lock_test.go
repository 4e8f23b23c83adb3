package deploy

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"wookie.dev/wookie/internal/plan"
)

// TestDeployLosesLock takes the lock from a deploy while its second
// batch waits: the Lease is deleted, or another deploy becomes its holder
// and writes the inventory. The deploy stops with an error saying it lost
// the lock (naming the new holder), leaves the Lease as it finds it, and
// records what it applied without losing the other deploy's entries.
func TestDeployLosesLock(t *testing.T) {
	k := startCluster(t, "lostlock")
	ctx := testContext(t)
	const thief = "mallory@elsewhere pid 1 #dead"
	tests := []struct {
		name    string
		take    bool // another deploy holds the Lease and writes; else it is deleted
		wantErr string
	}{
		{name: "lease deleted", wantErr: "cluster test: lost the lock of cluster test: the lock was taken by another deploy"},
		{name: "lease taken", take: true, wantErr: "cluster test: lost the lock of cluster test: the lock was taken by another deploy (" + thief + ")"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ns := strings.ReplaceAll(tt.name, " ", "-")
			stuck := bundle("stuck", ns, configMap(t, "waiting"))
			stuck.Readiness = []plan.Readiness{{APIVersion: "v1", Kind: "ConfigMap", Current: "has(data.never)"}}
			stuck.Timeout = "60s"
			p := k.newPlan(t,
				batch("first", 100, bundle("one", ns, configMap(t, "one"))),
				batch("second", 200, stuck),
				batch("third", 300, bundle("three", ns, configMap(t, "three"))))
			taken := make(chan error, 1)
			go func() { taken <- k.takeLock(ctx, ns, tt.take, thief) }()
			began := time.Now()
			_, events, err := deployPlan(ctx, t, p, Options{LockDuration: 3 * time.Second})
			if terr := <-taken; terr != nil {
				t.Fatalf("take the lock: %v", terr)
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("deploy: %v, want an error containing %q\n%s", err, tt.wantErr, eventLines(events))
			}
			if took := time.Since(began); took > 20*time.Second {
				t.Errorf("deploy stopped %s after it began; the lock lapses in 3s", took)
			}
			ids := k.inventoryIDs(ctx, t)
			for _, name := range []string{"one", "waiting"} {
				if !slices.Contains(ids, ns+"_"+name+"__ConfigMap") {
					t.Errorf("inventory %v lacks ConfigMap %s/%s, applied before the lock was lost", ids, ns, name)
				}
			}
			if slices.Contains(ids, ns+"_three__ConfigMap") || k.exists(ctx, t, "v1", "ConfigMap", ns, "three") {
				t.Errorf("ConfigMap %s/three, of a batch after the lock was lost, was applied or recorded (inventory %v)", ns, ids)
			}
			lease := k.get(ctx, t, "coordination.k8s.io/v1", "Lease", InventoryNamespace, lockName(clusterName))
			holder := ""
			if lease != nil {
				holder, _, _ = unstructured.NestedString(lease.Object, "spec", "holderIdentity")
			}
			switch {
			case tt.take && holder != thief:
				t.Errorf("Lease holder after the deploy: %q, want %q, who took it", holder, thief)
			case !tt.take && lease != nil:
				t.Errorf("the deploy made a Lease again after losing it (holder %q)", holder)
			}
			if tt.take && !slices.Contains(ids, ns+"_other__ConfigMap") {
				t.Errorf("inventory %v lost the entry that the deploy holding the lock wrote", ids)
			}
		})
	}
}

// takeLock waits until the ConfigMap waiting of namespace ns exists, then
// deletes the cluster's Lease, or, with take, writes an entry for
// ConfigMap ns/other to the inventory and makes holder the Lease's
// holder, as a deploy that took the lock would (in the other order).
func (k *testCluster) takeLock(ctx context.Context, ns string, take bool, holder string) error {
	for {
		u, err := k.lookup(ctx, "v1", "ConfigMap", ns, "waiting")
		if err != nil {
			return err
		}
		if u != nil {
			break
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
	if take {
		// Written first, so that the deploy surely writes after it.
		inv, err := loadInventory(ctx, k.c, clusterName)
		if err != nil {
			return err
		}
		inv.merge([]InventoryEntry{{ID: ns + "_other__ConfigMap", Version: "v1", Bundle: "other", Priority: 100}})
		if err := saveInventory(ctx, k.c, inv); err != nil {
			return err
		}
	}
	key := client.ObjectKey{Namespace: InventoryNamespace, Name: lockName(clusterName)}
	for {
		lease := &coordinationv1.Lease{}
		if err := k.c.Get(ctx, key, lease); err != nil {
			return err
		}
		var err error
		if take {
			lease.Spec.HolderIdentity = ptr.To(holder)
			lease.Spec.LeaseDurationSeconds = ptr.To(int32(60))
			err = k.c.Update(ctx, lease)
		} else {
			err = k.c.Delete(ctx, lease, client.Preconditions{ResourceVersion: &lease.ResourceVersion})
		}
		if !apierrors.IsConflict(err) {
			return err
		}
	}
}
