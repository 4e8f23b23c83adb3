package plan

import (
	"net/url"
	"strings"
)

// hasCredentials reports whether raw, a URL, carries a secret in its user
// information: a password under any scheme, or user information of any
// kind under http, https and oci (where the user alone is a token).
// Schemes compare case-insensitively, so HTTPS:// is https://. A URL that
// does not parse counts when its authority looks as if it held user
// information; "ssh://git@host/..." (a user, no password) does not count.
func hasCredentials(raw string) bool {
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok {
		return false
	}
	switch strings.ToLower(scheme) {
	case "http", "https", "oci":
		return hasUserInfo(raw, rest)
	}
	u, err := url.Parse(raw)
	if err == nil {
		if u.User == nil {
			return false
		}
		_, password := u.User.Password()
		return password
	}
	authority, _, _ := strings.Cut(rest, "/")
	if at := strings.LastIndex(authority, "@"); at >= 0 {
		return strings.Contains(authority[:at], ":")
	}
	return strings.Contains(rest, "@") && strings.Contains(authority, ":")
}

// hasUserInfo reports whether the URL raw, whose part after "://" is rest,
// carries user information (user:password@ or token@), or looks as if it
// did and does not parse.
func hasUserInfo(raw, rest string) bool {
	u, err := url.Parse(raw)
	if err != nil {
		authority, _, _ := strings.Cut(rest, "/")
		return strings.Contains(authority, "@") || strings.Contains(rest, "@") && strings.Contains(authority, ":")
	}
	return u.User != nil
}
