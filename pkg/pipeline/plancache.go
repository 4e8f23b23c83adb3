package pipeline

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"wookie.dev/wookie/internal/atomicfile"
	"wookie.dev/wookie/internal/eval"
	"wookie.dev/wookie/internal/plan"
)

// The evaluated Plan is cached under CacheDir/plan, keyed by everything it
// depends on: wookie's cache version (which covers the embedded modules)
// and the name and content of every file the evaluation reads. A hit
// skips CUE evaluation; the entry is decoded and validated as any Plan
// file is, and one that fails its checksum or decoding is evaluated anew.
// Failed evaluations are not cached. Entries are 0600 in 0700
// directories: a configuration may hold values a user would not share.

// planEntry is a cached evaluation.
type planEntry struct {
	Warnings []string        `json:"warnings"`
	Plan     json.RawMessage `json:"plan"`
}

// cachedFile is a cache file: the entry and its checksum.
type cachedFile struct {
	Sum   string          `json:"sum"`
	Entry json.RawMessage `json:"entry"`
}

// evaluate evaluates the configuration, through the plan cache.
func (p *Pipeline) evaluate() (*Plan, []string, error) {
	cfg := eval.Config{Files: p.cfg.Files}
	path, ok := p.planCachePath(cfg)
	if ok {
		if pl, warnings, ok := readPlanCache(path); ok {
			return pl, warnings, nil
		}
	}
	res, err := eval.Evaluate(cfg)
	if err != nil {
		return nil, nil, err
	}
	if ok {
		writePlanCache(path, res.Plan, res.Warnings)
	}
	return res.Plan, res.Warnings, nil
}

// planCachePath is the cache file of the evaluation of cfg; false when
// its inputs cannot be read (the evaluation says why).
func (p *Pipeline) planCachePath(cfg eval.Config) (string, bool) {
	inputs, err := eval.Inputs(cfg)
	if err != nil {
		return "", false
	}
	h := sha256.New()
	fmt.Fprintf(h, "wookie plan cache 1\n%s\n%d\n", p.cfg.CacheVersion, len(inputs))
	for _, name := range inputs {
		f, err := os.Open(name)
		if err != nil {
			return "", false
		}
		st, err := f.Stat()
		if err == nil {
			fmt.Fprintf(h, "%s\x00%d\x00", name, st.Size())
			_, err = io.Copy(h, f)
		}
		f.Close()
		if err != nil {
			return "", false
		}
	}
	key := hex.EncodeToString(h.Sum(nil))
	return filepath.Join(p.CacheDir(), "plan", key[:2], key+".json"), true
}

// readPlanCache reads a cached evaluation; false on a miss or a damaged
// entry.
func readPlanCache(path string) (*Plan, []string, bool) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, false
	}
	var f cachedFile
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, nil, false
	}
	if sum := sha256.Sum256(f.Entry); hex.EncodeToString(sum[:]) != f.Sum {
		return nil, nil, false
	}
	var e planEntry
	if err := json.Unmarshal(f.Entry, &e); err != nil {
		return nil, nil, false
	}
	pl, err := plan.Decode(e.Plan, path)
	if err != nil || plan.Normalize(pl) != nil {
		return nil, nil, false
	}
	return pl, e.Warnings, true
}

// writePlanCache stores an evaluation; the cache is an optimisation, so a
// failed write is no error.
func writePlanCache(path string, pl *Plan, warnings []string) {
	raw, err := json.Marshal(pl)
	if err != nil {
		return
	}
	entry, err := json.Marshal(planEntry{Warnings: warnings, Plan: raw})
	if err != nil {
		return
	}
	sum := sha256.Sum256(entry)
	data, err := json.Marshal(cachedFile{Sum: hex.EncodeToString(sum[:]), Entry: entry})
	if err != nil {
		return
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return
	}
	_ = atomicfile.Write(path, data, 0o600)
}
