#!/bin/sh
# bench/fetch.sh - parquet -> JSON Lines speed of bonsai-fetch on the two
# fineweb-edu/sample/10BT fixture files, and of DuckDB doing the same
# (COPY (SELECT * FROM read_parquet(...)) TO ... (FORMAT json)) when its
# Node package is installed: `npm install @duckdb/node-api` in a directory
# named by DUCKDB_NODE_DIR (default /tmp/duck). Runs alternate, best of N.
set -e
N=${N:-5}
FIX=${BONSAI_SHARED:-../shared}/fixtures/fineweb-edu/sample/10BT
A=$(realpath "$FIX/000_00000.parquet"); B=$(realpath "$FIX/001_00000.parquet")
OUT=${TMPDIR:-/tmp}/fetch-bench.$$
trap 'rm -f "$OUT".*' EXIT
DD=${DUCKDB_NODE_DIR:-/tmp/duck}
in_bytes=$(($(stat -c %s "$A") + $(stat -c %s "$B")))
best() { sort -n | head -n 1; }
: > "$OUT.ours"; : > "$OUT.duck"
have_duck=0
[ -d "$DD/node_modules/@duckdb/node-api" ] && command -v node >/dev/null && have_duck=1
cat > "$OUT.mjs" <<EOJ
import { DuckDBInstance } from '$DD/node_modules/@duckdb/node-api/lib/index.js';
const inst = await DuckDBInstance.create(':memory:');
const con = await inst.connect();
const t0 = performance.now();
await con.run("COPY (SELECT * FROM read_parquet(['$A','$B'])) TO '$OUT.duck.json' (FORMAT json)");
console.log(((performance.now() - t0) / 1000).toFixed(3));
EOJ
for i in $(seq 1 "$N"); do
	t0=$(date +%s.%N)
	bin/bonsai-fetch -q "$A" "$B" > "$OUT.json"
	t1=$(date +%s.%N)
	awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f\n", b - a }' >> "$OUT.ours"
	[ $have_duck = 1 ] && node "$OUT.mjs" >> "$OUT.duck"
done
docs=$(wc -l < "$OUT.json"); out_bytes=$(stat -c %s "$OUT.json")
t=$(best < "$OUT.ours")
rate() { awk -v t="$2" -v i="$in_bytes" -v o="$out_bytes" -v d="$docs" -v who="$1" 'BEGIN {
	printf "%-13s %.3f s, %.1f MB/s parquet in, %.1f MB/s JSON out, %.0f docs/s (%d docs)\n", who, t, i / t / 1e6, o / t / 1e6, d / t, d }'; }
rate bonsai-fetch: "$t"
if [ $have_duck = 1 ]; then
	t=$(best < "$OUT.duck")
	rate duckdb: "$t"
else
	echo "duckdb: not installed (npm install @duckdb/node-api in $DD)"
fi
