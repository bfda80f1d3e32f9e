#!/bin/sh
# bonsai-train's manners: --help, --version, usage errors exit 2.
T=$(mktemp -d /tmp/train-cli.XXXXXX)
trap 'rm -rf "$T"' EXIT
echo 1..14
bin/bonsai-train --help > "$T/out" && grep -q "^usage: bonsai-train" "$T/out" &&
	echo "ok 1 - --help on stdout, exit 0" || echo "not ok 1 - --help"
bin/bonsai-train --version > "$T/out" && [ -s "$T/out" ] && echo "ok 2 - --version" || echo "not ok 2 - --version"
bin/bonsai-train 2> "$T/err"
[ $? -eq 2 ] && grep -q "data" "$T/err" && echo "ok 3 - no arguments: usage error" || echo "not ok 3 - no arguments"
bin/bonsai-train --data x --model tiny -o "$T/r" --steps 1 --schedule linear 2> "$T/err"
[ $? -eq 2 ] && grep -q "schedule" "$T/err" && echo "ok 4 - bad --schedule: exit 2" || echo "not ok 4 - bad --schedule"
bin/bonsai-train --data x --model tiny -o "$T/r" --steps 1 --seq 100 --batch-tokens 150 2> "$T/err"
[ $? -eq 2 ] && grep -q "multiple" "$T/err" && echo "ok 5 - --batch-tokens not a multiple of --seq: exit 2" ||
	echo "not ok 5 - batch-tokens: $(cat "$T/err")"
bin/bonsai-train --data "$T/none" --model tiny -o "$T/r" --steps 1 2> "$T/err"
[ $? -eq 1 ] && grep -q "none" "$T/err" && echo "ok 6 - missing data directory: exit 1, named" ||
	echo "not ok 6 - missing data: $(cat "$T/err")"
bin/bonsai-train verify 2> "$T/err"
[ $? -eq 2 ] && echo "ok 7 - verify without a directory: exit 2" || echo "not ok 7 - verify usage"
BONSAI_DEVICE=tpu bin/bonsai-train --data x --model tiny -o "$T/r" --steps 1 2> "$T/err"
[ $? -eq 2 ] && grep -q "BONSAI_DEVICE: 'tpu'" "$T/err" && echo "ok 8 - BONSAI_DEVICE=tpu: exit 2, named" ||
	echo "not ok 8 - BONSAI_DEVICE=tpu: $(cat "$T/err")"
bin/bonsai-train --data x --model tiny -o "$T/r" --steps 1 --device tpu 2> "$T/err"
[ $? -eq 2 ] && grep -q "tpu" "$T/err" && echo "ok 9 - --device tpu: exit 2" ||
	echo "not ok 9 - --device tpu: $(cat "$T/err")"
echo "1 2 3" | ${BUILD:-build}/tests/tools/mkstream 10 | bin/bonsai-shard -q -o "$T/d" -n 2
bin/bonsai-train --data "$T/d" --model "$T/nosuch.json" -o "$T/r" --steps 1 2> "$T/err"
[ $? -eq 1 ] && grep -q "nosuch.json: neither a preset (tiny, .*small) nor a config.json file" "$T/err" &&
	echo "ok 10 - --model neither a preset nor a file: says so, lists the presets" ||
	echo "not ok 10 - --model nosuch: $(cat "$T/err")"
bin/bonsai-train --help | grep -q -- "--skip-nonfinite" && echo "ok 11 - --help names --skip-nonfinite" ||
	echo "not ok 11 - --help lacks --skip-nonfinite"
bin/bonsai-train --data "$T/d" --model tiny -o "$T/r" --steps 1 --skip-nonfinite=yes 2> "$T/err"
[ $? -eq 2 ] && grep -q "skip-nonfinite" "$T/err" && echo "ok 12 - --skip-nonfinite=yes: exit 2, named" ||
	echo "not ok 12 - --skip-nonfinite=yes: $(cat "$T/err")"
bin/bonsai-train verify "$T" --device tpu 2> "$T/err"
[ $? -eq 2 ] && grep -q -- "--device: 'tpu' is not cpu or cuda" "$T/err" &&
	echo "ok 13 - verify --device tpu: exit 2, named" || echo "not ok 13 - verify --device tpu: $(cat "$T/err")"
BONSAI_DEVICE=cpu bin/bonsai-train --data x --model tiny -o "$T/r" --steps 1 --device tpu 2> "$T/err"
[ $? -eq 2 ] && grep -q -- "--device: 'tpu'" "$T/err" &&
	echo "ok 14 - --device tpu with BONSAI_DEVICE=cpu: the option is checked, exit 2" ||
	echo "not ok 14 - --device tpu over BONSAI_DEVICE: $(cat "$T/err")"
