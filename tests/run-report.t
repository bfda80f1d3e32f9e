#!/bin/sh
# bonsai-report on a run folder written by hand, with figures worked out
# here: tokens/s over the steps' own time, GPU hours, MFU from the model's
# FLOPs per token (the gemma3_tiny fixture: N = 255,744 parameters counted
# by hand, 6 N + 12 Hq hd (5 x 8 + 32) = 1,589,760 at --seq 32), the
# filter's counts summed over files, a stage's time counting a target's
# last record only; then bad input.
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
echo '{"documents_in": 10, "documents_out": 7, "dropped": 3, "dropped_by_reason": {"too-short": 1, "duplicate": 2}}' > "$R/clean/a.stats.json"
echo '{"documents_in": 5, "documents_out": 4, "dropped": 1, "dropped_by_reason": {"too-short": 0, "duplicate": 1}}' > "$R/clean/b.stats.json"
printf 'list\tfiles.tsv\t1.0\nfetch\tdocs/a\t2.0\nfetch\tdocs/b\t3.0\nfetch\tdocs/a\t4.0\n' > "$R/repro/times.tsv"
printf 'commit: abc\ngpu: Some GPU, 80 GiB (1 found)\n' > "$R/repro/environment.txt"

run bin/bonsai-report --peak-flops 3.17952e9 -o "$T/r.md" "$R"
ok $rc "bonsai-report exits 0"
has() { grep -qxF -- "$1" "$T/r.md" || { echo "# not in the report: $1"; return 1; }; }
has "| validation loss | 2.5000 | 3.1719 |" && has "| perplexity | 12.18 | 23.85 |"
ok $? "loss and perplexity beside the seed's"
has "| PIQA acc / acc_norm, % (8 items) | 62.50 / 50.00 | 62.08 |" &&
	has "| mytask acc / acc_norm, % (4 items) | 25.00 / 75.00 | - |"
ok $? "each task's accuracies, the seed's where it has one"
has "| tokens seen | 7,200,000 |" && has "| tokens/s | 2,000 |" && has "| training tokens/s | 2,000 | 20,085 |"
ok $? "tokens seen and tokens/s (7.2M tokens in 3600 s of steps)"
has "| parameters | 255,744 |" && has "| FLOPs per token (6N + attention) | 1.59e+06 |"
ok $? "parameters and FLOPs per token of the model"
has "| MFU | 100.0% (peak 3.18e+09 FLOP/s) |" && has "| GPU hours (training steps) | 1.000 |"
ok $? "MFU and GPU hours"
has "| read | 15 |" && has "| kept | 11 |" && has "| dropped: duplicate | 3 |" && has "| dropped: too-short | 1 |"
ok $? "the filter's counts summed over the files"
has "| fetch | 7.0 |" && has "| list | 1.0 |"
ok $? "wall time per stage, a target made again counted once"
has "| last validation loss while training | 5.7500 |"
ok $? "the last validation loss of the metrics"

bin/bonsai-report -o "$T/n.md" "$R" && grep -qxF "| MFU | n/a (peak FLOP/s of this GPU unknown: make run PEAK_FLOPS=...) |" "$T/n.md"
ok $? "an unknown GPU: no MFU, and how to give its peak"
sed -i 's/Some GPU/NVIDIA H100 80GB HBM3/' "$R/repro/environment.txt"
bin/bonsai-report -o "$T/h.md" "$R" && grep -q "^| MFU | 0.0% (peak 9.89e+14 FLOP/s) |$" "$T/h.md"
ok $? "an H100: its peak from environment.txt"

bin/bonsai-report --html -o "$T/r.html" "$R" && grep -q "<td>7,200,000</td>" "$T/r.html" &&
	grep -q "<td>mytask acc / acc_norm, % (4 items)</td>" "$T/r.html"
ok $? "--html: the same figures"

rm "$R/eval/ppl.json"
run bin/bonsai-report -o "$T/x.md" "$R"
fails_with 1 "eval/ppl.json" "a missing input: exit 1, named"
[ ! -e "$T/x.md" ]
ok $? "and no output"
echo '{"loss": 2.5,' > "$R/eval/ppl.json"
run bin/bonsai-report "$R"
fails_with 1 "eval/ppl.json: " "malformed JSON: exit 1, named"
run bin/bonsai-report
fails_with 2 "one run folder" "no folder: usage error"
done_testing
