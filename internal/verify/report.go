package verify

import (
	"encoding/xml"
	"fmt"
	"strings"
	"time"
)

// Line is the line wookie test prints for r: ✓ or ✗, where the check is,
// its name and kind, its duration and, when it failed, the cause.
func Line(r Result) string {
	mark := "✓"
	if !r.Passed {
		mark = "✗"
	}
	s := fmt.Sprintf("%s cluster %s: bundle %s: %s %s (%s)", mark, r.Cluster, r.Bundle, r.Kind, r.Name, r.Duration.Round(time.Millisecond))
	if r.Cause != "" {
		s += ": " + r.Cause
	}
	return s
}

// JUnit is the JUnit XML report of results: a test suite per cluster (in
// the order results first name them), a test case per check, named
// bundle/name with the class cluster.batch.bundle, a failure with the
// cause and the logs.
func JUnit(results []Result) ([]byte, error) {
	type failure struct {
		Message string `xml:"message,attr"`
		Type    string `xml:"type,attr"`
		Text    string `xml:",chardata"`
	}
	type testCase struct {
		Name      string   `xml:"name,attr"`
		ClassName string   `xml:"classname,attr"`
		Time      string   `xml:"time,attr"`
		Failure   *failure `xml:"failure,omitempty"`
	}
	type testSuite struct {
		Name     string     `xml:"name,attr"`
		Tests    int        `xml:"tests,attr"`
		Failures int        `xml:"failures,attr"`
		Time     string     `xml:"time,attr"`
		Cases    []testCase `xml:"testcase"`
		total    time.Duration
	}
	type testSuites struct {
		XMLName  xml.Name     `xml:"testsuites"`
		Name     string       `xml:"name,attr"`
		Tests    int          `xml:"tests,attr"`
		Failures int          `xml:"failures,attr"`
		Suites   []*testSuite `xml:"testsuite"`
	}
	out := &testSuites{Name: "wookie test"}
	suites := map[string]*testSuite{}
	for _, r := range results {
		s := suites[r.Cluster]
		if s == nil {
			s = &testSuite{Name: r.Cluster}
			suites[r.Cluster] = s
			out.Suites = append(out.Suites, s)
		}
		tc := testCase{
			Name:      r.Bundle + "/" + r.Name,
			ClassName: strings.Join([]string{r.Cluster, r.Batch, r.Bundle}, "."),
			Time:      seconds(r.Duration),
		}
		if !r.Passed {
			tc.Failure = &failure{Message: r.Cause, Type: r.Kind, Text: strings.TrimSpace(r.Cause + "\n" + r.Logs)}
			s.Failures++
			out.Failures++
		}
		s.Tests++
		out.Tests++
		s.total += r.Duration
		s.Time = seconds(s.total)
		s.Cases = append(s.Cases, tc)
	}
	data, err := xml.MarshalIndent(out, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(append([]byte(xml.Header), data...), '\n'), nil
}

// seconds writes d in seconds with millisecond precision.
func seconds(d time.Duration) string {
	return fmt.Sprintf("%.3f", d.Seconds())
}
