package planview_test

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/google/go-cmp/cmp"

	"wookie.dev/wookie/internal/plan"
	"wookie.dev/wookie/internal/planview"
)

// chromium returns the path of a Chromium (or Chrome) on PATH. Without one
// the test is skipped, or fails under CI=true, where .ci/run installs
// Debian's chromium package first.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome-stable", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	msg := "no Chromium on PATH: install it (apt-get install -y chromium, as .ci/run does) to test the HTML page in a real browser"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg + " (CI=true)")
	}
	t.Skip(msg)
	return ""
}

// browser is a headless Chromium tab, with what the page said and asked
// for: console errors, uncaught exceptions, log entries of level error
// (Content-Security-Policy violations among them) and every URL requested.
type browser struct {
	ctx      context.Context
	mu       sync.Mutex
	errors   []string
	requests []string
}

// newBrowser starts Chromium for t. It cannot reach anything but the
// loopback interface: every host name resolves to nothing and every
// connection goes to a closed local proxy port.
func newBrowser(t *testing.T) *browser {
	t.Helper()
	path := chromium(t)
	opts := append(slices.Clone(chromedp.DefaultExecAllocatorOptions[:]),
		chromedp.ExecPath(path),
		chromedp.NoSandbox, // root in CI
		chromedp.DisableGPU,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("host-resolver-rules", "MAP * ~NOTFOUND"),
		chromedp.ProxyServer("http://127.0.0.1:9"),
		chromedp.Flag("proxy-bypass-list", "<-loopback>"),
	)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	t.Cleanup(cancel)
	actx, acancel := chromedp.NewExecAllocator(ctx, opts...)
	t.Cleanup(acancel)
	b := &browser{}
	bctx, bcancel := chromedp.NewContext(actx, chromedp.WithListener(b.listen))
	t.Cleanup(bcancel)
	b.ctx = bctx
	if err := chromedp.Do(bctx); err != nil {
		t.Fatalf("start chromium %s: %v", path, err)
	}
	return b
}

// listen records the errors and requests of the tab. It runs in the
// tab's loop: it returns at once and sends no command.
func (b *browser) listen(ev any) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch ev := ev.(type) {
	case *runtime.EventConsoleAPICalled:
		if ev.Type == runtime.ConsoleAPICalledTypeError || ev.Type == runtime.ConsoleAPICalledTypeAssert {
			var args []string
			for _, a := range ev.Args {
				args = append(args, string(a.Value)+a.Description)
			}
			b.errors = append(b.errors, "console."+string(ev.Type)+": "+strings.Join(args, " "))
		}
	case *runtime.EventExceptionThrown:
		msg := ev.ExceptionDetails.Text
		if ev.ExceptionDetails.Exception != nil {
			msg += " " + ev.ExceptionDetails.Exception.Description
		}
		b.errors = append(b.errors, "exception: "+msg)
	case *cdplog.EventEntryAdded:
		if ev.Entry.Level == cdplog.EntryLevelError {
			b.errors = append(b.errors, "log: "+ev.Entry.Text+" "+ev.Entry.URL)
		}
	case *network.EventRequestWillBeSent:
		b.requests = append(b.requests, ev.Request.URL)
	}
}

// open loads page from a file:// URL and waits for it.
func (b *browser) open(t *testing.T, page []byte) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "plan.html")
	if err := os.WriteFile(path, page, 0o644); err != nil {
		t.Fatal(err)
	}
	u := (&url.URL{Scheme: "file", Path: path}).String()
	if err := chromedp.Do(b.ctx, chromedp.Navigate(u), chromedp.WaitReady(chromedp.ID("search"))); err != nil {
		t.Fatalf("load %s: %v", u, err)
	}
}

// check fails t for every error the page reported and every request for
// anything but the page itself.
func (b *browser) check(t *testing.T) {
	t.Helper()
	// Let late errors (an exception in a handler) arrive.
	if err := chromedp.Do(b.ctx, chromedp.Sleep(100*time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, e := range b.errors {
		t.Errorf("page reported an error: %s", e)
	}
	for _, r := range b.requests {
		if !strings.HasPrefix(r, "file://") {
			t.Errorf("page requested %s: it must load nothing at view time", r)
		}
	}
	b.errors, b.requests = nil, nil
}

// eval runs the JavaScript expression js in the page and returns its
// value.
func eval[T any](t *testing.T, b *browser, js string) T {
	t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[T](js))
	if err != nil {
		t.Fatalf("evaluate %s: %v", js, err)
	}
	return v
}

// visible lists the data-id of the elements matching selector that are
// displayed, in document order.
func (b *browser) visible(t *testing.T, selector string) []string {
	t.Helper()
	return eval[[]string](t, b, fmt.Sprintf(`Array.from(document.querySelectorAll(%q)).filter(function (el) {
		var r = el.getBoundingClientRect();
		return getComputedStyle(el).display !== "none" && r.width > 0 && r.height > 0;
	}).map(function (el) { return el.getAttribute("data-id"); })`, selector))
}

// bundleIDs are the IDs of the nodes of pl's bundles, in Plan order.
func bundleIDs(pl *plan.Plan) []string {
	var out []string
	for _, c := range pl.Clusters {
		for _, b := range c.Batches {
			for _, u := range b.Bundles {
				out = append(out, c.Name+"/"+u.Name)
			}
		}
	}
	return out
}

// TestBrowser loads the pages in a headless Chromium: the Plan of
// examples/multi-primary shows every bundle, as a node and as a card,
// without an error or a request; the search box filters nodes and cards;
// a click selects a bundle's card; and a status page colours its nodes.
func TestBrowser(t *testing.T) {
	b := newBrowser(t)
	pl := multiPrimary(t)
	g, err := planview.Build(pl, nil)
	if err != nil {
		t.Fatal(err)
	}
	page, err := planview.HTML(g, planview.Options{})
	if err != nil {
		t.Fatal(err)
	}
	b.open(t, page)

	all := bundleIDs(pl)
	if len(all) < 20 {
		t.Fatalf("examples/multi-primary has %d bundles; want two clusters' worth", len(all))
	}
	if d := cmp.Diff(all, b.visible(t, "g.node")); d != "" {
		t.Errorf("nodes shown (-want +got):\n%s", d)
	}
	if d := cmp.Diff(all, b.visible(t, "section.card")); d != "" {
		t.Errorf("cards shown (-want +got):\n%s", d)
	}

	// Every node lies inside the drawing, and no two overlap.
	boxes := eval[[][4]float64](t, b, `Array.from(document.querySelectorAll("g.node rect")).map(function (r) {
		var b = r.getBBox(); return [b.x, b.y, b.width, b.height]; })`)
	svgW := eval[float64](t, b, `document.getElementById("plan").viewBox.baseVal.width`)
	svgH := eval[float64](t, b, `document.getElementById("plan").viewBox.baseVal.height`)
	for i, r := range boxes {
		if r[0] < 0 || r[1] < 0 || r[0]+r[2] > svgW || r[1]+r[3] > svgH {
			t.Errorf("node %s at %v lies outside the drawing (%gx%g)", all[i], r, svgW, svgH)
		}
		for j := range i {
			q := boxes[j]
			if r[0] < q[0]+q[2] && q[0] < r[0]+r[2] && r[1] < q[1]+q[3] && q[1] < r[1]+r[3] {
				t.Errorf("nodes %s and %s overlap", all[j], all[i])
			}
		}
	}

	// Typing in the search box filters nodes and cards; clearing it shows
	// them all again.
	want := []string{"alpha/istio-eastwestgateway", "beta/istio-eastwestgateway"}
	if err := chromedp.Do(b.ctx, chromedp.SendKeys(chromedp.ID("search"), "EastWest")); err != nil {
		t.Fatal(err)
	}
	count := eval[string](t, b, `document.getElementById("count").textContent`)
	if d := cmp.Diff(want, b.visible(t, "g.node")); d != "" {
		t.Errorf("nodes shown after searching eastwest (-want +got):\n%s", d)
	}
	if d := cmp.Diff(want, b.visible(t, "section.card")); d != "" {
		t.Errorf("cards shown after searching eastwest (-want +got):\n%s", d)
	}
	if wantCount := fmt.Sprintf("2 of %d bundles", len(all)); count != wantCount {
		t.Errorf("count after searching: %q, want %q", count, wantCount)
	}
	edges := eval[int](t, b, `Array.from(document.querySelectorAll("#plan path.edge")).filter(function (el) {
		return getComputedStyle(el).display !== "none"; }).length`)
	if edges != 0 {
		t.Errorf("%d edges shown between hidden nodes after searching", edges)
	}
	if err := chromedp.Do(b.ctx, chromedp.SendKeys(chromedp.ID("search"), " beta")); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]string{"beta/istio-eastwestgateway"}, b.visible(t, "g.node")); d != "" {
		t.Errorf("nodes shown after searching eastwest beta (-want +got):\n%s", d)
	}
	eval[bool](t, b, `(function () { var s = document.getElementById("search"); s.value = ""; return s.dispatchEvent(new Event("input")); })()`)
	if d := cmp.Diff(all, b.visible(t, "g.node")); d != "" {
		t.Errorf("nodes shown after clearing the search (-want +got):\n%s", d)
	}

	// A click on a node selects its card.
	if err := chromedp.Do(b.ctx, chromedp.Click(chromedp.CSS(`g.node[data-id="beta/istiod"]`))); err != nil {
		t.Fatal(err)
	}
	selected := eval[[]string](t, b, `Array.from(document.querySelectorAll("section.card.selected")).map(function (el) { return el.getAttribute("data-id"); })`)
	if d := cmp.Diff([]string{"beta/istiod"}, selected); d != "" {
		t.Errorf("cards selected by a click on beta/istiod (-want +got):\n%s", d)
	}
	b.check(t)

	t.Run("status", func(t *testing.T) {
		pl, res := fixture()
		g, err := planview.Build(pl, res)
		if err != nil {
			t.Fatal(err)
		}
		page, err := planview.HTML(g, planview.Options{Title: "wookie status", Status: map[string]planview.State{
			"east/web":    {State: "Ready"},
			"west/remote": {State: "Missing"},
		}})
		if err != nil {
			t.Fatal(err)
		}
		b.open(t, page)
		fills := eval[map[string]string](t, b, `Object.fromEntries(Array.from(document.querySelectorAll("g.node")).map(function (el) {
			return [el.getAttribute("data-id"), getComputedStyle(el.querySelector("rect")).fill]; }))`)
		want := map[string]string{
			"east/web":    "rgb(216, 243, 220)", // Ready: green
			"west/remote": "rgb(255, 214, 214)", // Missing: red
			"east/ns-app": "rgb(241, 241, 241)", // not read: grey
		}
		for id, fill := range want {
			if fills[id] != fill {
				t.Errorf("node %s filled %q, want %q", id, fills[id], fill)
			}
		}
		b.check(t)
	})
}
