package plan

import (
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestDocExample checks the example of docs/plan.md: the YAML is a valid,
// normalized Plan, and the JSON is exactly its canonical JSON form.
func TestDocExample(t *testing.T) {
	const doc = "../../docs/plan.md"
	data, err := os.ReadFile(doc)
	if err != nil {
		t.Fatal(err)
	}
	_, example, ok := strings.Cut(string(data), "\n## Example\n")
	if !ok {
		t.Fatalf("%s has no Example section", doc)
	}
	block := func(lang string) string {
		_, rest, ok := strings.Cut(example, "\n```"+lang+"\n")
		if !ok {
			t.Fatalf("%s: Example has no %s block", doc, lang)
		}
		text, _, _ := strings.Cut(rest, "\n```")
		return text + "\n"
	}
	fromYAML, err := Decode([]byte(block("yaml")), doc)
	if err != nil {
		t.Fatal(err)
	}
	normalized, err := Decode([]byte(block("yaml")), doc)
	if err != nil {
		t.Fatal(err)
	}
	if err := Normalize(normalized); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(normalized, fromYAML); diff != "" {
		t.Errorf("the YAML example is not in canonical order (-normalized +as written):\n%s", diff)
	}
	got, err := EncodeJSON(normalized)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(block("json"), string(got)); diff != "" {
		t.Errorf("the JSON example is not the canonical JSON of the YAML example (-doc +EncodeJSON):\n%s", diff)
	}
}
