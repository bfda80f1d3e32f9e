#!/bin/sh
# bonsai-tokenize encode does not write its binary token stream to a
# terminal (a pseudo-terminal through script(1)); --ids and -o still work
# there, and a pipe gets the stream.
# (train-common.sh brings tap.sh and the byte tokenizer)
. tests/train-common.sh
if ! command -v script > /dev/null; then
	echo "1..0 # SKIP script(1) (util-linux) not installed"
	exit 0
fi
make_byte_tokenizer "$T/bytes.tiktoken"
printf '{"text":"hello"}\n' > "$T/d.jsonl"
E="bin/bonsai-tokenize encode -t $T/bytes.tiktoken --pattern r50k_base --no-bos -q"

script -qefc "$E $T/d.jsonl; echo rc=\$?" /dev/null < /dev/null > "$T/tty" 2>&1
grep -q "rc=1" "$T/tty" && grep -q "binary token stream" "$T/tty" && ! grep -q "BTOK\|hello" "$T/tty"
ok $? "the stream to a terminal: refused, exit 1, nothing written"
script -qefc "$E --ids $T/d.jsonl; echo rc=\$?" /dev/null < /dev/null > "$T/tty2" 2>&1
grep -q "rc=0" "$T/tty2" && grep -q "^104 101 108 108 111" "$T/tty2"
ok $? "--ids (text) to a terminal is fine"
script -qefc "$E -o $T/s $T/d.jsonl; echo rc=\$?" /dev/null < /dev/null > "$T/tty3" 2>&1
grep -q "rc=0" "$T/tty3" && [ -s "$T/s" ]
ok $? "-o FILE from a terminal is fine"
$E "$T/d.jsonl" | cmp -s - "$T/s"
ok $? "a pipe gets the same stream"
done_testing
