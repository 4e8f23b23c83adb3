// Package errtext tidies error messages for one-line reports: the prefixes
// of decoders, and the credentials in URLs.
package errtext

import (
	"net/url"
	"strings"
)

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

// RedactURL returns raw, a URL for a message, with the user information of
// its authority replaced by "xxxxx": it may hold a password or a token. A
// URL that does not parse loses everything between "://" (or the start)
// and its last "@".
func RedactURL(raw string) string {
	u, err := url.Parse(raw)
	if err == nil && !strings.Contains(u.Opaque, "@") { // user:pass@host reads as scheme "user"
		if u.User == nil {
			return raw
		}
		u.User = nil
		s := u.String()
		if scheme, rest, ok := strings.Cut(s, "://"); ok {
			return scheme + "://xxxxx@" + rest
		}
		return s
	}
	at := strings.LastIndex(raw, "@")
	if at < 0 {
		return raw
	}
	if i := strings.Index(raw, "://"); i >= 0 && i < at {
		return raw[:i+3] + "xxxxx" + raw[at:]
	}
	return "xxxxx" + raw[at:]
}
