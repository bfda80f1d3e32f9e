/* bonsai-report: the report of a make-run folder (report.md, report.html). */
#include "report.h"

#include "cli.h"
#include "xio.h"

#include <getopt.h>
#include <math.h>
#include <stdio.h>

static void usage(void)
{
	printf("usage: bonsai-report [--html] [--peak-flops X] [-o FILE [-f]] RUN_DIR\n"
	       "       bonsai-report --steady-rate METRICS\n"
	       "\n"
	       "The results of a make run folder (runs-out/NAME) as Markdown, or HTML with\n"
	       "its plots inline: validation loss, perplexity and zero-shot accuracies\n"
	       "beside the seed experiment's published figures, tokens seen, tokens/s\n"
	       "(steady: the median of the steps after the first, whose time holds the\n"
	       "start-up; and over all steps), MFU (steady), GPU hours, the documents each\n"
	       "filter rule dropped, per benchmark the items the training documents held\n"
	       "(bonsai-filter --decontaminate), the wall time of each stage and links to\n"
	       "the artefacts. Every figure is read from RUN_DIR.\n"
	       "\n"
	       "      --html          HTML instead of Markdown\n"
	       "      --peak-flops X  peak FLOP/s of the GPU for the MFU (default: known for\n"
	       "                      H100, H200, A100, L40S from repro/environment.txt)\n"
	       "  -o, --output FILE   write to FILE (complete or not at all); default stdout\n"
	       "  -f, --force         replace an existing FILE (else it is refused)\n"
	       "      --steady-rate METRICS\n"
	       "                      print the steady tokens/s of bonsai-train's METRICS\n"
	       "                      file, as the report figures it, and exit (make run's\n"
	       "                      burst estimate); fewer than two timed steps: exit 1\n"
	       "  -h, --help          this help\n"
	       "  -V, --version       version\n");
}

/* --steady-rate: the figure alone, for a script (mk/train.sh) */
static int steady_rate(const char *metrics, int operands)
{
	if (operands)
		die_usage("--steady-rate reads its METRICS file alone: no run folder");
	double rate = report_steady_rate(metrics);
	if (isnan(rate))
		die("%s: fewer than two timed steps, no steady rate (the first one's time holds the "
		    "start-up)", metrics);
	printf("%.1f\n", rate);
	xfflush(stdout, "stdout");
	return 0;
}

int main(int argc, char **argv)
{
	cli_init(argv[0]);
	enum { OPT_HTML = 256, OPT_PEAK, OPT_STEADY };
	static const struct option opts[] = {
		{ "html", no_argument, 0, OPT_HTML }, { "peak-flops", required_argument, 0, OPT_PEAK },
		{ "steady-rate", required_argument, 0, OPT_STEADY },
		{ "output", required_argument, 0, 'o' }, { "force", no_argument, 0, 'f' },
		{ "help", no_argument, 0, 'h' },
		{ "version", no_argument, 0, 'V' }, { 0, 0, 0, 0 },
	};
	int html = 0, force = 0, c;
	double peak = 0;
	const char *output = NULL, *metrics = NULL;
	while ((c = cli_getopt(argc, argv, "o:fhV", opts, NULL)) != -1) {
		switch (c) {
		case OPT_HTML: html = 1; break;
		case OPT_PEAK: peak = parse_double("--peak-flops", optarg, 1, 1e20); break;
		case OPT_STEADY: metrics = optarg; break;
		case 'o': output = optarg; break;
		case 'f': force = 1; break;
		case 'h': usage(); return 0;
		case 'V': print_version(); return 0;
		}
	}
	if (metrics)
		return steady_rate(metrics, argc - optind);
	if (optind != argc - 1)
		die_usage("give one run folder (runs-out/NAME)");
	output_check(output, force);
	report r;
	report_read(&r, argv[optind], peak);
	buf_t b = { 0 };
	report_render(&r, html, &b);
	outfile *o = outfile_open(output);
	outfile_write(o, b.data, b.len);
	outfile_commit(o);
	buf_free(&b);
	report_free(&r);
	return 0;
}
