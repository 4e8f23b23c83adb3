package emit

import (
	"crypto/md5" // Fleet's names use MD5 as a checksum, not for security.
	"encoding/hex"
	"regexp"
	"strings"
)

// maxReleaseName is the longest Helm release name, and so the longest
// bundle name Fleet makes.
const maxReleaseName = 53

var (
	fleetDisallowed = regexp.MustCompile(`[^a-zA-Z0-9-]+`)
	fleetDashes     = regexp.MustCompile(`-+`)
	fleetLabel      = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)
)

// FleetBundleName is the name Rancher Fleet gives the bundle it makes from
// a GitRepo's directory: s is "<gitrepo>/<path>". Slashes become dashes; an
// input with uppercase or other disallowed characters gets an 8-character
// checksum suffix before it is lowercased, every run of disallowed
// characters becomes one dash and dashes are trimmed; a result longer than
// 53 characters is cut and given a 5-character checksum; an input that
// yields no valid name becomes a 24-character checksum. These are Fleet's
// rules (internal/names), which Fleet's module does not export.
func FleetBundleName(s string) string {
	orig := s
	s = strings.ReplaceAll(s, "/", "-")
	if s != strings.ToLower(s) || fleetDisallowed.MatchString(s) {
		s += "-" + md5Hex(s, 8)
	}
	s = strings.ToLower(s)
	s = fleetDisallowed.ReplaceAllLiteralString(s, "-")
	s = fleetDashes.ReplaceAllString(s, "-")
	s = strings.Trim(s, "-")
	if !fleetLabel.MatchString(s) {
		return md5Hex(orig, 24)
	}
	return fleetLimit(s, maxReleaseName)
}

// fleetLimit cuts s to n characters the way Fleet does: the first
// n-6 characters, a dash unless the cut already ends in one, and 5
// characters of s's checksum.
func fleetLimit(s string, n int) string {
	if len(s) <= n {
		return s
	}
	keep := n - 6
	sep := "-"
	if s[keep-1] == '-' {
		sep = ""
	}
	return s[:keep] + sep + md5Hex(s, 5)
}

// md5Hex is the first n hex digits of s's MD5 sum.
func md5Hex(s string, n int) string {
	sum := md5.Sum([]byte(s))
	return hex.EncodeToString(sum[:])[:n]
}
