package emit

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"wookie.dev/wookie/internal/atomicfile"
	"wookie.dev/wookie/internal/plan"
	"wookie.dev/wookie/internal/render"
)

// Manifests writes r as the directory tree dir/<cluster>/<batch>/<bundle>.yaml
// with dir/<cluster>/plan.yaml, the part of p that made the cluster. The
// tree replaces dir whole and atomically: nothing stale stays, and on error
// the previous tree is left as it was.
func Manifests(dir string, p *plan.Plan, r *render.Result) error {
	return atomicfile.ReplaceDir(dir, func(tmp string) error {
		for i, c := range r.Clusters {
			cdir := filepath.Join(tmp, c.Name)
			if err := os.MkdirAll(cdir, 0o755); err != nil {
				return err
			}
			for _, b := range c.Batches {
				if len(b.Bundles) == 0 {
					continue
				}
				bdir := filepath.Join(cdir, b.Name)
				if err := os.MkdirAll(bdir, 0o755); err != nil {
					return err
				}
				for _, u := range b.Bundles {
					data, err := render.MarshalYAML(u.Objects)
					if err != nil {
						return fmt.Errorf("cluster %s: bundle %s: %w", c.Name, u.Name, err)
					}
					if err := os.WriteFile(filepath.Join(bdir, u.Name+".yaml"), data, 0o644); err != nil {
						return err
					}
				}
			}
			one := &plan.Plan{APIVersion: p.APIVersion, Kind: p.Kind, Clusters: []plan.Cluster{p.Clusters[i]}}
			data, err := plan.EncodeYAML(one)
			if err != nil {
				return err
			}
			if err := os.WriteFile(filepath.Join(cdir, "plan.yaml"), data, 0o644); err != nil {
				return err
			}
		}
		return nil
	})
}

// Stream writes every object of r as one YAML stream in deploy order:
// cluster by cluster, batch by batch, bundle by bundle.
func Stream(w io.Writer, r *render.Result) error {
	for _, c := range r.Clusters {
		for _, b := range c.Batches {
			for _, u := range b.Bundles {
				if len(u.Objects) == 0 {
					continue
				}
				if _, err := fmt.Fprintf(w, "# cluster %s, batch %s (%d), bundle %s\n", c.Name, b.Name, b.Priority, u.Name); err != nil {
					return err
				}
				data, err := render.MarshalYAML(u.Objects)
				if err != nil {
					return fmt.Errorf("cluster %s: bundle %s: %w", c.Name, u.Name, err)
				}
				if _, err := w.Write(data); err != nil {
					return err
				}
			}
		}
	}
	return nil
}
