#!/bin/sh
# Writes uncompressed shards from a 1 GB token stream and compares with the
# disk's own speed (dd with fsync of the same bytes), in the same run.
# usage: bench/shard_speed.sh [DIR]   (DIR: where to write, default /tmp)
set -eu
dir=${1:-/tmp}/bonsai-shard-bench.$$
mkdir -p "$dir"
trap 'rm -rf "$dir"' EXIT
make -s all >/dev/null
build/tests/tools/mkstream --random 500000000 1000 50000 >"$dir/stream"
bytes=$(stat -c %s "$dir/stream")
sync
t0=$(date +%s.%N)
dd if="$dir/stream" of="$dir/copy" bs=1M conv=fsync 2>/dev/null
t1=$(date +%s.%N)
rm -f "$dir/copy"; sync
bin/bonsai-shard -q -o "$dir/shards" "$dir/stream"
t2=$(date +%s.%N)
echo "$bytes $t0 $t1 $t2" | awk '{ mb = $1 / 1e6; printf "dd (fsync):      %.0f MB/s\nbonsai-shard -o: %.0f MB/s (%.0f M tokens/s)\n", mb / ($3 - $2), mb / ($4 - $3), 500 / ($4 - $3) }'
