package chart

import (
	"context"
	"fmt"

	"wookie.dev/wookie/internal/lock"
	"wookie.dev/wookie/internal/plan"
)

// PlanSource gives the archives of a Plan's charts, each fetched once:
// through the lock file's pin when the chart has one, else resolved now.
// A chart that carries a digest gets bytes with exactly that digest.
type PlanSource struct {
	Client *Client
	// Lock holds the pins; nil means none.
	Lock *lock.File

	archives onceMap[[]byte]
}

// Archive implements render.ChartSource.
func (s *PlanSource) Archive(ctx context.Context, c *plan.Chart) ([]byte, error) {
	key := c.Repo + "\x00" + c.Name + "\x00" + c.Version + "\x00" + c.Digest
	return s.archives.do(key, func() ([]byte, error) {
		if c.Digest != "" && s.Lock != nil {
			for _, e := range s.Lock.Charts {
				if e.Repo == c.Repo && e.Name == c.Name && e.Digest == c.Digest {
					return s.Client.Fetch(ctx, e)
				}
			}
		}
		ref := lock.Ref{Repo: c.Repo, Name: c.Name, Version: c.Version}
		r, err := s.Client.Resolve(ctx, ref)
		if err != nil {
			return nil, err
		}
		if c.Digest != "" && r.Entry.Digest != c.Digest {
			return nil, fmt.Errorf("chart %s: %w", ref, &DigestMismatchError{What: r.Entry.URL + " (the digest the Plan pins)", Expected: c.Digest, Actual: r.Entry.Digest})
		}
		return r.Archive, nil
	})
}
