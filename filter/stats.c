/* stats.c - see stats.h. */
#include "stats.h"
#include "buf.h"
#include "cli.h"
#include "decontam.h"
#include "xio.h"

#include <inttypes.h>
#include <stdlib.h>

const char *const drop_reason_name[N_DROP] = {
	"missing-field", "int-score", "score", "language-score", "lang",
	"invalid-utf8", "too-short", "too-long", "contaminated", "duplicate", "near-duplicate",
};

uint64_t stats_dropped(const filter_stats *st)
{
	uint64_t t = 0;
	for (int i = 0; i < N_DROP; i++)
		t += st->dropped[i];
	return t;
}

void stats_print(const filter_stats *st, FILE *fp)
{
	fprintf(fp, "%s: %" PRIu64 " documents in, %" PRIu64 " kept, %" PRIu64 " dropped",
		cli_progname(), st->docs_in, st->docs_out, stats_dropped(st));
	if (st->bad_lines)
		fprintf(fp, ", %" PRIu64 " bad lines skipped", st->bad_lines);
	fprintf(fp, " (%.1f s)\n", st->seconds);
	if (stats_dropped(st)) {
		fprintf(fp, "%s: dropped:", cli_progname());
		for (int i = 0; i < N_DROP; i++)
			if (st->dropped[i])
				fprintf(fp, " %s %" PRIu64, drop_reason_name[i], st->dropped[i]);
		fputc('\n', fp);
	}
	if (st->utf8_repaired || st->controls_removed || st->nfc_changed)
		fprintf(fp, "%s: changed: utf8-repaired %" PRIu64 ", controls-removed %" PRIu64
			", nfc %" PRIu64 "\n", cli_progname(), st->utf8_repaired,
			st->controls_removed, st->nfc_changed);
	if (st->dc)
		decontam_print(st->dc, st->decontam_cut, st->decontam_cut_on, fp);
}

void stats_write_json(const filter_stats *st, outfile *o)
{
	buf_t b = {0};
	buf_printf(&b, "{\n  \"documents_in\": %" PRIu64 ",\n  \"documents_out\": %" PRIu64
		",\n  \"dropped\": %" PRIu64 ",\n  \"dropped_by_reason\": {",
		st->docs_in, st->docs_out, stats_dropped(st));
	for (int i = 0; i < N_DROP; i++)
		buf_printf(&b, "%s\n    \"%s\": %" PRIu64, i ? "," : "", drop_reason_name[i],
			st->dropped[i]);
	buf_printf(&b, "\n  },\n  \"bad_lines\": %" PRIu64 ",\n  \"blank_lines\": %" PRIu64
		",\n  \"utf8_repaired\": %" PRIu64 ",\n  \"controls_removed\": %" PRIu64
		",\n  \"nfc_changed\": %" PRIu64 ",\n  \"bytes_in\": %" PRIu64
		",\n  \"bytes_out\": %" PRIu64 ",\n  \"dedup_table_bytes\": %" PRIu64
		",\n  \"seconds\": %.3f",
		st->bad_lines, st->blank_lines, st->utf8_repaired, st->controls_removed,
		st->nfc_changed, st->bytes_in, st->bytes_out, st->dedup_bytes, st->seconds);
	if (st->dc) {
		buf_puts(&b, ",\n  \"decontamination\": ");
		decontam_json(st->dc, st->dropped[DROP_CONTAMINATED], st->decontam_cut,
			st->decontam_cut_on, &b);
	}
	buf_puts(&b, "\n}\n");
	outfile_write(o, b.data, b.len);
	outfile_commit(o);
	buf_free(&b);
}
