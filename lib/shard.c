/* shard.c - shard files: header codec, reader, writer. See shard.h. */
#include "shard.h"
#include "cli.h"
#include "hash.h"
#include "le.h"
#include "xio.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

/* The doc table follows the tokens at the next multiple of 8 bytes, so that
 * it can be read in place from a mapped file. */
static uint64_t tokens_bytes_padded(uint64_t n_tokens, uint32_t width)
{
	return (n_tokens * width + 7) & ~(uint64_t)7;
}

static uint64_t payload_size(const shard_header *h)
{
	return tokens_bytes_padded(h->n_tokens, h->token_width) + 8 * h->n_docs;
}

void shard_header_encode(const shard_header *h, unsigned char out[SHARD_HEADER_SIZE])
{
	memset(out, 0, SHARD_HEADER_SIZE);
	memcpy(out, SHARD_MAGIC, 8);
	le_put32(out + 8, SHARD_VERSION);
	le_put32(out + 12, SHARD_HEADER_SIZE);
	le_put32(out + 16, h->features);
	le_put32(out + 20, h->token_width);
	le_put32(out + 24, h->vocab_size);
	le_put32(out + 28, (uint32_t)h->bos_id);
	le_put32(out + 32, (uint32_t)h->eos_id);
	le_put32(out + 36, h->compression);
	le_put64(out + 40, h->fingerprint);
	le_put64(out + 48, h->n_tokens);
	le_put64(out + 56, h->n_docs);
	le_put32(out + 64, h->flags);
	le_put32(out + 68, h->split);
	le_put64(out + 72, h->index);
	le_put64(out + 80, h->payload_bytes);
	le_put64(out + 88, h->payload_checksum);
	le_put64(out + 96, xxh64(out, 96, 0));
}

int shard_header_decode(const unsigned char in[SHARD_HEADER_SIZE], shard_header *h,
			char *err, size_t errlen)
{
	memset(h, 0, sizeof *h);
	if (memcmp(in, SHARD_MAGIC, 8) != 0) {
		snprintf(err, errlen, "not a bonsai shard (wrong magic)");
		return -1;
	}
	h->version = le_get32(in + 8);
	if (h->version != SHARD_VERSION) {
		snprintf(err, errlen, "shard format version %u is not supported (this reader knows version %d)",
			 h->version, SHARD_VERSION);
		return -1;
	}
	if (le_get32(in + 12) != SHARD_HEADER_SIZE || le_get64(in + 96) != xxh64(in, 96, 0)) {
		snprintf(err, errlen, "damaged shard header (header checksum mismatch)");
		return -1;
	}
	h->features = le_get32(in + 16);
	h->token_width = le_get32(in + 20);
	h->vocab_size = le_get32(in + 24);
	h->bos_id = (int32_t)le_get32(in + 28);
	h->eos_id = (int32_t)le_get32(in + 32);
	h->compression = le_get32(in + 36);
	h->fingerprint = le_get64(in + 40);
	h->n_tokens = le_get64(in + 48);
	h->n_docs = le_get64(in + 56);
	h->flags = le_get32(in + 64);
	h->split = le_get32(in + 68);
	h->index = le_get64(in + 72);
	h->payload_bytes = le_get64(in + 80);
	h->payload_checksum = le_get64(in + 88);
	if (h->features != 0) {
		snprintf(err, errlen, "shard needs features 0x%x that this reader does not know; upgrade bonsai",
			 h->features);
		return -1;
	}
	if (h->token_width != 2 && h->token_width != 4) {
		snprintf(err, errlen, "bad token width %u", h->token_width);
		return -1;
	}
	if (h->vocab_size == 0 || (h->token_width == 2 && h->vocab_size > 65536)) {
		snprintf(err, errlen, "bad vocabulary size %u", h->vocab_size);
		return -1;
	}
	if (h->compression > SHARD_COMPRESS_ZSTD) {
		snprintf(err, errlen, "unknown compression %u", h->compression);
		return -1;
	}
	if (h->split > SPLIT_VAL || (h->flags & ~SHARD_FLAG_CONTINUES)) {
		snprintf(err, errlen, "bad split or flags");
		return -1;
	}
	/* Counts bounded so that the sizes computed from them cannot overflow. */
	if (h->n_tokens > (UINT64_C(1) << 56) || h->n_docs > h->n_tokens) {
		snprintf(err, errlen, "implausible counts (%" PRIu64 " tokens, %" PRIu64 " documents)",
			 h->n_tokens, h->n_docs);
		return -1;
	}
	if (h->compression == SHARD_COMPRESS_NONE && h->payload_bytes != payload_size(h)) {
		snprintf(err, errlen, "payload size %" PRIu64 " does not match %" PRIu64 " tokens",
			 h->payload_bytes, h->n_tokens);
		return -1;
	}
	return 0;
}

/* The first token id outside the vocabulary (it would index past an
 * embedding table), as its index; n_tokens when there is none. Blocks of
 * tokens are scanned branch-free, which is what makes verifying a large
 * set cheap. */
static uint64_t first_bad_token(const shard *s)
{
	const uint64_t n = s->h.n_tokens, block = 4096;
	for (uint64_t b = 0; b < n; b += block) {
		uint64_t e = b + block < n ? b + block : n;
		uint32_t max = 0;
		if (s->h.token_width == 2) {
			const uint16_t *t = (const uint16_t *)s->tokens;
			for (uint64_t i = b; i < e; i++)
				max = t[i] > max ? t[i] : max;
		} else {
			const uint32_t *t = (const uint32_t *)s->tokens;
			for (uint64_t i = b; i < e; i++)
				max = t[i] > max ? t[i] : max;
		}
		if (max < s->h.vocab_size)
			continue;
		for (uint64_t i = b; i < e; i++)
			if (shard_token(s, i) >= s->h.vocab_size)
				return i;
	}
	return n;
}

/* Where token i is: its byte offset in the file, or in the decompressed
 * payload of a zstd shard. */
static void token_place(const shard *s, uint64_t i, char *out, size_t len)
{
	uint64_t off = (uint64_t)s->h.token_width * i;
	if (s->h.compression == SHARD_COMPRESS_NONE)
		snprintf(out, len, "byte offset %" PRIu64, SHARD_HEADER_SIZE + off);
	else
		snprintf(out, len, "byte %" PRIu64 " of the decompressed payload", off);
}

int shard_check(const shard *s, char *err, size_t errlen)
{
	char where[96];
	/* a zstd shard's stored payload was checked before it was decompressed */
	int checksum_bad = s->map && xxh64((const unsigned char *)s->map + SHARD_HEADER_SIZE, s->h.payload_bytes,
					   0) != s->h.payload_checksum;
	uint64_t bad = first_bad_token(s);
	if (checksum_bad) {
		if (bad < s->h.n_tokens) {
			token_place(s, bad, where, sizeof where);
			return errf(err, errlen,
				    "%s: checksum mismatch: the shard's contents are damaged (token %" PRIu64
				    " at %s has id %u, not below the vocabulary size %u)",
				    s->path, bad, where, shard_token(s, bad), s->h.vocab_size);
		}
		return errf(err, errlen,
			    "%s: checksum mismatch: the shard's contents are damaged (somewhere in bytes %d to %" PRIu64
			    ", the payload)",
			    s->path, SHARD_HEADER_SIZE, SHARD_HEADER_SIZE + s->h.payload_bytes);
	}
	if (bad < s->h.n_tokens) {
		token_place(s, bad, where, sizeof where);
		return errf(err, errlen, "%s: token %" PRIu64 " (%s) has id %u, not below the vocabulary size %u",
			    s->path, bad, where, shard_token(s, bad), s->h.vocab_size);
	}
	uint64_t prev = 0;
	for (uint64_t d = 0; d < s->h.n_docs; d++) {
		uint64_t st = s->doc_starts[d];
		/* equal starts are empty documents, kept so that a round trip is exact */
		if (st > s->h.n_tokens || (d > 0 && st < prev))
			return errf(err, errlen, "%s: document table is damaged (entry %" PRIu64 ")", s->path, d);
		prev = st;
	}
	return 0;
}

/* Maps (or decompresses) the payload of s, whose header is read; fd is open. */
static int load_payload(shard *s, int fd, off_t file_size, int verify, char *err, size_t errlen)
{
	const char *path = s->path;
	uint64_t want = SHARD_HEADER_SIZE + s->h.payload_bytes;
	if ((uint64_t)file_size < want)
		return errf(err, errlen, "%s: truncated: %lld bytes, the header says %" PRIu64, path,
			    (long long)file_size, want);
	if ((uint64_t)file_size > want)
		return errf(err, errlen, "%s: %lld bytes, more than the %" PRIu64 " the header says", path,
			    (long long)file_size, want);
	s->map_len = (size_t)want;
	s->map = mmap(NULL, s->map_len, PROT_READ, MAP_PRIVATE, fd, 0);
	if (s->map == MAP_FAILED) {
		s->map = NULL;
		return errf(err, errlen, "%s: cannot map: %s", path, strerror(errno));
	}
	const unsigned char *payload = (const unsigned char *)s->map + SHARD_HEADER_SIZE;
	if (s->h.compression == SHARD_COMPRESS_ZSTD) {
		/* damaged compressed bytes are refused before they are decompressed */
		if (verify != SHARD_VERIFY_NONE && xxh64(payload, s->h.payload_bytes, 0) != s->h.payload_checksum)
			return errf(err, errlen,
				    "%s: checksum mismatch: the shard's contents are damaged (somewhere in bytes %d to %" PRIu64
				    ", the compressed payload)",
				    path, SHARD_HEADER_SIZE, SHARD_HEADER_SIZE + s->h.payload_bytes);
		uint64_t size = payload_size(&s->h);
		if (size > SIZE_MAX || !(s->owned = malloc(size ? (size_t)size : 1)))
			return errf(err, errlen, "%s: out of memory (for its decompressed payload of %" PRIu64
				    " bytes)", path, size);
		size_t r = ZSTD_decompress(s->owned, size, payload, s->h.payload_bytes);
		if (ZSTD_isError(r))
			return errf(err, errlen, "%s: zstd: %s", path, ZSTD_getErrorName(r));
		if (r != size)
			return errf(err, errlen, "%s: decompressed payload is %zu bytes, expected %" PRIu64, path,
				    r, size);
		munmap(s->map, s->map_len);
		s->map = NULL;
		payload = s->owned;
	}
	s->tokens = payload;
	s->doc_starts = (const uint64_t *)(payload + tokens_bytes_padded(s->h.n_tokens, s->h.token_width));
	return verify == SHARD_VERIFY_NOW ? shard_check(s, err, errlen) : 0;
}

shard *shard_open(const char *path, int verify, char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY);
	if (fd < 0) {
		errf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
		return NULL;
	}
	shard *s = calloc(1, sizeof *s);
	if (!s || !(s->path = strdup(path))) {
		free(s);
		close(fd);
		errf(err, errlen, "%s: out of memory", path);
		return NULL;
	}
	struct stat st;
	unsigned char hb[SHARD_HEADER_SIZE];
	char why[256];
	ssize_t got = 0;
	int bad = 1;
	if (fstat(fd, &st) != 0)
		errf(err, errlen, "%s: %s", path, strerror(errno));
	else if ((got = pread(fd, hb, sizeof hb, 0)) < 0)
		errf(err, errlen, "%s: read failed: %s", path, strerror(errno));
	else if (got == 0)
		errf(err, errlen, "%s: empty file, not a shard", path);
	else if (got < 8 || memcmp(hb, SHARD_MAGIC, 8) != 0)
		errf(err, errlen, "%s: not a bonsai shard (wrong magic)", path);
	else if ((size_t)got < sizeof hb)
		errf(err, errlen, "%s: truncated: file ends inside the shard header", path);
	else if (shard_header_decode(hb, &s->h, why, sizeof why) != 0)
		errf(err, errlen, "%s: %s", path, why);
	else
		bad = load_payload(s, fd, st.st_size, verify, err, errlen) != 0;
	close(fd);
	if (bad) {
		shard_close(s);
		return NULL;
	}
	return s;
}

void shard_close(shard *s)
{
	if (!s)
		return;
	if (s->map)
		munmap(s->map, s->map_len);
	free(s->owned);
	free(s->path);
	free(s);
}

struct shard_writer {
	outfile *out;
	shard_header h;
	ZSTD_CCtx *zc;
	xxh64_state sum;
	uint64_t stored;
	uint64_t *docs;
	size_t n_docs, cap_docs;
	unsigned char *buf;  /* tokens converted to their width, and zstd output */
	size_t buf_cap;
	unsigned char *zbuf;
	size_t zbuf_cap;
};

static int store(shard_writer *w, const void *p, size_t n, char *err, size_t errlen)
{
	if (outfile_write_err(w->out, p, n, err, errlen))
		return -1;
	xxh64_update(&w->sum, p, n);
	w->stored += n;
	return 0;
}

/* Compresses in[] with mode (ZSTD_e_continue, or ZSTD_e_end to finish the
 * frame) and stores what comes out. */
static int compress(shard_writer *w, ZSTD_inBuffer *in, ZSTD_EndDirective mode, char *err,
		    size_t errlen)
{
	size_t r;
	do {
		ZSTD_outBuffer out = {w->zbuf, w->zbuf_cap, 0};
		r = ZSTD_compressStream2(w->zc, &out, in, mode);
		if (ZSTD_isError(r))
			return errf(err, errlen, "%s: zstd: %s", w->out->path, ZSTD_getErrorName(r));
		if (store(w, w->zbuf, out.pos, err, errlen))
			return -1;
	} while (mode == ZSTD_e_end ? r != 0 : in->pos < in->size);
	return 0;
}

static int emit(shard_writer *w, const void *p, size_t n, char *err, size_t errlen)
{
	if (!w->zc)
		return store(w, p, n, err, errlen);
	ZSTD_inBuffer in = {p, n, 0};
	return n ? compress(w, &in, ZSTD_e_continue, err, errlen) : 0;
}

static void writer_free(shard_writer *w)
{
	ZSTD_freeCCtx(w->zc);
	free(w->docs);
	free(w->buf);
	free(w->zbuf);
	free(w);
}

shard_writer *shard_writer_open(const char *path, const shard_header *h, int zstd_level, char *err,
				size_t errlen)
{
	shard_writer *w = calloc(1, sizeof *w);
	if (!w) {
		errf(err, errlen, "%s: out of memory", path);
		return NULL;
	}
	w->h = *h;
	w->h.version = SHARD_VERSION;
	w->h.n_tokens = w->h.n_docs = 0;
	w->buf_cap = 1 << 16;
	w->buf = malloc(w->buf_cap);
	if (w->buf && h->compression == SHARD_COMPRESS_ZSTD) {
		w->zc = ZSTD_createCCtx();
		w->zbuf_cap = ZSTD_CStreamOutSize();
		w->zbuf = malloc(w->zbuf_cap);
	}
	if (!w->buf || (h->compression == SHARD_COMPRESS_ZSTD && (!w->zc || !w->zbuf))) {
		errf(err, errlen, "%s: out of memory (for the shard writer's buffers)", path);
		writer_free(w);
		return NULL;
	}
	if (w->zc)
		ZSTD_CCtx_setParameter(w->zc, ZSTD_c_compressionLevel, zstd_level);
	xxh64_init(&w->sum, 0);
	/* the header's place: written at the end, when the counts are known */
	unsigned char zero[SHARD_HEADER_SIZE] = {0};
	if (!(w->out = outfile_open_err(path, err, errlen))) {
		writer_free(w);
		return NULL;
	}
	if (outfile_write_err(w->out, zero, sizeof zero, err, errlen)) {
		shard_writer_abort(w);
		return NULL;
	}
	return w;
}

int shard_writer_tokens(shard_writer *w, const uint32_t *ids, size_t n, char *err, size_t errlen)
{
	size_t width = w->h.token_width;
	size_t per = w->buf_cap / width;
	for (size_t done = 0; done < n;) {
		size_t k = n - done < per ? n - done : per;
		const uint32_t *src = ids + done;
		uint32_t max = 0;
		for (size_t i = 0; i < k; i++)
			max = src[i] > max ? src[i] : max;
		if (max >= w->h.vocab_size)
			return errf(err, errlen, "%s: token id %u is not below the vocabulary size %u",
				    w->out->path, max, w->h.vocab_size);
		unsigned char *p = w->buf;
		if (width == 2) {
			for (size_t i = 0; i < k; i++) {
				p[2 * i] = (unsigned char)src[i];
				p[2 * i + 1] = (unsigned char)(src[i] >> 8);
			}
		} else {
			for (size_t i = 0; i < k; i++)
				le_put32(p + 4 * i, src[i]);
		}
		if (emit(w, w->buf, k * width, err, errlen))
			return -1;
		w->h.n_tokens += k;
		done += k;
	}
	return 0;
}

int shard_writer_doc_start(shard_writer *w, char *err, size_t errlen)
{
	if (w->n_docs == w->cap_docs) {
		size_t cap = w->cap_docs ? 2 * w->cap_docs : 1024;
		uint64_t *docs = reallocarray(w->docs, cap, sizeof *docs);
		if (!docs)
			return errf(err, errlen, "%s: out of memory (for a table of %zu documents)",
				    w->out->path, cap);
		w->docs = docs;
		w->cap_docs = cap;
	}
	w->docs[w->n_docs++] = w->h.n_tokens;
	return 0;
}

uint64_t shard_writer_count(const shard_writer *w) { return w->h.n_tokens; }

/* The padding, the doc table, the end of the zstd frame and the header. */
static int finish(shard_writer *w, char *err, size_t errlen)
{
	w->h.n_docs = w->n_docs;
	uint64_t pad = tokens_bytes_padded(w->h.n_tokens, w->h.token_width) - w->h.n_tokens * w->h.token_width;
	static const unsigned char zeros[8];
	if (emit(w, zeros, (size_t)pad, err, errlen))
		return -1;
	for (size_t i = 0; i < w->n_docs; i++) {
		unsigned char b[8];
		le_put64(b, w->docs[i]);
		if (emit(w, b, 8, err, errlen))
			return -1;
	}
	ZSTD_inBuffer none = {NULL, 0, 0};
	if (w->zc && compress(w, &none, ZSTD_e_end, err, errlen))
		return -1;
	w->h.payload_bytes = w->stored;
	w->h.payload_checksum = xxh64_digest(&w->sum);
	unsigned char hb[SHARD_HEADER_SIZE];
	shard_header_encode(&w->h, hb);
	FILE *fp = w->out->fp;
	if (fflush_err(fp, w->out->path, err, errlen))
		return -1;
	if (fseek(fp, 0, SEEK_SET) != 0)
		return errf(err, errlen, "%s: seek failed: %s", w->out->path, strerror(errno));
	return fwrite_err(hb, sizeof hb, fp, w->out->path, err, errlen);
}

int shard_writer_close(shard_writer *w, shard_header *out, char *err, size_t errlen)
{
	if (finish(w, err, errlen)) {
		shard_writer_abort(w);
		return -1;
	}
	outfile *o = w->out;
	shard_header h = w->h;
	writer_free(w);
	if (outfile_commit_err(o, err, errlen))
		return -1;
	if (out)
		*out = h;
	return 0;
}

void shard_writer_abort(shard_writer *w)
{
	if (!w)
		return;
	outfile_abort(w->out);
	writer_free(w);
}
