/* commands.h - the subcommands of bonsai-train. */
#ifndef BONSAI_TRAIN_COMMANDS_H
#define BONSAI_TRAIN_COMMANDS_H

int cmd_verify(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_train(int argc, char **argv);

#endif
