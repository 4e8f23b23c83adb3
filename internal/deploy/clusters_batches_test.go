package deploy

import (
	"encoding/base64"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"wookie.dev/wookie/internal/plan"
)

// eventOf returns the position of the first event of cluster of type typ
// whose bundle or input is name, or -1.
func eventOf(events []Event, cluster, typ, name string) int {
	return slices.IndexFunc(events, func(e Event) bool {
		return e.Cluster == cluster && e.Type == typ && (e.Bundle == name || e.Input == name)
	})
}

// tokenSecret makes the Secret reader-token whose data.token is value.
func tokenSecret(t *testing.T, value string) plan.Object {
	return obj(t, `{apiVersion: v1, kind: Secret, metadata: {name: reader-token}, data: {token: %s}}`, base64.StdEncoding.EncodeToString([]byte(value)))
}

// tokenInput reads the token of the Secret istio-system/reader-token of
// cluster.
func tokenInput(name, cluster string) plan.Input {
	return plan.Input{Name: name, From: plan.InputSource{Cluster: cluster, APIVersion: "v1", Kind: "Secret", Namespace: "istio-system",
		Name: "reader-token", Expression: "string(base64.decode(data.token))", Timeout: "30s"}}
}

// meshCluster returns cluster name of a multi-primary mesh, on k: bundle
// token makes the Secret istio-system/reader-token ("NAME-secret"), and
// bundle remote-secrets, in batch services, a ConfigMap remote whose token
// is the one of cluster other, read as input OTHER-token. The token bundle
// is in batch tokenBatch (namespaces or services).
func meshCluster(t *testing.T, k *testCluster, name, other, tokenBatch string) plan.Cluster {
	token := bundle("token", "istio-system", tokenSecret(t, name+"-secret"))
	secrets := bundle("remote-secrets", "istio-system",
		obj(t, `{apiVersion: v1, kind: ConfigMap, metadata: {name: remote}, data: {token: "((input %s-token))"}}`, other))
	var batches []plan.Batch
	if tokenBatch == "namespaces" {
		batches = []plan.Batch{batch("namespaces", 200, token), batch("services", 500, secrets)}
	} else {
		batches = []plan.Batch{batch("services", 500, token, secrets)}
	}
	return withInputs(k.cluster(name, batches...), tokenInput(other+"-token", other))
}

// A multi-primary mesh: each cluster's batch services reads the token the
// other makes in its batch namespaces. Clusters depending on each other
// whole could not deploy; batch by batch they do, even one cluster at a
// time, as a cluster waiting for the other gives its place up. A dry run
// first reads no token (none exists) and changes nothing.
func TestDeployInputsBetweenClustersBatchByBatch(t *testing.T) {
	t.Parallel()
	east, west := startBare(t, "mp-east"), startBare(t, "mp-west")
	ctx := testContext(t)
	p := multiPlan(t, meshCluster(t, east, "east", "west", "namespaces"), meshCluster(t, west, "west", "east", "namespaces"))

	_, events, err := deployPlan(ctx, t, p, Options{DryRun: true, ParallelClusters: 1})
	if err != nil {
		t.Fatalf("dry run: %v\n%s", err, eventLines(events))
	}
	var warnings []string
	for _, e := range events {
		if e.Type == "warning" {
			warnings = append(warnings, e.Cluster+" "+e.Input)
		}
	}
	slices.Sort(warnings)
	if diff := cmp.Diff([]string{"east west-token", "west east-token"}, warnings); diff != "" {
		t.Errorf("dry run warnings (-want +got):\n%s", diff)
	}
	if east.get(ctx, t, "v1", "Secret", "istio-system", "reader-token") != nil {
		t.Error("the dry run made east's token")
	}

	_, events = mustDeploy(ctx, t, p, Options{ParallelClusters: 1})
	for _, c := range []struct {
		k                  *testCluster
		name, other, token string
	}{{east, "east", "west", "west-secret"}, {west, "west", "east", "east-secret"}} {
		if diff := cmp.Diff(map[string]string{"token": c.token}, c.k.dataOf(ctx, t, "istio-system", "remote")); diff != "" {
			t.Errorf("%s's ConfigMap remote (-want +got):\n%s", c.name, diff)
		}
		// The other cluster's batch namespaces is done before this one
		// reads its token and starts its batch services.
		otherToken := eventOf(events, c.other, "done", "token")
		read := eventOf(events, c.name, "input", c.other+"-token")
		start := eventOf(events, c.name, "start", "remote-secrets")
		if otherToken < 0 || read < otherToken || start < read {
			t.Errorf("%s: the other's token done at %d, read at %d, remote-secrets started at %d: %v", c.name, otherToken, read, start, clusterEvents(events))
		}
	}
	// Interleaved: both batches namespaces are done before either cluster
	// is.
	firstDone := slices.IndexFunc(events, func(e Event) bool { return e.Type == "cluster" })
	if firstDone < eventOf(events, "east", "done", "token") || firstDone < eventOf(events, "west", "done", "token") {
		t.Errorf("a cluster was done before both had their tokens: %v", clusterEvents(events))
	}
	// One cluster at a time: the first to reach its batch services waits
	// for the other, which can only deploy because the first gave its
	// place up.
	waits := slices.IndexFunc(events, func(e Event) bool {
		return e.Type == "note" && e.Batch == "services" && strings.HasPrefix(e.Message, "batch services waits for cluster ")
	})
	if waits < 0 {
		t.Errorf("no cluster waited for the other: %v", clusterEvents(events))
	} else if e := events[waits]; e.Message != fmt.Sprintf("batch services waits for cluster %s batch namespaces (input %s)", strings.TrimSuffix(e.Input, "-token"), e.Input) {
		t.Errorf("wait note: %q", e.Message)
	}
}

// Istio's primary-remote shape: the remote's istiod (batch operators) reads
// the address of the primary's east-west gateway, a LoadBalancer Service of
// the primary's batch services, and that batch's remote-secrets bundle
// reads the token the remote makes in its batch namespaces. Cluster by
// cluster each would wait for the other; batch by batch: remote
// namespaces, primary namespaces to services, remote operators.
func TestDeployInputsPrimaryRemote(t *testing.T) {
	t.Parallel()
	primary, remote := startBare(t, "pr-primary"), startBare(t, "pr-remote")
	ctx := testContext(t)
	p := multiPlan(t,
		withInputs(primary.cluster("primary",
			batch("namespaces", 200, bundle("token", "istio-system", tokenSecret(t, "primary-secret"))),
			batch("operators", 400, bundle("istiod", "istio-system", obj(t, `{apiVersion: v1, kind: ConfigMap, metadata: {name: istiod}, data: {mode: primary}}`))),
			batch("services", 500,
				bundle("eastwest", "istio-system", obj(t, `{apiVersion: v1, kind: Service, metadata: {name: eastwest}, spec: {type: LoadBalancer, ports: [{name: tls, port: 15443}]}}`)),
				bundle("remote-secrets", "istio-system", obj(t, `{apiVersion: v1, kind: ConfigMap, metadata: {name: remote}, data: {token: "((input remote-token))"}}`)),
			),
		), tokenInput("remote-token", "remote")),
		withInputs(remote.cluster("remote",
			batch("namespaces", 200, bundle("token", "istio-system", tokenSecret(t, "remote-secret"))),
			batch("operators", 400, bundle("istiod", "istio-system",
				obj(t, `{apiVersion: v1, kind: ConfigMap, metadata: {name: istiod}, data: {remotePilotAddress: "((input primary-ewgw))"}}`))),
		), plan.Input{Name: "primary-ewgw", From: plan.InputSource{Cluster: "primary", APIVersion: "v1", Kind: "Service", Namespace: "istio-system",
			Name: "eastwest", Expression: "status.loadBalancer.ingress[0].ip", Timeout: "60s"}}),
	)
	const lbIP = "172.18.0.43"
	lb := &loadBalancer{k: primary, namespace: "istio-system", name: "eastwest", input: "primary-ewgw", ip: lbIP}
	_, events := mustDeploy(ctx, t, p, Options{OnEvent: lb.play(ctx)})
	lb.check(t, events)
	if diff := cmp.Diff(map[string]string{"remotePilotAddress": lbIP}, remote.dataOf(ctx, t, "istio-system", "istiod")); diff != "" {
		t.Errorf("the remote's istiod ConfigMap (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]string{"token": "remote-secret"}, primary.dataOf(ctx, t, "istio-system", "remote")); diff != "" {
		t.Errorf("the primary's remote ConfigMap (-want +got):\n%s", diff)
	}
	// Each in order after the one before.
	order := []struct{ cluster, typ, name string }{
		{"remote", "done", "token"},
		{"primary", "input", "remote-token"},
		{"primary", "start", "eastwest"},
		{"primary", "done", "eastwest"},
		{"remote", "input", "primary-ewgw"},
		{"remote", "start", "istiod"},
		{"remote", "cluster", ""},
	}
	last := -1
	for _, o := range order {
		i := eventOf(events, o.cluster, o.typ, o.name)
		if i < last {
			t.Errorf("%s %s %s at %d, before the step before it (%d): %v", o.cluster, o.typ, o.name, i, last, clusterEvents(events))
		}
		last = i
	}
	// The primary's batches namespaces and operators need nothing: they
	// need not wait for the remote.
	if eventOf(events, "primary", "done", "istiod") < 0 {
		t.Errorf("the primary's istiod was not deployed: %v", clusterEvents(events))
	}
}

// Batches that wait for each other: each cluster makes its token and reads
// the other's in one batch. Deploy refuses it before applying anything,
// naming the chain.
func TestDeployInputCycleOfBatches(t *testing.T) {
	t.Parallel()
	east, west := startBare(t, "cy-east"), startBare(t, "cy-west")
	ctx := testContext(t)
	p := multiPlan(t, meshCluster(t, east, "east", "west", "services"), meshCluster(t, west, "west", "east", "services"))
	_, events, err := deployPlan(ctx, t, p, Options{})
	want := "clusters depend on each other: east batch services (input west-token) -> west batch services (input east-token) -> east batch services"
	if err == nil || err.Error() != want {
		t.Errorf("error:\n got %v\nwant %s", err, want)
	}
	if len(events) > 0 {
		t.Errorf("events: %v", clusterEvents(events))
	}
	for name, k := range map[string]*testCluster{"east": east, "west": west} {
		if k.get(ctx, t, "v1", "Secret", "istio-system", "reader-token") != nil || k.inventoryIDsOf(ctx, t, name) != nil {
			t.Error("something was applied")
		}
	}
}

// A cluster whose batch waits for a batch of a cluster that fails before
// it stops there, after its earlier batches; one whose first batch waits
// so is not deployed at all. The others are not affected.
func TestDeployInputSourceFails(t *testing.T) {
	t.Parallel()
	one, two := startBare(t, "sf-one"), startBare(t, "sf-two")
	ctx := testContext(t)
	uses := func(name string) plan.Object {
		return obj(t, `{apiVersion: v1, kind: ConfigMap, metadata: {name: %s}, data: {token: "((input west-token))"}}`, name)
	}
	p := multiPlan(t,
		one.cluster("west",
			batch("namespaces", 200, bundle("bad", "istio-system",
				obj(t, `{apiVersion: v1, kind: Service, metadata: {name: bad}, spec: {ports: [{port: 999999}]}}`))),
			batch("services", 500, bundle("token", "istio-system", tokenSecret(t, "west-secret"))),
		),
		withInputs(two.cluster("east",
			batch("namespaces", 200, bundle("early", "east", configMap(t, "early"))),
			batch("services", 500, bundle("remote-secrets", "east", uses("remote"))),
		), tokenInput("west-token", "west")),
		withInputs(two.cluster("edge",
			batch("apps", 500, bundle("remote-secrets", "edge", uses("remote"))),
		), tokenInput("west-token", "west")),
		// On west's control plane: east's inventory is east's alone.
		one.cluster("other", batch("apps", 0, bundle("other", "other", configMap(t, "other")))),
	)
	_, events, err := deployPlan(ctx, t, p, Options{})
	if err == nil {
		t.Fatal("deploy succeeded")
	}
	lines := strings.Split(err.Error(), "\n")
	want := []string{
		"cluster east: batch services: input west-token: cluster west failed before its batch services made Secret/istio-system/reader-token",
		"cluster edge: not deployed: batch apps: input west-token: cluster west failed before its batch services made Secret/istio-system/reader-token",
		"cluster west: batch namespaces: bundle bad: ",
	}
	if len(lines) != len(want) {
		t.Fatalf("error has %d lines, want %d:\n%v", len(lines), len(want), err)
	}
	for i := range want {
		if !strings.HasPrefix(lines[i], want[i]) || i < 2 && lines[i] != want[i] {
			t.Errorf("error line %d:\n got %s\nwant %s", i, lines[i], want[i])
		}
	}
	for _, c := range []struct{ cluster, typ, batch string }{{"east", "failed", "services"}, {"edge", "skipped", "apps"}, {"other", "cluster", ""}} {
		if i := firstEvent(events, c.cluster, c.typ); i < 0 || events[i].Batch != c.batch {
			t.Errorf("no %s event for %s, batch %q: %v", c.typ, c.cluster, c.batch, clusterEvents(events))
		}
	}
	if one.dataOf(ctx, t, "other", "other") == nil {
		t.Error("the independent cluster other was not deployed")
	}
	if two.dataOf(ctx, t, "east", "early") == nil {
		t.Error("east's batch namespaces was not applied")
	}
	if two.dataOf(ctx, t, "east", "remote") != nil || two.dataOf(ctx, t, "edge", "remote") != nil {
		t.Error("a batch that needs west's token was applied")
	}
	if ids := two.inventoryIDsOf(ctx, t, "east"); !slices.Contains(ids, "east_early__ConfigMap") {
		t.Errorf("east's inventory lacks what it applied: %v", ids)
	}
}

// A cluster that cannot be rendered with its input references in place
// (here the apiVersion of an object is an input) deploys as a whole once
// the cluster its inputs come from is deployed, as if it were in its
// dependsOn. Both clusters share a control plane: they do not run at once.
func TestDeployInputsClusterNotRenderable(t *testing.T) {
	t.Parallel()
	k := startBare(t, "nr")
	ctx := testContext(t)
	p := multiPlan(t,
		k.cluster("hub", batch("services", 0, bundle("versions", "hub",
			obj(t, `{apiVersion: v1, kind: ConfigMap, metadata: {name: versions}, data: {configmap: v1}}`)))),
		withInputs(k.cluster("spoke",
			batch("first", 0, bundle("first", "spoke", configMap(t, "first"))),
			batch("apps", 1, bundle("app", "spoke", obj(t, `{apiVersion: "((input version))", kind: ConfigMap, metadata: {name: app}, data: {a: b}}`))),
		), plan.Input{Name: "version", From: plan.InputSource{Cluster: "hub", APIVersion: "v1", Kind: "ConfigMap", Namespace: "hub",
			Name: "versions", Expression: "data.configmap"}}),
	)
	// As the CLI does, the rendering given to Deploy lacks the clusters
	// with inputs.
	r := renderPlan(ctx, t, &plan.Plan{APIVersion: p.APIVersion, Kind: p.Kind, Clusters: p.Clusters[:1]}, nil)
	_, events, err := deployRendered(ctx, t, p, r, Options{})
	if err != nil {
		t.Fatalf("deploy: %v\n%s", err, eventLines(events))
	}
	if hubDone, spokeFirst := firstEvent(events, "hub", "cluster"), firstEvent(events, "spoke", ""); hubDone < 0 || spokeFirst < hubDone {
		t.Errorf("the spoke started before the hub was done: %v", clusterEvents(events))
	}
	if diff := cmp.Diff(map[string]string{"a": "b"}, k.dataOf(ctx, t, "spoke", "app")); diff != "" {
		t.Errorf("the spoke's ConfigMap app (-want +got):\n%s", diff)
	}
	if i := eventOf(events, "spoke", "input", "version"); i < 0 || events[i].Batch != "" {
		t.Errorf("the spoke's input was not read for the whole cluster: %v", clusterEvents(events))
	}
}
