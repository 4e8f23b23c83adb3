package lock

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"sigs.k8s.io/yaml"

	"wookie.dev/wookie/internal/errtext"
	"wookie.dev/wookie/internal/plan"
)

// APIVersion is the apiVersion of a lock file.
const APIVersion = "wookie.dev/v1alpha1"

// Kind is the kind of a lock file.
const Kind = "Lock"

// FileName is the lock file's conventional name.
const FileName = "wookie.lock"

// File is the content of wookie.lock.
type File struct {
	APIVersion string  `json:"apiVersion"`
	Kind       string  `json:"kind"`
	Charts     []Entry `json:"charts"`
}

// Ref names a chart as a configuration asks for it: repository, chart name
// and the requested version (exact, or a semantic version constraint).
type Ref struct {
	Repo    string `json:"repo"`
	Name    string `json:"name"`
	Version string `json:"version"`
}

// String returns "name@version from repo".
func (r Ref) String() string {
	v := r.Version
	if v == "" {
		v = "(any version)"
	}
	return fmt.Sprintf("%s@%s from %s", r.Name, v, r.Repo)
}

// Entry pins one chart.
type Entry struct {
	Ref
	// ResolvedVersion is the exact version the requested one resolved to.
	ResolvedVersion string `json:"resolvedVersion"`
	// URL is where the pinned bytes come from: the archive's URL for an
	// http(s) repository, oci://host/path/name@sha256:... for a registry,
	// the local path for a local chart.
	URL string `json:"url"`
	// Digest is "sha256:<hex>": of the archive for an http(s) repository or
	// a local .tgz, of the manifest for an OCI registry, of the canonical
	// tar for a local chart directory.
	Digest string `json:"digest"`
}

var digestRE = regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)

// Decode reads a lock file strictly: unknown fields, a wrong apiVersion or
// kind, a malformed digest or two entries for one chart are errors naming
// source, and a YAML syntax error names source:LINE:COL.
func Decode(data []byte, source string) (*File, error) {
	if err := errtext.CheckYAMLSyntax(source, data); err != nil {
		return nil, err
	}
	var f File
	if err := yaml.UnmarshalStrict(data, &f); err != nil {
		return nil, fmt.Errorf("%s: %s", source, errtext.OneLine(err.Error()))
	}
	if f.APIVersion != APIVersion || f.Kind != Kind {
		return nil, fmt.Errorf("%s: apiVersion %q, kind %q: want apiVersion %s, kind %s", source, f.APIVersion, f.Kind, APIVersion, Kind)
	}
	seen := map[Ref]bool{}
	for i, e := range f.Charts {
		switch {
		case e.Repo == "" || e.Name == "":
			return nil, fmt.Errorf("%s: charts[%d]: repo and name are required", source, i)
		case e.ResolvedVersion == "" || e.URL == "":
			return nil, fmt.Errorf("%s: charts[%d] (%s): resolvedVersion and url are required", source, i, e.Ref)
		case !digestRE.MatchString(e.Digest):
			return nil, fmt.Errorf("%s: charts[%d] (%s): digest %q is not sha256:<64 hex digits>", source, i, e.Ref, e.Digest)
		case seen[e.Ref]:
			return nil, fmt.Errorf("%s: charts[%d]: %s is pinned twice", source, i, e.Ref)
		}
		seen[e.Ref] = true
	}
	f.sort()
	return &f, nil
}

// New returns an empty lock file.
func New() *File {
	return &File{APIVersion: APIVersion, Kind: Kind, Charts: []Entry{}}
}

func (f *File) sort() {
	slices.SortFunc(f.Charts, func(a, b Entry) int {
		return cmpRef(a.Ref, b.Ref)
	})
}

func cmpRef(a, b Ref) int {
	if c := strings.Compare(a.Repo, b.Repo); c != 0 {
		return c
	}
	if c := strings.Compare(a.Name, b.Name); c != 0 {
		return c
	}
	return strings.Compare(a.Version, b.Version)
}

// Encode returns the lock file's bytes: entries sorted by repository, name
// and version, fields in a fixed order, so equal content gives equal bytes.
func (f *File) Encode() []byte {
	f.sort()
	var b bytes.Buffer
	fmt.Fprintf(&b, "# Written by wookie lock. Pins every chart by version and content digest.\n")
	fmt.Fprintf(&b, "apiVersion: %s\nkind: %s\n", APIVersion, Kind)
	if len(f.Charts) == 0 {
		b.WriteString("charts: []\n")
		return b.Bytes()
	}
	b.WriteString("charts:\n")
	for _, e := range f.Charts {
		fmt.Fprintf(&b, "- repo: %s\n", scalar(e.Repo))
		fmt.Fprintf(&b, "  name: %s\n", scalar(e.Name))
		fmt.Fprintf(&b, "  version: %s\n", scalar(e.Version))
		fmt.Fprintf(&b, "  resolvedVersion: %s\n", scalar(e.ResolvedVersion))
		fmt.Fprintf(&b, "  url: %s\n", scalar(e.URL))
		fmt.Fprintf(&b, "  digest: %s\n", scalar(e.Digest))
	}
	return b.Bytes()
}

// scalar writes s as a YAML double-quoted string: JSON string syntax is
// valid YAML and never reinterpreted (no 1.10 -> 1.1, no yes -> true).
func scalar(s string) string {
	q, _ := json.Marshal(s)
	return string(q)
}

// Lookup returns the entry pinning ref.
func (f *File) Lookup(ref Ref) (Entry, bool) {
	if f == nil {
		return Entry{}, false
	}
	for _, e := range f.Charts {
		if e.Ref == ref {
			return e, true
		}
	}
	return Entry{}, false
}

// Set adds or replaces the entry for e.Ref.
func (f *File) Set(e Entry) {
	for i := range f.Charts {
		if f.Charts[i].Ref == e.Ref {
			f.Charts[i] = e
			return
		}
	}
	f.Charts = append(f.Charts, e)
	f.sort()
}

// RefOf returns the Ref of a Plan chart.
func RefOf(c *plan.Chart) Ref {
	return Ref{Repo: c.Repo, Name: c.Name, Version: c.Version}
}

// Refs lists the distinct charts a Plan uses, sorted.
func Refs(p *plan.Plan) []Ref {
	var refs []Ref
	for _, c := range p.Clusters {
		for _, b := range c.Batches {
			for _, bu := range b.Bundles {
				if bu.Chart != nil {
					r := RefOf(bu.Chart)
					if !slices.Contains(refs, r) {
						refs = append(refs, r)
					}
				}
			}
		}
	}
	slices.SortFunc(refs, cmpRef)
	return refs
}

// Apply pins the charts of p: every chart bundle with an entry in f gets the
// entry's resolved version and digest. It returns the charts that have no
// entry. A chart that already carries a digest (a Plan from another front
// end) must agree with its entry.
func Apply(p *plan.Plan, f *File) ([]Ref, error) {
	var missing []Ref
	for ci := range p.Clusters {
		c := &p.Clusters[ci]
		for bi := range c.Batches {
			for ui := range c.Batches[bi].Bundles {
				bu := &c.Batches[bi].Bundles[ui]
				if bu.Chart == nil {
					continue
				}
				ref := RefOf(bu.Chart)
				e, ok := f.Lookup(ref)
				if !ok {
					if !slices.Contains(missing, ref) {
						missing = append(missing, ref)
					}
					continue
				}
				if bu.Chart.Digest != "" && bu.Chart.Digest != e.Digest {
					return nil, fmt.Errorf("cluster %s: bundle %s: chart %s: the Plan pins digest %s, the lock file %s", c.Name, bu.Name, ref, bu.Chart.Digest, e.Digest)
				}
				bu.Chart.Version = e.ResolvedVersion
				bu.Chart.Digest = e.Digest
			}
		}
	}
	return missing, nil
}
