#!/usr/bin/env bash
# build.sh builds the command-line tools of peer GitOps projects, so tests can
# run them against what wookie produces:
#
#   helmfile  github.com/helmfile/helmfile        (default)
#   fleet     github.com/rancher/fleet cmd/fleetcli (default)
#   flux      github.com/fluxcd/flux2/v2 cmd/flux  (--all)
#   argocd    github.com/argoproj/argo-cd/v3 cmd   (--all)
#   fleetcontroller, fleetagent   github.com/rancher/fleet cmd/fleetcontroller,
#             cmd/fleetagent (only when named): Fleet's controller and agent, to
#             run as local processes against the test control plane
#
# Usage: hack/peers/build.sh [--all] [--force] [TOOL...]
#
# Everything comes from the Go module proxy (no direct VCS access, no release
# downloads) and is built with the local Go toolchain, CGO_ENABLED=0. The
# binaries go into a cache directory outside the repository:
#
#   ${WOOKIE_PEERS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/wookie-peers}/bin/
#
# with a stamp per tool in .../stamps/ naming the module version it was built
# from; a tool whose binary and matching stamp are there is skipped, so a
# second run takes a second. GOMODCACHE and GOCACHE are the caller's.
#
# Beside bin/, crds/<tool>/ keeps the CRDs that tests check wookie's output
# against, from the same module versions as the binaries (stamped alike):
#
#   crds/fleet/crds.yaml   Fleet's CRDs (charts/fleet-crd of the fleet module)
#   crds/flux/helm.toolkit.fluxcd.io_helmreleases.yaml   the HelmRelease CRD
#                          of the helm-controller whose api module flux requires
#   crds/argocd/application-crd.yaml, appproject-crd.yaml   Argo CD's
#                          Application and AppProject CRDs (manifests/crds)
#
# One line per tool goes to stderr (the go commands' output is kept in a log
# and shown only when a step fails); the bin directory is printed on stdout.
#
# `go install module@version` refuses all four tools because their go.mod
# files have replace directives. So each is built from a scratch module that
# requires the tool at its pinned version and copies the tool's own replace,
# exclude and godebug lines, which makes the dependency graph (and the GODEBUG
# defaults, through the copied go line) the same as upstream's release build.
# A replace that points at a nested module of the tool's repository
# (`=> ./pkg/apis`) is pointed at that module's published version instead,
# since the module zip leaves nested modules out.
#
# Cold times on 2 cores with an empty GOCACHE, in this order (later tools
# reuse the Kubernetes packages compiled for earlier ones): helmfile 227s,
# fleet 99s, flux 97s, argocd 164s; about 10 minutes for --all.
set -euo pipefail

HELMFILE_VERSION=v1.8.0 # github.com/helmfile/helmfile
FLEET_VERSION=v0.12.0   # github.com/rancher/fleet
FLUX_VERSION=v2.9.5     # github.com/fluxcd/flux2/v2 (go 1.26.0)
# Argo CD v3.3 and later replace gitops-engine with ./gitops-engine, a nested
# module the proxy does not serve (v3.6 also wants go 1.27); v3.2.x still
# requires the published github.com/argoproj/gitops-engine. v3.2.12 does not
# compile (controller/cache calls settings.ValidateExternalURL, which the
# tagged tree lacks), so v3.2.11 is the newest that builds here.
ARGOCD_VERSION=v3.2.11 # github.com/argoproj/argo-cd/v3 (go 1.25.5)
# Bump when the way a tool is built changes, so stamped binaries are rebuilt.
RECIPE=1

usage() {
	cat <<'EOF'
usage: hack/peers/build.sh [--all] [--force] [TOOL...]

Builds peer GitOps CLIs from the Go module proxy into
${WOOKIE_PEERS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/wookie-peers}/bin
and prints that directory on stdout.

  (no TOOL)  helmfile and fleet
  --all      also flux and argocd (large: several minutes each)
  --force    rebuild even if a stamped binary is present
  TOOL       any of: helmfile fleet flux argocd fleetcontroller fleetagent
EOF
}

all=0
force=0
tools=()
while [ $# -gt 0 ]; do
	case $1 in
	--all) all=1 ;;
	--force) force=1 ;;
	-h | --help)
		usage
		exit 0
		;;
	helmfile | fleet | flux | argocd | fleetcontroller | fleetagent) tools+=("$1") ;;
	*)
		echo "build.sh: unknown argument '$1'" >&2
		usage >&2
		exit 2
		;;
	esac
	shift
done
if [ ${#tools[@]} -eq 0 ]; then
	tools=(helmfile fleet)
	if [ $all = 1 ]; then tools+=(flux argocd); fi
fi

command -v go >/dev/null || {
	echo "✗ build.sh: go is not on PATH; install Go 1.26 or newer" >&2
	exit 1
}

cache=${WOOKIE_PEERS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/wookie-peers}
bin=$cache/bin
stamps=$cache/stamps
mkdir -p "$bin" "$stamps"

work=$(mktemp -d "${TMPDIR:-/tmp}/wookie-peers-build.XXXXXX")
trap 'rm -rf "$work"' EXIT
# Run every go command outside the caller's module, which stays untouched.
cd "$work"

# --- environment ------------------------------------------------------------
# Static binaries: no C toolchain needed, same as upstream's release builds.
export CGO_ENABLED=0
export GOWORK=off
export GOTOOLCHAIN=${GOTOOLCHAIN:-local}
# The scratch modules resolve their dependencies themselves; keep the
# caller's other flags (e.g. -buildvcs=false).
export GOFLAGS="${GOFLAGS:+$GOFLAGS }-mod=mod"
# Only the module proxy: drop "direct" from GOPROXY, exempt nothing from it,
# and forbid the go command any version-control tool. (Checksum database
# look-ups go through the proxy too, which serves /sumdb/.)
proxies=""
IFS=',|' read -r -a proxy_list <<<"$(go env GOPROXY)"
for p in "${proxy_list[@]}"; do
	case $p in
	"" | direct) ;;
	off)
		proxies=off
		break
		;;
	*) proxies+="${proxies:+,}$p" ;;
	esac
done
export GOPROXY=${proxies:-https://proxy.golang.org}
export GOPRIVATE="" GONOPROXY="" GOVCS="*:off"

go_version=$(go env GOVERSION)
go_version=${go_version#go}

# Callers that run in parallel (several test packages) wait for one build.
if command -v flock >/dev/null; then
	exec 9>"$cache/.lock"
	flock 9
fi

# --- the tools ---------------------------------------------------------------
# spec sets module, version, pkg (the main package) and check (the arguments
# that make the binary print its version) for a tool.
spec() {
	case $1 in
	helmfile)
		module=github.com/helmfile/helmfile
		version=$HELMFILE_VERSION
		pkg=$module
		check=(--version)
		;;
	fleet)
		module=github.com/rancher/fleet
		version=$FLEET_VERSION
		pkg=$module/cmd/fleetcli
		check=(--version)
		;;
	fleetcontroller)
		module=github.com/rancher/fleet
		version=$FLEET_VERSION
		pkg=$module/cmd/fleetcontroller
		check=() # it has no version flag: the build is checked by --help
		;;
	fleetagent)
		module=github.com/rancher/fleet
		version=$FLEET_VERSION
		pkg=$module/cmd/fleetagent
		check=(--version)
		;;
	flux)
		module=github.com/fluxcd/flux2/v2
		version=$FLUX_VERSION
		pkg=$module/cmd/flux
		check=(version --client)
		;;
	argocd)
		module=github.com/argoproj/argo-cd/v3
		version=$ARGOCD_VERSION
		pkg=$module/cmd
		check=(version --client --short)
		;;
	esac
}

# ldflags_for prints the link flags upstream's release build sets, given the
# commit the proxy reports for the tag (may be empty).
ldflags_for() {
	local name=$1 commit=$2
	case $name in
	helmfile) echo "-s -w" ;; # reads its version from the build info
	fleet | fleetcontroller | fleetagent) echo "-s -w -X $module/pkg/version.Version=$version -X $module/pkg/version.GitCommit=${commit:-unknown}" ;;
	flux) echo "-s -w -X main.VERSION=${version#v}" ;;
	argocd)
		local c=$module/common
		echo "-s -w -X $c.version=${version#v} -X $c.gitTag=$version -X $c.gitCommit=${commit:-unknown} -X $c.gitTreeState=clean"
		;;
	esac
}

# json_field prints a string field of `go mod download -json` output.
json_field() {
	sed -n "s/^[[:space:]]*\"$1\": \"\\(.*\\)\",*\$/\\1/p" | head -n 1
}

# directives prints the replace, exclude and godebug lines of a go.mod file,
# one directive per line, comments dropped.
directives() {
	awk '
		{ sub(/[[:space:]]*\/\/.*$/, "") }
		blk != "" {
			if ($0 ~ /^[[:space:]]*\)/) { blk = ""; next }
			sub(/^[[:space:]]+/, "")
			if (NF) print blk " " $0
			next
		}
		$1 == "replace" || $1 == "exclude" || $1 == "godebug" {
			if ($2 == "(") { blk = $1; next }
			print
		}
		$1 ~ /^(replace|exclude|godebug)\($/ { blk = substr($1, 1, length($1) - 1) }
	' "$1"
}

# version_ge A B: is Go version A >= B?
version_ge() {
	[ "$(printf '%s\n%s\n' "$1" "$2" | sort -V | tail -n 1)" = "$1" ]
}

# scratch_build builds tool $name into $m/$name; it runs in the scratch
# directory $m with its output going to the log. It stops at the first error
# by hand (set -e does not apply in the `if !` context it is called from).
scratch_build() {
	local dl gomod commit goline lines line lhs new old root sub dir got buildflags
	echo "== go mod download $module@$version"
	dl=$(go mod download -json "$module@$version") || {
		printf '%s\n' "$dl"
		return 1
	}
	gomod=$(json_field GoMod <<<"$dl")
	commit=$(json_field Hash <<<"$dl")
	if [ -z "$gomod" ] || [ ! -f "$gomod" ]; then
		echo "go mod download gave no go.mod file: $dl"
		return 1
	fi
	goline=$(awk '$1 == "go" { print $2; exit }' "$gomod")
	[ -n "$goline" ] || {
		echo "$gomod has no go line"
		return 1
	}
	version_ge "$go_version" "$goline" || {
		echo "$module@$version needs go $goline, this is go $go_version"
		return 1
	}

	lines=()
	while IFS= read -r line; do
		case $line in
		replace\ *)
			lhs=${line%%=>*}
			read -r new _ <<<"${line#*=>}"
			case $new in
			./* | ../*)
				# A nested module of the tool's repository: take the
				# published version with the same tag.
				read -r _ old _ <<<"$lhs"
				root=${module%/v[0-9]*}
				sub=${new#./}
				case $old in
				"$root/$sub" | "$root/$sub"/v[0-9]*) line="${lhs% } => $old $version" ;;
				*)
					echo "cannot resolve '$line': $new is no nested module of $module that the proxy serves"
					return 1
					;;
				esac
				;;
			esac
			;;
		esac
		lines+=("$line")
	done < <(directives "$gomod")

	if [ "$name" = flux ]; then
		# cmd/flux embeds manifests/*.yaml, the install manifests that
		# upstream's release build generates with kustomize from GitHub
		# release assets; the module zip has none, so the build would stop at
		# "pattern manifests/*.yaml: no matching files found" (and -overlay
		# may not add files under GOMODCACHE). So build from a copy of the
		# module with one placeholder there: every offline command works,
		# only `flux install` and `flux bootstrap` need --manifests=DIR.
		dir=$(json_field Dir <<<"$dl")
		if ! compgen -G "$dir/cmd/flux/manifests/*.yaml" >/dev/null; then
			cp -R "$dir" "$m/src" && chmod -R u+w "$m/src" || return 1
			mkdir -p "$m/src/cmd/flux/manifests" || return 1
			{
				echo "# Built by wookie's hack/peers/build.sh without the install manifests."
				echo "# Pass --manifests=DIR to flux install and flux bootstrap."
			} >"$m/src/cmd/flux/manifests/not-bundled.yaml"
			lines+=("replace $module => ./src")
		fi
	fi

	{
		echo "module wookie.dev/peers/$name"
		echo
		echo "go $goline"
		echo
		echo "require $module $version"
		echo
		echo "tool $pkg"
		echo
		if [ ${#lines[@]} -gt 0 ]; then printf '%s\n' "${lines[@]}"; fi
	} >go.mod
	echo "== scratch go.mod (before tidy)"
	cat go.mod

	echo "== go mod tidy"
	go mod tidy || return 1
	got=$(go list -m -f '{{.Version}}' "$module") || return 1
	[ "$got" = "$version" ] || {
		echo "$module resolved to $got, want $version"
		return 1
	}

	buildflags=(-trimpath -ldflags "$(ldflags_for "$name" "$commit")")
	echo "== go build ${buildflags[*]} -o $m/$name $pkg"
	go build "${buildflags[@]}" -o "$m/$name" "$pkg" || return 1

	if [ ${#check[@]} -eq 0 ]; then
		echo "== $name --help"
		"$m/$name" --help || return 1
		return 0
	fi
	echo "== $name ${check[*]}"
	got=$("$m/$name" "${check[@]}" 2>&1) || true
	echo "$got"
	case $got in
	*"${version#v}"*) ;;
	*)
		echo "$name ${check[*]} does not mention ${version#v}"
		return 1
		;;
	esac
}

# crds_of copies the CRDs of tool $name into ./crds (see the header); it
# runs in a scratch directory with its output going to a log.
crds_of() {
	local dl dir gomod hc
	mkdir -p crds || return 1
	dl=$(go mod download -json "$module@$version") || {
		printf '%s\n' "$dl"
		return 1
	}
	case $name in
	fleet)
		dir=$(json_field Dir <<<"$dl")
		cp "$dir/charts/fleet-crd/templates/crds.yaml" crds/crds.yaml || return 1
		;;
	flux)
		gomod=$(json_field GoMod <<<"$dl")
		hc=$(awk '$1 == "github.com/fluxcd/helm-controller/api" { print $2; exit }' "$gomod")
		[ -n "$hc" ] || {
			echo "$gomod does not require github.com/fluxcd/helm-controller/api"
			return 1
		}
		echo "== go mod download github.com/fluxcd/helm-controller@$hc"
		dl=$(go mod download -json "github.com/fluxcd/helm-controller@$hc") || {
			printf '%s\n' "$dl"
			return 1
		}
		dir=$(json_field Dir <<<"$dl")
		cp "$dir/config/crd/bases/helm.toolkit.fluxcd.io_helmreleases.yaml" crds/ || return 1
		;;
	argocd)
		dir=$(json_field Dir <<<"$dl")
		cp "$dir/manifests/crds/application-crd.yaml" "$dir/manifests/crds/appproject-crd.yaml" crds/ || return 1
		;;
	esac
}

# ensure_crds keeps the CRDs of tool $name in $cache/crds/$name, fetched
# once per version like the binaries; tools without any return at once.
ensure_crds() {
	case $name in
	fleet | flux | argocd) ;;
	*) return 0 ;;
	esac
	local stamp="$module@$version crds" dir=$cache/crds/$name m=$work/$name-crds
	if [ $force = 0 ] && [ -d "$dir" ] && [ -f "$stamps/$name-crds" ] &&
		[ "$(head -n 1 "$stamps/$name-crds")" = "$stamp" ]; then
		return 0
	fi
	mkdir -p "$m" "$cache/crds"
	if ! (cd "$m" && crds_of) >"$m.log" 2>&1; then
		echo "✗ $name $version: CRDs: fetch failed; end of the log:" >&2
		tail -n 25 "$m.log" | sed 's/^/    /' >&2
		return 1
	fi
	rm -f "$stamps/$name-crds"
	rm -rf "$dir"
	mv "$m/crds" "$dir"
	printf '%s\n' "$stamp" >"$stamps/$name-crds"
	echo "✓ $name $version CRDs in $dir" >&2
}

failed=0
for name in "${tools[@]}"; do
	spec "$name"
	ensure_crds || failed=1
	stamp="$module@$version recipe=$RECIPE"
	if [ $force = 0 ] && [ -x "$bin/$name" ] && [ -f "$stamps/$name" ] &&
		[ "$(head -n 1 "$stamps/$name")" = "$stamp" ]; then
		echo "✓ $name $version (present)" >&2
		continue
	fi

	m=$work/$name
	log=$work/$name.log
	mkdir -p "$m"
	began=$SECONDS
	if ! (cd "$m" && scratch_build) >"$log" 2>&1; then
		echo "✗ $name $version: build failed after $((SECONDS - began))s; end of the log:" >&2
		tail -n 25 "$log" | sed 's/^/    /' >&2
		failed=1
		continue
	fi
	took=$((SECONDS - began))
	# Move into place atomically, so a build cut short never leaves a file
	# that a later run would take as present; the stamp goes last.
	rm -f "$stamps/$name"
	cp "$m/$name" "$bin/.$name.tmp"
	chmod 0755 "$bin/.$name.tmp"
	mv -f "$bin/.$name.tmp" "$bin/$name"
	printf '%s\n' "$stamp" "go=$go_version" "built=$(date -u +%Y-%m-%dT%H:%M:%SZ)" "seconds=$took" >"$stamps/.$name.tmp"
	mv -f "$stamps/.$name.tmp" "$stamps/$name"
	echo "✓ $name $version (built in ${took}s)" >&2
	rm -rf "$m"
done

[ $failed = 0 ] || exit 1
echo "$bin"
