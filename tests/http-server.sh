# http-server.sh - a real HTTP server (lighttpd, with Range support) on
# 127.0.0.1 and the fault-injecting proxy (tests/tools/faultproxy.c) in
# front of it, for bonsai-fetch's download tests. Source it (bash) after
# tests/tap.sh and setting PROXY (the built faultproxy). At exit the servers
# are stopped and tap.sh's scratch directory $T removed (unless KEEP is set).

LPID= PPID_=
cleanup() {
	# waited for: a server still writing its log into $T as it ends made
	# rm say "Directory not empty"
	[ -n "$PPID_" ] && kill "$PPID_" 2>/dev/null && wait "$PPID_" 2>/dev/null
	[ -n "$LPID" ] && kill "$LPID" 2>/dev/null && wait "$LPID" 2>/dev/null
	[ -n "$KEEP" ] || rm -rf "$T"
}
trap cleanup EXIT

# check DESCRIPTION CMD...: ok when CMD succeeds (its output discarded)
check() { local d="$1"; shift; "$@" >/dev/null 2>&1; ok $? "$d"; }

# start_lighttpd ROOT: serves ROOT on a free port; sets PORT and LPID
# (empty when it could not start).
. mk/lighttpd.sh
# start_proxy PLAN: (re)starts the proxy in front of lighttpd with a plan
# (see faultproxy.c); sets PX to its address. Its log is $T/plog.
start_proxy() {
	local i
	[ -n "$PPID_" ] && kill "$PPID_" 2>/dev/null && wait "$PPID_" 2>/dev/null
	rm -f "$T/pport" "$T/plog"
	"$PROXY" "$T/pport" "$PORT" "$1" "$T/plog" &
	PPID_=$!
	for i in $(seq 1 50); do [ -s "$T/pport" ] && break; sleep 0.05; done
	PX=http://127.0.0.1:$(cat "$T/pport")
}

# plog_resumed PATTERN: some request in the proxy log for PATTERN asked
# for the rest of a file (Range: bytes=N- with N > 0).
plog_resumed() { grep -e "$1" "$T/plog" | grep -q '| bytes=[1-9][0-9]*- |'; }
# plog_identity PATTERN: there are requests for PATTERN in the proxy log,
# and every one asked for Accept-Encoding: identity.
plog_identity() { grep -q -e "$1" "$T/plog" && ! grep -e "$1" "$T/plog" | grep -vq '| identity |'; }
