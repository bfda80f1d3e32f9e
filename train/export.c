/* export.c - bonsai-train export RUN|CHECKPOINT|MODEL -o DIR: the Hugging
 * Face set (config.json, model.safetensors with transformers' parameter
 * names, the tokenizer, tokenizer_config.json, generation_config.json),
 * the form --init, bonsai-eval, bonsai-generate and transformers read.
 * DIR is built beside as DIR.tmp-PID and renamed into place when whole. */
#include "buf.h"
#include "cli.h"
#include "commands.h"
#include "gemma3.h"
#include "gemma3_checkpoint.h"
#include "json.h"
#include "tokenizer.h"
#include "tokenizer_dir.h"
#include "xio.h"

#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* an export has no subfolders */
static void remove_work(void *arg) { remove_dir_files(arg, NULL, 1); }

/* 1 when path is a directory holding no entry. */
static int empty_dir(const char *path)
{
	DIR *d = opendir(path);
	if (!d)
		return 0;
	struct dirent *e;
	int empty = 1;
	while (empty && (e = readdir(d)))
		empty = !strcmp(e->d_name, ".") || !strcmp(e->d_name, "..");
	closedir(d);
	return empty;
}

static void put_file(const char *dir, const char *name, const char *text)
{
	char *p = xpath_join(dir, name);
	outfile *o = outfile_open(p);
	outfile_write(o, text, strlen(text));
	outfile_commit(o);
	free(p);
}

/* "NAME": the text of token id, or nothing when it is not the tokenizer's. */
static void put_token(buf_t *b, const tokenizer *t, const char *name, int32_t id)
{
	char text[512], err[256];
	long n = id >= 0 ? tokenizer_token_bytes(t, (uint32_t)id, text, sizeof text, err, sizeof err)
			 : -1;
	if (n < 0 || !utf8_valid(text, (size_t)n))
		return;
	buf_printf(b, "  \"%s\": ", name);
	json_write_string(b, text, (size_t)n);
	buf_puts(b, ",\n");
}

/* For AutoTokenizer: the tokenizer.json read as it is (its own
 * pre-tokenizer, normalizer and decoder), the special tokens named, no chat
 * template. ordinary: a tokenizer.json derived from a .tiktoken, whose
 * special tokens tiktoken never finds in text (encode_ordinary), as
 * transformers' split_special_tokens does not either. */
static void put_tokenizer_config(const char *dir, const tokenizer *t, const gemma3_config *c,
				 int ordinary)
{
	buf_t b = { 0 };
	buf_puts(&b, "{\n  \"tokenizer_class\": \"PreTrainedTokenizerFast\",\n");
	if (ordinary)
		buf_puts(&b, "  \"split_special_tokens\": true,\n");
	put_token(&b, t, "bos_token", c->bos_id);
	put_token(&b, t, "eos_token", c->eos_id);
	put_token(&b, t, "pad_token", c->pad_id);
	buf_printf(&b, "  \"model_max_length\": %d,\n  \"clean_up_tokenization_spaces\": false\n}\n",
		   c->max_position_embeddings);
	put_file(dir, "tokenizer_config.json", buf_cstr(&b));
	buf_free(&b);
}

static void put_generation_config(const char *dir, const gemma3_config *c)
{
	buf_t b = { 0 };
	buf_printf(&b, "{\n  \"bos_token_id\": %d,\n  \"eos_token_id\": %d,\n  \"pad_token_id\": %d\n}\n",
		   (int)c->bos_id, (int)c->eos_id, (int)c->pad_id);
	put_file(dir, "generation_config.json", buf_cstr(&b));
	buf_free(&b);
}

/* The model's tokenizer (beside it) into work: it must be the one of the
 * shards the model was trained on, when the training state says which. */
static void put_tokenizer(const char *model, const char *work, const safetensors *state,
			  const gemma3_config *c)
{
	char err[1200], what[600];
	char *src = run_tokenizer_in(model);
	if (!src) {
		warnx_("warning: no tokenizer beside %s: the export has none (give bonsai-eval -t; "
		       "bonsai-shard -t keeps one with the shards, and bonsai-train carries it)",
		       model);
		return;
	}
	gemma3_train_state s;
	uint64_t fp = 0;
	if (state && gemma3_state_parse(state, &s, err, sizeof err) == 0)
		fp = s.fingerprint;
	tokenizer *t = tokenizer_load(src, NULL, err, sizeof err);
	if (!t)
		die("%s", err);
	if (!fp)
		fp = tokenizer_fingerprint(t);
	snprintf(what, sizeof what, "the shards %s was trained on", model);
	if (tokenizer_copy_to_dir(src, work, fp, what, err, sizeof err))
		die("%s", err);
	if (tokenizer_vocab_size(t) > (uint32_t)c->vocab_size)
		die("%s: %" PRIu32 " tokens, more than the model's vocabulary of %d", src,
		    tokenizer_vocab_size(t), c->vocab_size);
	/* transformers has no reader of .tiktoken files it would find alone:
	 * the same ids through a tokenizer.json derived from the ranks */
	int tiktoken = strstr(src, ".tiktoken") != NULL;
	if (tiktoken) {
		char *p = xpath_join(work, "tokenizer.json");
		if (tokenizer_write_hf_json(t, p, err, sizeof err))
			die("%s", err);
		free(p);
	}
	put_tokenizer_config(work, t, c, tiktoken);
	tokenizer_free(t);
	free(src);
}

/* out may be written: absent, empty, or with -f an earlier export. A
 * folder of checkpoints is a training (the very run being exported, or
 * another) whose state -f would delete. */
static void check_replaceable(const char *out, int force)
{
	struct stat sb;
	if (stat(out, &sb) != 0 || empty_dir(out))
		return;
	if (!force)
		die("%s: already exists; use -f/--force to replace it", out);
	if (!S_ISDIR(sb.st_mode))
		die("%s: not a folder: -f replaces only an earlier export", out);
	char err[1024], *ckpt;
	if (gemma3_latest_checkpoint(out, &ckpt, err, sizeof err))
		die("%s", err);
	if (ckpt)
		die("%s: a run folder with checkpoints (%s): -f replaces only an earlier export, "
		    "not a training's state; give another -o",
		    out, ckpt);
}

/* work replaces out: a rename, or with --force the old folder moved aside
 * first and removed after. */
static void commit(const char *work, const char *out, int force)
{
	struct stat sb;
	char *aside = NULL;
	if (stat(out, &sb) == 0) {
		if (empty_dir(out)) {
			if (rmdir(out) != 0)
				die("%s: cannot replace: %s", out, strerror(errno));
		} else if (force && S_ISDIR(sb.st_mode)) {
			size_t n = strlen(work) + 8;
			aside = xmalloc(n);
			snprintf(aside, n, "%s.old", work);
			if (rename(out, aside) != 0)
				die("%s: cannot move the old export aside: %s", out, strerror(errno));
		} else {
			die("%s: already exists; use -f/--force to replace it", out);
		}
	}
	if (rename(work, out) != 0) {
		int e = errno;
		if (aside && rename(aside, out) != 0)
			warnx_("%s: the old export is at %s", out, aside);
		die("%s: cannot rename %s into place: %s", out, work, strerror(e));
	}
	cli_atdie_remove(remove_work, (void *)work);
	if (aside) {
		remove_dir_files(aside, NULL, 1);
		free(aside);
	}
}

int cmd_export(int argc, char **argv)
{
	const char *out = NULL, *dtype = "f32";
	int force = 0;
	enum { OPT_DTYPE = 256 };
	static const struct option opts[] = {
		{ "output", required_argument, 0, 'o' }, { "dtype", required_argument, 0, OPT_DTYPE },
		{ "force", no_argument, 0, 'f' },         { "help", no_argument, 0, 'h' },
		{ "version", no_argument, 0, 'V' },       { 0, 0, 0, 0 },
	};
	int ch;
	optind = 1;
	while ((ch = cli_getopt(argc, argv, "o:fhV", opts, "export")) != -1) {
		switch (ch) {
		case 'o': out = optarg; break;
		case OPT_DTYPE: dtype = optarg; break;
		case 'f': force = 1; break;
		case 'h':
			printf("usage: bonsai-train export RUN|CHECKPOINT|MODEL -o DIR [--dtype f32|bf16] [-f]\n"
			       "Writes the Hugging Face set into DIR: config.json, model.safetensors\n"
			       "(transformers' names), the tokenizer kept beside the model (tokenizer.json,\n"
			       "or the .tiktoken file and a tokenizer.json derived from it),\n"
			       "tokenizer_config.json, generation_config.json.\n"
			       "  -o, --output DIR  the folder to write (built beside it, renamed when whole)\n"
			       "      --dtype T     f32 (default) or bf16 (rounded to nearest even)\n"
			       "  -f, --force       replace an existing, non-empty DIR (not a run folder)\n"
			       "  -h, --help, -V, --version\n");
			return 0;
		case 'V': print_version(); return 0;
		}
	}
	if (optind + 1 != argc)
		die_usage("export: expected one run directory or checkpoint");
	if (!out)
		die_usage("export: -o DIR is required");
	int bf16 = 0;
	if (!strcmp(dtype, "bf16") || !strcmp(dtype, "bfloat16"))
		bf16 = 1;
	else if (strcmp(dtype, "f32") && strcmp(dtype, "fp32") && strcmp(dtype, "float32"))
		die_usage("export: --dtype %s: give f32 or bf16", dtype);
	const char *model = argv[optind];
	check_replaceable(out, force);

	/* a signal stops it before the rename, through the cleanup */
	cli_catch_signals();
	char err[1024];
	gemma3_model *m = gemma3_model_open(model, err, sizeof err);
	if (!m)
		die("%s", err);
	const gemma3_config *c = gemma3_model_config(m);
	safetensors *f;
	if (gemma3_state_file(model, &f, err, sizeof err))
		die("%s", err);

	size_t n = strlen(out);
	while (n > 1 && out[n - 1] == '/')
		n--;
	char *work = xmalloc(n + 32);
	snprintf(work, n + 32, "%.*s.tmp-%ld", (int)n, out, (long)getpid());
	mkdirs_above(work);
	if (mkdir(work, 0777) != 0)
		die("%s: cannot create directory: %s", work, strerror(errno));
	cli_atdie(remove_work, work);
	if (gemma3_save_dir(work, c, gemma3_model_params(m), f ? st_meta(f, "state") : NULL, bf16, err,
			    sizeof err))
		die("%s", err);
	put_generation_config(work, c);
	put_tokenizer(model, work, f, c);
	cli_check_interrupt();
	commit(work, out, force);
	if (f)
		st_close(f);
	free(work);
	gemma3_model_free(m);
	return 0;
}
