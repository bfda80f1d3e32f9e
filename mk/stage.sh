#!/bin/sh
# stage.sh [-o] [-u FILE] RUN_DIR STAGE TARGET CMD...: runs one stage of make run and, when
# it succeeds, records it in RUN_DIR/repro/: its exact command line (in
# commands.sh, which replays the run into the folder it is in, from the
# project's root: sh -e RUN_DIR/repro/commands.sh) and its wall time (in times.tsv: stage,
# target, seconds, end time, host), and says so on stderr. With -o the
# command's standard output is TARGET, which then appears whole or not at
# all. A stage cut short by a signal (to make alone, which passes a SIGTERM
# on to this script only, or to its process group) is neither recorded nor
# left looking made, even when its command ended well all the same (see
# mk/passon.sh). With -u, CMD checks FILE, a stage's output made before
# it, and its failing removes FILE too (make removes only TARGET).
set -u
out= undo=
while :; do
	case $1 in
	-o) out=1; shift ;;
	-u) undo=$2; shift 2 ;;
	*) break ;;
	esac
done
d=$1 stage=$2 target=$3
shift 3
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
mkdir -p "$d/repro" "$(dirname "$target")"
log=$d/repro/commands.sh
rel=1
[ -e "$log" ] && ! sed -n 2p "$log" | grep -qx 'D=.*' && rel=
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
# The record is ready before the command runs: once its output is in
# place, two writes record it, and a kill -9 has little time to come
# between them and leave a finished output unrecorded.
record=$(printf '# %s: %s\nmkdir -p %s\n%s' "$stage" "$target" "$(qd "$(dirname "$target")")" "$cmd")
host=$(uname -n)
. "$(dirname "$0")/passon.sh"
# the temporary files of a run of this stage that was killed (the tools
# write TARGET.tmp.XXXXXX and rename it)
rm -f "$target.tmp" "$target".tmp.*
t0=$(date +%s%N)
if [ -n "$out" ]; then
	passon "$@" > "$target.tmp"
else
	passon "$@"
fi
rc=$?
if [ -n "$passon_sig" ]; then
	# Cut short: what the command may have finished as the signal came
	# goes too (make removes a target only when it changed before the
	# signal).
	rm -f "$target.tmp"
	[ -z "$out" ] && [ $rc -eq 0 ] && rm -f "$target"
	exit $((128 + passon_sig))
fi
[ $rc -eq 0 ] || { rm -f "$target.tmp" ${undo:+"$undo"}; exit $rc; }
t1=$(date -u '+%s%N %Y-%m-%dT%H:%M:%SZ')
[ -n "$out" ] && mv "$target.tmp" "$target"
# One write per record, so that stages made in parallel (make -j) do not
# mix their lines; milliseconds by integers, as the locale has no say.
ms=$(((${t1%% *} - t0) / 1000000))
(set -C; printf '%s\n' "# make run's stages as they ran; from the project's root: sh -e RUN_DIR/repro/commands.sh" \
	'D=$(dirname "$(dirname "$0")")' > "$log") 2> /dev/null
printf '%s\n' "$record" >> "$log"
printf '%s\t%s\t%d.%03d\t%s\t%s\n' "$stage" "$target" $((ms / 1000)) $((ms % 1000)) "${t1#* }" "$host" \
	>> "$d/repro/times.tsv"
# the run's progress, a line a stage (the tools run quiet, and a stage
# can take hours); the stage is done whether or not the line can be said
printf 'make run: %s done: %s (%d.%d s)\n' "$stage" "$target" $(((ms + 50) / 1000)) $(((ms + 50) / 100 % 10)) >&2 || :
exit 0
