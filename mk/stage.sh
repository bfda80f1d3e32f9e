#!/bin/sh
# stage.sh RUN_DIR STAGE TARGET CMD...: runs one stage of make run and, when
# it succeeds, records it in RUN_DIR/repro/: its exact command line (in
# commands.sh, runnable from the project's root) and its wall time (in
# times.tsv: stage, target, seconds, end time, host), and says so on stderr.
set -u
d=$1 stage=$2 target=$3
shift 3
mkdir -p "$d/repro"
t0=$(date +%s.%N)
"$@" || exit
t1=$(date +%s.%N)
# One write per record, so that stages made in parallel (make -j) do not
# mix their lines.
cmd=
for a; do
	case $a in
	*[!A-Za-z0-9_./:=,+@%-]*|'') cmd="$cmd'$(printf '%s' "$a" | sed "s/'/'\\\\''/g")' " ;;
	*) cmd="$cmd$a " ;;
	esac
done
secs=$(awk "BEGIN { printf \"%.3f\", $t1 - $t0 }")
printf '# %s: %s\n%s\n' "$stage" "$target" "$cmd" >> "$d/repro/commands.sh"
printf '%s\t%s\t%s\t%s\t%s\n' "$stage" "$target" "$secs" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$(uname -n)" \
	>> "$d/repro/times.tsv"
# the run's progress, a line a stage (the tools run quiet, and a stage
# can take hours)
printf 'make run: %s done: %s (%.1f s)\n' "$stage" "$target" "$secs" >&2
