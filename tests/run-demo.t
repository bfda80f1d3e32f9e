#!/bin/sh
# make run RUN=demo, small (12 steps, 10 items a task), offline against the
# Hub mirror on 127.0.0.1: every artefact is there and agrees with its
# source; a second run has nothing to do (make -q), nor after a dry run
# (make -n) with another setting; a run killed (kill -9)
# during training and made again ends with the uninterrupted run's final
# checkpoint, and one whose trainer alone is stopped by SIGINT fails
# instead of looking done; a changed filter rule redoes the filter and what follows, not
# the fetch; BURST_STEPS prints the estimated hours before training; the
# training and evaluation commands are checked before the first stage;
# GPUS=2 trains with two processes, and another GPUS resumes the run;
# a run folder moved to another RUN_DIR is up to date there;
# TOKENIZER=r50k_base.tiktoken encodes with it, made again when it changes;
# a tokenizer stage that fails leaves nothing that looks made.
. tests/run-small.sh

D=$T/demo
export BONSAI_CACHE=$T/cache
SMALL="RUN=demo RUN_DIR=$D TOKENS=24576 SAVE_EVERY=2 EVAL_EVERY=6 EVAL_TOKENS=4096 TASK_OPTS=--limit=10 PPL_OPTS=--max-tokens=8k"
mk() { make --no-print-directory "$@" $SMALL > "$T/make.out" 2>&1; }

mk run
ok $? "make run RUN=demo exits 0"
grep -q "^make run: fetch done: $D/docs/000_00000.jsonl ([0-9.]* s)$" "$T/make.out" &&
	grep -q "^make run: train done: $D/train/checkpoint.sha256 ([0-9.]* s)$" "$T/make.out" &&
	[ "$(grep -c "^make run: .* done: " "$T/make.out")" -eq "$(wc -l < "$D/repro/times.tsv")" ]
ok $? "a line on stderr as each stage is done, with its time, one for each of times.tsv's"
for f in files.tsv docs/000_00000.jsonl docs/001_00000.jsonl clean/000_00000.jsonl clean/001_00000.stats.json \
	tokenizer/tokenizer.json tokens/001_00000.ts shards/manifest train/checkpoint.sha256 \
	eval/ppl.json eval/tasks.json report.md report.html repro/commands.sh repro/times.tsv \
	repro/environment.txt settings/train; do
	[ -s "$D/$f" ] || { echo "# missing: $f"; missing=1; }
done
[ -z "${missing-}" ]
ok $? "every stage's file is there"
grep -q "^bonsai-train --check: model tiny, device [a-z]*, 1 rank, 12 steps of 2048 tokens" "$D/repro/checks.txt" &&
	grep -q "^bonsai-eval --check: ppl, device [a-z]*$" "$D/repro/checks.txt" &&
	grep -q "^bonsai-eval --check: tasks piqa=.*,hellaswag=.*,arc_easy=.*, device [a-z]*$" "$D/repro/checks.txt"
ok $? "repro/checks.txt: the training and evaluation commands checked before the first stage"

F=$SHARED/fixtures/fineweb-edu/sample/10BT
for n in 000_00000 001_00000; do
	[ "$(awk -v n=$n '$1 == n { print $4 }' "$D/files.tsv")" = "$(sha256sum < "$F/$n.parquet" | cut -d' ' -f1)" ] || bad=$n
done
[ -z "${bad-}" ]
ok $? "files.tsv has the parquet files' sha256"
bin/bonsai-fetch -q "$F/001_00000.parquet" --columns id,url,text,score,int_score,language_score |
	cmp -s - "$D/docs/001_00000.jsonl"
ok $? "a file's documents through the mirror = a direct read of the fixture"
(cd "$D/train" && sha256sum -c --quiet checkpoint.sha256) && grep -q "ckpt-00000012" "$D/train/checkpoint.sha256"
ok $? "checkpoint.sha256 names the step-12 checkpoint and matches it"

num() { sed -n "s/.*\"$2\": *\([-0-9.eE+]*\).*/\1/p" "$1" | head -n 1; }
loss=$(num "$D/eval/ppl.json" loss)
V=$(num "$D/tokenizer/info.json" vocab_size)
awk -v l="$loss" -v v="$V" 'BEGIN { exit !(l == l + 0 && l > 0 && l < log(v)) }'
ok $? "val loss $loss is finite and below ln(V) = ln($V)"

# The report's numbers are the eval JSON's, as the report rounds them.
want_loss=$(awk -v x="$loss" 'BEGIN { printf "%.4f", x }')
want_ppl=$(awk -v x="$(num "$D/eval/ppl.json" ppl)" 'BEGIN { printf "%.2f", x }')
grep -q "^| validation loss | $want_loss | 3.1719 |$" "$D/report.md" &&
	grep -q "^| perplexity | $want_ppl | 23.85 |$" "$D/report.md"
ok $? "report.md: loss $want_loss and perplexity $want_ppl, beside the seed's"
tasks_ok=1
for t in piqa hellaswag arc_easy; do
	acc=$(awk -v t="\"$t\"" '$1 == t":" { f = 1 } f && /"acc,none"/ { gsub(/[,]$/, "", $2); print $2; exit }' "$D/eval/tasks.json")
	a=$(awk -v x="$acc" 'BEGIN { printf "%.2f", 100 * x }')
	label=$(case $t in piqa) echo PIQA ;; hellaswag) echo HellaSwag ;; *) echo ARC-Easy ;; esac)
	grep -q "^| $label acc / acc_norm, % (10 items) | $a / " "$D/report.md" || { tasks_ok=0; echo "# $t: $a not in report"; }
done
[ $tasks_ok = 1 ]
ok $? "report.md: each task's accuracy as in tasks.json"
tokens=$(grep '"loss"' "$D/train/metrics.jsonl" | tail -n 1 | sed 's/.*"tokens":\([0-9]*\).*/\1/')
grep -q "^| tokens seen | 24,576 |$" "$D/report.md" && [ "$tokens" = 24576 ]
ok $? "report.md: the tokens seen (24,576 = 12 steps of 2048)"
grep -q "^| dropped: duplicate | " "$D/report.md" && grep -q "<td>dropped: duplicate</td>" "$D/report.html"
ok $? "both reports count the documents each rule dropped"
# Decontamination against the sets it evaluates: each benchmark's row is
# the union of the files' matched items over the items looked for.
grep -q -- "--decontaminate piqa=.*,hellaswag=.*,arc_easy=" "$D/settings/filter"
ok $? "the filter decontaminates against the demo's eval sets"
contam_ok=1
for t in piqa hellaswag arc_easy; do
	lines=$(grep -h "^ *\"$t\": {\"source\"" "$D"/clean/*.stats.json)
	items=$(printf '%s\n' "$lines" | sed -n 's/.*"items": \([0-9]*\),.*/\1/p' | sort -u)
	unchecked=$(printf '%s\n' "$lines" | sed -n 's/.*"items_unchecked": \([0-9]*\),.*/\1/p' | sort -u)
	matched=$(printf '%s\n' "$lines" | sed -n 's/.*"matched": \[\(.*\)\]}.*/\1/p' | tr ', ' '\n\n' | grep . | sort -u | wc -l)
	checked=$(printf '%d' $((items - unchecked)) | sed ':a;s/\B[0-9]\{3\}\>/,&/;ta')
	label=$(case $t in piqa) echo PIQA ;; hellaswag) echo HellaSwag ;; *) echo ARC-Easy ;; esac)
	[ "$(printf '%s\n' "$lines" | wc -l)" = 2 ] && [ "$items" -gt 0 ] &&
		grep -q "^| $label | $matched | $checked | [0-9.]* | [0-9,]* |$" "$D/report.md" &&
		grep -q "<td>$label</td><td>$matched</td><td>$checked</td>" "$D/report.html" ||
		{ contam_ok=0; echo "# $t: no row '| $label | $matched | $checked |' in the reports"; }
done
[ $contam_ok = 1 ]
ok $? "both reports: items matched / checked per benchmark, from the two files' stats"
if command -v xmllint > /dev/null; then
	xmllint --noout "$D/report.html" > "$T/xml.err" 2>&1 && [ ! -s "$T/xml.err" ]
	ok $? "report.html is well-formed (xmllint), its inline plot included$(head -c 200 "$T/xml.err")"
fi
if [ -x bin/bonsai-plot ] && command -v rsvg-convert > /dev/null; then
	svg=$D/plots/training.svg
	xmllint --noout "$svg" && grep -q "<svg" "$D/report.html"
	ok $? "the plot is valid XML and inlined in report.html"
	w=$(sed -n 's/.*<svg[^>]* width="\([0-9.]*\)[^0-9.].*/\1/p' "$svg" | head -n 1)
	h=$(sed -n 's/.*<svg[^>]* height="\([0-9.]*\)[^0-9.].*/\1/p' "$svg" | head -n 1)
	printf '<svg xmlns="http://www.w3.org/2000/svg" width="%s" height="%s"/>' "${w:-640}" "${h:-480}" > "$T/blank.svg"
	rsvg-convert -o "$T/plot.png" "$svg" && rsvg-convert -o "$T/blank.png" "$T/blank.svg" &&
		[ "$(wc -c < "$T/plot.png")" -gt $(($(wc -c < "$T/blank.png") * 4)) ]
	ok $? "rsvg-convert renders it, not blank"
else
	echo "# no bonsai-plot in this tree: no plot to check"
fi

# repro/commands.sh replays the run into the folder it is in: the run
# moved elsewhere, every stage's output gone, it makes them again there,
# the same bits, and writes nothing where the run was made (then the run
# is put back as it was)
cp -a "$D" "$T/orig"
E=$T/elsewhere
mv "$D" "$E"
rm -rf "$E/files.tsv" "$E/docs" "$E/clean" "$E/tokenizer" "$E/tokens" "$E/shards" "$E/train" "$E/eval" \
	"$E/plots" "$E/report.md" "$E/report.html" "$E/evalsets.sha256"
# timings aside (the JSON's seconds, rates and dates), and the folder's name
untimed() { grep -v '"seconds"\|per_second"\|"date"\|evaluation_time' "$1" | sed "s|$D/|RUN/|g; s|$E/|RUN/|g"; }
(sh -e "$E/repro/commands.sh" > "$T/replay.out" 2>&1) && same=1 &&
	for f in files.tsv docs/000_00000.jsonl clean/001_00000.jsonl tokenizer/tokenizer.json \
		tokenizer/info.json tokens/000_00000.ts shards/manifest train/checkpoint.sha256; do
		cmp -s "$T/orig/$f" "$E/$f" || { echo "# replay: $f differs"; same=0; }
	done &&
	for f in clean/001_00000.stats.json eval/ppl.json eval/tasks.json; do
		untimed "$T/orig/$f" > "$T/a" && untimed "$E/$f" > "$T/b" && cmp -s "$T/a" "$T/b" ||
			{ echo "# replay: $f differs"; diff "$T/a" "$T/b" | head -4 | sed 's/^/# /'; same=0; }
	done && [ $same = 1 ] && [ -s "$E/report.md" ] && [ ! -e "$D" ]
ok $? "sh -e repro/commands.sh of a run moved elsewhere makes it again there, the same files (checkpoint included), nothing where it was made" ||
	diag "$(tail -n 5 "$T/replay.out")"
rm -rf "$D" "$E"
mv "$T/orig" "$D"

make -q --no-print-directory run $SMALL
ok $? "make -q run afterwards: nothing to do"
mk run && ! grep -q "mk/stage.sh" "$T/make.out"
ok $? "a second make run runs no stage"

# A run folder moved to another RUN_DIR is up to date there; its training,
# cut short, goes on from its checkpoint; stamps written with the folder
# itself (by an older make run) are still taken.
M=$T/moved
cp -a "$D" "$M"
make -q --no-print-directory run $SMALL RUN_DIR="$M"
ok $? "a run folder copied to another RUN_DIR: make -q run there has nothing to do"
sed -i "s|{RUN_DIR}/|$M/|g" "$M/settings/train" && grep -q -- "--data $M/shards" "$M/settings/train" &&
	touch -r "$D/settings/train" "$M/settings/train" && make -q --no-print-directory run $SMALL RUN_DIR="$M"
ok $? "a stamp that names the folder itself is still taken"
last=$(ls "$M/train"/ckpt-*.safetensors | tail -n 1)
rm -f "$last" "$M/train/checkpoint.sha256"
make --no-print-directory run $SMALL RUN_DIR="$M" > "$T/moved.out" 2>&1 &&
	grep -q "resuming from $M/train/ckpt-" "$T/moved.out" && ! grep -q "stage.sh $M fetch\|stage.sh $M shards" "$T/moved.out" &&
	cmp -s "$M/train/checkpoint.sha256" "$D/train/checkpoint.sha256"
ok $? "its training cut short: resumed there, nothing before it redone, the same final checkpoint" ||
	diag "$(grep -v '^bonsai' "$T/moved.out" | tail -n 4)"
rm -rf "$M"
# A dry run with another setting says what it would redo and writes
# nothing: the run stays up to date for its own settings.
make -n --no-print-directory run $SMALL EVAL_TOKENS=8192 > "$T/dry.out" 2>&1 &&
	grep -q "stage.sh $D train" "$T/dry.out" && ! make -q --no-print-directory run $SMALL SEQ=64 &&
	make -n --no-print-directory run $SMALL FILES=1 > "$T/dry.out" 2>&1 &&
	! make -q --no-print-directory run $SMALL FILES=1 && make -q --no-print-directory run $SMALL
ok $? "make -n or make -q with another setting (of training; of the list) changes nothing: make -q run still has nothing to do"

# kill -9 while training, then make run again at once (the killed
# processes may still hold the folder's lock: it waits for them): it
# resumes and ends on the same checkpoint as the uninterrupted run.
cp "$D/train/checkpoint.sha256" "$T/straight.sha256"
grep '"loss"' "$D/train/metrics.jsonl" | sed 's/,"lr".*//' > "$T/straight.loss"
rm -rf "$D/train" "$D/eval" "$D/report.md" "$D/report.html"
setsid make --no-print-directory run $SMALL > "$T/killed.out" 2>&1 &
pid=$!
i=0
while ! ls "$D/train" 2> /dev/null | grep -q '^ckpt-[0-9]*\.safetensors$' && [ $i -lt 3000 ]; do sleep 0.1; i=$((i + 1)); done
kill -9 -$pid
wait $pid 2> /dev/null
[ ! -f "$D/train/checkpoint.sha256" ] && ls "$D/train" | grep -q '^ckpt-[0-9]*\.safetensors$'
ok $? "killed during training (checkpoints so far: $(ls "$D/train" | grep ckpt- | tr '\n' ' '))"
mk run && grep -q "resuming from" "$T/make.out"
ok $? "make run again resumes from the newest checkpoint" ||
	diag "$(grep -v '^bonsai' "$T/make.out" | tail -n 4)"
cmp -s "$T/straight.sha256" "$D/train/checkpoint.sha256"
ok $? "the final checkpoint is the uninterrupted run's, bit for bit"
grep '"loss"' "$D/train/metrics.jsonl" | sed 's/,"lr".*//' | cmp -s - "$T/straight.loss"
ok $? "and metrics.jsonl has each step once, with the same losses"

# SIGINT to the trainer alone (not make): it saves and exits 0, and the
# train stage fails, naming the step, instead of looking done (evaluated,
# reported, never resumed); make run again goes on to the end.
rm -rf "$D/train" "$D/eval" "$D/report.md" "$D/report.html"
mk run &
pid=$!
i=0
while ! ls "$D/train" 2> /dev/null | grep -q '^ckpt-[0-9]*\.safetensors$' && [ $i -lt 3000 ]; do sleep 0.1; i=$((i + 1)); done
kill -INT $(ps -eo pid=,args= | awk -v o="-o $D/train" '$2 == "bin/bonsai-train" && index($0, o) { print $1 }')
wait $pid
rc=$?
[ $rc -ne 0 ] && grep -q "^train: $D/train stopped at step [0-9]* of 12; make run again goes on from there" "$T/make.out" &&
	[ ! -f "$D/train/checkpoint.sha256" ] && [ ! -f "$D/eval/ppl.json" ]
ok $? "the trainer alone stopped by SIGINT: make run fails (exit $rc), the step named, nothing evaluated" ||
	diag "$(grep -v '^bonsai' "$T/make.out" | tail -n 3)"
mk run && cmp -s "$T/straight.sha256" "$D/train/checkpoint.sha256"
ok $? "make run again: resumed to the uninterrupted run's final checkpoint"

# A changed filter rule: filter and what follows are made again, not the fetch.
touch "$T/mark"
sleep 1
mk run FILTER="--min-chars 400 --dedup"
ok $? "make run with another FILTER exits 0"
[ -z "$(find "$D/docs" "$D/files.tsv" -newer "$T/mark")" ] && ! grep -q "stage.sh $D fetch" "$T/make.out"
ok $? "the fetch is not redone"
stale=
for f in clean/000_00000.jsonl clean/001_00000.jsonl tokenizer/tokenizer.json tokens/000_00000.ts \
	shards/manifest train/checkpoint.sha256 eval/ppl.json eval/tasks.json report.md report.html; do
	[ "$D/$f" -nt "$T/mark" ] || stale="$stale $f"
done
[ -z "$stale" ]
ok $? "filter, tokenizer, tokens, shards, train, eval and report are redone${stale:+ (not:$stale)}"
grep -q "min-chars 400" "$D/repro/commands.sh"
ok $? "repro/commands.sh has the new filter command"

# TASKS= empty (the same decontamination kept): no zero-shot evaluation;
# the report says so, and nothing before it is redone; then TASKS again
dc=$(sed -n 's/.* --decontaminate \([^ ]*\).*/\1/p' "$D/settings/filter")
NT="FILTER=--min-chars 400 --dedup"
mk run "$NT" TASKS= DECONTAMINATE="$dc" && grep -q "^No zero-shot tasks were evaluated" "$D/report.md" &&
	! grep -q "stage.sh $D \(filter\|train\|ppl\|tasks\)" "$T/make.out" && ! grep -q "PIQA acc" "$D/report.md" &&
	make -q --no-print-directory run $SMALL "$NT" TASKS= DECONTAMINATE="$dc"
ok $? "TASKS= : no tasks evaluated, the report says so, nothing before it redone" || diag "$(tail -n 3 "$T/make.out")"
mk run "$NT" && grep -q "^| PIQA acc / acc_norm" "$D/report.md" && ! grep -q "^No zero-shot" "$D/report.md"
ok $? "TASKS back: evaluated and reported again" || diag "$(tail -n 3 "$T/make.out")"

# a misspelt MODEL or task stops make run before anything is fetched
make --no-print-directory run $SMALL RUN_DIR="$T/bad" MODEL=tinyy > "$T/bad.out" 2>&1
[ $? -ne 0 ] && grep -q "tinyy: neither a preset" "$T/bad.out" && [ ! -e "$T/bad/docs" ] &&
	[ ! -e "$T/bad/evalsets.sha256" ] && [ ! -e "$T/bad/repro/checks.txt" ]
ok $? "MODEL=tinyy: make run fails at once, naming it, nothing fetched" || diag "$(tail -n 3 "$T/bad.out")"
# and a misspelt task, with nothing to find it earlier (no decontamination)
make --no-print-directory run $SMALL RUN_DIR="$T/bad2" DECONTAMINATE= TASKS=piqa,hellaswg > "$T/bad.out" 2>&1
[ $? -ne 0 ] && grep -q 'unknown task "hellaswg"' "$T/bad.out" && [ ! -e "$T/bad2/docs" ]
ok $? "TASKS with a misspelt task: make run fails at once, naming it, nothing fetched" || diag "$(tail -n 3 "$T/bad.out")"

# BURST_STEPS: a fresh training start measures that many steps first and
# prints the budget and the hours; the batch written as 2k is 2048 tokens
mk train BURST_STEPS=2 BATCH_TOKENS=2k FILTER="--min-chars 400 --dedup" &&
	grep "^train: token budget" "$T/make.out" | cmp -s - "$D/train/estimate.txt" &&
	grep -q "^train: token budget 2.458e+04 tokens (12 steps of 2048); [0-9.]* tokens/s over a 2-step burst (the median of its steps after the first, a warm-up, as bonsai-report counts it) on [a-z]*: about [0-9.e+-]* hours" "$D/train/estimate.txt"
ok $? "BURST_STEPS=2: the estimate names 12 steps of 2048 tokens (BATCH_TOKENS=2k)" || diag "$(grep -i "budget\|burst" "$T/make.out")"
[ ! -e "$D/train-burst" ] && grep -q "ckpt-00000012" "$D/train/checkpoint.sha256"
ok $? "then the run itself: 12 steps, the burst's folder gone"

# GPUS=2 with the CPU (and another seed, so that it starts afresh): two
# processes train (bonsai-train --gpus 2), and the report says so
mk run GPUS=2 DEVICE=cpu BATCH_TOKENS=2k SEED=2 FILTER="--min-chars 400 --dedup" &&
	grep -q -- "--device cpu --gpus 2" "$D/settings/train" && grep -q "ckpt-00000012" "$D/train/checkpoint.sha256" &&
	grep -qxF "| device | cpu, 2 processes |" "$D/report.md"
ok $? "GPUS=2 (DEVICE=cpu): trained by 2 processes, the report says so" || diag "$(tail -n 5 "$T/make.out")"
# GPUS changed: the run goes on from its checkpoint, not from the start
cp "$D/train/checkpoint.sha256" "$T/two.sha256"
mk train DEVICE=cpu BATCH_TOKENS=2k SEED=2 FILTER="--min-chars 400 --dedup" &&
	grep -q "resuming from $D/train/ckpt-00000012" "$T/make.out" && cmp -s "$T/two.sha256" "$D/train/checkpoint.sha256"
ok $? "then without GPUS: the run resumes from its last checkpoint instead of starting over" || diag "$(tail -n 5 "$T/make.out")"
mk train GPUS=two
[ $? -ne 0 ] && grep -q "GPUS=two is not a whole number of processes" "$T/make.out"
ok $? "GPUS=two: refused, named"

# PARQUET: local files; one replaced is hashed and fetched again
L=$T/local
mkdir -p "$L" && cp_rw "$F/000_00000.parquet" "$L/a.parquet" &&
	make --no-print-directory fetch RUN=demo RUN_DIR="$L/run" PARQUET="$L/a.parquet" > "$T/l.out" 2>&1 &&
	sleep 1 && cp -f "$F/001_00000.parquet" "$L/a.parquet" &&
	make --no-print-directory fetch RUN=demo RUN_DIR="$L/run" PARQUET="$L/a.parquet" > "$T/l.out" 2>&1 &&
	[ "$(cut -f4 "$L/run/files.tsv")" = "$(sha256sum < "$F/001_00000.parquet" | cut -d' ' -f1)" ] &&
	bin/bonsai-fetch -q "$F/001_00000.parquet" --columns id,url,text,score,int_score,language_score |
	cmp -s - "$L/run/docs/a.jsonl"
ok $? "PARQUET=a.parquet replaced by another file: files.tsv has its sha256, its documents fetched again" ||
	diag "$(tail -n 3 "$T/l.out")"
mv "$L/a.parquet" "$L/moved.parquet" &&
	make -q --no-print-directory fetch RUN=demo RUN_DIR="$L/run" PARQUET="$L/a.parquet" > "$T/l.out" 2>&1
ok $? "and once it has moved away, the fetched run is still up to date (not refused)" || diag "$(tail -n 3 "$T/l.out")"

# DECONTAMINATE is part of the filter's settings: turning it off redoes the
# filter (make -q: something to do), not the fetch.
F4="--min-chars 400 --dedup"
make -q --no-print-directory filter $SMALL FILTER="$F4" && make -q --no-print-directory fetch $SMALL FILTER="$F4" DECONTAMINATE= &&
	! make -q --no-print-directory filter $SMALL FILTER="$F4" DECONTAMINATE=
ok $? "DECONTAMINATE= leaves the fetch up to date and redoes the filter"

# TOKENIZER=r50k_base.tiktoken: the copy keeps the name that picks its
# pattern (as tokenizer.tiktoken it was refused), and the shards keep it;
# a change to the file makes it again.
mkdir "$T/tok" && cp "$SHARED/fixtures/tokenizers/tiktoken/r50k_base.tiktoken" "$T/tok/"
TT="TOKENIZER=$T/tok/r50k_base.tiktoken"
mk shards "$TT" FILTER="$F4" && [ "$(num "$D/tokenizer/info.json" vocab_size)" = 50257 ] &&
	[ -s "$D/shards/r50k_base.tiktoken" ] && make -q --no-print-directory shards $SMALL "$TT" FILTER="$F4"
ok $? "TOKENIZER=r50k_base.tiktoken: encoded with it, kept with the shards" || diag "$(tail -n 3 "$T/make.out")"
touch "$T/tok/r50k_base.tiktoken"
! make -q --no-print-directory shards $SMALL "$TT" FILTER="$F4"
ok $? "a newer tokenizer file: the tokenizer stage is to be made again"
# A .tiktoken with no pattern: the tokenizer stage fails, and leaves no
# copy that a second make takes for done
cp "$T/tok/r50k_base.tiktoken" "$T/tok/mine.tiktoken"
mk tokenizer "TOKENIZER=$T/tok/mine.tiktoken" FILTER="$F4"
[ $? -ne 0 ] && grep -q "mine.tiktoken: not a built-in encoding" "$T/make.out" && [ ! -e "$D/tokenizer/mine.tiktoken" ] &&
	! make -q --no-print-directory tokenizer $SMALL "TOKENIZER=$T/tok/mine.tiktoken" FILTER="$F4"
ok $? "a .tiktoken that needs a pattern: refused, and not taken for made the next time" || diag "$(tail -n 3 "$T/make.out")"
done_testing
