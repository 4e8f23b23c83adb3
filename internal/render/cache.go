package render

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utiljson "k8s.io/apimachinery/pkg/util/json"
)

// Cache keeps rendered charts under Dir/render, keyed by everything that
// decides the output: wookie's version, the chart archive's digest, release
// name and namespace, values, Kubernetes version and API versions. Entries
// carry a checksum; an entry that fails it is ignored and rendered anew.
// A render whose chart calls lookup is cached only as answered offline
// (Options.Lookup nil), and such an entry serves only offline renders.
// Nothing of a sensitive or generated bundle is cached, nor anything of a
// cluster with inputs rendered live (deploy fills the inputs' values in
// first). Each object is kept with its YAML (yamlMemo), so that a cache
// hit is written without encoding it again; the objects of a chart's
// crds/ directory are cached too, by chart digest (crdsKey).
type Cache struct {
	Dir string
}

// entryName names a cache entry: the directory under Cache.Dir of its kind
// of entry and its key.
type entryName struct{ kind, key string }

// The kinds of cache entries: renders of charts, and the objects of
// charts' crds/ directories.
const (
	kindRender = "render"
	kindCRDs   = "crds"
)

// cacheKey is the key of a chart render.
func cacheKey(version, digest string, rel releaseSpec) entryName {
	in, _ := json.Marshal(struct {
		Version     string         `json:"v"`
		Digest      string         `json:"digest"`
		Name        string         `json:"name"`
		Namespace   string         `json:"namespace"`
		Values      map[string]any `json:"values"`
		KubeVersion string         `json:"kubeVersion"`
		APIVersions []string       `json:"apiVersions"`
		SkipSchema  bool           `json:"skipSchema,omitempty"`
	}{version, digest, rel.name, rel.namespace, rel.values, rel.caps.KubeVersion.Version, rel.caps.APIVersions, rel.skipSchema})
	sum := sha256.Sum256(in)
	return entryName{kindRender, hex.EncodeToString(sum[:])}
}

// crdsKey is the key of the objects of a chart's crds/ directory: an entry
// under it also says that the archive loaded as chart name.
func crdsKey(version, digest, name string) entryName {
	in, _ := json.Marshal(struct {
		Version string `json:"v"`
		Digest  string `json:"digest"`
		CRDsOf  string `json:"crdsOf"`
	}{version, digest, name})
	sum := sha256.Sum256(in)
	return entryName{kindCRDs, hex.EncodeToString(sum[:])}
}

// cachedObject is an Object as the cache stores it.
type cachedObject struct {
	Source     string         `json:"source"`
	Hook       string         `json:"hook,omitempty"`
	HookWeight int            `json:"hookWeight,omitempty"`
	Object     map[string]any `json:"object"`
	YAML       *yamlMemo      `json:"yaml,omitempty"`
}

type cachedOutput struct {
	Objects      []cachedObject `json:"objects"`
	HooksApplied int            `json:"hooksApplied"`
	HooksDropped int            `json:"hooksDropped"`
	// Lookups are chartOutput.Lookups: a render that called lookup.
	Lookups []string `json:"lookups,omitempty"`
}

type cacheEntry struct {
	Sum    string          `json:"sum"`
	Output json.RawMessage `json:"output"`
}

func (c *Cache) path(e entryName) string {
	return filepath.Join(c.Dir, e.kind, e.key[:2], e.key+".json")
}

// get returns a cached render; a nil cache, a miss or a damaged entry is
// (nil, false).
func (c *Cache) get(key entryName) (*chartOutput, bool) {
	if c == nil {
		return nil, false
	}
	data, err := os.ReadFile(c.path(key))
	if err != nil {
		return nil, false
	}
	var e cacheEntry
	if err := json.Unmarshal(data, &e); err != nil {
		return nil, false
	}
	sum := sha256.Sum256(e.Output)
	if hex.EncodeToString(sum[:]) != e.Sum {
		return nil, false
	}
	var co cachedOutput
	if err := utiljson.Unmarshal(e.Output, &co); err != nil {
		return nil, false
	}
	out := &chartOutput{HooksApplied: co.HooksApplied, HooksDropped: co.HooksDropped, Lookups: co.Lookups}
	for _, o := range co.Objects {
		obj := o.Object
		out.Objects = append(out.Objects, &Object{Unstructured: &unstructured.Unstructured{Object: obj}, Source: o.Source, Hook: o.Hook, HookWeight: o.HookWeight, memo: o.YAML})
	}
	return out, true
}

// put stores a render, each object with its YAML, which it keeps with
// the object too; the cache is an optimisation, so a failed write is not
// an error.
func (c *Cache) put(key entryName, co *chartOutput) {
	if c == nil {
		return
	}
	cached := cachedOutput{HooksApplied: co.HooksApplied, HooksDropped: co.HooksDropped, Lookups: co.Lookups, Objects: []cachedObject{}}
	for _, o := range co.Objects {
		if o.memo == nil {
			o.memo, _ = newYAMLMemo(o.Object)
		}
		cached.Objects = append(cached.Objects, cachedObject{Source: o.Source, Hook: o.Hook, HookWeight: o.HookWeight, Object: o.Object, YAML: o.memo})
	}
	out, err := json.Marshal(cached)
	if err != nil {
		return
	}
	sum := sha256.Sum256(out)
	data, err := json.Marshal(cacheEntry{Sum: hex.EncodeToString(sum[:]), Output: out})
	if err != nil {
		return
	}
	_ = c.write(key, data, slices.ContainsFunc(co.Objects, CarriesSecrets))
}
