package check

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"sync"

	apiextv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"

	"wookie.dev/wookie/internal/atomicfile"
	"wookie.dev/wookie/internal/render"
)

// crdCache keeps the problems of CRD objects under dir/check, keyed by
// wookie's version and the object's content. Entries carry a checksum; an
// entry that fails it is ignored. An empty dir caches nothing.
type crdCache struct {
	dir     string
	version string
}

// cachedProblem is a problem as the cache stores it.
type cachedProblem struct {
	Rule    string `json:"rule"`
	Path    string `json:"path,omitempty"`
	Message string `json:"message"`
}

type crdCacheEntry struct {
	Sum      string          `json:"sum"`
	Problems json.RawMessage `json:"problems"`
}

// all returns the problems of every CRD object of rc, validated in
// parallel (each compiles its CEL rules) or read from the cache.
func (c crdCache) all(rc *render.Cluster) map[*render.Object][]problem {
	var crds []*render.Object
	for _, b := range rc.Batches {
		for _, u := range b.Bundles {
			for _, o := range u.Objects {
				if gvk := o.GroupVersionKind(); gvk.Group == apiextv1.GroupName && gvk.Kind == "CustomResourceDefinition" {
					crds = append(crds, o)
				}
			}
		}
	}
	results := make([][]problem, len(crds))
	var wg sync.WaitGroup
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	for i, o := range crds {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			results[i] = c.problems(o, crdObjectProblems)
		}()
	}
	wg.Wait()
	out := make(map[*render.Object][]problem, len(crds))
	for i, o := range crds {
		out[o] = results[i]
	}
	return out
}

// problems returns check(o) from the cache, or computes and stores it.
func (c crdCache) problems(o *render.Object, check func(*render.Object) []problem) []problem {
	if c.dir == "" {
		return check(o)
	}
	content, ok := render.ContentSum(o.Object)
	if !ok {
		return check(o)
	}
	sum := sha256.Sum256([]byte(c.version + "\n" + content))
	key := hex.EncodeToString(sum[:])
	path := filepath.Join(c.dir, "check", key[:2], key+".json")
	if data, err := os.ReadFile(path); err == nil {
		var e crdCacheEntry
		if json.Unmarshal(data, &e) == nil {
			if s := sha256.Sum256(e.Problems); hex.EncodeToString(s[:]) == e.Sum {
				var cached []cachedProblem
				if json.Unmarshal(e.Problems, &cached) == nil {
					out := make([]problem, len(cached))
					for i, p := range cached {
						out[i] = problem{rule: p.Rule, path: p.Path, message: p.Message}
					}
					return out
				}
			}
		}
	}
	out := check(o)
	cached := make([]cachedProblem, len(out))
	for i, p := range out {
		cached[i] = cachedProblem{Rule: p.rule, Path: p.path, Message: p.message}
	}
	raw, err := json.Marshal(cached)
	if err != nil {
		return out
	}
	s := sha256.Sum256(raw)
	data, err := json.Marshal(crdCacheEntry{Sum: hex.EncodeToString(s[:]), Problems: raw})
	if err == nil {
		_ = atomicfile.Write(path, data, 0o644) // an optimisation: a failed write is no error
	}
	return out
}
