#!/bin/sh
# bonsai-train verify against the transformers fixture, and that it fails
# on a model that differs (a sliding window one wider).
. tests/train-common.sh
FX=$SHARED/fixtures/gemma3_tiny
[ -d "$FX" ] && FX=$(cd "$FX" && pwd)
train_setup train-verify "$FX/reference.safetensors"
echo 1..8

out=$(bin/bonsai-train verify "$FX" --device cpu)
rc=$?
echo "# $out"
[ $rc -eq 0 ] && echo "ok 1 - verify passes on the fixture (cpu)" || echo "not ok 1 - verify exit $rc"
case $out in
*'"pass":true'*'') echo "ok 2 - pass:true" ;;
*) echo "not ok 2 - no pass:true" ;;
esac
ok=1
for k in logits loss grad after_adamw; do
	case $out in *"\"$k\":"*) ;; *) ok=0 ;; esac
done
[ $ok = 1 ] && echo "ok 3 - every quantity reported" || echo "not ok 3 - a quantity is missing"

mkdir "$T/w9"
sed 's/"sliding_window": 8/"sliding_window": 9/' "$FX/config.json" > "$T/w9/config.json"
ln -s "$FX/model.safetensors" "$FX/reference.safetensors" "$T/w9/"
out=$(bin/bonsai-train verify "$T/w9" --device cpu 2>/dev/null)
rc=$?
case "$rc $out" in
'1 '*'"pass":false'*) echo "ok 4 - a window of 9 instead of 8 fails verify" ;;
*) echo "not ok 4 - window 9: exit $rc $out" ;;
esac

bin/bonsai-train export "$FX" -o "$T/exp" && [ -f "$T/exp/config.json" ] &&
	[ -f "$T/exp/model.safetensors" ] && echo "ok 5 - export of the fixture" || echo "not ok 5 - export"
ln -s "$FX/reference.safetensors" "$T/exp/"
bin/bonsai-train verify "$T/exp" --device cpu > /dev/null &&
	echo "ok 6 - the exported model verifies (config.json round trip)" || echo "not ok 6 - exported model fails verify"

bin/bonsai-train verify "$T/nonexistent" --device cpu 2> "$T/err"
rc=$?
[ $rc -eq 1 ] && grep -q nonexistent "$T/err" && echo "ok 7 - missing directory: clear error" ||
	echo "not ok 7 - missing directory: exit $rc"

# --device cuda either works or says clearly why not.
bin/bonsai-train verify "$FX" --device cuda > "$T/out" 2> "$T/err"
rc=$?
if [ $rc -eq 0 ] || grep -q -e "built without CUDA" -e "no usable GPU" "$T/err"; then
	echo "ok 8 - --device cuda: exit $rc $(head -c 200 "$T/err")"
else
	echo "not ok 8 - --device cuda: exit $rc $(cat "$T/err" "$T/out")"
fi
