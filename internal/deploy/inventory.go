package deploy

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/fluxcd/cli-utils/pkg/object"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// The inventory: what wookie applied to a cluster of the Plan, kept in
// ConfigMaps of InventoryNamespace whose label LabelInventory is the
// cluster's name (two clusters of a Plan may share an API server; each has
// its own inventory). Each write makes a new
// generation of shards and only then deletes the older ones, and a read is
// the union of every shard there, the newest generation winning an entry:
// a write cut off anywhere leaves a superset of what was recorded.
const (
	InventoryNamespace = "wookie-system"
	// InventoryName is the prefix of the shards' names:
	// wookie-inventory-<cluster>-<generation>-<shard>. Before shards, it
	// was the name of the one ConfigMap of every cluster of the API
	// server, which is still read and then deleted.
	InventoryName = "wookie-inventory"
	// LabelInventory marks the shards with the name of their cluster;
	// LabelGeneration holds their generation.
	LabelInventory  = "wookie.dev/inventory"
	LabelGeneration = "wookie.dev/inventory-generation"

	inventoryKey   = "inventory.json"    // the unsharded ConfigMap's data
	inventoryShard = "inventory.json.gz" // a shard's binaryData
	// shardBytes bounds a shard's compressed entries, well under the 1 MiB
	// an object may have.
	shardBytes = 512 << 10
)

// Inventory lists the objects wookie applied to one cluster.
type Inventory struct {
	APIVersion string           `json:"apiVersion"`
	Kind       string           `json:"kind"`
	Entries    []InventoryEntry `json:"entries"`

	// cluster is the Plan's cluster; generation is the newest generation
	// read; shards lists every shard read, to delete after the next write.
	// stored, when set, is what the cluster holds, sorted: the entries of
	// the one shard read or last written. Writing the same is skipped.
	// mine names the shards this value created: only those may be
	// replaced (a write of its own cut off after them).
	cluster    string
	generation int
	shards     []string
	stored     []InventoryEntry
	mine       map[string]bool
}

// sortEntries sorts entries by ID.
func sortEntries(entries []InventoryEntry) {
	slices.SortFunc(entries, func(a, b InventoryEntry) int { return strings.Compare(a.ID, b.ID) })
}

// InventoryEntry is one applied object.
type InventoryEntry struct {
	// ID is the object: namespace_name_group_kind, as cli-utils writes it.
	ID string `json:"id"`
	// Version is the API version it was applied with.
	Version string `json:"version"`
	// Bundle, Batch and Priority (of its batch) say where it came from,
	// for the order of pruning and what a selection prunes. Entries
	// written before batches were recorded have no Batch.
	Bundle   string `json:"bundle"`
	Batch    string `json:"batch,omitempty"`
	Priority int    `json:"priority"`
	// Prune is set when the bundle allows deleting CRDs, Namespaces and
	// PersistentVolumeClaims.
	Prune bool `json:"prune,omitempty"`
	// Pending is set from before the object's batch is applied until the
	// apply succeeded: the object may or may not exist.
	Pending bool `json:"pending,omitempty"`
}

// loadInventory reads the inventory of the Plan's cluster through c; a
// missing one is empty.
func loadInventory(ctx context.Context, c client.Client, cluster string) (*Inventory, error) {
	inv := &Inventory{APIVersion: "wookie.dev/v1alpha1", Kind: "Inventory", cluster: cluster}
	var list corev1.ConfigMapList
	if err := c.List(ctx, &list, client.InNamespace(InventoryNamespace), client.MatchingLabels{LabelInventory: cluster}); err != nil {
		return nil, fmt.Errorf("read inventory in namespace %s: %w", InventoryNamespace, err)
	}
	// Older generations first, so that newer entries replace them.
	slices.SortFunc(list.Items, func(a, b corev1.ConfigMap) int { return generationOf(&a) - generationOf(&b) })
	for i := range list.Items {
		cm := &list.Items[i]
		entries, err := shardEntries(cm)
		if err != nil {
			return nil, fmt.Errorf("inventory shard %s/%s is damaged (%v): delete it and deploy once without --prune; objects it listed are no longer pruned", InventoryNamespace, cm.Name, err)
		}
		inv.merge(entries)
		inv.generation = max(inv.generation, generationOf(cm))
		inv.shards = append(inv.shards, cm.Name)
	}
	// The ConfigMap of wookie before shards.
	var old corev1.ConfigMap
	err := c.Get(ctx, client.ObjectKey{Namespace: InventoryNamespace, Name: InventoryName}, &old)
	switch {
	case apierrors.IsNotFound(err):
	case err != nil:
		return nil, fmt.Errorf("read inventory %s/%s: %w", InventoryNamespace, InventoryName, err)
	default:
		var legacy Inventory
		if err := json.Unmarshal([]byte(old.Data[inventoryKey]), &legacy); err != nil {
			return nil, fmt.Errorf("inventory %s/%s is damaged (%v): delete it and deploy once without --prune; objects it listed are no longer pruned", InventoryNamespace, InventoryName, err)
		}
		// Older than every shard: shards win.
		inv.Entries = mergeEntries(legacy.Entries, inv.Entries)
		inv.shards = append(inv.shards, InventoryName)
	}
	if len(list.Items) == 1 && len(inv.shards) == 1 {
		inv.stored = slices.Clone(inv.Entries)
		sortEntries(inv.stored)
	}
	return inv, nil
}

// generationOf is the generation label of a shard, 0 when unreadable.
func generationOf(cm *corev1.ConfigMap) int {
	n, _ := strconv.Atoi(cm.Labels[LabelGeneration])
	return n
}

// shardEntries decodes the entries of a shard.
func shardEntries(cm *corev1.ConfigMap) ([]InventoryEntry, error) {
	zr, err := gzip.NewReader(bytes.NewReader(cm.BinaryData[inventoryShard]))
	if err != nil {
		return nil, err
	}
	data, err := io.ReadAll(zr)
	if err != nil {
		return nil, err
	}
	var entries []InventoryEntry
	if err := json.Unmarshal(data, &entries); err != nil {
		return nil, err
	}
	return entries, nil
}

// saveInventory writes inv as a new generation of shards, then deletes the
// shards it was read from (and those of earlier writes); when the cluster
// holds these entries already, it writes nothing. The namespace is
// created when missing.
//
// It never replaces a shard another writer made: when the generation it
// writes exists already (a deploy that lost its lock meets the one that
// took it), it adds the other writer's entries to its own and writes the
// generation after; entries of inv replace theirs.
func saveInventory(ctx context.Context, c client.Client, inv *Inventory) error {
	sortEntries(inv.Entries)
	if inv.stored != nil && slices.Equal(inv.stored, inv.Entries) {
		return nil
	}
	ns := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1", "kind": "Namespace",
		"metadata": map[string]any{"name": InventoryNamespace},
	}}
	if err := c.Patch(ctx, ns, client.Apply, client.FieldOwner(FieldManager), client.ForceOwnership); err != nil {
		return fmt.Errorf("write inventory: namespace %s: %w", InventoryNamespace, err)
	}
	var written []string
	for attempt := 0; ; attempt++ {
		var err error
		written, err = inv.writeGeneration(ctx, c)
		if !errors.Is(err, errShardTaken) {
			if err != nil {
				return err
			}
			break
		}
		if attempt == maxWriteAttempts-1 {
			return fmt.Errorf("write inventory of cluster %s: %w, %d times: other deploys keep writing it", inv.cluster, err, maxWriteAttempts)
		}
		if err := inv.adopt(ctx, c); err != nil {
			return err
		}
	}
	for _, name := range inv.shards {
		if slices.Contains(written, name) {
			continue
		}
		cm := &corev1.ConfigMap{}
		cm.Name, cm.Namespace = name, InventoryNamespace
		if err := c.Delete(ctx, cm); err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("write inventory: delete older shard %s/%s: %w", InventoryNamespace, name, err)
		}
	}
	inv.generation++
	inv.shards, inv.stored = written, slices.Clone(inv.Entries)
	return nil
}

// maxWriteAttempts bounds the generations saveInventory tries.
const maxWriteAttempts = 5

// errShardTaken says that another writer made a shard of the generation
// being written.
var errShardTaken = errors.New("another writer made the same generation")

// writeGeneration creates the shards of generation inv.generation+1 and
// returns their names; a shard of its own that exists (a write cut off) is
// replaced, one of another writer is errShardTaken. Every shard it
// creates is added to inv.shards, to be deleted after a later write when
// this one is cut off.
func (inv *Inventory) writeGeneration(ctx context.Context, c client.Client) ([]string, error) {
	shards, err := packShards(inv.Entries)
	if err != nil {
		return nil, err
	}
	gen := inv.generation + 1
	var written []string
	for i, data := range shards {
		name := fmt.Sprintf("%s-%s-%d-%d", InventoryName, inv.cluster, gen, i)
		cm := &corev1.ConfigMap{}
		cm.Name, cm.Namespace = name, InventoryNamespace
		cm.Labels = map[string]string{
			"app.kubernetes.io/managed-by": "wookie",
			LabelInventory:                 inv.cluster,
			LabelGeneration:                strconv.Itoa(gen),
		}
		cm.BinaryData = map[string][]byte{inventoryShard: data}
		err := c.Create(ctx, cm)
		switch {
		case apierrors.IsAlreadyExists(err) && !inv.mine[name]:
			return nil, fmt.Errorf("shard %s/%s: %w", InventoryNamespace, name, errShardTaken)
		case apierrors.IsAlreadyExists(err):
			var live corev1.ConfigMap
			if err = c.Get(ctx, client.ObjectKeyFromObject(cm), &live); err == nil {
				cm.ResourceVersion = live.ResourceVersion
				err = c.Update(ctx, cm)
			}
		case err == nil:
			if inv.mine == nil {
				inv.mine = map[string]bool{}
			}
			inv.mine[name] = true
			if !slices.Contains(inv.shards, name) {
				inv.shards = append(inv.shards, name)
			}
		}
		if err != nil {
			return nil, fmt.Errorf("write inventory %s/%s: %w", InventoryNamespace, name, err)
		}
		written = append(written, name)
	}
	return written, nil
}

// adopt reads the shards of the cluster that inv neither read nor made,
// which another writer made since inv was read, and adds their entries
// under inv's own (an entry of inv wins); their generations count as
// read and the shards are deleted after inv's next write.
func (inv *Inventory) adopt(ctx context.Context, c client.Client) error {
	var list corev1.ConfigMapList
	if err := c.List(ctx, &list, client.InNamespace(InventoryNamespace), client.MatchingLabels{LabelInventory: inv.cluster}); err != nil {
		return fmt.Errorf("read inventory in namespace %s: %w", InventoryNamespace, err)
	}
	slices.SortFunc(list.Items, func(a, b corev1.ConfigMap) int { return generationOf(&a) - generationOf(&b) })
	var theirs []InventoryEntry
	for i := range list.Items {
		cm := &list.Items[i]
		inv.generation = max(inv.generation, generationOf(cm))
		if inv.mine[cm.Name] || slices.Contains(inv.shards, cm.Name) {
			continue
		}
		entries, err := shardEntries(cm)
		if err != nil {
			return fmt.Errorf("inventory shard %s/%s is damaged (%v): delete it and deploy once without --prune; objects it listed are no longer pruned", InventoryNamespace, cm.Name, err)
		}
		theirs = mergeEntries(theirs, entries)
		inv.shards = append(inv.shards, cm.Name)
	}
	inv.Entries = mergeEntries(theirs, inv.Entries)
	sortEntries(inv.Entries)
	return nil
}

// packShards splits sorted entries into gzipped JSON arrays of at most
// shardBytes each; no entries is one empty shard.
func packShards(entries []InventoryEntry) ([][]byte, error) {
	var out [][]byte
	var pack func(es []InventoryEntry) error
	pack = func(es []InventoryEntry) error {
		data, err := json.Marshal(es)
		if err != nil {
			return err
		}
		var buf bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
		zw.Write(data)
		if err := zw.Close(); err != nil {
			return err
		}
		if buf.Len() > shardBytes && len(es) > 1 {
			if err := pack(es[:len(es)/2]); err != nil {
				return err
			}
			return pack(es[len(es)/2:])
		}
		if buf.Len() > shardBytes {
			return fmt.Errorf("inventory entry %s is larger than a shard", es[0].ID)
		}
		out = append(out, buf.Bytes())
		return nil
	}
	if entries == nil {
		entries = []InventoryEntry{}
	}
	return out, pack(entries)
}

// merge adds or replaces entries by ID.
func (inv *Inventory) merge(entries []InventoryEntry) {
	inv.Entries = mergeEntries(inv.Entries, entries)
}

// mergeEntries returns base with entries added, replacing those of the
// same ID.
func mergeEntries(base, entries []InventoryEntry) []InventoryEntry {
	at := make(map[string]int, len(base))
	for i, e := range base {
		at[e.ID] = i
	}
	for _, e := range entries {
		if i, ok := at[e.ID]; ok {
			base[i] = e
		} else {
			at[e.ID] = len(base)
			base = append(base, e)
		}
	}
	return base
}

// intend adds entries as pending, unless an entry of the same ID is
// already recorded: what is about to be applied is recorded first. It
// reports whether the inventory changed.
func (inv *Inventory) intend(entries []InventoryEntry) bool {
	known := make(map[string]bool, len(inv.Entries))
	for _, e := range inv.Entries {
		known[e.ID] = true
	}
	changed := false
	for _, e := range entries {
		if !known[e.ID] {
			e.Pending = true
			inv.Entries = append(inv.Entries, e)
			known[e.ID] = true
			changed = true
		}
	}
	return changed
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
