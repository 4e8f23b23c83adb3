package pipeline

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"

	"wookie.dev/wookie/internal/check"
	"wookie.dev/wookie/internal/emit"
)

// OutputOptions are the choices of RenderOutput.
type OutputOptions struct {
	// Dir is the output directory; "-" writes one YAML stream of the
	// objects, in deploy order, to Stream instead.
	Dir    string
	Stream io.Writer
	// Render are the choices of rendering.
	Render RenderOptions
	// Emit chooses the format of the output.
	Emit EmitOptions
	// Part is the part of the Plan to write (the manifests format only):
	// the rest of Dir stays as it was. The whole Plan is rendered, and
	// checked, all the same.
	Part Part
	// Check runs Check on the rendered objects before anything is
	// written; errors (and with Strict warnings) fail with a *CheckError
	// and nothing is written.
	Check, Strict bool
}

// Message kinds: what a line of Output.Messages is.
const (
	MessageWarning = "warning"
	MessageNote    = "note"
	// MessageCheck is the report of the checks, as check's text format
	// writes it (several lines, ending in a newline).
	MessageCheck = "check"
)

// Message is a line, or with MessageCheck lines, that RenderOutput has for
// the user.
type Message struct {
	Kind string `json:"kind"`
	Text string `json:"text"`
}

// Output is what RenderOutput did.
type Output struct {
	// Unchanged says that Dir already held what the render would write,
	// as the render that wrote it recorded: nothing was rendered or
	// written, and Messages are that render's.
	Unchanged bool
	// Messages are, in order, what the caller has to show besides the
	// warnings given to Config.Warn: that the output holds secrets, the
	// notes on what was left out (OmittedNotes), the checks' report, the
	// output format's warnings.
	Messages []Message
	// Report is the checks' report (with Check, unless Unchanged).
	Report *Report
	// Objects, Bundles and Clusters count what was written.
	Objects, Bundles, Clusters int
}

// Summary is "N objects in M bundles, K clusters".
func (o *Output) Summary() string {
	return fmt.Sprintf("%d objects in %d bundles, %d clusters", o.Objects, o.Bundles, o.Clusters)
}

// CheckError says that the checks of RenderOutput failed: nothing was
// written.
type CheckError struct {
	Report *Report
}

func (e *CheckError) Error() string { return "check failed: nothing written" }

// RenderOutput renders pl and writes o.Part of it to o.Dir, in o.Emit's
// format, or streams it: Dir is replaced atomically (WritePart says what
// of it a part rewrites), so on any error it stays as it was. A render whose
// Dir already holds what it would write is skipped (Output.Unchanged).
// On an error after rendering, the Output returned says what was to be
// shown (a failed check's report among its Messages).
func (p *Pipeline) RenderOutput(ctx context.Context, pl *Plan, o OutputOptions) (*Output, error) {
	if err := CheckPart(pl, o.Part); err != nil {
		return nil, err
	}
	if f := o.Emit.Format; !o.Part.IsZero() && o.Dir != "-" && f != "" && f != emit.FormatManifests {
		return nil, fmt.Errorf("part of an output: format %s is read whole by its engine", f)
	}
	// Pinned first, pl is the same on every call: the key of a render
	// to skip.
	if err := p.Pin(pl); err != nil {
		return nil, err
	}
	key, keyed := "", false
	if o.Dir != "-" {
		key, keyed = p.outputKey(pl, o.Render, o.Emit, o.Part, fmt.Sprintf("check=%t strict=%t", o.Check, o.Strict))
	}
	if keyed {
		if st, ok := p.outputCurrent(o.Dir, key); ok {
			p.warn(p.CertExpiryWarnings(pl)...)
			return &Output{Unchanged: true, Messages: st.Messages, Objects: st.Objects, Bundles: st.Bundles, Clusters: st.Clusters}, nil
		}
	}
	ro := o.Render
	ro.yaml = true
	full, err := p.renderPinned(ctx, pl, ro)
	if err != nil {
		return nil, err
	}
	res := SelectPart(full, o.Part)
	out := &Output{Clusters: len(res.Clusters)}
	for _, c := range res.Clusters {
		for _, b := range c.Batches {
			for _, u := range b.Bundles {
				out.Bundles++
				out.Objects += len(u.Objects)
			}
		}
	}
	// recorded are the messages a later render that is skipped repeats:
	// rendering's warnings too, which went to Config.Warn.
	var recorded []Message
	for _, w := range res.Warnings {
		recorded = append(recorded, Message{MessageWarning, w})
	}
	if n := SecretBundles(res); n > 0 {
		out.Messages = append(out.Messages, Message{MessageWarning, fmt.Sprintf("--include-secrets: the output holds the secrets (private keys, tokens) of %d bundles: do not commit it to Git", n)})
	}
	for _, n := range OmittedNotes(res) {
		out.Messages = append(out.Messages, Message{MessageNote, n})
	}
	if o.Check {
		r, err := p.Check(pl, full, CheckOptions{NoCache: o.Render.NoCache, Part: o.Part})
		if err != nil {
			return out, err
		}
		var buf bytes.Buffer
		if err := check.WriteText(&buf, r); err != nil {
			return out, err
		}
		out.Report = r
		out.Messages = append(out.Messages, Message{MessageCheck, buf.String()})
		if r.Failed(o.Strict) {
			return out, &CheckError{Report: r}
		}
	}
	if o.Dir == "-" {
		return out, emit.Stream(o.Stream, res)
	}
	var warnings []string
	if o.Part.IsZero() {
		warnings, err = p.Write(o.Dir, pl, res, o.Emit)
	} else {
		err = p.WritePart(o.Dir, full, o.Part)
	}
	if err != nil {
		return out, fmt.Errorf("write %s: %w", o.Dir, err)
	}
	for _, w := range warnings {
		out.Messages = append(out.Messages, Message{MessageWarning, w})
	}
	if !keyed {
		p.forgetOutput(o.Dir)
		return out, nil
	}
	for _, m := range out.Messages {
		if m.Kind == MessageCheck {
			// Repeated as a line and a newline, as it was recorded
			// before.
			m.Text = strings.TrimRight(m.Text, "\n") + "\n"
		}
		recorded = append(recorded, m)
	}
	// Not noted, the next render is only not skipped.
	_ = p.recordOutput(o.Dir, key, outputStamp{Messages: recorded, Objects: out.Objects, Bundles: out.Bundles, Clusters: out.Clusters})
	return out, nil
}
