/* evalsets.h - bonsai-fetch --eval: the official files of the zero-shot
 * tasks bonsai-eval scores (PIQA, HellaSwag, ARC), downloaded from their
 * publishers into the evaluation directory that bonsai-eval reads, each
 * checked against a pinned sha256 and for its structure and item count. */
#ifndef FETCH_EVALSETS_H
#define FETCH_EVALSETS_H

#include <stddef.h>
#include "http.h"

typedef struct {
	const char *dir;        /* the evaluation directory */
	const char *base_url;   /* a mirror with the official files under piqa/, hellaswag/,
	                         * arc/; NULL = the publishers' addresses */
	char **pins;            /* "FILE=SHA256" overrides of the pinned hashes */
	int npins;
	int quiet;
} evalsets_opts;

/* Checks a comma-separated list of set names (usage error if one is
 * unknown) and the pins, before anything is downloaded. */
void evalsets_check_args(const char *list, const evalsets_opts *eo);

/* Installs the sets in list; prints "SHA256  PATH" for each file to
 * stdout (sha256sum -c reads it). Dies on any failure, leaving no
 * unverified file in the directory. */
void evalsets_fetch(const http_opts *o, const char *list, const evalsets_opts *eo);

#endif
