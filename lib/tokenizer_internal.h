/* tokenizer_internal.h - the representation shared by the tokenizer's
 * loaders (tokenizer_hf.c, tokenizer_tiktoken.c), its encoder and decoder
 * (tokenizer.c) and the trainer. Not for use outside the tokenizer. */
#ifndef BONSAI_TOKENIZER_INTERNAL_H
#define BONSAI_TOKENIZER_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include "bpe.h"
#include "buf.h"
#include "pretok.h"
#include "pretok_pcre.h"
#include "tokenizer.h"
#include "tokenizer_maps.h"

enum { TOK_HF = 1, TOK_TIKTOKEN = 2 };
/* How a piece becomes its first symbols: one per byte (byte-level BPE and
 * tiktoken) or one per character with byte fallback (SentencePiece-style
 * tokenizer.json such as Gemma's). */
enum { SYM_BYTES = 1, SYM_CHARS = 2 };
/* Split pre-tokenizer behaviours (Hugging Face names). */
enum { SPLIT_REMOVED, SPLIT_ISOLATED, SPLIT_MERGED_PREV, SPLIT_MERGED_NEXT, SPLIT_CONTIGUOUS };

enum { TOKF_PRESENT = 1, TOKF_ADDED = 2, TOKF_SPECIAL = 4 };

/* Added tokens, matched leftmost-longest in the raw text before anything
 * else (Hugging Face's AddedVocabulary with normalized=false). */
typedef struct {
	u64map edges;       /* (node << 8 | byte) -> child node */
	int32_t *term;      /* node -> token id or -1 */
	size_t nodes, cap;
	unsigned char first[256]; /* bytes that can start a token */
} added_trie;

struct tokenizer {
	char *path;
	int kind;
	pretok_kind pretok;
	/* PRETOK_REGEX: the pattern, and whether the text between its matches
	 * is kept as pieces (Hugging Face Split, Isolated) or dropped
	 * (tiktoken, which takes the matches only) */
	pretok_regex *regex;
	int regex_gaps;
	uint32_t vocab_size;
	int32_t bos, eos;
	uint64_t fingerprint;

	/* What decode writes for each id: bytes[off[id] .. off[id+1]). */
	uint64_t *off;
	char *bytes;
	uint8_t *flags; /* TOKF_* */

	/* tiktoken: a piece that is itself a token is that token. */
	int whole_piece;
	strmap piece_ids;

	int sym_mode;
	int32_t byte_id[256];     /* SYM_BYTES: the token of each byte */
	int32_t fallback_id[256]; /* SYM_CHARS: <0xNN> tokens, -1 if none */
	int32_t *cp_id;           /* SYM_CHARS: code point -> id + 1 (0: none) */
	int32_t unk_id;           /* -1: none */
	int fuse_unk;

	bpe_table merges;

	/* Hugging Face normalizer: literal replacements in order. */
	size_t n_repl;
	char **repl_from, **repl_to;
	size_t *repl_from_len, *repl_to_len;
	/* Hugging Face Split pre-tokenizer on a literal string (NULL: none). */
	char *split;
	size_t split_len;
	int split_behavior;

	added_trie added;

	/* SYM_CHARS with a word-start character (Gemma's U+2581): a stretch is
	 * cut before each such character that follows another character, except
	 * after a character that some token joins to it (glue, e.g. '>' of
	 * ">▁</") or one without a token (byte fallback). No merge can cross
	 * such a cut, so BPE word by word is exact, and words can be cached. */
	uint32_t word_cp;         /* 0: no cutting */
	char word_utf8[4];
	size_t word_len;
	uint32_t *glue;
	size_t n_glue;

	uint64_t serial;          /* tells thread caches apart */

	/* Loaded from a compiled form: the arrays above point into this
	 * mapping of it (tokenizer_compiled.c), except the merge and piece
	 * tables, the normalizer's strings and the split string, which are
	 * allocated. */
	void *map;
	size_t map_len;
};

/* Per-thread cache of piece -> ids (lib/tokenizer_cache.c); h is
 * piece_cache_hash of the piece. piece_cache_ready makes the calling
 * thread's cache for t (-1: out of memory, about 13 MB); the others are
 * called only after it. */
#define PIECE_CACHE_MAX_BYTES 64
static inline uint64_t piece_cache_hash(const unsigned char *s, size_t n)
{
	return n <= PIECE_CACHE_MAX_BYTES ? strmap_hash(s, n) : 0;
}
int piece_cache_ready(const tokenizer *t);
int piece_cache_get(const tokenizer *t, const unsigned char *s, size_t n, uint64_t h,
		    const uint32_t **ids, size_t *n_ids);
void piece_cache_put(const tokenizer *t, const unsigned char *s, size_t n, uint64_t h,
		     const uint32_t *ids, size_t n_ids);
/* Starts fetching the slots that a lookup of the piece will read, so that
 * the lookups of several pieces overlap their cache misses. */
void piece_cache_prefetch(const tokenizer *t, size_t n, uint64_t h);
/* The calling thread's memo of merge-table lookups (bpe_scratch.memo). */
uint64_t *piece_cache_pair_memo(const tokenizer *t);

/* The loaders: NULL with a message naming the file in err on an error. */
tokenizer *tokenizer_load_hf(const char *path, const char *text, size_t len, char *err,
			     size_t errlen);
tokenizer *tokenizer_load_tiktoken(const char *path, const char *text, size_t len,
				   const char *pattern, char *err, size_t errlen);
/* "path: msg" (line 0) or "path:line: msg" into err[errlen]; returns -1. */
int tok_fail(char *err, size_t errlen, const char *path, long line, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
/* s[0..n) as a NUL-terminated string of its own (NUL bytes inside are kept:
 * a JSON string may hold \u0000); NULL when out of memory. */
char *tok_copy_str(const char *s, size_t n);
/* "path: out of memory for what"; returns -1. */
int tok_no_memory(char *err, size_t errlen, const char *path, const char *what);
/* Refuses (-1, err) a tokenizer that some text could not be encoded with:
 * a byte with no token of its own, no byte fallback and no unk. */
int tok_check_total(const tokenizer *t, const char *path, char *err, size_t errlen);

/* The compiled form of a tokenizer (tokenizer_compiled.c): everything
 * encode and decode use, in one file that is mapped rather than parsed.
 * key: the identity of what it was made from (source bytes, pattern,
 * format); a file for another key, or damaged (its checksum), is refused. */
#define TOK_COMPILED_VERSION 2
int tok_compiled_write(const tokenizer *t, const char *path, uint64_t key, char *err,
		       size_t errlen);
/* The tokenizer in *t, or NULL there when the file is not a compiled form
 * of key: *damaged set when the file exists but is not a sound one (a
 * missing file is no damage). 0, or -1 with the message in err when out of
 * memory. */
int tok_compiled_open(const char *path, uint64_t key, tokenizer **t, int *damaged, char *err,
		      size_t errlen);

/* The .json beside a .tiktoken file (its pattern and special tokens);
 * NULL when out of memory. */
char *tiktoken_side_path(const char *path);
/* A whole file (NUL-terminated), or NULL with the message in err. */
char *tok_read_file(const char *path, size_t *len, char *err, size_t errlen);

/* A prefix tree (compressed: a node per branching) of byte strings that
 * outlive it: which of them are prefixes of a string, in time linear in
 * the string. */
typedef struct {
	u64map edges;       /* (node << 8 | byte) -> child node */
	const char **ref;   /* node -> a string that the node's path begins */
	uint64_t *depth;    /* node -> length of its path */
	int32_t *term;      /* node -> id of the string ending there, or -1 */
	size_t nodes, cap;
} prefix_tree;
/* Both return 0, or -1 when out of memory (init: p needs no free then;
 * add: p is as it was). */
int prefix_tree_init(prefix_tree *p);
/* Adds s[0..n) (kept, not copied) with its id; the first id of equal
 * strings stays. */
int prefix_tree_add(prefix_tree *p, const char *s, size_t n, int32_t id);
/* ids[k] for k = 0..n: the id of the string s[0..k), or -1. */
void prefix_tree_prefixes(const prefix_tree *p, const char *s, size_t n, int32_t *ids);
void prefix_tree_free(prefix_tree *p);

/* Helpers for the loaders. tok_set_bytes: 0, or -1 with the message in
 * err when out of memory (what it allocated is t's, for tokenizer_free).
 * added_trie_init and _add: 0, or -1 when out of memory (init: a needs no
 * free then). */
int tok_set_bytes(tokenizer *t, uint32_t vocab_size, char **strs, const size_t *lens,
		  const uint8_t *flags, char *err, size_t errlen);
int added_trie_init(added_trie *a);
int added_trie_add(added_trie *a, const char *s, size_t n, int32_t id);
/* Longest added token at s[i]: its id and *len, or -1. */
int32_t added_trie_match(const added_trie *a, const unsigned char *s, size_t n, size_t i,
			 size_t *len);
void added_trie_free(added_trie *a);
/* Sets t's pre-tokenizer from a regex (re[0..len)): a built-in pattern
 * when it is one (by name or exact text), else PCRE2 (gaps: see
 * tokenizer.regex_gaps). -1 with the message, naming path, in err when the
 * regex does not compile or memory runs out. */
int tok_set_pattern(tokenizer *t, const char *re, size_t len, int gaps, const char *path,
		    char *err, size_t errlen);
/* The text that identifies t's pre-tokenizer (empty: none). */
const char *tok_pattern_text(const tokenizer *t, size_t *len);
/* Sets bos/eos still at -1 from the usual names of added tokens. */
void tok_guess_bos_eos(tokenizer *t);
/* Computes t->fingerprint; merges in rank order as (left, right) id pairs;
 * extra: a hash of whatever else the loader knows defines the ids. */
void tok_fingerprint(tokenizer *t, const uint32_t *merge_pairs, size_t n_merges,
		     uint64_t extra);


/* GPT-2's byte-level alphabet: the printable character that stands for a
 * byte in vocabulary strings, and back (-1: not in the alphabet). */
uint32_t bytelevel_char(unsigned char b);
int bytelevel_byte(uint32_t cp);

/* A byte-level BPE for bytelevel_json_write: the bytes of each id
 * (bytes[off[id] .. off[id+1])), which ids are tokens and which of them are
 * special (written as they are, and as added tokens), the merges as id pairs
 * in priority order, the Split pattern, and whether a piece that is a token
 * is taken whole (tiktoken) before any merge. */
typedef struct {
	uint32_t n_ids;
	const uint64_t *off;
	const char *bytes;
	const uint8_t *present, *special;
	const uint32_t *pairs;
	size_t n_merges;
	const char *pattern;
	size_t pattern_len;
	int ignore_merges;
} bytelevel_bpe;
/* Writes b as a Hugging Face tokenizer.json at path (whole, then renamed):
 * 0, or -1 with the message in err[errlen] (out of memory, a write error;
 * nothing is left at path then). */
int bytelevel_json_write(const char *path, const bytelevel_bpe *b, char *err, size_t errlen);
/* The same text appended to o, for a caller that opened its output before
 * the work: o must be a checked buffer (BUF_CHECKED), whose failed flag
 * also tells that the writer's own buffers ran out of memory. */
void bytelevel_json_text(buf_t *o, const bytelevel_bpe *b);

#endif
