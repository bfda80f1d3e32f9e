/* evaltasks.c - task items from the official files, prompts as
 * lm-evaluation-harness builds them (lm_eval/tasks/{piqa,arc,hellaswag}). */
#include "evaltasks.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "buf.h"
#include "cli.h"
#include "xio.h"
#include "evaltext.h"

void eval_item_free(eval_item *it)
{
	free(it->id);
	free(it->context);
	free(it->stem);
	for (int i = 0; i < it->n_choices; i++)
		free(it->choices[i]);
	free(it->choices);
	memset(it, 0, sizeof *it);
}

void eval_task_free(eval_task *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->n; i++)
		eval_item_free(&t->items[i]);
	free(t->items);
	free(t->name);
	free(t->source);
	free(t);
}

int eval_task_add(eval_task *t, eval_item *it, char *err, size_t errlen)
{
	if (t->n == t->cap) {
		size_t cap = t->cap ? 2 * t->cap : 256;
		eval_item *items = reallocarray(t->items, cap, sizeof *t->items);
		if (!items)
			return errf(err, errlen, "out of memory (for %zu items)", cap);
		t->items = items;
		t->cap = cap;
	}
	t->items[t->n++] = *it;
	return 0;
}

static eval_task *task_new(const char *name, const char *source, char *err, size_t errlen)
{
	eval_task *t = calloc(1, sizeof *t);
	if (t && (t->name = strdup(name)) && (t->source = strdup(source)))
		return t;
	eval_task_free(t);
	errf(err, errlen, "%s: out of memory", source);
	return NULL;
}

static int no_memory(char *err, size_t errlen) { return errf(err, errlen, "out of memory"); }

static const char *get_str(const json_value *o, const char *key, char *err, size_t errlen)
{
	const char *s = json_get_str(o, key);
	if (!s)
		errf(err, errlen, "\"%s\" is missing or not a string", key);
	return s;
}

/* Room for n choices in it; -1 when out of memory. */
static int new_choices(eval_item *it, size_t n)
{
	it->choices = calloc(n, sizeof *it->choices);
	return it->choices ? 0 : -1;
}

/* Appends a copy of s to it's choices; -1 when out of memory. */
static int add_choice(eval_item *it, const char *s)
{
	char *c = strdup(s);
	if (!c)
		return -1;
	it->choices[it->n_choices++] = c;
	return 0;
}

/* it->id from the string member key of doc, when there is one; -1 when
 * out of memory. */
static int copy_id(eval_item *it, const json_value *doc, const char *key)
{
	const char *id = json_get_str(doc, key);
	return id && !(it->id = strdup(id)) ? -1 : 0;
}

/* A JSON array of strings as a new choices array. */
static int get_choices(const json_value *arr, const char *what, eval_item *it, char *err,
		       size_t errlen)
{
	if (!arr || arr->type != JSON_ARRAY || arr->len < 2)
		return errf(err, errlen, "%s: not an array of 2 or more strings", what);
	if (new_choices(it, arr->len))
		return no_memory(err, errlen);
	for (size_t i = 0; i < arr->len; i++) {
		if (arr->items[i].type != JSON_STRING)
			return errf(err, errlen, "%s[%zu] is not a string", what, i);
		if (add_choice(it, arr->items[i].str))
			return no_memory(err, errlen);
	}
	return 0;
}

/* A label: a JSON integer or a string holding one. */
static int get_label(const json_value *v, int n, int *out, char *err, size_t errlen)
{
	int64_t k = -1;
	if (v && v->type == JSON_NUMBER) {
		if (json_int(v, 0, n - 1, &k))
			k = -1;
	} else if (v && v->type == JSON_STRING && v->len > 0 && v->len < 10) {
		char *end;
		k = strtol(v->str, &end, 10);
		if (*end || v->str[0] == '-' || v->str[0] == '+' || v->str[0] == ' ')
			k = -1;
	}
	if (k < 0 || k >= n)
		return errf(err, errlen, "label is not an integer from 0 to %d", n - 1);
	*out = (int)k;
	return 0;
}

int piqa_item(const json_value *doc, const char *label, eval_item *it, char *err, size_t errlen)
{
	memset(it, 0, sizeof *it);
	const char *goal = get_str(doc, "goal", err, errlen), *s1, *s2;
	if (!goal || !(s1 = get_str(doc, "sol1", err, errlen)) ||
	    !(s2 = get_str(doc, "sol2", err, errlen)))
		return -1;
	if (strcmp(label, "0") != 0 && strcmp(label, "1") != 0)
		return errf(err, errlen, "label \"%s\" is not 0 or 1", label);
	it->gold = label[0] - '0';
	if (copy_id(it, doc, "id") ||
	    !(it->context = str_cat("Question: ", goal, "\nAnswer:", (char *)NULL)) ||
	    !(it->stem = strdup(goal)) || new_choices(it, 2) || add_choice(it, s1) || add_choice(it, s2))
		return no_memory(err, errlen);
	return 0;
}

int arc_item(const json_value *doc, eval_item *it, char *err, size_t errlen)
{
	memset(it, 0, sizeof *it);
	const json_value *q = json_get(doc, "question"), *choices = NULL;
	const char *question = NULL;
	if (q && q->type == JSON_STRING) { /* Hugging Face */
		question = q->str;
		choices = json_get(doc, "choices");
	} else if (q && q->type == JSON_OBJECT) { /* original ARC */
		question = json_get_str(q, "stem");
		choices = json_get(q, "choices");
	}
	if (!question)
		return errf(err, errlen, "no question (a string, or an object with \"stem\")");
	const char *key = get_str(doc, "answerKey", err, errlen);
	if (!key)
		return -1;
	size_t n = 0;
	const json_value *texts = NULL, *labels = NULL;
	if (choices && choices->type == JSON_OBJECT) {
		texts = json_get(choices, "text");
		labels = json_get(choices, "label");
		if (!texts || !labels || texts->type != JSON_ARRAY || labels->type != JSON_ARRAY ||
		    texts->len != labels->len)
			return errf(err, errlen, "choices: want arrays \"text\" and \"label\" of one length");
		n = texts->len;
	} else if (choices && choices->type == JSON_ARRAY) {
		n = choices->len;
	} else {
		return errf(err, errlen, "no choices");
	}
	if (n < 2)
		return errf(err, errlen, "fewer than 2 choices");
	if (new_choices(it, n))
		return no_memory(err, errlen);
	it->gold = -1;
	for (size_t i = 0; i < n; i++) {
		const char *text, *label;
		if (texts) {
			text = texts->items[i].type == JSON_STRING ? texts->items[i].str : NULL;
			label = labels->items[i].type == JSON_STRING ? labels->items[i].str : NULL;
		} else {
			text = json_get_str(&choices->items[i], "text");
			label = json_get_str(&choices->items[i], "label");
		}
		if (!text || !label)
			return errf(err, errlen, "choice %zu: no text or label string", i);
		if (add_choice(it, text))
			return no_memory(err, errlen);
		/* lm-eval: choices.label.index(answerKey), the first match */
		if (it->gold < 0 && strcmp(label, key) == 0)
			it->gold = (int)i;
	}
	if (it->gold < 0)
		return errf(err, errlen, "answerKey \"%s\" is not among the labels", key);
	if (copy_id(it, doc, "id") ||
	    !(it->context = str_cat("Question: ", question, "\nAnswer:", (char *)NULL)) ||
	    !(it->stem = strdup(question)))
		return no_memory(err, errlen);
	return 0;
}

/* HellaSwag's preprocess() on every choice, in place; -1 when out of memory. */
static int preprocess_choices(eval_item *it)
{
	for (int i = 0; i < it->n_choices; i++) {
		char *p = hellaswag_preprocess(it->choices[i]);
		if (!p)
			return -1;
		free(it->choices[i]);
		it->choices[i] = p;
	}
	return 0;
}

int hellaswag_item(const json_value *doc, eval_item *it, char *err, size_t errlen)
{
	memset(it, 0, sizeof *it);
	const char *act = get_str(doc, "activity_label", err, errlen), *a, *b;
	if (!act || !(a = get_str(doc, "ctx_a", err, errlen)) ||
	    !(b = get_str(doc, "ctx_b", err, errlen)))
		return -1;
	if (get_choices(json_get(doc, "endings"), "endings", it, err, errlen) < 0)
		return -1;
	if (get_label(json_get(doc, "label"), it->n_choices, &it->gold, err, errlen) < 0)
		return -1;
	/* ctx = ctx_a + " " + ctx_b.capitalize();
	 * query = preprocess(activity_label + ": " + ctx) */
	char *cap = py_capitalize(b);
	char *raw = cap ? str_cat(act, ": ", a, " ", cap, (char *)NULL) : NULL;
	it->context = raw ? hellaswag_preprocess(raw) : NULL;
	free(raw);
	raw = it->context ? str_cat(a, " ", cap, (char *)NULL) : NULL;
	it->stem = raw ? hellaswag_preprocess(raw) : NULL;
	free(raw);
	free(cap);
	if (!it->stem || preprocess_choices(it) || copy_id(it, doc, "ind") ||
	    (!it->id && copy_id(it, doc, "source_id")))
		return no_memory(err, errlen);
	return 0;
}

int hellaswag_text_item(char *const lines[6], eval_item *it, char *err, size_t errlen)
{
	memset(it, 0, sizeof *it);
	const char *l = lines[1];
	if (!(l[0] >= '0' && l[0] <= '3' && (l[1] == 0 || (l[1] == '\r' && l[2] == 0))))
		return errf(err, errlen, "label \"%s\" is not 0, 1, 2 or 3", l);
	it->gold = l[0] - '0';
	/* "activity_label: ctx" */
	const char *ctx = strstr(lines[0], ": ");
	if (!(it->context = hellaswag_preprocess(lines[0])) ||
	    !(it->stem = hellaswag_preprocess(ctx ? ctx + 2 : lines[0])) || new_choices(it, 4))
		return no_memory(err, errlen);
	for (int i = 0; i < 4; i++) {
		if (!(it->choices[i] = hellaswag_preprocess(lines[2 + i])))
			return no_memory(err, errlen);
		it->n_choices = i + 1;
	}
	return 0;
}

int generic_item(const json_value *doc, eval_item *it, char *err, size_t errlen)
{
	memset(it, 0, sizeof *it);
	const char *ctx = json_get_str(doc, "context");
	if (!ctx)
		ctx = json_get_str(doc, "query");
	if (!ctx)
		return errf(err, errlen, "\"context\" is missing or not a string");
	if (get_choices(json_get(doc, "choices"), "choices", it, err, errlen) < 0)
		return -1;
	it->gold = -1;
	const json_value *g = json_get(doc, "gold");
	if (g && g->type != JSON_NULL &&
	    get_label(g, it->n_choices, &it->gold, err, errlen) < 0)
		return -1;
	if (!(it->context = strdup(ctx)) || !(it->stem = strdup(ctx)) || copy_id(it, doc, "id"))
		return no_memory(err, errlen);
	return 0;
}

/* ---- files ---- */

char *eval_read_input(const char *path, size_t *len, char *err, size_t errlen)
{
	/* bzip2 (HellaSwag's full set), gzip or zstd decompressed on the way */
	char *data = read_file_err(path, len, err, errlen);
	if (!data)
		return NULL;
	if (strlen(data) != *len) {
		free(data);
		errf(err, errlen, "%s: holds a NUL byte: not a text file", path);
		return NULL;
	}
	return data;
}

/* Splits text (of the file path) into lines (no '\n', a trailing '\r'
 * dropped), in place; NULL with the message when out of memory. */
static char **split_lines(const char *path, char *text, size_t len, size_t *n, char *err,
			  size_t errlen)
{
	size_t cap = 1024, k = 0;
	char **lines = malloc(cap * sizeof *lines);
	char *p = text, *end = text + len;
	while (lines && p < end) {
		char *nl = memchr(p, '\n', (size_t)(end - p));
		char *e = nl ? nl : end;
		if (e > p && e[-1] == '\r')
			e[-1] = 0;
		*e = 0;
		if (k == cap) {
			char **grown = reallocarray(lines, cap *= 2, sizeof *lines);
			if (!grown)
				free(lines);
			if (!(lines = grown))
				break;
		}
		lines[k++] = p;
		p = nl ? nl + 1 : end;
	}
	if (!lines)
		errf(err, errlen, "%s: out of memory (for %zu lines)", path, cap);
	*n = k;
	return lines;
}

static int blank(const char *s)
{
	return s[strspn(s, " \t\r")] == 0;
}

/* "PATH:LINE: msg" (or "PATH: msg" for line 0), as die_at() words it. */
static void err_at(char *err, size_t errlen, const char *path, size_t line, const char *msg)
{
	if (line > 0)
		errf(err, errlen, "%s:%zu: %s", path, line, msg);
	else
		errf(err, errlen, "%s: %s", path, msg);
}

static json_doc *parse_line(const char *path, size_t line, const char *s, char *err,
			    size_t errlen)
{
	char why[256];
	json_doc *d = json_parse(s, strlen(s), why, sizeof why);
	if (!d) {
		err_at(err, errlen, path, line, why);
		return NULL;
	}
	if (json_root(d)->type != JSON_OBJECT) {
		json_free(d);
		err_at(err, errlen, path, line, "not a JSON object");
		return NULL;
	}
	return d;
}

/* Appends it to t (path's item at line; 0: none), or frees it and returns
 * -1 with the message. */
static int add_item(eval_task *t, eval_item *it, const char *path, size_t line, char *err,
		    size_t errlen)
{
	char why[256];
	if (eval_task_add(t, it, why, sizeof why) == 0)
		return 0;
	eval_item_free(it);
	err_at(err, errlen, path, line, why);
	return -1;
}

/* Appends an item for each non-blank JSON Lines record of lines[]. */
static int add_json_lines(eval_task *t, char **lines, size_t nl, const char *path,
			  int (*item)(const json_value *, eval_item *, char *, size_t), char *err,
			  size_t errlen)
{
	char why[256];
	for (size_t i = 0; i < nl; i++) {
		if (blank(lines[i]))
			continue;
		json_doc *d = parse_line(path, i + 1, lines[i], err, errlen);
		eval_item it = {0};
		int r = d ? item(json_root(d), &it, why, sizeof why) : -1;
		if (d && r < 0)
			err_at(err, errlen, path, i + 1, why);
		json_free(d);
		if (r < 0) {
			eval_item_free(&it);
			return -1;
		}
		it.index = (long)t->n;
		if (add_item(t, &it, path, i + 1, err, errlen))
			return -1;
	}
	return 0;
}

eval_task *task_read_piqa(const char *jsonl, const char *labels, char *err, size_t errlen)
{
	size_t n, nl, nlab, nlabl;
	char *text = eval_read_input(jsonl, &n, err, errlen);
	if (!text)
		return NULL;
	char *lab = eval_read_input(labels, &nlab, err, errlen);
	if (!lab) {
		free(text);
		return NULL;
	}
	char **lines = split_lines(jsonl, text, n, &nl, err, errlen);
	char **lab_lines = lines ? split_lines(labels, lab, nlab, &nlabl, err, errlen) : NULL;
	eval_task *t = NULL;
	if (!lab_lines)
		goto out;
	while (nl > 0 && blank(lines[nl - 1]))
		nl--;
	while (nlabl > 0 && blank(lab_lines[nlabl - 1]))
		nlabl--;
	if (nl != nlabl) {
		errf(err, errlen, "%s has %zu items but %s has %zu labels", jsonl, nl, labels,
		     nlabl);
		goto out;
	}
	if (!(t = task_new("piqa", jsonl, err, errlen)))
		goto out;
	for (size_t i = 0; i < nl; i++) {
		json_doc *d = parse_line(jsonl, i + 1, lines[i], err, errlen);
		if (!d)
			goto fail;
		eval_item it = {0};
		char why[256];
		char *l = lab_lines[i] + strspn(lab_lines[i], " \t");
		l[strcspn(l, " \t")] = 0;
		int r = piqa_item(json_root(d), l, &it, why, sizeof why);
		json_free(d);
		if (r < 0) {
			err_at(err, errlen, strstr(why, "label") == why ? labels : jsonl, i + 1, why);
			eval_item_free(&it);
			goto fail;
		}
		it.index = (long)i;
		if (add_item(t, &it, jsonl, i + 1, err, errlen))
			goto fail;
	}
	goto out;
fail:
	eval_task_free(t);
	t = NULL;
out:
	free(lines);
	free(lab_lines);
	free(text);
	free(lab);
	return t;
}

eval_task *task_read_arc(const char *name, const char *path, char *err, size_t errlen)
{
	size_t n;
	char *text = eval_read_input(path, &n, err, errlen);
	if (!text)
		return NULL;
	eval_task *t = task_new(name, path, err, errlen);
	if (!t) {
		free(text);
		return NULL;
	}
	char why[256];
	size_t skip = strspn(text, " \t\r\n");
	if (text[skip] == '[') { /* a JSON array (Hugging Face's datasets JSON) */
		json_doc *d = json_parse(text, n, why, sizeof why);
		if (!d) {
			err_at(err, errlen, path, 0, why);
			goto fail;
		}
		json_value *arr = json_root(d);
		for (size_t i = 0; i < arr->len; i++) {
			eval_item it = {0};
			if (arr->items[i].type != JSON_OBJECT ||
			    arc_item(&arr->items[i], &it, why, sizeof why) < 0) {
				errf(err, errlen, "%s: item %zu: %s", path, i,
				     arr->items[i].type != JSON_OBJECT ? "not an object" : why);
				json_free(d);
				eval_item_free(&it);
				goto fail;
			}
			it.index = (long)i;
			if (add_item(t, &it, path, 0, err, errlen)) {
				json_free(d);
				goto fail;
			}
		}
		json_free(d);
	} else {
		size_t nl;
		char **lines = split_lines(path, text, n, &nl, err, errlen);
		int r = lines ? add_json_lines(t, lines, nl, path, arc_item, err, errlen) : -1;
		free(lines);
		if (r < 0)
			goto fail;
	}
	free(text);
	return t;
fail:
	free(text);
	eval_task_free(t);
	return NULL;
}

eval_task *task_read_hellaswag(const char *path, char *err, size_t errlen)
{
	size_t n, nl;
	char *text = eval_read_input(path, &n, err, errlen);
	if (!text)
		return NULL;
	char **lines = split_lines(path, text, n, &nl, err, errlen);
	eval_task *t = lines ? task_new("hellaswag", path, err, errlen) : NULL;
	if (!t)
		goto fail;
	char why[256];
	size_t skip = strspn(text, " \t\r\n");
	if (text[skip] == '{') { /* the official JSON Lines */
		if (add_json_lines(t, lines, nl, path, hellaswag_item, err, errlen) < 0)
			goto fail;
	} else { /* 6 lines an item */
		while (nl > 0 && blank(lines[nl - 1]))
			nl--;
		if (nl % 6 != 0) {
			errf(err, errlen, "%s: %zu lines: not the 6-lines-per-item HellaSwag text form",
			     path, nl);
			goto fail;
		}
		for (size_t i = 0; i < nl; i += 6) {
			eval_item it = {0};
			if (hellaswag_text_item(lines + i, &it, why, sizeof why) < 0) {
				err_at(err, errlen, path, i + 2, why);
				eval_item_free(&it);
				goto fail;
			}
			it.index = (long)t->n;
			if (add_item(t, &it, path, i + 2, err, errlen))
				goto fail;
		}
	}
	free(lines);
	free(text);
	return t;
fail:
	free(lines);
	free(text);
	eval_task_free(t);
	return NULL;
}

/* Appends t (a reader's result, NULL after its error) to *tasks: 0, or -1
 * with the message (t freed). */
static int add_task(eval_task ***tasks, size_t *n, eval_task *t, char *err, size_t errlen)
{
	if (!t)
		return -1;
	eval_task **grown = reallocarray(*tasks, *n + 1, sizeof **tasks);
	if (!grown) {
		errf(err, errlen, "%s: out of memory", t->source);
		eval_task_free(t);
		return -1;
	}
	*tasks = grown;
	(*tasks)[(*n)++] = t;
	return 0;
}

/* A new task appended to *tasks; NULL with the message when out of memory. */
static eval_task *new_task_in(eval_task ***tasks, size_t *n_tasks, const char *name,
			      const char *path, char *err, size_t errlen)
{
	eval_task *t = task_new(name, path, err, errlen);
	return add_task(tasks, n_tasks, t, err, errlen) ? NULL : t;
}

int task_read_generic(const char *path, const char *default_name, eval_task ***tasks,
		      size_t *n_tasks, char *err, size_t errlen)
{
	size_t n, nl;
	char *text = eval_read_input(path, &n, err, errlen);
	if (!text)
		return -1;
	char **lines = split_lines(path, text, n, &nl, err, errlen);
	char why[256];
	int rc = lines ? 0 : -1;
	size_t first = *n_tasks;
	for (size_t i = 0; i < nl && rc == 0; i++) {
		if (blank(lines[i]))
			continue;
		json_doc *d = parse_line(path, i + 1, lines[i], err, errlen);
		if (!d) {
			rc = -1;
			break;
		}
		json_value *doc = json_root(d);
		eval_item it = {0};
		if (generic_item(doc, &it, why, sizeof why) < 0) {
			err_at(err, errlen, path, i + 1, why);
			json_free(d);
			eval_item_free(&it);
			rc = -1;
			break;
		}
		const char *name = json_get_str(doc, "task");
		if (!name || !*name)
			name = default_name;
		eval_task *t = NULL;
		for (size_t k = first; k < *n_tasks; k++)
			if (strcmp((*tasks)[k]->name, name) == 0)
				t = (*tasks)[k];
		if (!t && !(t = new_task_in(tasks, n_tasks, name, path, err, errlen))) {
			json_free(d);
			eval_item_free(&it);
			rc = -1;
			break;
		}
		int64_t idx;
		it.index = json_int(json_get(doc, "index"), 0, (int64_t)1 << 53, &idx) ? (long)t->n
											: (long)idx;
		rc = add_item(t, &it, path, i + 1, err, errlen);
		json_free(d);
	}
	if (rc == 0 && *n_tasks == first)
		rc = errf(err, errlen, "%s: no items", path);
	if (rc < 0) { /* the tasks of this file go; those before it stay */
		while (*n_tasks > first)
			eval_task_free((*tasks)[--*n_tasks]);
	}
	free(lines);
	free(text);
	return rc;
}

/* ---- finding the files of a task ---- */

static int is_dir(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static int is_file(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0 && !S_ISDIR(st.st_mode);
}

/* The first of names[] that exists in dir: 0 with *found malloc()ed, or
 * NULL when there is none; -1 when out of memory. */
static int find_in(const char *dir, const char *const *names, char **found)
{
	*found = NULL;
	for (; *names; names++) {
		char *p = path_join(dir, *names);
		if (!p)
			return -1;
		if (is_file(p)) {
			*found = p;
			return 0;
		}
		free(p);
	}
	return 0;
}

static const char *const piqa_files[] = {"valid.jsonl", "piqa_valid.jsonl", NULL};
static const char *const arc_easy_files[] = {
	"ARC-Easy-Test.jsonl", "ai2_arc_easy_test.json", "test.jsonl", "test.json", NULL};
static const char *const arc_challenge_files[] = {
	"ARC-Challenge-Test.jsonl", "ai2_arc_challenge_test.json", "test.jsonl", "test.json",
	NULL};
static const char *const hellaswag_files[] = {
	"hellaswag_val.jsonl", "hellaswag_val.jsonl.zst", "hellaswag_val_full.txt",
	"hellaswag_val_full.txt.bz2", NULL};

/* A task's main file: PATH itself, or the known names inside PATH (or
 * inside eval_dir/NAME when no path is given); NULL when there is none. */
static char *task_file(const char *name, const char *path, const char *eval_dir,
		       const char *const *names, char *err, size_t errlen)
{
	char *dir = path ? strdup(path) : path_join(eval_dir, name);
	if (!dir) {
		errf(err, errlen, "task %s: out of memory", name);
		return NULL;
	}
	if (path && (!is_dir(path) || strcmp(path, "-") == 0)) {
		if (strcmp(path, "-") != 0 && !is_file(path)) {
			errf(err, errlen, "%s: no such file (task %s)", path, name);
			free(dir);
			return NULL;
		}
		return dir;
	}
	char *f;
	if (find_in(dir, names, &f)) {
		errf(err, errlen, "task %s: out of memory", name);
	} else if (!f) {
		/* the few known names: no allocation needed */
		char list[512] = "";
		for (const char *const *p = names; *p; p++)
			snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s",
				 p == names ? "" : ", ", *p);
		errf(err, errlen, "task %s: none of %s in %s%s", name, list, dir,
		     path ? "" : " (download it with bonsai-fetch --eval, or name a file: "
				 "NAME=PATH)");
	}
	free(dir);
	return f;
}

const char *const eval_known_tasks[] = {"piqa", "hellaswag", "arc_easy", "arc_challenge", NULL};

/* The spec's own mistakes, before any file is read: 0, or -2 with the
 * message. A name that is not a task's may still be a file's, one there
 * or, written as a path, one to come. nlen: the length of its NAME. */
static int spec_check(const char *spec, size_t *nlen, char *err, size_t errlen)
{
	const char *eq = strchr(spec, '=');
	*nlen = eq ? (size_t)(eq - spec) : strlen(spec);
	/* each was skipped or taken as a file name: "piqa," evaluated piqa
	 * alone without a word, "piqa, arc_easy" looked for a file " arc_easy" */
	if (!*spec)
		return errf(err, errlen, "an empty task name in the list (two commas, or one at an end)") - 1;
	if (isspace((unsigned char)spec[0]) || isspace((unsigned char)spec[*nlen ? *nlen - 1 : 0]))
		return errf(err, errlen, "task \"%s\": a space around its name (the list is NAME,NAME "
			    "with no spaces)", spec) - 1;
	if (!eq && is_dir(spec))
		return errf(err, errlen, "task \"%s\": a folder; give it as NAME=%s, NAME one of piqa, "
			    "arc_easy, arc_challenge, hellaswag", spec, spec) - 1;
	if (eq && (!eq[1] || eq == spec))
		return errf(err, errlen, "task \"%s\": want NAME, NAME=PATH or a .jsonl file", spec) - 1;
	if (eq || is_file(spec) || strchr(spec, '/') || strstr(spec, ".json"))
		return 0;
	for (const char *const *k = eval_known_tasks; *k; k++)
		if (strcmp(spec, *k) == 0)
			return 0;
	return errf(err, errlen,
		    "unknown task \"%s\" (piqa, arc_easy, arc_challenge, hellaswag, "
		    "NAME=FILE.jsonl or FILE.jsonl)",
		    spec) - 1;
}

/* Reads one task spec onto *tasks: 0, -1 (a bad or missing file) or -2
 * (the spec itself is wrong), with the message in err. */
static int load_one(const char *spec, const char *eval_dir, eval_task ***tasks, size_t *n,
		    char *err, size_t errlen)
{
	size_t nlen;
	if (spec_check(spec, &nlen, err, errlen))
		return -2;
	char *name = strdup(spec), *path = NULL;
	if (!name)
		return errf(err, errlen, "task \"%s\": out of memory", spec);
	if (name[nlen]) {
		name[nlen] = 0;
		path = name + nlen + 1;
	}
	int rc = 0;
	if (strcmp(name, "piqa") == 0) {
		char *f = task_file(name, path, eval_dir, piqa_files, err, errlen);
		if (!f) {
			rc = -1;
			goto out;
		}
		/* valid.jsonl goes with valid-labels.lst */
		size_t fl = strlen(f);
		if (fl > 6 && strcmp(f + fl - 6, ".jsonl") == 0) {
			f[fl - 6] = 0;
			char *labels = str_cat(f, "-labels.lst", (char *)NULL);
			f[fl - 6] = '.';
			rc = labels ? add_task(tasks, n, task_read_piqa(f, labels, err, errlen), err, errlen)
				    : errf(err, errlen, "%s: out of memory", f);
			free(labels);
		} else {
			rc = errf(err, errlen,
				  "%s: a PIQA file must be NAME.jsonl, with its labels in "
				  "NAME-labels.lst",
				  f);
		}
		free(f);
	} else if (strcmp(name, "arc_easy") == 0 || strcmp(name, "arc_challenge") == 0) {
		char *f = task_file(name, path, eval_dir,
				    name[4] == 'e' ? arc_easy_files : arc_challenge_files, err,
				    errlen);
		rc = f ? add_task(tasks, n, task_read_arc(name, f, err, errlen), err, errlen) : -1;
		free(f);
	} else if (strcmp(name, "hellaswag") == 0) {
		char *f = task_file(name, path, eval_dir, hellaswag_files, err, errlen);
		rc = f ? add_task(tasks, n, task_read_hellaswag(f, err, errlen), err, errlen) : -1;
		free(f);
	} else if (path) {
		if (!is_file(path) && strcmp(path, "-") != 0)
			rc = errf(err, errlen, "%s: no such file (task %s)", path, name);
		else
			rc = task_read_generic(path, name, tasks, n, err, errlen);
	} else if (is_file(name)) {
		/* a file of ready-made items, named after its base name */
		const char *base = strrchr(name, '/');
		char *tname = strdup(base ? base + 1 : name);
		char *dot = tname ? strchr(tname, '.') : NULL;
		if (dot && dot != tname)
			*dot = 0;
		rc = tname ? task_read_generic(name, tname, tasks, n, err, errlen)
			   : errf(err, errlen, "%s: out of memory", name);
		free(tname);
	} else {
		rc = errf(err, errlen, "%s: no such file", name); /* a path, not a task name */
	}
out:
	free(name);
	return rc;
}

int tasks_check(const char *list, char *err, size_t errlen)
{
	size_t len[64], n = 0, nlen;
	const char *at[64];
	int rc = 0;
	if (!*list)
		return errf(err, errlen, "no tasks named") - 1;
	for (const char *s = list; rc == 0; s += strcspn(s, ",") + 1) {
		size_t k = strcspn(s, ",");
		char spec[4096];
		if (k >= sizeof spec)
			return errf(err, errlen, "task \"%.40s...\": too long", s) - 1;
		memcpy(spec, s, k);
		spec[k] = 0;
		if ((rc = spec_check(spec, &nlen, err, errlen)) == 0 && n < 64) {
			for (size_t j = 0; j < n; j++)
				if (len[j] == nlen && memcmp(at[j], s, nlen) == 0)
					return errf(err, errlen, "task %.*s named twice", (int)nlen, s) - 1;
			at[n] = s, len[n++] = nlen;
		}
		if (!s[k])
			break;
	}
	if (rc == 0 && n == 0)
		rc = errf(err, errlen, "no tasks named") - 1;
	return rc;
}

static void tasks_free(eval_task **tasks, size_t n)
{
	for (size_t i = 0; i < n; i++)
		eval_task_free(tasks[i]);
	free(tasks);
}

int tasks_load(const char *list, const char *eval_dir, eval_task ***tasks_out,
	       size_t *n_tasks, char *err, size_t errlen)
{
	eval_task **tasks = NULL;
	size_t n = 0;
	/* the list's own mistakes before any set is read: a slip at its end
	 * is not found after the sets before it */
	int rc = tasks_check(list, err, errlen);
	if (rc)
		return rc;
	char *copy = strdup(list);
	if (!copy)
		return errf(err, errlen, "out of memory (for the task list)");
	for (char *s = copy, *end; rc == 0; s = end + 1) {
		end = s + strcspn(s, ",");
		int last = !*end;
		*end = 0;
		rc = load_one(s, eval_dir, &tasks, &n, err, errlen);
		if (last)
			break;
	}
	free(copy);
	if (rc == 0 && n == 0)
		rc = errf(err, errlen, "no tasks named") - 1;
	for (size_t i = 0; i < n && rc == 0; i++)
		for (size_t j = 0; j < i && rc == 0; j++)
			if (strcmp(tasks[i]->name, tasks[j]->name) == 0)
				rc = errf(err, errlen, "task %s named twice", tasks[i]->name) - 1;
	if (rc < 0) {
		tasks_free(tasks, n);
		return rc;
	}
	*tasks_out = tasks;
	*n_tasks = n;
	return 0;
}

eval_task **tasks_load_present(const char *eval_dir, size_t *n_tasks, char *err, size_t errlen)
{
	eval_task **tasks = NULL;
	size_t n = 0;
	int rc = 0;
	for (const char *const *name = eval_known_tasks; *name && rc == 0; name++) {
		char *dir = path_join(eval_dir, *name);
		if (!dir)
			rc = errf(err, errlen, "%s/%s: out of memory", eval_dir, *name);
		else if (is_dir(dir))
			rc = load_one(*name, eval_dir, &tasks, &n, err, errlen);
		free(dir);
	}
	if (rc == 0 && n == 0)
		rc = errf(err, errlen,
			  "%s: none of piqa, hellaswag, arc_easy, arc_challenge in it "
			  "(bonsai-fetch --eval puts them there)",
			  eval_dir);
	if (rc < 0) {
		tasks_free(tasks, n);
		return NULL;
	}
	*n_tasks = n;
	return tasks;
}
