// Package rendertest writes small charts that mimic the shapes of the real
// charts wookie deploys (Istio's base, istiod and gateway, an operator with
// crds/), for tests and benchmarks. They are written here, not copied from
// anywhere: just enough templates to exercise what rendering must get
// right.
package rendertest

import (
	"os"
	"path/filepath"
	"testing"

	"wookie.dev/wookie/internal/chart/charttest"
	"wookie.dev/wookie/internal/eval"
	"wookie.dev/wookie/internal/plan"
)

// Version is the version of the Istio-like charts, the catalog's default.
const Version = "1.30.3"

// Base is like istio/base: CRDs as templates (not crds/), the reader
// ServiceAccount in .Release.Namespace, and a cluster-scoped validating
// webhook.
func Base() charttest.Chart {
	return charttest.Chart{Name: "base", Version: Version, Files: map[string]string{
		"values.yaml": "defaultRevision: \"\"\nenableCRDTemplates: true\n",
		"templates/crds.yaml": `{{- if .Values.enableCRDTemplates }}
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: gateways.networking.istio.io
spec:
  group: networking.istio.io
  names: {kind: Gateway, plural: gateways, singular: gateway, listKind: GatewayList}
  scope: Namespaced
  versions:
  - name: v1alpha3
    served: true
    storage: false
    schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}
  - name: v1
    served: true
    storage: true
    schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: virtualservices.networking.istio.io
spec:
  group: networking.istio.io
  names: {kind: VirtualService, plural: virtualservices, singular: virtualservice, listKind: VirtualServiceList}
  scope: Namespaced
  versions:
  - name: v1alpha3
    served: true
    storage: false
    schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}
  - name: v1
    served: true
    storage: true
    schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: envoyfilters.networking.istio.io
spec:
  group: networking.istio.io
  names: {kind: EnvoyFilter, plural: envoyfilters, singular: envoyfilter, listKind: EnvoyFilterList}
  scope: Namespaced
  versions:
  - name: v1alpha3
    served: true
    storage: true
    schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}
{{- end }}
`,
		"templates/reader-serviceaccount.yaml": `apiVersion: v1
kind: ServiceAccount
metadata:
  name: istio-reader-service-account
  namespace: {{ .Release.Namespace }}
`,
		"templates/default-validator.yaml": `{{- if .Values.defaultRevision }}
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingWebhookConfiguration
metadata:
  name: istiod-default-validator
webhooks:
- name: validation.istio.io
  admissionReviewVersions: ["v1"]
  sideEffects: None
  clientConfig:
    service: {name: istiod, namespace: {{ .Release.Namespace }}, path: /validate}
{{- end }}
`,
	}}
}

// Istiod is like istio/istiod: namespaced objects that rely on the release
// namespace being applied (no metadata.namespace), cluster-scoped RBAC, a
// custom resource gated on .Capabilities.APIVersions.Has, a values schema,
// and Helm hooks (pre-install, post-install, test). The multi-cluster
// values show where the real chart puts them: global.multiCluster and
// externalIstiod in the Deployment's environment, meshID and network in the
// mesh ConfigMap; with profile remote there is no Deployment, and
// remotePilotAddress makes the istiod Service point at it, as the real
// chart's remote profile does; istiodRemote.injectionPath is the injector
// webhook's path.
func Istiod() charttest.Chart {
	return charttest.Chart{Name: "istiod", Version: Version, Files: map[string]string{
		"values.yaml":        "replicaCount: 1\nautoscaleEnabled: true\nresources:\n  requests:\n    cpu: 500m\n    memory: 2Gi\nimage: istio/pilot\nprofile: \"\"\nglobal: {}\nistiodRemote: {}\n",
		"values.schema.json": `{"type": "object", "properties": {"replicaCount": {"type": "integer", "minimum": 0}}}`,
		"templates/deployment.yaml": `{{- if ne .Values.profile "remote" }}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: istiod
  labels: {app: istiod}
spec:
  replicas: {{ .Values.replicaCount }}
  selector: {matchLabels: {app: istiod}}
  template:
    metadata: {labels: {app: istiod}}
    spec:
      serviceAccountName: istiod
      containers:
      - name: discovery
        image: {{ .Values.image }}:{{ .Chart.Version }}
        resources: {{ toJson .Values.resources }}
        env:
        - {name: CLUSTER_ID, value: {{ dig "multiCluster" "clusterName" "Kubernetes" .Values.global | quote }}}
        - {name: EXTERNAL_ISTIOD, value: {{ dig "externalIstiod" false .Values.global | quote }}}
{{- end }}
`,
		"templates/service.yaml": `{{- $remote := dig "remotePilotAddress" "" .Values.global }}
apiVersion: v1
kind: Service
metadata:
  name: istiod
spec:
  {{- if not $remote }}
  selector: {app: istiod}
  {{- end }}
  ports:
  - {name: grpc-xds, port: 15010}
  - {name: https-webhook, port: 443, targetPort: 15017}
{{- if $remote }}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: istiod-remote
  labels: {kubernetes.io/service-name: istiod}
addressType: IPv4
endpoints:
- addresses: [{{ $remote | quote }}]
ports:
- {name: https-webhook, port: 15017}
{{- end }}
`,
		"templates/serviceaccount.yaml": "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: istiod\n",
		"templates/configmap.yaml": `apiVersion: v1
kind: ConfigMap
metadata:
  name: istio
data:
  mesh: |-
    defaultConfig:
      discoveryAddress: istiod.{{ .Release.Namespace }}.svc:15012
      meshId: {{ dig "meshID" "" .Values.global | quote }}
  meshNetworks: |-
    network: {{ dig "network" "" .Values.global | quote }}
`,
		"templates/clusterrole.yaml": `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: istiod-{{ .Release.Namespace }}
rules:
- apiGroups: ["networking.istio.io"]
  resources: ["*"]
  verbs: ["get", "list", "watch"]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: istiod-{{ .Release.Namespace }}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: istiod-{{ .Release.Namespace }}}
subjects:
- {kind: ServiceAccount, name: istiod, namespace: {{ .Release.Namespace }}}
`,
		"templates/hpa.yaml": `{{- if .Values.autoscaleEnabled }}
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: istiod
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: istiod}
  minReplicas: 1
  maxReplicas: 5
{{- end }}
`,
		"templates/envoyfilter.yaml": `{{- if .Capabilities.APIVersions.Has "networking.istio.io/v1alpha3" }}
apiVersion: networking.istio.io/v1alpha3
kind: EnvoyFilter
metadata:
  name: stats-filter
spec:
  configPatches: []
{{- end }}
`,
		"templates/webhook.yaml": `apiVersion: admissionregistration.k8s.io/v1
kind: MutatingWebhookConfiguration
metadata:
  name: istio-sidecar-injector
webhooks:
- name: sidecar-injector.istio.io
  admissionReviewVersions: ["v1"]
  sideEffects: None
  clientConfig:
    service: {name: istiod, namespace: {{ .Release.Namespace }}, path: {{ dig "injectionPath" "/inject" .Values.istiodRemote }}}
`,
		"templates/hooks.yaml": `apiVersion: batch/v1
kind: Job
metadata:
  name: istiod-post-install
  annotations:
    "helm.sh/hook": post-install,post-upgrade
    "helm.sh/hook-weight": "5"
spec:
  template:
    spec:
      restartPolicy: Never
      containers: [{name: check, image: busybox:1.36}]
---
apiVersion: batch/v1
kind: Job
metadata:
  name: istiod-pre-install
  annotations:
    "helm.sh/hook": pre-install
    "helm.sh/hook-weight": "-1"
spec:
  template:
    spec:
      restartPolicy: Never
      containers: [{name: prepare, image: busybox:1.36}]
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: istiod-pre-config
  annotations:
    "helm.sh/hook": pre-install,pre-upgrade
    "helm.sh/hook-weight": "-5"
data: {step: first}
`,
		"templates/tests/test-connection.yaml": `apiVersion: v1
kind: Pod
metadata:
  name: istiod-test
  annotations: {"helm.sh/hook": test}
spec:
  containers: [{name: curl, image: curlimages/curl:8.10.1}]
`,
		"templates/NOTES.txt": "istiod {{ .Chart.Version }} installed in {{ .Release.Namespace }}\n",
	}}
}

// Gateway is like istio/gateway: a Deployment and a LoadBalancer Service
// named after the release (or name), the Service's ports from
// service.ports (80 and 443 by default), or the east-west ports and the
// network label with networkGateway.
func Gateway() charttest.Chart {
	return charttest.Chart{Name: "gateway", Version: Version, Files: map[string]string{
		"values.yaml": "name: \"\"\nnetworkGateway: \"\"\nautoscaling:\n  enabled: true\nservice:\n  type: LoadBalancer\n  ports:\n  - {name: http2, port: 80, targetPort: 80}\n  - {name: https, port: 443, targetPort: 443}\n",
		"templates/_name.tpl": `{{- define "gateway.name" }}{{ .Values.name | default .Release.Name }}{{ end }}
`,
		"templates/deployment.yaml": `apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "gateway.name" . }}
spec:
  selector: {matchLabels: {istio: {{ include "gateway.name" . | trimPrefix "istio-" }}}}
  template:
    metadata:
      labels:
        istio: {{ include "gateway.name" . | trimPrefix "istio-" }}
        sidecar.istio.io/inject: "true"
        {{- with .Values.networkGateway }}
        topology.istio.io/network: {{ . | quote }}
        {{- end }}
    spec:
      containers:
      - name: istio-proxy
        image: auto
        {{- with .Values.networkGateway }}
        env: [{name: ISTIO_META_REQUESTED_NETWORK_VIEW, value: {{ . | quote }}}]
        {{- end }}
`,
		"templates/service.yaml": `apiVersion: v1
kind: Service
metadata:
  name: {{ include "gateway.name" . }}
  {{- with .Values.networkGateway }}
  labels: {topology.istio.io/network: {{ . | quote }}}
  {{- end }}
spec:
  type: {{ .Values.service.type }}
  selector: {istio: {{ include "gateway.name" . | trimPrefix "istio-" }}}
  ports:
  {{- if .Values.networkGateway }}
  - {name: status-port, port: 15021, targetPort: 15021}
  - {name: tls, port: 15443, targetPort: 15443}
  - {name: tls-istiod, port: 15012, targetPort: 15012}
  - {name: tls-webhook, port: 15017, targetPort: 15017}
  {{- else }}
  {{- toYaml .Values.service.ports | nindent 2 }}
  {{- end }}
`,
		"templates/hpa.yaml": `{{- if .Values.autoscaling.enabled }}
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: {{ include "gateway.name" . }}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: {{ include "gateway.name" . }}}
  maxReplicas: 5
{{- end }}
`,
	}}
}

// Operator is like percona's pxc-operator: its CRD in crds/ (never
// templated), an operator Deployment watching .Release.Namespace, and RBAC.
func Operator() charttest.Chart {
	return charttest.Chart{Name: "pxc-operator", Version: "1.20.0", Files: map[string]string{
		"values.yaml": "watchNamespace: \"\"\n",
		"crds/crd.yaml": `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: perconaxtradbclusters.pxc.percona.com
spec:
  group: pxc.percona.com
  names: {kind: PerconaXtraDBCluster, plural: perconaxtradbclusters, singular: perconaxtradbcluster, shortNames: [pxc, pxcs]}
  scope: Namespaced
  versions:
  - name: v1
    served: true
    storage: true
    schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}
`,
		"templates/deployment.yaml": `apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}
spec:
  selector: {matchLabels: {app: pxc-operator}}
  template:
    metadata: {labels: {app: pxc-operator}}
    spec:
      containers:
      - name: operator
        image: percona/pxc-operator:{{ .Chart.Version }}
        env:
        - {name: WATCH_NAMESPACE, value: {{ default .Release.Namespace .Values.watchNamespace | quote }}}
`,
		"templates/role.yaml": `apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: {{ .Release.Name }}
rules:
- apiGroups: ["pxc.percona.com"]
  resources: ["*"]
  verbs: ["*"]
`,
	}}
}

// PXCDB is a chart shaped like Percona's pxc-db: one PerconaXtraDBCluster
// built from the values, at the catalog's version.
func PXCDB() charttest.Chart {
	return charttest.Chart{Name: "pxc-db", Version: "1.20.0", Files: map[string]string{
		"values.yaml": `crVersion: 1.20.0
unsafeFlags: {pxcSize: false, proxySize: false}
pxc:
  size: 3
  image: percona/percona-xtradb-cluster:8.0.42
  resources: {requests: {memory: 1G, cpu: 600m}}
  persistence: {size: 8Gi}
  affinity: {antiAffinityTopologyKey: kubernetes.io/hostname}
haproxy:
  enabled: true
  size: 3
  image: percona/haproxy:2.8.15
  affinity: {antiAffinityTopologyKey: kubernetes.io/hostname}
backup: {enabled: true}
logcollector: {enabled: true}
`,
		"templates/cluster.yaml": `apiVersion: pxc.percona.com/v1
kind: PerconaXtraDBCluster
metadata:
  name: {{ .Release.Name | trunc 21 | trimSuffix "-" }}
  namespace: {{ .Release.Namespace }}
spec:
  crVersion: {{ .Values.crVersion }}
  unsafeFlags: {{ toJson .Values.unsafeFlags }}
  pxc:
    size: {{ .Values.pxc.size }}
    image: {{ .Values.pxc.image }}
    resources: {{ toJson .Values.pxc.resources }}
    affinity: {{ toJson .Values.pxc.affinity }}
    volumeSpec:
      persistentVolumeClaim:
        resources: {requests: {storage: {{ .Values.pxc.persistence.size }}}}
  haproxy:
    enabled: {{ .Values.haproxy.enabled }}
    size: {{ .Values.haproxy.size }}
    image: {{ .Values.haproxy.image }}
    affinity: {{ toJson .Values.haproxy.affinity }}
  logcollector: {enabled: {{ .Values.logcollector.enabled }}}
  {{- if .Values.backup.enabled }}
  backup: {image: percona/percona-xtrabackup:8.0.35}
  {{- end }}
`,
	}}
}

// WritePercona writes Operator and PXCDB as chart directories under dir.
func WritePercona(t testing.TB, dir string) {
	t.Helper()
	for _, c := range []charttest.Chart{Operator(), PXCDB()} {
		charttest.WriteDir(t, dir, c)
	}
}

// PerconaMirrorConfig is a configuration fragment that points the chart
// catalog's Percona charts at a local repository.
func PerconaMirrorConfig(repo string) string {
	return `charts: percona: {
	"pxc-operator": repo: "` + repo + `"
	"pxc-db": repo:       "` + repo + `"
}
`
}

// WriteIstio writes Base, Istiod and Gateway as chart directories under
// dir, a local chart repository for the charts the wookie project uses.
func WriteIstio(t testing.TB, dir string) {
	t.Helper()
	for _, c := range []charttest.Chart{Base(), Istiod(), Gateway()} {
		charttest.WriteDir(t, dir, c)
	}
}

// IstioMirrorConfig is a configuration fragment that points the chart
// catalog's Istio charts at a local repository directory.
func IstioMirrorConfig(repo string) string {
	return `charts: istio: {
	base: repo:    "` + repo + `"
	istiod: repo:  "` + repo + `"
	gateway: repo: "` + repo + `"
}
`
}

// DefaultStack writes the Istio-shaped charts into a temporary directory,
// with a configuration enabling local-k3d and the wookie project (the
// embedded default) that takes its charts from there, and returns the
// evaluated Plan and the directory, the base of the charts' local paths.
func DefaultStack(tb testing.TB) (*plan.Plan, string) {
	tb.Helper()
	dir := tb.TempDir()
	WriteIstio(tb, filepath.Join(dir, "charts"))
	cfg := "targets: \"local-k3d\": enable: true\nprojects: wookie: enable: true\n" + IstioMirrorConfig("./charts")
	if err := os.WriteFile(filepath.Join(dir, "wookie.cue"), []byte(cfg), 0o644); err != nil {
		tb.Fatal(err)
	}
	res, err := eval.Evaluate(eval.Config{Dir: dir})
	if err != nil {
		tb.Fatal(err)
	}
	return res.Plan, dir
}
