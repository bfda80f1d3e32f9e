#!/bin/sh
# bonsai-report on a run folder written by hand, with figures worked out
# here: tokens/s over the steps' own time and steady (the first step left
# out), GPU hours, MFU from the model's
# FLOPs per token (the gemma3_tiny fixture: N = 255,744 parameters counted
# by hand; attention as bench/RESULTS.md counts it, the mean keys a query
# attends to at --seq 32: (1+2+..+8 + 24 x 8) / 32 = 7.125 on each of the
# 5 layers of window 8, 33 / 2 on the global one: 6 N + 12 Hq hd (5 x 7.125
# + 16.5) = 1,574,496; at 2000 tokens/s a peak of 3.148992e9 is 100%), the
# filter's counts summed over files, a stage's time counting a target's
# last record only; MFU and GPU hours of a run on two GPUs; then bad input.
. tests/tap.sh
need_shared
R=$T/run
mkdir -p "$R/eval" "$R/train" "$R/clean" "$R/settings" "$R/repro"
cp "$SHARED/fixtures/gemma3_tiny/config.json" "$R/train/"
echo '{"loss": 2.5, "ppl": 12.182493960703473, "tokens": 4096}' > "$R/eval/ppl.json"
cat > "$R/eval/tasks.json" <<'J'
{"results": {"piqa": {"acc,none": 0.625, "acc_norm,none": 0.5, "n": 8},
             "mytask": {"acc,none": 0.25, "acc_norm,none": 0.75, "n": 4}}}
J
cat > "$R/train/metrics.jsonl" <<'J'
{"step":1,"tokens":3600000,"loss":6.5,"lr":0.001,"grad_norm":1,"tokens_per_s":2000,"ms":1800000}
{"step":2,"tokens":7200000,"loss":6.0,"lr":0.001,"grad_norm":1,"tokens_per_s":2000,"ms":1800000}
{"step":2,"val_loss":5.75,"val_tokens":100}
J
echo "train: bin/bonsai-train --data x --model m -o y --steps 2 --seq 32 --device cuda" > "$R/settings/train"
cat > "$R/clean/a.stats.json" <<'J'
{"documents_in": 10, "documents_out": 7, "dropped": 3, "dropped_by_reason": {"too-short": 1, "duplicate": 2},
 "decontamination": {"ngram": 13, "documents_dropped": 2, "documents_cut": 0, "tasks": {
  "piqa": {"source": "p", "items": 10, "items_whole": 1, "items_unchecked": 2, "items_matched": 2, "matched": [1, 4]},
  "hellaswag": {"source": "h", "items": 5, "items_whole": 0, "items_unchecked": 0, "items_matched": 1, "matched": [0]}}}}
J
cat > "$R/clean/b.stats.json" <<'J'
{"documents_in": 5, "documents_out": 4, "dropped": 1, "dropped_by_reason": {"too-short": 0, "duplicate": 1},
 "decontamination": {"ngram": 13, "documents_dropped": 1, "documents_cut": 0, "tasks": {
  "piqa": {"source": "p", "items": 10, "items_whole": 1, "items_unchecked": 2, "items_matched": 2, "matched": [4, 7]},
  "hellaswag": {"source": "h", "items": 5, "items_whole": 0, "items_unchecked": 0, "items_matched": 0, "matched": []}}}}
J
printf 'list\tfiles.tsv\t1.0\nfetch\tdocs/a\t2.0\nfetch\tdocs/b\t3.0\nfetch\tdocs/a\t4.0\n' > "$R/repro/times.tsv"
printf 'commit: abc\ngpu: Some GPU, 80 GiB (1 found)\n' > "$R/repro/environment.txt"

run bin/bonsai-report --peak-flops 3.148992e9 -o "$T/r.md" "$R"
ok $rc "bonsai-report exits 0"
has() { grep -qxF -- "$1" "$T/r.md" || { echo "# not in the report: $1"; return 1; }; }
has "| validation loss | 2.5000 | 3.1719 |" && has "| perplexity | 12.18 | 23.85 |"
ok $? "loss and perplexity beside the seed's"
has "| PIQA acc / acc_norm, % (8 items) | 62.50 / 50.00 | 62.08 |" &&
	has "| mytask acc / acc_norm, % (4 items) | 25.00 / 75.00 | - |"
ok $? "each task's accuracies, the seed's where it has one"
has "| tokens seen | 7,200,000 |" && has "| tokens/s, steady (median of the steps after the first) | 2,000 |" &&
	has "| tokens/s over all the steps' time (the first step's start-up included) | 2,000 |" &&
	has "| training tokens/s | 2,000 | 20,085 |"
ok $? "tokens seen and tokens/s (7.2M tokens in 3600 s of steps)"
# The first step of a training holds its start-up (on a GPU the CUDA and
# cuBLAS set-up, the first allocations and kernel loads): 1,000 tokens in
# 10 s, then 2,000, 2,500 and 4,000 tokens/s. The steady rate is the
# median of the steps after the first, 2,500, so a short run compares
# with a long one; the old figure, 4,000 tokens in 11.15 s (359), stays
# beside it. MFU follows the steady rate: 2,500 tokens/s at twice the
# peak that makes 2,000 100% is 62.5%.
cp -r "$R" "$T/warm"
cat > "$T/warm/train/metrics.jsonl" <<'J'
{"step":1,"tokens":1000,"loss":6.5,"ms":10000}
{"step":2,"tokens":2000,"loss":6.4,"ms":500}
{"step":3,"tokens":3000,"loss":6.3,"ms":400}
{"step":4,"tokens":4000,"loss":6.2,"ms":250}
J
sed -i 's/--steps 2/--steps 4/' "$T/warm/settings/train"
bin/bonsai-report --peak-flops 6.297984e9 -o "$T/warm.md" "$T/warm" &&
	grep -qxF "| tokens/s, steady (median of the steps after the first) | 2,500 |" "$T/warm.md" &&
	grep -qxF "| tokens/s over all the steps' time (the first step's start-up included) | 359 |" "$T/warm.md" &&
	grep -qxF "| training tokens/s | 2,500 | 20,085 |" "$T/warm.md" &&
	grep -qxF "| MFU | 62.5% (peak 6.298e+09 FLOP/s) |" "$T/warm.md"
ok $? "a slow first step: tokens/s and MFU of the steps after it, the total beside" ||
	diag "$(grep "tokens/s\|MFU" "$T/warm.md")"
# a file spliced by hand: step 4 resumed with a count below step 3's. Its
# line replaces the first step 4 and times nothing in either rate (the
# steady rule's guard): 3,000 tokens in 10.9 s (275), steady the median of
# 2,000 and 2,500; counted, it would lower the first to 223
cp -r "$T/warm" "$T/spliced"
echo '{"step":4,"tokens":2500,"loss":6.2,"ms":300}' >> "$T/spliced/train/metrics.jsonl"
bin/bonsai-report -o "$T/spliced.md" "$T/spliced" &&
	grep -qxF "| tokens/s over all the steps' time (the first step's start-up included) | 275 |" "$T/spliced.md" &&
	grep -qxF "| tokens/s, steady (median of the steps after the first) | 2,250 |" "$T/spliced.md"
ok $? "a resumed step whose count did not grow: left out of both rates" ||
	diag "$(grep "tokens/s" "$T/spliced.md")"
head -n 1 "$T/warm/train/metrics.jsonl" > "$T/warm/train/m1" && mv "$T/warm/train/m1" "$T/warm/train/metrics.jsonl"
bin/bonsai-report --peak-flops 6.297984e9 -o "$T/one.md" "$T/warm" &&
	grep -qxF "| tokens/s, steady (median of the steps after the first) | n/a (one step: its time holds the start-up) |" "$T/one.md" &&
	grep -qxF "| tokens/s over all the steps' time (the first step's start-up included) | 100 |" "$T/one.md" &&
	grep -qxF "| MFU | n/a (one step: its time holds the start-up) |" "$T/one.md"
ok $? "a single step: no steady rate or MFU, said why" || diag "$(grep "tokens/s\|MFU" "$T/one.md")"
has "| parameters | 255,744 |" && has "| FLOPs per token (6N + attention) | 1.574e+06 |"
ok $? "parameters and FLOPs per token of the model"
# --seq 4, under the window: every layer's queries attend to (4+1)/2 keys
# on average: 1,534,464 + 768 x 6 x 2.5 = 1,545,984
cp -r "$R" "$T/short"
sed -i 's/--seq 32/--seq 4/' "$T/short/settings/train"
bin/bonsai-report -o "$T/short.md" "$T/short" && grep -qxF "| FLOPs per token (6N + attention) | 1.546e+06 |" "$T/short.md"
ok $? "a sequence shorter than the window: causal attention on every layer" ||
	diag "$(grep FLOPs "$T/short.md")"
has "| MFU | 100.0% (peak 3.149e+09 FLOP/s) |" && has "| GPU hours (training steps) | 1.000 |"
ok $? "MFU and GPU hours"
has "| read | 15 |" && has "| kept | 11 |" && has "| dropped: duplicate | 3 |" && has "| dropped: too-short | 1 |"
ok $? "the filter's counts summed over the files"
has "| fetch | 7.0 |" && has "| list | 1.0 |"
ok $? "wall time per stage, a target made again counted once"
has "| last validation loss while training | 5.7500 |"
ok $? "the last validation loss of the metrics"
has "| steps | 2 |"
ok $? "the steps, all of --steps 2"
# a training stopped by a signal ends with status 0 and a checkpoint, and
# make run goes on to its report: 2 steps of --steps 5 said to be so
cp -r "$R" "$T/stopped"
sed -i 's/--steps 2/--steps 5/' "$T/stopped/settings/train"
bin/bonsai-report -o "$T/stopped.md" "$T/stopped" &&
	grep -q "^| steps | 2 of the 5 of --steps: the training stopped before its end" "$T/stopped.md"
ok $? "a training that stopped before --steps: the report says so" || diag "$(grep "steps |" "$T/stopped.md")"
# the fixture's vocabulary is 512 tokens, the seed's Gemma 3's 262,144:
# a loss per token of one is no figure to set beside the other's
grep -q "per token of this run's tokenizer (a vocabulary of 512), the seed's per token of Gemma 3's (262,144): they do not compare" "$T/r.md"
ok $? "another tokenizer than the seed's: the loss and perplexity said not to compare"
cp -r "$R" "$T/gemma-vocab"
sed -i 's/"vocab_size": 512/"vocab_size": 262144/' "$T/gemma-vocab/train/config.json"
bin/bonsai-report -o "$T/gv.md" "$T/gemma-vocab" && grep -q "| parameters | 17,000,192 |" "$T/gv.md" &&
	! grep -q "do not compare" "$T/gv.md"
ok $? "the seed's vocabulary (262,144): no such note"

# two GPUs (--gpus 2) trained as fast together: each at half the MFU,
# twice the GPU hours
cp -r "$R" "$T/two"
sed -i 's/--device cuda/--device cuda --gpus 2/' "$T/two/settings/train"
bin/bonsai-report --peak-flops 3.148992e9 -o "$T/two.md" "$T/two" &&
	grep -qxF "| MFU | 50.0% (peak 3.149e+09 FLOP/s a GPU) |" "$T/two.md" &&
	grep -qxF "| GPU hours (training steps) | 2.000 |" "$T/two.md" &&
	grep -qxF "| device | cuda, 2 processes (one a GPU) |" "$T/two.md" &&
	grep -qxF "| tokens/s, steady (median of the steps after the first) | 2,000 |" "$T/two.md"
ok $? "--gpus 2: MFU over both GPUs' peak, GPU hours of both, the device says so"
# a run of two processes resumed on one: each step's own processes count
# (not the command line's --gpus 2), for the GPU hours of both steps and
# the MFU of the steady one (the second: 2,000 tokens/s on one GPU)
cp -r "$T/two" "$T/mixed"
sed -i '1s/}$/,"ranks":2}/; 2s/}$/,"ranks":1}/' "$T/mixed/train/metrics.jsonl"
bin/bonsai-report --peak-flops 3.148992e9 -o "$T/mixed.md" "$T/mixed" &&
	grep -qxF "| MFU | 100.0% (peak 3.149e+09 FLOP/s) |" "$T/mixed.md" &&
	grep -qxF "| GPU hours (training steps) | 1.500 |" "$T/mixed.md"
ok $? "steps of 2 then 1 processes (ranks in metrics.jsonl): 1.5 GPU hours, MFU of the one" ||
	diag "$(grep "MFU\|GPU hours" "$T/mixed.md")"
sed -i '2s/"ranks":1/"ranks":0/' "$T/mixed/train/metrics.jsonl"
run bin/bonsai-report "$T/mixed"
fails_with 1 'metrics.jsonl:2: "ranks": 0 is not a number of processes' "ranks 0 in metrics.jsonl: exit 1, file and line named"
sed -i 's/--gpus 2/--gpus two/' "$T/two/settings/train"
run bin/bonsai-report "$T/two"
fails_with 1 "settings/train: --gpus two is not a number of processes" "--gpus that is not a number: exit 1, named"

# on the CPU: no GPU hours, rather than 0.000 of them
cp -r "$R" "$T/cpu"
sed -i 's/--device cuda/--device cpu/' "$T/cpu/settings/train"
bin/bonsai-report -o "$T/cpu.md" "$T/cpu" && grep -qxF "| GPU hours (training steps) | n/a (trained on the CPU) |" "$T/cpu.md" &&
	grep -qxF "| MFU | n/a (trained on the CPU) |" "$T/cpu.md"
ok $? "trained on the CPU: no MFU and no GPU hours" || diag "$(grep "GPU hours\|MFU" "$T/cpu.md")"
bin/bonsai-report -o "$T/n.md" "$R" && grep -qxF "| MFU | n/a (peak FLOP/s of this GPU unknown: make run PEAK_FLOPS=...) |" "$T/n.md"
ok $? "an unknown GPU: no MFU, and how to give its peak"
sed -i 's/Some GPU/NVIDIA H100 80GB HBM3/' "$R/repro/environment.txt"
bin/bonsai-report -o "$T/h.md" "$R" && grep -q "^| MFU | 0.0% (peak 9.89e+14 FLOP/s) |$" "$T/h.md"
ok $? "an H100: its peak from environment.txt"

bin/bonsai-report --html -o "$T/r.html" "$R" && grep -q "<td>7,200,000</td>" "$T/r.html" &&
	grep -q "<td>mytask acc / acc_norm, % (4 items)</td>" "$T/r.html"
ok $? "--html: the same figures"

# Two plots inline: ids are the page's, so each figure's must be its own
# (the second figure's url(#clip-0) took the first one's clipping path)
cp -r "$R" "$T/plots"
mkdir "$T/plots/plots"
bin/bonsai-plot -o "$T/plots/plots/a.svg" --title "a title moves the panels" --what loss "$R/train/metrics.jsonl" &&
	bin/bonsai-plot -o "$T/plots/plots/b.svg" "$R/train/metrics.jsonl" &&
	bin/bonsai-report --html -o "$T/p.html" "$T/plots" && xmllint --noout "$T/p.html"
ok $? "--html with two plots: well-formed"
dups=$(grep -o ' id="[^"]*"' "$T/p.html" | sort | uniq -d)
# every url(#X) of a figure names an id of the same figure
bad=$(awk '/<figure>/ { f++ } { s = $0
	while (match(s, /url\(#[^)]*\)/)) { ref[f, substr(s, RSTART + 5, RLENGTH - 6)] = 1; s = substr(s, RSTART + RLENGTH) }
	s = $0
	while (match(s, / id="[^"]*"/)) { id[f, substr(s, RSTART + 5, RLENGTH - 6)] = 1; s = substr(s, RSTART + RLENGTH) } }
	END { for (k in ref) if (!(k in id)) n++; print n + 0 }' "$T/p.html")
[ -z "$dups" ] && [ "$bad" = 0 ] && [ "$(grep -c 'clip-path="url(#' "$T/p.html")" -eq 4 ]
ok $? "each figure's ids its own, its clipping paths in it (ids twice: $(echo $dups); references elsewhere: $bad)"

# Contamination: piqa matched items 1, 4 in a and 4, 7 in b: 3 distinct
# items (not 2 + 2), of the 10 - 2 it looked for; hellaswag 1 of 5.
has "| PIQA | 3 | 8 | 37.50 | 2 |" && has "| HellaSwag | 1 | 5 | 20.00 | 0 |"
ok $? "contamination per benchmark: the items matched in any file, counted once, over the items checked"
grep -q "in any of the 2 files: the union of the items" "$T/r.md" && grep -q "Documents dropped by the rule: 3;" "$T/r.md"
ok $? "and the documents the rule dropped, summed over the files"
bin/bonsai-report --html -o "$T/c.html" "$R" && grep -q "<tr><td>PIQA</td><td>3</td><td>8</td><td>37.50</td><td>2</td></tr>" "$T/c.html"
ok $? "--html: the same contamination figures"
cp -r "$R" "$T/old"
sed -i 's/, "matched": \[[0-9, ]*\]//' "$T/old/clean/a.stats.json" "$T/old/clean/b.stats.json"
bin/bonsai-report -o "$T/old.md" "$T/old" && grep -qxF "| PIQA | at most 4 | 8 | 50.00 | 2 |" "$T/old.md" &&
	grep -q "the sum of each file's count (at most" "$T/old.md"
ok $? "stats without the item lists: the per-file counts summed, said to be an upper bound"
sed -i 's/"items": 10,/"items": 11,/' "$T/old/clean/b.stats.json"
run bin/bonsai-report "$T/old"
fails_with 1 "b.stats.json: piqa has 11 items" "files filtered against different sets: exit 1, named"
cp -r "$R" "$T/none"
sed -i '/decontamination/,$d; s/},$/}}/' "$T/none/clean/a.stats.json" "$T/none/clean/b.stats.json"
bin/bonsai-report -o "$T/none.md" "$T/none" && grep -q "not checked for benchmark items" "$T/none.md" && ! grep -q "| PIQA | " "$T/none.md"
ok $? "no --decontaminate in the filter: the report says so"
sed -i 's/}}$/},\n "decontamination": {"tasks": {}}}/' "$T/none/clean/b.stats.json"
run bin/bonsai-report "$T/none"
fails_with 1 "b.stats.json has a \"decontamination\" and clean/a.stats.json none" "one file decontaminated and one not: exit 1, named"

# A metrics file cut off mid-line (a training killed, or still writing):
# no figure read from half a line ("tokens":72 of "tokens":7200000).
cp -r "$R" "$T/cut"
head -n 1 "$R/train/metrics.jsonl" > "$T/cut/train/metrics.jsonl"
printf '{"step":2,"tokens":72' >> "$T/cut/train/metrics.jsonl"
run bin/bonsai-report -o "$T/cut.md" "$T/cut"
fails_with 1 "metrics.jsonl:2: the last line is cut off" "a last line cut off: exit 1, file and line named"
[ ! -e "$T/cut.md" ]
ok $? "and no report"
printf '{"step":2,"tokens":7200000,"loss":6.0,"ms":1e999}\n{"step":3}\n' > "$T/cut/train/metrics.jsonl"
run bin/bonsai-report "$T/cut"
fails_with 1 'metrics.jsonl:1: "ms" is not a finite number' "a step whose ms is not a finite number: exit 1, named"
# a line of tokens alone is no step of bonsai-train's (bonsai-plot's reader)
printf '{"step":2,"tokens":7200000,"ms":1}\n' > "$T/cut/train/metrics.jsonl"
run bin/bonsai-report "$T/cut"
fails_with 1 'metrics.jsonl:1: a step with no "loss"' "a step with no loss, not skipped: exit 1, named"
printf '{"step":1e300,"tokens":7200000,"loss":6.0,"ms":1}\n' > "$T/cut/train/metrics.jsonl"
run bin/bonsai-report "$T/cut"
fails_with 1 'metrics.jsonl:1: not a line of bonsai-train.*step number' "a step of 1e300 (no long holds it): exit 1, named"
# Resumed by hand as bonsai-train(1) shows (--resume >> metrics.jsonl):
# step 1 (half an hour), steps 2 and 3 of a killed attempt (1.5 hours
# each), then the resumed steps 2 and 3 (1 hour each). The newer lines
# count: 10.8M tokens in 2.5 hours, not in 5.5 (steady, after the first
# step: 1,000 tokens/s); the validation of the killed attempt is gone.
cp -r "$R" "$T/resumed"
m=$T/resumed/train/metrics.jsonl
{
	head -n 1 "$R/train/metrics.jsonl"
	echo '{"step":2,"tokens":7200000,"loss":6.1,"ms":5400000}'
	echo '{"step":3,"tokens":10800000,"loss":6.1,"ms":5400000}'
	echo '{"step":3,"val_loss":9.5,"val_tokens":100}'
	echo '{"step":2,"tokens":7200000,"loss":6.0,"ms":3600000}'
	echo '{"step":3,"tokens":10800000,"loss":5.9,"ms":3600000}'
} > "$m"
bin/bonsai-report --peak-flops 1 -o "$T/resumed.md" "$T/resumed" &&
	grep -qxF "| tokens seen | 10,800,000 |" "$T/resumed.md" &&
	grep -qxF "| tokens/s over all the steps' time (the first step's start-up included) | 1,200 |" "$T/resumed.md" &&
	grep -qxF "| tokens/s, steady (median of the steps after the first) | 1,000 |" "$T/resumed.md" &&
	grep -qxF "| training steps' time, s | 9000.0 |" "$T/resumed.md" &&
	grep -qxF "| GPU hours (training steps) | 2.500 |" "$T/resumed.md" &&
	grep -qxF "| last validation loss while training | n/a |" "$T/resumed.md"
ok $? "steps repeated after a resume: the newer lines replace them" ||
	diag "$(grep "tokens\|time\|GPU hours\|validation" "$T/resumed.md")"

# bonsai-plot counts a resume's steps as bonsai-report does (one rule,
# lib/metrics_log): steps 1-6 (a validation every 3) of 1 s each; resumed
# at 2 (steps 3-7 again, the validation at 3 and 6 again); resumed at 5
# with step 6 skipped, then 7 and 8. Kept: 1, 2, 3-5 of the first resume,
# 6 (skipped, untimed), 7 and 8 of the second: 7 timed steps, 7 s, 7
# points of loss; one validation left, the first resume's at 3 (4.5).
cp -r "$R" "$T/twice"
m=$T/twice/train/metrics.jsonl
awk 'function step(s, l) { printf "{\"step\":%d,\"tokens\":%d,\"loss\":%s,\"ms\":1000}\n", s, 1000 * s, l }
	function val(s, l) { printf "{\"step\":%d,\"val_loss\":%s}\n", s, l }
	BEGIN {
		for (s = 1; s <= 6; s++) { step(s, 9); if (s % 3 == 0) val(s, 9.5) }
		for (s = 3; s <= 7; s++) { step(s, 4); if (s % 3 == 0) val(s, 4.5) }
		printf "{\"step\":6,\"tokens\":6000,\"skipped\":true}\n"
		step(7, 2); step(8, 2)
	}' > "$m"
bin/bonsai-report -o "$T/twice.md" "$T/twice" && bin/bonsai-plot -o "$T/twice.svg" "$m"
ok $? "a file resumed twice: bonsai-report and bonsai-plot take it"
points=$(sed -n 's/.*class="loss-raw".* points="\([^"]*\)".*/\1/p' "$T/twice.svg" | wc -w)
seconds=$(sed -n "s/^| training steps' time, s | \([0-9]*\)\.0 |$/\1/p" "$T/twice.md")
vals=$(grep -c 'class="val-point"' "$T/twice.svg")
[ "$points" = 7 ] && [ "$seconds" = 7 ] && [ "$vals" = 1 ] &&
	grep -qxF "| last validation loss while training | 4.5000 |" "$T/twice.md"
ok $? "... and agree on its steps: $points points of loss, $seconds s of 7 timed steps, $vals validation" ||
	diag "$(grep "time\|validation" "$T/twice.md")"

# Numbers out of their range: refused by name, not shown as a count of
# -9223372036854775808 items (1e300 converted to long) or as 485%
cp -r "$R" "$T/range"
tj=$T/range/eval/tasks.json
sed -i 's/"n": 8}/"n": 1e300}/' "$tj"
run bin/bonsai-report "$T/range"
fails_with 1 'tasks.json: piqa: "n" is not a number of items' '"n": 1e300 in tasks.json: exit 1, named'
sed -i 's/"n": 1e300}/"n": 8}/; s/"acc,none": 0.625/"acc,none": 6.25/' "$tj"
run bin/bonsai-report "$T/range"
fails_with 1 'tasks.json: piqa: "acc,none" is not a fraction from 0 to 1' 'an accuracy of 6.25: exit 1, named'
sed -i 's/"acc,none": 6.25/"acc,none": null/; s/, "n": 8}/}/' "$tj"
bin/bonsai-report -o "$T/range.md" "$T/range" && grep -qxF "| PIQA acc / acc_norm, % | n/a / 50.00 | 62.08 |" "$T/range.md"
ok $? "an accuracy of null: n/a; no \"n\": no count of items (not '0 items')" || diag "$(grep PIQA "$T/range.md")"
sed -i 's/"items_unchecked": 2,/"items_unchecked": 1e300,/' "$T/range/clean/b.stats.json"
run bin/bonsai-report "$T/range"
fails_with 1 'b.stats.json: piqa: "items_unchecked" is not a number of items from 0 to 10' 'items_unchecked 1e300: exit 1, named'
sed -i 's/"items_unchecked": 1e300,/"items_unchecked": 3,/' "$T/range/clean/b.stats.json"
run bin/bonsai-report "$T/range"
fails_with 1 'b.stats.json: piqa has 10 items, 3 unchecked, the files before 10 and 2' 'another items_unchecked in another file: the sets differ, exit 1'

# make run with TASKS= empty: its tasks stamp is empty, and there is no
# tasks.json to read (one left from an earlier TASKS is not this run's);
# with a tasks stamp that names a command, a missing tasks.json is a run
# not finished
cp -a "$R" "$T/notasks"
echo "tasks: " > "$T/notasks/settings/tasks"
run bin/bonsai-report "$T/notasks"
[ "$rc" -eq 0 ] && grep -q "^No zero-shot tasks were evaluated: make run's TASKS was empty" "$T/out" &&
	! grep -q "PIQA acc" "$T/out"
ok $? "TASKS= (an empty tasks stamp): no task rows, a line saying none were asked for, its old tasks.json unread" ||
	diag "$(head -n 3 "$T/err")"
rm "$T/notasks/eval/tasks.json"
run bin/bonsai-report "$T/notasks"
[ "$rc" -eq 0 ] && grep -q "^No zero-shot tasks were evaluated" "$T/out"
ok $? "and without a tasks.json"
echo "tasks: bin/bonsai-eval tasks piqa -q -m {RUN_DIR}/train" > "$T/notasks/settings/tasks"
run bin/bonsai-report "$T/notasks"
fails_with 1 "eval/tasks.json" "a tasks stamp naming a command and no tasks.json: exit 1, named"

rm "$R/eval/ppl.json"
run bin/bonsai-report -o "$T/x.md" "$R"
fails_with 1 "eval/ppl.json" "a missing input: exit 1, named"
[ ! -e "$T/x.md" ]
ok $? "and no output"
echo '{"loss": 2.5,' > "$R/eval/ppl.json"
run bin/bonsai-report "$R"
fails_with 1 "eval/ppl.json: " "malformed JSON: exit 1, named"
run bin/bonsai-report "$R/eval/ppl.json"
fails_with 1 "^bonsai-report: $R/eval/ppl.json: not a directory \(a run folder made by make run\)\$" "a file for the folder: not a directory, a run folder expected"
run bin/bonsai-report
fails_with 2 "one run folder" "no folder: usage error"
done_testing
