package plan

import (
	"cmp"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"

	"sigs.k8s.io/yaml"
)

// k3dMaxName is the longest k3d cluster name k3d accepts.
const k3dMaxName = 32

var (
	// dockerNetworkRE is a Docker network name.
	dockerNetworkRE = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]*$`)
	// nodeFilterRE is a k3d node filter (k3d's pkg/util.NodeFilterRegexp).
	nodeFilterRE = regexp.MustCompile(`^(server|servers|agent|agents|loadbalancer|all)(:((\d+,?)+|\d*-\d*|\*))?(:[[:alpha:]]+)?$`)
)

// k3dContext is the kubeconfig context k3d writes for the k3d cluster name.
func k3dContext(name string) string { return "k3d-" + name }

// k3d checks how cluster c, named cname in messages, is created with k3d.
func (v *validator) k3d(c *Cluster, cname string) {
	k := c.K3d
	if k == nil {
		return
	}
	at := func(field, msg string) { v.add(Error{Cluster: cname, Field: "k3d." + field, Msg: msg}) }
	if v.dnsLabel(Error{Cluster: cname, Field: "k3d.name"}, k.Name) {
		if len(k.Name) > k3dMaxName {
			at("name", fmt.Sprintf("%q is %d characters; k3d allows at most %d", k.Name, len(k.Name), k3dMaxName))
		} else if c.Context != "" && c.Context != k3dContext(k.Name) {
			v.add(Error{Cluster: cname, Field: "context", Msg: fmt.Sprintf("%q: k3d names the context of k3d cluster %s %s; use that", c.Context, k.Name, k3dContext(k.Name))})
		}
	}
	if k.Servers < 1 {
		at("servers", fmt.Sprintf("%d: want at least 1", k.Servers))
	}
	if k.Agents < 0 {
		at("agents", fmt.Sprintf("%d: want 0 or more", k.Agents))
	}
	switch {
	case k.Image == "":
		at("image", "required")
	case strings.ContainsAny(k.Image, " \t\n"):
		at("image", fmt.Sprintf("%q is not an image reference", k.Image))
	}
	if k.Network != "" && !dockerNetworkRE.MatchString(k.Network) {
		at("network", fmt.Sprintf("%q is not a Docker network name (letters, digits, '_', '.' and '-', starting with a letter or digit)", k.Network))
	}
	if k.APIPort != 0 && !validPort(k.APIPort) {
		at("apiPort", fmt.Sprintf("%d: want a port from 1 to 65535, or 0 for one k3d picks", k.APIPort))
	}
	names := map[string]int{}
	for i, p := range k.Ports {
		field := fmt.Sprintf("ports[%d]", i)
		if p.Name != "" {
			field = "ports." + p.Name
			names[p.Name]++
		}
		v.dnsLabel(Error{Cluster: cname, Field: "k3d." + field + ".name"}, p.Name)
		if !validPort(p.HostPort) {
			at(field+".hostPort", fmt.Sprintf("%d: want a port from 1 to 65535", p.HostPort))
		}
		if !validPort(p.ContainerPort) {
			at(field+".containerPort", fmt.Sprintf("%d: want a port from 1 to 65535", p.ContainerPort))
		}
	}
	for _, n := range slices.Sorted(maps.Keys(names)) {
		if names[n] > 1 {
			at("ports", fmt.Sprintf("name %q used by %d ports", n, names[n]))
		}
	}
	byPort := map[int][]string{}
	for _, hp := range hostPorts(k) {
		byPort[hp.port] = append(byPort[hp.port], hp.what)
	}
	for _, port := range slices.Sorted(maps.Keys(byPort)) {
		if users := byPort[port]; len(users) > 1 {
			at("ports", fmt.Sprintf("host port %d is used by %s", port, andList(users)))
		}
	}
	for i, a := range k.K3sArgs {
		field := fmt.Sprintf("k3sArgs[%d]", i)
		switch {
		case a.Arg == "":
			at(field, "arg is required")
		case !strings.HasPrefix(a.Arg, "-"):
			at(field, fmt.Sprintf("arg %q: want a flag such as --disable=metrics-server", a.Arg))
		}
		if len(a.NodeFilters) == 0 {
			at(field, "nodeFilters: want at least one, e.g. server:*")
		}
		for _, nf := range a.NodeFilters {
			if !nodeFilterRE.MatchString(nf) {
				at(field, fmt.Sprintf("node filter %q: want server, agent, loadbalancer or all, optionally with :* or node indexes (server:0, agent:1,2, agent:0-2)", nf))
			}
		}
	}
	if r := k.Registries; r != nil {
		for i, u := range r.Use {
			if strings.TrimSpace(u) == "" || strings.ContainsAny(u, " \t\n") {
				at(fmt.Sprintf("registries.use[%d]", i), fmt.Sprintf("%q: want a registry as NAME:PORT, e.g. k3d-registry.localhost:5000", u))
			}
		}
		if r.Config != "" {
			var m map[string]any
			if err := yaml.Unmarshal([]byte(r.Config), &m); err != nil {
				at("registries.config", "not a YAML mapping (the content of registries.yaml): "+oneLine(err.Error()))
			}
		}
	}
}

// hostPort is one host port a k3d cluster publishes, and what publishes it.
type hostPort struct {
	port int
	what string // "apiPort" or "port <name>"
}

// hostPorts lists the host ports k publishes: the API port when set, then
// its ports.
func hostPorts(k *K3dCluster) []hostPort {
	var out []hostPort
	if k.APIPort != 0 {
		out = append(out, hostPort{k.APIPort, "apiPort"})
	}
	for i, p := range k.Ports {
		out = append(out, hostPort{p.HostPort, "port " + entryName(p.Name, i)})
	}
	return out
}

// k3dAcrossClusters checks what k3d clusters share the host: their k3d
// names and their host ports must differ. Each clash is reported on the
// cluster whose name sorts later, naming the earlier one.
func (v *validator) k3dAcrossClusters(clusters []Cluster) {
	var ks []*Cluster
	for i := range clusters {
		if clusters[i].K3d != nil && clusters[i].Name != "" {
			ks = append(ks, &clusters[i])
		}
	}
	slices.SortStableFunc(ks, func(a, b *Cluster) int { return cmp.Compare(a.Name, b.Name) })
	nameOwner := map[string]string{}
	type owner struct{ cluster, what string }
	portOwner := map[int]owner{}
	for _, c := range ks {
		if n := c.K3d.Name; n != "" {
			if first, ok := nameOwner[n]; ok && first != c.Name {
				v.add(Error{Cluster: c.Name, Field: "k3d.name", Msg: fmt.Sprintf("%q is also the k3d name of cluster %s", n, first)})
			} else if !ok {
				nameOwner[n] = c.Name
			}
		}
		seen := map[int]bool{}
		for _, hp := range hostPorts(c.K3d) {
			if seen[hp.port] || !validPort(hp.port) {
				continue // a clash inside the cluster is reported by k3d()
			}
			seen[hp.port] = true
			if first, ok := portOwner[hp.port]; ok && first.cluster != c.Name {
				field := "k3d.ports"
				if hp.what == "apiPort" {
					field = "k3d.apiPort"
				}
				v.add(Error{Cluster: c.Name, Field: field, Msg: fmt.Sprintf("host port %d (%s) is also used by cluster %s (%s)", hp.port, hp.what, first.cluster, first.what)})
			} else if !ok {
				portOwner[hp.port] = owner{c.Name, hp.what}
			}
		}
	}
}

// andList joins items as "a, b and c".
func andList(items []string) string {
	if len(items) < 2 {
		return strings.Join(items, "")
	}
	return strings.Join(items[:len(items)-1], ", ") + " and " + items[len(items)-1]
}

// validPort reports whether p is a TCP port number.
func validPort(p int) bool { return p >= 1 && p <= 65535 }
