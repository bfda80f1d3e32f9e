/* shard.h - binary token shards and the manifest of a shard directory
 * (bonsai-formats(5) has the byte layout).
 *
 *   header (128 bytes, little-endian):
 *     0  magic "BONSHARD"             8
 *     8  u32 version (1)             12  u32 header size (128)
 *    16  u32 required-feature bits (a reader refuses bits it does not know)
 *    20  u32 token width (2 or 4)    24  u32 vocab size
 *    28  i32 BOS id                  32  i32 EOS id
 *    36  u32 compression (0 none, 1 zstd)
 *    40  u64 tokenizer fingerprint
 *    48  u64 tokens                  56  u64 documents starting here
 *    64  u32 flags (bit 0: the first token continues the previous shard's document)
 *    68  u32 split (0 train, 1 val)  72  u64 shard index in its split
 *    80  u64 payload bytes as stored 88  u64 XXH64 of the stored payload
 *    96  u64 XXH64 of bytes 0..95 (header check)   104..127 zero
 *   payload (uncompressed): tokens, zero padding to a multiple of 8 bytes,
 *   then u64 doc_start[documents]: non-decreasing token offsets within this
 *   shard where a document starts (equal offsets: empty documents); with
 *   zstd, one or more zstd frames holding exactly those bytes.
 * Tokens start at byte 128, so an uncompressed shard can be mmap()ed. */
#ifndef BONSAI_SHARD_H
#define BONSAI_SHARD_H

#include <stddef.h>
#include <stdint.h>

#define SHARD_MAGIC "BONSHARD"
#define SHARD_VERSION 1
#define SHARD_HEADER_SIZE 128
#define SHARD_FLAG_CONTINUES 1u
enum { SHARD_COMPRESS_NONE = 0, SHARD_COMPRESS_ZSTD = 1 };
enum { SPLIT_TRAIN = 0, SPLIT_VAL = 1 };

typedef struct {
	uint32_t version, features, token_width, vocab_size, compression;
	int32_t bos_id, eos_id;
	uint64_t fingerprint, n_tokens, n_docs;
	uint32_t flags, split;
	uint64_t index, payload_bytes, payload_checksum;
} shard_header;

void shard_header_encode(const shard_header *h, unsigned char out[SHARD_HEADER_SIZE]);
/* Returns 0 and fills h, or -1 with a message in err. */
int shard_header_decode(const unsigned char in[SHARD_HEADER_SIZE], shard_header *h,
			char *err, size_t errlen);

/* An open shard: tokens in memory (mmap()ed when uncompressed). */
typedef struct {
	char *path;
	shard_header h;
	const void *tokens;       /* uint16_t or uint32_t per h.token_width */
	const uint64_t *doc_starts;
	void *map; size_t map_len; /* mmap()ed file, or NULL */
	void *owned;               /* decompressed payload, or NULL */
} shard;

/* Opens and checks a shard: header and file size and, with
 * SHARD_VERIFY_NOW, its payload checksum, token ids and document table.
 * SHARD_VERIFY_LATER checks a compressed payload's checksum (it must be
 * right before it is decompressed) and leaves the rest to shard_check().
 * NULL with "PATH: what is wrong" in err on any problem. */
enum { SHARD_VERIFY_NONE = 0, SHARD_VERIFY_NOW = 1, SHARD_VERIFY_LATER = 2 };
shard *shard_open(const char *path, int verify, char *err, size_t errlen);
/* The checks shard_open(SHARD_VERIFY_LATER) left: returns 0, or -1 with
 * "PATH: what is wrong" in err, naming the token and its byte offset where
 * one is out of range. Safe to run on several shards at once. */
int shard_check(const shard *s, char *err, size_t errlen);
static inline uint32_t shard_token(const shard *s, uint64_t i)
{
	return s->h.token_width == 2 ? ((const uint16_t *)s->tokens)[i]
				     : ((const uint32_t *)s->tokens)[i];
}
void shard_close(shard *s);

/* Writes one shard: tokens are appended, then shard_writer_close() writes
 * the doc table, the real header, and renames the file into place. The
 * file is written under a temporary name: nothing is left at PATH, or
 * beside it, unless shard_writer_close() succeeds. Errors (out of memory,
 * a write error, a token id not below the vocabulary size, zstd) return
 * NULL or -1 with "PATH: what is wrong" in err; after a failed
 * shard_writer_tokens() or shard_writer_doc_start() the caller ends the
 * writer with shard_writer_abort(). */
typedef struct shard_writer shard_writer;
/* h supplies width, vocab, ids, fingerprint, split, index, compression and
 * flags; counts and checksums are filled in. zstd_level is used with zstd. */
shard_writer *shard_writer_open(const char *path, const shard_header *h, int zstd_level, char *err,
				size_t errlen);
int shard_writer_tokens(shard_writer *w, const uint32_t *ids, size_t n, char *err, size_t errlen);
/* Marks that a document starts at the next token appended. */
int shard_writer_doc_start(shard_writer *w, char *err, size_t errlen);
uint64_t shard_writer_count(const shard_writer *w);
/* Finishes the file and frees w; returns the final header through out
 * (may be NULL). On an error the temporary file is removed. */
int shard_writer_close(shard_writer *w, shard_header *out, char *err, size_t errlen);
/* Removes the temporary file and frees w (NULL: nothing). */
void shard_writer_abort(shard_writer *w);

/* A shard directory's manifest ("DIR/manifest", JSON). */
typedef struct {
	char *file;            /* name inside the directory */
	uint32_t split;
	uint64_t n_tokens, n_docs, checksum;
} manifest_entry;

typedef struct {
	uint32_t token_width, vocab_size;
	int32_t bos_id, eos_id;
	uint64_t fingerprint;
	manifest_entry *entries;
	size_t n;
} manifest;

/* Reads DIR/manifest; NULL with "DIR/manifest: what is wrong" in err when
 * it is absent or malformed. */
manifest *manifest_read(const char *dir, char *err, size_t errlen);
/* Writes DIR/manifest atomically: 0, or -1 with "DIR/manifest: why" in err
 * (nothing is left behind). */
int manifest_write(const char *dir, const manifest *m, char *err, size_t errlen);
void manifest_free(manifest *m);
/* Opens entry i of m (in dir) and checks it against the manifest; NULL with
 * the message in err. */
shard *manifest_open_entry(const char *dir, const manifest *m, size_t i, int verify, char *err,
			   size_t errlen);

/* All shards of one split of a directory, opened and checked against the
 * manifest (counts, fingerprint, vocab). Token i of the split is the
 * concatenation order of the manifest. */
typedef struct {
	manifest *m;
	shard **shards;
	size_t n;
	uint64_t n_tokens;
	uint64_t *starts;     /* starts[i] = first split-wide index of shard i */
} shardset;

/* verify: every shard's checksum, ids and document table, in parallel.
 * NULL with the message in err (manifest_read, manifest_open_entry, the
 * first damaged shard in manifest order). */
shardset *shardset_open(const char *dir, uint32_t split, int verify, char *err, size_t errlen);
/* Copies n tokens from split-wide index i (may cross shards). i + n past
 * the split's end is the caller's bug: the program ends ("internal error"). */
void shardset_read(const shardset *s, uint64_t i, uint32_t *out, size_t n);
void shardset_close(shardset *s);

#endif
