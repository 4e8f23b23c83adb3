#!/usr/bin/env bash
# build.sh builds the binaries of the test control plane that
# internal/testenv starts on 127.0.0.1: etcd, kube-apiserver,
# kube-controller-manager, kube-scheduler and kwok (with its stage files).
#
# Everything comes from the Go module proxy and is built with the local Go
# toolchain (no cgo, so only Go, bash and coreutils are needed). The results
# go into a cache directory outside the repository:
#
#   ${WOOKIE_TESTENV_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/wookie-testenv}/<versions>/
#     bin/etcd bin/kube-apiserver bin/kube-controller-manager
#     bin/kube-scheduler bin/kwok
#     kwok-stages/{node-fast,node-heartbeat-with-lease,pod-fast}/*.yaml
#
# Whatever is already there is skipped, so a second run takes seconds. A
# cold run takes about 12 minutes on 2 cores and needs about 3 GB of memory.
# The versions below must match internal/testenv/paths.go (a test checks).
set -euo pipefail

K8S_VERSION=v1.37.2     # k8s.io/kubernetes
STAGING_VERSION=v0.37.2 # k8s.io/api, k8s.io/apiserver, ... (the staging modules)
ETCD_VERSION=v3.6.16    # go.etcd.io/etcd/server/v3 and its siblings
KWOK_VERSION=v0.8.0     # sigs.k8s.io/kwok

versions="k8s-${K8S_VERSION}-etcd-${ETCD_VERSION}-kwok-${KWOK_VERSION}"
root=${WOOKIE_TESTENV_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/wookie-testenv}
dest=$root/$versions
bin=$dest/bin
stages=$dest/kwok-stages

# Static binaries: no C toolchain needed, same as upstream's release builds.
export CGO_ENABLED=0
export GOTOOLCHAIN=${GOTOOLCHAIN:-local}
# Scratch modules resolve their dependencies themselves; keep the caller's
# other flags (e.g. -buildvcs=false).
export GOFLAGS="${GOFLAGS:+$GOFLAGS }-mod=mod"

step=""
fail() {
	echo "✗ ${step:-build.sh}: $*" >&2
	step=""
	exit 1
}
command -v go >/dev/null || fail "go is not on PATH; install Go 1.26 or newer"

work=$(mktemp -d "${TMPDIR:-/tmp}/wookie-testenv-build.XXXXXX")
trap 'rc=$?; rm -rf "$work"; if [ $rc -ne 0 ] && [ -n "$step" ]; then echo "✗ $step failed (exit $rc); the output above says why" >&2; fi' EXIT
# Run every go command outside the caller's module, which stays untouched.
cd "$work"

mkdir -p "$bin" "$stages"
echo "testenv: $dest" >&2

t0=$(date +%s)
began=0
begin() {
	step=$1
	began=$(date +%s)
	echo "→ $step" >&2
}
done_step() {
	echo "✓ $step ($(($(date +%s) - began))s)" >&2
	step=""
}

# install_bin moves a freshly built binary into bin/ atomically, so a build
# cut short never leaves a file that a later run would take as present.
install_bin() {
	local src=$1 name=$2
	[ -x "$src" ] || fail "$src was not built"
	cp "$src" "$bin/.$name.tmp"
	chmod 0755 "$bin/.$name.tmp"
	mv -f "$bin/.$name.tmp" "$bin/$name"
}

# --- etcd -----------------------------------------------------------------
if [ -x "$bin/etcd" ]; then
	echo "✓ etcd $ETCD_VERSION (present)" >&2
else
	begin "etcd $ETCD_VERSION"
	m=$work/etcd
	mkdir -p "$m"
	# etcd's own go.mod replaces its sibling modules with ../ paths, so
	# `go install` refuses it; a scratch module pins them to one version.
	cat >"$m/go.mod" <<EOF
module wookie.dev/testenv/etcd

go 1.26

require (
	go.etcd.io/etcd/api/v3 $ETCD_VERSION
	go.etcd.io/etcd/client/pkg/v3 $ETCD_VERSION
	go.etcd.io/etcd/client/v3 $ETCD_VERSION
	go.etcd.io/etcd/pkg/v3 $ETCD_VERSION
	go.etcd.io/etcd/server/v3 $ETCD_VERSION
)

tool go.etcd.io/etcd/server/v3
EOF
	(cd "$m" && go mod tidy && go build -o "$m/etcd" go.etcd.io/etcd/server/v3)
	got=$(cd "$m" && go list -m -f '{{.Version}}' go.etcd.io/etcd/api/v3 go.etcd.io/etcd/client/v3 | sort -u)
	[ "$got" = "$ETCD_VERSION" ] || fail "etcd sibling modules resolved to $got, want $ETCD_VERSION"
	install_bin "$m/etcd" etcd
	done_step
fi

# --- kube-apiserver, kube-controller-manager, kube-scheduler -------------
kube_bins=(kube-apiserver kube-controller-manager kube-scheduler)
missing=()
for b in "${kube_bins[@]}"; do
	if [ -x "$bin/$b" ]; then
		echo "✓ $b $K8S_VERSION (present)" >&2
	else
		missing+=("$b")
	fi
done
if [ ${#missing[@]} -gt 0 ]; then
	begin "kubernetes $K8S_VERSION scratch module"
	m=$work/kubernetes
	mkdir -p "$m"
	# k8s.io/kubernetes replaces its staging modules (k8s.io/api, ...) with
	# ./staging paths and requires them at v0.0.0. Read that list from the
	# module's own go.mod and point each one at its published version.
	gomod=$(go mod download -json "k8s.io/kubernetes@$K8S_VERSION" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",*$/\1/p')
	[ -n "$gomod" ] && [ -f "$gomod" ] || fail "go mod download k8s.io/kubernetes@$K8S_VERSION gave no go.mod"
	staging=$(sed -n 's#^[[:space:]]*\(replace[[:space:]]\{1,\}\)\{0,1\}\(k8s\.io/[^[:space:]]*\)[[:space:]]*=>[[:space:]]*\./staging/src/.*#\2#p' "$gomod" | sort -u)
	n=$(printf '%s\n' "$staging" | grep -c . || true)
	[ "$n" -ge 20 ] || fail "found only $n staging replace lines in $gomod; has upstream's go.mod changed shape?"
	printf '%s\n' "$staging" | grep -qx 'k8s.io/sample-apiserver' || fail "k8s.io/sample-apiserver is not among the staging modules of $gomod"
	echo "  $n staging modules from $gomod" >&2
	{
		echo "module wookie.dev/testenv/kubernetes"
		echo
		echo "go 1.26"
		echo
		echo "require k8s.io/kubernetes $K8S_VERSION"
		echo
		echo "tool ("
		for b in "${kube_bins[@]}"; do echo "	k8s.io/kubernetes/cmd/$b"; done
		echo ")"
		echo
		echo "replace ("
		for s in $staging; do echo "	$s => $s $STAGING_VERSION"; done
		echo ")"
	} >"$m/go.mod"
	(cd "$m" && go mod tidy)
	done_step

	ldflags="-X k8s.io/component-base/version.gitVersion=$K8S_VERSION"
	ldflags+=" -X k8s.io/component-base/version.gitMajor=$(echo "$K8S_VERSION" | sed 's/^v\([0-9]*\)\..*/\1/')"
	ldflags+=" -X k8s.io/component-base/version.gitMinor=$(echo "$K8S_VERSION" | sed 's/^v[0-9]*\.\([0-9]*\)\..*/\1/')"
	ldflags+=" -X k8s.io/component-base/version.gitTreeState=clean"
	for b in "${missing[@]}"; do
		begin "$b $K8S_VERSION"
		(cd "$m" && go build -ldflags "$ldflags" -o "$m/$b" "k8s.io/kubernetes/cmd/$b")
		got=$("$m/$b" --version 2>&1 || true)
		case "$got" in
		*"$K8S_VERSION"*) ;;
		*) fail "$b --version says '$got', want $K8S_VERSION" ;;
		esac
		install_bin "$m/$b" "$b"
		done_step
	done
fi

# --- kwok and its stages -------------------------------------------------
if [ -x "$bin/kwok" ]; then
	echo "✓ kwok $KWOK_VERSION (present)" >&2
else
	begin "kwok $KWOK_VERSION"
	GOBIN="$work/kwok-bin" go install "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION"
	install_bin "$work/kwok-bin/kwok" kwok
	done_step
fi

stage_dirs=(node/fast node/heartbeat-with-lease pod/fast)
have_stages=1
for s in "${stage_dirs[@]}"; do
	compgen -G "$stages/${s//\//-}/*.yaml" >/dev/null || have_stages=0
done
if [ $have_stages = 1 ]; then
	echo "✓ kwok stages (present)" >&2
else
	begin "kwok $KWOK_VERSION stages"
	kdir=$(go mod download -json "sigs.k8s.io/kwok@$KWOK_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",*$/\1/p')
	[ -n "$kdir" ] && [ -d "$kdir" ] || fail "go mod download sigs.k8s.io/kwok@$KWOK_VERSION gave no directory"
	tmp=$work/stages
	# node/fast makes a Node Ready, node/heartbeat-with-lease keeps it so
	# (with kwok --node-lease-duration-seconds), pod/fast runs Pods.
	for s in "${stage_dirs[@]}"; do
		src=$kdir/kustomize/stage/$s
		out=$tmp/${s//\//-}
		[ -d "$src" ] || fail "$src does not exist"
		mkdir -p "$out"
		for f in "$src"/*.yaml; do
			case "$(basename "$f")" in kustomization.yaml) continue ;; esac
			cp "$f" "$out/"
		done
		chmod -R u+w "$out"
		compgen -G "$out/*.yaml" >/dev/null || fail "no stage files in $src"
	done
	rm -rf "$stages"
	mv "$tmp" "$stages"
	done_step
fi

echo "✓ all in $bin ($(($(date +%s) - t0))s)" >&2
