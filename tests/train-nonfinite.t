#!/bin/sh
# A NaN or Inf loss stops the run, naming the step and the newest checkpoint,
# without saving the bad state; --skip-nonfinite skips such a step (no
# update) and stops after 10 in a row.
. tests/train-common.sh
train_setup
make_byte_shards "$T/data" 30000 5 || { ok 1 "making shards"; done_testing; exit 1; }
write_small_config "$T/small.json"
A="--data $T/data --model $T/small.json --seq 32 --batch-tokens 128 --lr 3e-3 --warmup 2
   --device cpu -q"

# A real NaN: one weight of the final norm set to NaN makes every logit NaN.
bin/bonsai-train $A -o "$T/r" --steps 1 > /dev/null 2> "$T/err" &&
	bin/bonsai-train export "$T/r" -o "$T/x" 2>> "$T/err" ||
	{ ok 1 "a run to export: $(cat "$T/err")"; done_testing; exit 1; }
perl -e '
	open(my $f, "+<:raw", $ARGV[0]) or die "$ARGV[0]: $!";
	read($f, my $n, 8) == 8 or die "short";
	my $len = unpack("Q<", $n);
	read($f, my $h, $len) == $len or die "short header";
	$h =~ /"model\.norm\.weight"\s*:\s*\{[^}]*"data_offsets"\s*:\s*\[\s*(\d+)/ or die "no norm";
	seek($f, 8 + $len + $1, 0) or die;
	print $f pack("L<", 0x7fc00000) or die;
	close($f) or die;' "$T/x/model.safetensors" 2> "$T/err" ||
	{ ok 1 "patching the export: $(cat "$T/err")"; done_testing; exit 1; }
bin/bonsai-train $A --init "$T/x" -o "$T/n" --steps 5 > "$T/n.log" 2> "$T/err"
rc=$?
[ $rc -eq 1 ] && grep -q "step 1: the loss (nan)" "$T/err" && grep -q "no checkpoint was saved" "$T/err" &&
	[ ! -s "$T/n.log" ] && ! ls "$T/n"/ckpt-* > /dev/null 2>&1
ok $? "a NaN weight: stops at step 1, exit 1, nothing saved" || diag "NaN weight: exit $rc $(cat "$T/err") $(ls "$T/n")"

bin/bonsai-train $A --init "$T/x" -o "$T/n2" --steps 12 --skip-nonfinite > "$T/n2.log" 2> "$T/err"
rc=$?
[ $rc -eq 1 ] && grep -q "step 10: .*(10 steps in a row)" "$T/err" &&
	[ "$(grep -c '"skipped":true' "$T/n2.log")" -eq 9 ]
ok $? "--skip-nonfinite: 10 non-finite steps in a row stop the run" || diag "skip with a NaN weight: exit $rc $(cat "$T/err")"

# A non-finite step in the middle of a run (the test hook makes step 7's loss NaN).
bin/bonsai-train $A -o "$T/a" --steps 10 --save-every 0 > "$T/a.log" 2> "$T/err" ||
	echo "# clean run failed: $(cat "$T/err")"
BONSAI_TRAIN_FAULT_NAN=7 bin/bonsai-train $A -o "$T/f" --steps 10 --save-every 5 \
	> "$T/f.log" 2> "$T/err"
rc=$?
[ $rc -eq 1 ] && grep -q "step 7: the loss (nan)" "$T/err" &&
	grep -q "Last good checkpoint: $T/f/ckpt-00000005.safetensors" "$T/err" &&
	[ "$(wc -l < "$T/f.log")" -eq 6 ] && [ ! -e "$T/f/ckpt-00000007.safetensors" ]
ok $? "a NaN at step 7: exit 1, names the step-5 checkpoint, saves nothing more" || diag "NaN at step 7: exit $rc $(cat "$T/err")"
losses "$T/a.log" | head -6 > "$T/a6"
losses "$T/f.log" > "$T/f6"
cmp -s "$T/a6" "$T/f6"
ok $? "the steps before it are those of a clean run" || diag "losses before the NaN differ"

BONSAI_TRAIN_FAULT_NAN=7 bin/bonsai-train $A -o "$T/s" --steps 10 --save-every 0 \
	--skip-nonfinite > "$T/s.log" 2> "$T/err"
rc=$?
[ $rc -eq 0 ] && [ "$(wc -l < "$T/s.log")" -eq 10 ] &&
	sed -n 7p "$T/s.log" | grep -q '"step":7,.*"skipped":true' &&
	grep -q "1 step(s) skipped" "$T/err"
ok $? "--skip-nonfinite: step 7 skipped, the run finishes, exit 0" || diag "skip: exit $rc $(cat "$T/err")"
losses "$T/s.log" | head -6 > "$T/s6"
cmp -s "$T/a6" "$T/s6"
ok $? "steps 1-6 equal the clean run's" || diag "losses before the skip differ"

# Skipped means not applied: the parameters after step 7 are those after step 6.
bin/bonsai-train $A -o "$T/p6" --steps 10 --stop-at 6 > /dev/null 2> "$T/err" &&
	BONSAI_TRAIN_FAULT_NAN=7 bin/bonsai-train $A -o "$T/p7" --steps 10 --stop-at 7 \
		--skip-nonfinite > /dev/null 2>> "$T/err" &&
	bin/bonsai-train export "$T/p6" -o "$T/e6" 2>> "$T/err" &&
	bin/bonsai-train export "$T/p7" -o "$T/e7" 2>> "$T/err" &&
	bin/bonsai-train export "$T/a" -o "$T/ea" 2>> "$T/err" ||
	echo "# runs for test 7 failed: $(cat "$T/err")"
# (the tensors only: the metadata holds each run's training state)
for e in e6 e7 ea; do
	perl -e 'open(my $f, "<:raw", $ARGV[0]) or die; read($f, my $n, 8) == 8 or die;
		seek($f, 8 + unpack("Q<", $n), 0) or die; local $/; print <$f>' \
		"$T/$e/model.safetensors" > "$T/$e.tensors"
done
[ -s "$T/e6.tensors" ] && cmp -s "$T/e6.tensors" "$T/e7.tensors" && ! cmp -s "$T/e6.tensors" "$T/ea.tensors"
ok $? "a skipped step leaves the parameters unchanged" || diag "parameters after the skipped step differ from before it"
# The hook spoils only the loss, not the gradients: had step 7 been applied,
# step 8 would repeat the clean run's loss.
s8=$(grep '"step":8,' "$T/s.log" | sed 's/.*"loss":\([^,]*\),.*/\1/')
a8=$(grep '"step":8,' "$T/a.log" | sed 's/.*"loss":\([^,]*\),.*/\1/')
[ -n "$s8" ] && [ -n "$a8" ] && [ "$s8" != "$a8" ] && [ "$(losses "$T/s.log" | wc -l)" -eq 9 ]
ok $? "step 8 after the skip differs from the clean run's; 9 losses reported" || diag "step 8: $s8 vs clean $a8"
done_testing
