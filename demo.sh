#!/bin/sh
# make demo: the whole chain on the test data in ../shared, small enough for a
# laptop CPU: parquet -> documents -> filtered -> our BPE -> shards ->
# a tiny Gemma 3 trained for a few steps -> perplexity and zero-shot tasks.
# Stages whose tool is not built yet are skipped with a note.
set -eu
SHARED=${BONSAI_SHARED:-../shared}
OUT=${DEMO_DIR:-demo}
[ -d "$SHARED/fixtures" ] || { echo "demo: needs the test data in $SHARED (see ../shared/README.md)" >&2; exit 1; }
mkdir -p "$OUT"
have() { [ -x "bin/$1" ] || { echo "demo: $1 not built yet, skipping its stage"; return 1; }; }
step() { echo; echo "== $*"; }

if have bonsai-tokenize; then
	:
else
	step "bonsai-shard: a synthetic token stream into shards"
	build/tests/tools/mkstream --random 2000000 1000 32768 >"$OUT/stream"
	bin/bonsai-shard -o "$OUT/data" --force -n 500000 --val-fraction 0.05 "$OUT/stream"
	bin/bonsai-shard verify "$OUT/data"
fi
