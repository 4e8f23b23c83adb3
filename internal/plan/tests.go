package plan

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/google/cel-go/cel"
	"k8s.io/apimachinery/pkg/api/validate/content"
)

// parseCEL parses a test's expression in the environment of readiness
// rules: its syntax, and macros such as has() used right.
func parseCEL(expr string) error {
	env, err := cel.NewEnv(celEnvOptions()...)
	if err != nil {
		return fmt.Errorf("CEL environment: %w", err)
	}
	if _, iss := env.Parse(expr); iss.Err() != nil {
		return celError(iss)
	}
	return nil
}

// fieldProblem is a problem of one field of a bundle.
type fieldProblem struct{ field, msg string }

// testProblems returns the problems of a bundle's tests: each named by a
// unique DNS-1123 label, exactly one kind of test, and that kind's
// required fields.
func testProblems(tests []Test) []fieldProblem {
	var out []fieldProblem
	seen := map[string]bool{}
	for i, t := range tests {
		field := fmt.Sprintf("tests[%d]", i)
		add := func(format string, args ...any) {
			out = append(out, fieldProblem{field, fmt.Sprintf(format, args...)})
		}
		switch {
		case t.Name == "":
			add("name is required")
		case len(content.IsDNS1123Label(t.Name)) > 0:
			add("name %q is not a DNS-1123 label", t.Name)
		case seen[t.Name]:
			add("name %q is used twice", t.Name)
		}
		seen[t.Name] = true
		n := 0
		if c := t.CEL; c != nil {
			n++
			if c.APIVersion == "" || c.Kind == "" || c.Name == "" {
				add("cel: apiVersion, kind and name are required")
			}
			if strings.TrimSpace(c.Expr) == "" {
				add("cel: expr is required: a CEL expression that is true when the object passes")
			} else if err := parseCEL(c.Expr); err != nil {
				add("cel: expr: %v", err)
			}
		}
		if h := t.HTTP; h != nil {
			n++
			if !strings.HasPrefix(h.URL, "http://") && !strings.HasPrefix(h.URL, "https://") {
				add("http: url %q: want an http:// or https:// URL", h.URL)
			}
			if h.Status != 0 && (h.Status < 100 || h.Status > 599) {
				add("http: status %d: want an HTTP status from 100 to 599", h.Status)
			}
			for j, re := range h.BodyMatches {
				if strings.TrimSpace(re) == "" || strings.ContainsAny(re, "\n\r") {
					add("http: bodyMatches[%d]: want a regular expression on one line", j)
				} else if _, err := regexp.CompilePOSIX(re); err != nil {
					add("http: bodyMatches[%d]: %v", j, err)
				}
			}
			if a := h.TokenAudience; a != "" && strings.TrimSpace(a) != a {
				add("http: tokenAudience %q: want no leading or trailing space", a)
			}
		}
		if in := t.Injection; in != nil {
			n++
			if len(in.Labels) == 0 {
				add("injection: labels are required: the labels that ask for injection")
			}
			if in.Container == "" {
				add("injection: container is required: the name of the injected container")
			}
		}
		if n != 1 {
			add("want exactly one of cel, http and injection, have %d", n)
		}
	}
	return out
}
