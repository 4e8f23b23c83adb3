// Package errtext tidies error messages from decoders for one-line reports.
package errtext

import "strings"

// decoderPrefixes are the layers sigs.k8s.io/yaml and encoding/json put in
// front of a decoding error.
var decoderPrefixes = []string{
	"error converting YAML to JSON: ",
	"error unmarshaling JSON: ",
	"while decoding JSON: ",
	"json: ",
}

// OneLine returns msg on one line, without the decoders' prefixes.
func OneLine(msg string) string {
	for _, p := range decoderPrefixes {
		msg = strings.ReplaceAll(msg, p, "")
	}
	return strings.Join(strings.Fields(msg), " ")
}
