package cert

import "encoding/base64"

// CacertsSecret returns the Secret istio-system/cacerts that makes istiod
// use a plug-in CA, as an unstructured object (nested map[string]any, so
// that it converts to a Kubernetes unstructured object as it is). Its data
// holds, base64-encoded, the four files named by CACertFile, CAKeyFile,
// RootCertFile and CertChainFile, read from files as Intermediate.Files or
// Store.LoadIntermediate return them; any other entry of files is left out,
// and a missing one gives an empty value. Marshalled with encoding/json or
// sigs.k8s.io/yaml, the object's keys come out sorted, so the same files
// give the same bytes.
//
// The Secret holds the intermediate CA's private key: write it only where
// such a key may be kept.
func CacertsSecret(files map[string][]byte) map[string]any {
	data := make(map[string]any, len(clusterFiles))
	for _, name := range clusterFiles {
		data[name] = base64.StdEncoding.EncodeToString(files[name])
	}
	return map[string]any{
		"apiVersion": "v1",
		"kind":       "Secret",
		"metadata": map[string]any{
			"name":      "cacerts",
			"namespace": "istio-system",
		},
		"type": "Opaque",
		"data": data,
	}
}
