package check

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// WriteJSON writes r as indented JSON.
func WriteJSON(w io.Writer, r *Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteText writes r for people: findings grouped under a
// cluster / batch / bundle heading, then the skips that hid nothing and a
// summary line.
func WriteText(w io.Writer, r *Report) error {
	var b strings.Builder
	heading := ""
	for _, f := range r.Findings {
		if h := f.Cluster + " / " + f.Batch + " / " + f.Bundle; h != heading {
			heading = h
			b.WriteString(h + "\n")
		}
		label := string(f.Severity)
		if f.Skipped != "" {
			label = "skipped"
		}
		fmt.Fprintf(&b, "  %-8s %-16s %s: ", label, f.Rule, f.Object)
		if f.Path != "" {
			b.WriteString(f.Path + ": ")
		}
		b.WriteString(f.Message)
		if f.Source != "" && !strings.Contains(f.Message, "("+f.Source+")") {
			fmt.Fprintf(&b, " (%s)", f.Source)
		}
		if f.Skipped != "" {
			fmt.Fprintf(&b, " [skipped: %s]", f.Skipped)
		}
		b.WriteString("\n")
	}
	for _, u := range r.UnusedSkips {
		b.WriteString("note: " + u + "\n")
	}
	fmt.Fprintf(&b, "%s, %s, %d skipped in %d objects\n", plural(r.Errors, "error"), plural(r.Warnings, "warning"), r.Skipped, r.Objects)
	_, err := io.WriteString(w, b.String())
	return err
}

// plural writes a count with its noun.
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
