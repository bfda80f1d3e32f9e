/* gemma3_checkpoint.h - bonsai-train checkpoints: the one place that
 * knows their format (bonsai-formats(5)), for the trainer (save, resume,
 * pruning) and the readers (eval, generate, export, --init).
 *
 * A checkpoint is a safetensors file RUN/ckpt-STEP.safetensors with the
 * tensors params, adam_m, adam_v (float32 [num_params]) and the metadata
 *   format           GEMMA3_CKPT_FORMAT
 *   config           the model's config.json text
 *   state            the trainer's state (JSON, gemma3_train_state)
 *   checksum         XXH64 of the data section, 16 hex digits
 *   header_checksum  XXH64 of format, config, state, checksum and the
 *                    three tensors' dtype, shape and offsets
 * Checkpoints of format "bonsai-checkpoint-1" (before header_checksum)
 * are read with a warning that their config and state are unchecked. */
#ifndef BONSAI_GEMMA3_CHECKPOINT_H
#define BONSAI_GEMMA3_CHECKPOINT_H

#include <stddef.h>
#include <stdint.h>

#include "gemma3.h"
#include "safetensors.h"

#define GEMMA3_CKPT_FORMAT "bonsai-checkpoint-2"

typedef struct {
	long step;                 /* completed optimizer steps */
	uint64_t tokens;           /* training tokens consumed */
	uint64_t seed, epoch, index; /* data order and position (train/data.h) */
	uint64_t fingerprint;      /* tokenizer of the shards */
	int seq, micro_batch;
	long batch_tokens;
	char hparams[512];         /* the schedule and optimizer options, for a
				    * warning when a resume changes them */
} gemma3_train_state;

/* Writes RUN/ckpt-<step>.safetensors atomically, then removes all but the
 * newest keep checkpoints (keep <= 0 keeps all; a file that cannot be
 * removed is a warning). Returns the path (malloc()ed), or NULL with a
 * message on a write error or when out of memory (running out while
 * removing the old ones comes after the new one is saved). */
char *gemma3_checkpoint_save(const char *run, const gemma3_config *c, const float *params,
			     const float *m, const float *v, const gemma3_train_state *s, int keep,
			     char *err, size_t errlen);
/* Reads a whole checkpoint for a resume: params, m and v are malloc()ed.
 * Returns 0, or -1 with "PATH: what is wrong" in err. */
int gemma3_checkpoint_load(const char *path, gemma3_config *c, float **params, float **m,
			   float **v, gemma3_train_state *s, char *err, size_t errlen);
/* Opens a checkpoint and checks format, header checksum, data checksum,
 * config and the params tensor; returns NULL with a message on any
 * problem. */
safetensors *gemma3_checkpoint_open(const char *path, gemma3_config *c, char *err, size_t errlen);
/* The training state of an opened file, its header checksum checked (not
 * the data's: cheap). Returns 0, or -1 with a message. */
int gemma3_checkpoint_state(const safetensors *f, gemma3_train_state *s, char *err, size_t errlen);
/* Is this file a bonsai checkpoint (by its metadata)? */
int gemma3_is_checkpoint(const safetensors *f);

/* A run directory's checkpoints are the files named exactly as
 * bonsai-train writes them: ckpt-STEP.safetensors, STEP in decimal and
 * zero-padded to 8 digits (ckpt-00000020.safetensors). Other names, such as
 * a checkpoint's temporary file while it is written
 * (ckpt-00000020.safetensors.tmp.XXXXXX), are not checkpoints. */
typedef struct {
	long step;
	char *name; /* the file name, without the directory */
} gemma3_ckpt;
/* The file name of step's checkpoint (malloc()ed); NULL with a message
 * when out of memory. */
char *gemma3_checkpoint_name(long step, char *err, size_t errlen);
/* 1 and *step when name is a checkpoint's file name, else 0. */
int gemma3_checkpoint_step(const char *name, long *step);
/* The checkpoints in run_dir, oldest (lowest step) first, in *list
 * (malloc()ed); returns their number, 0 also when run_dir cannot be read,
 * or -1 with a message (and *list NULL) when out of memory. Free with
 * gemma3_free_checkpoints. */
long gemma3_list_checkpoints(const char *run_dir, gemma3_ckpt **list, char *err, size_t errlen);
void gemma3_free_checkpoints(gemma3_ckpt *list, size_t n);
/* The path of the checkpoint with the highest step in a run directory in
 * *path (malloc()ed), NULL when there is none; returns 0, or -1 with a
 * message when out of memory. */
int gemma3_latest_checkpoint(const char *run_dir, char **path, char *err, size_t errlen);
/* The file that holds the training state of path, opened in *f: a run
 * directory's newest checkpoint, a checkpoint, or an export's
 * model.safetensors (NULL when there is none or it cannot be read).
 * Returns 0, or -1 with a message when out of memory (also when opening
 * the file ran out). */
int gemma3_state_file(const char *path, safetensors **f, char *err, size_t errlen);
/* The "state" metadata of a checkpoint or an export, without the checks of
 * a checkpoint's header (an export has none). */
int gemma3_state_parse(const safetensors *f, gemma3_train_state *s, char *err, size_t errlen);

#endif
