#!/bin/sh
# make run's burst (mk/train.sh, BURST_STEPS) estimates the training's
# hours from the steady tokens/s by bonsai-report's rule, the median of
# the steps' own rates after the first: on four steps of 1,000 tokens in
# 10, 0.5, 0.4 and 0.25 s, 2,500 tokens/s (the mean of the three after the
# first, 2,833, was the burst's before; the report said 2,500), so 36,000
# steps of 1,000 tokens take 4 hours. The trainer is a script that writes
# those lines for the burst and fails the training itself.
. tests/tap.sh

mkdir -p "$T/r/shards"
echo '{"format": "bonsai-shards"}' > "$T/r/shards/manifest"
cat > "$T/burst.jsonl" <<'J'
{"step":1,"tokens":1000,"loss":6.5,"lr":0.001,"grad_norm":1,"tokens_per_s":100.0,"ms":10000.0,"ranks":1}
{"step":2,"tokens":2000,"loss":6.4,"lr":0.001,"grad_norm":1,"tokens_per_s":2000.0,"ms":500.0,"ranks":1}
{"step":3,"tokens":3000,"loss":6.3,"lr":0.001,"grad_norm":1,"tokens_per_s":2500.0,"ms":400.0,"ranks":1}
{"step":4,"tokens":4000,"loss":6.2,"lr":0.001,"grad_norm":1,"tokens_per_s":4000.0,"ms":250.0,"ranks":1}
J
cat > "$T/trainer" <<S
case " \$* " in
*" --stop-at "*) cat "$T/burst.jsonl" ;;
*) echo "trainer: not a burst" >&2; exit 1 ;;
esac
S
run sh mk/train.sh "$T/r" 4 sh "$T/trainer" bin/bonsai-train --steps 36000 --device cpu -o "$T/r/train"
[ "$rc" -eq 1 ] && grep -q "trainer: not a burst" "$T/err"
ok $? "the burst, then the training (which this trainer fails)" || diag "exit $rc: $(cat "$T/err")"
grep -qxF "train: token budget 3.6e+07 tokens (36000 steps of 1000); 2500 tokens/s over a 4-step burst (the median of its steps after the first, a warm-up, as bonsai-report counts it) on cpu: about 4 hours on this machine" "$T/r/train/estimate.txt"
ok $? "the estimate: the median of the steps after the first, 2,500 tokens/s, 4 hours" ||
	diag "$(cat "$T/r/train/estimate.txt")"
[ "$(bin/bonsai-report --steady-rate "$T/burst.jsonl")" = 2500.0 ]
ok $? "bonsai-report --steady-rate of those lines: the same 2,500"
# lines the report reads but the burst cannot size a step from (the
# members in another order): the stage stops before the training, with no
# estimate file, instead of training on after an empty estimate
sed 's/^{"step":\([0-9]*\),"tokens":\([0-9]*\),/{"tokens":\2,"step":\1,/' "$T/burst.jsonl" > "$T/swapped.jsonl"
sed -i "s|$T/burst.jsonl|$T/swapped.jsonl|" "$T/trainer"
rm -rf "$T/r/train"
run sh mk/train.sh "$T/r" 4 sh "$T/trainer" bin/bonsai-train --steps 36000 --device cpu -o "$T/r/train"
[ "$rc" -eq 1 ] && grep -q "the burst measured nothing" "$T/err" && ! grep -q "not a burst" "$T/err" &&
	[ ! -e "$T/r/train/estimate.txt" ]
ok $? "a burst it cannot size: exit 1 before the training, no estimate file" ||
	diag "exit $rc: $(cat "$T/err"); $(ls "$T/r/train")"
head -n 1 "$T/burst.jsonl" > "$T/one.jsonl"
run bin/bonsai-report --steady-rate "$T/one.jsonl"
fails_with 1 "one.jsonl: fewer than two timed steps, no steady rate" "--steady-rate of one step: exit 1, named"
run bin/bonsai-report --steady-rate "$T/burst.jsonl" "$T/r"
fails_with 2 "no run folder" "--steady-rate and a run folder: usage error"
done_testing
