package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// k3dEntry is what wookie reads of one cluster in k3d cluster list -o json.
type k3dEntry struct {
	Name           string `json:"name"`
	ServersCount   int    `json:"serversCount"`
	ServersRunning int    `json:"serversRunning"`
	AgentsCount    int    `json:"agentsCount"`
	AgentsRunning  int    `json:"agentsRunning"`
}

// running reports whether every server of e runs.
func (e k3dEntry) running() bool { return e.ServersCount > 0 && e.ServersRunning == e.ServersCount }

// preflight checks that k3d and docker are installed and that the Docker
// daemon answers.
func (m *Manager) preflight(ctx context.Context) error {
	if _, err := m.runner().Run(ctx, Command{Name: "k3d", Args: []string{"version"}}); err != nil {
		return err
	}
	_, err := m.runner().Run(ctx, Command{Name: "docker", Args: []string{"info", "--format", "{{.ServerVersion}}"}})
	var ee *ExitError
	if errors.As(err, &ee) {
		out := strings.TrimSpace(ee.Output)
		if i := strings.IndexByte(out, '\n'); i >= 0 {
			out = out[:i]
		}
		return &DaemonError{Output: out}
	}
	return err
}

// listK3d returns the clusters k3d knows, by name.
func (m *Manager) listK3d(ctx context.Context) (map[string]k3dEntry, error) {
	out, err := m.runner().Run(ctx, Command{Name: "k3d", Args: []string{"cluster", "list", "-o", "json"}})
	if err != nil {
		return nil, err
	}
	var entries []k3dEntry
	if err := json.Unmarshal(out, &entries); err != nil {
		return nil, fmt.Errorf("k3d cluster list -o json: unexpected output: %w", err)
	}
	byName := make(map[string]k3dEntry, len(entries))
	for _, e := range entries {
		byName[e.Name] = e
	}
	return byName, nil
}
