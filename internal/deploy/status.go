package deploy

import (
	"context"
	"fmt"
	"slices"

	"wookie.dev/wookie/internal/plan"
	"wookie.dev/wookie/internal/render"
)

// BundleStatus is the live state of one bundle.
type BundleStatus struct {
	Cluster string `json:"cluster"`
	Batch   string `json:"batch"`
	Bundle  string `json:"bundle"`
	// Objects counts the objects judged: the bundle's objects, less its
	// hooks that are done (see HooksDone).
	Objects int `json:"objects"`
	// Present counts the objects judged that exist, Ready those that are
	// ready, and Unreadable those whose state could not be read.
	Present    int `json:"present"`
	Ready      int `json:"ready"`
	Unreadable int `json:"unreadable,omitempty"`
	// HooksDone counts the Helm hooks whose delete policy includes
	// hook-succeeded and that do not exist: deploy deleted them once they
	// succeeded, so Helm would call them done. They are left out of
	// Objects, Present and Ready, which count only objects read.
	HooksDone int `json:"hooksDone,omitempty"`
	// State is Missing when some object does not exist, else Unreadable
	// when some object could not be read, else NotReady when some object
	// is not ready, else Ready.
	State string `json:"state"`
	// NotReady are the objects that are not known to be ready, in apply
	// order: Status is Missing, Unreadable (Message says why), or the
	// readiness of the object.
	NotReady []ObjectState `json:"notReady,omitempty"`
}

// Status reads every object of r, rendered from p, from the live clusters
// and reports per bundle whether its objects exist and are ready, judged
// as deploy judges them (kstatus and the bundle's readiness rules). An
// object that cannot be read is neither present nor ready: it is
// Unreadable, with the reason.
//
// Helm hooks are judged as Helm users expect: a hook whose delete policy
// (helm.sh/hook-delete-policy) includes hook-succeeded and that does not
// exist is done, and is counted in HooksDone only, neither as an object
// nor as missing; a hook that exists is judged as any object (a failed
// Job is not ready). A chart's test hooks (Bundle.Tests) are never read.
//
// The inputs of a cluster are read once from the live clusters they come
// from, without waiting; an input without a value keeps its reference and
// is reported by a warning event to opts.OnEvent. Such a cluster is
// rendered with opts.Render, as are the clusters r lacks. With
// opts.Select, only the bundles it picks are read.
func Status(ctx context.Context, p *plan.Plan, r *render.Result, opts Options) ([]BundleStatus, error) {
	f, err := newFleet(p, r, opts)
	if err != nil {
		return nil, err
	}
	var out []BundleStatus
	for _, sel := range f.selected() {
		pc, rc, err := f.prepare(ctx, sel, false)
		if err != nil {
			return nil, inCluster(sel.Name, err)
		}
		c, err := connect(f.targets[pc.Name])
		if err != nil {
			return nil, fmt.Errorf("cluster %s: %w", pc.Name, err)
		}
		d := &clusterDeploy{plan: pc, conn: c, opts: opts}
		picked := render.Pick(rc, opts.Select)
		for bi := range rc.Batches {
			b, ok := picked.Batch(&rc.Batches[bi])
			if !ok {
				continue
			}
			for _, u := range b.Bundles {
				meta, err := d.meta(&u)
				if err != nil {
					return nil, inCluster(pc.Name, err)
				}
				st := BundleStatus{Cluster: pc.Name, Batch: b.Name, Bundle: u.Name}
				missing := 0
				for _, o := range u.Objects {
					os, ready := liveState(ctx, c.client, o.Unstructured, withJobRule(meta.readiness))
					if os.Status == "Missing" && hookDone(o) {
						st.HooksDone++
						continue
					}
					st.Objects++
					switch os.Status {
					case "Missing":
						missing++
					case "Unreadable":
						st.Unreadable++
					default:
						st.Present++
					}
					if ready {
						st.Ready++
					} else {
						st.NotReady = append(st.NotReady, os)
					}
				}
				switch {
				case missing > 0:
					st.State = "Missing"
				case st.Unreadable > 0:
					st.State = "Unreadable"
				case st.Ready < st.Objects:
					st.State = "NotReady"
				default:
					st.State = "Ready"
				}
				out = append(out, st)
			}
		}
	}
	return out, nil
}

// hookDone says whether o, known not to exist, is a Helm hook that is done:
// one whose delete policy includes hook-succeeded, which deploy deletes
// once it is ready.
func hookDone(o *render.Object) bool {
	return o.Hook != "" && slices.Contains(hookPolicies(o.Unstructured), hookSucceeded)
}
