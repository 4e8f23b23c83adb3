package cli

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"wookie.dev/wookie/internal/lock"
	"wookie.dev/wookie/pkg/pipeline"
)

type lockCmdFlags struct {
	config configFlags
	lock   lockFlags
	fetch  fetchFlags
	update bool
}

func newLockCmd(s *streams) *cobra.Command {
	f := &lockCmdFlags{}
	cmd := &cobra.Command{
		Use:   "lock [--update [CHART...]]",
		Short: "Pin every chart the Plan uses by version and content digest in wookie.lock",
		Long: `lock resolves every chart of the Plan (all clusters), downloads it, checks
it and writes wookie.lock: per chart the requested and resolved version, the
download URL (the manifest digest for OCI registries) and the sha256 digest.
Entries already in the lock file are kept unless --update names their chart
(or names none: then every chart is resolved again); entries no chart uses any
more are dropped. Nothing is written when anything fails. With --locked, lock
only checks that the lock file is complete and current.`,
		Example: `  wookie lock
  wookie lock --update istiod
  wookie lock --locked      # CI: fail if wookie.lock is missing or out of date`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 && !f.update {
				return usagef("chart names need --update")
			}
			return runLock(cmd, s, f, args)
		},
	}
	addConfigFlags(cmd, &f.config, true)
	addLockFlags(cmd, &f.lock)
	addFetchFlags(cmd, &f.fetch)
	cmd.Flags().BoolVar(&f.update, "update", false, "resolve the named charts (all when none is named) again")
	return cmd
}

func runLock(cmd *cobra.Command, s *streams, f *lockCmdFlags, names []string) error {
	start := time.Now()
	p, pl, err := load(s, &f.config, &f.lock, &f.fetch)
	if err != nil {
		return err
	}
	res, err := p.Lock(cmd.Context(), pl, pipeline.LockOptions{Update: f.update, Names: names})
	if err != nil {
		return err
	}
	if f.config.quiet {
		return nil
	}
	if f.lock.locked {
		fmt.Fprintf(s.err, "✓ %s: all %d charts pinned\n", f.lock.lockFile, len(res.New.Charts))
		return nil
	}
	changes := lockChanges(res.Old, res.New)
	for _, c := range changes {
		fmt.Fprintf(s.err, "  %s\n", c)
	}
	fmt.Fprintf(s.err, "✓ %s: %d charts pinned, %d changed  %.1fs\n", f.lock.lockFile, len(res.New.Charts), len(changes), time.Since(start).Seconds())
	return nil
}

// lockChanges describes what differs between two lock files, one line per
// chart: + added, ~ changed, - removed.
func lockChanges(old, next *lock.File) []string {
	var out []string
	for _, e := range next.Charts {
		o, ok := old.Lookup(e.Ref)
		switch {
		case !ok:
			out = append(out, fmt.Sprintf("+ %s -> %s %s", e.Ref, e.ResolvedVersion, shortDigest(e.Digest)))
		case o != e:
			out = append(out, fmt.Sprintf("~ %s -> %s %s (was %s %s)", e.Ref, e.ResolvedVersion, shortDigest(e.Digest), o.ResolvedVersion, shortDigest(o.Digest)))
		}
	}
	if old != nil {
		for _, e := range old.Charts {
			if _, ok := next.Lookup(e.Ref); !ok {
				out = append(out, fmt.Sprintf("- %s", e.Ref))
			}
		}
	}
	return out
}

// shortDigest abbreviates a digest for people: sha256:0123456789ab.
func shortDigest(d string) string {
	if len(d) > len("sha256:")+12 {
		return d[:len("sha256:")+12]
	}
	return d
}
