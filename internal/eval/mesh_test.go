package eval

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/yaml"

	"wookie.dev/wookie/internal/plan"
)

// meshCluster is what the wookie project makes of one cluster's place in
// the mesh, as TestMeshModels compares it.
type meshCluster struct {
	// Bundles of the Istio stack beyond the standalone one, as batch/name.
	Bundles []string
	// Inputs as name<-cluster:Kind/namespace/name.
	Inputs []string
	// Namespace is the labels and annotations of Namespace istio-system.
	Namespace map[string]string
	// Istiod and Base are the multi-cluster values of the two charts.
	Istiod map[string]any
	Base   map[string]any
	// RemoteSecrets are the Secrets of istio-remote-secrets, as
	// name: cluster annotation, kubeconfig server, reference to the token.
	RemoteSecrets []string
	// Sensitive lists the bundles marked sensitive or generated.
	Sensitive []string
}

// standaloneBundles are the bundles every cluster gets from the wookie
// project with Istio.
var standaloneBundles = []string{
	"crds/istio-base", "namespaces/ns-istio-ingress", "namespaces/ns-istio-system",
	"namespaces/ns-wookie", "operators/istiod", "services/istio-ingressgateway",
}

func summarizeMesh(t *testing.T, c *plan.Cluster) meshCluster {
	t.Helper()
	var m meshCluster
	for _, in := range c.Inputs {
		m.Inputs = append(m.Inputs, fmt.Sprintf("%s<-%s:%s/%s/%s", in.Name, in.From.Cluster, in.From.Kind, in.From.Namespace, in.From.Name))
	}
	for _, b := range c.Batches {
		for i := range b.Bundles {
			u := &b.Bundles[i]
			key := b.Name + "/" + u.Name
			if u.IsSensitive() {
				m.Sensitive = append(m.Sensitive, u.Name)
			}
			if !slices.Contains(standaloneBundles, key) {
				m.Bundles = append(m.Bundles, key)
			}
			switch u.Name {
			case "ns-istio-system":
				meta, _ := u.Manifests[0]["metadata"].(map[string]any)
				for _, field := range []string{"labels", "annotations"} {
					kv, _ := meta[field].(map[string]any)
					for k, v := range kv {
						if m.Namespace == nil {
							m.Namespace = map[string]string{}
						}
						m.Namespace[field+":"+k] = fmt.Sprint(v)
					}
				}
			case "istiod":
				m.Istiod = pick(u.Chart.Values, "profile", "global.meshID", "global.multiCluster", "global.network",
					"global.externalIstiod", "global.remotePilotAddress", "istiodRemote")
			case "istio-base":
				m.Base = pick(u.Chart.Values, "profile")
			case "istio-remote-secrets":
				for _, o := range u.Manifests {
					meta := o["metadata"].(map[string]any)
					cluster := meta["annotations"].(map[string]any)["networking.istio.io/cluster"].(string)
					if meta["labels"].(map[string]any)["istio/multiCluster"] != "true" {
						t.Errorf("secret %s: no label istio/multiCluster", meta["name"])
					}
					kc := o["stringData"].(map[string]any)[cluster].(string)
					// The kubeconfig's shape, strictly: what istioctl
					// create-remote-secret writes.
					var cfg struct {
						APIVersion string `json:"apiVersion"`
						Kind       string `json:"kind"`
						Clusters   []struct {
							Name    string            `json:"name"`
							Cluster map[string]string `json:"cluster"`
						} `json:"clusters"`
						Contexts []struct {
							Name    string            `json:"name"`
							Context map[string]string `json:"context"`
						} `json:"contexts"`
						Users []struct {
							Name string            `json:"name"`
							User map[string]string `json:"user"`
						} `json:"users"`
						Preferences    map[string]any `json:"preferences"`
						CurrentContext string         `json:"current-context"`
					}
					if err := yaml.UnmarshalStrict([]byte(kc), &cfg); err != nil {
						t.Fatalf("secret %s: kubeconfig: %v", meta["name"], err)
					}
					if cfg.APIVersion != "v1" || cfg.Kind != "Config" || cfg.Clusters[0].Name != cluster || cfg.Users[0].Name != cluster ||
						cfg.Contexts[0].Name != cluster || cfg.Contexts[0].Context["cluster"] != cluster || cfg.Contexts[0].Context["user"] != cluster {
						t.Errorf("secret %s: kubeconfig names: %+v", meta["name"], cfg)
					}
					m.RemoteSecrets = append(m.RemoteSecrets, fmt.Sprintf("%s: %s %s %s %s ctx=%s", meta["name"], cluster,
						cfg.Clusters[0].Cluster["server"], cfg.Clusters[0].Cluster["certificate-authority-data"], cfg.Users[0].User["token"], cfg.CurrentContext))
				}
			}
		}
	}
	return m
}

// pick returns the values at the dotted paths that are set.
func pick(values map[string]any, paths ...string) map[string]any {
	out := map[string]any{}
	for _, p := range paths {
		var v any = values
		for _, k := range strings.Split(p, ".") {
			mv, ok := v.(map[string]any)
			if !ok {
				v = nil
				break
			}
			v = mv[k]
		}
		if v != nil {
			out[p] = v
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// TestMeshModels: the wookie project turns each cluster's mesh role into
// the Istio stack of its model: standalone, multi-primary and
// primary-remote, on one network or several.
func TestMeshModels(t *testing.T) {
	twoK3d := func(alpha, beta string) string {
		return `targets: "multi-k3d": {enable: true, clusters: {alpha: {` + alpha + `}, beta: {` + beta + `}}}
projects: wookie: enable: true
`
	}
	lb := "has(status.loadBalancer.ingress) && size(status.loadBalancer.ingress) > 0 ? (has(status.loadBalancer.ingress[0].ip) ? status.loadBalancer.ingress[0].ip : status.loadBalancer.ingress[0].hostname) : ''"
	token := "istio-reader-service-account-istio-remote-secret-token"
	primaryValues := func(cn, network string, external bool) map[string]any {
		v := map[string]any{"global.meshID": "wookie", "global.multiCluster": map[string]any{"clusterName": cn}, "global.network": network}
		if external {
			v["global.externalIstiod"] = true
		}
		return v
	}
	remoteSecret := func(o string) string {
		return fmt.Sprintf("istio-remote-secret-%s: %s https://k3d-%s-serverlb:6443 ((input reader-ca-%s)) ((input reader-token-%s)) ctx=%s", o, o, o, o, o, o)
	}
	readerInputs := func(o string) []string {
		return []string{"reader-ca-" + o + "<-" + o + ":Secret/istio-system/" + token, "reader-token-" + o + "<-" + o + ":Secret/istio-system/" + token}
	}
	tests := []struct {
		name, config string
		want         map[string]meshCluster
		wantErr      string
	}{{
		name:   "standalone",
		config: base,
		want:   map[string]meshCluster{"wookie-local": {}},
	}, {
		name:   "standalone with the plug-in CA everywhere",
		config: base + "projects: wookie: istio: pluginCA: \"all\"\n",
		want:   map[string]meshCluster{"wookie-local": {Bundles: []string{"namespaces/istio-cacerts"}, Sensitive: []string{"istio-cacerts"}}},
	}, {
		name:   "multi-primary on two networks",
		config: twoK3d("", ""),
		want: map[string]meshCluster{
			"alpha": {
				Bundles:       []string{"namespaces/istio-cacerts", "namespaces/istio-reader-token", "services/istio-eastwestgateway", "services/istio-expose-services", "services/istio-remote-secrets"},
				Inputs:        readerInputs("beta"),
				Namespace:     map[string]string{"labels:topology.istio.io/network": "alpha"},
				Istiod:        primaryValues("alpha", "alpha", false),
				RemoteSecrets: []string{remoteSecret("beta")},
				Sensitive:     []string{"istio-cacerts", "istio-remote-secrets"},
			},
			"beta": {
				Bundles:       []string{"namespaces/istio-cacerts", "namespaces/istio-reader-token", "services/istio-eastwestgateway", "services/istio-expose-services", "services/istio-remote-secrets"},
				Inputs:        readerInputs("alpha"),
				Namespace:     map[string]string{"labels:topology.istio.io/network": "beta"},
				Istiod:        primaryValues("beta", "beta", false),
				RemoteSecrets: []string{remoteSecret("alpha")},
				Sensitive:     []string{"istio-cacerts", "istio-remote-secrets"},
			},
		},
	}, {
		name:   "multi-primary on one network: no east-west gateways",
		config: twoK3d(`network: "flat"`, `network: "flat"`),
		want: map[string]meshCluster{
			"alpha": {
				Bundles:       []string{"namespaces/istio-cacerts", "namespaces/istio-reader-token", "services/istio-remote-secrets"},
				Inputs:        readerInputs("beta"),
				Namespace:     map[string]string{"labels:topology.istio.io/network": "flat"},
				Istiod:        primaryValues("alpha", "flat", false),
				RemoteSecrets: []string{remoteSecret("beta")},
				Sensitive:     []string{"istio-cacerts", "istio-remote-secrets"},
			},
			"beta": {
				Bundles:       []string{"namespaces/istio-cacerts", "namespaces/istio-reader-token", "services/istio-remote-secrets"},
				Inputs:        readerInputs("alpha"),
				Namespace:     map[string]string{"labels:topology.istio.io/network": "flat"},
				Istiod:        primaryValues("beta", "flat", false),
				RemoteSecrets: []string{remoteSecret("alpha")},
				Sensitive:     []string{"istio-cacerts", "istio-remote-secrets"},
			},
		},
	}, {
		name:   "primary-remote on two networks",
		config: twoK3d("", `clusterRole: "remote"`),
		want: map[string]meshCluster{
			"alpha": {
				Bundles:       []string{"namespaces/istio-cacerts", "services/istio-eastwestgateway", "services/istio-expose-istiod", "services/istio-expose-services", "services/istio-remote-secrets"},
				Inputs:        readerInputs("beta"),
				Namespace:     map[string]string{"labels:topology.istio.io/network": "alpha"},
				Istiod:        primaryValues("alpha", "alpha", true),
				RemoteSecrets: []string{remoteSecret("beta")},
				Sensitive:     []string{"istio-cacerts", "istio-remote-secrets"},
			},
			"beta": {
				Bundles:   []string{"namespaces/istio-reader-token", "services/istio-eastwestgateway", "services/istio-expose-services"},
				Inputs:    []string{"istiod-address<-alpha:Service/istio-system/istio-eastwestgateway"},
				Namespace: map[string]string{"labels:topology.istio.io/network": "beta", "annotations:topology.istio.io/controlPlaneClusters": "alpha"},
				Base:      map[string]any{"profile": "remote"},
				Istiod: map[string]any{"profile": "remote", "global.meshID": "wookie", "global.multiCluster": map[string]any{"clusterName": "beta"},
					"global.network": "beta", "global.remotePilotAddress": "((input istiod-address))",
					"istiodRemote": map[string]any{"injectionPath": "/inject/cluster/beta/net/beta"}},
			},
		},
	}, {
		name:   "primary-remote on one network: the east-west gateway only exposes istiod",
		config: twoK3d(`network: "flat"`, `clusterRole: "remote", network: "flat"`),
		want: map[string]meshCluster{
			"alpha": {
				Bundles:       []string{"namespaces/istio-cacerts", "services/istio-eastwestgateway", "services/istio-expose-istiod", "services/istio-remote-secrets"},
				Inputs:        readerInputs("beta"),
				Namespace:     map[string]string{"labels:topology.istio.io/network": "flat"},
				Istiod:        primaryValues("alpha", "flat", true),
				RemoteSecrets: []string{remoteSecret("beta")},
				Sensitive:     []string{"istio-cacerts", "istio-remote-secrets"},
			},
			"beta": {
				Bundles:   []string{"namespaces/istio-reader-token"},
				Inputs:    []string{"istiod-address<-alpha:Service/istio-system/istio-eastwestgateway"},
				Namespace: map[string]string{"labels:topology.istio.io/network": "flat", "annotations:topology.istio.io/controlPlaneClusters": "alpha"},
				Base:      map[string]any{"profile": "remote"},
				Istiod: map[string]any{"profile": "remote", "global.meshID": "wookie", "global.multiCluster": map[string]any{"clusterName": "beta"},
					"global.network": "flat", "global.remotePilotAddress": "((input istiod-address))",
					"istiodRemote": map[string]any{"injectionPath": "/inject/cluster/beta/net/flat"}},
			},
		},
	}, {
		name: "a lone primary with its own mesh settings",
		config: `targets: kubeconfig: {enable: true, clusterName: "prod", context: "prod"}
projects: wookie: {enable: true, clusterRole: "primary", istio: meshID: "corp"}
`,
		want: map[string]meshCluster{"prod": {
			Bundles:   []string{"namespaces/istio-cacerts"},
			Namespace: map[string]string{"labels:topology.istio.io/network": "prod"},
			Istiod:    map[string]any{"global.meshID": "corp", "global.multiCluster": map[string]any{"clusterName": "prod"}, "global.network": "prod"},
			Sensitive: []string{"istio-cacerts"},
		}},
	}, {
		name:    "remotes without a primary",
		config:  twoK3d(`clusterRole: "remote"`, `clusterRole: "remote"`),
		wantErr: "clusters alpha, beta: mesh.clusterRole is remote, and no cluster is a primary",
	}, {
		name:    "a remote naming a cluster that is not a primary",
		config:  twoK3d("", `clusterRole: "remote", primary: "gamma"`),
		wantErr: "assertion wookie-mesh-primary failed: clusters beta: a remote uses a primary's control plane, and mesh.primary names no primary cluster",
	}, {
		name:    "two primaries without the plug-in CA",
		config:  twoK3d("", "") + "projects: wookie: istio: pluginCA: \"none\"\n",
		wantErr: "assertion wookie-mesh-ca failed: projects.wookie.istio.pluginCA: none, and clusters alpha, beta are primaries of one mesh",
	}, {
		name: "a mesh member without an API server URL",
		config: `targets: kubeconfig: {enable: true, clusterName: "prod", context: "prod"}
clusters: edge: {target: "manual", context: "edge", kubeVersion: "1.31.0", mesh: {clusterRole: "remote", network: "edge"}}
projects: wookie: {enable: true, clusterRole: "primary"}
`,
		wantErr: "assertion wookie-mesh-api-server failed: clusters edge: mesh.apiServer is unset",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := evalConfig(t, tt.config, tt.wantErr)
			if res == nil {
				return
			}
			got := map[string]meshCluster{}
			for i := range res.Plan.Clusters {
				got[res.Plan.Clusters[i].Name] = summarizeMesh(t, &res.Plan.Clusters[i])
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("mesh (-want +got):\n%s", diff)
			}
			for _, c := range res.Plan.Clusters {
				for _, in := range c.Inputs {
					if in.Name == "istiod-address" && in.From.Expression != lb {
						t.Errorf("cluster %s: istiod-address expression %q", c.Name, in.From.Expression)
					}
				}
			}
		})
	}
}
