package cli

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"wookie.dev/wookie/internal/eval"
)

// stateDir is wookie's state directory, $XDG_STATE_HOME/wookie, else
// ~/.local/state/wookie: what wookie keeps between runs and must not lose
// like a cache (k3d config files, and the Istio CA of wookie certs).
func stateDir() (string, error) {
	if d := os.Getenv("XDG_STATE_HOME"); d != "" && filepath.IsAbs(d) {
		return filepath.Join(d, "wookie"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", errors.New("state directory: neither $XDG_STATE_HOME nor a home directory is set")
	}
	return filepath.Join(home, ".local", "state", "wookie"), nil
}

// configStateDir is the state directory of the configuration cf selects:
// <stateDir>/<configName>.
func configStateDir(cf *configFlags) (string, error) {
	dir, err := stateDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, configName(cf)), nil
}

// configName names the configuration cf selects by the directory it lives
// in: the first -f's directory (or the directory -f names), the working
// directory for ./wookie.cue or a Plan from stdin, the --from Plan's
// directory; "default" for the embedded default configuration. The name
// is lowercased, with every run of characters other than letters, digits
// and '-' made one '-'.
func configName(cf *configFlags) string {
	var dir string
	switch {
	case cf.from == "-":
		dir = "."
	case cf.from != "":
		dir = filepath.Dir(cf.from)
	case len(cf.files) > 0:
		dir = cf.files[0]
		if st, err := os.Stat(dir); err != nil || !st.IsDir() {
			dir = filepath.Dir(dir)
		}
	default:
		if _, err := os.Stat(eval.DefaultFile); errors.Is(err, fs.ErrNotExist) {
			return "default"
		}
		dir = "."
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "default"
	}
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(filepath.Base(abs)) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
			dash = false
		} else if !dash && b.Len() > 0 {
			b.WriteByte('-')
			dash = true
		}
	}
	if name := strings.TrimSuffix(b.String(), "-"); name != "" {
		return name
	}
	return "default"
}
