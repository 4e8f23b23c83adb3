package verify

import (
	"encoding/xml"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestLine(t *testing.T) {
	for _, c := range []struct {
		name string
		r    Result
		want string
	}{
		{"passed", Result{Cluster: "a", Bundle: "pxc-db", Name: "ready", Kind: KindCEL, Passed: true, Duration: 1234567 * time.Microsecond}, "✓ cluster a: bundle pxc-db: cel ready (1.235s)"},
		{"failed", Result{Cluster: "a", Bundle: "web", Name: "Pod/web-test", Kind: KindHelm, Duration: 2 * time.Second, Cause: "Pod ns/web-test: Failed"}, "✗ cluster a: bundle web: helm Pod/web-test (2s): Pod ns/web-test: Failed"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := Line(c.r); got != c.want {
				t.Errorf("got %q, want %q", got, c.want)
			}
		})
	}
}

// TestJUnit checks the report's shape as CI systems read it: suites per
// cluster, counts, a failure with the cause and the logs.
func TestJUnit(t *testing.T) {
	data, err := JUnit([]Result{
		{Cluster: "a", Batch: "services", Bundle: "pxc-db", Name: "ready", Kind: KindCEL, Passed: true, Duration: 1500 * time.Millisecond},
		{Cluster: "a", Batch: "services", Bundle: "web", Name: "Pod/web-test", Kind: KindHelm, Duration: time.Second, Cause: "Failed", Logs: "pod web-test:\nboom\n"},
		{Cluster: "b", Batch: "operators", Bundle: "istiod", Name: "sidecar-injection", Kind: KindInjection, Passed: true},
	})
	if err != nil {
		t.Fatal(err)
	}
	type failure struct {
		Message string `xml:"message,attr"`
		Type    string `xml:"type,attr"`
		Text    string `xml:",chardata"`
	}
	type testCase struct {
		Name      string   `xml:"name,attr"`
		ClassName string   `xml:"classname,attr"`
		Time      string   `xml:"time,attr"`
		Failure   *failure `xml:"failure"`
	}
	type suite struct {
		Name     string     `xml:"name,attr"`
		Tests    int        `xml:"tests,attr"`
		Failures int        `xml:"failures,attr"`
		Time     string     `xml:"time,attr"`
		Cases    []testCase `xml:"testcase"`
	}
	var got struct {
		Tests    int     `xml:"tests,attr"`
		Failures int     `xml:"failures,attr"`
		Suites   []suite `xml:"testsuite"`
	}
	if err := xml.Unmarshal(data, &got); err != nil {
		t.Fatalf("%v\n%s", err, data)
	}
	want := struct {
		Tests    int     `xml:"tests,attr"`
		Failures int     `xml:"failures,attr"`
		Suites   []suite `xml:"testsuite"`
	}{3, 1, []suite{
		{"a", 2, 1, "2.500", []testCase{
			{"pxc-db/ready", "a.services.pxc-db", "1.500", nil},
			{"web/Pod/web-test", "a.services.web", "1.000", &failure{"Failed", KindHelm, "Failed\npod web-test:\nboom"}},
		}},
		{"b", 1, 0, "0.000", []testCase{{"istiod/sidecar-injection", "b.operators.istiod", "0.000", nil}}},
	}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("JUnit (-want +got):\n%s", diff)
	}
}
