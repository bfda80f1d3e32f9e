#!/bin/sh
# The tcp rendezvous of ranks started by hand (torchrun's variables, as on
# two hosts or under srun), as a user meets it when something is wrong:
# rank 0 alone, a rank that cannot reach rank 0, a port in use, a
# MASTER_ADDR that is not this host's, a process that claims a rank of
# another job, a stranger on the port (ignored), and a rank killed during
# training (its partner ends at once, naming it). Each fails within
# --dist-timeout, with exit 1 and the reason; none hangs.
. tests/tap.sh
. tests/train-common.sh

# The rendezvous comes before the data is read: with --data pointing at
# nothing, a rendezvous that succeeds ends in the data's error instead.
A="--data $T/none --model tiny -o $T/r --steps 1 --device cpu -q"
port=$((21000 + $$ % 19000))
rank() { # rank R WORLD PORT TIMEOUT: one rank, stderr in $T/errR
	r=$1
	RANK=$1 WORLD_SIZE=$2 MASTER_ADDR=${ADDR:-127.0.0.1} MASTER_PORT=$3 \
		bin/bonsai-train $A --dist-timeout "$4" > /dev/null 2> "$T/err$r"
}
timed() { t0=$(date +%s); "$@"; rc=$?; dt=$(($(date +%s) - t0)); }
# listening PORT: waits (up to 10 s) until a socket listens on PORT
listening() {
	i=0
	while ! grep -q ":$(printf '%04X' "$1") 00000000:0000 0A" /proc/net/tcp 2> /dev/null && [ $i -lt 100 ]; do
		sleep 0.1
		i=$((i + 1))
	done
}

timed rank 0 2 $port 1
[ $rc -eq 1 ] && [ $dt -le 4 ] &&
	grep -q "rank 0: only 1 of 2 ranks reached 127.0.0.1:$port within 1 s (missing: 1)" "$T/err0"
ok $? "rank 0 alone: exit 1 after the timeout ($dt s), naming the missing rank" || diag "$(cat "$T/err0")"

timed rank 1 2 $((port + 1)) 1
[ $rc -eq 1 ] && [ $dt -le 4 ] &&
	grep -q "rank 1: cannot reach rank 0 at 127.0.0.1:$((port + 1)) within 1 s" "$T/err1"
ok $? "rank 1 without rank 0: exit 1 after the timeout ($dt s), naming the address" || diag "$(cat "$T/err1")"

# the port taken by another job's rank 0 (waiting for its rank 1)
p=$((port + 2))
rank 0 2 $p 5 &
other=$!
listening $p
timed sh -c "RANK=0 WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=$p bin/bonsai-train $A --dist-timeout 1 2> '$T/in-use'"
kill $other 2> /dev/null
wait $other 2> /dev/null
[ $rc -eq 1 ] && [ $dt -le 2 ] &&
	grep -q "rank 0: port $p on 127.0.0.1 is in use (another job? set another MASTER_PORT)" "$T/in-use"
ok $? "a port in use: exit 1 at once, saying so" || diag "$(cat "$T/in-use")"

# TEST-NET-1 (RFC 5737): an address no host here has
ADDR=192.0.2.1 timed rank 0 2 $((port + 3)) 1
[ $rc -eq 1 ] && grep -q "MASTER_ADDR 192.0.2.1 is not an address of this host (rank 0 listens on it)" "$T/err0"
ok $? "rank 0 with another host's MASTER_ADDR: exit 1, saying rank 0 listens there" || diag "$(cat "$T/err0")"

# a process of a job of 3 at this job's port
p=$((port + 4))
rank 0 2 $p 5 &
zero=$!
listening $p
rank 1 3 $p 2
wait $zero
rc=$?
[ $rc -eq 1 ] && grep -q "rank 0: a process says it is rank 1 of 3, but this job has 2 ranks" "$T/err0"
ok $? "a rank of another job's size: rank 0 refuses it, naming both sizes" || diag "$(cat "$T/err0")"

# a stranger that connects and says nothing of ours is dropped; the job's
# own rank 1 then joins. Met, both ranks stop at the missing data; rank 0
# says so, or, when rank 1 stopped first, that rank 1 ended.
if command -v bash > /dev/null; then
	p=$((port + 5))
	rank 0 2 $p 10 &
	zero=$!
	listening $p
	bash -c "exec 3<>/dev/tcp/127.0.0.1/$p && printf 'GET / HTTP/1.0\r\n\r\n' >&3 && exec 3>&-" 2> /dev/null
	stranger=$?
	rank 1 2 $p 10
	wait $zero
	rc=$?
	[ $stranger -eq 0 ] && [ $rc -eq 1 ] &&
		grep -q "$T/none\|rank 0: rank 1 ended (connection to it closed)" "$T/err0" &&
		! grep -q "ranks reached\|a process says\|cannot reach" "$T/err0"
	ok $? "a stranger on the port is dropped: the ranks meet (and stop at the missing data)" ||
		diag "$(cat "$T/err0")"
else
	skip "no bash for a /dev/tcp stranger"
fi

# rank 1 killed by a signal mid-run: rank 0 ends within a few seconds
[ -f "$TS" ] || { echo "# SKIP the rest: $TS absent"; done_testing; exit; }
make_byte_shards "$T/data" 100000 20 > /dev/null 2>&1 || { echo "# SKIP the rest: no shards"; done_testing; exit; }
write_small_config "$T/small.json"
B="--data $T/data --model $T/small.json --steps 100000 --seq 32 --batch-tokens 256 --micro-batch 2
   --device cpu -q --save-every 0"
p=$((port + 6))
RANK=1 WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=$p bin/bonsai-train $B -o "$T/k" > /dev/null 2> "$T/k1.err" &
one=$!
RANK=0 WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=$p bin/bonsai-train $B -o "$T/k" > "$T/k.log" 2> "$T/k0.err" &
zero=$!
wait_lines "$T/k.log" 3
kill -9 $one
timed wait $zero
# (its watchdog says it, or a collective that was waiting on rank 1 does)
[ $rc -eq 1 ] && [ $dt -le 5 ] && grep -q "rank 1 ended (.*connection.* closed)" "$T/k0.err"
ok $? "rank 1 killed mid-run: rank 0 ends in $dt s, exit $rc, naming it" || diag "$(cat "$T/k0.err")"
[ -z "$(ls "$T/k" 2> /dev/null | grep ckpt)" ]
ok $? "and leaves no checkpoint"

done_testing
