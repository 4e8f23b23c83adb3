package render

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strconv"

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
	// YAML is the object's yamlMemo: each field's name, checksum and the
	// size of its YAML, which follows the entry's JSON.
	YAML []cachedField `json:"yaml,omitempty"`
}

// cachedField is a yamlField without its YAML.
type cachedField struct {
	Name string `json:"name"`
	Sum  string `json:"sum"`
	Size int    `json:"size"`
}

type cachedOutput struct {
	Objects []cachedObject `json:"objects"`
	// Tests are chartOutput.Tests, without their YAML.
	Tests        []cachedObject `json:"tests,omitempty"`
	HooksApplied int            `json:"hooksApplied"`
	HooksDropped int            `json:"hooksDropped"`
	// Lookups are chartOutput.Lookups: a render that called lookup.
	Lookups []string `json:"lookups,omitempty"`
	// ReadsAPIVersions is chartOutput.ReadsAPIVersions.
	ReadsAPIVersions bool `json:"readsAPIVersions,omitempty"`
}

// An entry is a line holding the SHA-256, in hex, of the rest; a line
// holding the size of the JSON of the cachedOutput; that JSON; then the
// YAML of the objects' fields (cachedField), one after another: the YAML
// is read as it is, never decoded. (Entries keep the name NAME.json of
// the entries that were JSON alone.)
const entrySumLine = sha256.Size*2 + 1

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
	if err != nil || len(data) < entrySumLine || data[entrySumLine-1] != '\n' {
		return nil, false
	}
	sum := sha256.Sum256(data[entrySumLine:])
	if hex.EncodeToString(sum[:]) != string(data[:entrySumLine-1]) {
		return nil, false
	}
	rest := data[entrySumLine:]
	line, rest, ok := bytes.Cut(rest, []byte("\n"))
	size, err := strconv.Atoi(string(line))
	if !ok || err != nil || size < 0 || size > len(rest) {
		return nil, false
	}
	var co cachedOutput
	if err := utiljson.Unmarshal(rest[:size], &co); err != nil {
		return nil, false
	}
	blobs := rest[size:]
	out := &chartOutput{HooksApplied: co.HooksApplied, HooksDropped: co.HooksDropped, Lookups: co.Lookups, ReadsAPIVersions: co.ReadsAPIVersions}
	for _, o := range co.Objects {
		obj := &Object{Unstructured: &unstructured.Unstructured{Object: o.Object}, Source: o.Source, Hook: o.Hook, HookWeight: o.HookWeight}
		if len(o.YAML) > 0 {
			obj.memo = &yamlMemo{Fields: make([]yamlField, 0, len(o.YAML))}
			for _, f := range o.YAML {
				if f.Size < 0 || f.Size > len(blobs) {
					return nil, false
				}
				obj.memo.Fields = append(obj.memo.Fields, yamlField{Name: f.Name, Sum: f.Sum, YAML: blobs[:f.Size:f.Size]})
				blobs = blobs[f.Size:]
			}
		}
		out.Objects = append(out.Objects, obj)
	}
	if len(blobs) != 0 {
		return nil, false
	}
	for _, o := range co.Tests {
		out.Tests = append(out.Tests, &Object{Unstructured: &unstructured.Unstructured{Object: o.Object}, Source: o.Source, Hook: o.Hook, HookWeight: o.HookWeight})
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
	cached := cachedOutput{HooksApplied: co.HooksApplied, HooksDropped: co.HooksDropped, Lookups: co.Lookups, ReadsAPIVersions: co.ReadsAPIVersions, Objects: []cachedObject{}}
	var blobs bytes.Buffer
	memoize(co.Objects)
	for _, o := range co.Objects {
		e := cachedObject{Source: o.Source, Hook: o.Hook, HookWeight: o.HookWeight, Object: o.Object}
		if o.memo != nil {
			for _, f := range o.memo.Fields {
				e.YAML = append(e.YAML, cachedField{Name: f.Name, Sum: f.Sum, Size: len(f.YAML)})
				blobs.Write(f.YAML)
			}
		}
		cached.Objects = append(cached.Objects, e)
	}
	for _, o := range co.Tests {
		cached.Tests = append(cached.Tests, cachedObject{Source: o.Source, Hook: o.Hook, HookWeight: o.HookWeight, Object: o.Object})
	}
	js, err := json.Marshal(cached)
	if err != nil {
		return
	}
	var body bytes.Buffer
	body.Grow(len(js) + blobs.Len() + 16)
	body.WriteString(strconv.Itoa(len(js)))
	body.WriteByte('\n')
	body.Write(js)
	body.Write(blobs.Bytes())
	sum := sha256.Sum256(body.Bytes())
	data := make([]byte, 0, entrySumLine+body.Len())
	data = hex.AppendEncode(data, sum[:])
	data = append(data, '\n')
	data = append(data, body.Bytes()...)
	_ = c.write(key, data, slices.ContainsFunc(co.Objects, CarriesSecrets))
}
