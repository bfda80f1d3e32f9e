#!/bin/sh
# bonsai-train verify against the transformers fixture, and that it fails
# on a model that differs (a sliding window one wider).
. tests/train-common.sh
FX=$SHARED/fixtures/gemma3_tiny
[ -d "$FX" ] && FX=$(cd "$FX" && pwd)
train_setup "$FX/reference.safetensors"

out=$(bin/bonsai-train verify "$FX" --device cpu)
rc=$?
diag "$out"
[ $rc -eq 0 ]
ok $? "verify passes on the fixture (cpu)" || diag "verify exit $rc"
case $out in
*'"pass":true'*'') ok 0 "pass:true" ;;
*) ok 1 "pass:true" ;;
esac
all=1
for k in logits loss grad after_adamw; do
	case $out in *"\"$k\":"*) ;; *) all=0 ;; esac
done
[ $all = 1 ]
ok $? "every quantity reported"

mkdir "$T/w9"
sed 's/"sliding_window": 8/"sliding_window": 9/' "$FX/config.json" > "$T/w9/config.json"
ln -s "$FX/model.safetensors" "$FX/reference.safetensors" "$T/w9/"
out=$(bin/bonsai-train verify "$T/w9" --device cpu 2>/dev/null)
rc=$?
case "$rc $out" in
'1 '*'"pass":false'*) ok 0 "a window of 9 instead of 8 fails verify" ;;
*) ok 1 "a window of 9 instead of 8 fails verify"; diag "window 9: exit $rc $out" ;;
esac

bin/bonsai-train export "$FX" -o "$T/exp" && [ -f "$T/exp/config.json" ] &&
	[ -f "$T/exp/model.safetensors" ]
ok $? "export of the fixture"
ln -s "$FX/reference.safetensors" "$T/exp/"
bin/bonsai-train verify "$T/exp" --device cpu > /dev/null
ok $? "the exported model verifies (config.json round trip)"

bin/bonsai-train verify "$T/nonexistent" --device cpu 2> "$T/err"
rc=$?
[ $rc -eq 1 ] && grep -q nonexistent "$T/err"
ok $? "missing directory: clear error" || diag "exit $rc"

# A bad tolerance is named as the option it was given as
run bin/bonsai-train verify "$FX" --device cpu --tol-loss abc
fails_with 2 "^bonsai-train: --tol-loss: 'abc' is not a number" "--tol-loss abc: named with its dashes"

# --device cuda either works or says clearly why not.
bin/bonsai-train verify "$FX" --device cuda > "$T/out" 2> "$T/err"
rc=$?
[ $rc -eq 0 ] || grep -q -e "built without CUDA" -e "no usable GPU" "$T/err"
ok $? "--device cuda: exit $rc $(head -c 200 "$T/err")" || diag "$(cat "$T/out")"
done_testing
