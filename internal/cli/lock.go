package cli

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"wookie.dev/wookie/internal/atomicfile"
	"wookie.dev/wookie/internal/lock"
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
	p, err := loadPlan(s, &f.config)
	if err != nil {
		return err
	}
	refs := lock.Refs(p)
	for _, n := range names {
		if !slices.ContainsFunc(refs, func(r lock.Ref) bool { return r.Name == n }) {
			return fmt.Errorf("--update %s: no chart of that name in the Plan", n)
		}
	}
	old, err := readLock(f.lock.lockFile)
	if err != nil {
		return err
	}
	var before []byte
	if old != nil {
		before = old.Encode()
	}
	if f.lock.locked {
		return checkLocked(s, f, refs, old, before)
	}
	client, err := newChartClient(&f.fetch)
	if err != nil {
		return err
	}
	update := func(r lock.Ref) bool {
		return f.update && (len(names) == 0 || slices.Contains(names, r.Name))
	}
	next, err := client.Lock(cmd.Context(), refs, old, update)
	if err != nil {
		return err
	}
	after := next.Encode()
	changes := lockChanges(old, next)
	if !bytes.Equal(before, after) {
		if err := atomicfile.Write(f.lock.lockFile, after, 0o644); err != nil {
			return fmt.Errorf("write %s: %w", f.lock.lockFile, err)
		}
	}
	if !f.config.quiet {
		for _, c := range changes {
			fmt.Fprintf(s.err, "  %s\n", c)
		}
		fmt.Fprintf(s.err, "✓ %s: %d charts pinned, %d changed  %.1fs\n", f.lock.lockFile, len(next.Charts), len(changes), time.Since(start).Seconds())
	}
	return nil
}

// checkLocked fails unless the lock file pins exactly the Plan's charts.
func checkLocked(s *streams, f *lockCmdFlags, refs []lock.Ref, old *lock.File, before []byte) error {
	if old == nil {
		return fmt.Errorf("%s: no lock file (--locked): run 'wookie lock'", f.lock.lockFile)
	}
	want := lock.New()
	var missing []string
	for _, r := range refs {
		e, ok := old.Lookup(r)
		if !ok {
			missing = append(missing, r.String())
			continue
		}
		want.Set(e)
	}
	if len(missing) > 0 {
		return fmt.Errorf("%s: not pinned (--locked): %s: run 'wookie lock'", f.lock.lockFile, strings.Join(missing, "; "))
	}
	if !bytes.Equal(want.Encode(), before) {
		return fmt.Errorf("%s: out of date (--locked): it pins charts the Plan no longer uses: run 'wookie lock'", f.lock.lockFile)
	}
	if !f.config.quiet {
		fmt.Fprintf(s.err, "✓ %s: all %d charts pinned\n", f.lock.lockFile, len(refs))
	}
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
