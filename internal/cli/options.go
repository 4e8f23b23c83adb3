package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"wookie.dev/wookie/internal/eval"
)

type optionsFlags struct {
	config configFlags
	output string
	values bool
}

func newOptionsCmd(s *streams) *cobra.Command {
	f := &optionsFlags{}
	cmd := &cobra.Command{
		Use:   "options [PREFIX]",
		Short: "List every configuration option with its type, default and description",
		Long: `options lists the options of the standard modules and of your own modules
(declared in #Targets and #Projects, plus the cluster schema, gitops and the
chart catalog): path, type, default, where it is declared and description,
like the NixOS options manual. PREFIX limits the list to one subtree, e.g.
projects.wookie.istio.

With --config it lists the configuration's values instead, like
nixos-option: every option that has a value (in clusters, with the names of
your clusters, batches and bundles for <name>), the value, and where it is
defined, file:line and module; a value nobody defined is the option's
default. A list option shows the list its definitions make and each
definition. A PREFIX that names one value shows it in full, with its
option's type, description and declarations.`,
		Example: `  wookie options projects.wookie
  wookie options -o markdown > docs/options.md
  wookie options --config -f wookie.cue clusters.wookie-local.batches.services
  wookie options --config 'clusters."wookie-local".batches.operators.bundles.istiod.dependsOn'`,
		Args: usageArgs(cobra.MaximumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			formats := []string{"table", "json", "markdown"}
			if f.values {
				formats = formats[:2]
			}
			if err := checkOutput(f.output, formats...); err != nil {
				return err
			}
			p, err := newPipeline(s, &f.config, nil, nil)
			if err != nil {
				return err
			}
			opts, settings, err := p.Options()
			if err != nil {
				return err
			}
			var out []byte
			if f.values {
				out, err = formatSettings(settings, opts, args, f.output)
			} else {
				if len(args) == 1 {
					opts = filterPaths(opts, func(o eval.Option) string { return o.Path }, args[0])
					if len(opts) == 0 {
						return fmt.Errorf("no option matches %q (see 'wookie options' for the list)", args[0])
					}
				}
				out, err = formatOptions(opts, f.output)
			}
			if err != nil {
				return err
			}
			_, err = s.out.Write(out)
			return err
		},
	}
	cmd.Flags().StringArrayVarP(&f.config.files, "file", "f", nil, "configuration file or directory whose own options (and, with --config, values) to include; repeatable; default ./wookie.cue, else the embedded default")
	cmd.Flags().BoolVar(&f.values, "config", false, "list the configuration's values and where each is defined instead of the options")
	cmd.Flags().StringVarP(&f.output, "output", "o", "table", "output format: table, json or markdown (not with --config)")
	return cmd
}

// filterPaths keeps the entries at or under prefix; quotes around field
// names are optional (targets.local-k3d matches targets."local-k3d").
func filterPaths[T any](items []T, pathOf func(T) string, prefix string) []T {
	prefix = strings.ReplaceAll(strings.TrimSuffix(prefix, "."), `"`, "")
	var out []T
	for _, it := range items {
		p := strings.ReplaceAll(pathOf(it), `"`, "")
		if p == prefix || strings.HasPrefix(p, prefix+".") {
			out = append(out, it)
		}
	}
	return out
}

// formatSettings renders the configuration's values under the prefix in
// args as a table or JSON, or one value in full when the prefix names it.
func formatSettings(all []eval.Setting, opts []eval.Option, args []string, format string) ([]byte, error) {
	sets := all
	if len(args) == 1 {
		sets = filterPaths(all, func(s eval.Setting) string { return s.Path }, args[0])
		if len(sets) == 0 {
			return nil, fmt.Errorf("no value of the configuration matches %q (see 'wookie options --config' for the list)", args[0])
		}
	}
	var buf bytes.Buffer
	if format == "json" {
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		enc.SetIndent("", "  ")
		if err := enc.Encode(sets); err != nil {
			return nil, err
		}
		return buf.Bytes(), nil
	}
	if len(sets) == 1 && len(args) == 1 && strings.ReplaceAll(sets[0].Path, `"`, "") == strings.ReplaceAll(args[0], `"`, "") {
		return formatSetting(sets[0], opts), nil
	}
	tw := tabwriter.NewWriter(&buf, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SETTING\tVALUE\tDEFINED BY")
	for _, st := range sets {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", st.Path, st.Value, definedBy(st.Defined, ", "))
	}
	if err := tw.Flush(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// formatSetting shows one value as nixos-option does: the value, the
// option's type, default and description, and where it is declared and
// defined.
func formatSetting(st eval.Setting, opts []eval.Option) []byte {
	var buf bytes.Buffer
	fmt.Fprintf(&buf, "%s\n\nValue:\n  %s\n", st.Path, st.Value)
	if o, ok := optionOf(st.Path, opts); ok {
		fmt.Fprintf(&buf, "\nType:\n  %s\n", o.Type)
		if o.Default != "" {
			fmt.Fprintf(&buf, "\nDefault:\n  %s\n", o.Default)
		}
		if o.Description != "" {
			fmt.Fprintf(&buf, "\nDescription:\n  %s\n", o.Description)
		}
		if len(o.Declared) > 0 {
			fmt.Fprintf(&buf, "\nDeclared by:\n  %s\n", strings.Join(o.Declared, "\n  "))
		}
	}
	fmt.Fprintf(&buf, "\nDefined by:\n  %s\n", definedBy(st.Defined, "\n  "))
	return buf.Bytes()
}

// definedBy lists where a value is defined, or says it is the default.
func definedBy(defs []eval.Definition, sep string) string {
	if len(defs) == 0 {
		return "(default)"
	}
	parts := make([]string, len(defs))
	for i, d := range defs {
		parts[i] = d.String()
	}
	return strings.Join(parts, sep)
}

// optionOf finds the option a setting is a value of: the one whose path
// matches the setting's, <name> standing for any name.
func optionOf(settingPath string, opts []eval.Option) (eval.Option, bool) {
	want := splitPath(settingPath)
	for _, o := range opts {
		got := splitPath(o.Path)
		if len(got) != len(want) {
			continue
		}
		match := true
		for i := range got {
			if got[i] != "<name>" && got[i] != want[i] {
				match = false
				break
			}
		}
		if match {
			return o, true
		}
	}
	return eval.Option{}, false
}

// splitPath splits a path at the dots outside quotes and drops the quotes.
func splitPath(p string) []string {
	var out []string
	var cur strings.Builder
	quoted := false
	for _, r := range p {
		switch {
		case r == '"':
			quoted = !quoted
		case r == '.' && !quoted:
			out = append(out, cur.String())
			cur.Reset()
		default:
			cur.WriteRune(r)
		}
	}
	return append(out, cur.String())
}

// formatOptions renders options as a table, JSON or Markdown.
func formatOptions(opts []eval.Option, format string) ([]byte, error) {
	var buf bytes.Buffer
	switch format {
	case "json":
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		enc.SetIndent("", "  ")
		if err := enc.Encode(opts); err != nil {
			return nil, err
		}
	case "markdown":
		buf.WriteString("# wookie options\n\nGenerated by `wookie options -o markdown`; do not edit.\n")
		for _, o := range opts {
			fmt.Fprintf(&buf, "\n## `%s`\n\n", o.Path)
			if o.Description != "" {
				fmt.Fprintf(&buf, "%s\n\n", o.Description)
			}
			fmt.Fprintf(&buf, "- Type: `%s`\n", o.Type)
			if o.List {
				buf.WriteString("- List option: definitions by name concatenate; mkBefore, mkAfter and mkForce order or replace them (docs/modules.md)\n")
			}
			if o.Default != "" {
				fmt.Fprintf(&buf, "- Default: `%s`\n", o.Default)
			}
			if o.Optional {
				buf.WriteString("- Optional\n")
			}
			if len(o.Declared) > 0 {
				fmt.Fprintf(&buf, "- Declared in: %s\n", strings.Join(o.Declared, ", "))
			}
		}
	default:
		tw := tabwriter.NewWriter(&buf, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "OPTION\tTYPE\tDEFAULT\tDECLARED\tDESCRIPTION")
		for _, o := range opts {
			def := o.Default
			if def == "" {
				def = "-"
				if o.Optional {
					def = "(unset)"
				}
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", o.Path, o.Type, def, strings.Join(o.Declared, ","), o.Description)
		}
		if err := tw.Flush(); err != nil {
			return nil, err
		}
	}
	return buf.Bytes(), nil
}
