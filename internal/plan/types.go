package plan

// APIVersion is the apiVersion every Plan carries.
const APIVersion = "wookie.dev/v1alpha1"

// Kind is the kind every Plan carries.
const Kind = "Plan"

// Plan is what wookie deploys: every cluster with its batches and bundles.
// After Normalize, clusters are sorted by name, batches are in deploy order
// (priority, then name) and bundles inside a batch in dependency order.
type Plan struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	// GitOps says where GitOps outputs live and how their engines are set
	// up; nil means the defaults of GitOps.
	GitOps   *GitOps   `json:"gitops,omitempty"`
	Clusters []Cluster `json:"clusters"`
}

// GitOps describes the Git repository GitOps outputs are pushed to and the
// engines that read them. Empty fields take the defaults named below.
type GitOps struct {
	// Repo is the URL of the Git repository the output is pushed to.
	// Argo CD Applications and the Fleet GitRepo need it.
	Repo string `json:"repo,omitempty"`
	// Revision is the branch, tag or commit the engines follow (default HEAD).
	Revision string `json:"revision,omitempty"`
	// Path is the directory of the output inside the repository (default
	// the repository's root).
	Path string `json:"path,omitempty"`
	// Fleet configures the Rancher Fleet output.
	Fleet *FleetGitOps `json:"fleet,omitempty"`
	// ArgoCD configures the Argo CD output.
	ArgoCD *ArgoCDGitOps `json:"argocd,omitempty"`
	// Flux configures the Flux output.
	Flux *FluxGitOps `json:"flux,omitempty"`
}

// FleetGitOps configures the Rancher Fleet output.
type FleetGitOps struct {
	// GitRepo is the name of the GitRepo that reads the output (default
	// wookie); Fleet derives bundle names from it.
	GitRepo string `json:"gitRepo,omitempty"`
	// Namespace is the GitRepo's namespace (default fleet-default;
	// fleet-local for Fleet's own cluster): the Fleet workspace of every
	// cluster whose own Workspace is not set.
	Namespace string `json:"namespace,omitempty"`
	// Management names the cluster of the Plan that Fleet runs in, the
	// one deploy --via fleet hands the Bundles to; empty means the only
	// cluster of a Plan with one.
	Management string `json:"management,omitempty"`
	// Downstream names the clusters besides Management that deploy --via
	// fleet registers with Fleet and hands Bundles for, sorted; empty
	// means every other cluster of the Plan. The others are left to
	// wookie deploy.
	Downstream []string `json:"downstream,omitempty"`
}

// ArgoCDGitOps configures the Argo CD output.
type ArgoCDGitOps struct {
	// Namespace is where Argo CD runs and its Applications live (default
	// argocd).
	Namespace string `json:"namespace,omitempty"`
	// Project is the AppProject of every Application (default default).
	Project string `json:"project,omitempty"`
}

// FluxGitOps configures the Flux output.
type FluxGitOps struct {
	// Namespace is where Flux runs and its Kustomizations live (default
	// flux-system).
	Namespace string `json:"namespace,omitempty"`
	// SourceKind and SourceName name the Flux source holding the output
	// (default GitRepository flux-system, the one flux bootstrap makes).
	SourceKind string `json:"sourceKind,omitempty"`
	SourceName string `json:"sourceName,omitempty"`
}

// ClusterGitOps says how GitOps engines address one cluster.
type ClusterGitOps struct {
	// Fleet selects the Fleet cluster.
	Fleet *FleetCluster `json:"fleet,omitempty"`
	// ArgoCD is the Argo CD destination.
	ArgoCD *ArgoCDCluster `json:"argocd,omitempty"`
	// Flux says how Flux reaches the cluster.
	Flux *FluxCluster `json:"flux,omitempty"`
}

// FleetCluster selects a cluster registered with Fleet: by labels when
// ClusterSelector is set, else by name (default: the cluster's name).
type FleetCluster struct {
	ClusterName     string            `json:"clusterName,omitempty"`
	ClusterSelector map[string]string `json:"clusterSelector,omitempty"`
	// Workspace is the Fleet workspace (namespace on the management
	// cluster) of the cluster's Cluster and Bundles; empty means
	// GitOps.Fleet.Namespace. Fleet's own cluster is in fleet-local.
	Workspace string `json:"workspace,omitempty"`
	// APIServer is the URL at which Fleet reaches the cluster's API
	// server from the management cluster (for a downstream cluster that
	// wookie registers) and at which agents reach it (for the management
	// cluster); empty means the server of the cluster's kubeconfig.
	APIServer string `json:"apiServer,omitempty"`
}

// ArgoCDCluster is the Argo CD destination of a cluster: Server (an API
// server URL, https://kubernetes.default.svc for Argo CD's own cluster)
// when set, else the registered cluster Name (default: the cluster's name).
type ArgoCDCluster struct {
	Server string `json:"server,omitempty"`
	Name   string `json:"name,omitempty"`
}

// FluxCluster says how Flux reaches a cluster: empty when Flux runs in it,
// or the Secret holding a kubeconfig for a cluster managed from another.
type FluxCluster struct {
	KubeConfigSecret string `json:"kubeConfigSecret,omitempty"`
}

// Cluster is one Kubernetes cluster and everything deployed to it.
type Cluster struct {
	// Name identifies the cluster inside the Plan (a DNS-1123 label).
	Name string `json:"name"`
	// Target names the target module that contributed the cluster.
	Target string `json:"target"`
	// Context is the kubeconfig context used to reach the cluster.
	Context string `json:"context"`
	// Kubeconfig is an explicit kubeconfig path; empty means KUBECONFIG or
	// ~/.kube/config.
	Kubeconfig string `json:"kubeconfig,omitempty"`
	// KubeVersion is the Kubernetes version rendering assumes, e.g. "1.31.4".
	KubeVersion string `json:"kubeVersion"`
	// K3d says how wookie creates the cluster with k3d (wookie cluster
	// create, up, down); nil for a cluster wookie does not create.
	K3d *K3dCluster `json:"k3d,omitempty"`
	// GitOps says how GitOps engines address the cluster; nil means by its
	// name.
	GitOps *ClusterGitOps `json:"gitops,omitempty"`
	// Provides declares what the cluster has before wookie deploys to it;
	// nil means only what every cluster has.
	Provides *Provides `json:"provides,omitempty"`
	// DependsOn names clusters of the Plan whose deploy must finish, every
	// bundle ready, before this cluster's deploy starts; sorted.
	DependsOn []string `json:"dependsOn,omitempty"`
	// Inputs are values only known at deploy time, read from the live
	// state of other clusters of the Plan (see Input); sorted by name. A
	// batch that refers to an input deploys after the batch of the input's
	// cluster that makes the input's object, not after all of that
	// cluster: two clusters may read inputs from each other.
	Inputs []Input `json:"inputs,omitempty"`
	// Batches are the cluster's batches in deploy order.
	Batches []Batch `json:"batches"`
}

// K3dCluster says how wookie creates a cluster with k3d (k3s in Docker).
// wookie writes it as a k3d config file (apiVersion k3d.io/v1alpha5, kind
// Simple) and runs k3d cluster create with it.
type K3dCluster struct {
	// Name is the k3d cluster's name: a DNS-1123 label of at most 32
	// characters (k3d's limit). k3d names the kubeconfig context
	// k3d-<name>, which must be the cluster's context, and the servers'
	// load balancer container k3d-<name>-serverlb.
	Name string `json:"name"`
	// Servers is the number of k3s server (control-plane) nodes, at least 1.
	Servers int `json:"servers"`
	// Agents is the number of k3s agent (worker) nodes, 0 or more.
	Agents int `json:"agents"`
	// Image is the k3s image every node runs, e.g. rancher/k3s:v1.31.4-k3s1.
	Image string `json:"image"`
	// Network is the Docker network the nodes join; empty means a network
	// of the cluster's own (k3d-<name>). Clusters on one network reach
	// each other's API servers at k3d-<name>-serverlb:6443.
	Network string `json:"network,omitempty"`
	// APIPort is the host port the API server is published on; 0 lets k3d
	// pick a free one.
	APIPort int `json:"apiPort,omitempty"`
	// Ports are host ports forwarded to the cluster's load balancer, sorted
	// by name.
	Ports []K3dPort `json:"ports,omitempty"`
	// DisableTraefik turns off the Traefik ingress controller k3s installs
	// by default.
	DisableTraefik bool `json:"disableTraefik,omitempty"`
	// K3sArgs are extra arguments of the k3s server or agent command, in
	// the order given.
	K3sArgs []K3sArg `json:"k3sArgs,omitempty"`
	// Registries are the container registries the nodes use; nil means
	// none besides the public ones.
	Registries *K3dRegistries `json:"registries,omitempty"`
}

// K3dPort forwards a port of the host to a port of the k3d load balancer,
// where k3s's service load balancer exposes LoadBalancer Services.
type K3dPort struct {
	// Name identifies the port among the cluster's ports (a DNS-1123
	// label), e.g. http.
	Name string `json:"name"`
	// HostPort is the port on the host, 1 to 65535.
	HostPort int `json:"hostPort"`
	// ContainerPort is the port on the load balancer, 1 to 65535: the port
	// of the LoadBalancer Service that receives the traffic.
	ContainerPort int `json:"containerPort"`
}

// K3sArg is an extra argument of the k3s command on the nodes its node
// filters select.
type K3sArg struct {
	// Arg is the argument, e.g. --disable=metrics-server.
	Arg string `json:"arg"`
	// NodeFilters select the nodes as k3d does: server:*, server:0,
	// agent:1,2, agent:0-2, loadbalancer or all. At least one.
	NodeFilters []string `json:"nodeFilters"`
}

// K3dRegistries are the container registries of a k3d cluster's nodes.
type K3dRegistries struct {
	// Use names registries made with k3d registry create that the nodes
	// connect to, as NAME:PORT (k3d-registry.localhost:5000); sorted.
	Use []string `json:"use,omitempty"`
	// Config is the content of k3s's registries.yaml (mirrors and
	// configs), given to every node.
	Config string `json:"config,omitempty"`
}

// Batch is a group of bundles deployed together; lower priorities deploy
// first.
type Batch struct {
	// Name identifies the batch inside its cluster (a DNS-1123 label).
	Name string `json:"name"`
	// Priority orders the batches of a cluster: lower deploys first, and
	// batches of equal priority deploy in name order.
	Priority int `json:"priority"`
	// Bundles are the batch's bundles in deploy order.
	Bundles []Bundle `json:"bundles"`
}

// Bundle is one unit of deployment: a Helm chart with values, a list of raw
// Kubernetes objects, or objects wookie generates from its own state,
// installed into one namespace.
type Bundle struct {
	// Name identifies the bundle inside its cluster, across all batches (a
	// DNS-1123 label; a chart bundle's name is its Helm release name, so at
	// most 53 characters).
	Name string `json:"name"`
	// Namespace is the bundle's namespace: the Helm release namespace and the
	// namespace given to namespaced objects that carry none.
	Namespace string `json:"namespace"`
	// Chart is set for chart bundles; exactly one of Chart, Manifests and
	// Generate is.
	Chart *Chart `json:"chart,omitempty"`
	// Manifests holds the objects of a raw-manifest bundle.
	Manifests []Object `json:"manifests,omitempty"`
	// Generate, for a generated bundle, names the objects wookie makes from
	// its own state when it renders for a deploy, instead of a chart or
	// manifests. Exactly one of Chart, Manifests and Generate is set.
	Generate *Generate `json:"generate,omitempty"`
	// Sensitive marks a bundle whose objects carry secrets (credentials
	// read through inputs, key material): wookie deploy applies it; render
	// and the GitOps formats leave it out unless asked to include secrets.
	// Generated bundles are sensitive whether it is set or not.
	Sensitive bool `json:"sensitive,omitempty"`
	// DependsOn names bundles of the same cluster that must be ready first;
	// they are in the same batch or an earlier one.
	DependsOn []string `json:"dependsOn,omitempty"`
	// Labels are free-form labels of the bundle.
	Labels map[string]string `json:"labels,omitempty"`
	// CRDs says what happens to the CustomResourceDefinitions in a chart's
	// crds/ directory: CRDsSeparate (the default, also when empty) puts them
	// into a bundle <name>-crds in the cluster's crds batch that this bundle
	// depends on; CRDsInline keeps them in this bundle; CRDsSkip drops them.
	CRDs string `json:"crds,omitempty"`
	// ResourceScopes declares the scope, ScopeNamespaced or ScopeCluster,
	// of kinds that are neither built into Kubernetes nor defined by a CRD
	// in the Plan, by group kind ("Widget.example.com").
	ResourceScopes map[string]string `json:"resourceScopes,omitempty"`
	// Wait says whether deploy waits for the bundle's objects to be ready
	// before dependents start; nil means true.
	Wait *bool `json:"wait,omitempty"`
	// Timeout bounds the wait, as a Go duration ("5m", "90s"); empty means
	// deploy's default (5m).
	Timeout string `json:"timeout,omitempty"`
	// Readiness are custom readiness rules for kinds kstatus cannot judge.
	Readiness []Readiness `json:"readiness,omitempty"`
	// Prune lets `wookie deploy --prune` delete this bundle's CRDs,
	// Namespaces and PersistentVolumeClaims, which it otherwise keeps.
	Prune bool `json:"prune,omitempty"`
	// IgnoreDifferences are fields of the bundle's objects that something
	// in the cluster changes at run time (a webhook's caBundle), which
	// GitOps engines must not report as drift.
	IgnoreDifferences []IgnoreDifference `json:"ignoreDifferences,omitempty"`
	// Checks configures `wookie check` for the bundle's objects.
	Checks *Checks `json:"checks,omitempty"`
	// Tests are what `wookie test` checks of the deployed bundle, besides
	// its chart's Helm test hooks.
	Tests []Test `json:"tests,omitempty"`
}

// IsSensitive reports whether b's objects carry secrets: b is marked
// Sensitive or is generated.
func (b *Bundle) IsSensitive() bool {
	return b.Sensitive || b.Generate != nil
}

// Generate names the objects of a generated bundle; exactly one field is
// set.
type Generate struct {
	// IstioCACerts makes the plug-in CA Secret of Istio.
	IstioCACerts *IstioCACerts `json:"istioCACerts,omitempty"`
}

// IstioCACerts is the Secret cacerts, in the bundle's namespace, that makes
// istiod use a plug-in CA: ca-cert.pem, ca-key.pem, root-cert.pem and
// cert-chain.pem of the intermediate CA that wookie's certificate store
// (wookie certs) keeps for Cluster.
type IstioCACerts struct {
	// Cluster names the intermediate CA in the certificate store (a
	// DNS-1123 label); usually the Plan cluster's own name.
	Cluster string `json:"cluster"`
}

// Provides declares what a cluster has that no bundle of the Plan creates.
type Provides struct {
	// Namespaces exist in the cluster besides default, kube-system,
	// kube-public and kube-node-lease.
	Namespaces []string `json:"namespaces,omitempty"`
	// Kinds are served by the cluster besides the built-in API of its
	// Kubernetes version and the kinds of the Plan's CRDs, by group kind
	// ("HelmChart.helm.cattle.io") with their scope, ScopeNamespaced or
	// ScopeCluster.
	Kinds map[string]string `json:"kinds,omitempty"`
}

// Checks configures `wookie check` for one bundle.
type Checks struct {
	// Skip turns rules off for the bundle, each with its reason.
	Skip []CheckSkip `json:"skip,omitempty"`
}

// CheckSkip turns one rule of `wookie check` off for a bundle's objects, or
// for those of one kind or name.
type CheckSkip struct {
	// Rule is one of CheckRules.
	Rule string `json:"rule"`
	// Kind, when set, limits the skip to objects of this kind.
	Kind string `json:"kind,omitempty"`
	// Name, when set, limits the skip to objects of this name.
	Name string `json:"name,omitempty"`
	// Reason says why the rule does not apply; it is reported with the
	// findings the skip hides.
	Reason string `json:"reason"`
}

// CheckRules are the rules of `wookie check`, by the names CheckSkip uses.
// Package check says what each one checks.
var CheckRules = []string{
	"schema", "metadata", "kind", "namespace", "crd-order", "secret", "input",
	"service-selector", "image-tag",
}

// IgnoreDifference names fields of one object, as JSON pointers, that are
// changed at run time.
type IgnoreDifference struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Name       string `json:"name"`
	// Namespace is the object's namespace; empty for cluster-scoped objects
	// and for objects in the bundle's namespace.
	Namespace    string   `json:"namespace,omitempty"`
	JSONPointers []string `json:"jsonPointers"`
}

// Readiness is a readiness rule for one kind: CEL expressions over the
// object (its fields at the top level: status.state == "ready").
type Readiness struct {
	// APIVersion and Kind select the objects; an empty Kind means every
	// kind of the group.
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind,omitempty"`
	// Current is true when the object is ready.
	Current string `json:"current"`
	// Failed, when true, fails the deploy at once.
	Failed string `json:"failed,omitempty"`
	// InProgress, when true, means not ready yet whatever Current says.
	InProgress string `json:"inProgress,omitempty"`
}

// Test is one check `wookie test` makes of a deployed bundle; exactly one
// of CEL, HTTP and Injection is set.
type Test struct {
	// Name identifies the test in its bundle (a DNS-1123 label).
	Name string `json:"name"`
	// CEL checks one live object with a CEL expression.
	CEL *CELTest `json:"cel,omitempty"`
	// HTTP requests a URL from inside the cluster, from a Job.
	HTTP *HTTPTest `json:"http,omitempty"`
	// Injection checks that a mutating webhook adds a container to Pods
	// created in a namespace with given labels.
	Injection *InjectionTest `json:"injection,omitempty"`
}

// CELTest is a CEL expression over one live object: its fields at the top
// level, as in readiness rules (status.pxc.ready == status.pxc.size).
type CELTest struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Name       string `json:"name"`
	// Namespace is the object's namespace; empty means the bundle's (and
	// is ignored for cluster-scoped kinds).
	Namespace string `json:"namespace,omitempty"`
	// Expr is true when the object passes; a field it reads that is not
	// set fails the test, naming the field.
	Expr string `json:"expr"`
}

// HTTPTest is an HTTP GET from inside the cluster: a Job in the bundle's
// namespace runs curl against URL and succeeds when the response has the
// expected status and its body matches BodyMatches.
type HTTPTest struct {
	// URL is the http:// or https:// URL, usually a Service's cluster DNS
	// name (http://web.shop.svc:8080/healthz).
	URL string `json:"url"`
	// Status is the expected HTTP status; 0 means 200.
	Status int `json:"status,omitempty"`
	// Image is the image the Job runs, which has sh, curl and grep; empty
	// means DefaultProbeImage.
	Image string `json:"image,omitempty"`
	// BodyMatches are extended regular expressions (POSIX, as grep -E
	// reads them) each of which must match a line of the response body.
	BodyMatches []string `json:"bodyMatches,omitempty"`
	// TokenAudience, when set, has the Job's Pod mount a token of its
	// service account for this audience (istio-ca) and send it as
	// Authorization: Bearer.
	TokenAudience string `json:"tokenAudience,omitempty"`
}

// DefaultProbeImage is the image of HTTP tests that name none.
const DefaultProbeImage = "docker.io/curlimages/curl:8.11.1"

// InjectionTest creates a namespace with Labels, sends a Pod to it as a
// server-side dry run, and passes when the admitted Pod has Container (a
// sidecar an admission webhook injected); the namespace is deleted after.
type InjectionTest struct {
	// Labels are the test namespace's labels (istio-injection: enabled).
	Labels map[string]string `json:"labels"`
	// Container is the name of the injected container (istio-proxy).
	Container string `json:"container"`
}

// The values of Bundle.CRDs.
const (
	CRDsSeparate = "separate"
	CRDsInline   = "inline"
	CRDsSkip     = "skip"
)

// The values of Bundle.ResourceScopes.
const (
	ScopeNamespaced = "Namespaced"
	ScopeCluster    = "Cluster"
)

// Chart is a reference to a Helm chart plus the values to render it with.
type Chart struct {
	// Repo is an http(s) chart repository URL, an oci:// registry path, or a
	// local directory holding the chart (as <repo>/<name> or a .tgz).
	Repo string `json:"repo"`
	// Name is the chart's name.
	Name string `json:"name"`
	// Version is the chart version; required unless Repo is a local path.
	Version string `json:"version,omitempty"`
	// Digest is the content digest ("sha256:<64 hex>") from the lock file.
	Digest string `json:"digest,omitempty"`
	// Values are the values the chart is rendered with.
	Values Object `json:"values,omitempty"`
	// SkipSchemaValidation renders the chart without checking Values
	// against its values.schema.json, as helm --skip-schema-validation
	// does: for charts whose published schema rejects every input (the
	// gateway chart of Istio 1.22 to 1.24). GitOps formats that let their
	// engine render the chart carry it in the engine's own field.
	SkipSchemaValidation bool `json:"skipSchemaValidation,omitempty"`
}

// Object is free-form JSON data: a Kubernetes object or chart values.
// Numbers decode as json.Number so no precision is lost.
type Object = map[string]any
