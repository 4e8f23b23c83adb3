package emit

import (
	"fmt"
	"io"

	"wookie.dev/wookie/internal/render"
)

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

// manifests builds the default tree: <cluster>/<batch>/<bundle>.yaml and
// <cluster>/plan.yaml.
func (s *site) manifests() error {
	for _, g := range s.clusters {
		for _, n := range g.nodes {
			data, err := render.MarshalYAML(n.bundle.Objects)
			if err != nil {
				return fmt.Errorf("cluster %s: bundle %s: %w", g.name, n.name, err)
			}
			s.put(g.name+"/"+n.batch+"/"+n.name+".yaml", data)
		}
		if err := s.putPlan(g.name + "/plan.yaml"); err != nil {
			return err
		}
	}
	return nil
}
