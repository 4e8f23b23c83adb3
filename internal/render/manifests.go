package render

import (
	"fmt"
	"path"
	"slices"
	"sort"
	"strconv"
	"strings"

	release "helm.sh/helm/v4/pkg/release/v1"
	releaseutil "helm.sh/helm/v4/pkg/release/v1/util"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

// templateDoc is one document of a chart's rendered templates, parsed.
type templateDoc struct {
	// path is the template the document came from.
	path string
	// n is the document's place among the template's documents, from 1.
	n int
	// kind is the document's kind, as Helm reads it to sort.
	kind string
	// obj is the document's object; nil for an empty document.
	obj *unstructured.Unstructured
	// err is why the document is no object, reported only when the
	// document is used (a skipped hook may be anything Helm parses).
	err error
	// events are a hook's events; nil for a document that is no hook.
	events []release.HookEvent
	// weight is a hook's helm.sh/hook-weight, 0 when absent or no number.
	weight int
	// memo is the YAML of the object's fields when the document is the
	// text toYaml wrote of an object (templateFuncs); nil otherwise.
	memo *yamlMemo
}

// object returns the document's object, nil for an empty document, or an
// error naming the template and document when it is not a Kubernetes
// object with apiVersion, kind and metadata.name.
func (d *templateDoc) object() (*unstructured.Unstructured, error) {
	err := d.err
	if err == nil && d.obj != nil {
		err = checkObject(d.obj)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: document %d: %w", d.path, d.n, err)
	}
	return d.obj, nil
}

// hookEvents are the helm.sh/hook values Helm knows, with Helm 2's
// test-success for test.
var hookEvents = map[string]release.HookEvent{
	string(release.HookPreInstall):   release.HookPreInstall,
	string(release.HookPostInstall):  release.HookPostInstall,
	string(release.HookPreDelete):    release.HookPreDelete,
	string(release.HookPostDelete):   release.HookPostDelete,
	string(release.HookPreUpgrade):   release.HookPreUpgrade,
	string(release.HookPostUpgrade):  release.HookPostUpgrade,
	string(release.HookPreRollback):  release.HookPreRollback,
	string(release.HookPostRollback): release.HookPostRollback,
	string(release.HookTest):         release.HookTest,
	"test-success":                   release.HookTest,
}

// sortTemplates splits a chart's rendered templates into documents, parses
// each once, and sorts them into objects and hooks the way Helm's
// releaseutil.SortManifests does, in its order: templates by path (partials
// and blank outputs skipped), documents in template order, then each list
// stably by the install order of kinds. A hook of a type Helm does not know
// is dropped, as Helm drops it. A document Helm cannot parse is an error
// with Helm's message.
//
// A document that is, but for comment lines before it, a text of written
// (what toYaml wrote of objects) is taken decoded from there, with its
// YAML memo.
func sortTemplates(files map[string]string, written map[string]*writtenObject) (objects, hooks []templateDoc, err error) {
	paths := make([]string, 0, len(files))
	for p := range files {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	type parsed struct {
		path, text string
		n          int
		doc        templateDoc
		keep       bool
		err        error
	}
	var docs []parsed
	size := 0
	for _, p := range paths {
		content := files[p]
		if strings.HasPrefix(path.Base(p), "_") || strings.TrimSpace(content) == "" {
			continue
		}
		entries := releaseutil.SplitManifests(content)
		keys := make([]string, 0, len(entries))
		for k := range entries {
			keys = append(keys, k)
		}
		sort.Sort(releaseutil.BySplitManifestsOrder(keys))
		for i, k := range keys {
			docs = append(docs, parsed{path: p, n: i + 1, text: entries[k]})
			size += len(entries[k])
		}
	}
	// Each document parses alone: on every core when there is much to
	// parse (Istio's base chart renders 0.9 MB of CRDs).
	parse := func(i int) {
		d := &docs[i]
		var w *writtenObject
		var obj map[string]any
		if len(written) > 0 {
			if w = written[withoutLeadingComments(d.text)]; w != nil {
				obj = w.take()
			}
		}
		d.doc, d.keep, d.err = parseTemplateDoc(d.path, d.n, d.text, obj)
		if w != nil && d.err == nil && d.doc.obj != nil {
			d.doc.memo = w.memo
		}
	}
	if size >= parallelParseMin {
		parallelFor(len(docs), parse)
	} else {
		for i := range docs {
			parse(i)
		}
	}
	for _, d := range docs {
		if d.err != nil {
			return nil, nil, d.err
		}
		switch {
		case !d.keep:
		case d.doc.events != nil:
			hooks = append(hooks, d.doc)
		default:
			objects = append(objects, d.doc)
		}
	}
	byKind := func(a, b templateDoc) int {
		if c := kindRank(a.kind) - kindRank(b.kind); c != 0 {
			return c
		}
		return strings.Compare(a.kind, b.kind)
	}
	slices.SortStableFunc(objects, byKind)
	slices.SortStableFunc(hooks, byKind)
	return objects, hooks, nil
}

// withoutLeadingComments is doc without the blank and comment lines that
// begin it and the white space that ends it; the first other line is
// kept whole, its indentation included.
func withoutLeadingComments(doc string) string {
	for {
		line, rest, more := strings.Cut(doc, "\n")
		if t := strings.TrimSpace(line); t != "" && !strings.HasPrefix(t, "#") {
			return strings.TrimRight(doc, " \t\r\n")
		}
		if !more {
			return ""
		}
		doc = rest
	}
}

// parallelParseMin is the size of a chart's rendered documents, in bytes,
// from which sortTemplates parses them in parallel.
const parallelParseMin = 64 << 10

// parseTemplateDoc parses one document of template p; when obj is given,
// it is what the text decodes to, not parsed again. keep is false for a
// hook of a type Helm does not know.
func parseTemplateDoc(p string, n int, text string, obj map[string]any) (d templateDoc, keep bool, err error) {
	d = templateDoc{path: p, n: n}
	if obj != nil {
		d.obj = &unstructured.Unstructured{Object: obj}
	} else {
		d.obj, d.err = parseDoc(text)
	}
	var h docHead
	ok := false
	if d.err == nil && d.obj != nil {
		h, ok = headOf(d.obj)
	}
	if !ok {
		// Where the document is no object, is empty (comments Helm's
		// parser may still reject), or could read differently from Helm's
		// SimpleHead (a field that is no string, a key that differs only
		// in case), Helm's own parse decides, errors included.
		var sh releaseutil.SimpleHead
		if err := yaml.Unmarshal([]byte(text), &sh); err != nil {
			return d, false, fmt.Errorf("YAML parse error on %s: %w", p, err)
		}
		h = docHead{kind: sh.Kind}
		if sh.Metadata != nil {
			h.hook, h.isHook = sh.Metadata.Annotations[release.HookAnnotation]
			h.weight = sh.Metadata.Annotations[release.HookWeightAnnotation]
		}
	}
	d.kind = h.kind
	if !h.isHook {
		return d, true, nil
	}
	d.events = []release.HookEvent{}
	for t := range strings.SplitSeq(h.hook, ",") {
		e, ok := hookEvents[strings.ToLower(strings.TrimSpace(t))]
		if !ok {
			return d, false, nil
		}
		d.events = append(d.events, e)
	}
	if w, err := strconv.Atoi(h.weight); err == nil {
		d.weight = w
	}
	return d, true, nil
}

// docHead is what Helm reads of a document to sort it: its kind and
// hook annotations.
type docHead struct {
	kind   string
	hook   string
	isHook bool
	weight string
}

// headOf reads a decoded object's docHead. ok is false where Helm's
// SimpleHead could read it differently: apiVersion, kind, metadata.name or
// an annotation that is no string, metadata or annotations that are no
// map, or a key that matches one of these only without regard to case
// (encoding/json matches field names so).
func headOf(u *unstructured.Unstructured) (h docHead, ok bool) {
	for k, v := range u.Object {
		switch k {
		case "apiVersion":
			if _, ok := v.(string); !ok {
				return h, false
			}
		case "kind":
			s, ok := v.(string)
			if !ok {
				return h, false
			}
			h.kind = s
		case "metadata":
			m, ok := v.(map[string]any)
			if !ok || !readMetadata(m, &h) {
				return h, false
			}
		default:
			if strings.EqualFold(k, "apiVersion") || strings.EqualFold(k, "kind") || strings.EqualFold(k, "metadata") {
				return h, false
			}
		}
	}
	return h, true
}

// readMetadata reads the hook annotations of an object's metadata into h;
// false as for headOf.
func readMetadata(m map[string]any, h *docHead) bool {
	for k, v := range m {
		switch k {
		case "name":
			if _, ok := v.(string); !ok {
				return false
			}
		case "annotations":
			a, ok := v.(map[string]any)
			if !ok {
				return false
			}
			for _, av := range a {
				if _, ok := av.(string); !ok {
					return false
				}
			}
			var hook any
			hook, h.isHook = a[release.HookAnnotation]
			h.hook, _ = hook.(string)
			h.weight, _ = a[release.HookWeightAnnotation].(string)
		default:
			if strings.EqualFold(k, "name") || strings.EqualFold(k, "annotations") {
				return false
			}
		}
	}
	return true
}
