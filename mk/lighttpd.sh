# lighttpd.sh - sourced (bash) by tests/http-server.sh and mk/hub-mirror.sh:
# a static file server on 127.0.0.1 only.

# start_lighttpd ROOT DIR: serves ROOT on a free port, with its config and
# log in DIR; sets PORT and LPID (empty, and returns 1, when it could not).
start_lighttpd() {
	local lighttpd try i
	lighttpd=$(command -v lighttpd || echo /usr/sbin/lighttpd)
	for try in 1 2 3 4 5 6 7 8; do
		PORT=$((20000 + (RANDOM * 7 + try * 131) % 40000))
		cat > "$2/lighttpd.conf" <<EOC
server.document-root = "$1"
server.port = $PORT
server.bind = "127.0.0.1"
server.errorlog = "$2/lighttpd.log"
mimetype.assign = ("" => "application/octet-stream")
EOC
		"$lighttpd" -D -f "$2/lighttpd.conf" 2>>"$2/lighttpd.log" &
		LPID=$!
		for i in 1 2 3 4 5 6 7 8 9 10; do
			grep -q "server started" "$2/lighttpd.log" 2>/dev/null && break
			kill -0 $LPID 2>/dev/null || break
			sleep 0.1
		done
		kill -0 $LPID 2>/dev/null && grep -q "server started" "$2/lighttpd.log" && return 0
		LPID=
	done
	return 1
}
