#!/bin/sh
# bonsai-fetch on parquet pages of every codec it reads, LZ4_RAW and
# BROTLI among them: the same 1,000 rows (10 pages) written by
# tests/tools/mkparquet with each codec must read back as exactly those
# rows; pages damaged in three ways are an error naming the file, the
# column and the codec, with no output file left; and, where node and the
# npm packages hyparquet and hyparquet-compressors are found (NODE_PATH),
# an independent reader gives the same rows from the LZ4_RAW and BROTLI
# files.
. tests/tap.sh
MK=$TOOLS/mkparquet
F="bin/bonsai-fetch -q"
[ -x "$MK" ] || skip_all "$MK not built (make all)"

# rows with quotes, backslashes, non-ASCII text and empty ones
awk 'BEGIN { for (i = 0; i < 1000; i++)
	if (i % 97 == 0) print ""
	else printf "row %d: \"quoted\" back\\slash, naïve café — ✓ %d%s\n", i, i * i,
		i % 3 ? " and a longer tail of words that repeat, repeat, repeat" : "" }' > "$T/rows"
# the JSON Lines they must read back as
sed 's/\\/\\\\/g; s/"/\\"/g; s/^/{"text":"/; s/$/"}/' "$T/rows" > "$T/want"

for c in uncompressed snappy gzip zstd lz4_raw brotli; do
	"$MK" -c $c -o "$T/$c.parquet" < "$T/rows"
	ok $? "$c: mkparquet writes the file"
	run $F "$T/$c.parquet"
	[ $rc -eq 0 ] && cmp -s "$T/out" "$T/want"
	ok $? "$c: the 1,000 rows read back as written" || sed 's/^/# /' "$T/err"
done
u=$(wc -c < "$T/uncompressed.parquet")
[ "$(wc -c < "$T/lz4_raw.parquet")" -lt "$u" ] && [ "$(wc -c < "$T/brotli.parquet")" -lt "$u" ]
ok $? "lz4_raw and brotli: the pages are compressed (smaller than uncompressed)"

for c in lz4_raw brotli; do
	C=$(echo $c | tr a-z A-Z)
	for b in flip cut size; do
		"$MK" -c $c -b $b -o "$T/$c-$b.parquet" < "$T/rows"
		run $F -o "$T/$c-$b.jsonl" "$T/$c-$b.parquet"
		fails_with 1 "$c-$b.parquet: column 'text': $C page: .*(corrupt|truncated|smaller|larger)" \
			"$c, damaged ($b): an error naming file, column and codec"
		[ ! -e "$T/$c-$b.jsonl" ]
		ok $? "$c, damaged ($b): no output file"
	done
done

if command -v node > /dev/null 2>&1 &&
   node -e 'require.resolve("hyparquet"); require.resolve("hyparquet-compressors")' 2> /dev/null; then
	for c in lz4_raw brotli; do
		node tests/tools/parquet_rows.mjs "$T/$c.parquet" > "$T/node"
		cmp -s "$T/node" "$T/want"
		ok $? "$c: hyparquet reads the same rows from mkparquet's file"
	done
else
	skip "hyparquet check: needs node and the npm packages hyparquet, hyparquet-compressors (NODE_PATH)"
fi
done_testing
