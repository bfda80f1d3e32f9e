/* evaltasks.c - task items from the official files, prompts as
 * lm-evaluation-harness builds them (lm_eval/tasks/{piqa,arc,hellaswag}). */
#include "evaltasks.h"

#include <bzlib.h>
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

void eval_task_add(eval_task *t, eval_item *it)
{
	if (t->n == t->cap) {
		t->cap = t->cap ? 2 * t->cap : 256;
		t->items = xreallocarray(t->items, t->cap, sizeof *t->items);
	}
	t->items[t->n++] = *it;
}

static eval_task *task_new(const char *name, const char *source)
{
	eval_task *t = xcalloc(1, sizeof *t);
	t->name = xstrdup(name);
	t->source = xstrdup(source);
	return t;
}

static const char *get_str(const json_value *o, const char *key, char *err, size_t errlen)
{
	const char *s = json_get_str(o, key);
	if (!s)
		errf(err, errlen, "\"%s\" is missing or not a string", key);
	return s;
}

/* A JSON array of strings as a new choices array. */
static int get_choices(const json_value *arr, const char *what, eval_item *it, char *err,
		       size_t errlen)
{
	if (!arr || arr->type != JSON_ARRAY || arr->len < 2)
		return errf(err, errlen, "%s: not an array of 2 or more strings", what);
	it->choices = xcalloc(arr->len, sizeof *it->choices);
	for (size_t i = 0; i < arr->len; i++) {
		if (arr->items[i].type != JSON_STRING)
			return errf(err, errlen, "%s[%zu] is not a string", what, i);
		it->choices[i] = xstrdup(arr->items[i].str);
		it->n_choices = (int)i + 1;
	}
	return 0;
}

/* A label: a JSON integer or a string holding one. */
static int get_label(const json_value *v, int n, int *out, char *err, size_t errlen)
{
	long k = -1;
	if (v && v->type == JSON_NUMBER && v->number == (double)(long)v->number)
		k = (long)v->number;
	else if (v && v->type == JSON_STRING && v->len > 0 && v->len < 10) {
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
	const char *id = json_get_str(doc, "id");
	it->id = id ? xstrdup(id) : NULL;
	it->context = str_cat("Question: ", goal, "\nAnswer:", (char *)NULL);
	it->stem = xstrdup(goal);
	it->choices = xcalloc(2, sizeof *it->choices);
	it->choices[0] = xstrdup(s1);
	it->choices[1] = xstrdup(s2);
	it->n_choices = 2;
	it->gold = label[0] - '0';
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
	it->choices = xcalloc(n, sizeof *it->choices);
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
		it->choices[i] = xstrdup(text);
		it->n_choices = (int)i + 1;
		/* lm-eval: choices.label.index(answerKey), the first match */
		if (it->gold < 0 && strcmp(label, key) == 0)
			it->gold = (int)i;
	}
	if (it->gold < 0)
		return errf(err, errlen, "answerKey \"%s\" is not among the labels", key);
	const char *id = json_get_str(doc, "id");
	it->id = id ? xstrdup(id) : NULL;
	it->context = str_cat("Question: ", question, "\nAnswer:", (char *)NULL);
	it->stem = xstrdup(question);
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
	char *raw = str_cat(act, ": ", a, " ", cap, (char *)NULL);
	it->context = hellaswag_preprocess(raw);
	free(raw);
	raw = str_cat(a, " ", cap, (char *)NULL);
	it->stem = hellaswag_preprocess(raw);
	free(raw);
	free(cap);
	for (int i = 0; i < it->n_choices; i++) {
		char *p = hellaswag_preprocess(it->choices[i]);
		free(it->choices[i]);
		it->choices[i] = p;
	}
	const char *id = json_get_str(doc, "ind");
	if (!id)
		id = json_get_str(doc, "source_id");
	it->id = id ? xstrdup(id) : NULL;
	return 0;
}

int hellaswag_text_item(char *const lines[6], eval_item *it, char *err, size_t errlen)
{
	memset(it, 0, sizeof *it);
	const char *l = lines[1];
	if (!(l[0] >= '0' && l[0] <= '3' && (l[1] == 0 || (l[1] == '\r' && l[2] == 0))))
		return errf(err, errlen, "label \"%s\" is not 0, 1, 2 or 3", l);
	it->gold = l[0] - '0';
	it->context = hellaswag_preprocess(lines[0]);
	/* "activity_label: ctx" */
	const char *ctx = strstr(lines[0], ": ");
	it->stem = hellaswag_preprocess(ctx ? ctx + 2 : lines[0]);
	it->choices = xcalloc(4, sizeof *it->choices);
	for (int i = 0; i < 4; i++)
		it->choices[i] = hellaswag_preprocess(lines[2 + i]);
	it->n_choices = 4;
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
	it->context = xstrdup(ctx);
	it->stem = xstrdup(ctx);
	const char *id = json_get_str(doc, "id");
	it->id = id ? xstrdup(id) : NULL;
	return 0;
}

/* ---- files ---- */

static char *bz2_decompress(const char *path, const char *in, size_t n, size_t *outlen)
{
	buf_t out = {0};
	size_t pos = 0;
	/* a file may hold several bzip2 streams back to back (pbzip2) */
	while (pos < n) {
		bz_stream s;
		memset(&s, 0, sizeof s);
		if (BZ2_bzDecompressInit(&s, 0, 0) != BZ_OK)
			die("%s: bzip2: cannot start the decompressor", path);
		s.next_in = (char *)in + pos;
		s.avail_in = n - pos > 1u << 30 ? 1u << 30 : (unsigned)(n - pos);
		int r;
		do {
			buf_reserve(&out, 1 << 20);
			s.next_out = out.data + out.len;
			s.avail_out = (unsigned)(out.cap - out.len - 1);
			unsigned before = s.avail_out, in_before = s.avail_in;
			r = BZ2_bzDecompress(&s);
			out.len += before - s.avail_out;
			pos += in_before - s.avail_in;
			if (r != BZ_OK && r != BZ_STREAM_END)
				die("%s: bzip2: corrupt data (error %d)", path, r);
			if (r == BZ_OK && s.avail_in == 0 && s.avail_out > 0) {
				if (pos >= n)
					die("%s: bzip2: the file is truncated", path);
				s.next_in = (char *)in + pos;
				s.avail_in = n - pos > 1u << 30 ? 1u << 30 : (unsigned)(n - pos);
			}
		} while (r != BZ_STREAM_END);
		BZ2_bzDecompressEnd(&s);
	}
	buf_cstr(&out);
	*outlen = out.len;
	return out.data;
}

char *eval_read_input(const char *path, size_t *len)
{
	char *data = read_file(path, len);
	if (*len >= 10 && memcmp(data, "BZh", 3) == 0 && data[3] >= '1' && data[3] <= '9') {
		size_t n;
		char *d = bz2_decompress(path, data, *len, &n);
		free(data);
		data = d;
		*len = n;
	}
	if (strlen(data) != *len)
		die("%s: holds a NUL byte: not a text file", path);
	return data;
}

/* Splits text into lines (no '\n', a trailing '\r' dropped), in place. */
static char **split_lines(char *text, size_t len, size_t *n)
{
	size_t cap = 1024, k = 0;
	char **lines = xmalloc(cap * sizeof *lines);
	char *p = text, *end = text + len;
	while (p < end) {
		char *nl = memchr(p, '\n', (size_t)(end - p));
		char *e = nl ? nl : end;
		if (e > p && e[-1] == '\r')
			e[-1] = 0;
		*e = 0;
		if (k == cap)
			lines = xreallocarray(lines, cap *= 2, sizeof *lines);
		lines[k++] = p;
		p = nl ? nl + 1 : end;
	}
	*n = k;
	return lines;
}

static int blank(const char *s)
{
	return s[strspn(s, " \t\r")] == 0;
}

static json_doc *parse_line(const char *path, size_t line, const char *s)
{
	char err[256];
	json_doc *d = json_parse(s, strlen(s), err, sizeof err);
	if (!d)
		die_at(path, (long)line, "%s", err);
	if (json_root(d)->type != JSON_OBJECT)
		die_at(path, (long)line, "not a JSON object");
	return d;
}

eval_task *task_read_piqa(const char *jsonl, const char *labels)
{
	size_t n, nl, nlab, nlabl;
	char *text = eval_read_input(jsonl, &n);
	char *lab = eval_read_input(labels, &nlab);
	char **lines = split_lines(text, n, &nl);
	char **lab_lines = split_lines(lab, nlab, &nlabl);
	while (nl > 0 && blank(lines[nl - 1]))
		nl--;
	while (nlabl > 0 && blank(lab_lines[nlabl - 1]))
		nlabl--;
	if (nl != nlabl)
		die("%s has %zu items but %s has %zu labels", jsonl, nl, labels, nlabl);
	eval_task *t = task_new("piqa", jsonl);
	for (size_t i = 0; i < nl; i++) {
		json_doc *d = parse_line(jsonl, i + 1, lines[i]);
		eval_item it;
		char err[256];
		char *l = lab_lines[i] + strspn(lab_lines[i], " \t");
		l[strcspn(l, " \t")] = 0;
		if (piqa_item(json_root(d), l, &it, err, sizeof err) < 0)
			die_at(strstr(err, "label") == err ? labels : jsonl, (long)i + 1, "%s", err);
		it.index = (long)i;
		eval_task_add(t, &it);
		json_free(d);
	}
	free(lines);
	free(lab_lines);
	free(text);
	free(lab);
	return t;
}

eval_task *task_read_arc(const char *name, const char *path)
{
	size_t n;
	char *text = eval_read_input(path, &n);
	eval_task *t = task_new(name, path);
	char err[256];
	size_t skip = strspn(text, " \t\r\n");
	if (text[skip] == '[') { /* a JSON array (Hugging Face's datasets JSON) */
		json_doc *d = json_parse(text, n, err, sizeof err);
		if (!d)
			die_at(path, 0, "%s", err);
		json_value *arr = json_root(d);
		for (size_t i = 0; i < arr->len; i++) {
			eval_item it;
			if (arr->items[i].type != JSON_OBJECT ||
			    arc_item(&arr->items[i], &it, err, sizeof err) < 0)
				die_at(path, 0, "item %zu: %s", i,
				       arr->items[i].type != JSON_OBJECT ? "not an object" : err);
			it.index = (long)i;
			eval_task_add(t, &it);
		}
		json_free(d);
	} else {
		size_t nl;
		char **lines = split_lines(text, n, &nl);
		for (size_t i = 0; i < nl; i++) {
			if (blank(lines[i]))
				continue;
			json_doc *d = parse_line(path, i + 1, lines[i]);
			eval_item it;
			if (arc_item(json_root(d), &it, err, sizeof err) < 0)
				die_at(path, (long)i + 1, "%s", err);
			it.index = (long)t->n;
			eval_task_add(t, &it);
			json_free(d);
		}
		free(lines);
	}
	free(text);
	return t;
}

eval_task *task_read_hellaswag(const char *path)
{
	size_t n, nl;
	char *text = eval_read_input(path, &n);
	char **lines = split_lines(text, n, &nl);
	eval_task *t = task_new("hellaswag", path);
	char err[256];
	size_t skip = strspn(text, " \t\r\n");
	if (text[skip] == '{') { /* the official JSON Lines */
		for (size_t i = 0; i < nl; i++) {
			if (blank(lines[i]))
				continue;
			json_doc *d = parse_line(path, i + 1, lines[i]);
			eval_item it;
			if (hellaswag_item(json_root(d), &it, err, sizeof err) < 0)
				die_at(path, (long)i + 1, "%s", err);
			it.index = (long)t->n;
			eval_task_add(t, &it);
			json_free(d);
		}
	} else { /* 6 lines an item */
		while (nl > 0 && blank(lines[nl - 1]))
			nl--;
		if (nl % 6 != 0)
			die("%s: %zu lines: not the 6-lines-per-item HellaSwag text form", path, nl);
		for (size_t i = 0; i < nl; i += 6) {
			eval_item it;
			if (hellaswag_text_item(lines + i, &it, err, sizeof err) < 0)
				die_at(path, (long)i + 2, "%s", err);
			it.index = (long)t->n;
			eval_task_add(t, &it);
		}
	}
	free(lines);
	free(text);
	return t;
}

void task_read_generic(const char *path, const char *default_name, eval_task ***tasks,
		       size_t *n_tasks)
{
	size_t n, nl;
	char *text = eval_read_input(path, &n);
	char **lines = split_lines(text, n, &nl);
	char err[256];
	size_t first = *n_tasks;
	for (size_t i = 0; i < nl; i++) {
		if (blank(lines[i]))
			continue;
		json_doc *d = parse_line(path, i + 1, lines[i]);
		json_value *doc = json_root(d);
		eval_item it;
		if (generic_item(doc, &it, err, sizeof err) < 0)
			die_at(path, (long)i + 1, "%s", err);
		const char *name = json_get_str(doc, "task");
		if (!name || !*name)
			name = default_name;
		eval_task *t = NULL;
		for (size_t k = first; k < *n_tasks; k++)
			if (strcmp((*tasks)[k]->name, name) == 0)
				t = (*tasks)[k];
		if (!t) {
			*tasks = xreallocarray(*tasks, *n_tasks + 1, sizeof **tasks);
			t = (*tasks)[(*n_tasks)++] = task_new(name, path);
		}
		double idx = json_get_num(doc, "index", -1);
		it.index = idx >= 0 ? (long)idx : (long)t->n;
		eval_task_add(t, &it);
		json_free(d);
	}
	if (*n_tasks == first)
		die("%s: no items", path);
	free(lines);
	free(text);
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

/* The first of names[] that exists in dir (malloc()ed), or NULL. */
static char *find_in(const char *dir, const char *const *names)
{
	for (; *names; names++) {
		char *p = str_cat(dir, "/", *names, (char *)NULL);
		if (is_file(p))
			return p;
		free(p);
	}
	return NULL;
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
 * inside eval_dir/NAME when no path is given). */
static char *task_file(const char *name, const char *path, const char *eval_dir,
		       const char *const *names)
{
	char *dir = path ? xstrdup(path) : str_cat(eval_dir, "/", name, (char *)NULL);
	if (path && (!is_dir(path) || strcmp(path, "-") == 0)) {
		if (strcmp(path, "-") != 0 && !is_file(path))
			die("%s: no such file (task %s)", path, name);
		return dir;
	}
	char *f = find_in(dir, names);
	if (!f) {
		buf_t b = {0};
		for (const char *const *p = names; *p; p++)
			buf_printf(&b, "%s%s", p == names ? "" : ", ", *p);
		die("task %s: none of %s in %s%s", name, buf_cstr(&b), dir,
		    path ? "" : " (download it with bonsai-fetch --eval, or name a file: "
				"NAME=PATH)");
	}
	free(dir);
	return f;
}

static void add_task(eval_task ***tasks, size_t *n, eval_task *t)
{
	*tasks = xreallocarray(*tasks, *n + 1, sizeof **tasks);
	(*tasks)[(*n)++] = t;
}

static eval_task **load_one(const char *spec, const char *eval_dir, eval_task **tasks,
			    size_t *n)
{
	char *name = xstrdup(spec), *path = NULL, *eq = strchr(name, '=');
	if (eq) {
		*eq = 0;
		path = eq + 1;
		if (!*path || !*name)
			die_usage("task \"%s\": want NAME, NAME=PATH or a .jsonl file", spec);
	}
	if (strcmp(name, "piqa") == 0) {
		char *f = task_file(name, path, eval_dir, piqa_files);
		/* valid.jsonl goes with valid-labels.lst */
		size_t fl = strlen(f);
		char *labels;
		if (fl > 6 && strcmp(f + fl - 6, ".jsonl") == 0) {
			f[fl - 6] = 0;
			labels = str_cat(f, "-labels.lst", (char *)NULL);
			f[fl - 6] = '.';
		} else {
			die("%s: a PIQA file must be NAME.jsonl, with its labels in NAME-labels.lst", f);
		}
		add_task(&tasks, n, task_read_piqa(f, labels));
		free(labels);
		free(f);
	} else if (strcmp(name, "arc_easy") == 0 || strcmp(name, "arc_challenge") == 0) {
		char *f = task_file(name, path, eval_dir,
				    name[4] == 'e' ? arc_easy_files : arc_challenge_files);
		add_task(&tasks, n, task_read_arc(name, f));
		free(f);
	} else if (strcmp(name, "hellaswag") == 0) {
		char *f = task_file(name, path, eval_dir, hellaswag_files);
		add_task(&tasks, n, task_read_hellaswag(f));
		free(f);
	} else if (path) {
		if (!is_file(path) && strcmp(path, "-") != 0)
			die("%s: no such file (task %s)", path, name);
		task_read_generic(path, name, &tasks, n);
	} else if (is_file(name)) {
		/* a file of ready-made items, named after its base name */
		const char *base = strrchr(name, '/');
		char *tname = xstrdup(base ? base + 1 : name);
		char *dot = strchr(tname, '.');
		if (dot && dot != tname)
			*dot = 0;
		task_read_generic(name, tname, &tasks, n);
		free(tname);
	} else if (strchr(name, '/') || strstr(name, ".json")) {
		die("%s: no such file", name); /* a path, not a task name */
	} else {
		die_usage("unknown task \"%s\" (piqa, arc_easy, arc_challenge, hellaswag, "
			  "NAME=FILE.jsonl or FILE.jsonl)", name);
	}
	free(name);
	return tasks;
}

eval_task **tasks_load(const char *list, const char *eval_dir, size_t *n_tasks)
{
	eval_task **tasks = NULL;
	*n_tasks = 0;
	char *copy = xstrdup(list), *save = NULL;
	for (char *s = strtok_r(copy, ",", &save); s; s = strtok_r(NULL, ",", &save))
		tasks = load_one(s, eval_dir, tasks, n_tasks);
	free(copy);
	if (*n_tasks == 0)
		die_usage("no tasks named");
	for (size_t i = 0; i < *n_tasks; i++)
		for (size_t j = 0; j < i; j++)
			if (strcmp(tasks[i]->name, tasks[j]->name) == 0)
				die_usage("task %s named twice", tasks[i]->name);
	return tasks;
}

const char *const eval_known_tasks[] = {"piqa", "hellaswag", "arc_easy", "arc_challenge", NULL};

eval_task **tasks_load_present(const char *eval_dir, size_t *n_tasks)
{
	eval_task **tasks = NULL;
	*n_tasks = 0;
	for (const char *const *name = eval_known_tasks; *name; name++) {
		char *dir = path_join(eval_dir, *name);
		if (is_dir(dir))
			tasks = load_one(*name, eval_dir, tasks, n_tasks);
		free(dir);
	}
	if (*n_tasks == 0)
		die("%s: none of piqa, hellaswag, arc_easy, arc_challenge in it "
		    "(bonsai-fetch --eval puts them there)", eval_dir);
	return tasks;
}
