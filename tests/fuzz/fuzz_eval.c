/* fuzz_eval.c - libFuzzer target for the readers of evaluation sets
 * (lib/evaltasks.c): the first byte picks what the rest is,
 *   0: PIQA, its JSON Lines and its labels file split at the first 0xff;
 *   1: ARC's JSON Lines (both layouts);
 *   2: HellaSwag's JSON Lines, or its 6-line text form;
 *   3: ready-made items, grouped by their "task" member;
 *   4: a task list as bonsai-eval --check reads it (tasks_check): 0, or -2
 *      with a message, and 0 only for a list that names something.
 * A reader refuses bad bytes with "FILE:LINE: ..." or "FILE: ..." and
 * returns; an accepted task must hold items a scorer can use: a context,
 * at least one choice, every string present, the right answer among the
 * choices (or unknown for ready-made items). The bytes go through files,
 * as bonsai-eval reads them.
 *   make fuzz && build/fuzz/fuzz_eval -max_total_time=30 CORPUS_DIR */
#include "cli.h"
#include "fuzz_files.h"
#include "evaltasks.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	cli_init("fuzz_eval");
	fuzz_files_init((const char *const[]){ "input.jsonl", "labels.lst", NULL });
	return 0;
}

static void check_task(const eval_task *t, int gold_known)
{
	if (!t->name || !t->source || t->n > t->cap)
		abort();
	for (size_t i = 0; i < t->n; i++) {
		const eval_item *it = &t->items[i];
		if (!it->context || !it->stem || it->n_choices < 1 || !it->choices)
			abort();
		for (int c = 0; c < it->n_choices; c++)
			if (!it->choices[c])
				abort();
		if (it->gold >= it->n_choices || it->gold < (gold_known ? 0 : -1))
			abort();
		/* what a scorer does with an item: its texts end to end */
		size_t n = strlen(it->context) + strlen(it->stem);
		for (int c = 0; c < it->n_choices; c++)
			n += strlen(it->choices[c]);
		if (n == (size_t)-1)
			abort();
	}
}

/* The message of a refused file names it. */
static void check_refusal(const char *err)
{
	if (!strstr(err, fuzz_dir))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	int mode = data[0] % 5;
	char err[1024] = "";
	const uint8_t *p = data + 1;
	size_t n = size - 1;
	if (mode == 0) {
		const uint8_t *cut = memchr(p, 0xff, n);
		size_t k = cut ? (size_t)(cut - p) : n;
		fuzz_put(fuzz_paths[0], p, k);
		fuzz_put(fuzz_paths[1], cut ? cut + 1 : p, cut ? n - k - 1 : 0);
		eval_task *t = task_read_piqa(fuzz_paths[0], fuzz_paths[1], err, sizeof err);
		if (!t) {
			check_refusal(err);
			return 0;
		}
		check_task(t, 1);
		for (size_t i = 0; i < t->n; i++)
			if (t->items[i].n_choices != 2)
				abort();
		eval_task_free(t);
		return 0;
	}
	if (mode == 4) {
		char *list = malloc(n + 1);
		if (!list)
			return 0;
		memcpy(list, p, n);
		list[n] = 0;
		int rc = tasks_check(list, err, sizeof err);
		if ((rc != 0 && rc != -2) || (rc && !err[0]) || (!rc && !list[strspn(list, ",")]))
			abort();
		free(list);
		return 0;
	}
	fuzz_put(fuzz_paths[0], p, n);
	if (mode == 1 || mode == 2) {
		eval_task *t = mode == 1 ? task_read_arc("arc_easy", fuzz_paths[0], err, sizeof err)
					 : task_read_hellaswag(fuzz_paths[0], err, sizeof err);
		if (!t) {
			check_refusal(err);
			return 0;
		}
		check_task(t, 1);
		eval_task_free(t);
		return 0;
	}
	eval_task **tasks = NULL;
	size_t n_tasks = 0;
	if (task_read_generic(fuzz_paths[0], "custom", &tasks, &n_tasks, err, sizeof err)) {
		check_refusal(err);
		if (n_tasks) /* the file's tasks are gone again */
			abort();
		free(tasks);
		return 0;
	}
	for (size_t i = 0; i < n_tasks; i++) {
		check_task(tasks[i], 0);
		eval_task_free(tasks[i]);
	}
	free(tasks);
	return 0;
}
