package plan

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestTestProblems(t *testing.T) {
	cel := &CELTest{APIVersion: "v1", Kind: "Service", Name: "web", Expr: "true"}
	for _, c := range []struct {
		name  string
		tests []Test
		want  []fieldProblem
	}{
		{"valid", []Test{
			{Name: "a", CEL: cel},
			{Name: "b", HTTP: &HTTPTest{URL: "http://web.shop.svc/healthz", BodyMatches: []string{`"id": *"west"[^}]*"syncStatus": *"synced"`}, TokenAudience: "istio-ca"}},
			{Name: "c", Injection: &InjectionTest{Labels: map[string]string{"istio-injection": "enabled"}, Container: "istio-proxy"}},
		}, nil},
		{"names", []Test{{CEL: cel}, {Name: "Bad_Name", CEL: cel}, {Name: "a", CEL: cel}, {Name: "a", CEL: cel}}, []fieldProblem{
			{"tests[0]", "name is required"},
			{"tests[1]", `name "Bad_Name" is not a DNS-1123 label`},
			{"tests[3]", `name "a" is used twice`},
		}},
		{"none or two", []Test{{Name: "a"}, {Name: "b", CEL: cel, HTTP: &HTTPTest{URL: "http://x"}}}, []fieldProblem{
			{"tests[0]", "want exactly one of cel, http and injection, have 0"},
			{"tests[1]", "want exactly one of cel, http and injection, have 2"},
		}},
		{"fields", []Test{
			{Name: "a", CEL: &CELTest{Kind: "Service"}},
			{Name: "d", CEL: &CELTest{APIVersion: "v1", Kind: "Secret", Name: "s", Expr: "has(data)"}},
			{Name: "b", HTTP: &HTTPTest{URL: "web:80", Status: 99}},
			{Name: "c", Injection: &InjectionTest{}},
			{Name: "e", HTTP: &HTTPTest{URL: "http://x", BodyMatches: []string{"ok", "", "a\nb", "(open"}, TokenAudience: " istio-ca"}},
		}, []fieldProblem{
			{"tests[0]", "cel: apiVersion, kind and name are required"},
			{"tests[0]", "cel: expr is required: a CEL expression that is true when the object passes"},
			{"tests[1]", "cel: expr: 1:5: invalid argument to has() macro"},
			{"tests[2]", `http: url "web:80": want an http:// or https:// URL`},
			{"tests[2]", "http: status 99: want an HTTP status from 100 to 599"},
			{"tests[3]", "injection: labels are required: the labels that ask for injection"},
			{"tests[3]", "injection: container is required: the name of the injected container"},
			{"tests[4]", "http: bodyMatches[1]: want a regular expression on one line"},
			{"tests[4]", "http: bodyMatches[2]: want a regular expression on one line"},
			{"tests[4]", "http: bodyMatches[3]: error parsing regexp: missing closing ): `(open`"},
			{"tests[4]", `http: tokenAudience " istio-ca": want no leading or trailing space`},
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			if diff := cmp.Diff(c.want, testProblems(c.tests), cmp.AllowUnexported(fieldProblem{})); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
		})
	}
}
