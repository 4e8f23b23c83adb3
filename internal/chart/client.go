package chart

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"

	"golang.org/x/sync/errgroup"
	"wookie.dev/wookie/internal/lock"
)

// Client resolves, fetches and verifies charts. The zero value is not
// usable: fill in at least Cache (or set NoCache).
type Client struct {
	// Cache stores fetched charts by digest; nil means no cache.
	Cache *Cache
	// Offline forbids the network: charts come from the cache (and local
	// charts from disk) or not at all.
	Offline bool
	// Credentials for repositories and registries; nil means none.
	Credentials *Credentials
	// BaseDir is where relative local chart paths start; "" means the
	// working directory.
	BaseDir string
	// Parallel bounds concurrent fetches; 0 means 4.
	Parallel int
	// Retry is the retry policy; the zero value means DefaultRetry.
	Retry Retry
	// Limits bound archives; the zero value means DefaultLimits.
	Limits Limits

	transports transports
	indexes    onceMap[*indexResult]
}

func (c *Client) retry() Retry {
	if c.Retry.Attempts == 0 {
		return DefaultRetry
	}
	return c.Retry
}

func (c *Client) limits() Limits {
	if c.Limits == (Limits{}) {
		return DefaultLimits
	}
	return c.Limits
}

// httpFor returns the credential and HTTP client for a location.
func (c *Client) httpFor(location string) (*auth, *http.Client, error) {
	a, err := c.Credentials.For(location)
	if err != nil {
		return nil, nil, err
	}
	ca := ""
	if a != nil {
		ca = a.caFile
	}
	hc, err := c.transports.client(ca, c.retry())
	if err != nil {
		return nil, nil, fmt.Errorf("credentials for %s: %w", location, err)
	}
	return a, hc, nil
}

// Resolved is a chart resolved to a pin, with its archive.
type Resolved struct {
	Entry   lock.Entry
	Archive []byte
}

// Resolve finds the chart ref asks for (the newest version that matches a
// constraint), downloads it, checks it and caches it, and returns its pin.
func (c *Client) Resolve(ctx context.Context, ref lock.Ref) (*Resolved, error) {
	var r *Resolved
	var err error
	switch KindOf(ref.Repo) {
	case KindHTTP:
		if c.Offline {
			return nil, fmt.Errorf("chart %s: not pinned in the lock file, and resolving it needs the network (--offline)", ref)
		}
		r, err = c.resolveHTTP(ctx, ref)
	case KindOCI:
		if c.Offline {
			return nil, fmt.Errorf("chart %s: not pinned in the lock file, and resolving it needs the network (--offline)", ref)
		}
		r, err = c.resolveOCI(ctx, ref)
	default:
		r, err = c.resolveLocal(ref)
	}
	if err != nil {
		return nil, fmt.Errorf("chart %s: %w", ref, err)
	}
	return r, nil
}

// Fetch returns the archive an entry pins: from the cache when it is there
// (verified), else downloaded, verified against the pin and cached. Bytes
// whose digest differs from the pin are an error with both digests.
func (c *Client) Fetch(ctx context.Context, e lock.Entry) ([]byte, error) {
	var data []byte
	var err error
	switch KindOf(e.Repo) {
	case KindHTTP:
		data, err = c.fetchHTTP(ctx, e)
	case KindOCI:
		data, err = c.fetchOCI(ctx, e)
	default:
		data, err = c.fetchLocal(e)
	}
	if err != nil {
		return nil, fmt.Errorf("chart %s: %w", e.Ref, err)
	}
	return data, nil
}

// cached returns a cached blob; a miss is (nil, nil).
func (c *Client) cached(digest string) ([]byte, error) {
	if c.Cache == nil {
		return nil, nil
	}
	data, err := c.Cache.Get(digest)
	if errors.Is(err, ErrNotCached) {
		return nil, nil
	}
	return data, err
}

// store puts a blob into the cache, if there is one.
func (c *Client) store(data []byte) error {
	if c.Cache == nil {
		return nil
	}
	_, err := c.Cache.Put(data)
	return err
}

// offlineMiss is the error for a chart that offline mode cannot find.
func offlineMiss(e lock.Entry) error {
	return fmt.Errorf("%s is not in the cache and --offline forbids downloading it: run 'wookie charts pull' while online", e.Digest)
}

// Lock resolves every ref and returns the lock file for exactly those refs.
// An entry of old is kept as it is unless update says the ref must be
// resolved again. Charts are resolved in parallel; the same chart is
// resolved once. Every problem is reported, each naming its chart.
func (c *Client) Lock(ctx context.Context, refs []lock.Ref, old *lock.File, update func(lock.Ref) bool) (*lock.File, error) {
	out := lock.New()
	var todo []lock.Ref
	for _, r := range refs {
		if e, ok := old.Lookup(r); ok && (update == nil || !update(r)) {
			out.Set(e)
			continue
		}
		todo = append(todo, r)
	}
	results := make([]*Resolved, len(todo))
	errs := c.each(ctx, len(todo), func(ctx context.Context, i int) error {
		r, err := c.Resolve(ctx, todo[i])
		results[i] = r
		return err
	})
	if errs != nil {
		return nil, errs
	}
	for _, r := range results {
		out.Set(r.Entry)
	}
	return out, nil
}

// FetchAll fetches every entry (each distinct digest once) in parallel and
// returns every problem.
func (c *Client) FetchAll(ctx context.Context, entries []lock.Entry) error {
	var uniq []lock.Entry
	for _, e := range entries {
		if !slices.ContainsFunc(uniq, func(u lock.Entry) bool { return u.Digest == e.Digest && u.URL == e.URL }) {
			uniq = append(uniq, e)
		}
	}
	return c.each(ctx, len(uniq), func(ctx context.Context, i int) error {
		_, err := c.Fetch(ctx, uniq[i])
		return err
	})
}

// each runs fn for 0..n-1 with at most Parallel at once and joins the
// errors, sorted so the message is stable.
func (c *Client) each(ctx context.Context, n int, fn func(context.Context, int) error) error {
	par := c.Parallel
	if par <= 0 {
		par = 4
	}
	var g errgroup.Group
	g.SetLimit(par)
	errs := make([]error, n)
	for i := range n {
		g.Go(func() error {
			if errs[i] = ctx.Err(); errs[i] == nil {
				errs[i] = fn(ctx, i)
			}
			return nil
		})
	}
	g.Wait()
	errs = slices.DeleteFunc(errs, func(e error) bool { return e == nil })
	slices.SortFunc(errs, func(a, b error) int { return strings.Compare(a.Error(), b.Error()) })
	return errors.Join(errs...)
}

// onceMap runs a computation once per key, for concurrent callers.
type onceMap[V any] struct {
	mu sync.Mutex
	m  map[string]*onceEntry[V]
}

type onceEntry[V any] struct {
	once sync.Once
	v    V
	err  error
}

// do returns the result of fn for key, computing it at most once.
func (o *onceMap[V]) do(key string, fn func() (V, error)) (V, error) {
	o.mu.Lock()
	if o.m == nil {
		o.m = map[string]*onceEntry[V]{}
	}
	e, ok := o.m[key]
	if !ok {
		e = &onceEntry[V]{}
		o.m[key] = e
	}
	o.mu.Unlock()
	e.once.Do(func() { e.v, e.err = fn() })
	return e.v, e.err
}

// fileExists reports whether a regular file exists at p.
func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular()
}

// CacheState describes an entry's bytes in the cache: "cached" (present
// and verified), "missing", "corrupt", or "local" for local charts, which
// are read from disk.
func (c *Client) CacheState(e lock.Entry) string {
	if KindOf(e.Repo) == KindLocal {
		return "local"
	}
	if c.Cache == nil {
		return "missing"
	}
	data, err := c.Cache.Get(e.Digest)
	switch {
	case errors.Is(err, ErrNotCached):
		return "missing"
	case err != nil:
		return "corrupt"
	}
	if KindOf(e.Repo) == KindOCI {
		layer, err := chartLayer(data)
		if err != nil {
			return "corrupt"
		}
		if _, err := c.Cache.Get(layer); errors.Is(err, ErrNotCached) {
			return "missing"
		} else if err != nil {
			return "corrupt"
		}
	}
	return "cached"
}
