/* test_lib_evaltasks_errors.c - the PIQA, ARC, HellaSwag and ready-made
 * item readers report a bad file to their caller (NULL or -1 and a message
 * naming the file and line) instead of ending the process: every case here
 * runs in one process, after the one before it failed. */
#include "tap.h"

#include "cli.h"
#include "evaltasks.h"
#include "evaltext.h"
#include "xio.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[] = "/tmp/bonsai-evaltasks-errors.XXXXXX";

/* Writes text to dir/name; the path, malloc()ed. */
static char *put(const char *name, const char *text)
{
	char *path = xpath_join(dir, name);
	FILE *f = fopen(path, "wb");
	size_t n = strlen(text);
	if (!f || fwrite(text, 1, n, f) != n || fclose(f) != 0) {
		perror(path);
		exit(1);
	}
	return path;
}

/* err holds "PATH:LINE: " (or "PATH: " for line 0) and what. */
static int says(const char *err, const char *path, long line, const char *what)
{
	char head[600];
	if (line > 0)
		snprintf(head, sizeof head, "%s:%ld: ", path, line);
	else
		snprintf(head, sizeof head, "%s: ", path);
	int yes = strncmp(err, head, strlen(head)) == 0 && strstr(err, what);
	if (!yes)
		printf("#   message: %s\n", err);
	return yes;
}

static const char piqa_ok[] = "{\"goal\": \"g\", \"sol1\": \"a\", \"sol2\": \"b\"}\n";

int main(void)
{
	cli_init("test_lib_evaltasks_errors");
	if (!mkdtemp(dir))
		return 1;
	char err[1024];
	size_t n;

	/* a missing file */
	char *none = xpath_join(dir, "none.jsonl");
	strcpy(err, "");
	ok(!eval_read_input(none, &n, err, sizeof err) && says(err, none, 0, ""),
	   "eval_read_input: a missing file: NULL, the file named");
	strcpy(err, "");
	ok(!task_read_arc("arc_easy", none, err, sizeof err) && says(err, none, 0, ""),
	   "task_read_arc: a missing file: NULL, the file named");
	strcpy(err, "");
	ok(!task_read_hellaswag(none, err, sizeof err) && says(err, none, 0, ""),
	   "task_read_hellaswag: a missing file: NULL, the file named");

	/* PIQA: a malformed JSON line, a bad label, labels that do not match */
	char *pj = put("p.jsonl", "{\"goal\": \"g\", \"sol1\": \"a\", \"sol2\": \"b\"}\n{\"goal\": \n");
	char *pl = put("p-labels.lst", "0\n1\n");
	ok(!task_read_piqa(pj, pl, err, sizeof err) && says(err, pj, 2, ""),
	   "task_read_piqa: a malformed JSON line: NULL, file and line 2 named");
	ok(!task_read_piqa(none, pl, err, sizeof err) && says(err, none, 0, ""),
	   "task_read_piqa: a missing items file: NULL, the file named");
	char *pj2 = put("p2.jsonl", piqa_ok);
	char *pl3 = put("p3-labels.lst", "0\n1\n0\n");
	ok(!task_read_piqa(pj2, pl3, err, sizeof err) && strstr(err, pj2) && strstr(err, pl3) &&
		   strstr(err, "has 1 items but") && strstr(err, "has 3 labels"),
	   "task_read_piqa: 1 item, 3 labels: NULL, both files named with their counts");
	char *plx = put("px-labels.lst", "7\n");
	ok(!task_read_piqa(pj2, plx, err, sizeof err) && says(err, plx, 1, "label \"7\""),
	   "task_read_piqa: a bad label: NULL, the labels file and line named");
	char *pl1 = put("p1-labels.lst", "1\n");
	eval_task *t = task_read_piqa(pj2, pl1, err, sizeof err);
	ok(t && t->n == 1 && t->items[0].gold == 1, "task_read_piqa: a good pair still reads");
	eval_task_free(t);

	/* ARC: an item without choices, in both layouts; a line that is not an object */
	char *aj = put("a.jsonl",
		       "\n{\"question\": {\"stem\": \"q\", \"choices\": [{\"text\": \"x\", \"label\": "
		       "\"A\"}, {\"text\": \"y\", \"label\": \"B\"}]}, \"answerKey\": \"A\"}\n"
		       "{\"question\": {\"stem\": \"q\"}, \"answerKey\": \"A\"}\n");
	ok(!task_read_arc("arc_easy", aj, err, sizeof err) && says(err, aj, 3, "choices"),
	   "task_read_arc: an item without choices: NULL, file and line 3 named");
	char *aa = put("a.json", "[{\"question\": \"q\", \"answerKey\": \"A\"}]");
	ok(!task_read_arc("arc_easy", aa, err, sizeof err) && says(err, aa, 0, "item 0: ") &&
		   strstr(err, "choices"),
	   "task_read_arc: a JSON array item without choices: NULL, file and item named");
	char *an = put("an.jsonl", "[1, 2]\n");
	ok(!task_read_arc("arc_easy", an, err, sizeof err) && says(err, an, 0, "item 0: not an object"),
	   "task_read_arc: an array of numbers: NULL, named");

	/* HellaSwag: a bad label in the JSON form, a line count not a multiple of 6 */
	char *hj = put("h.jsonl", "{\"activity_label\": \"a\", \"ctx_a\": \"c\", \"ctx_b\": \"d\", "
				  "\"endings\": [\"1\", \"2\", \"3\", \"4\"], \"label\": 9}\n");
	ok(!task_read_hellaswag(hj, err, sizeof err) && says(err, hj, 1, "label"),
	   "task_read_hellaswag: a bad label: NULL, file and line 1 named");
	char *ht = put("h.txt", "a: ctx\n0\none\ntwo\nthree\n");
	ok(!task_read_hellaswag(ht, err, sizeof err) &&
		   says(err, ht, 0, "5 lines: not the 6-lines-per-item"),
	   "task_read_hellaswag: 5 lines of text: NULL, named");

	/* ready-made items: no choices, a malformed line; the tasks before stay */
	eval_task **tasks = NULL;
	size_t nt = 0;
	char *g1 = put("g1.jsonl", "{\"context\": \"c\", \"choices\": [\"a\", \"b\"], \"gold\": 0}\n");
	ok(task_read_generic(g1, "one", &tasks, &nt, err, sizeof err) == 0 && nt == 1,
	   "task_read_generic: a good file reads");
	char *g2 = put("g2.jsonl", "{\"context\": \"c\", \"choices\": [\"a\", \"b\"], \"gold\": 1, "
				   "\"task\": \"two\"}\n{\"context\": \"c\"}\n");
	ok(task_read_generic(g2, "x", &tasks, &nt, err, sizeof err) == -1 &&
		   says(err, g2, 2, "choices") && nt == 1 && strcmp(tasks[0]->name, "one") == 0,
	   "task_read_generic: an item without choices: -1, file and line 2 named, the "
	   "task it began is gone");
	char *g3 = put("g3.jsonl", "\n\n{\"context\": }\n");
	ok(task_read_generic(g3, "x", &tasks, &nt, err, sizeof err) == -1 && says(err, g3, 3, "") &&
		   nt == 1,
	   "task_read_generic: a malformed JSON line: -1, file and line 3 named");
	char *g4 = put("g4.jsonl", "[1]\n");
	ok(task_read_generic(g4, "x", &tasks, &nt, err, sizeof err) == -1 &&
		   says(err, g4, 1, "not a JSON object"),
	   "task_read_generic: a line that is not an object: -1, named");
	/* numbers beyond any integer type: refused (a gold) or ignored (an
	 * index), never converted (undefined; the sanitizer build says so) */
	char *g6 = put("g6.jsonl", "{\"context\": \"c\", \"choices\": [\"a\", \"b\"], \"gold\": 1e300}\n");
	ok(task_read_generic(g6, "x", &tasks, &nt, err, sizeof err) == -1 &&
		   says(err, g6, 1, "label is not an integer from 0 to 1") && nt == 1,
	   "task_read_generic: a gold of 1e300: -1, named");
	char *g7 = put("g7.jsonl", "{\"context\": \"c\", \"choices\": [\"a\", \"b\"], \"gold\": -1e300}\n");
	ok(task_read_generic(g7, "x", &tasks, &nt, err, sizeof err) == -1 &&
		   says(err, g7, 1, "label is not an integer from 0 to 1") && nt == 1,
	   "task_read_generic: a gold of -1e300: -1, named");
	char *g8 = put("g8.jsonl", "{\"task\": \"idx\", \"context\": \"c\", \"choices\": [\"a\", \"b\"], "
				   "\"index\": 1e300}\n{\"task\": \"idx\", \"context\": \"c\", "
				   "\"choices\": [\"a\", \"b\"], \"index\": 7}\n");
	ok(task_read_generic(g8, "x", &tasks, &nt, err, sizeof err) == 0 && nt == 2 &&
		   tasks[1]->n == 2 && tasks[1]->items[0].index == 0 && tasks[1]->items[1].index == 7,
	   "task_read_generic: an index of 1e300 is ignored (the item's position), 7 is kept");
	if (nt == 2)
		eval_task_free(tasks[--nt]);
	char *g5 = put("g5.jsonl", "\n");
	ok(task_read_generic(g5, "x", &tasks, &nt, err, sizeof err) == -1 &&
		   says(err, g5, 0, "no items"),
	   "task_read_generic: no items: -1, named");
	eval_task_free(tasks[0]);
	free(tasks);

	/* tasks_load: a bad file is -1, a bad list -2 (a usage error) */
	char *spec = str_cat("arc_easy=", aj, (char *)NULL);
	ok(tasks_load(spec, dir, &tasks, &nt, err, sizeof err) == -1 && says(err, aj, 3, "choices"),
	   "tasks_load: a bad file: -1, file and line named");
	free(spec);
	spec = str_cat(g1, ",", g2, (char *)NULL);
	ok(tasks_load(spec, dir, &tasks, &nt, err, sizeof err) == -1 && says(err, g2, 2, "choices"),
	   "tasks_load: a good file then a bad one: -1, the bad one named");
	free(spec);
	ok(tasks_load("nosuchtask", dir, &tasks, &nt, err, sizeof err) == -2 &&
		   strstr(err, "unknown task \"nosuchtask\""),
	   "tasks_load: an unknown task: -2");
	spec = str_cat(g1, ",", g1, (char *)NULL);
	ok(tasks_load(spec, dir, &tasks, &nt, err, sizeof err) == -2 && strstr(err, "named twice"),
	   "tasks_load: a task named twice: -2");
	/* the list's mistakes come before any file is read: here a bad file
	 * first, then a slip */
	free(spec);
	spec = str_cat(g2, ",", (char *)NULL);
	ok(tasks_load(spec, dir, &tasks, &nt, err, sizeof err) == -2 && strstr(err, "an empty task name"),
	   "tasks_load: a slip in the list is named before a bad file before it is read");
	free(spec);
	ok(tasks_load("piqa", dir, &tasks, &nt, err, sizeof err) == -1 &&
		   strstr(err, "task piqa: none of valid.jsonl"),
	   "tasks_load: piqa missing from the folder: -1, named");
	ok(!tasks_load_present(dir, &nt, err, sizeof err) && says(err, dir, 0, "none of piqa"),
	   "tasks_load_present: a folder without tasks: NULL, named");

	/* tasks_check: the list's own mistakes, with no set there to read */
	ok(tasks_check("piqa,hellaswag,arc_easy,arc_challenge", err, sizeof err) == 0,
	   "tasks_check: the known tasks, their sets absent: 0");
	ok(tasks_check("piqa=later/piqa,mine=later/m.jsonl,later/x.jsonl", err, sizeof err) == 0,
	   "tasks_check: NAME=PATH and a path, the files not there yet: 0");
	ok(tasks_check("piqa,hellaswg", err, sizeof err) == -2 &&
		   strstr(err, "unknown task \"hellaswg\""),
	   "tasks_check: a misspelt task: -2, named");
	ok(tasks_check("piqa,arc_easy,piqa=x", err, sizeof err) == -2 &&
		   strstr(err, "task piqa named twice"),
	   "tasks_check: a task named twice (once with a path): -2");
	ok(tasks_check("=x", err, sizeof err) == -2 && strstr(err, "want NAME, NAME=PATH"),
	   "tasks_check: =PATH without a name: -2");
	ok(tasks_check("", err, sizeof err) == -2 && strstr(err, "no tasks named"),
	   "tasks_check: no task in the list: -2");
	/* a list's slips, taken before (an empty name skipped, a space part of
	 * a file's name) or named as the wrong thing (a folder: "no such
	 * file"): each refused, as bonsai-eval --check and the run see them */
	static const struct {
		const char *list, *says;
	} slips[] = {
		{",,", "an empty task name"},
		{"piqa,", "an empty task name"},
		{"piqa,,arc_easy", "an empty task name"},
		{"piqa, arc_easy", "task \" arc_easy\": a space around its name"},
		{"piqa ,arc_easy", "task \"piqa \": a space around its name"},
		{"piqa =x", "task \"piqa =x\": a space around its name"},
	};
	for (size_t i = 0; i < sizeof slips / sizeof *slips; i++) {
		ok(tasks_check(slips[i].list, err, sizeof err) == -2 && strstr(err, slips[i].says),
		   "tasks_check \"%s\": -2, %s", slips[i].list, slips[i].says);
		ok(tasks_load(slips[i].list, dir, &tasks, &nt, err, sizeof err) == -2 &&
			   strstr(err, slips[i].says),
		   "tasks_load \"%s\": -2, the same", slips[i].list);
	}
	ok(tasks_check(dir, err, sizeof err) == -2 && strstr(err, "a folder; give it as NAME="),
	   "tasks_check: a folder without NAME=: -2, said so");
	ok(tasks_load(dir, dir, &tasks, &nt, err, sizeof err) == -2 && strstr(err, "a folder;"),
	   "tasks_load: the same");
	ok(tasks_check(g1, err, sizeof err) == 0, "tasks_check: a file that is there: 0");

	char cmd[200];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	if (system(cmd) != 0)
		return 1;
	free(none), free(pj), free(pl), free(pj2), free(pl3), free(plx), free(pl1);
	free(aj), free(aa), free(an), free(hj), free(ht);
	free(g1), free(g2), free(g3), free(g4), free(g5), free(g6), free(g7), free(g8);
	return done_testing();
}
