/* evaltasks.h - zero-shot multiple-choice tasks: their items read from the
 * official files, and the prompts lm-evaluation-harness builds from them. */
#ifndef BONSAI_EVALTASKS_H
#define BONSAI_EVALTASKS_H

#include <stddef.h>

#include "json.h"

typedef struct {
	char *id;        /* the source's id, or NULL */
	long index;      /* position in the source file, from 0 */
	char *context;   /* the prompt, as lm-eval's doc_to_text gives it */
	char *stem;      /* the item's own words before the choices, without the
			  * prompt's template (PIQA's goal, ARC's question,
			  * HellaSwag's context without its activity label, a
			  * ready-made item's context): what bonsai-filter
			  * --decontaminate looks for, with the choices */
	char **choices;  /* the answers, without the " " that joins them on */
	int n_choices;
	int gold;        /* index of the right choice, -1 when unknown */
} eval_item;

typedef struct {
	char *name;      /* piqa, arc_easy, hellaswag, or the name of a task file */
	char *source;    /* the file read */
	eval_item *items;
	size_t n, cap;
} eval_task;

void eval_item_free(eval_item *it);
void eval_task_free(eval_task *t);
/* Appends a copy-free item (t takes ownership): 0, or -1 with the message
 * when out of memory (it is then still the caller's). */
int eval_task_add(eval_task *t, eval_item *it, char *err, size_t errlen);

/* One record to one item. On a malformed record, or out of memory, these
 * return -1 with a message in err (the caller adds the file and line) and
 * the caller frees what it holds with eval_item_free(). */
int piqa_item(const json_value *doc, const char *label, eval_item *it, char *err, size_t errlen);
/* ARC in both layouts: the original {"question": {"stem", "choices":
 * [{"text", "label"}]}, "answerKey"} and Hugging Face's {"question",
 * "choices": {"text": [], "label": []}, "answerKey"}. */
int arc_item(const json_value *doc, eval_item *it, char *err, size_t errlen);
/* HellaSwag's official record {activity_label, ctx_a, ctx_b, endings, label}. */
int hellaswag_item(const json_value *doc, eval_item *it, char *err, size_t errlen);
/* HellaSwag's 6-line text form: "activity_label: ctx", the label, 4 endings. */
int hellaswag_text_item(char *const lines[6], eval_item *it, char *err, size_t errlen);
/* A ready-made item {"context", "choices", "gold"} (a custom task). */
int generic_item(const json_value *doc, eval_item *it, char *err, size_t errlen);

/* Readers of whole files ("-" is stdin; zstd and bzip2 are undone). On a
 * missing or malformed file they return NULL (-1) with "FILE:LINE: what is
 * wrong" (or "FILE: ...") in err. */
eval_task *task_read_piqa(const char *jsonl, const char *labels, char *err, size_t errlen);
eval_task *task_read_arc(const char *name, const char *path, char *err, size_t errlen);
eval_task *task_read_hellaswag(const char *path, char *err, size_t errlen);
/* A JSON Lines file of ready-made items; items with a "task" member are
 * grouped by it, the others go to default_name. Appends to *tasks; on an
 * error the tasks it appended are gone again. */
int task_read_generic(const char *path, const char *default_name, eval_task ***tasks,
		      size_t *n_tasks, char *err, size_t errlen);

/* Resolves a comma-separated list of "NAME", "NAME=PATH" or "PATH.jsonl"
 * (PATH a file or a directory; NAME alone looks in eval_dir/NAME) into
 * *tasks. 0; -1 with the message in err for a missing or bad file; -2 when
 * the list itself is wrong (an unknown name, a task named twice: a usage
 * error). */
int tasks_load(const char *list, const char *eval_dir, eval_task ***tasks, size_t *n_tasks,
	       char *err, size_t errlen);
/* The list's own mistakes, as tasks_load() would give them (an unknown
 * name, NAME= without a path, a name twice: -2 with the message), before
 * the sets are there to read; 0 when there is none. */
int tasks_check(const char *list, char *err, size_t errlen);

/* The tasks bonsai-eval knows by name, NULL-terminated. */
extern const char *const eval_known_tasks[];
/* Each of eval_known_tasks whose folder eval_dir/NAME exists, read as
 * tasks_load() reads NAME; NULL with the message in err when there is none,
 * or when a folder lacks its files or holds a bad one. */
eval_task **tasks_load_present(const char *eval_dir, size_t *n_tasks, char *err, size_t errlen);

/* The whole of PATH ("-" stdin) in memory, zstd, gzip or bzip2 undone; NULL with
 * "PATH: why" in err. */
char *eval_read_input(const char *path, size_t *len, char *err, size_t errlen);

#endif
