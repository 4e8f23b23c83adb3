#!/usr/bin/env bash
# bench/render.sh compares `wookie render` of a stack of five chart bundles
# with the sum of the `helm template` calls that render the same charts with
# the same values, measures what `wookie render --check` adds, and prints the
# figures against wookie's targets. See bench/README.md.
#
# Usage: bench/render.sh
#
#	RUNS=n      runs per measure (default 20)
#	TIMER=loop  time with a bash loop even when hyperfine is there
#	CHARTS=dir  the Helm repository of the published charts
#	            (default: ../shared/realcharts beside the repository)
#
# The charts are the real ones, Istio's and Percona's as their projects
# publish them, from the Helm repository in CHARTS, used in place and served
# on 127.0.0.1 for the run. Everything else happens in a temporary
# directory, removed on exit; the Helm CLI and wookie are built into
# ${XDG_CACHE_HOME:-$HOME/.cache}/wookie-bench. Network: the Go module proxy
# (to build helm once), apt (to install hyperfine, time, jq or python3 when
# missing) and 127.0.0.1.
set -euo pipefail

HELM_VERSION=v4.3.1
RUNS=${RUNS:-20}

# shellcheck source=bench/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
helm=$cache/helm-$HELM_VERSION/helm
need /usr/bin/time time || { say "render.sh: /usr/bin/time is needed (apt-get install time)"; exit 1; }
need jq jq || { say "render.sh: jq is needed (apt-get install jq)"; exit 1; }
need python3 python3 || { say "render.sh: python3 is needed to serve the charts (apt-get install python3)"; exit 1; }
charts=${CHARTS:-$repo/../shared/realcharts}
if [ ! -f "$charts/index.yaml" ]; then
	say "render.sh: no Helm repository at $charts: the published charts (index.yaml and .tgz archives)"
	say "  are expected in ../shared/realcharts beside the repository, or give CHARTS=dir"
	exit 1
fi
charts=$(cd "$charts" && pwd)

# Both binaries are built the way Helm's Makefile builds its releases:
# static, stripped, -trimpath.
mkdir -p "$cache"
if [ ! -x "$helm" ]; then
	say "· building helm $HELM_VERSION from the module proxy into $(dirname "$helm")"
	if ! (cd "$cache" && GOBIN=$(dirname "$helm") CGO_ENABLED=0 go install -trimpath \
		-ldflags="-s -w -X helm.sh/helm/v4/internal/version.version=$HELM_VERSION" \
		"helm.sh/helm/v4/cmd/helm@$HELM_VERSION"); then
		say "render.sh: could not build helm $HELM_VERSION (it comes from the Go module proxy); build it once with"
		say "  GOBIN=$(dirname "$helm") CGO_ENABLED=0 go install -trimpath -ldflags='-s -w -X helm.sh/helm/v4/internal/version.version=$HELM_VERSION' helm.sh/helm/v4/cmd/helm@$HELM_VERSION"
		exit 1
	fi
fi
say "· building wookie from $repo"
(cd "$repo" && CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o "$wookie" ./cmd/wookie)

work=$(mktemp -d "${TMPDIR:-/tmp}/wookie-bench.XXXXXX")
http_pid=
cleanup() {
	if [ -n "$http_pid" ]; then kill "$http_pid" 2>/dev/null || true; fi
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
cd "$work"

# The chart repository on 127.0.0.1, on a port the kernel picks: the
# server prints it once it listens.
serve_charts "$charts" render.sh
say "· serving $charts at $url"

# A configuration rendering five chart bundles: the default stack
# (istio-base, istiod, istio-ingressgateway), a second gateway and the
# pxc-operator, whose crds/ CRD wookie moves to a bundle
# pxc-operator-crds; the chart catalog points at the repository above.
cat >wookie.cue <<EOF
targets: "local-k3d": enable: true
projects: wookie: enable: true
charts: istio: [_]: repo: "$url"
charts: percona: [_]: repo: "$url"
clusters: "wookie-local": batches: {
	namespaces: bundles: "ns-pxc": {
		namespace: "pxc"
		manifests: bench: [{apiVersion: "v1", kind: "Namespace", metadata: name: "pxc"}]
	}
	operators: bundles: "pxc-operator": {
		namespace: "pxc"
		chart: charts.percona."pxc-operator" & {values: watchNamespace: "pxc"}
	}
	services: bundles: "istio-eastwestgateway": {
		namespace: "istio-system"
		dependsOn: bench: ["istiod"]
		chart: charts.istio.gateway & {values: {autoscaling: enabled: false, service: type: "ClusterIP"}}
	}
}
EOF
export WOOKIE_CACHE_DIR=$work/cache
export WOOKIE_CREDENTIALS=$work/credentials.yaml
printf 'apiVersion: wookie.dev/v1alpha1\nkind: Credentials\nrepositories: []\n' >"$WOOKIE_CREDENTIALS"
export HELM_CACHE_HOME=$work/helm/cache HELM_CONFIG_HOME=$work/helm/config HELM_DATA_HOME=$work/helm/data

"$wookie" lock -q
"$wookie" plan -q -o json >plan.json
# What is measured: the chart versions the Plan renders.
versions=$(jq -r '[.clusters[].batches[].bundles[] | select(.chart) | "\(.chart.name) \(.chart.version)"] | unique | join(", ")' plan.json)

# One helm template call per chart bundle, with the values and Kubernetes
# version the Plan gives it, the CRDs (--include-crds) and no test hooks,
# as wookie renders it, from the same archive (read in place, as wookie
# reads its cache). The API versions are those the bundles' CRDs add for
# wookie (istiod sees istio-base's, the operator its own); Istio 1.30.3's
# and pxc-operator 1.20.0's templates ask for none, older Istio releases
# gate an EnvoyFilter on networking.istio.io/v1alpha3.
apis='-a networking.istio.io/v1alpha3 -a networking.istio.io/v1 -a pxc.percona.com/v1'
mkdir -p values helm-out
{
	echo 'set -e'
	jq -r '.clusters[] | .kubeVersion as $k | .batches[].bundles[] | select(.chart)
		| [.name, .namespace, .chart.name, .chart.version, $k] | @tsv' plan.json |
		while IFS=$'\t' read -r name ns chart version kube; do
			archive=$charts/$chart-$version.tgz
			[ -f "$archive" ] || { say "render.sh: $archive is not there"; exit 1; }
			jq --arg n "$name" '.clusters[].batches[].bundles[] | select(.name == $n) | .chart.values // {}' plan.json >"values/$name.yaml"
			printf '%q template %q %q -n %q -f %q --kube-version %q --include-crds --skip-tests %s >%q\n' \
				"$helm" "$name" "$archive" "$ns" "values/$name.yaml" "$kube" "$apis" "helm-out/$name.yaml"
		done
} >helm-sum.sh
calls=$(grep -c ' template ' helm-sum.sh)
[ "$calls" -eq 5 ] || { say "render.sh: $calls chart bundles in the Plan, want 5"; exit 1; }

# Same output, roughly: object counts of the chart bundles on both sides.
bash helm-sum.sh
"$wookie" render -q
helm_objects=$(cat helm-out/*.yaml | grep -c '^kind:')
wookie_objects=$(find result -name '*.yaml' ! -name plan.yaml ! -path '*/namespaces/*' -exec cat {} + | grep -c '^kind:')
if [ "$helm_objects" -ne "$wookie_objects" ]; then
	say "render.sh: helm template gave $helm_objects objects, wookie $wookie_objects"
	exit 1
fi

# measure NAME PREPARE CMD...: mean and standard deviation in ms of CMD,
# PREPARE (a command without shell syntax, or "") run before each run.
declare -A mean sd
measure() {
	local name=$1 prepare=$2
	shift 2
	local cmd
	cmd=$(printf '%q ' "$@")
	if $hyperfine; then
		local args=(-N --warmup 3 --runs "$RUNS" --style none --export-json "time-$name.json")
		[ -n "$prepare" ] && args+=(--prepare "$prepare")
		hyperfine "${args[@]}" "$cmd" >/dev/null
		mean[$name]=$(jq '.results[0].mean * 1000' "time-$name.json")
		sd[$name]=$(jq '.results[0].stddev * 1000' "time-$name.json")
	else
		local i t0 t1 times=()
		for ((i = 0; i < RUNS + 3; i++)); do
			[ -n "$prepare" ] && $prepare
			t0=$(date +%s%N)
			"$@" >/dev/null
			t1=$(date +%s%N)
			((i >= 3)) && times+=($(((t1 - t0) / 1000)))
		done
		read -r "mean[$name]" "sd[$name]" < <(printf '%s\n' "${times[@]}" |
			awk '{s += $1; q += $1 * $1} END {m = s / NR; v = q / NR - m * m; print m / 1000, sqrt(v > 0 ? v : 0) / 1000}')
	fi
}

say "· measuring, $RUNS runs each"
load_start=$(cut -d' ' -f1 /proc/loadavg)
measure cold "rm -rf out" "$wookie" render -q --no-cache -o out
"$wookie" render -q -o out # fills the render cache
measure warm "rm -rf out" "$wookie" render -q -o out
measure check_warm "rm -rf out" "$wookie" render -q --check -o out
measure check_cold "rm -rf out" "$wookie" render -q --check --no-cache -o out
measure helm "" bash helm-sum.sh
"$wookie" render -q
measure noop "" "$wookie" render -q
measure plan "" "$wookie" plan -q -o json
measure version "" "$wookie" version
measure helm_version "" "$helm" version
rm -rf out
rss_cold=$(peak_rss "$wookie" render -q --no-cache -o out)
rm -rf out
rss_warm=$(peak_rss "$wookie" render -q -o out)
rss_helm=0
while read -r line; do
	r=$(peak_rss bash -c "$line")
	rss_helm=$(awk -v a="$rss_helm" -v b="$r" 'BEGIN {print (b > a ? b : a)}')
done < <(grep ' template ' helm-sum.sh)

load_end=$(cut -d' ' -f1 /proc/loadavg)
timer="bash loop"
if $hyperfine; then timer=$(hyperfine --version); fi
awk -v cold="${mean[cold]}" -v cold_sd="${sd[cold]}" -v warm="${mean[warm]}" -v warm_sd="${sd[warm]}" \
	-v helm="${mean[helm]}" -v helm_sd="${sd[helm]}" -v noop="${mean[noop]}" -v noop_sd="${sd[noop]}" \
	-v plan="${mean[plan]}" -v plan_sd="${sd[plan]}" \
	-v version="${mean[version]}" -v version_sd="${sd[version]}" -v helm_version="${mean[helm_version]}" -v helm_version_sd="${sd[helm_version]}" \
	-v check_cold="${mean[check_cold]}" -v check_cold_sd="${sd[check_cold]}" -v check_warm="${mean[check_warm]}" -v check_warm_sd="${sd[check_warm]}" \
	-v rss_cold="$rss_cold" -v rss_warm="$rss_warm" -v rss_helm="$rss_helm" \
	-v objects="$wookie_objects" -v runs="$RUNS" -v timer="$timer" -v cpus="$(nproc)" \
	-v versions="$versions" -v load="$load_start / $load_end" '
function verdict(ok) { return ok ? "met" : "MISSED" }
BEGIN {
	printf "wookie render vs helm template: 5 chart bundles, %d objects; %s, %d runs; %d CPUs, load %s (start / end)\n", objects, timer, runs, cpus, load
	printf "charts: %s\n\n", versions
	printf "%-50s %9s %7s\n", "measure", "mean ms", "± ms"
	printf "%-50s %9.1f %7.1f\n", "(a) wookie render, cold (--no-cache)", cold, cold_sd
	printf "%-50s %9.1f %7.1f\n", "(b) wookie render, warm (render cache filled)", warm, warm_sd
	printf "%-50s %9.1f %7.1f\n", "(c) helm template x 5, sequential (sum)", helm, helm_sd
	printf "%-50s %9.1f %7.1f\n", "(e) wookie render, no-op re-render", noop, noop_sd
	printf "%-50s %9.1f %7.1f\n", "(f) wookie render --check, cold", check_cold, check_cold_sd
	printf "%-50s %9.1f %7.1f\n", "(g) wookie render --check, warm", check_warm, check_warm_sd
	printf "%-50s %9.1f %7.1f\n", "(h) wookie plan -o json", plan, plan_sd
	printf "%-50s %9.1f %7.1f\n", "(i) process start: wookie version", version, version_sd
	printf "%-50s %9.1f %7.1f\n", "    for reference: helm version", helm_version, helm_version_sd
	printf "\n%-50s %9s\n", "(d) peak RSS", "MB"
	printf "%-50s %9.1f\n", "wookie render, cold", rss_cold
	printf "%-50s %9.1f\n", "wookie render, warm", rss_warm
	printf "%-50s %9.1f\n", "helm template, largest of the 5 calls", rss_helm
	rss = rss_cold > rss_warm ? rss_cold : rss_warm
	printf "\n%-50s %9s %9s\n", "figure", "value", "target"
	printf "%-50s %9.2f %9s  %s\n", "warm / helm sum (b/c)", warm / helm, "<= 0.15", verdict(warm / helm <= 0.15)
	printf "%-50s %9.2f %9s  %s\n", "cold / helm sum (a/c)", cold / helm, "<= 0.40", verdict(cold / helm <= 0.4)
	printf "%-50s %9.1f %9s  %s\n", "no-op re-render, ms (e)", noop, "<= 100", verdict(noop <= 100)
	printf "%-50s %9.1f %9s  %s\n", "process start, ms (i)", version, "<= 30", verdict(version <= 30)
	printf "%-50s %9.1f %9s  %s\n", "wookie plan of the stack, ms (h)", plan, "<= 60", verdict(plan <= 60)
	printf "%-50s %9.1f %9s  %s\n", "peak RSS, cold render, MB (d)", rss_cold, "<= 80", verdict(rss_cold <= 80)
	printf "%-50s %9.2f %9s  %s\n", "render --check / render, cold (f/a)", check_cold / cold, "<= 1.20", verdict(check_cold / cold <= 1.2)
	printf "%-50s %9.2f %9s  %s\n", "render --check / render, warm (g/b)", check_warm / warm, "<= 1.20", verdict(check_warm / warm <= 1.2)
	printf "%-50s %9.1f %9s  %s\n", "peak RSS, any render, MB (d)", rss, "<= 150", verdict(rss <= 150)
}'
