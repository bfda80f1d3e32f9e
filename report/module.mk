# bonsai-report: a make-run folder's results as Markdown or HTML.
TOOLS += bonsai-report
bonsai-report_SRCS := $(wildcard report/*.c)
