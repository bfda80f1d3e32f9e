/* checkpoint.h - training checkpoints: RUN/ckpt-STEP.safetensors, the
 * format of gemma3.h (params, adam_m, adam_v; config and checksum in the
 * metadata) plus the trainer's state as a JSON string under "state". */
#ifndef BONSAI_TRAIN_CHECKPOINT_H
#define BONSAI_TRAIN_CHECKPOINT_H

#include <stdint.h>

#include "gemma3.h"

typedef struct {
	long step;                 /* completed optimizer steps */
	uint64_t tokens;           /* training tokens consumed */
	uint64_t seed, epoch, index; /* data order and position (data.h) */
	uint64_t fingerprint;      /* tokenizer of the shards */
	int seq, micro_batch;
	long batch_tokens;
	char hparams[512];         /* the schedule and optimizer options, for a
				    * warning when a resume changes them */
} train_state;

/* Writes RUN/ckpt-<step>.safetensors atomically, then removes all but the
 * newest keep checkpoints (keep <= 0 keeps all). Returns the path
 * (malloc()ed). */
char *ckpt_save(const char *run, const gemma3_config *c, const float *params, const float *m,
		const float *v, const train_state *s, int keep);
/* Reads a checkpoint; dies with a clear message if it is damaged. params,
 * m and v are malloc()ed. */
void ckpt_load(const char *path, gemma3_config *c, float **params, float **m, float **v,
	       train_state *s);

#endif
