#!/usr/bin/env bash
# bench/deploy.sh compares `wookie deploy` of 500 objects in four batches
# with `kubectl apply --server-side` of the same objects, batch by batch,
# each followed by the `kubectl wait` that makes it wait for what wookie
# waits for, on test control planes of internal/testenv, and prints the
# figures against wookie's targets. STACK=configmaps deploys 2,000
# ConfigMaps in four batches instead, against four kubectl applies, and
# compares a no-change deploy with one `kubectl get -o json` of them.
# STACK=istio deploys the published Istio charts of ../shared/realcharts
# (istio-base, the namespaces, istiod: the default stack up to its
# operators batch; the gateway cannot become ready without a real istiod)
# with `wookie deploy --until operators` against kubectl applying wookie's
# rendering of the same batches and waiting as wookie does. See
# bench/README.md.
#
# Usage: bench/deploy.sh
#
#	RUNS=n        first deploys per tool, each on a fresh control plane (default 3)
#	NOOP_RUNS=n   no-change re-deploys per tool (default 5)
#	LAYOUT=batch  one wookie bundle per batch instead of per namespace
#	STACK=configmaps  2,000 ConfigMaps (one bundle per batch) instead
#	STACK=istio   the published Istio charts (CHARTS=dir, default
#	              ../shared/realcharts), served on 127.0.0.1
#	KUBECTL=path  kubectl to compare with (default: kubectl on PATH)
#	TIMER=loop    time with a bash loop even when hyperfine is there
#
# Everything happens in a temporary directory, removed on exit, with one
# control plane at a time on 127.0.0.1, stopped on exit; wookie and the
# test control plane command are built into
# ${XDG_CACHE_HOME:-$HOME/.cache}/wookie-bench. The control plane's
# binaries come from hack/testenv/build.sh. Network: apt (to install
# hyperfine or jq when missing) and 127.0.0.1.
set -euo pipefail

RUNS=${RUNS:-3}
NOOP_RUNS=${NOOP_RUNS:-5}
LAYOUT=${LAYOUT:-namespace}
STACK=${STACK:-deploy}
case $STACK in
deploy) ;;
configmaps) LAYOUT=batch ;;
istio) LAYOUT=charts ;;
*) echo "deploy.sh: STACK=$STACK: want deploy, configmaps or istio" >&2; exit 2 ;;
esac

# shellcheck source=bench/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
testenv=$cache/testenv
need jq jq || { say "deploy.sh: jq is needed (apt-get install jq)"; exit 1; }
kubectl=${KUBECTL:-$(command -v kubectl || true)}
[ -x "$kubectl" ] || { say "deploy.sh: kubectl is needed (or KUBECTL=path)"; exit 1; }

mkdir -p "$cache"
say "· building wookie and the test control plane command from $repo"
(cd "$repo" && CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o "$wookie" ./cmd/wookie)
(cd "$repo" && go build -o "$testenv" ./internal/testenv/cmd/testenv)

work=$(mktemp -d "${TMPDIR:-/tmp}/wookie-bench-deploy.XXXXXX")
http_pid=
cleanup() {
	if [ -f "$work/cluster.sh" ]; then bash "$work/cluster.sh" stop || true; fi
	if [ -n "$http_pid" ]; then kill "$http_pid" 2>/dev/null || true; fi
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
trap 'say "deploy.sh: line $LINENO: exit status $?"; [ ! -f "$work/log/failed" ] || cat "$work/log/failed" >&2' ERR
cd "$work"

# cluster.sh fresh|stop: stop the running control plane, if any (by its
# PID, waiting until it has stopped its processes and removed its
# directory); fresh then starts a new one with controllers, scheduler and
# kwok, waits for its `export KUBECONFIG=` line (the command prints it once
# the default ServiceAccount exists and the kwok Node is Ready), copies the
# kubeconfig to $work/kubeconfig, and lets the cluster settle for a second.
# It is the hyperfine --prepare of the first deploys, so every first deploy
# of either tool gets a new, empty cluster and never shares the two CPUs
# with another test cluster; it also empties wookie's cache, so that a
# first deploy renders from scratch.
cat >cluster.sh <<EOF
set -euo pipefail
work=$work
testenv=$testenv
stack=$STACK
EOF
cat >>cluster.sh <<'EOF'
stop() {
	[ -f "$work/testenv.pid" ] || return 0
	local pid i
	pid=$(cat "$work/testenv.pid")
	rm -f "$work/testenv.pid"
	kill -TERM "$pid" 2>/dev/null || return 0
	for ((i = 0; i < 300; i++)); do
		# Gone, or a zombie nobody reaps.
		if ! kill -0 "$pid" 2>/dev/null || [ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" = Z ]; then
			return 0
		fi
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null || true
}
case $1 in
stop) stop ;;
fresh)
	stop
	rm -rf "$work/testenv.out" "$work/kubeconfig"
	# The Istio stack keeps wookie's chart and render caches: kubectl is
	# handed wookie's rendering, so both start from rendered objects.
	[ "$stack" = istio ] || rm -rf "$work/wookie-cache"
	setsid "$testenv" >"$work/testenv.out" 2>"$work/testenv.err" </dev/null &
	echo $! >"$work/testenv.pid"
	for ((i = 0; i < 1200; i++)); do
		if grep -q '^export KUBECONFIG=' "$work/testenv.out" 2>/dev/null; then
			cp "$(sed -n 's/^export KUBECONFIG=//p' "$work/testenv.out")" "$work/kubeconfig"
			sleep 1
			exit 0
		fi
		if ! kill -0 "$(cat "$work/testenv.pid")" 2>/dev/null; then break; fi
		sleep 0.1
	done
	echo "cluster.sh: the test control plane did not start:" >&2
	cat "$work/testenv.err" >&2
	exit 1
	;;
esac
EOF

export KUBECONFIG=$work/kubeconfig
export KUBECACHEDIR=$work/kube-cache
export WOOKIE_CACHE_DIR=$work/wookie-cache
export WOOKIE_CREDENTIALS=$work/credentials.yaml
printf 'apiVersion: wookie.dev/v1alpha1\nkind: Credentials\nrepositories: []\n' >"$WOOKIE_CREDENTIALS"
mkdir -p log
deploy_args=
if [ "$STACK" = istio ]; then
	# The published charts on 127.0.0.1, on a port the kernel picks, and
	# the default stack on the test control plane up to its operators
	# batch; kubectl gets wookie's rendering of those batches (secrets
	# included, as deploy applies them), a file per batch, and applies the
	# namespaces first (istio-base's objects live in istio-system, which
	# wookie creates as the missing release namespace).
	need python3 python3 || { say "deploy.sh: python3 is needed to serve the charts"; exit 1; }
	charts=${CHARTS:-$repo/../shared/realcharts}
	[ -f "$charts/index.yaml" ] || { say "deploy.sh: no Helm repository at $charts (give CHARTS=dir)"; exit 1; }
	serve_charts "$charts" deploy.sh
	mkdir -p stack
	printf 'package wookie\n\ntargets: kubeconfig: {enable: true, clusterName: "bench", context: "testenv", kubeVersion: "1.37.2"}\nprojects: wookie: enable: true\ncharts: istio: [_]: repo: "%s"\n' "$url" >stack/wookie.cue
	(cd stack && "$wookie" lock -q && "$wookie" render -q --batch crds --batch namespaces --batch operators --include-secrets -o rendered)
	for b in crds namespaces operators; do cat stack/rendered/bench/$b/*.yaml >stack/$b.yaml; done
	bundles=$(ls stack/rendered/bench/*/*.yaml | wc -l)
	rm -rf stack/rendered
	deploy_args="--until operators"
else
	# The stack, twice: wookie.cue and crds.yaml, namespaces.yaml,
	# config.yaml, workloads.yaml.
	(cd "$repo" && go run ./bench/cmd/deploystack -context testenv -kube-version 1.37.2 -layout "$LAYOUT" -stack "$STACK" "$work/stack")
	bundles=$(grep -c '^clusters: bench: batches: ' stack/wookie.cue)
fi
objects=$(cat stack/*.yaml | grep -c '^kind:')

# The measured commands, with a label (fresh, noop, requests) for their
# logs. Each writes what it saw under log/: wookie its JSON events and its
# start and end, kubectl the time before and after each command. hyperfine
# drops their stderr, so a failure leaves it in log/failed for the ERR trap.
cat >wookie-run.sh <<EOF
set -euo pipefail
exec 2>$work/log/stderr
trap '{ echo "wookie-run.sh \$1: line \$LINENO failed:"; cat $work/log/stderr; } >$work/log/failed' ERR
cd $work/stack
t0=\$(date +%s%N)
$wookie deploy $deploy_args -o json >$work/log/wookie-\$1.\$t0.json
echo "\$t0 \$(date +%s%N)" >>$work/log/wookie-\$1.times
EOF
# kubectl's steps per stack, each a kubectl command line; kubectl-run.sh
# runs them in order and logs the time after each.
case $STACK in
configmaps) ksteps=("apply --server-side -f crds.yaml" "apply --server-side -f namespaces.yaml"
	"apply --server-side -f operators.yaml" "apply --server-side -f services.yaml") ;;
istio) ksteps=("apply --server-side -f namespaces.yaml" "apply --server-side -f crds.yaml"
	"wait --for condition=established crd --all --timeout=5m" "apply --server-side -f operators.yaml"
	"wait --for=condition=Available deployment --all -n istio-system --timeout=5m") ;;
*) ksteps=("apply --server-side -f crds.yaml" "wait --for condition=established crd --all --timeout=5m"
	"apply --server-side -f namespaces.yaml" "apply --server-side -f config.yaml"
	"apply --server-side -f workloads.yaml" "wait --for=condition=Available deployment --all -A --timeout=5m") ;;
esac
{
	cat <<EOF
set -euo pipefail
exec 2>$work/log/stderr
trap '{ echo "kubectl-run.sh \$1: line \$LINENO failed:"; cat $work/log/stderr; } >$work/log/failed' ERR
cd $work/stack
t=(\$(date +%s%N))
EOF
	for step in "${ksteps[@]}"; do
		printf '%s %s >/dev/null\nt+=($(date +%%s%%N))\n' "$kubectl" "$step"
	done
	printf 'echo "${t[*]}" >>%s/log/kubectl-$1.times\n' "$work"
} >kubectl-run.sh
if [ "$STACK" = configmaps ]; then
# What a no-change deploy is compared with: reading the objects once.
cat >kubectl-get.sh <<EOF
set -euo pipefail
$kubectl get configmaps -A -l bench.wookie.dev/stack=deploy -o json >/dev/null
EOF
fi

# check TOOL: the cluster holds the stack's objects and every Deployment is
# Available; the measures of TOOL count only then.
check() {
	local got avail
	if [ "$STACK" = istio ]; then
		got=$("$kubectl" get deployments -n istio-system -o json | jq '[.items[] | select(any(.status.conditions[]?; .type == "Available" and .status == "True"))] | length')
		if [ "$got" -ne "$(grep -c '^kind: Deployment$' stack/operators.yaml)" ]; then
			say "deploy.sh: after $1: $got Deployments Available in istio-system"
			exit 1
		fi
		return 0
	fi
	if [ "$STACK" = configmaps ]; then
		got=$("$kubectl" get namespaces,configmaps -A -l bench.wookie.dev/stack=deploy -o name | wc -l)
		if [ "$got" -ne "$objects" ]; then
			say "deploy.sh: after $1: $got of $objects objects in the cluster"
			exit 1
		fi
		return 0
	fi
	got=$("$kubectl" get crd,namespaces,serviceaccounts,roles,rolebindings,configmaps,secrets,deployments -A \
		-l bench.wookie.dev/stack=deploy -o name | wc -l)
	avail=$("$kubectl" get deployments -A -l bench.wookie.dev/stack=deploy -o json |
		jq '[.items[] | select(any(.status.conditions[]?; .type == "Available" and .status == "True"))] | length')
	if [ "$got" -ne "$objects" ] || [ "$avail" -ne 100 ]; then
		say "deploy.sh: after $1: $got of $objects objects in the cluster, $avail of 100 Deployments Available"
		exit 1
	fi
}

# requests TOOL-RUN-SCRIPT: API requests of one more no-change run, from
# kube-apiserver's apiserver_request_total (every client; the cluster's
# own background, measured for 5 s before, is subtracted), as
# "total dry-run-applies applies-and-patches gets lists-and-watches".
requests() {
	snap() {
		"$kubectl" get --raw /metrics | awk '/^apiserver_request_total\{/ {
			n = $NF; v = "other"
			if ($0 ~ /verb="(APPLY|PATCH)"/) v = ($0 ~ /dry_run="All"/) ? "dryapply" : "apply"
			else if ($0 ~ /verb="GET"/) v = "get"
			else if ($0 ~ /verb="(LIST|WATCH)"/) v = "list"
			c[v] += n; c["total"] += n
		} END {print c["total"] + 0, c["dryapply"] + 0, c["apply"] + 0, c["get"] + 0, c["list"] + 0}'
	}
	local a b c t0 t1 t2
	a=$(snap)
	t0=$(date +%s%N)
	sleep 5
	b=$(snap)
	t1=$(date +%s%N)
	bash "$1" requests
	t2=$(date +%s%N)
	c=$(snap)
	# The snapshots themselves count one GET each.
	awk -v a="$a" -v b="$b" -v c="$c" -v idle=$(((t1 - t0) / 1000000)) -v run=$(((t2 - t1) / 1000000)) 'BEGIN {
		split(a, x); split(b, y); split(c, z)
		for (i = 1; i <= 5; i++) {
			bg = (y[i] - x[i]) * run / idle
			n = z[i] - y[i] - bg - (i == 1 || i == 4 ? 1 : 0)
			printf "%d ", (n > 0 ? n + 0.5 : 0)
		}
		print ""
	}'
}

# measure NAME PREPARE RUNS WARMUP CMD...: mean and standard deviation in s
# of CMD, PREPARE (a command without shell syntax, or "") run before each
# run, warm-up runs included.
declare -A mean sd
measure() {
	local name=$1 prepare=$2 runs=$3 warmup=$4
	shift 4
	local cmd
	cmd=$(printf '%q ' "$@")
	if $hyperfine; then
		local args=(-N --warmup "$warmup" --runs "$runs" --style none --export-json "log/$name.json")
		[ -n "$prepare" ] && args+=(--prepare "$prepare")
		hyperfine "${args[@]}" "$cmd" >/dev/null
		mean[$name]=$(jq '.results[0].mean' "log/$name.json")
		sd[$name]=$(jq '.results[0].stddev // 0' "log/$name.json")
	else
		local i t0 t1 times=()
		for ((i = 0; i < runs + warmup; i++)); do
			[ -n "$prepare" ] && $prepare
			t0=$(date +%s%N)
			"$@" >/dev/null
			t1=$(date +%s%N)
			((i >= warmup)) && times+=($(((t1 - t0) / 1000)))
		done
		read -r "mean[$name]" "sd[$name]" < <(printf '%s\n' "${times[@]}" |
			awk '{s += $1; q += $1 * $1} END {m = s / NR; v = q / NR - m * m; print m / 1e6, sqrt(v > 0 ? v : 0) / 1e6}')
	fi
}

load_start=$(cut -d' ' -f1 /proc/loadavg)
say "· $objects objects, $bundles wookie bundles (layout $LAYOUT); wookie first deploys, $RUNS runs, each on a fresh control plane"
measure wookie_first "bash $work/cluster.sh fresh" "$RUNS" 0 bash "$work/wookie-run.sh" fresh
check "wookie deploy"
say "· wookie no-change re-deploys, $NOOP_RUNS runs"
measure wookie_noop "" "$NOOP_RUNS" 1 bash "$work/wookie-run.sh" noop
check "wookie deploy (no change)"
read -r wreq_total wreq_dry wreq_apply wreq_get wreq_list < <(requests "$work/wookie-run.sh")

say "· kubectl first deploys, $RUNS runs, each on a fresh control plane"
measure kubectl_first "bash $work/cluster.sh fresh" "$RUNS" 0 bash "$work/kubectl-run.sh" fresh
check "kubectl apply"
say "· kubectl no-change re-applies, $NOOP_RUNS runs"
measure kubectl_noop "" "$NOOP_RUNS" 1 bash "$work/kubectl-run.sh" noop
check "kubectl apply (no change)"
if [ "$STACK" = configmaps ]; then
	say "· kubectl get -o json of the ConfigMaps, $NOOP_RUNS runs"
	measure kubectl_get "" "$NOOP_RUNS" 1 bash "$work/kubectl-get.sh"
fi
read -r kreq_total kreq_dry kreq_apply kreq_get kreq_list < <(requests "$work/kubectl-run.sh")
say "· peak RSS: kubectl's no-change apply here, then wookie's first and no-change deploys on a fresh control plane"
rss_kubectl=$(peak_rss bash kubectl-run.sh noop)
rss_kubectl_get=0
[ "$STACK" = configmaps ] && rss_kubectl_get=$(peak_rss bash kubectl-get.sh)
bash cluster.sh fresh
rss_wookie_first=$(peak_rss bash wookie-run.sh fresh)
rss_wookie_noop=$(peak_rss bash wookie-run.sh noop)
check "wookie deploy (peak RSS run)"
bash cluster.sh stop
load_end=$(cut -d' ' -f1 /proc/loadavg)

# Where the time goes, mean over the runs: wookie from its events (start-up
# is evaluation, rendering, connecting and reading the inventory, up to the
# first bundle; a batch runs from its first bundle's start to its last
# bundle's end; the end is saving the inventory and exiting), kubectl from
# the step times.
wookie_steps() {
	local kind=$1
	while read -r t0 t1; do
		jq -rs --argjson t0 "$t0" --argjson t1 "$t1" '
			def ts: (.[0:19] + "Z" | fromdateiso8601) + (.[19:] | rtrimstr("Z") | if . == "" then 0 else ("0" + . | tonumber) end);
			($t0 / 1e9) as $s | ($t1 / 1e9) as $e |
			[.[] | select(.type == "start" or .type == "done") | {batch, type, t: (.time | ts)}] as $ev |
			([$ev[].t] | min) as $first | ([$ev[].t] | max) as $last |
			(["start-up", $first - $s] | @tsv),
			($ev | group_by(.batch) | sort_by([.[].t] | min)[] |
				["batch " + .[0].batch, ([.[].t] | max) - ([.[].t] | min)] | @tsv),
			(["inventory and exit", $e - $last] | @tsv)
		' "log/wookie-$kind.$t0.json"
	done <"log/wookie-$kind.times" | awk -F'\t' '!($1 in s) {order[++n] = $1} {s[$1] += $2; c[$1]++}
		END {for (i = 1; i <= n; i++) printf "%s\t%.2f\n", order[i], s[order[i]] / c[order[i]]}'
}
kubectl_steps() {
	local names
	names=$(printf '%s|' "${ksteps[@]}" | sed 's/ --server-side//g; s/ --timeout=5m//g; s/ --for[= ]condition=/ /g; s/ --all//g; s/ -n [a-z-]*//g; s/ -A//g; s/|$//')
	awk -v names="$names" '{for (i = 2; i <= NF; i++) s[i] += ($i - $(i - 1)) / 1e9; n++}
		END {k = split(names, name, "|"); for (i = 2; i <= k + 1; i++) printf "%s\t%.2f\n", name[i - 1], s[i] / n}' "log/kubectl-$1.times"
}

timer="bash loop"
if $hyperfine; then timer=$(hyperfine --version); fi
kver=$("$kubectl" version --client -o json | jq -r .clientVersion.gitVersion)
if [ "$STACK" = configmaps ]; then
awk -v wf="${mean[wookie_first]}" -v wf_sd="${sd[wookie_first]}" -v kf="${mean[kubectl_first]}" -v kf_sd="${sd[kubectl_first]}" \
	-v wn="${mean[wookie_noop]}" -v wn_sd="${sd[wookie_noop]}" -v kn="${mean[kubectl_noop]}" -v kn_sd="${sd[kubectl_noop]}" \
	-v kg="${mean[kubectl_get]}" -v kg_sd="${sd[kubectl_get]}" \
	-v runs="$RUNS" -v noop_runs="$NOOP_RUNS" -v objects="$objects" -v bundles="$bundles" \
	-v rss_wf="$rss_wookie_first" -v rss_wn="$rss_wookie_noop" -v rss_k="$rss_kubectl" -v rss_kg="$rss_kubectl_get" \
	-v timer="$timer" -v cpus="$(nproc)" -v kver="$kver" -v load="$load_start / $load_end" '
function verdict(ok) { return ok ? "met" : "MISSED" }
BEGIN {
	printf "wookie deploy vs kubectl apply --server-side: %d objects (2,000 ConfigMaps) in 4 batches,\n", objects
	printf "%d wookie bundles; kubectl %s; %s; %d CPUs, load %s (start / end)\n\n", bundles, kver, timer, cpus, load
	printf "%-50s %8s %7s %5s\n", "measure", "mean s", "± s", "runs"
	printf "%-50s %8.2f %7.2f %5d\n", "(a) wookie deploy, first (fresh cluster)", wf, wf_sd, runs
	printf "%-50s %8.2f %7.2f %5d\n", "(b) kubectl apply x 4 batches, first", kf, kf_sd, runs
	printf "%-50s %8.2f %7.2f %5d\n", "(c) wookie deploy, no change", wn, wn_sd, noop_runs
	printf "%-50s %8.2f %7.2f %5d\n", "(d) kubectl apply x 4 batches, no change", kn, kn_sd, noop_runs
	printf "%-50s %8.2f %7.2f %5d\n", "(e) kubectl get -o json of the ConfigMaps", kg, kg_sd, noop_runs
	printf "\n%-50s %8s %9s\n", "figure", "value", "target"
	printf "%-50s %8.2f %9s  %s\n", "first deploy: wookie / kubectl apply (a/b)", wf / kf, "<= 0.10", verdict(wf / kf <= 0.10)
	printf "%-50s %8.2f %9s  %s\n", "no change: wookie / kubectl get (c/e)", wn / kg, "<= 1.50", verdict(wn / kg <= 1.5)
	printf "%-50s %8.2f %9s\n", "no change: wookie / kubectl apply (c/d)", wn / kn, "-"
	printf "%-50s %8.1f %9s  %s\n", "peak RSS, wookie first deploy, MB", rss_wf, "<= 80", verdict(rss_wf <= 80)
	printf "%-50s %8.1f %9s\n", "peak RSS, wookie no-change deploy, MB", rss_wn, "-"
	printf "%-50s %8.1f %9s\n", "peak RSS, kubectl apply (no change), MB", rss_k, "-"
	printf "%-50s %8.1f %9s\n", "peak RSS, kubectl get -o json, MB", rss_kg, "-"
}'
else
awk -v wf="${mean[wookie_first]}" -v wf_sd="${sd[wookie_first]}" -v kf="${mean[kubectl_first]}" -v kf_sd="${sd[kubectl_first]}" \
	-v wn="${mean[wookie_noop]}" -v wn_sd="${sd[wookie_noop]}" -v kn="${mean[kubectl_noop]}" -v kn_sd="${sd[kubectl_noop]}" \
	-v runs="$RUNS" -v noop_runs="$NOOP_RUNS" -v objects="$objects" -v bundles="$bundles" -v layout="$LAYOUT" -v stack="$STACK" \
	-v rss_wf="$rss_wookie_first" -v rss_wn="$rss_wookie_noop" -v rss_k="$rss_kubectl" -v rss_kg="$rss_kubectl_get" \
	-v timer="$timer" -v cpus="$(nproc)" -v kver="$kver" -v load="$load_start / $load_end" '
function verdict(ok) { return ok ? "met" : "MISSED" }
BEGIN {
	if (stack == "istio") printf "wookie deploy --until operators vs kubectl apply --server-side + kubectl wait: the published Istio charts, %d objects in 3 batches,\n", objects
	else printf "wookie deploy vs kubectl apply --server-side + kubectl wait: %d objects in 4 batches,\n", objects
	printf "%d wookie bundles (layout %s); kubectl %s; %s; %d CPUs, load %s (start / end)\n\n", bundles, layout, kver, timer, cpus, load
	printf "%-50s %8s %7s %5s\n", "measure", "mean s", "± s", "runs"
	printf "%-50s %8.2f %7.2f %5d\n", "(a) wookie deploy, first (fresh cluster)", wf, wf_sd, runs
	printf "%-50s %8.2f %7.2f %5d\n", "(b) kubectl apply + wait, first", kf, kf_sd, runs
	printf "%-50s %8.2f %7.2f %5d\n", "(c) wookie deploy, no change", wn, wn_sd, noop_runs
	printf "%-50s %8.2f %7.2f %5d\n", "(d) kubectl apply + wait, no change", kn, kn_sd, noop_runs
	printf "\n%-50s %8s %9s\n", "figure", "value", "target"
	if (stack == "istio") printf "%-50s %8.2f %9s  %s\n", "first deploy: wookie / kubectl (a/b)", wf / kf, "<= 0.50", verdict(wf / kf <= 0.5)
	else printf "%-50s %8.2f %9s  %s\n", "first deploy: wookie / kubectl (a/b)", wf / kf, "<= 1.00", verdict(wf / kf <= 1)
	printf "%-50s %8.2f %9s  %s\n", "no-change re-deploy, wookie, s (c)", wn, "<= 2.00", verdict(wn <= 2)
	printf "%-50s %8.2f %9s\n", "no change: wookie / kubectl (c/d)", wn / kn, "-"
	printf "%-50s %8.1f %9s\n", "peak RSS, wookie first deploy, MB", rss_wf, "-"
	printf "%-50s %8.1f %9s\n", "peak RSS, wookie no-change deploy, MB", rss_wn, "-"
	printf "%-50s %8.1f %9s\n", "peak RSS, kubectl apply (no change), MB", rss_k, "-"
}'
fi
printf '\n%-50s %8s %8s\n' "where the time goes, mean s" "first" "no chg"
paste <(wookie_steps fresh) <(wookie_steps noop) | awk -F'\t' '{printf "%-50s %8.2f %8.2f\n", "wookie  " $1, $2, $4}'
paste <(kubectl_steps fresh) <(kubectl_steps noop) | awk -F'\t' '{printf "%-50s %8.2f %8.2f\n", "kubectl " $1, $2, $4}'
printf '\n%-50s %8s %8s %8s %8s %8s\n' "API requests of one no-change run" "total" "dry-run" "apply" "get" "list"
printf '%-50s %8s %8s %8s %8s %8s\n' "wookie deploy" "$wreq_total" "$wreq_dry" "$wreq_apply" "$wreq_get" "$wreq_list"
printf '%-50s %8s %8s %8s %8s %8s\n' "kubectl apply + wait" "$kreq_total" "$kreq_dry" "$kreq_apply" "$kreq_get" "$kreq_list"
