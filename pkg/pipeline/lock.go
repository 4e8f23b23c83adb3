package pipeline

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strings"

	"wookie.dev/wookie/internal/atomicfile"
	"wookie.dev/wookie/internal/chart"
	"wookie.dev/wookie/internal/lock"
)

// ChartClient returns the chart client of the configuration: its cache
// directory, offline or not, with the credentials of
// Config.CredentialsFile, else $WOOKIE_CREDENTIALS or the default
// credentials file.
func (p *Pipeline) ChartClient() (*chart.Client, error) {
	path, required := p.cfg.CredentialsFile, true
	if path == "" {
		_, required = os.LookupEnv(chart.CredentialsEnv)
		path = chart.DefaultCredentialsPath()
	}
	creds, err := chart.LoadCredentials(path, required)
	if err != nil {
		return nil, err
	}
	return &chart.Client{Cache: &chart.Cache{Dir: p.CacheDir()}, Offline: p.cfg.Offline, Credentials: creds}, nil
}

// CacheDir is the cache directory: Config.CacheDir, else the default.
func (p *Pipeline) CacheDir() string {
	if p.cfg.CacheDir != "" {
		return p.cfg.CacheDir
	}
	return chart.DefaultCacheDir()
}

// ReadLock reads the lock file; a missing file gives nil and no error.
func (p *Pipeline) ReadLock() (*LockFile, error) {
	data, err := os.ReadFile(p.cfg.LockFile)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil
		}
		return nil, fmt.Errorf("lock file: %w", err)
	}
	return lock.Decode(data, p.cfg.LockFile)
}

// Pin attaches the lock file's pins to pl. Charts without a pin are a
// warning, or an error with Config.Locked.
func (p *Pipeline) Pin(pl *Plan) error {
	refs := lock.Refs(pl)
	if len(refs) == 0 {
		return nil
	}
	lf, err := p.ReadLock()
	if err != nil {
		return err
	}
	name := p.cfg.LockFile
	if lf == nil {
		if p.cfg.Locked {
			return fmt.Errorf("%s: no lock file, and --locked needs every chart pinned: run 'wookie lock'", name)
		}
		p.warn(fmt.Sprintf("%d charts are not pinned (no %s): run 'wookie lock'", len(refs), name))
		return nil
	}
	missing, err := lock.Apply(pl, lf)
	if err != nil {
		return err
	}
	if len(missing) == 0 {
		return nil
	}
	if p.cfg.Locked {
		return fmt.Errorf("%s: not pinned (--locked): %s: run 'wookie lock'", name, refList(missing))
	}
	p.warn(fmt.Sprintf("not pinned in %s: %s: run 'wookie lock'", name, refList(missing)))
	return nil
}

// refList joins refs for a message.
func refList(refs []lock.Ref) string {
	names := make([]string, len(refs))
	for i, r := range refs {
		names[i] = r.String()
	}
	return strings.Join(names, "; ")
}

// LockOptions say which charts Lock resolves again.
type LockOptions struct {
	// Update resolves the charts of Names again (all when Names is
	// empty); without it only charts without a pin are resolved.
	Update bool
	// Names are chart names; each must be a chart of the Plan.
	Names []string
}

// Locked is what Lock did: the lock file before (nil when there was none)
// and after, and whether the file was written (it is only when it
// changed).
type Locked struct {
	Old, New *LockFile
	Written  bool
}

// Lock resolves the charts of pl and writes the lock file atomically when
// its content changes. With Config.Locked it resolves nothing and fails
// unless the lock file pins exactly the Plan's charts.
func (p *Pipeline) Lock(ctx context.Context, pl *Plan, o LockOptions) (*Locked, error) {
	refs := lock.Refs(pl)
	for _, n := range o.Names {
		if !slices.ContainsFunc(refs, func(r lock.Ref) bool { return r.Name == n }) {
			return nil, fmt.Errorf("--update %s: no chart of that name in the Plan", n)
		}
	}
	old, err := p.ReadLock()
	if err != nil {
		return nil, err
	}
	var before []byte
	if old != nil {
		before = old.Encode()
	}
	if p.cfg.Locked {
		if err := p.checkLocked(refs, old, before); err != nil {
			return nil, err
		}
		return &Locked{Old: old, New: old}, nil
	}
	client, err := p.ChartClient()
	if err != nil {
		return nil, err
	}
	update := func(r lock.Ref) bool {
		return o.Update && (len(o.Names) == 0 || slices.Contains(o.Names, r.Name))
	}
	next, err := client.Lock(ctx, refs, old, update)
	if err != nil {
		return nil, err
	}
	after := next.Encode()
	res := &Locked{Old: old, New: next}
	if !bytes.Equal(before, after) {
		if err := atomicfile.Write(p.cfg.LockFile, after, 0o644); err != nil {
			return nil, fmt.Errorf("write %s: %w", p.cfg.LockFile, err)
		}
		res.Written = true
	}
	return res, nil
}

// checkLocked fails unless the lock file pins exactly refs.
func (p *Pipeline) checkLocked(refs []lock.Ref, old *LockFile, before []byte) error {
	name := p.cfg.LockFile
	if old == nil {
		return fmt.Errorf("%s: no lock file (--locked): run 'wookie lock'", name)
	}
	want := lock.New()
	var missing []lock.Ref
	for _, r := range refs {
		e, ok := old.Lookup(r)
		if !ok {
			missing = append(missing, r)
			continue
		}
		want.Set(e)
	}
	if len(missing) > 0 {
		return fmt.Errorf("%s: not pinned (--locked): %s: run 'wookie lock'", name, refList(missing))
	}
	if !bytes.Equal(want.Encode(), before) {
		return fmt.Errorf("%s: out of date (--locked): it pins charts the Plan no longer uses: run 'wookie lock'", name)
	}
	return nil
}

// PinnedEntries returns the lock entries of the Plan's charts. Charts
// without one are resolved now (a warning), or an error with
// Config.Locked.
func (p *Pipeline) PinnedEntries(ctx context.Context, pl *Plan, client *chart.Client) ([]lock.Entry, error) {
	lf, err := p.ReadLock()
	if err != nil {
		return nil, err
	}
	var entries []lock.Entry
	var missing []lock.Ref
	for _, r := range lock.Refs(pl) {
		if e, ok := lf.Lookup(r); ok {
			entries = append(entries, e)
		} else {
			missing = append(missing, r)
		}
	}
	if len(missing) == 0 {
		return entries, nil
	}
	if p.cfg.Locked {
		return nil, fmt.Errorf("%s: not pinned (--locked): %s: run 'wookie lock'", p.cfg.LockFile, refList(missing))
	}
	p.warn(fmt.Sprintf("not pinned in %s, resolved now: %s: run 'wookie lock'", p.cfg.LockFile, refList(missing)))
	resolved, err := client.Lock(ctx, missing, nil, nil)
	if err != nil {
		return nil, err
	}
	return append(entries, resolved.Charts...), nil
}

// Pull fetches every chart of pl, as pinned, into the cache, verifying
// each digest, and returns the entries fetched.
func (p *Pipeline) Pull(ctx context.Context, pl *Plan) ([]lock.Entry, error) {
	client, err := p.ChartClient()
	if err != nil {
		return nil, err
	}
	entries, err := p.PinnedEntries(ctx, pl, client)
	if err != nil {
		return nil, err
	}
	if err := client.FetchAll(ctx, entries); err != nil {
		return nil, err
	}
	return entries, nil
}
