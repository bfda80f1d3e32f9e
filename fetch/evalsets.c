/* evalsets.c - see evalsets.h and bonsai-fetch(1), EVALUATION SETS. */
#include "evalsets.h"
#include "cachefile.h"
#include "digest.h"
#include "zipread.h"
#include "buf.h"
#include "cli.h"
#include "json.h"
#include "xio.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

/* The largest member taken out of a zip: ARC's test files are ~1 MB. */
#define MAX_MEMBER ((uint64_t)64 << 20)

/* What a file holds, for the content check. */
enum { EVAL_PIQA, EVAL_PIQA_LABELS, EVAL_HELLASWAG, EVAL_ARC };

typedef struct {
	const char *path;      /* in the evaluation directory, where bonsai-eval looks */
	const char *official;  /* the publisher's address */
	const char *mirror;    /* its name under a --eval-base-url */
	const char *member;    /* the file inside that zip archive; NULL: a plain file */
	uint64_t size;         /* pinned size in bytes; 0 = not pinned */
	const char *sha256;    /* pinned hash of the file as installed */
	int kind;
	long items;
} eval_file;

typedef struct {
	const char *name;      /* bonsai-eval's task name */
	int nfiles;
	eval_file files[2];
} eval_set;

/* Where each hash comes from is in bonsai-fetch(1), EVALUATION SETS. */
#define ARC_ZIP "https://ai2-public-datasets.s3.amazonaws.com/arc/ARC-V1-Feb2018.zip"
static const eval_set sets[] = {
	{"piqa", 2, {
		{"piqa/valid.jsonl", "https://yonatanbisk.com/piqa/data/valid.jsonl",
		 "piqa/valid.jsonl", NULL, 495929,
		 "93503cc97c679e459b065c3d13e848282e44b2a25213985bed3e5d458abef72d", EVAL_PIQA, 1838},
		{"piqa/valid-labels.lst", "https://yonatanbisk.com/piqa/data/valid-labels.lst",
		 "piqa/valid-labels.lst", NULL, 3676,
		 "b4192dc3a2a0363d9d60ccf79800cbbe2f32ebb17726efdde6970e0b8131bceb", EVAL_PIQA_LABELS, 1838},
	}},
	{"hellaswag", 1, {
		{"hellaswag/hellaswag_val.jsonl",
		 "https://raw.githubusercontent.com/rowanz/hellaswag/master/data/hellaswag_val.jsonl",
		 "hellaswag/hellaswag_val.jsonl", NULL, 12246618,
		 "0aa3b88843990f3f10a97b9575c94d7b71fb2205240ba04ae4884d9e9c992588", EVAL_HELLASWAG, 10042},
	}},
	{"arc_easy", 1, {
		{"arc_easy/ARC-Easy-Test.jsonl", ARC_ZIP, "arc/ARC-V1-Feb2018.zip",
		 "ARC-V1-Feb2018-2/ARC-Easy/ARC-Easy-Test.jsonl", 0,
		 "ce32a0774b4beb1977d2c6b16dda5dd2b24fdc9c7f506882c452678676bd09be", EVAL_ARC, 2376},
	}},
	{"arc_challenge", 1, {
		{"arc_challenge/ARC-Challenge-Test.jsonl", ARC_ZIP, "arc/ARC-V1-Feb2018.zip",
		 "ARC-V1-Feb2018-2/ARC-Challenge/ARC-Challenge-Test.jsonl", 0,
		 "9fa8ffb3e3a1f88cb302d53dd95aae81e39209ad9bcf974376b319d8fd35717c", EVAL_ARC, 1172},
	}},
};
#define NSETS ((int)(sizeof sets / sizeof sets[0]))

/* ---- the structure check ---- */

static int blank_line(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
			return 0;
	return 1;
}

static int need_str(const json_value *o, const char *key, char *err, size_t errlen)
{
	const json_value *v = json_get(o, key);
	if (!v || v->type != JSON_STRING)
		return errf(err, errlen, "\"%s\" is %s", key, v ? "not a string" : "missing");
	return 0;
}

static int check_piqa(const json_value *o, char *err, size_t errlen)
{
	if (need_str(o, "goal", err, errlen) < 0 || need_str(o, "sol1", err, errlen) < 0 ||
	    need_str(o, "sol2", err, errlen) < 0)
		return -1;
	return 0;
}

static int check_hellaswag(const json_value *o, char *err, size_t errlen)
{
	if (need_str(o, "activity_label", err, errlen) < 0 || need_str(o, "ctx_a", err, errlen) < 0 ||
	    need_str(o, "ctx_b", err, errlen) < 0)
		return -1;
	const json_value *e = json_get(o, "endings");
	if (!e || e->type != JSON_ARRAY || e->len != 4)
		return errf(err, errlen, "\"endings\" is not an array of 4");
	for (size_t i = 0; i < e->len; i++)
		if (e->items[i].type != JSON_STRING)
			return errf(err, errlen, "ending %zu is not a string", i + 1);
	const json_value *l = json_get(o, "label");
	int ok = 0;
	if (l && l->type == JSON_NUMBER)
		ok = l->number == 0 || l->number == 1 || l->number == 2 || l->number == 3;
	else if (l && l->type == JSON_STRING)
		ok = l->len == 1 && l->str[0] >= '0' && l->str[0] <= '3';
	if (!ok)
		return errf(err, errlen, "\"label\" is not 0, 1, 2 or 3");
	return 0;
}

static int check_arc(const json_value *o, char *err, size_t errlen)
{
	if (need_str(o, "id", err, errlen) < 0 || need_str(o, "answerKey", err, errlen) < 0)
		return -1;
	const json_value *q = json_get(o, "question");
	if (!q || q->type != JSON_OBJECT)
		return errf(err, errlen, "\"question\" is not an object");
	if (need_str(q, "stem", err, errlen) < 0)
		return -1;
	const json_value *c = json_get(q, "choices");
	if (!c || c->type != JSON_ARRAY || c->len < 2)
		return errf(err, errlen, "\"choices\" is not an array of two or more");
	const char *key = json_get_str(o, "answerKey");
	int found = 0;
	for (size_t i = 0; i < c->len; i++) {
		const json_value *ch = &c->items[i];
		if (ch->type != JSON_OBJECT || need_str(ch, "text", err, errlen) < 0 ||
		    need_str(ch, "label", err, errlen) < 0)
			return errf(err, errlen, "choice %zu is not {\"text\": ..., \"label\": ...}", i + 1);
		found |= strcmp(json_get_str(ch, "label"), key) == 0;
	}
	if (!found)
		return errf(err, errlen, "answerKey \"%s\" is not among the choices' labels", key);
	return 0;
}

/* The number of items in text[0..n), a file of the given kind, or -1 with
 * a message in err. Blank lines are skipped, as bonsai-eval does. */
static long count_items(int kind, const char *text, size_t n, char *err, size_t errlen)
{
	long items = 0, line = 0;
	for (size_t pos = 0; pos < n;) {
		const char *s = text + pos, *nl = memchr(s, '\n', n - pos);
		size_t len = nl ? (size_t)(nl - s) : n - pos;
		pos += len + (nl != NULL);
		line++;
		if (blank_line(s, len))
			continue;
		char e[300];
		if (kind == EVAL_PIQA_LABELS) {
			while (len > 0 && (s[len - 1] == '\r' || s[len - 1] == ' '))
				len--;
			if (len != 1 || (s[0] != '0' && s[0] != '1'))
				return errf(err, errlen, "line %ld: a label is 0 or 1", line);
			items++;
			continue;
		}
		json_doc *doc = json_parse(s, len, e, sizeof e);
		if (!doc)
			return errf(err, errlen, "line %ld: not JSON: %s", line, e);
		const json_value *o = json_root(doc);
		int rc = o->type != JSON_OBJECT ? errf(e, sizeof e, "not a JSON object") :
			kind == EVAL_PIQA ? check_piqa(o, e, sizeof e) :
			kind == EVAL_HELLASWAG ? check_hellaswag(o, e, sizeof e) : check_arc(o, e, sizeof e);
		json_free(doc);
		if (rc < 0)
			return errf(err, errlen, "line %ld: %s", line, e);
		items++;
	}
	return items;
}

/* ---- arguments ---- */

/* Pinned hash and size of f, or a --eval-sha256 override (the size is then
 * not known). */
static const char *pin_of(const eval_file *f, const evalsets_opts *eo, char sha[65], uint64_t *size)
{
	const char *by = "pinned";
	snprintf(sha, 65, "%s", f->sha256);
	*size = f->size;
	size_t pl = strlen(f->path);
	for (int i = 0; i < eo->npins; i++)
		if (strncmp(eo->pins[i], f->path, pl) == 0 && eo->pins[i][pl] == '=') {
			for (int k = 0; k < 64; k++)
				sha[k] = (char)tolower((unsigned char)eo->pins[i][pl + 1 + k]);
			sha[64] = 0;
			*size = 0;
			by = "--eval-sha256 gives";
		}
	return by;
}

static int set_index(const char *name, size_t n)
{
	for (int i = 0; i < NSETS; i++)
		if (strlen(sets[i].name) == n && strncmp(sets[i].name, name, n) == 0)
			return i;
	return -1;
}

/* The sets' names (files: their files' paths), comma-separated, for the
 * usage messages; the caller frees b. */
static const char *names(buf_t *b, int files)
{
	for (int i = 0; i < NSETS; i++)
		for (int f = 0; f < (files ? sets[i].nfiles : 1); f++)
			buf_printf(b, "%s%s", b->len ? ", " : "", files ? sets[i].files[f].path : sets[i].name);
	return buf_cstr(b);
}

/* The sets named in list, in order, each once. */
static int parse_list(const char *list, int out[NSETS])
{
	int n = 0;
	for (const char *p = list;; p++) {
		size_t len = strcspn(p, ",");
		int idx[NSETS], k = 0;
		if (len == 3 && strncmp(p, "all", 3) == 0)
			for (; k < NSETS; k++)
				idx[k] = k;
		else if ((idx[0] = set_index(p, len)) >= 0)
			k = 1;
		else {
			buf_t b = {0};
			die_usage("--eval: unknown set \"%.*s\" (%s or all)", (int)len, p, names(&b, 0));
		}
		for (int j = 0; j < k; j++) {
			int seen = 0;
			for (int m = 0; m < n; m++)
				seen |= out[m] == idx[j];
			if (!seen)
				out[n++] = idx[j];
		}
		p += len;
		if (!*p)
			break;
	}
	return n;
}

void evalsets_check_args(const char *list, const evalsets_opts *eo)
{
	int idx[NSETS];
	parse_list(list, idx);
	for (int i = 0; i < eo->npins; i++) {
		const char *pin = eo->pins[i], *eq = strchr(pin, '=');
		int known = 0;
		for (int s = 0; s < NSETS && eq; s++)
			for (int f = 0; f < sets[s].nfiles; f++)
				known |= strlen(sets[s].files[f].path) == (size_t)(eq - pin) &&
					strncmp(sets[s].files[f].path, pin, (size_t)(eq - pin)) == 0;
		if (!known) {
			buf_t b = {0};
			die_usage("--eval-sha256 \"%s\": want FILE=SHA256 with FILE one of %s", pin, names(&b, 1));
		}
		size_t k = strspn(eq + 1, "0123456789abcdefABCDEF");
		if (k != 64 || eq[1 + k])
			die_usage("--eval-sha256 \"%s\": the hash is not 64 hexadecimal digits", pin);
		/* Two hashes for one file: the last one would hold, unsaid. */
		for (int j = 0; j < i; j++)
			if (strncmp(eo->pins[j], pin, (size_t)(eq - pin) + 1) == 0 && strcasecmp(eo->pins[j], pin) != 0)
				die_usage("--eval-sha256: two hashes for %.*s (\"%s\" and \"%s\")", (int)(eq - pin), pin,
					eo->pins[j], pin);
	}
}

/* ---- installing ---- */

typedef struct {
	int kind;
	long items, got;
} count_arg;

static int check_count(const char *text, size_t n, count_arg *c, char *err, size_t errlen)
{
	char e[400];
	c->got = count_items(c->kind, text, n, e, sizeof e);
	if (c->got < 0)
		return errf(err, errlen, "not the expected file: %s", e);
	if (c->got != c->items)
		return errf(err, errlen, "not the expected file: %ld items, expected %ld", c->got, c->items);
	return 0;
}

static int check_file(const char *path, void *arg, char *err, size_t errlen)
{
	size_t n;
	char *text = read_file(path, &n);
	int rc = check_count(text, n, arg, err, errlen);
	free(text);
	return rc;
}

/* Is the file at path (st) f with hash sha? Read once: hashed, then, when
 * it is, checked for its content (a hash given with --eval-sha256 says
 * nothing of that), dying when that check fails. */
static int installed(const char *path, const struct stat *st, const eval_file *f,
	const char *sha, uint64_t size)
{
	/* A size other than the pinned one cannot have the pinned hash; an
	 * unreadable file is replaced like any other wrong one. */
	if (!S_ISREG(st->st_mode) || (size && (uint64_t)st->st_size != size) || access(path, R_OK) != 0)
		return 0;
	size_t n;
	char *text = read_file(path, &n), hex[65];
	if (sha256_buf_hex(text, n, hex) < 0)
		die("%s: libcrypto cannot compute SHA-256", path);
	int same = strcmp(hex, sha) == 0;
	if (same) {
		count_arg ca = {f->kind, f->items, 0};
		char err[600];
		if (check_count(text, n, &ca, err, sizeof err) < 0)
			die_at(path, 0, "%s", err);
	}
	free(text);
	return same;
}

static char *url_of(const eval_file *f, const evalsets_opts *eo)
{
	if (!eo->base_url)
		return xstrdup(f->official);
	buf_t b = {0};
	buf_puts(&b, eo->base_url);
	while (b.len > 0 && b.data[b.len - 1] == '/')
		b.len--;
	buf_printf(&b, "/%s", f->mirror);
	buf_cstr(&b);
	return b.data;
}

typedef struct {
	const char *what;
} zip_progress_arg;

static void zip_progress(uint64_t done, uint64_t total, void *arg)
{
	zip_progress_arg *a = arg;
	pthread_mutex_lock(&progress_lock);
	progress(done == total, "%s: %.0f of %.0f kB", a->what, done / 1e3, total / 1e3);
	pthread_mutex_unlock(&progress_lock);
}

/* Takes f's member out of the zip at url with range requests, checks it and
 * writes it to dest (complete or not at all). */
static void install_member(const http_opts *o, const char *url, const eval_file *f,
	const char *sha, const char *pinned_by, const char *dest)
{
	pq_source *src = pq_source_http(o, url, 0);
	zip_dir d;
	char err[600];
	if (zip_read_dir(src, &d, err, sizeof err) < 0)
		die("%s: %s", url, err);
	const zip_entry *e = zip_find(&d, f->member);
	if (!e)
		die("%s: no %s in the archive (%zu members)", url, f->member, d.n);
	buf_t b = {0};
	zip_progress_arg pa = {f->path};
	if (zip_extract(src, &d, e, MAX_MEMBER, &b, zip_progress, &pa, err, sizeof err) < 0)
		die("%s: %s (nothing written)", url, err);
	char hex[65];
	if (sha256_buf_hex(b.data, b.len, hex) < 0)
		die("%s: libcrypto cannot compute SHA-256", url);
	if (strcmp(hex, sha) != 0)
		die("%s: %s: sha256 mismatch: got %s, %s %s (nothing written)", url, f->member, hex,
			pinned_by, sha);
	count_arg ca = {f->kind, f->items, 0};
	if (check_count(b.data, b.len, &ca, err, sizeof err) < 0)
		die("%s: %s: %s (nothing written)", url, f->member, err);
	mkdirs_above(dest);
	outfile *out = outfile_open(dest);
	outfile_write(out, b.data, b.len);
	outfile_commit(out);
	buf_free(&b);
	zip_dir_free(&d);
	pq_source_close(src);
}

static void remove_if_empty(void *path)
{
	struct stat st;
	if (stat(path, &st) == 0 && S_ISREG(st.st_mode) && st.st_size == 0)
		unlink(path);
}

void evalsets_fetch(const http_opts *o, const char *list, const evalsets_opts *eo)
{
	int idx[NSETS];
	int n = parse_list(list, idx);
	http_progress pg = {.start = now_seconds()};
	for (int i = 0; i < n; i++)
		for (int k = 0; k < sets[idx[i]].nfiles; k++) {
			const eval_file *f = &sets[idx[i]].files[k];
			char sha[65];
			uint64_t size;
			pin_of(f, eo, sha, &size);
			if (!f->member) {
				pg.files++;
				pg.total += size;
			}
		}
	for (int i = 0; i < n; i++) {
		const eval_set *s = &sets[idx[i]];
		for (int k = 0; k < s->nfiles; k++) {
			const eval_file *f = &s->files[k];
			char sha[65];
			uint64_t size;
			const char *by = pin_of(f, eo, sha, &size);
			buf_t dest = {0};
			buf_printf(&dest, "%s/%s", eo->dir, f->path);
			const char *path = buf_cstr(&dest);
			char *url = url_of(f, eo);
			const char *what = "up to date";
			struct stat st;
			int present = stat(path, &st) == 0;
			/* An installed file needs no network at all. */
			if (!present || !installed(path, &st, f, sha, size)) {
				if (present) {
					pthread_mutex_lock(&progress_lock);
					progress_done();
					warnx_("%s: not the pinned file (sha256 differs): replacing it", path);
					pthread_mutex_unlock(&progress_lock);
				}
				if (f->member) {
					install_member(o, url, f, sha, by, path);
				} else {
					count_arg ca = {f->kind, f->items, 0};
					cache_item it = {.url = url, .path = path, .size = size, .sha256 = sha,
						.pinned_by = by, .hash_existing = 1,
						.check = check_file, .check_arg = &ca};
					/* A failed first request leaves the empty lock file:
					 * remove it (a partial one stays, to be resumed). */
					buf_t part = {0};
					buf_printf(&part, "%s.part", path);
					cli_atdie(remove_if_empty, (void *)buf_cstr(&part));
					cache_fetch(o, &it, &pg);
					cli_atdie_remove(remove_if_empty, part.data);
					buf_free(&part);
					pg.files_done++;
				}
				what = "downloaded";
			}
			printf("%s  %s\n", sha, path);
			if (!eo->quiet) {
				pthread_mutex_lock(&progress_lock);
				progress_done();
				fprintf(stderr, "%s: %s: %s, %ld items, sha256 %s\n", cli_progname(), path, what,
					f->items, sha);
				pthread_mutex_unlock(&progress_lock);
			}
			free(url);
			buf_free(&dest);
		}
	}
	xfflush(stdout, "stdout");
}
