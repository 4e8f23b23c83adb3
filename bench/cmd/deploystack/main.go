// Command deploystack writes the stack of bench/deploy.sh into the directory
// it is given: 500 Kubernetes objects in four batches, once as a wookie
// configuration (wookie.cue, raw manifest bundles, the kubeconfig target)
// and once as four YAML files for kubectl apply --server-side, with the
// same objects in the same order:
//
//	crds.yaml        10 CustomResourceDefinitions     batch crds
//	namespaces.yaml  20 Namespaces                    batch namespaces
//	config.yaml     370 ServiceAccounts, Roles,       batch operators
//	                    RoleBindings, ConfigMaps,
//	                    Secrets
//	workloads.yaml  100 Deployments (1 replica)       batch services
//
// Every object carries the label bench.wookie.dev/stack=deploy.
//
// With -stack configmaps it writes 2,000 ConfigMaps instead, 500 in each of
// the four batches, each batch in a namespace of its own (cm-<batch>, its
// Namespace object first in the batch), one bundle per batch: the stack of
// issue 18's deploy figures, which measure the API requests of a deploy
// rather than waits.
//
// With -layout namespace (the default) the wookie bundles follow the
// namespaces, as wookie's own modules do: one bundle for the CRDs, and per
// namespace one bundle for the Namespace, one for its configuration and
// one for its Deployments (61 bundles). With -layout batch every batch is
// one bundle (4 bundles), as the four kubectl files are.
//
// Usage:
//
//	go run ./bench/cmd/deploystack [-context testenv] [-kube-version 1.37.2] [-layout namespace|batch] [-stack deploy|configmaps] DIR
package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"sigs.k8s.io/yaml"
)

// The size of the stack: 10 + 20 + 20*18 + 10 + 20*5 = 500 objects.
const (
	crdCount       = 10
	namespaceCount = 20
	perNamespace   = 4 // ServiceAccounts, Roles and RoleBindings per namespace
	configMaps     = 3 // per namespace, one more in the first ten
	secrets        = 3 // per namespace
	deployments    = 5 // per namespace
	group          = "bench.wookie.dev"
	stackLabel     = "bench.wookie.dev/stack"
)

type object = map[string]any

// bundle is one wookie bundle: a name, a namespace and its objects.
type bundle struct {
	name, namespace string
	objects         []object
}

// batch is one wookie batch and one kubectl file.
type batch struct {
	name, file string
	bundles    []bundle
}

func main() {
	ctxName := flag.String("context", "testenv", "kubeconfig context of the cluster")
	kubeVersion := flag.String("kube-version", "1.37.2", "Kubernetes version of the cluster")
	layout := flag.String("layout", "namespace", "wookie bundles: namespace (per namespace) or batch (one per batch)")
	stackName := flag.String("stack", "deploy", "deploy (500 objects of many kinds) or configmaps (2,000 ConfigMaps)")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: deploystack [-context NAME] [-kube-version V] [-layout namespace|batch] DIR")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() != 1 || *layout != "namespace" && *layout != "batch" || *stackName != "deploy" && *stackName != "configmaps" {
		flag.Usage()
		os.Exit(2)
	}
	batches := stack()
	if *stackName == "configmaps" {
		batches = configMapStack()
	}
	if err := write(flag.Arg(0), batches, *ctxName, *kubeVersion, *layout); err != nil {
		fmt.Fprintln(os.Stderr, "deploystack:", err)
		os.Exit(1)
	}
}

func write(dir string, batches []batch, ctxName, kubeVersion, layout string) error {
	if layout == "batch" {
		for i := range batches {
			merged := bundle{name: batches[i].name, namespace: "default"}
			for _, b := range batches[i].bundles {
				merged.objects = append(merged.objects, b.objects...)
			}
			batches[i].bundles = []bundle{merged}
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, b := range batches {
		var buf bytes.Buffer
		for _, u := range b.bundles {
			for _, o := range u.objects {
				y, err := yaml.Marshal(o)
				if err != nil {
					return fmt.Errorf("%s: %w", b.file, err)
				}
				buf.WriteString("---\n")
				buf.Write(y)
			}
		}
		if err := os.WriteFile(filepath.Join(dir, b.file), buf.Bytes(), 0o644); err != nil {
			return err
		}
	}
	cue, err := config(batches, ctxName, kubeVersion)
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "wookie.cue"), cue, 0o644)
}

// config is the wookie.cue of the stack: the kubeconfig target, and the
// bundles with their manifests as JSON, which is CUE.
func config(batches []batch, ctxName, kubeVersion string) ([]byte, error) {
	var buf bytes.Buffer
	fmt.Fprintf(&buf, "// Written by bench/cmd/deploystack: %d objects for bench/deploy.sh.\n", count(batches))
	fmt.Fprintf(&buf, "targets: kubeconfig: {\n\tenable:      true\n\tclusterName: \"bench\"\n\tcontext:     %q\n\tkubeVersion: %q\n}\n", ctxName, kubeVersion)
	for _, b := range batches {
		for _, u := range b.bundles {
			m, err := json.MarshalIndent(u.objects, "\t", "\t")
			if err != nil {
				return nil, fmt.Errorf("bundle %s: %w", u.name, err)
			}
			fmt.Fprintf(&buf, "clusters: bench: batches: %s: bundles: %q: {\n\tnamespace: %q\n\tmanifests: stack: %s\n}\n", b.name, u.name, u.namespace, m)
		}
	}
	return buf.Bytes(), nil
}

func count(batches []batch) int {
	n := 0
	for _, b := range batches {
		for _, u := range b.bundles {
			n += len(u.objects)
		}
	}
	return n
}

// stack returns the four batches, one bundle per namespace in each but the
// first.
func stack() []batch {
	labels := func(extra ...string) map[string]any {
		l := map[string]any{stackLabel: "deploy"}
		for i := 0; i+1 < len(extra); i += 2 {
			l[extra[i]] = extra[i+1]
		}
		return l
	}
	crds := bundle{name: "crds", namespace: "default"}
	for i := range crdCount {
		kind := fmt.Sprintf("Widget%d", i)
		plural := fmt.Sprintf("widget%ds", i)
		crds.objects = append(crds.objects, object{
			"apiVersion": "apiextensions.k8s.io/v1",
			"kind":       "CustomResourceDefinition",
			"metadata":   object{"name": plural + "." + group, "labels": labels()},
			"spec": object{
				"group": group,
				"names": object{"kind": kind, "listKind": kind + "List", "plural": plural, "singular": fmt.Sprintf("widget%d", i)},
				"scope": "Namespaced",
				"versions": []any{object{
					"name": "v1", "served": true, "storage": true,
					"schema": object{"openAPIV3Schema": object{
						"type": "object",
						"properties": object{
							"spec": object{
								"type": "object",
								"properties": object{
									"size":  object{"type": "integer", "minimum": 0},
									"color": object{"type": "string"},
								},
							},
							"status": object{"type": "object", "x-kubernetes-preserve-unknown-fields": true},
						},
					}},
					"subresources": object{"status": object{}},
				}},
			},
		})
	}
	out := []batch{
		{name: "crds", file: "crds.yaml", bundles: []bundle{crds}},
		{name: "namespaces", file: "namespaces.yaml"},
		{name: "operators", file: "config.yaml"},
		{name: "services", file: "workloads.yaml"},
	}
	for n := range namespaceCount {
		ns := fmt.Sprintf("bench-%02d", n)
		meta := func(name string, extra ...string) object {
			return object{"name": name, "namespace": ns, "labels": labels(extra...)}
		}
		out[1].bundles = append(out[1].bundles, bundle{name: "ns-" + ns, namespace: ns, objects: []object{{
			"apiVersion": "v1", "kind": "Namespace",
			"metadata": object{"name": ns, "labels": labels("team", fmt.Sprintf("team-%d", n%4))},
		}}})

		cfg := bundle{name: "config-" + ns, namespace: ns}
		for i := range perNamespace {
			name := fmt.Sprintf("app-%d", i)
			cfg.objects = append(cfg.objects,
				object{"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta(name)},
				object{
					"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": meta(name),
					"rules": []any{
						object{"apiGroups": []any{""}, "resources": []any{"configmaps", "secrets"}, "verbs": []any{"get", "list", "watch"}},
						object{"apiGroups": []any{group}, "resources": []any{fmt.Sprintf("widget%ds", i)}, "verbs": []any{"get", "list", "watch", "update", "patch"}},
					},
				},
				object{
					"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": meta(name),
					"roleRef":  object{"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": name},
					"subjects": []any{object{"kind": "ServiceAccount", "name": name, "namespace": ns}},
				})
		}
		cms := configMaps
		if n < crdCount {
			cms++
		}
		for i := range cms {
			data := object{}
			for k := range 8 {
				data[fmt.Sprintf("key-%d", k)] = fmt.Sprintf("value %d of config %d in %s: %s", k, i, ns, "lorem ipsum dolor sit amet, consectetur adipiscing elit")
			}
			cfg.objects = append(cfg.objects, object{"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta(fmt.Sprintf("app-%d", i)), "data": data})
		}
		for i := range secrets {
			data := object{
				"username": base64.StdEncoding.EncodeToString([]byte(fmt.Sprintf("app-%d", i))),
				"password": base64.StdEncoding.EncodeToString([]byte(fmt.Sprintf("secret-%d-%s", i, ns))),
			}
			cfg.objects = append(cfg.objects, object{"apiVersion": "v1", "kind": "Secret", "metadata": meta(fmt.Sprintf("app-%d", i)), "type": "Opaque", "data": data})
		}
		out[2].bundles = append(out[2].bundles, cfg)

		apps := bundle{name: "apps-" + ns, namespace: ns}
		for i := range deployments {
			name := fmt.Sprintf("app-%d", i)
			sel := object{"app": name}
			apps.objects = append(apps.objects, object{
				"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta(name, "app", name),
				"spec": object{
					"replicas": 1,
					"selector": object{"matchLabels": sel},
					"template": object{
						"metadata": object{"labels": object{"app": name}},
						"spec": object{
							"serviceAccountName": fmt.Sprintf("app-%d", i%perNamespace),
							"containers": []any{object{
								"name":  "app",
								"image": "registry.example/bench/app:1.0.0",
								"ports": []any{object{"containerPort": 8080}},
								"env":   []any{object{"name": "CONFIG", "valueFrom": object{"configMapKeyRef": object{"name": "app-0", "key": "key-0"}}}},
							}},
						},
					},
				},
			})
		}
		out[3].bundles = append(out[3].bundles, apps)
	}
	return out
}

// configMapStack returns the four batches of -stack configmaps.
func configMapStack() []batch {
	var out []batch
	for _, name := range []string{"crds", "namespaces", "operators", "services"} {
		ns := "cm-" + name
		u := bundle{name: "configmaps-" + name, namespace: ns, objects: []object{{
			"apiVersion": "v1", "kind": "Namespace",
			"metadata": object{"name": ns, "labels": object{stackLabel: "deploy"}},
		}}}
		for i := range 500 {
			data := object{}
			for k := range 4 {
				data[fmt.Sprintf("key-%d", k)] = fmt.Sprintf("value %d of config %d in %s", k, i, ns)
			}
			u.objects = append(u.objects, object{
				"apiVersion": "v1", "kind": "ConfigMap",
				"metadata": object{"name": fmt.Sprintf("config-%03d", i), "namespace": ns, "labels": object{stackLabel: "deploy"}},
				"data":     data,
			})
		}
		out = append(out, batch{name: name, file: name + ".yaml", bundles: []bundle{u}})
	}
	return out
}
