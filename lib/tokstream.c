/* tokstream.c - see tokstream.h for the layout. */
#include "tokstream.h"
#include "cli.h"
#include "hash.h"
#include "le.h"
#include "xio.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define END_FRAME 0xFFFFFFFFu

uint32_t token_width_for_vocab(uint32_t vocab_size)
{
	return vocab_size <= 65536 ? 2 : 4;
}

struct tokwriter {
	FILE *fp;
	char *name;
	tokstream_info info;
	unsigned char *tmp;
	size_t tmp_cap;
	uint64_t docs, tokens;
};

tokwriter *tokwriter_open(FILE *fp, const char *name, const tokstream_info *info, char *err,
			  size_t errlen)
{
	tokstream_info in = *info;
	if (in.token_width == 0)
		in.token_width = token_width_for_vocab(in.vocab_size);
	if (in.token_width != 2 && in.token_width != 4) {
		errf(err, errlen, "%s: token width must be 2 or 4, not %u", name, in.token_width);
		return NULL;
	}
	if (in.token_width == 2 && in.vocab_size > 65536) {
		errf(err, errlen, "%s: vocabulary of %u does not fit 2-byte tokens", name, in.vocab_size);
		return NULL;
	}
	tokwriter *w = calloc(1, sizeof *w);
	if (!w || !(w->name = strdup(name))) {
		free(w);
		errf(err, errlen, "%s: out of memory", name);
		return NULL;
	}
	w->fp = fp;
	w->info = in;
	unsigned char h[TOKSTREAM_HEADER_SIZE] = {0};
	memcpy(h, TOKSTREAM_MAGIC, 8);
	le_put32(h + 8, TOKSTREAM_VERSION);
	le_put32(h + 12, TOKSTREAM_HEADER_SIZE);
	le_put32(h + 16, in.token_width);
	le_put32(h + 20, in.vocab_size);
	le_put32(h + 24, (uint32_t)in.bos_id);
	le_put32(h + 28, (uint32_t)in.eos_id);
	le_put64(h + 32, in.fingerprint);
	le_put64(h + 40, xxh64(h, 40, 0));
	if (fwrite_err(h, sizeof h, w->fp, w->name, err, errlen)) {
		tokwriter_abort(w);
		return NULL;
	}
	return w;
}

/* The frame of a document in w->tmp: its count, then its ids at their width. */
static int frame(tokwriter *w, const uint32_t *ids, size_t n, size_t need, char *err, size_t errlen)
{
	if (need > w->tmp_cap) {
		size_t cap = need > SIZE_MAX / 2 ? need : need * 2;
		unsigned char *tmp = realloc(w->tmp, cap);
		if (!tmp)
			return errf(err, errlen, "%s: out of memory (for a document of %zu tokens)", w->name, n);
		w->tmp = tmp;
		w->tmp_cap = cap;
	}
	le_put32(w->tmp, (uint32_t)n);
	unsigned char *p = w->tmp + 4;
	/* locals: the stores through p could alias *w, which the loop would
	 * then read again for every token */
	const uint32_t vocab = w->info.vocab_size, width = w->info.token_width;
	for (size_t i = 0; i < n; i++) {
		if (ids[i] >= vocab)
			return errf(err, errlen, "%s: token id %u is not below the vocabulary size %u", w->name,
				    ids[i], vocab);
		if (width == 2) {
			p[0] = (unsigned char)ids[i];
			p[1] = (unsigned char)(ids[i] >> 8);
			p += 2;
		} else {
			le_put32(p, ids[i]);
			p += 4;
		}
	}
	return 0;
}

int tokwriter_doc(tokwriter *w, const uint32_t *ids, size_t n, char *err, size_t errlen)
{
	if (n >= END_FRAME)
		return errf(err, errlen, "%s: document of %zu tokens is too long for the token stream", w->name,
			    n);
	size_t need = 4 + n * w->info.token_width;
	if (frame(w, ids, n, need, err, errlen) ||
	    fwrite_err(w->tmp, need, w->fp, w->name, err, errlen))
		return -1;
	w->docs++;
	w->tokens += n;
	return 0;
}

int tokwriter_close(tokwriter *w, char *err, size_t errlen)
{
	unsigned char end[20];
	le_put32(end, END_FRAME);
	le_put64(end + 4, w->docs);
	le_put64(end + 12, w->tokens);
	int rc = fwrite_err(end, sizeof end, w->fp, w->name, err, errlen);
	if (rc == 0)
		rc = fflush_err(w->fp, w->name, err, errlen);
	tokwriter_abort(w);
	return rc;
}

void tokwriter_abort(tokwriter *w)
{
	if (!w)
		return;
	free(w->tmp);
	free(w->name);
	free(w);
}

struct tokreader {
	instream *in;
	tokstream_info info;
	unsigned char *raw;
	uint32_t *ids;
	size_t cap;
	uint64_t docs, tokens;
	int ended;
};

/* 1 when all n bytes came, 0 at a clean end (none came), -1 with the
 * message when the input ends part-way (what: where) or cannot be read. */
static int read_exact(tokreader *r, void *p, size_t n, const char *what, char *err, size_t errlen)
{
	size_t got = instream_read(r->in, p, n);
	if (instream_error(r->in))
		return errf(err, errlen, "%s", instream_error(r->in));
	if (got == n)
		return 1;
	if (got == 0)
		return 0;
	return errf(err, errlen, "%s: truncated: input ends inside %s", instream_name(r->in), what);
}

tokreader *tokreader_open(const char *path, char *err, size_t errlen)
{
	instream *in = instream_open_err(path, err, errlen);
	if (!in)
		return NULL;
	tokreader *r = calloc(1, sizeof *r);
	if (!r) {
		errf(err, errlen, "%s: out of memory", instream_name(in));
		instream_close(in);
		return NULL;
	}
	r->in = in;
	const char *name = instream_name(in);
	unsigned char h[TOKSTREAM_HEADER_SIZE];
	size_t got = instream_read(in, h, sizeof h);
	if (instream_error(in))
		errf(err, errlen, "%s", instream_error(in));
	else if (got == 0)
		errf(err, errlen, "%s: empty input: expected a token stream (from bonsai-tokenize encode)", name);
	else if (got < 8 || memcmp(h, TOKSTREAM_MAGIC, 8) != 0)
		errf(err, errlen, "%s: not a bonsai token stream (wrong magic)", name);
	else if (got < sizeof h)
		errf(err, errlen, "%s: truncated: input ends inside the token stream header", name);
	else if (le_get32(h + 8) != TOKSTREAM_VERSION)
		errf(err, errlen, "%s: token stream version %u is not supported (this is version %d)", name,
		     le_get32(h + 8), TOKSTREAM_VERSION);
	else if (le_get32(h + 12) != TOKSTREAM_HEADER_SIZE || le_get64(h + 40) != xxh64(h, 40, 0))
		errf(err, errlen, "%s: damaged token stream header", name);
	else {
		r->info.token_width = le_get32(h + 16);
		r->info.vocab_size = le_get32(h + 20);
		r->info.bos_id = (int32_t)le_get32(h + 24);
		r->info.eos_id = (int32_t)le_get32(h + 28);
		r->info.fingerprint = le_get64(h + 32);
		if (r->info.token_width != 2 && r->info.token_width != 4)
			errf(err, errlen, "%s: bad token width %u", name, r->info.token_width);
		else if (r->info.vocab_size == 0 || (r->info.token_width == 2 && r->info.vocab_size > 65536))
			errf(err, errlen, "%s: bad vocabulary size %u for %u-byte tokens", name,
			     r->info.vocab_size, r->info.token_width);
		else
			return r;
	}
	tokreader_close(r);
	return NULL;
}

const tokstream_info *tokreader_info(const tokreader *r) { return &r->info; }
uint64_t tokreader_file_bytes(const tokreader *r) { return instream_file_bytes(r->in); }

/* Room for a document of len tokens. */
static int grow(tokreader *r, uint32_t len, char *err, size_t errlen)
{
	unsigned char *raw = reallocarray(r->raw, len, r->info.token_width);
	if (raw)
		r->raw = raw;
	uint32_t *ids = raw ? reallocarray(r->ids, len, sizeof *r->ids) : NULL;
	if (!ids)
		return errf(err, errlen, "%s: document %" PRIu64 ": out of memory (for %" PRIu32 " tokens)",
			    instream_name(r->in), r->docs + 1, len);
	r->ids = ids;
	r->cap = len;
	return 0;
}

int tokreader_next(tokreader *r, const uint32_t **ids, size_t *n, char *err, size_t errlen)
{
	const char *name = instream_name(r->in);
	if (r->ended)
		return 0;
	unsigned char lenb[4];
	int got = read_exact(r, lenb, 4, "a document frame", err, errlen);
	if (got < 0)
		return -1;
	if (got == 0)
		return errf(err, errlen,
			    "%s: truncated: the token stream ends without its end mark "
			    "(after %" PRIu64 " documents); the writer was interrupted",
			    name, r->docs);
	uint32_t len = le_get32(lenb);
	if (len == END_FRAME) {
		unsigned char tail[16];
		got = read_exact(r, tail, 16, "the end mark", err, errlen);
		if (got < 0)
			return -1;
		if (!got || le_get64(tail) != r->docs || le_get64(tail + 8) != r->tokens)
			return errf(err, errlen, "%s: token stream end mark does not match its contents", name);
		unsigned char extra;
		size_t more = instream_read(r->in, &extra, 1);
		if (instream_error(r->in))
			return errf(err, errlen, "%s", instream_error(r->in));
		if (more != 0)
			return errf(err, errlen, "%s: data after the end of the token stream", name);
		r->ended = 1;
		return 0;
	}
	size_t width = r->info.token_width;
	if (len > r->cap && grow(r, len, err, errlen))
		return -1;
	if (len) {
		got = read_exact(r, r->raw, (size_t)len * width, "a document", err, errlen);
		if (got < 0)
			return -1;
		if (!got)
			return errf(err, errlen, "%s: truncated: input ends inside a document", name);
	}
	/* decode first, check the largest id once: keeps the loops vectorizable */
	uint32_t max = 0;
	if (width == 2) {
		for (uint32_t i = 0; i < len; i++) {
			uint32_t id = (uint32_t)r->raw[2 * i] | (uint32_t)r->raw[2 * i + 1] << 8;
			r->ids[i] = id;
			max = id > max ? id : max;
		}
	} else {
		for (uint32_t i = 0; i < len; i++) {
			uint32_t id = le_get32(r->raw + 4 * (size_t)i);
			r->ids[i] = id;
			max = id > max ? id : max;
		}
	}
	if (len && max >= r->info.vocab_size) {
		uint32_t i = 0;
		while (r->ids[i] < r->info.vocab_size)
			i++;
		return errf(err, errlen, "%s: document %" PRIu64 ": token id %u is not below the vocabulary size %u",
			    name, r->docs + 1, r->ids[i], r->info.vocab_size);
	}
	r->docs++;
	r->tokens += len;
	*ids = r->ids;
	*n = len;
	return 1;
}

int tokreader_expect(const tokreader *r, uint64_t fingerprint, uint32_t vocab_size, char *err,
		     size_t errlen)
{
	if (r->info.fingerprint != fingerprint || r->info.vocab_size != vocab_size)
		return errf(err, errlen,
			    "%s: this token stream was made by another tokenizer (fingerprint %016" PRIx64
			    ", vocabulary %u; expected %016" PRIx64 ", vocabulary %u)",
			    instream_name(r->in), r->info.fingerprint, r->info.vocab_size, fingerprint,
			    vocab_size);
	return 0;
}

void tokreader_close(tokreader *r)
{
	if (!r)
		return;
	instream_close(r->in);
	free(r->raw);
	free(r->ids);
	free(r);
}
