#!/bin/sh
# bonsai-filter --decontaminate: documents that hold a benchmark item's
# words are dropped (or cut), near misses are kept, the per-task counts are
# exact, n-grams of many items are left out as stated, and eval files that
# cannot be read stop the run with the file and line.
. tests/tap.sh

F="bin/bonsai-filter -f" # -f: the tests write their outputs again
doc() { printf '{"id":%s,"text":"%s"}\n' "$1" "$2"; }
ids() { grep -o '"id":[0-9]*' "$T/out" | sed 's/"id"://' | tr '\n' ' ' | sed 's/ $//'; }
# task_matched TASK N: the --stats file says N items of TASK were found
task_matched() { grep -Eq "^ *\"$1\": \{.*\"items_matched\": $2, \"matched\": \[" "$T/stats"; }
stat() { grep -q "\"$1\": $2[,}]*\$" "$T/stats"; }

# A PIQA folder as bonsai-fetch --eval writes it (valid.jsonl + labels).
mkdir -p "$T/sets/piqa"
{
	printf '{"goal": "How do I keep a cast iron pan from rusting after I wash it?", "sol1": "Dry it on a hot burner, then rub a thin coat of oil into it.", "sol2": "Leave it wet in the sink overnight so the water can soak in."}\n'
	# 6 + 7 words: one sequence of exactly 13 words per choice
	printf '{"goal": "To soften butter for baking quickly,", "sol1": "grate it cold on a box grater.", "sol2": "put the whole stick in boiling water."}\n'
	# 9 words in all: looked for whole
	printf '{"goal": "Remove a splinter:", "sol1": "use clean tweezers and soap water.", "sol2": "use a hammer and nails."}\n'
	# 4 words: too short to look for
	printf '{"goal": "dresser", "sol1": "wax runners", "sol2": "glue it"}\n'
} >"$T/sets/piqa/valid.jsonl"
printf '0\n0\n0\n1\n' >"$T/sets/piqa/valid-labels.lst"

# 1. A document that quotes a PIQA goal and its solution.
{
	doc 1 "Kitchen tips. How do I keep a cast iron pan from rusting after I wash it? Dry it on a hot burner, then rub a thin coat of oil into it. More tips follow."
	doc 2 "Kitchen tips. How do I keep a cast iron pan from rusting? Nobody knows."
	doc 3 "HOW do I keep a CAST-IRON pan, from rusting after I wash it?!  Dry it on a hot burner..."
} >"$T/quote"
run $F --decontaminate "$T/sets/piqa" --stats "$T/stats" "$T/quote"
[ "$rc" -eq 0 ] && [ "$(ids)" = "2" ]
ok $? "a document quoting a PIQA goal and solution is dropped, also in other case and punctuation (kept: $(ids); want 2)"
stat contaminated 2 && task_matched piqa 1
ok $? "--stats: contaminated 2, piqa items_matched 1"

# 2. 12 of 13 words are not enough; all 13 are.
{
	doc 1 "Tip: to soften butter for baking quickly, grate it cold on a box cheese slicer."
	doc 2 "Tip: to soften butter for baking quickly, grate it cold on a box grater. Done."
	doc 3 "soften butter for baking quickly, grate it cold on a box grater"
} >"$T/near"
run $F -q --decontaminate "$T/sets/piqa" "$T/near"
[ "$rc" -eq 0 ] && [ "$(ids)" = "1 3" ]
ok $? "12 of the 13 words of an item: kept; all 13: dropped (kept: $(ids); want 1 3)"

# 3. Short items: 8 or more words are looked for whole, fewer are not.
{
	doc 1 "First aid. Remove a splinter: use clean tweezers and soap water. Then rest."
	doc 2 "Remove a splinter: use clean tweezers and soap."
	doc 3 "Old dresser? Wax runners. Or glue it."
} >"$T/short"
run $F -q --decontaminate "$T/sets/piqa" --stats "$T/stats" "$T/short"
[ "$rc" -eq 0 ] && [ "$(ids)" = "2 3" ]
ok $? "a 9-word item is found whole, its first 8 words are not, a 4-word item is not looked for (kept: $(ids))"
grep -Eq '"piqa": \{.*"items": 4, "items_whole": 1, "items_unchecked": 1, "items_matched": 1, "matched": \[2\]\}' "$T/stats"
ok $? "--stats: piqa items 4, items_whole 1, items_unchecked 1, items_matched 1"

# 4. Exact per-task counts on a constructed corpus (ready-made items, two
# tasks in one file, and the PIQA folder next to it).
item() { printf '{"task": "%s", "context": "%s", "choices": ["%s", "%s"], "gold": 0}\n' "$@"; }
{
	item alpha "Which planet in our solar system has the longest day of all the planets" "Venus" "Mars"
	item alpha "What do plants release into the air when they make food from sunlight" "oxygen" "salt"
	item alpha "Which tool measures the temperature of the air in a science classroom today" "thermometer" "ruler"
	item beta "A man pours pancake batter into a hot pan and waits for bubbles to form" "then flips it over" "then eats the pan"
	item beta "A woman ties her running shoes on the porch and stretches her tired legs" "then jogs away" "then sleeps"
} >"$T/items.jsonl"
{
	doc 1 "Quiz: which planet in our solar system has the longest day of all the planets? Venus. Also: a woman ties her running shoes on the porch and stretches her tired legs, then jogs away."
	doc 2 "Again, which planet in our solar system has the longest day of all the planets? Venus!"
	doc 3 "Which tool measures the temperature of the air in a science classroom today? A thermometer."
	doc 4 "Nothing to see here: plants, planets and pancakes, each in its own words."
	doc 5 "Plants release oxygen."
} >"$T/corpus"
run $F --decontaminate "$T/items.jsonl,piqa=$T/sets/piqa" --stats "$T/stats" "$T/corpus"
[ "$rc" -eq 0 ] && [ "$(ids)" = "4 5" ]
ok $? "constructed corpus: documents 1-3 dropped (kept: $(ids))"
stat contaminated 3 && stat documents_dropped 3 && task_matched alpha 2 && task_matched beta 1 && task_matched piqa 0 &&
	grep -Eq '"alpha": \{.*"items": 3,' "$T/stats" && grep -Eq '"beta": \{.*"items": 2,' "$T/stats"
ok $? "--stats: contaminated 3; items matched alpha 2 of 3, beta 1 of 2, piqa 0"
grep -Eq '"alpha": \{.*"matched": \[0, 2\]\}' "$T/stats" && grep -Eq '"beta": \{.*"matched": \[1\]\}' "$T/stats" &&
	grep -Eq '"piqa": \{.*"matched": \[\]\}' "$T/stats"
ok $? "--stats: which items matched, by their index in the set: alpha 0 and 2, beta 1, piqa none"
grep -q 'items found in the documents: alpha 2/3, beta 1/2, piqa 0/4' "$T/err"
ok $? "the summary on stderr gives the same figures"
cp "$T/out" "$T/out1"
grep -v seconds "$T/stats" >"$T/stats1"
run $F -q -j 2 --decontaminate "$T/items.jsonl,piqa=$T/sets/piqa" --stats "$T/stats" "$T/corpus"
grep -v seconds "$T/stats" >"$T/stats2"
cmp -s "$T/out1" "$T/out" && cmp -s "$T/stats1" "$T/stats2"
ok $? "-j 2: the same output and the same counts"

# 5. --decontaminate-cut: the matching words go, the rest stays.
run $F --decontaminate "$T/items.jsonl" --decontaminate-cut --stats "$T/stats" "$T/corpus"
grep -q '"id":2,"text":"Again, !"' "$T/out" &&
	grep -q '"id":3,"text":"? A thermometer."' "$T/out" && stat documents_cut 3 && stat documents_out 5
ok $? "--decontaminate-cut: the matching words (the answer with them) are cut out, the documents kept and counted"
grep -q "documents kept with words cut out: 3" "$T/err"
ok $? "... and said on stderr"
cp "$T/out" "$T/out1"
run $F -q -j 2 --decontaminate "$T/items.jsonl" --decontaminate-cut "$T/corpus"
cmp -s "$T/out1" "$T/out"
ok $? "--decontaminate-cut -j 2: the same output"
doc 6 "Which planet in our solar system has the longest day of all the planets, Venus?" >"$T/only"
run $F -q --decontaminate "$T/items.jsonl" --decontaminate-cut "$T/only"
[ "$rc" -eq 0 ] && [ ! -s "$T/out" ]
ok $? "--decontaminate-cut: a document with no word left is dropped"

# 6. An n-gram of more than --ngram-max-items items is left out.
P="the following passage was adapted from a public domain science reader for young students"
{
	item gamma "$P about volcanoes and lava" "yes" "no"
	item gamma "$P about whales and oceans" "yes" "no"
	item gamma "$P about bees and flowers" "yes" "no"
} >"$T/boiler.jsonl"
doc 1 "Note: $P, used with thanks." >"$T/boiler"
run $F -q --decontaminate "$T/boiler.jsonl" --ngram-max-items 2 --stats "$T/stats" "$T/boiler"
[ "$rc" -eq 0 ] && [ "$(ids)" = "1" ] && stat ngrams_ignored 3 && task_matched gamma 0
ok $? "--ngram-max-items 2: the 3 n-grams shared by 3 items are left out, the document kept"
run $F -q --decontaminate "$T/boiler.jsonl" --ngram-max-items 3 --stats "$T/stats" "$T/boiler"
[ "$rc" -eq 0 ] && [ ! -s "$T/out" ] && stat ngrams_ignored 0 && task_matched gamma 3
ok $? "--ngram-max-items 3: they count, and the document matches all 3 items"

# 7. --ngram.
run $F -q --decontaminate "$T/sets/piqa" --ngram 21 "$T/quote"
[ "$rc" -eq 0 ] && [ "$(ids)" = "2 3" ]
ok $? "--ngram 21: the 20-word quote of document 3 no longer matches (kept: $(ids))"

# 8. Eval files that cannot be read are errors, with the file and line.
run $F -q --decontaminate "$T/nosuch.jsonl" -o "$T/o" "$T/quote"
fails_with 1 "nosuch.jsonl: no such file" "a missing item file: an error naming it"
[ ! -e "$T/o" ]
ok $? "... and no output"
{ item alpha "one two three" "a" "b"; printf '{"task": "alpha", "context": \n'; } >"$T/bad.jsonl"
run $F -q --decontaminate "$T/bad.jsonl" -o "$T/o" "$T/quote"
fails_with 1 "bad\.jsonl:2:" "a malformed line: error naming the file and line 2"
[ ! -e "$T/o" ]
ok $? "... and no output"
item alpha "no choices" >"$T/bad2.jsonl"
printf '{"task": "alpha", "context": "x"}\n' >>"$T/bad2.jsonl"
run $F -q --decontaminate "$T/bad2.jsonl" "$T/quote"
fails_with 1 "bad2\.jsonl:2: .*choices" "an item without choices: error naming file, line and field"
mkdir -p "$T/sets2/piqa" "$T/sets2/arc_easy"
cp "$T/sets/piqa/valid.jsonl" "$T/sets/piqa/valid-labels.lst" "$T/sets2/piqa/"
printf '{"question": {"stem": "Why?", "choices": [{"text": "a", "label": "A"}]}, "answerKey": "A"}\n' \
	>"$T/sets2/arc_easy/ARC-Easy-Test.jsonl"
run $F -q --decontaminate "$T/sets2" "$T/quote"
fails_with 1 "ARC-Easy-Test\.jsonl:1: " "a bad ARC file in an eval-set folder: error naming file and line"
rm -r "$T/sets2/arc_easy"
printf '0\n' >"$T/sets2/piqa/valid-labels.lst"
run $F -q --decontaminate "$T/sets2" "$T/quote"
fails_with 1 "valid-labels\.lst" "PIQA items and labels of different counts: an error naming the labels"
mkdir -p "$T/empty"
run $F -q --decontaminate "$T/empty" "$T/quote"
fails_with 1 "empty: none of piqa, hellaswag, arc_easy, arc_challenge" "a folder without eval sets: an error"
run $F -q --ngram 9 "$T/quote"
fails_with 2 "go with --decontaminate" "--ngram without --decontaminate: usage error"
run $F -q --decontaminate "$T/sets/piqa" --ngram 2 "$T/quote"
fails_with 2 "--ngram" "--ngram 2: out of range"

# 9. The real eval sets in ../shared load, and a quote of one is found.
if [ -d "$SHARED/fixtures/eval/piqa" ]; then
	E=$SHARED/fixtures/eval
	goal=$(head -1 "$E/piqa/valid.jsonl" | sed 's/.*"goal": "\([^"]*\)".*/\1/')
	sol=$(head -1 "$E/piqa/valid.jsonl" | sed 's/.*"sol1": "\([^"]*\)".*/\1/')
	{ doc 1 "$goal $sol"; doc 2 "A clean document about nothing in particular."; } >"$T/real"
	run $F --decontaminate "$E" --stats "$T/stats" "$T/real"
	[ "$rc" -eq 0 ] && [ "$(ids)" = "2" ] && task_matched piqa 1
	ok $? "the fixture sets load; a quote of PIQA's first item is dropped and counted"
	grep -Eq '"piqa": \{.*"items": 1838,' "$T/stats" &&
		{ [ ! -d "$E/hellaswag" ] || grep -Eq '"hellaswag": \{.*"items": 10042,' "$T/stats"; } &&
		{ [ ! -d "$E/arc_easy" ] || grep -Eq '"arc_easy": \{.*"items": 2376,' "$T/stats"; }
	ok $? "all items read: PIQA valid 1838, HellaSwag val 10042, ARC-Easy test 2376"
	[ -d "$E/arc_challenge" ] || grep -q "has no arc_challenge" "$T/err"
	ok $? "a set the folder lacks is named on stderr"
else
	echo "# skipping the fixture sets: $SHARED/fixtures/eval is absent"
fi

done_testing
