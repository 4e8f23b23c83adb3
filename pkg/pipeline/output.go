package pipeline

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"wookie.dev/wookie/internal/atomicfile"
	"wookie.dev/wookie/internal/lock"
)

// A render that would write what its output directory already holds is
// skipped (RenderOutput): outputKey hashes everything the output depends
// on (wookie's cache version, the Plan, the lock file, the render and
// output choices, and with Certs the certificate store), recordOutput
// notes after a render the key and a checksum of every file written, and
// outputCurrent finds the key recorded and every file as it was written. Charts are
// covered by their pins: a Plan with a chart that is not pinned, or that
// comes from a local directory (which may change under its pin, and then
// must fail), has no key, and neither has a render without the render
// cache (NoCache asks for a render).

// outputStamp is what recordOutput keeps of an output directory.
type outputStamp struct {
	Key string `json:"key"`
	// Files are the output's files, by slash path: mode and sha256.
	Files map[string]string `json:"files"`
	// Messages are what the render had to show (warnings, notes, the
	// checks' report) that follows from the key, repeated when the
	// render is skipped.
	Messages []Message `json:"messages,omitempty"`
	// Objects, Bundles and Clusters count what the render wrote.
	Objects  int `json:"objects"`
	Bundles  int `json:"bundles"`
	Clusters int `json:"clusters"`
}

// outputKey returns the key of rendering pl with ro into an output with
// eo, writing the part of it part names; extra is the caller's other
// choices that change the output (such as running checks first). false
// says the render must not be skipped.
func (p *Pipeline) outputKey(pl *Plan, ro RenderOptions, eo EmitOptions, part Part, extra string) (string, bool) {
	if ro.NoCache {
		return "", false
	}
	lf, err := p.ReadLock()
	if err != nil || lf == nil && len(lock.Refs(pl)) > 0 {
		return "", false
	}
	for _, r := range lock.Refs(pl) {
		if !strings.HasPrefix(r.Repo, "http://") && !strings.HasPrefix(r.Repo, "https://") && !strings.HasPrefix(r.Repo, "oci://") {
			return "", false
		}
		if _, ok := lf.Lookup(r); !ok {
			return "", false
		}
	}
	h := sha256.New()
	fmt.Fprintf(h, "wookie output 2\n%s\n", p.cfg.CacheVersion)
	for _, v := range []any{pl, ro, eo, part, extra} {
		if err := json.NewEncoder(h).Encode(v); err != nil {
			return "", false
		}
	}
	if lf != nil {
		h.Write(lf.Encode())
	}
	if ro.Certs {
		store, err := p.CertStore()
		if err != nil {
			return "", false
		}
		files, err := treeSums(store.Dir)
		if err != nil && !os.IsNotExist(err) {
			return "", false
		}
		if err := json.NewEncoder(h).Encode(files); err != nil {
			return "", false
		}
	}
	return hex.EncodeToString(h.Sum(nil)), true
}

// stampPath is where the stamp of the output directory dir is kept.
func (p *Pipeline) stampPath(dir string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256([]byte(abs))
	return filepath.Join(p.CacheDir(), "output", hex.EncodeToString(sum[:])+".json"), nil
}

// outputCurrent reports whether dir holds what the render of key wrote,
// every file as it was, and returns what that render recorded.
func (p *Pipeline) outputCurrent(dir, key string) (outputStamp, bool) {
	path, err := p.stampPath(dir)
	if err != nil {
		return outputStamp{}, false
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return outputStamp{}, false
	}
	var st outputStamp
	if err := json.Unmarshal(data, &st); err != nil || st.Key != key {
		return outputStamp{}, false
	}
	files, err := treeSums(dir)
	if err != nil || len(files) != len(st.Files) {
		return outputStamp{}, false
	}
	for name, sum := range files {
		if st.Files[name] != sum {
			return outputStamp{}, false
		}
	}
	return st, true
}

// recordOutput notes that dir holds the render of key, which recorded
// st's messages and counts. A render that cannot be noted is only not
// skipped next time.
func (p *Pipeline) recordOutput(dir, key string, st outputStamp) error {
	path, err := p.stampPath(dir)
	if err != nil {
		return err
	}
	files, err := treeSums(dir)
	if err != nil {
		return err
	}
	st.Key, st.Files = key, files
	data, err := json.Marshal(st)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	return atomicfile.Write(path, data, 0o600)
}

// forgetOutput drops what recordOutput noted of dir.
func (p *Pipeline) forgetOutput(dir string) {
	if path, err := p.stampPath(dir); err == nil {
		_ = os.Remove(path)
	}
}

// treeSums returns "mode sha256" of every file under dir, by slash path;
// anything but files and directories is an error.
func treeSums(dir string) (map[string]string, error) {
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		if d.IsDir() {
			out[filepath.ToSlash(rel)+"/"] = info.Mode().String()
			return nil
		}
		if !info.Mode().IsRegular() {
			return fmt.Errorf("%s: not a file", path)
		}
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		h := sha256.New()
		if _, err := io.Copy(h, f); err != nil {
			return err
		}
		out[filepath.ToSlash(rel)] = info.Mode().String() + " " + hex.EncodeToString(h.Sum(nil))
		return nil
	})
	return out, err
}
