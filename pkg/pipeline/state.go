package pipeline

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"wookie.dev/wookie/internal/cert"
	"wookie.dev/wookie/internal/cluster"
	"wookie.dev/wookie/internal/eval"
)

// StateDir is wookie's state directory: Config.StateDir, else
// $XDG_STATE_HOME/wookie, else ~/.local/state/wookie. It holds what wookie
// keeps between runs and must not lose like a cache (k3d config files,
// the Istio CA of wookie certs), a directory per configuration.
func (p *Pipeline) StateDir() (string, error) {
	if p.cfg.StateDir != "" {
		return p.cfg.StateDir, nil
	}
	if d := os.Getenv("XDG_STATE_HOME"); d != "" && filepath.IsAbs(d) {
		return filepath.Join(d, "wookie"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", errors.New("state directory: neither $XDG_STATE_HOME nor a home directory is set")
	}
	return filepath.Join(home, ".local", "state", "wookie"), nil
}

// ConfigStateDir is the state directory of the configuration:
// <StateDir>/<ConfigName>.
func (p *Pipeline) ConfigStateDir() (string, error) {
	dir, err := p.StateDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, p.ConfigName()), nil
}

// ConfigName names the configuration by the directory it lives in: the
// first file's directory (or the directory Files names first), the
// working directory for ./wookie.cue or a Plan from stdin, the From
// Plan's directory; "default" for the embedded default configuration.
// The name is lowercased, with every run of characters other than
// letters, digits and '-' made one '-'.
func (p *Pipeline) ConfigName() string {
	var dir string
	switch {
	case p.cfg.From == "-":
		dir = "."
	case p.cfg.From != "":
		dir = filepath.Dir(p.cfg.From)
	case len(p.cfg.Files) > 0:
		dir = p.cfg.Files[0]
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

// CertStore is the certificate store of the configuration:
// <ConfigStateDir>/certs.
func (p *Pipeline) CertStore() (cert.Store, error) {
	dir, err := p.ConfigStateDir()
	if err != nil {
		return cert.Store{}, err
	}
	return cert.Store{Dir: filepath.Join(dir, "certs")}, nil
}

// ClusterManager returns the k3d cluster manager of the configuration,
// its config files in <ConfigStateDir>/k3d; kubeconfig, when set,
// replaces every cluster's kubeconfig file.
func (p *Pipeline) ClusterManager(kubeconfig string) (*cluster.Manager, error) {
	dir, err := p.ConfigStateDir()
	if err != nil {
		return nil, err
	}
	return &cluster.Manager{ConfigDir: filepath.Join(dir, "k3d"), Kubeconfig: kubeconfig}, nil
}
