// Package conformance proves, in tests only, that wookie works on the real
// upstream charts it names, served over HTTP on 127.0.0.1 from the Helm
// repository in ../shared/realcharts (beside the repository's root):
//
//   - for every Istio release there, in every topology (standalone,
//     multi-primary on one network and on two, primary-remote), and for
//     the PXC operator and database releases there with the standalone
//     stack, wookie lock, render and check --strict pass;
//   - every chart bundle renders, object by object, to what Helm's own
//     template action makes of the same chart archive, values, release
//     name, namespace, Kubernetes version and API versions, apart from
//     wookie's documented changes (package render/paritytest);
//   - every GitOps format (and mode) of the default stack, standalone and
//     primary-remote, and of Istio 1.24.2, whose gateway chart needs
//     skipSchemaValidation, is accepted by the peer tools: the Fleet CLI,
//     helmfile (with helm), flux build and argocd (hack/peers/build.sh);
//   - the standalone stack with PXC deploys to a real kube-apiserver
//     (package testenv, kwok nodes) in batch order, and each wait is met
//     or reported with its cause: the ingress gateway's pods are refused
//     by istiod's injection webhook, which no pod serves there, and the
//     database never becomes ready without an operator running it.
//
// Outside CI a missing chart folder or peer tool skips the tests that need
// it; with CI=true (and WOOKIE_PEERS_REQUIRED=1, WOOKIE_TESTENV_REQUIRED=1,
// as .ci/run sets) it fails them.
package conformance
