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
/* Appends a copy-free item (t takes ownership). */
void eval_task_add(eval_task *t, eval_item *it);

/* One record to one item. On a malformed record these return -1 with a
 * message in err (the caller adds the file and line). */
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

/* Readers of whole files ("-" is stdin; zstd and bzip2 are undone). */
eval_task *task_read_piqa(const char *jsonl, const char *labels);
eval_task *task_read_arc(const char *name, const char *path);
eval_task *task_read_hellaswag(const char *path);
/* A JSON Lines file of ready-made items; items with a "task" member are
 * grouped by it, the others go to default_name. Appends to *tasks. */
void task_read_generic(const char *path, const char *default_name, eval_task ***tasks,
		       size_t *n_tasks);

/* Resolves a comma-separated list of "NAME", "NAME=PATH" or "PATH.jsonl"
 * (PATH a file or a directory; NAME alone looks in eval_dir/NAME) into
 * tasks. Dies on an unknown name or a missing file. */
eval_task **tasks_load(const char *list, const char *eval_dir, size_t *n_tasks);

/* The tasks bonsai-eval knows by name, NULL-terminated. */
extern const char *const eval_known_tasks[];
/* Each of eval_known_tasks whose folder eval_dir/NAME exists, read as
 * tasks_load() reads NAME; dies when there is none, or when a folder lacks
 * its files or holds a bad one. */
eval_task **tasks_load_present(const char *eval_dir, size_t *n_tasks);

/* The whole of PATH ("-" stdin) in memory, zstd or bzip2 undone. */
char *eval_read_input(const char *path, size_t *len);

#endif
