package verify

import (
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"wookie.dev/wookie/internal/plan"
)

// registryMatches are the bodyMatches of the wookie project's
// istiod-registry test of a primary that reads clusters west and south:
// each is present in istiod's /debug/clusterz and synced.
var registryMatches = []string{
	`"id": *"west"[^}]*"syncStatus": *"synced"`,
	`"id": *"south"[^}]*"syncStatus": *"synced"`,
}

// clusterz is a /debug/clusterz body as istiod 1.22 to 1.30 writes it
// (cluster.DebugInfo as compact JSON, its own cluster first, without a
// secret), with the sync status of west and of south.
func clusterz(west, south string) string {
	return `[{"id":"east","secretName":"","syncStatus":"synced"},` +
		`{"id":"west","secretName":"istio-system/istio-remote-secret-west","syncStatus":"` + west + `"},` +
		`{"id":"south","secretName":"istio-system/istio-remote-secret-south","syncStatus":"` + south + `"}]`
}

// TestProbeScript runs the script of an HTTP test's Job, as the Job
// would (sh -c with its environment), against servers of the test on
// loopback: the exit code and what it prints, which are the Job's outcome
// and logs.
func TestProbeScript(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh:", err)
	}
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("no curl:", err)
	}
	const token = "the-token"
	serve := func(status int, body string) string {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(status)
			_, _ = w.Write([]byte(body))
		}))
		t.Cleanup(srv.Close)
		return srv.URL
	}
	// A port nothing listens on any more.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := "http://" + l.Addr().String() + "/"
	l.Close()
	// A server that wants istiod's kind of token.
	authed := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+token {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		_, _ = w.Write([]byte(clusterz("synced", "synced")))
	}))
	t.Cleanup(authed.Close)
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte(token), 0o600); err != nil {
		t.Fatal(err)
	}

	for _, c := range []struct {
		name string
		test plan.HTTPTest
		// tokenFile replaces the Job's mount path of the token.
		tokenFile string
		wantExit  int
		wantOut   string
	}{
		{"ok", plan.HTTPTest{URL: serve(200, "fine")}, "", 0,
			"GET {URL}: HTTP 200\n"},
		{"status", plan.HTTPTest{URL: serve(204, ""), Status: 204}, "", 0,
			"GET {URL}: HTTP 204\n"},
		{"wrong status", plan.HTTPTest{URL: serve(503, "overloaded")}, "", 1,
			"GET {URL}: HTTP 503, want 200\noverloaded\n"},
		{"body matches", plan.HTTPTest{URL: serve(200, "a\nstatus: ready\n"), BodyMatches: []string{"^status: (ready|done)$", "^a"}}, "", 0,
			"GET {URL}: HTTP 200\n"},
		{"body mismatch", plan.HTTPTest{URL: serve(200, "status: starting"), BodyMatches: []string{"^status: ready$", "status"}}, "", 1,
			"GET {URL}: HTTP 200, no line of the body matches ^status: ready$\nbody:\nstatus: starting\n"},
		{"connection refused", plan.HTTPTest{URL: refused}, "", 1,
			"curl: (7) Failed to connect\nGET {URL}: request failed\n"},
		{"registry synced", plan.HTTPTest{URL: authed.URL + "/debug/clusterz", BodyMatches: registryMatches, TokenAudience: "istio-ca"}, tokenFile, 0,
			"GET {URL}: HTTP 200\n"},
		{"registry without token", plan.HTTPTest{URL: authed.URL + "/debug/clusterz", BodyMatches: registryMatches}, "", 1,
			"GET {URL}: HTTP 401, want 200\n\n"},
		{"registry west syncing", plan.HTTPTest{URL: serve(200, clusterz("syncing", "synced")), BodyMatches: registryMatches}, "", 1,
			"GET {URL}: HTTP 200, no line of the body matches " + registryMatches[0] + "\nbody:\n" + clusterz("syncing", "synced") + "\n"},
		{"registry south timeout", plan.HTTPTest{URL: serve(200, clusterz("synced", "timeout")), BodyMatches: registryMatches}, "", 1,
			"GET {URL}: HTTP 200, no line of the body matches " + registryMatches[1] + "\nbody:\n" + clusterz("synced", "timeout") + "\n"},
		{"registry south missing", plan.HTTPTest{URL: serve(200, `[{"id":"east","secretName":"","syncStatus":"synced"},{"id":"west","secretName":"istio-system/istio-remote-secret-west","syncStatus":"synced"}]`), BodyMatches: registryMatches}, "", 1,
			"GET {URL}: HTTP 200, no line of the body matches " + registryMatches[1] + "\nbody:\n" +
				`[{"id":"east","secretName":"","syncStatus":"synced"},{"id":"west","secretName":"istio-system/istio-remote-secret-west","syncStatus":"synced"}]` + "\n"},
	} {
		t.Run(c.name, func(t *testing.T) {
			// Only the Job's environment: no proxy settings of the host.
			env := []string{"PATH=" + os.Getenv("PATH"), "TMPDIR=" + t.TempDir()}
			for _, kv := range probeEnv(&c.test) {
				if kv[0] == "TOKEN_FILE" {
					kv[1] = c.tokenFile
				}
				env = append(env, kv[0]+"="+kv[1])
			}
			cmd := exec.Command(sh, "-c", probeScript)
			cmd.Env = env
			out, err := cmd.CombinedOutput()
			exit := 0
			if ee, ok := err.(*exec.ExitError); ok {
				exit = ee.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			got := string(out)
			// curl's own message names the address and the time taken.
			if i := strings.Index(got, "curl: (7) Failed to connect"); i >= 0 {
				end := strings.IndexByte(got[i:], '\n')
				got = got[:i] + "curl: (7) Failed to connect" + got[i+end:]
			}
			want := strings.ReplaceAll(c.wantOut, "{URL}", c.test.URL)
			if diff := cmp.Diff(want, got); diff != "" || exit != c.wantExit {
				t.Errorf("exit %d, want %d; output (-want +got):\n%s", exit, c.wantExit, diff)
			}
		})
	}
}
