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

# serve_charts DIR SCRIPT: serve the Helm repository DIR on 127.0.0.1, on a
# port the kernel picks (the server prints it once it listens), logging to
# http.log; sets http_pid and url (http://127.0.0.1:PORT). SCRIPT names the
# caller in the message when the server does not start.
serve_charts() {
	local port=
	python3 -u -m http.server 0 --bind 127.0.0.1 --directory "$1" >http.log 2>&1 &
	http_pid=$!
	for _ in $(seq 100); do
		port=$(sed -n 's/^Serving HTTP on 127\.0\.0\.1 port \([0-9][0-9]*\).*/\1/p' http.log)
		[ -n "$port" ] && break
		kill -0 "$http_pid" 2>/dev/null || break
		sleep 0.1
	done
	[ -n "$port" ] || { say "$2: the chart server did not start:"; cat http.log >&2; exit 1; }
	url=http://127.0.0.1:$port
}

# peak_rss CMD...: the maximum resident set size of CMD (or of the largest
# process it waits for), in MB, from /usr/bin/time -v.
peak_rss() {
	/usr/bin/time -v "$@" 2>&1 >/dev/null | awk -F': ' '/Maximum resident set size/ {printf "%.1f", $2 / 1024}'
}
