#!/bin/sh
# stage.sh [-o] RUN_DIR STAGE TARGET CMD...: runs one stage of make run and, when
# it succeeds, records it in RUN_DIR/repro/: its exact command line (in
# commands.sh, which replays the run from the project's root: sh -e
# RUN_DIR/repro/commands.sh) and its wall time (in times.tsv: stage,
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
cmd=
for a; do
	cmd="$cmd$(q "$a") "
done
[ -n "$out" ] && cmd="$cmd> $(q "$target")"
secs=$(awk "BEGIN { printf \"%.3f\", $t1 - $t0 }")
shown=$(awk "BEGIN { printf \"%.1f\", $secs }")
# One write per record, so that stages made in parallel (make -j) do not
# mix their lines.
printf '# %s: %s\nmkdir -p %s\n%s\n' "$stage" "$target" "$(q "$(dirname "$target")")" "$cmd" \
	>> "$d/repro/commands.sh"
printf '%s\t%s\t%s\t%s\t%s\n' "$stage" "$target" "$secs" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$(uname -n)" \
	>> "$d/repro/times.tsv"
# the run's progress, a line a stage (the tools run quiet, and a stage
# can take hours); the stage is done whether or not the line can be said
printf 'make run: %s done: %s (%s s)\n' "$stage" "$target" "$shown" >&2 || :
exit 0
