package verify

import (
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"wookie.dev/wookie/internal/plan"
)

// probeScript is what an HTTP test's container runs, with sh and the
// commands of busybox: curl URL (sending the token in TOKEN_FILE as a
// bearer token when it is set), compare the status with WANT and check
// that each line of BODY_MATCHES, an extended regular expression, matches
// a line of the body. What it prints is what the Job's logs say.
const probeScript = `body=$(mktemp) || exit 1
trap 'rm -f "$body"' EXIT
set -- -sS -o "$body" -w '%{http_code}' --max-time 10
[ -z "$TOKEN_FILE" ] || set -- "$@" -H "Authorization: Bearer $(cat "$TOKEN_FILE")"
code=$(curl "$@" "$URL") || { echo "GET $URL: request failed"; exit 1; }
if [ "$code" != "$WANT" ]; then
	echo "GET $URL: HTTP $code, want $WANT"
	head -c 1024 "$body"; echo
	exit 1
fi
fail=0
while IFS= read -r re; do
	[ -n "$re" ] || continue
	grep -Eq -e "$re" "$body" || { echo "GET $URL: HTTP $code, no line of the body matches $re"; fail=1; }
done <<PATTERNS
$BODY_MATCHES
PATTERNS
if [ "$fail" != 0 ]; then
	echo "body:"; head -c 2048 "$body"; echo
	exit 1
fi
echo "GET $URL: HTTP $code"`

// probeTokenDir is where the Job of an HTTP test with a TokenAudience
// mounts its service account token, as the file token.
const probeTokenDir = "/var/run/secrets/wookie.dev/probe"

// probeEnv is the environment probeScript reads for t, in the order the
// Job lists it.
func probeEnv(t *plan.HTTPTest) [][2]string {
	want := t.Status
	if want == 0 {
		want = 200
	}
	env := [][2]string{{"URL", t.URL}, {"WANT", strconv.Itoa(want)}}
	if len(t.BodyMatches) > 0 {
		env = append(env, [2]string{"BODY_MATCHES", strings.Join(t.BodyMatches, "\n")})
	}
	if t.TokenAudience != "" {
		env = append(env, [2]string{"TOKEN_FILE", probeTokenDir + "/token"})
	}
	return env
}

// probeJob is the Job of HTTP test t: one Pod, no retry, no sidecar,
// stopped after deadline seconds and deleted by Kubernetes an hour after
// it finishes.
func probeJob(name, namespace string, labels map[string]any, deadline int64, t *plan.HTTPTest) *unstructured.Unstructured {
	image := t.Image
	if image == "" {
		image = plan.DefaultProbeImage
	}
	var env []any
	for _, kv := range probeEnv(t) {
		env = append(env, map[string]any{"name": kv[0], "value": kv[1]})
	}
	container := map[string]any{
		"name":    "probe",
		"image":   image,
		"command": []any{"sh", "-c", probeScript},
		"env":     env,
	}
	pod := map[string]any{
		"restartPolicy": "Never",
		"containers":    []any{container},
	}
	if t.TokenAudience != "" {
		container["volumeMounts"] = []any{map[string]any{"name": "probe-token", "mountPath": probeTokenDir, "readOnly": true}}
		pod["volumes"] = []any{map[string]any{
			"name": "probe-token",
			"projected": map[string]any{"sources": []any{map[string]any{
				"serviceAccountToken": map[string]any{"audience": t.TokenAudience, "expirationSeconds": int64(600), "path": "token"},
			}}},
		}}
	}
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "batch/v1",
		"kind":       "Job",
		"metadata": map[string]any{
			"name":      name,
			"namespace": namespace,
			"labels":    labels,
		},
		"spec": map[string]any{
			"backoffLimit":            int64(0),
			"ttlSecondsAfterFinished": int64(3600),
			"activeDeadlineSeconds":   deadline,
			"template": map[string]any{
				"metadata": map[string]any{
					"labels": labels,
					// A sidecar would keep the Job's pod from completing.
					"annotations": map[string]any{"sidecar.istio.io/inject": "false"},
				},
				"spec": pod,
			},
		},
	}}
}
