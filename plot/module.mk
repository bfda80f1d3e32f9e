TOOLS += bonsai-plot
bonsai-plot_SRCS := $(wildcard plot/*.c)

# The unit test reads metrics and fits axes with the tool's own objects.
TEST_test_plot_OBJS := $(BUILD)/plot/metrics.o $(BUILD)/plot/axis.o $(BUILD)/plot/figure.o
