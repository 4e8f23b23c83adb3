package fleet

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	applycorev1 "k8s.io/client-go/applyconfigurations/core/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"wookie.dev/wookie/internal/deploy"
	"wookie.dev/wookie/internal/emit"
	"wookie.dev/wookie/internal/plan"
)

// register registers every selected cluster of the Plan other than the
// management cluster, whose Fleet target is a cluster name, the way Fleet
// documents for clusters it manages: a Secret <name>-kubeconfig in the
// cluster's workspace whose "value" is a kubeconfig of the cluster (its
// server the cluster's gitops.fleet.apiServer when set), with
// "apiServerURL" and "apiServerCA", where the cluster's agent reaches the
// management cluster, and a Cluster <name> with spec.kubeConfigSecret.
// Fleet's agentmanagement then deploys the agent to the cluster. A
// Cluster of that name that wookie did not make (registered by Rancher or
// by hand) is left as it is. It returns how many it registered.
func (s *session) register(ctx context.Context) (int, error) {
	mgmtURL, mgmtCA, err := s.managementEndpoint()
	if err != nil {
		return 0, err
	}
	n := 0
	for i := range s.p.Clusters {
		c := &s.p.Clusters[i]
		if !s.selected[c.Name] || c.Name == s.mgmt.Name {
			continue
		}
		name := c.Name
		if c.GitOps != nil && c.GitOps.Fleet != nil {
			if len(c.GitOps.Fleet.ClusterSelector) > 0 {
				continue // registered by whoever gave it those labels
			}
			name = or(c.GitOps.Fleet.ClusterName, name)
		}
		ws := emit.FleetWorkspace(s.p, c)
		done, err := s.registerCluster(ctx, c, ws, name, mgmtURL, mgmtCA)
		if err != nil {
			return n, fmt.Errorf("cluster %s: register with Fleet as Cluster %s/%s: %w", c.Name, ws, name, err)
		}
		if done {
			n++
		}
	}
	return n, nil
}

// registerCluster writes the kubeconfig Secret and Cluster of c; false
// when a Cluster of that name exists that wookie did not make.
func (s *session) registerCluster(ctx context.Context, c *plan.Cluster, ws, name, mgmtURL string, mgmtCA []byte) (bool, error) {
	existing, err := s.dyn.Resource(clusterGVR).Namespace(ws).Get(ctx, name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
	case err != nil:
		return false, err
	case existing.GetLabels()[ManagedBy] != deploy.FieldManager:
		s.emit(deploy.Event{Type: "note", Cluster: c.Name, Object: "Cluster " + ws + "/" + name,
			Message: fmt.Sprintf("Fleet cluster %s/%s was registered by someone else: left as it is", ws, name)})
		return false, nil
	}
	kubeconfig, err := clusterKubeconfig(or(s.opts.Kubeconfig, c.Kubeconfig), c.Context, apiServerOf(c))
	if err != nil {
		return false, err
	}
	if err := ensureNamespace(ctx, s.cs, ws); err != nil {
		return false, err
	}
	lbl := map[string]string{ManagedBy: deploy.FieldManager, clusterLabel: c.Name}
	secret := applycorev1.Secret(name+"-kubeconfig", ws).WithLabels(lbl).
		WithType(corev1.SecretTypeOpaque).
		WithData(map[string][]byte{"value": kubeconfig, "apiServerURL": []byte(mgmtURL), "apiServerCA": mgmtCA})
	if _, err := s.cs.CoreV1().Secrets(ws).Apply(ctx, secret, metav1.ApplyOptions{FieldManager: deploy.FieldManager, Force: true}); err != nil {
		return false, fmt.Errorf("Secret %s/%s-kubeconfig: %w", ws, name, err)
	}
	cl := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "fleet.cattle.io/v1alpha1",
		"kind":       "Cluster",
		"metadata":   map[string]any{"name": name, "namespace": ws, "labels": map[string]any{ManagedBy: deploy.FieldManager, clusterLabel: c.Name}},
		"spec":       map[string]any{"kubeConfigSecret": name + "-kubeconfig"},
	}}
	if _, err := strictApply(ctx, s.dyn.Resource(clusterGVR).Namespace(ws), cl); err != nil {
		return false, err
	}
	verb := "registered"
	if existing != nil && existing.GetName() != "" {
		verb = "registration up to date"
	}
	s.emit(deploy.Event{Type: "registered", Cluster: c.Name, Object: "Cluster " + ws + "/" + name, Message: verb})
	return true, nil
}

// managementEndpoint returns where agents reach the management cluster:
// its gitops.fleet.apiServer, else its kubeconfig's server, and the CA
// (PEM) of that server from the kubeconfig.
func (s *session) managementEndpoint() (string, []byte, error) {
	cfg, err := rawContext(or(s.opts.Kubeconfig, s.mgmt.Kubeconfig), or(s.opts.Context, s.mgmt.Context))
	if err != nil {
		return "", nil, fmt.Errorf("cluster %s (Fleet's management cluster): %w", s.mgmt.Name, err)
	}
	cl := cfg.Clusters[cfg.Contexts[cfg.CurrentContext].Cluster]
	return or(apiServerOf(s.mgmt), cl.Server), cl.CertificateAuthorityData, nil
}

// apiServerOf is c's gitops.fleet.apiServer, or "".
func apiServerOf(c *plan.Cluster) string {
	if c.GitOps != nil && c.GitOps.Fleet != nil {
		return c.GitOps.Fleet.APIServer
	}
	return ""
}

// clusterKubeconfig is a kubeconfig of context in kubeconfig alone, with
// every file it refers to embedded, and its server replaced by server
// when set: what Fleet on the management cluster connects with.
func clusterKubeconfig(kubeconfig, context, server string) ([]byte, error) {
	cfg, err := rawContext(kubeconfig, context)
	if err != nil {
		return nil, err
	}
	if server != "" {
		cfg.Clusters[cfg.Contexts[cfg.CurrentContext].Cluster].Server = server
	}
	return clientcmd.Write(*cfg)
}

// rawContext loads context (the current one when "") of kubeconfig ("":
// the default loading rules) as a kubeconfig of that context only, files
// embedded.
func rawContext(kubeconfig, context string) (*clientcmdapi.Config, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	if kubeconfig != "" {
		rules.ExplicitPath = kubeconfig
	}
	raw, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{CurrentContext: context}).RawConfig()
	if err != nil {
		return nil, fmt.Errorf("kubeconfig: %w", err)
	}
	if context != "" {
		raw.CurrentContext = context
	}
	ctx, ok := raw.Contexts[raw.CurrentContext]
	if !ok || raw.Clusters[ctx.Cluster] == nil {
		return nil, fmt.Errorf("kubeconfig context %q: no such context", raw.CurrentContext)
	}
	if err := clientcmdapi.MinifyConfig(&raw); err != nil {
		return nil, fmt.Errorf("kubeconfig context %q: %w", raw.CurrentContext, err)
	}
	if err := clientcmdapi.FlattenConfig(&raw); err != nil {
		return nil, fmt.Errorf("kubeconfig context %q: %w", raw.CurrentContext, err)
	}
	return &raw, nil
}

// ensureNamespace creates namespace name unless it exists.
func ensureNamespace(ctx context.Context, cs kubernetes.Interface, name string) error {
	_, err := cs.CoreV1().Namespaces().Get(ctx, name, metav1.GetOptions{})
	if err == nil {
		return nil
	}
	if !apierrors.IsNotFound(err) {
		return err
	}
	_, err = cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{FieldManager: deploy.FieldManager})
	if apierrors.IsAlreadyExists(err) {
		return nil
	}
	return err
}
