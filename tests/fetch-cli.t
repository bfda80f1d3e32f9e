#!/bin/bash
# bonsai-fetch on local files: options, --columns, --max-docs, -o, and the
# errors a user meets (missing file, not parquet, truncated, nested column,
# unknown column, unsupported codec).
. tests/tap.sh
FIX=$SHARED/fixtures
[ -f "$FIX/fineweb-edu/sample/10BT/000_00000.parquet" ] || skip_all "no fixtures in $SHARED"
F="bin/bonsai-fetch -q"
A=$FIX/fineweb-edu/sample/10BT/000_00000.parquet
B=$FIX/fineweb-edu/sample/10BT/001_00000.parquet
P=$FIX/fineweb-edu/plain_uncompressed.parquet

$F --help > "$T/h"; [ $? = 0 ] && grep -q -- "--max-docs" "$T/h"; ok $? "--help prints usage, exit 0"
$F --version > /dev/null; ok $? "--version exits 0"
$F --bogus > /dev/null 2>&1; [ $? = 2 ]; ok $? "unknown option: exit 2"
$F > /dev/null 2>&1; [ $? = 2 ]; ok $? "no source: exit 2"
$F --max-docs x "$A" > /dev/null 2>&1; [ $? = 2 ]; ok $? "bad --max-docs: exit 2"
# A dataset's options with a file: refused, not ignored (--list converted
# the file, --file and --revision read it whole).
for o in --list "--file 000_00000.parquet" "--revision v1" "--config sample-10BT"; do
	$F $o "$P" > "$T/o" 2> "$T/e"
	[ $? = 2 ] && [ ! -s "$T/o" ] && grep -q -- "${o%% *} applies to a dataset name, not to the file .*plain_uncompressed.parquet" "$T/e"
	ok $? "$o with a local file: exit 2, nothing written, said ($(head -n 1 "$T/e"))"
done
$F --list --max-docs 1 test/x > "$T/o" 2> "$T/e"; [ $? = 2 ] && grep -q "do not go with it" "$T/e"
ok $? "--list with --max-docs: exit 2, said"
$F --list --columns text test/x > "$T/o" 2> "$T/e"; [ $? = 2 ] && grep -q "do not go with it" "$T/e"
ok $? "--list with --columns: exit 2, said"
touch "$T/afile"
$F --eval piqa --eval-dir "$T/afile" 2> "$T/e"; [ $? = 1 ] && grep -q "afile: not a directory (--eval-dir" "$T/e"
ok $? "--eval-dir naming a file: exit 1 before any download, said so"
$F --cache "$T/afile" "$A" > /dev/null 2> "$T/e"; [ $? = 1 ] && grep -q "afile: not a directory (--cache" "$T/e"
ok $? "--cache naming a file: exit 1, said so"

# Row counts from the fixtures' README.
[ "$($F "$A" | wc -l)" = 3250 ]; ok $? "000_00000: 3250 lines"
[ "$($F "$B" | wc -l)" = 3250 ]; ok $? "001_00000: 3250 lines"
[ "$($F "$P" | wc -l)" = 300 ]; ok $? "plain_uncompressed: 300 lines"
[ "$($F "$A" "$B" "$P" | wc -l)" = 6800 ]; ok $? "three files in one run: 6800 lines"

# --max-docs is a prefix of the full output, also across row groups and files.
$F "$A" "$B" > "$T/all"
for k in 0 1 999 1000 1001 3250 3251 6500 9999; do
	$F --max-docs $k "$A" "$B" > "$T/k"
	head -n $k "$T/all" | cmp -s - "$T/k"; ok $? "--max-docs $k is the first $k lines"
done

# --columns picks and orders keys.
$F --columns int_score,id --max-docs 2 "$A" > "$T/c"
grep -c '^{"int_score":[0-9],"id":"<urn:uuid:[0-9a-f-]*>"}$' "$T/c" | grep -qx 2; ok $? "--columns int_score,id: keys in that order"
$F --columns nope "$A" > /dev/null 2> "$T/e"; [ $? = 1 ] && grep -q "no column 'nope'" "$T/e"; ok $? "unknown column: exit 1, named"

$F --columns id,id "$A" > /dev/null 2> "$T/e"; [ $? = 1 ] && grep -q "named twice" "$T/e"; ok $? "a column named twice: exit 1"

# -o writes all or nothing.
$F -o "$T/out.jsonl" "$P"; cmp -s "$T/out.jsonl" <($F "$P"); ok $? "-o FILE holds the same as stdout"
$F -o "$T/bad.jsonl" "$P" "$T/missing.parquet" 2> "$T/e"; [ $? = 1 ] && [ ! -e "$T/bad.jsonl" ]; ok $? "an error leaves no -o file"

# Errors name the file.
$F "$T/missing.parquet" 2> "$T/e"; [ $? = 1 ] && grep -q "missing.parquet" "$T/e"; ok $? "missing file: exit 1, named"
echo "not parquet" > "$T/x.parquet"
$F "$T/x.parquet" 2> "$T/e"; [ $? = 1 ] && grep -q "x.parquet: not a parquet file" "$T/e"; ok $? "not parquet: exit 1 ($(cat "$T/e"))"
head -c 5000000 "$A" > "$T/trunc.parquet"
$F "$T/trunc.parquet" > /dev/null 2> "$T/e"; [ $? = 1 ] && grep -q "trunc.parquet" "$T/e"; ok $? "truncated file: exit 1 ($(cat "$T/e"))"
# Flip bytes in the middle of a data page: an error or different text, never a crash.
cp "$P" "$T/flip.parquet"; printf '\377\377\377\377' | dd of="$T/flip.parquet" bs=1 seek=4 conv=notrunc 2>/dev/null
$F "$T/flip.parquet" > /dev/null 2> "$T/e"; rc=$?; [ $rc = 1 ] || [ $rc = 0 ]; ok $? "corrupt page header: clean exit ($rc: $(head -c 150 "$T/e"))"

V2=$FIX/parquet-testing/datapage_v2.snappy.parquet
$F "$V2" > /dev/null 2> "$T/e"; [ $? = 1 ] && grep -q "column 'e': nested" "$T/e"; ok $? "nested column: exit 1, named"
[ "$($F --columns a,b,c,d "$V2" | wc -l)" = 5 ]; ok $? "nested column left out: 5 rows"

# An unsupported codec names file, column and codec: patch the codec of the
# plain file's first column chunk from UNCOMPRESSED to LZO (zigzag 3 = 6)
# right after the path_in_schema "text" ... codec field header 0x15 0x00.
off=$(LC_ALL=C grep -obUaP '\x04text\x15\x00' "$P" | tail -n 1 | cut -d: -f1)
cp_rw "$P" "$T/lzo.parquet"
printf '\006' | dd of="$T/lzo.parquet" bs=1 seek=$((off + 6)) conv=notrunc 2>/dev/null
$F "$T/lzo.parquet" > /dev/null 2> "$T/e"
[ $? = 1 ] && grep -q "lzo.parquet" "$T/e" && grep -q "column 'text'" "$T/e" && grep -q LZO "$T/e"
ok $? "unsupported codec: names file, column and codec ($(cat "$T/e"))"

done_testing
