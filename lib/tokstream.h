/* tokstream.h - the binary token stream between bonsai-tokenize and
 * bonsai-shard (bonsai-formats(5) has the byte layout).
 *
 *   header (48 bytes, little-endian):
 *     0  magic "BONSAITS"        8
 *     8  u32 version (1)
 *    12  u32 header size (48)
 *    16  u32 token width (2 or 4 bytes)
 *    20  u32 vocab size
 *    24  i32 BOS id (-1: none)   28  i32 EOS id (-1: none)
 *    32  u64 tokenizer fingerprint
 *    40  u64 XXH64 of bytes 0..39 (so a damaged header is caught)
 *   then one frame per document: u32 token count n (< 0xFFFFFFFF), n tokens
 *   and last an end frame: u32 0xFFFFFFFF, u64 documents, u64 tokens.
 * A stream without its end frame was cut short and is refused. */
#ifndef BONSAI_TOKSTREAM_H
#define BONSAI_TOKSTREAM_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define TOKSTREAM_MAGIC "BONSAITS"
#define TOKSTREAM_VERSION 1
#define TOKSTREAM_HEADER_SIZE 48

typedef struct {
	uint32_t token_width;   /* 2 when vocab_size <= 65536, else 4 */
	uint32_t vocab_size;
	int32_t bos_id, eos_id; /* -1: none */
	uint64_t fingerprint;   /* tokenizer identity (tokenizer_fingerprint) */
} tokstream_info;

/* The token width a vocabulary needs. */
uint32_t token_width_for_vocab(uint32_t vocab_size);

typedef struct tokwriter tokwriter;
/* Writes the header to fp (name is for messages). info->token_width may be 0:
 * it is then chosen from the vocab size. NULL with "NAME: why" in err for a
 * bad width, a vocabulary too big for 2-byte tokens, a write error or no
 * memory. */
tokwriter *tokwriter_open(FILE *fp, const char *name, const tokstream_info *info, char *err,
			  size_t errlen);
/* One document; every id must be < vocab_size. 0, or -1 with the message
 * (an id out of range, a document too long, a write error, no memory):
 * the stream is then unfinished, and the caller ends w with
 * tokwriter_abort(). */
int tokwriter_doc(tokwriter *w, const uint32_t *ids, size_t n, char *err, size_t errlen);
/* Writes the end frame and flushes; frees w. 0, or -1 with the message. */
int tokwriter_close(tokwriter *w, char *err, size_t errlen);
/* Frees w without the end frame: a reader refuses the stream as cut short. */
void tokwriter_abort(tokwriter *w);

typedef struct tokreader tokreader;
/* path "-" is stdin; zstd-compressed streams are read too. NULL with
 * "PATH: what is wrong" in err when it cannot be read or its header is bad. */
tokreader *tokreader_open(const char *path, char *err, size_t errlen);
const tokstream_info *tokreader_info(const tokreader *r);
/* Bytes of the file read so far, for progress lines (instream_file_bytes). */
uint64_t tokreader_file_bytes(const tokreader *r);
/* Next document: returns 1 with *ids (valid until the next call) and *n,
 * 0 after a correct end frame, or -1 with the message in err (naming the
 * input and the document) on truncation, a bad frame or an id >= vocab size. */
int tokreader_next(tokreader *r, const uint32_t **ids, size_t *n, char *err, size_t errlen);
/* 0, or -1 with the message when the stream was made by another tokenizer. */
int tokreader_expect(const tokreader *r, uint64_t fingerprint, uint32_t vocab_size, char *err,
		     size_t errlen);
void tokreader_close(tokreader *r);

#endif
