/* bonsai-fetch - parquet files (local, by URL, or a Hugging Face dataset)
 * to JSON Lines documents. See bonsai-fetch(1). */
#include "cli.h"
#include "evaldir.h"
#include "hfcache.h"
#include "buf.h"
#include "xio.h"
#include "progress.h"
#include "pq_read.h"
#include "pq_json.h"
#include "http.h"
#include "hub.h"
#include "evalsets.h"

#include <getopt.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static void usage(FILE *fp)
{
	fprintf(fp,
"usage: bonsai-fetch [options] SOURCE...\n"
"       bonsai-fetch --model ID [--revision REV] [options]\n"
"       bonsai-fetch --eval LIST [--eval-dir DIR] [options]\n"
"\n"
"Writes the rows of parquet files as JSON Lines, one object per row.\n"
"A SOURCE is a local .parquet file, an http(s):// URL of one, or a Hugging\n"
"Face dataset name (owner/name), whose files are listed through the Hub API.\n"
"\n"
"  -o, --output FILE     write to FILE (complete or not at all); default stdout\n"
"  -f, --force           replace an existing FILE (else it is refused)\n"
"      --columns LIST    comma-separated columns, in this order (default: all)\n"
"  -n, --max-docs N      stop after N rows; reads only the row groups needed,\n"
"                        with HTTP range requests for remote files\n"
"  -c, --config NAME     dataset configuration: sample-10BT -> sample/10BT,\n"
"                        CC-MAIN-... -> data/CC-MAIN-..., or a directory\n"
"      --revision REV    dataset or model revision (default main)\n"
"  -j, --jobs N          parallel downloads (default 4)\n"
"      --cache DIR       the Hugging Face Hub cache to reuse and fill (default\n"
"                        $HF_HUB_CACHE, else $HF_HOME/hub, else\n"
"                        ~/.cache/huggingface/hub)\n"
"      --retries N       retries of a failing transfer (default 8)\n"
"      --backoff SEC     wait before the first retry, doubled each time (default 1)\n"
"      --timeout SEC     retry a transfer slower than --min-rate this long\n"
"                        (default 60)\n"
"      --min-rate BYTES  the lowest rate a transfer may keep up for --timeout\n"
"                        seconds (default 1k; k, M suffixes)\n"
"      --list            print the dataset's files (path, size, sha256) and stop\n"
"                        (-c, --revision, --list and --file: datasets only)\n"
"      --file NAME       of a dataset, only the file whose path is NAME or ends\n"
"                        in /NAME (one of --list's paths)\n"
"      --model ID        download a model (its *.json, *.safetensors,\n"
"                        *.tiktoken, tokenizer.model) into the Hub cache and\n"
"                        print its folder, which -m and --init of the other\n"
"                        tools then find by ID\n"
"      --eval LIST       download evaluation sets instead: piqa, hellaswag,\n"
"                        arc_easy, arc_challenge or all (comma-separated), from\n"
"                        their publishers, checked against pinned sha256 hashes\n"
"                        and item counts; prints \"SHA256  PATH\" per file\n"
"      --eval-dir DIR    where they go (default: eval/ in --cache if given, else\n"
"                        $BONSAI_EVAL_DIR, else eval/ in the default cache:\n"
"                        where bonsai-eval looks)\n"
"      --eval-base-url URL  a mirror holding piqa/valid.jsonl,\n"
"                        piqa/valid-labels.lst, hellaswag/hellaswag_val.jsonl and\n"
"                        arc/ARC-V1-Feb2018.zip (default $BONSAI_EVAL_BASE_URL,\n"
"                        else the publishers' addresses)\n"
"      --eval-sha256 FILE=SHA256  expect this hash for FILE (e.g.\n"
"                        hellaswag/hellaswag_val.jsonl) instead of the pinned one\n"
"  -q, --quiet           no progress on stderr\n"
"      --progress        progress on stderr even when it is not a terminal\n"
"  -h, --help            this help\n"
"  -V, --version         version\n"
"\n"
"Environment: HF_ENDPOINT (default https://huggingface.co), HF_TOKEN (sent as\n"
"a bearer token to HF_ENDPOINT only; else the token file HF_TOKEN_PATH or\n"
"HF_HOME/token), HF_HUB_OFFLINE=1 (no network: the Hub cache only),\n"
"HF_HUB_CACHE, HF_HOME, BONSAI_CACHE and BONSAI_EVAL_DIR (the evaluation\n"
"sets), BONSAI_EVAL_BASE_URL.\n");
}

typedef struct {
	const char *columns;
	long long remaining;     /* rows still wanted; -1 = all */
	outfile *out;
	long long rows, bytes_in;
	meter m; /* over the parquet bytes */
} job;

/* Converts one parquet source; reads only the row groups needed. Row
 * groups are decoded and formatted in parallel (one per thread, OpenMP)
 * and written in file order. */
static void convert(job *j, pq_source *src)
{
	pq_file f;
	pq_open(&f, src);
	pq_select(&f, j->columns);
	int nt = omp_get_max_threads();
	if (nt < 1)
		nt = 1;
	if (nt > 16)
		nt = 16;
	buf_t *bufs = xcalloc((size_t)nt, sizeof *bufs);
	int64_t *want = xcalloc((size_t)nt, sizeof *want);
	for (int g0 = 0; g0 < f.meta.nrg && j->remaining != 0; g0 += nt) {
		cli_check_interrupt();
		int k = 0;
		for (; k < nt && g0 + k < f.meta.nrg && j->remaining != 0; k++) {
			int64_t rows = f.meta.rgs[g0 + k].num_rows;
			want[k] = j->remaining >= 0 && j->remaining < rows ? j->remaining : rows;
			if (j->remaining > 0)
				j->remaining -= want[k];
		}
		#pragma omp parallel for schedule(dynamic, 1) num_threads(k) if (k > 1)
		for (int t = 0; t < k; t++) {
			int g = g0 + t;
			if (want[t] == 0)
				continue;
			pq_colbuf *cols = xcalloc(f.nsel ? (size_t)f.nsel : 1, sizeof *cols);
			pq_read_rowgroup(&f, g, want[t], cols);
			for (int c = 0; c < f.nsel; c++)
				if (cols[c].n < want[t])
					pq_fail(&f, f.meta.cols[f.sel[c]].name, "row group %d has %lld rows, column has %lld",
						g, (long long)f.meta.rgs[g].num_rows, (long long)cols[c].n);
			pq_json_rows(&bufs[t], &f, cols, 0, want[t]);
			for (int c = 0; c < f.nsel; c++)
				pq_colbuf_free(&cols[c]);
			free(cols);
		}
		for (int t = 0; t < k; t++) {
			if (bufs[t].len)
				outfile_write(j->out, bufs[t].data, bufs[t].len);
			bufs[t].len = 0;
			j->rows += want[t];
		}
		pthread_mutex_lock(&progress_lock);
		double in = (double)j->bytes_in + (double)src->bytes_read;
		progress(0, "%lld rows, %.1f MB of parquet, %.1f MB/s, ETA %s", j->rows, in / 1e6,
			 meter_rate(&j->m, in) / 1e6, meter_eta(&j->m, in));
		pthread_mutex_unlock(&progress_lock);
	}
	for (int t = 0; t < nt; t++)
		buf_free(&bufs[t]);
	free(bufs);
	free(want);
	j->bytes_in += (long long)src->bytes_read;
	pq_close(&f);
}

static int is_url(const char *s)
{
	return strncmp(s, "http://", 7) == 0 || strncmp(s, "https://", 8) == 0;
}

/* The host (and port) part of an endpoint URL, for the token check. */
static char *host_of(const char *url)
{
	const char *h = strstr(url, "://");
	h = h ? h + 3 : url;
	size_t n = strcspn(h, "/?#");
	char *s = xmalloc(n + 1);
	memcpy(s, h, n);
	s[n] = 0;
	return s;
}

/* bonsai-fetch --eval: evaluation sets into bonsai-eval's directory. */
static int fetch_eval(http_opts *ho, const char *list, const char *dir, const char *base,
	const char *cache, char **pins, int npins, int nsources, int parquet_opts, int quiet)
{
	if (nsources > 0)
		die_usage("--eval takes no SOURCE");
	if (parquet_opts)
		die_usage("-o, --columns, --max-docs, --config and --list do not go with --eval");
	evalsets_opts eo = {.pins = pins, .npins = npins, .quiet = quiet};
	evalsets_check_args(list, &eo);
	char *d;
	if (dir)
		d = xstrdup(dir);
	else if (cache) {
		buf_t b = {0};
		buf_printf(&b, "%s/eval", cache);
		buf_cstr(&b);
		d = b.data;
	} else {
		char err[600];
		if (!(d = eval_sets_dir(err, sizeof err)))
			die("%s", err);
	}
	eo.dir = d;
	const char *e = getenv("BONSAI_EVAL_BASE_URL");
	eo.base_url = base && *base ? base : e && *e ? e : NULL;
	if (eo.base_url && !is_url(eo.base_url))
		die_usage("--eval-base-url: '%s' is not an http:// or https:// URL", eo.base_url);
	/* No bearer token leaves for these hosts. */
	ho->token = NULL;
	http_init();
	evalsets_fetch(ho, list, &eo);
	progress_done();
	http_cleanup();
	free(d);
	free(pins);
	return 0;
}

/* --file NAME: moves the one listed file whose path is NAME, or ends in
 * /NAME, to the front and returns 1 (one download and one conversion). */
static int select_file(hub_file *files, int n, const char *name, const char *repo, const char *dir)
{
	size_t ln = strlen(name);
	for (int k = 0; k < n; k++) {
		size_t lp = strlen(files[k].path);
		if (!strcmp(files[k].path, name) ||
		    (lp > ln && files[k].path[lp - ln - 1] == '/' && !strcmp(files[k].path + lp - ln, name))) {
			hub_file t = files[0];
			files[0] = files[k];
			files[k] = t;
			return 1;
		}
	}
	die("%s: no file %s among the %d parquet files of %s", repo, name, n, dir);
}

/* --config, --revision, --list and --file pick within a dataset: given
 * with a file or a URL, they would be ignored, and --list would convert
 * the file instead of listing anything. */
static void dataset_options_check(const char *what, const char *s, const char *config,
	int revision_set, int list, const char *only)
{
	const char *opt = config ? "--config" : revision_set ? "--revision" : list ? "--list" :
		only ? "--file" : NULL;
	if (opt)
		die_usage("%s applies to a dataset name, not to the %s %s", opt, what, s);
}

/* The Hub cache: --cache, else huggingface_hub's default. */
static char *hub_cache(const char *cache)
{
	char err[600];
	char *d = cache ? xstrdup(cache) : hf_hub_cache_dir(err, sizeof err);
	if (!d && err[0])
		die("%s", err);
	if (!d)
		die("no Hub cache directory: set --cache, HF_HUB_CACHE, HF_HOME or HOME");
	return d;
}

/* Checked copies of files[0..n), offline: nothing to download them with. */
static void need_cached(const hub_repo *r, const hub_file *files, int n)
{
	for (int k = 0; k < n; k++)
		if (!hub_cached(&files[k]))
			die("offline (HF_HUB_OFFLINE is set): %s %s: %s in the Hub cache (%s) does not match "
				"its hash or size", r->kind, r->repo, files[k].path, files[k].snap_path);
}

/* A model of only pytorch_model.bin (or another format left out) gives a
 * folder of JSON files that -m and --init refuse much later; a tokenizer's
 * own repository is fetched so on purpose, so this is said, not refused. */
static void warn_no_weights(const hub_repo *r, const hub_file *files, int n)
{
	for (int k = 0; k < n; k++) {
		size_t l = strlen(files[k].path);
		if (l >= 12 && !strcmp(files[k].path + l - 12, ".safetensors"))
			return;
	}
	warnx_("warning: %s at revision '%s' has no *.safetensors file: its folder holds no weights that "
		"bonsai-eval -m, bonsai-generate -m or bonsai-train --init can read (other formats, such as "
		"pytorch_model.bin, are not downloaded)", r->repo, r->revision);
}

/* bonsai-fetch --model ID: the model's files into the Hub cache; prints
 * the snapshot folder. */
static int fetch_model(http_opts *ho, const char *id, const char *ep, const char *revision,
	const char *cache, int jobs, int nsources, int parquet_opts)
{
	if (nsources > 0)
		die_usage("--model takes no SOURCE");
	if (parquet_opts)
		die_usage("-o, --columns, --max-docs, --config, --list and --file do not go with --model");
	if (!hf_repo_id_ok(id))
		die_usage("--model: '%s' is not a Hub model id (owner/name)", id);
	char *c = hub_cache(cache);
	hub_repo r = {.endpoint = ep, .kind = "models", .repo = id, .revision = revision, .cache = c};
	int n;
	hub_file *files;
	if (hf_offline()) {
		hub_resolve_cached(&r);
		files = hub_list_cached(&r, "", hub_model_file, &n);
		need_cached(&r, files, n);
	} else {
		http_init();
		hub_resolve(ho, &r);
		files = hub_list(ho, &r, "", hub_model_file, &n);
		hub_downloads *d = hub_download_start(ho, files, n, jobs);
		for (int k = 0; k < n; k++)
			hub_wait(d, k);
		hub_download_finish(d);
		progress_done();
		http_cleanup();
	}
	warn_no_weights(&r, files, n);
	printf("%s/snapshots/%s\n", r.dir, r.commit);
	if (fflush(stdout) != 0 || ferror(stdout))
		die("stdout: write error");
	hub_files_free(files, n);
	hub_repo_free(&r);
	free(c);
	return 0;
}

int main(int argc, char **argv)
{
	cli_init(argv[0]);
	enum { OPT_COLUMNS = 256, OPT_REVISION, OPT_CACHE, OPT_RETRIES, OPT_BACKOFF,
		OPT_TIMEOUT, OPT_MIN_RATE, OPT_PROGRESS, OPT_LIST, OPT_EVAL, OPT_EVAL_DIR, OPT_EVAL_BASE_URL,
		OPT_EVAL_SHA256, OPT_FILE, OPT_MODEL };
	static const struct option opts[] = {
		{"output", required_argument, 0, 'o'},
		{"columns", required_argument, 0, OPT_COLUMNS},
		{"max-docs", required_argument, 0, 'n'},
		{"config", required_argument, 0, 'c'},
		{"revision", required_argument, 0, OPT_REVISION},
		{"jobs", required_argument, 0, 'j'},
		{"cache", required_argument, 0, OPT_CACHE},
		{"retries", required_argument, 0, OPT_RETRIES},
		{"backoff", required_argument, 0, OPT_BACKOFF},
		{"timeout", required_argument, 0, OPT_TIMEOUT},
		{"min-rate", required_argument, 0, OPT_MIN_RATE},
		{"list", no_argument, 0, OPT_LIST},
		{"file", required_argument, 0, OPT_FILE},
		{"model", required_argument, 0, OPT_MODEL},
		{"eval", required_argument, 0, OPT_EVAL},
		{"eval-dir", required_argument, 0, OPT_EVAL_DIR},
		{"eval-base-url", required_argument, 0, OPT_EVAL_BASE_URL},
		{"eval-sha256", required_argument, 0, OPT_EVAL_SHA256},
		{"force", no_argument, 0, 'f'},
		{"quiet", no_argument, 0, 'q'},
		{"progress", no_argument, 0, OPT_PROGRESS},
		{"help", no_argument, 0, 'h'},
		{"version", no_argument, 0, 'V'},
		{0, 0, 0, 0},
	};
	const char *output = NULL, *config = NULL, *revision = "main", *cache = NULL, *only = NULL;
	int jobs = 4, list = 0, revision_set = 0;
	http_opts ho = {.retries = 8, .backoff = 1.0, .stall_timeout = 60, .min_rate = 1024};
	job j = {.remaining = -1};
	const char *eval_list = NULL, *eval_dir = NULL, *eval_base = NULL, *model = NULL;
	char **pins = NULL;
	int npins = 0, parquet_opts = 0, quiet = 0, force = 0;
	int c;
	while ((c = cli_getopt(argc, argv, "o:n:c:j:fqhV", opts, NULL)) != -1) {
		switch (c) {
		case 'o': output = optarg; parquet_opts = 1; break;
		case OPT_COLUMNS:
			if (!*optarg)
				die_usage("--columns: empty list");
			j.columns = optarg;
			parquet_opts = 1;
			break;
		case 'n':
			j.remaining = parse_ll("--max-docs", optarg, 0, INT64_MAX);
			parquet_opts = 1;
			break;
		case 'c': config = optarg; parquet_opts = 1; break;
		case OPT_REVISION: revision = optarg; revision_set = 1; break;
		case 'j': jobs = (int)parse_ll("--jobs", optarg, 1, 64); break;
		case OPT_CACHE: cache = optarg; break;
		case OPT_RETRIES: ho.retries = (int)parse_ll("--retries", optarg, 0, 100); break;
		case OPT_BACKOFF: ho.backoff = parse_double("--backoff", optarg, 0, 60); break;
		case OPT_TIMEOUT: ho.stall_timeout = (long)parse_ll("--timeout", optarg, 1, 3600); break;
		case OPT_MIN_RATE: ho.min_rate = (long)parse_size("--min-rate", optarg, 1, 1LL << 30); break;
		case OPT_LIST: list = 1; parquet_opts = 1; break;
		case OPT_FILE:
			if (!*optarg)
				die_usage("--file: empty name");
			only = optarg;
			parquet_opts = 1;
			break;
		case OPT_EVAL:
			if (!*optarg)
				die_usage("--eval: empty list");
			eval_list = optarg;
			break;
		case OPT_MODEL: model = optarg; break;
		case OPT_EVAL_DIR: eval_dir = optarg; break;
		case OPT_EVAL_BASE_URL: eval_base = optarg; break;
		case OPT_EVAL_SHA256:
			pins = xreallocarray(pins, (size_t)npins + 1, sizeof *pins);
			pins[npins++] = optarg;
			break;
		case 'f': force = 1; break;
		case 'q':
			progress_set(PROGRESS_OFF);
			quiet = 1;
			break;
		case OPT_PROGRESS: progress_set(PROGRESS_ON); break;
		case 'h': usage(stdout); return 0;
		case 'V': print_version(); return 0;
		}
	}
	for (const char *p = revision; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		      strchr("-._/", *p)))
			die_usage("--revision: unexpected character in '%s'", revision);
	if (!*revision || revision[0] == '/' || strstr(revision, ".."))
		die_usage("--revision: '%s' is not a revision", revision);
	/* before anything is downloaded into them */
	if (cache)
		dir_expected(cache, "--cache names a folder");
	if (eval_dir)
		dir_expected(eval_dir, "--eval-dir names the folder of the eval sets");
	/* SIGINT and SIGTERM end transfers and conversion through die(), so
	 * that no temporary output (-o FILE.tmp.XXXXXX) is left behind. */
	cli_catch_signals();
	if (eval_list && model)
		die_usage("--model and --eval are separate runs");
	if (eval_list)
		return fetch_eval(&ho, eval_list, eval_dir, eval_base, cache, pins, npins,
			argc - optind, parquet_opts, quiet);
	if (eval_dir || eval_base || npins)
		die_usage("--eval-dir, --eval-base-url and --eval-sha256 go with --eval");
	const char *endpoint = getenv("HF_ENDPOINT");
	if (!endpoint || !*endpoint)
		endpoint = "https://huggingface.co";
	char *ep = xstrdup(endpoint);
	while (strlen(ep) > 1 && ep[strlen(ep) - 1] == '/')
		ep[strlen(ep) - 1] = 0;
	char *token_host = host_of(ep);
	char terr[600];
	char *token = hf_token(terr, sizeof terr);
	if (!token && terr[0])
		die("the Hugging Face token file: %s", terr);
	ho.token = token;
	ho.token_host = token_host;
	int offline = hf_offline();
	if (model) {
		int rc = fetch_model(&ho, model, ep, revision, cache, jobs, argc - optind, parquet_opts);
		free(token);
		free(token_host);
		free(ep);
		return rc;
	}

	if (list && (j.columns || j.remaining >= 0))
		die_usage("--list prints the dataset's files, not rows: --columns and --max-docs do not go with it");
	if (optind >= argc)
		die_usage("no SOURCE given (a .parquet file, a URL, or a dataset such as HuggingFaceFW/fineweb-edu)");
	output_check(output, force);
	/* Sort the sources out before any output. */
	int need_http = 0;
	for (int i = optind; i < argc; i++) {
		const char *s = argv[i];
		struct stat st;
		if (is_url(s)) {
			dataset_options_check("URL", s, config, revision_set, list, only);
			if (offline)
				die("offline (HF_HUB_OFFLINE is set): cannot read the URL %s", s);
			need_http = 1;
		} else if (stat(s, &st) == 0) {
			dataset_options_check("file", s, config, revision_set, list, only);
		} else if (strstr(s, ".parquet") || s[0] == '.' || s[0] == '/') {
			die_at(s, 0, "no such file");
		} else if (hf_repo_id_ok(s)) {
			need_http = !offline;
		} else {
			die_usage("'%s' is not a file, a URL or a dataset name (owner/name)", s);
		}
	}
	if (need_http)
		http_init();
	char *cache_dir = NULL;

	/* the time left is known when every source is a local file read whole */
	meter_start(&j.m, j.remaining < 0 ? files_size(argv + optind, argc - optind) : 0);
	j.out = outfile_open(output);
	for (int i = optind; i < argc && j.remaining != 0; i++) {
		const char *s = argv[i];
		struct stat st;
		if (is_url(s)) {
			pq_source *src = pq_source_http(&ho, s, 0);
			convert(&j, src);
			pq_source_close(src);
		} else if (stat(s, &st) == 0) {
			pq_source *src = pq_source_file(s);
			convert(&j, src);
			pq_source_close(src);
		} else {
			if (!cache_dir)
				cache_dir = hub_cache(cache);
			char *dir = hub_config_dir(config ? config : "data");
			hub_repo r = {.endpoint = ep, .kind = "datasets", .repo = s, .revision = revision,
				.cache = cache_dir};
			int n_listed;
			hub_file *files;
			if (offline) {
				hub_resolve_cached(&r);
				files = hub_list_cached(&r, dir, hub_parquet_file, &n_listed);
			} else {
				hub_resolve(&ho, &r);
				files = hub_list(&ho, &r, dir, hub_parquet_file, &n_listed);
			}
			int n = only ? select_file(files, n_listed, only, s, dir) : n_listed;
			if (list) {
				buf_t b = {0};
				for (int k = 0; k < n; k++)
					buf_printf(&b, "%s\t%llu\t%s\n", files[k].path,
						(unsigned long long)files[k].size, files[k].sha256);
				outfile_write(j.out, b.data, b.len);
				buf_free(&b);
			} else if (offline) {
				/* each file checked just before it is read */
				for (int k = 0; k < n && j.remaining != 0; k++) {
					need_cached(&r, &files[k], 1);
					pq_source *src = pq_source_file(files[k].snap_path);
					convert(&j, src);
					pq_source_close(src);
				}
			} else if (j.remaining >= 0) {
				/* A few rows: cached files are read locally, others by range. */
				for (int k = 0; k < n && j.remaining != 0; k++) {
					int cached = hub_cached(&files[k]);
					if (cached)
						hub_link(&files[k]);
					pq_source *src = cached ? pq_source_file(files[k].cache_path) :
						pq_source_http(&ho, files[k].url, files[k].size);
					convert(&j, src);
					pq_source_close(src);
				}
			} else {
				hub_downloads *d = hub_download_start(&ho, files, n, jobs);
				for (int k = 0; k < n; k++) {
					hub_wait(d, k);
					pq_source *src = pq_source_file(files[k].cache_path);
					convert(&j, src);
					pq_source_close(src);
				}
				hub_download_finish(d);
			}
			hub_repo_free(&r);
			hub_files_free(files, n_listed);
			free(dir);
		}
	}
	pthread_mutex_lock(&progress_lock);
	progress(1, "%lld rows, %.1f MB of parquet read", j.rows, j.bytes_in / 1e6);
	pthread_mutex_unlock(&progress_lock);
	outfile_commit(j.out);
	progress_done();
	free(cache_dir);
	free(ep);
	free(token_host);
	free(token);
	if (need_http)
		http_cleanup();
	return 0;
}
