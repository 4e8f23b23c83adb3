# Shared by the bench scripts: sourced, not run.
# shellcheck shell=bash disable=SC2034  # the variables are for the scripts that source this

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cache=${XDG_CACHE_HOME:-$HOME/.cache}/wookie-bench
wookie=$cache/wookie

say() { printf '%s\n' "$*" >&2; }

as_root() {
	if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# need CMD PACKAGE: install PACKAGE with apt-get when CMD is missing.
need() {
	if ! command -v "$1" >/dev/null 2>&1; then
		say "· installing $2 (apt-get)"
		as_root apt-get install -y -qq "$2" >/dev/null 2>&1 || true
	fi
	command -v "$1" >/dev/null 2>&1
}

# hyperfine is true when hyperfine times the runs (TIMER=loop: a bash loop).
hyperfine=false
if [ "${TIMER:-}" != loop ]; then
	if need hyperfine hyperfine; then hyperfine=true; else say "· no hyperfine: timing with a bash loop"; fi
fi
