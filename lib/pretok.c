/* pretok.c - see pretok.h. Each pattern is an alternation tried left to
 * right at the current position; the comments quote the alternative that a
 * branch implements. Backtracking is resolved analytically (e.g. \s+(?!\S)
 * gives back exactly one character), so matching is linear in the text. */
#include "pretok.h"

#include <string.h>
#include <utf8proc.h>

enum {
	C_L = 1,   /* \p{L} */
	C_N = 2,   /* \p{N} */
	C_WS = 4,  /* \s: Unicode White_Space */
	C_UP = 8,  /* o200k's [\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}] */
	C_LO = 16  /* o200k's [\p{Ll}\p{Lm}\p{Lo}\p{M}] */
};

static const char *const R50K_RE =
	"'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";
static const char *const CL100K_RE =
	"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
static const char *const O200K_RE =
	"[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]*[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?"
	"|[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]+[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?"
	"|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

const char *pretok_pattern_text(pretok_kind k)
{
	switch (k) {
	case PRETOK_R50K: return R50K_RE;
	case PRETOK_CL100K: return CL100K_RE;
	case PRETOK_O200K: return O200K_RE;
	default: return "";
	}
}

int pretok_lookup(const char *s)
{
	static const struct { const char *name; pretok_kind k; } names[] = {
		{ "r50k_base", PRETOK_R50K }, { "gpt2", PRETOK_R50K },
		{ "p50k_base", PRETOK_R50K }, { "p50k_edit", PRETOK_R50K },
		{ "cl100k_base", PRETOK_CL100K }, { "o200k_base", PRETOK_O200K },
		{ "o200k_harmony", PRETOK_O200K },
	};
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (strcmp(s, names[i].name) == 0)
			return names[i].k;
	for (int k = PRETOK_R50K; k <= PRETOK_O200K; k++)
		if (strcmp(s, pretok_pattern_text(k)) == 0)
			return k;
	return -1;
}

static int is_white_space(int32_t c)
{
	return (c >= 0x09 && c <= 0x0d) || c == 0x20 || c == 0x85 || c == 0xa0 ||
	       c == 0x1680 || (c >= 0x2000 && c <= 0x200a) || c == 0x2028 ||
	       c == 0x2029 || c == 0x202f || c == 0x205f || c == 0x3000;
}

static unsigned class_of(int32_t c)
{
	if (is_white_space(c))
		return C_WS;
	switch (utf8proc_category(c)) {
	case UTF8PROC_CATEGORY_LU:
	case UTF8PROC_CATEGORY_LT: return C_L | C_UP;
	case UTF8PROC_CATEGORY_LL: return C_L | C_LO;
	case UTF8PROC_CATEGORY_LM:
	case UTF8PROC_CATEGORY_LO: return C_L | C_UP | C_LO;
	case UTF8PROC_CATEGORY_MN:
	case UTF8PROC_CATEGORY_MC:
	case UTF8PROC_CATEGORY_ME: return C_UP | C_LO;
	case UTF8PROC_CATEGORY_ND:
	case UTF8PROC_CATEGORY_NL:
	case UTF8PROC_CATEGORY_NO: return C_N;
	default: return 0;
	}
}

static unsigned char ascii_class[128];
static int ascii_ready;

static void ascii_init(void)
{
	for (int c = 0; c < 128; c++)
		ascii_class[c] = (unsigned char)class_of(c);
	__atomic_store_n(&ascii_ready, 1, __ATOMIC_RELEASE);
}

void pretok_init(void)
{
	if (!__atomic_load_n(&ascii_ready, __ATOMIC_ACQUIRE))
		ascii_init();
}

/* The class of the character at s[i] and its length in bytes; an invalid
 * byte is a one-byte character of class 0. */
static inline unsigned cls_at(const unsigned char *s, size_t n, size_t i, size_t *len)
{
	if (s[i] < 0x80) {
		*len = 1;
		return ascii_class[s[i]];
	}
	utf8proc_int32_t c;
	utf8proc_ssize_t l = utf8proc_iterate(s + i, (utf8proc_ssize_t)(n - i), &c);
	if (l <= 0) {
		*len = 1;
		return 0;
	}
	*len = (size_t)l;
	return class_of(c);
}

static inline int is_other(unsigned c)
{
	return !(c & (C_L | C_N | C_WS));
}

static size_t run(const unsigned char *s, size_t n, size_t i, unsigned mask)
{
	size_t l;
	while (i < n && (cls_at(s, n, i, &l) & mask))
		i += l;
	return i;
}

static size_t run_other(const unsigned char *s, size_t n, size_t i)
{
	size_t l;
	while (i < n && is_other(cls_at(s, n, i, &l)))
		i += l;
	return i;
}

static inline int ascii_letter(unsigned char c)
{
	return c < 0x80 && (ascii_class[c] & C_L);
}

/* \p{L}+ from s[i], where ASCII letters (most of the text) are taken
 * without the general class lookup. */
static inline size_t run_letters(const unsigned char *s, size_t n, size_t i)
{
	while (i < n && ascii_letter(s[i]))
		i++;
	return i < n && s[i] >= 0x80 ? run(s, n, i, C_L) : i;
}

/* [\r\n]* or, with slash, [\r\n/]* */
static size_t run_crlf(const unsigned char *s, size_t n, size_t i, int slash)
{
	while (i < n && (s[i] == '\r' || s[i] == '\n' || (slash && s[i] == '/')))
		i++;
	return i;
}

/* 's|'t|'re|'ve|'m|'ll|'d at s[i], case-insensitive when ci (where Rust's
 * simple case folding also maps U+017F LONG S to s). Returns its length. */
static size_t contraction(const unsigned char *s, size_t n, size_t i, int ci)
{
	if (i + 1 >= n || s[i] != '\'')
		return 0;
	unsigned c1 = s[i + 1], c2 = i + 2 < n ? s[i + 2] : 0;
	if (ci) {
		if (c1 == 0xc5 && c2 == 0xbf)
			return 3; /* 'ſ */
		c1 |= (c1 >= 'A' && c1 <= 'Z') ? 0x20 : 0;
		c2 |= (c2 >= 'A' && c2 <= 'Z') ? 0x20 : 0;
	}
	if (c1 == 's' || c1 == 't' || c1 == 'm' || c1 == 'd')
		return 2;
	if ((c1 == 'r' && c2 == 'e') || (c1 == 'v' && c2 == 'e') || (c1 == 'l' && c2 == 'l'))
		return 3;
	return 0;
}

/* Whitespace at s[i]: with crlf, \s*[\r\n]+ (up to the last \r or \n of the
 * run); then \s+(?!\S) (the run less its last character, unless the run
 * ends the text); then \s+. */
static size_t whitespace(const unsigned char *s, size_t n, size_t i, int crlf)
{
	size_t j = i, last = i, nl_end = 0, count = 0, l;
	while (j < n && (cls_at(s, n, j, &l) & C_WS)) {
		if (crlf && (s[j] == '\r' || s[j] == '\n'))
			nl_end = j + 1;
		last = j;
		j += l;
		count++;
	}
	if (nl_end)
		return nl_end;
	if (j == n || count < 2)
		return j;
	return last;
}

static size_t next_r50k(const unsigned char *s, size_t n, size_t i)
{
	size_t l, l2, k;
	/* ' ?\p{L}+' begun by an ASCII letter: the commonest piece */
	if (ascii_letter(s[i]))
		return run_letters(s, n, i + 1);
	if (s[i] == ' ' && i + 1 < n && ascii_letter(s[i + 1]))
		return run_letters(s, n, i + 2);
	if ((k = contraction(s, n, i, 0)))
		return i + k; /* 's|'t|'re|'ve|'m|'ll|'d */
	unsigned c = cls_at(s, n, i, &l);
	if (s[i] == ' ' && i + 1 < n) {
		unsigned c2 = cls_at(s, n, i + 1, &l2);
		if (c2 & C_L)
			return run(s, n, i + 1, C_L); /* ' ?\p{L}+' */
		if (c2 & C_N)
			return run(s, n, i + 1, C_N); /* ' ?\p{N}+' */
		if (is_other(c2))
			return run_other(s, n, i + 1); /* ' ?[^\s\p{L}\p{N}]+' */
	}
	if (c & C_L)
		return run(s, n, i, C_L);
	if (c & C_N)
		return run(s, n, i, C_N);
	if (is_other(c))
		return run_other(s, n, i);
	return whitespace(s, n, i, 0); /* \s+(?!\S)|\s+ */
}

/* \p{N}{1,3} */
static size_t digits3(const unsigned char *s, size_t n, size_t i)
{
	size_t l;
	for (int k = 0; k < 3 && i < n && (cls_at(s, n, i, &l) & C_N); k++)
		i += l;
	return i;
}

static size_t next_cl100k(const unsigned char *s, size_t n, size_t i)
{
	size_t l, l2, k;
	/* [^\r\n\p{L}\p{N}]?\p{L}+ begun by an ASCII letter, or a space and
	 * one: the commonest pieces (neither can begin a contraction) */
	if (ascii_letter(s[i]))
		return run_letters(s, n, i + 1);
	if (s[i] == ' ' && i + 1 < n && ascii_letter(s[i + 1]))
		return run_letters(s, n, i + 2);
	if ((k = contraction(s, n, i, 1)))
		return i + k; /* (?i:'s|'t|'re|'ve|'m|'ll|'d) */
	unsigned c = cls_at(s, n, i, &l);
	/* [^\r\n\p{L}\p{N}]?\p{L}+ */
	if (!(c & (C_L | C_N)) && s[i] != '\r' && s[i] != '\n' && i + l < n &&
	    (cls_at(s, n, i + l, &l2) & C_L))
		return run(s, n, i + l, C_L);
	if (c & C_L)
		return run(s, n, i, C_L);
	if (c & C_N)
		return digits3(s, n, i);
	/*  ?[^\s\p{L}\p{N}]+[\r\n]* */
	if (s[i] == ' ' && i + 1 < n && is_other(cls_at(s, n, i + 1, &l2)))
		return run_crlf(s, n, run_other(s, n, i + 1), 0);
	if (is_other(c))
		return run_crlf(s, n, run_other(s, n, i), 0);
	return whitespace(s, n, i, 1); /* \s*[\r\n]+|\s+(?!\S)|\s+ */
}

#define NO_MATCH ((size_t)-1)

/* [UP]*[LO]+C? at s0 (alt 1 of o200k after its optional prefix): when the
 * greedy [UP]* is not followed by a [LO], it gives back characters until
 * the last one it took that is also in [LO]. */
static size_t o200k_lower(const unsigned char *s, size_t n, size_t s0)
{
	size_t i = s0, l, last_lo_end = NO_MATCH;
	unsigned c = 0;
	while (i < n && ((c = cls_at(s, n, i, &l)) & C_UP)) {
		if (c & C_LO)
			last_lo_end = i + l;
		i += l;
	}
	size_t e;
	if (i < n && (c & C_LO) && !(c & C_UP))
		e = run(s, n, i, C_LO);
	else if (last_lo_end != NO_MATCH)
		e = last_lo_end;
	else
		return NO_MATCH;
	return e + contraction(s, n, e, 1);
}

/* [UP]+[LO]*C? at s0 (alt 2 of o200k after its optional prefix). */
static size_t o200k_upper(const unsigned char *s, size_t n, size_t s0)
{
	size_t u = run(s, n, s0, C_UP);
	if (u == s0)
		return NO_MATCH;
	size_t e = run(s, n, u, C_LO);
	return e + contraction(s, n, e, 1);
}

static size_t next_o200k(const unsigned char *s, size_t n, size_t i)
{
	size_t l, l2, e;
	/* the commonest piece, an ASCII word ([A-Z]*[a-z]+) after an optional
	 * space, is the first alternative's match when an ASCII byte that is
	 * not a letter (or the end) follows it; else the general way */
	size_t k = i + (s[i] == ' '), u;
	while (k < n && (unsigned)(s[k] - 'A') < 26u)
		k++;
	u = k;
	while (k < n && (unsigned)(s[k] - 'a') < 26u)
		k++;
	if (k > u && (k == n || s[k] < 0x80))
		return k + contraction(s, n, k, 1);
	unsigned c = cls_at(s, n, i, &l);
	/* [^\r\n\p{L}\p{N}]? - greedy: first with the prefix, then without */
	int prefix = !(c & (C_L | C_N)) && s[i] != '\r' && s[i] != '\n' && i + l < n;
	if (prefix && (e = o200k_lower(s, n, i + l)) != NO_MATCH)
		return e;
	if ((e = o200k_lower(s, n, i)) != NO_MATCH)
		return e;
	if (prefix && (e = o200k_upper(s, n, i + l)) != NO_MATCH)
		return e;
	if ((e = o200k_upper(s, n, i)) != NO_MATCH)
		return e;
	if (c & C_N)
		return digits3(s, n, i);
	/*  ?[^\s\p{L}\p{N}]+[\r\n/]* */
	if (s[i] == ' ' && i + 1 < n && is_other(cls_at(s, n, i + 1, &l2)))
		return run_crlf(s, n, run_other(s, n, i + 1), 1);
	if (is_other(c))
		return run_crlf(s, n, run_other(s, n, i), 1);
	return whitespace(s, n, i, 1);
}

size_t pretok_next(pretok_kind k, const unsigned char *s, size_t n, size_t i)
{
	if (!__atomic_load_n(&ascii_ready, __ATOMIC_ACQUIRE))
		ascii_init(); /* normally done by tokenizer_load already */
	switch (k) {
	case PRETOK_R50K: return next_r50k(s, n, i);
	case PRETOK_CL100K: return next_cl100k(s, n, i);
	case PRETOK_O200K: return next_o200k(s, n, i);
	default: return n;
	}
}
