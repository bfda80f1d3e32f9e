/* generate_main.c - bonsai-generate: text from a Gemma 3 model, one token
 * at a time through the KV cache, written to stdout as it is made. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "buf.h"
#include "cli.h"
#include "hfcache.h"
#include "lm.h"
#include "sample.h"
#include "xio.h"

static void usage(FILE *f)
{
	fprintf(f,
"usage: bonsai-generate -m MODEL [-t TOKENIZER] [--prompt TEXT | --prompt-file FILE]\n"
"                       [-n N] [--temperature T] [--top-k K] [--top-p P] [--seed S]\n"
"                       [--device cpu|cuda]\n"
"\n"
"Writes the prompt and then its continuation to stdout, token by token.\n"
"\n"
"options:\n"
"  -m, --model PATH       run directory, checkpoint, exported/HF directory, or\n"
"                         a Hub model id in the Hub cache (bonsai-fetch --model)\n"
"  -t, --tokenizer PATH   tokenizer.json or .tiktoken (default: next to the model)\n"
"  -p, --prompt TEXT      the text to continue (default: none, just BOS)\n"
"  -f, --prompt-file FILE read the prompt from FILE (- for stdin)\n"
"  -n, --max-new-tokens N tokens to generate at most (default 256)\n"
"      --temperature T    sampling temperature; 0 = greedy (default 1)\n"
"      --top-k K          sample among the K most likely tokens (0 = all)\n"
"      --top-p P          sample among the most likely tokens whose\n"
"                         probability sums to P (default 1 = all)\n"
"      --seed S           random seed (default: from the clock; printed with -v)\n"
"      --bos ID           BOS token id (default the model's); --no-bos for none\n"
"      --no-echo          write only the generated text, not the prompt\n"
"      --ids              write token ids, one a line, instead of text\n"
"      --ignore-eos       keep going past EOS\n"
"      --device D         cpu or cuda (default: $BONSAI_DEVICE, else cuda when\n"
"                         a usable GPU is found, else cpu)\n"
"  -j, --threads N        CPU threads (default all)\n"
"  -v, --verbose          seed and speed on stderr\n"
"  -q, --quiet            nothing on stderr but errors\n"
"  -h, --help             this help\n"
"  -V, --version          version\n");
}

/* Whether to generate on the GPU: device "cpu", "cuda" (then a GPU that
 * cannot take the model is an error) or NULL (the GPU when one works, as
 * bonsai-eval decides). len: the positions of the KV cache. */
static int use_gpu(eval_lm *lm, const char *device, int len, int quiet)
{
	char why[512];
	if (device && !strcmp(device, "cpu"))
		return 0;
	if (!eval_gpu_probe(why, sizeof why)) {
		if (device)
			die("--device cuda: %s", why);
		return 0;
	}
	if (eval_lm_gpu_open_decoder(lm, len, why, sizeof why)) {
		if (device)
			die("--device cuda: %s", why);
		if (!quiet)
			warnx_("note: generating on the CPU: %s", why);
		return 0;
	}
	if (!quiet)
		warnx_("generating on %s (bf16)", lm->gpu_name);
	return 1;
}

int main(int argc, char **argv)
{
	cli_init(argv[0]);
	cli_catch_signals();
	enum { O_TEMP = 256, O_TOPK, O_TOPP, O_SEED, O_BOS, O_NO_BOS, O_NO_ECHO, O_IDS,
	       O_IGNORE_EOS, O_DEVICE };
	static const struct option longopts[] = {
		{"model", required_argument, 0, 'm'},
		{"tokenizer", required_argument, 0, 't'},
		{"prompt", required_argument, 0, 'p'},
		{"prompt-file", required_argument, 0, 'f'},
		{"max-new-tokens", required_argument, 0, 'n'},
		{"temperature", required_argument, 0, O_TEMP},
		{"top-k", required_argument, 0, O_TOPK},
		{"top-p", required_argument, 0, O_TOPP},
		{"seed", required_argument, 0, O_SEED},
		{"bos", required_argument, 0, O_BOS},
		{"no-bos", no_argument, 0, O_NO_BOS},
		{"no-echo", no_argument, 0, O_NO_ECHO},
		{"ids", no_argument, 0, O_IDS},
		{"ignore-eos", no_argument, 0, O_IGNORE_EOS},
		{"device", required_argument, 0, O_DEVICE},
		{"threads", required_argument, 0, 'j'},
		{"verbose", no_argument, 0, 'v'},
		{"quiet", no_argument, 0, 'q'},
		{"help", no_argument, 0, 'h'},
		{"version", no_argument, 0, 'V'},
		{0, 0, 0, 0}};
	const char *model = NULL, *tok_path = NULL, *prompt = NULL, *prompt_file = NULL;
	const char *device = NULL;
	long max_new = 256;
	sampler_opts so = {1.0f, 0, 1.0f};
	uint64_t seed = 0;
	int have_seed = 0, echo = 1, ids = 0, ignore_eos = 0, verbose = 0, quiet = 0, c;
	int32_t bos = -2;
	while ((c = cli_getopt(argc, argv, "m:t:p:f:n:j:vqhV", longopts, NULL)) != -1) {
		switch (c) {
		case 'm': model = optarg; break;
		case 't': tok_path = optarg; break;
		case 'p': prompt = optarg; break;
		case 'f': prompt_file = optarg; break;
		case 'n': max_new = (long)parse_ll("--max-new-tokens", optarg, 0, 1L << 30); break;
		case O_TEMP: so.temperature = (float)parse_double("--temperature", optarg, 0, 1e6); break;
		case O_TOPK: so.top_k = (int)parse_ll("--top-k", optarg, 0, 1 << 30); break;
		case O_TOPP: so.top_p = (float)parse_double("--top-p", optarg, 1e-9, 1); break;
		case O_SEED:
			seed = (uint64_t)parse_ll("--seed", optarg, 0, INT64_MAX);
			have_seed = 1;
			break;
		case O_BOS: bos = (int32_t)parse_ll("--bos", optarg, 0, INT32_MAX); break;
		case O_NO_BOS: bos = -1; break;
		case O_NO_ECHO: echo = 0; break;
		case O_IDS: ids = 1; break;
		case O_IGNORE_EOS: ignore_eos = 1; break;
		case O_DEVICE: device = optarg; break;
		case 'j': {
			int n = (int)parse_ll("--threads", optarg, 1, 4096);
#ifdef _OPENMP
			omp_set_num_threads(n);
#else
			(void)n;
#endif
			break;
		}
		/* the last of -v and -q counts (an alias's -q overridden) */
		case 'v': verbose = 1, quiet = 0; break;
		case 'q': quiet = 1, verbose = 0; break;
		case 'h': usage(stdout); return 0;
		case 'V': print_version(); return 0;
		}
	}
	if (optind < argc)
		die_usage("unexpected argument: %s", argv[optind]);
	if (!model)
		die_usage("no model: name one with -m");
	/* a Hub id (google/gemma-3-270m) stands for its folder in the Hub cache */
	char merr[1024];
	char *model_path = hf_model_path(model, merr, sizeof merr);
	if (!model_path)
		die("%s", merr);
	model = model_path;
	if (prompt && prompt_file)
		die_usage("--prompt and --prompt-file exclude each other");
	device = cli_device(device); /* NULL: the GPU when one works */
	if (!have_seed) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		seed = ((uint64_t)ts.tv_sec * 1000000007ULL) ^ (uint64_t)ts.tv_nsec ^
		       ((uint64_t)getpid() << 32);
		seed &= INT64_MAX;
	}

	char *ptext = NULL;
	size_t plen = 0;
	if (prompt_file)
		ptext = read_file(prompt_file, &plen);
	else if (prompt)
		plen = strlen(ptext = xstrdup(prompt));
	else
		ptext = xstrdup("");

	eval_lm lm;
	eval_lm_open(&lm, model, tok_path, 1, bos);
	const int V = lm.cfg->vocab_size, maxpos = lm.cfg->max_position_embeddings;
	uint32_t *pids = NULL;
	size_t np = 0, pcap = 0;
	eval_lm_encode(&lm, ptext, plen, &pids, &np, &pcap);
	size_t n_in = np + (lm.bos >= 0);
	if (n_in == 0)
		die_usage("an empty prompt needs a BOS token to start from (--bos ID)");
	if (n_in >= (size_t)maxpos)
		die("the prompt is %zu tokens; the model takes at most %d", n_in, maxpos);
	long room = maxpos - (long)n_in;
	if (max_new > room) {
		if (!quiet)
			warnx_("generating at most %ld tokens: the model has %d positions", room,
			       maxpos);
		max_new = room;
	}

	int len = (int)(n_in + (size_t)max_new);
	int on_gpu = use_gpu(&lm, device, len, quiet);
	char err[512];
	gemma3_kv *kv = NULL;
	if (!on_gpu && !(kv = gemma3_kv_new(lm.model, len, err, sizeof err)))
		die("%s", err);
	float *logits = xmalloc((size_t)V * sizeof *logits);
	int32_t *in = xmalloc(n_in * sizeof *in);
	size_t pos = 0;
	if (lm.bos >= 0)
		in[pos++] = lm.bos;
	for (size_t i = 0; i < np; i++)
		in[pos++] = (int32_t)pids[i];
	buf_t out = {0};
	utf8_stream u = {0};
	if (echo && !ids) {
		buf_append(&out, ptext, plen);
		xfwrite(out.data, out.len, stdout, "stdout");
		xfflush(stdout, "stdout");
	}
	double t0 = now_seconds();
	if (on_gpu) {
		eval_lm_gpu_decode(&lm, in, (int)n_in, 0, logits);
	} else {
		/* the prompt one token at a time: minutes for a long prompt and
		 * a larger model, which Ctrl-C must be able to stop */
		for (size_t i = 0; i < n_in; i++) {
			if (gemma3_decode_step(lm.model, kv, in[i], logits, err, sizeof err))
				die("%s", err);
			cli_check_interrupt();
		}
	}
	double t1 = now_seconds();

	rng_t rng;
	rng_seed(&rng, seed);
	sampler smp = {0};
	long made = 0;
	char piece[512];
	for (; made < max_new; made++) {
		int next = sample_token(&smp, logits, V, &so, &rng);
		if (next == lm.eos && !ignore_eos)
			break;
		out.len = 0;
		if (ids) {
			buf_printf(&out, "%d\n", next);
		} else if ((uint32_t)next < tokenizer_vocab_size(lm.tok)) {
			long k = tokenizer_token_bytes(lm.tok, (uint32_t)next, piece, sizeof piece, err,
						       sizeof err);
			if (k < 0)
				die("%s", err);
			utf8_stream_feed(&u, piece, (size_t)k, &out);
		} /* ids beyond the tokenizer (padding rows of the embedding) print nothing */
		if (out.len) {
			xfwrite(out.data, out.len, stdout, "stdout");
			xfflush(stdout, "stdout");
		}
		if (made + 1 < max_new) {
			if (on_gpu)
				eval_lm_gpu_decode(&lm, &next, 1, (int)pos, logits);
			else if (gemma3_decode_step(lm.model, kv, next, logits, err, sizeof err))
				die("%s", err);
			pos++;
		}
		cli_check_interrupt();
	}
	out.len = 0;
	utf8_stream_finish(&u, &out);
	if (!ids && isatty(STDOUT_FILENO))
		buf_putc(&out, '\n');
	xfwrite(out.data, out.len, stdout, "stdout");
	xfflush(stdout, "stdout");
	double t2 = now_seconds();
	if (verbose)
		warnx_("seed %llu; prompt %zu tokens in %.2f s; %ld tokens in %.2f s (%.1f tokens/s)",
		       (unsigned long long)seed, n_in, t1 - t0, made, t2 - t1,
		       made / (t2 - t1 > 0 ? t2 - t1 : 1e-9));

	buf_free(&out);
	sampler_free(&smp);
	free(logits);
	free(in);
	free(pids);
	free(ptext);
	if (kv)
		gemma3_kv_free(kv);
	eval_lm_close(&lm);
	free(model_path);
	return 0;
}
