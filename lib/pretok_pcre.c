/* pretok_pcre.c - see pretok_pcre.h. */
#define _GNU_SOURCE /* memmem */
#define PCRE2_CODE_UNIT_WIDTH 8
#include "pretok_pcre.h"
#include "buf.h"
#include "cli.h"

#include <pcre2.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct pretok_regex {
	char *text;
	size_t len;
	pcre2_code *code;
	int jit; /* 1: compiled to machine code */
};

/* Unicode White_Space as the inside of a character class. */
#define WHITE_SPACE "\\t-\\r \\x{85}\\x{a0}\\x{1680}\\x{2000}-\\x{200a}\\x{2028}\\x{2029}" \
	"\\x{202f}\\x{205f}\\x{3000}"

/* The pattern with \s and \S meaning White_Space and its complement (the
 * other escapes, classes and \Q..\E quoting copied as they are); NULL
 * when out of memory. */
static char *rewrite_space(const char *p, size_t n)
{
	buf_t b = BUF_CHECKED;
	int in_class = 0;
	for (size_t i = 0; i < n; i++) {
		char c = p[i];
		if (c == '\\' && i + 1 < n) {
			char e = p[++i];
			if (e == 'Q') { /* quoted up to \E: no escapes, no classes */
				const char *q = memmem(p + i + 1, n - i - 1, "\\E", 2);
				size_t end = q ? (size_t)(q - p) + 2 : n;
				buf_append(&b, p + i - 1, end - (i - 1));
				i = end - 1;
			} else if (e == 's') {
				buf_puts(&b, in_class ? WHITE_SPACE : "[" WHITE_SPACE "]");
			} else if (e == 'S') {
				/* PCRE2's \S lacks only U+180E of what is not White_Space */
				buf_puts(&b, in_class ? "\\S\\x{180e}" : "[\\S\\x{180e}]");
			} else {
				buf_putc(&b, c);
				buf_putc(&b, e);
			}
			continue;
		}
		buf_putc(&b, c);
		if (!in_class && c == '[') {
			in_class = 1;
			/* a ] first (after an optional ^) is a literal */
			if (i + 1 < n && p[i + 1] == '^')
				buf_putc(&b, p[++i]);
			if (i + 1 < n && p[i + 1] == ']')
				buf_putc(&b, p[++i]);
		} else if (in_class && c == '[' && i + 1 < n && p[i + 1] == ':') {
			const char *q = memmem(p + i + 1, n - i - 1, ":]", 2);
			if (q) { /* a POSIX class such as [:alpha:] */
				size_t end = (size_t)(q - p) + 2;
				buf_append(&b, p + i + 1, end - i - 1);
				i = end - 1;
			}
		} else if (in_class && c == ']') {
			in_class = 0;
		}
	}
	return buf_take(&b, NULL);
}

static const char NO_MEMORY[] = "out of memory for the pre-tokenizer regex";

pretok_regex *pretok_regex_new(const char *pattern, size_t len, char *err, size_t errlen)
{
	char *src = rewrite_space(pattern, len);
	if (!src) {
		errf(err, errlen, "%s", NO_MEMORY);
		return NULL;
	}
	int ec;
	PCRE2_SIZE eoff;
	pcre2_code *code = pcre2_compile((PCRE2_SPTR)src, PCRE2_ZERO_TERMINATED,
					 PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF, &ec,
					 &eoff, NULL);
	free(src);
	if (!code && ec == PCRE2_ERROR_HEAP_FAILED) {
		errf(err, errlen, "%s", NO_MEMORY);
		return NULL;
	}
	if (!code) {
		PCRE2_UCHAR msg[256];
		if (pcre2_get_error_message(ec, msg, sizeof msg) < 0)
			snprintf((char *)msg, sizeof msg, "error %d", ec);
		/* the offset is in the rewritten text; it is the same in the given
		 * one up to the first \s or \S */
		errf(err, errlen, "the pre-tokenizer regex does not compile: %s (near offset %zu of "
		     "the regex)", (char *)msg, (size_t)eoff);
		return NULL;
	}
	pretok_regex *r = calloc(1, sizeof *r);
	if (!r || !(r->text = malloc(len + 1))) {
		free(r);
		pcre2_code_free(code);
		errf(err, errlen, "%s", NO_MEMORY);
		return NULL;
	}
	memcpy(r->text, pattern, len);
	r->text[len] = 0;
	r->len = len;
	r->code = code;
	/* without a JIT (some systems forbid executable memory) the
	 * interpreter gives the same matches, slower */
	r->jit = pcre2_jit_compile(code, PCRE2_JIT_COMPLETE) == 0;
	return r;
}

void pretok_regex_free(pretok_regex *r)
{
	if (!r)
		return;
	pcre2_code_free(r->code);
	free(r->text);
	free(r);
}

const char *pretok_regex_text(const pretok_regex *r, size_t *len)
{
	*len = r->len;
	return r->text;
}

/* Each thread's match state: the match data (one pair: only the whole
 * match is used, whatever groups the pattern has) and a JIT stack that
 * grows on demand, for patterns that backtrack over long runs. */
typedef struct {
	pcre2_match_data *md;
	pcre2_match_context *mc;
	pcre2_jit_stack *js;
} match_state;

static _Thread_local match_state *tl_state;
static pthread_key_t state_key;
static pthread_once_t state_once = PTHREAD_ONCE_INIT;
static int state_key_error; /* pthread_key_create's, once: 0 when made */

static void state_free(void *p)
{
	match_state *m = p;
	pcre2_match_data_free(m->md);
	pcre2_match_context_free(m->mc);
	pcre2_jit_stack_free(m->js);
	free(m);
}

static void state_key_make(void)
{
	state_key_error = pthread_key_create(&state_key, state_free);
}

/* The calling thread's match state, made on its first match; NULL with the
 * message in err when it cannot be. */
static match_state *state(char *err, size_t errlen)
{
	if (tl_state)
		return tl_state;
	pthread_once(&state_once, state_key_make);
	if (state_key_error) {
		errf(err, errlen, "cannot create a thread key for the regex's match state: %s",
		     strerror(state_key_error));
		return NULL;
	}
	match_state *m = calloc(1, sizeof *m);
	if (m) {
		m->md = pcre2_match_data_create(1, NULL);
		m->mc = pcre2_match_context_create(NULL);
		m->js = pcre2_jit_stack_create(32 * 1024, 64 * 1024 * 1024, NULL);
	}
	if (!m || !m->md || !m->mc || !m->js) {
		if (m)
			state_free(m);
		errf(err, errlen, "out of memory for the regex's match state");
		return NULL;
	}
	pcre2_jit_stack_assign(m->mc, NULL, m->js);
	pcre2_set_heap_limit(m->mc, 1024 * 1024); /* KiB: 1 GiB for the interpreter */
	int e = pthread_setspecific(state_key, m);
	if (e) {
		state_free(m);
		errf(err, errlen, "%s for the regex's match state",
		     e == ENOMEM ? "out of memory" : "cannot keep a thread's value");
		return NULL;
	}
	tl_state = m;
	return m;
}

int pretok_regex_next(const pretok_regex *r, const unsigned char *s, size_t n, size_t i,
		      size_t *start, size_t *end, char *err, size_t errlen)
{
	match_state *m = state(err, errlen);
	if (!m)
		return -1;
	int rc = -1;
	if (r->jit)
		rc = pcre2_jit_match(r->code, s, n, i, PCRE2_NOTEMPTY, m->md, m->mc);
	if (!r->jit || (rc < 0 && rc != PCRE2_ERROR_NOMATCH))
		rc = pcre2_match(r->code, s, n, i, PCRE2_NOTEMPTY, m->md, m->mc);
	if (rc == PCRE2_ERROR_NOMATCH) {
		*start = *end = n;
		return 0;
	}
	if (rc == PCRE2_ERROR_NOMEMORY)
		return errf(err, errlen, "out of memory for matching the pre-tokenizer regex at byte %zu "
			    "of a text", i);
	if (rc < 0) {
		/* a limit (the JIT stack's, the match's): ids without this text
		 * would be wrong */
		PCRE2_UCHAR msg[256];
		pcre2_get_error_message(rc, msg, sizeof msg);
		return errf(err, errlen, "the pre-tokenizer regex failed at byte %zu of a text: %s", i,
			    (char *)msg);
	}
	PCRE2_SIZE *ov = pcre2_get_ovector_pointer(m->md);
	*start = ov[0];
	*end = ov[1];
	return 0;
}
