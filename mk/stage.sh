#!/bin/sh
# stage.sh [-o] RUN_DIR STAGE TARGET CMD...: runs one stage of make run and, when
# it succeeds, records it in RUN_DIR/repro/: its exact command line (in
# commands.sh, which replays the run into the folder it is in, from the
# project's root: sh -e RUN_DIR/repro/commands.sh) and its wall time (in times.tsv: stage,
# target, seconds, end time, host), and says so on stderr. With -o the
# command's standard output is TARGET, which then appears whole or not at
# all.
set -u
out=
if [ "$1" = -o ]; then
	out=1
	shift
fi
d=$1 stage=$2 target=$3
shift 3
mkdir -p "$d/repro" "$(dirname "$target")"
t0=$(date +%s.%N)
if [ -n "$out" ]; then
	"$@" > "$target.tmp" || { rc=$?; rm -f "$target.tmp"; exit $rc; }
	mv "$target.tmp" "$target"
else
	"$@" || exit
fi
t1=$(date +%s.%N)
# a word as the shell reads it back
q() {
	case $1 in
	*[!A-Za-z0-9_./:=,+@%-]*|'') printf "'%s'" "$(printf '%s' "$1" | sed "s/'/'\\\\''/g")" ;;
	*) printf '%s' "$1" ;;
	esac
}
# commands.sh names the run's own files through $D, the folder it is in:
# a run folder moved elsewhere replays there, not into the folder it was
# made in (which may hold another run by then). A commands.sh begun
# before, without that line, goes on naming the folder itself.
log=$d/repro/commands.sh
(set -C; printf '%s\n' "# make run's stages as they ran; from the project's root: sh -e RUN_DIR/repro/commands.sh" \
	'D=$(dirname "$(dirname "$0")")' > "$log") 2> /dev/null
rel=
sed -n 2p "$log" | grep -qx 'D=.*' && rel=1
qd() {
	if [ -n "$rel" ]; then
		case $1 in
		"$d") printf '"$D"'; return ;;
		"$d"/*) printf '"$D"/%s' "$(q "${1#"$d"/}")"; return ;;
		esac
	fi
	q "$1"
}
cmd=
for a; do
	cmd="$cmd$(qd "$a") "
done
[ -n "$out" ] && cmd="$cmd> $(qd "$target")"
secs=$(awk "BEGIN { printf \"%.3f\", $t1 - $t0 }")
shown=$(awk "BEGIN { printf \"%.1f\", $secs }")
# One write per record, so that stages made in parallel (make -j) do not
# mix their lines.
printf '# %s: %s\nmkdir -p %s\n%s\n' "$stage" "$target" "$(qd "$(dirname "$target")")" "$cmd" \
	>> "$log"
printf '%s\t%s\t%s\t%s\t%s\n' "$stage" "$target" "$secs" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$(uname -n)" \
	>> "$d/repro/times.tsv"
# the run's progress, a line a stage (the tools run quiet, and a stage
# can take hours); the stage is done whether or not the line can be said
printf 'make run: %s done: %s (%s s)\n' "$stage" "$target" "$shown" >&2 || :
exit 0
