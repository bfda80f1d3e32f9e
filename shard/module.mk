TOOLS += bonsai-shard
bonsai-shard_SRCS := $(wildcard shard/*.c)
