/* commands.h - the subcommands of bonsai-train. */
#ifndef BONSAI_TRAIN_COMMANDS_H
#define BONSAI_TRAIN_COMMANDS_H

#include <stdint.h>

int cmd_verify(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_train(int argc, char **argv);
/* The shards' tokenizer (in data, when bonsai-shard -t kept one) copied
 * into the run directory; dies when the run already holds another
 * tokenizer than the shards' fingerprint, or the shards' copy is not
 * theirs. */
void run_keep_tokenizer(const char *data, const char *run, uint64_t fingerprint);
/* tokenizer_in_dir's tokenizer of dir (NULL: none); dies when out of
 * memory. */
char *run_tokenizer_in(const char *dir);
/* bonsai-train --gpus N: runs argv without --gpus as ranks 0..n-1 of one
 * job on this host (torchrun's variables, a free port on 127.0.0.1), passes
 * on SIGINT/SIGTERM/SIGHUP, and when one rank fails stops the others and
 * names it. Returns the exit status. */
int launch_local(int n, int argc, char **argv);
/* Locks the run directory dir (which exists) for this process: its file
 * descriptor, held until exit, or -1 with why in err (another process
 * holds it: its pid). */
int run_lock(const char *dir, char *err, size_t errlen);

#endif
