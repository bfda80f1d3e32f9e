/* test_filter_decontam - the words, n-grams and counts of --decontaminate,
 * on items made here. */
#include "tap.h"
#include "buf.h"
#include "cli.h"
#include "evaltasks.h"
#include "../../filter/decontam.h"

#include <stdarg.h>

/* An item: its stem and NULL-terminated choices. */
static void add(eval_task *t, const char *stem, ...)
{
	eval_item it;
	memset(&it, 0, sizeof it);
	it.stem = xstrdup(stem);
	it.context = xstrdup(stem);
	it.choices = xcalloc(8, sizeof *it.choices);
	va_list ap;
	va_start(ap, stem);
	for (const char *c; (c = va_arg(ap, const char *));)
		it.choices[it.n_choices++] = xstrdup(c);
	va_end(ap);
	char err[200];
	if (eval_task_add(t, &it, err, sizeof err))
		die("%s", err);
}

static eval_task *task(const char *name)
{
	eval_task *t = xcalloc(1, sizeof *t);
	t->name = xstrdup(name);
	t->source = xstrdup("(test)");
	return t;
}

static decontam dc;
static dc_scratch w;

static size_t scan(const char *text)
{
	return decontam_scan(&dc, &w, text, strlen(text), 1);
}

static int only(uint32_t item)
{
	return w.n_items == 1 && w.items[0] == item;
}

int main(void)
{
	cli_init("test_filter_decontam");
	eval_task *a = task("a"), *b = task("b");
	/* item 0: 13 words in stem + choice */
	add(a, "The quick brown fox jumps over the lazy dog", "near the river bank", "in a box", NULL);
	/* item 1: folding (case, NFKD, ß) */
	add(a, "Caf\xc3\xa9 au lait costs \xef\xac\x81ve euros at the Stra\xc3\x9f" "e corner shop",
		"near the old station", "far away", NULL);
	/* items 2 and 3 (task b) share their stem's 13-grams */
	add(b, "one two three four five six seven eight nine ten eleven twelve thirteen",
		"alpha", "beta", NULL);
	add(b, "one two three four five six seven eight nine ten eleven twelve thirteen",
		"gamma", "delta", NULL);
	eval_task *tasks[] = {a, b};
	decontam_build(&dc, tasks, 2, 13, 10);

	ok(scan("the quick brown fox jumps over the lazy dog near the river bank") == 1 && only(0),
		"all 13 words: item 0");
	is_int(scan("the quick brown fox jumps over the lazy dog near the river"), 0,
		"the first 12 of the 13 words: nothing");
	is_int(scan("quick brown fox jumps over the lazy dog near the river bank"), 0,
		"the last 12 of the 13 words: nothing");
	is_int(scan("the quick brown fox jumps over the lazy cat near the river bank"), 0,
		"13 words with one changed: nothing");
	ok(scan("x the quick brown fox jumps over the lazy dog in a box y") == 1 && only(0),
		"the stem with the other choice: item 0");
	ok(scan("THE QUICK, brown-fox \"jumps\" over... the lazy dog;\n\tnear the River-Bank!") == 1,
		"upper case, punctuation, symbols and white space between the words fold away");
	ok(scan("the quick brown fox jumps over the lazy dog near the river banks") == 0,
		"a longer last word is another word");
	ok(scan("CAFE\xcc\x81 AU LAIT costs five EUROS at the STRASSE corner-shop near the\n")
		== 1 && only(1), "NFKD and full case folding: e + U+0301, the fi ligature, \xc3\x9f = SS");
	ok(scan("\xef\xbc\xa3\xef\xbc\xa1\xef\xbc\xa6\xc3\x89 au lait costs five euros at the strasse "
		"corner shop near the") == 1, "full-width letters fold to ASCII");
	is_int(scan("Cafe au lait costs five euros at the strasse corner shop near the"), 0,
		"marks are kept: e is not \xc3\xa9 (13 words: the one n-gram has it)");
	is_int(scan("Caf\xc3\xa9 au lait costs \xef\xac\x81ve euros at the strasse corner shop near"), 0,
		"12 words: nothing");
	ok(scan("one two three four five six seven eight nine ten eleven twelve thirteen") == 2 &&
		w.items[0] == 2 && w.items[1] == 3, "an n-gram of 2 items: both, in order");
	ok(scan("one two three four five six seven eight nine ten eleven twelve thirteen gamma") == 2,
		"... and no item twice");

	/* spans and the cut */
	const char *t = "Before. The quick brown fox jumps over the lazy dog near the river bank! After.";
	buf_t out = {0};
	ok(scan(t) == 1 && w.n_spans == 1, "one span");
	size_t left = decontam_cut(&w, t, strlen(t), &out);
	is_str(out.data, "Before. ! After.", "the cut takes the words from the first to the last");
	is_int(left, 2, "2 words are left");
	t = "x one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
	    "the quick brown fox jumps over the lazy dog near the river bank";
	scan(t);
	left = decontam_cut(&w, t, strlen(t), &out);
	is_str(out.data, "x  fourteen ", "two spans cut");
	is_int(left, 2, "... 2 words left");

	/* counts */
	scan("one two three four five six seven eight nine ten eleven twelve thirteen");
	decontam_mark(&dc, w.items, w.n_items);
	decontam_mark(&dc, w.items, w.n_items);
	scan("the quick brown fox jumps over the lazy dog near the river bank");
	decontam_mark(&dc, w.items, w.n_items);
	is_int(dc.tasks[0].items_matched, 1, "task a: 1 item matched");
	is_int(dc.tasks[1].items_matched, 2, "task b: 2 items matched, each once");
	decontam_free(&dc);

	/* the frequent n-gram rule: more than max_items items */
	decontam_build(&dc, tasks, 2, 13, 1);
	is_int(dc.ngrams_ignored, 1, "max_items 1: the one 13-gram of 2 items is left out");
	is_int(scan("one two three four five six seven eight nine ten eleven twelve thirteen"), 0,
		"... and not found");
	ok(scan("two three four five six seven eight nine ten eleven twelve thirteen alpha") == 1 &&
		only(2), "an n-gram of one of them still is");
	decontam_free(&dc);

	/* short items: whole from 8 words, nothing below */
	eval_task *s = task("s");
	add(s, "eight words in all make", "this item whole", "no", NULL);
	add(s, "seven words are", "too few here", "no", NULL);
	eval_task *st[] = {s};
	decontam_build(&dc, st, 1, 13, 10);
	is_int(dc.tasks[0].items_whole, 1, "one item looked for whole");
	is_int(dc.tasks[0].items_unchecked, 1, "one item too short");
	ok(scan("so: eight words in all make this item whole.") == 1 && only(0), "the whole 8 words");
	is_int(scan("eight words in all make this item"), 0, "7 of its 8 words: nothing");
	is_int(scan("seven words are too few here"), 0, "the 6-word sequence: not looked for");
	decontam_free(&dc);

	dc_scratch_free(&w);
	buf_free(&out);
	eval_task_free(a);
	eval_task_free(b);
	eval_task_free(s);
	return done_testing();
}
