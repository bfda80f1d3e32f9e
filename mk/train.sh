#!/bin/sh
# train.sh RUN_DIR BURST_STEPS BONSAI-TRAIN-COMMAND...: the train stage of
# make run. The run folder RUN_DIR/train resumes from its newest checkpoint
# when it was started with the same command and shards (an interrupted run
# goes on; the metrics past that checkpoint are dropped, as those steps are
# done again); otherwise it starts over. How the steps are shared out
# (--gpus, --micro-batch) is not part of that command: a run goes on with
# more or fewer GPUs, as bonsai-train --resume allows. BURST_STEPS > 0:
# before a fresh start, that many steps of the same run in a scratch folder
# give the speed (saving no checkpoint, 12 GB at gemma3-1b: bonsai-train
# --no-save; tokens/s as bonsai-report --steady-rate figures it), and the
# token budget and the estimated hours are printed.
# Ends with RUN_DIR/train/checkpoint.sha256 naming the final checkpoint,
# once the run has reached its last step (a run stopped before it fails).
set -eu
d=$1 burst=$2
shift 2
# the trainer gets a SIGTERM that comes to this script (make passes one
# on): it saves and stops, and the stage fails below
. "$(dirname "$0")/passon.sh"
rc=0
t=$d/train
# A bonsai-train writing the folder (another make run of this RUN_DIR, a
# run started by hand): neither deleted under it nor its metrics cut.
if [ -e "$t/.lock" ] && ! flock -n "$t/.lock" true; then
	echo "train: $t is being written by another process (bonsai-train pid $(cat "$t/.lock")): wait for it, or stop it first" >&2
	exit 1
fi
# the command as given (settings/train is the newest one: a replay of
# repro/commands.sh runs older ones too), with the run's folder as
# {RUN_DIR}: a run moved to another RUN_DIR goes on there. (A run started
# before had its key made with the folder itself: still taken.)
key_of() {
	printf '%s\n' "$*" | sed -E 's/ --(gpus|micro-batch) [0-9]+//g' | cat - "$d/shards/manifest" |
		sha256sum | cut -d' ' -f1
}
old_key=$(key_of "$@")
in_run=
for a; do
	case $a in
	"$d"/*) a="{RUN_DIR}/${a#"$d"/}" ;;
	esac
	in_run="$in_run${in_run:+ }$a"
done
key=$(key_of "$in_run")
last=$(ls "$t"/ckpt-*.safetensors 2>/dev/null | tail -n 1 || true)
was=$(cat "$t/started-with" 2>/dev/null || true)
if [ -n "$last" ] && { [ "$was" = "$key" ] || [ "$was" = "$old_key" ]; }; then
	step=$(basename "$last" .safetensors | sed 's/^ckpt-0*//')
	echo "train: resuming from $last" >&2
	awk -v s="${step:-0}" 'match($0, /"step":[0-9]+/) && substr($0, RSTART + 7, RLENGTH - 7) + 0 <= s' \
		"$t/metrics.jsonl" > "$t/metrics.jsonl.tmp" 2>/dev/null || : > "$t/metrics.jsonl.tmp"
	mv "$t/metrics.jsonl.tmp" "$t/metrics.jsonl"
	passon "$@" --resume >> "$t/metrics.jsonl" || rc=$?
else
	rm -rf "$t"
	mkdir -p "$t"
	if [ "$burst" -gt 0 ]; then
		b=$d/train-burst
		rm -rf "$b"
		passon "$@" -o "$b" --stop-at "$burst" --no-save -q > "$b.jsonl" || exit
		[ -z "$passon_sig" ] || exit $((128 + passon_sig))
		rm -rf "$b"
		# the steady rate by bonsai-report's own rule (the median of the
		# steps' rates after the first), so the estimate and the report agree
		rate=$("$(dirname "$0")/../bin/bonsai-report" --steady-rate "$b.jsonl") || exit
		awk -v args="$*" -v rate="$rate" '
			BEGIN { n = split(args, a, " ")
				for (i = 1; i < n; i++) {
					if (a[i] == "--steps") steps = a[i + 1]
					if (a[i] == "--device") dev = a[i + 1] } }
			# the tokens of a step as bonsai-train counts them, not the
			# option as written (512k)
			match($0, /"step":[0-9]+,"tokens":[0-9]+/) {
				split(substr($0, RSTART, RLENGTH), f, /[:,]/); bt = f[4] / f[2]; k++ }
			END { if (!bt || !(rate > 0)) { print "train: the burst measured nothing" > "/dev/stderr"; exit 1 }
				printf "train: token budget %.4g tokens (%d steps of %d); %.0f tokens/s over a %d-step burst (the median of its steps after the first, a warm-up, as bonsai-report counts it) on %s: about %.3g hours on this machine\n",
					steps * bt, steps, bt, rate, k, dev, steps * bt / rate / 3600 }' "$b.jsonl" > "$t/estimate.txt" ||
			{ rm -f "$t/estimate.txt"; exit 1; }
		cat "$t/estimate.txt" >&2
		rm -f "$b.jsonl"
	fi
	echo "$key" > "$t/started-with"
	passon "$@" > "$t/metrics.jsonl" || rc=$?
fi
[ $rc -eq 0 ] || exit $rc
last=$(ls "$t"/ckpt-*.safetensors | tail -n 1)
# bonsai-train stopped by a signal of its own (kill -INT or -USR1 of the
# trainer alone, a scheduler's warning) saves and exits 0: the run is not
# done, and the stage must not look made (evaluated, reported, and never
# resumed) until its last step.
step=$(basename "$last" .safetensors | sed 's/^ckpt-0*//')
steps=$(printf ' %s ' "$*" | sed -n 's/.* --steps \([0-9][0-9]*\) .*/\1/p')
if [ -n "$passon_sig" ] || { [ -n "$steps" ] && [ "${step:-0}" -lt "$steps" ]; }; then
	echo "train: $t stopped at step ${step:-0} of $steps; make run again goes on from there" >&2
	exit 1
fi
(cd "$t" && sha256sum "$(basename "$last")") > "$t/checkpoint.sha256.tmp"
mv "$t/checkpoint.sha256.tmp" "$t/checkpoint.sha256"
