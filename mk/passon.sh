# passon.sh - sourced (sh or bash) by mk/stage.sh, mk/train.sh,
# mk/hub-mirror.sh and mk/runlock.sh, the scripts make run puts between
# make and a tool.
#
# passon CMD...: runs CMD and returns its exit status, passing on a SIGTERM
# that comes to this script: make passes a SIGTERM it is sent to the
# recipe it runs and to nothing below it, so a script that just died of it
# left its command running, to finish its output after make had given up
# on the stage (a fetch, a filter, a whole training), with nothing recorded.
# A signal to the whole process group (Ctrl-C, kill -- -PGID) reaches CMD
# itself; it is passed on all the same (a tool counts a SIGTERM once, and
# bonsai-train does not take its parent's for a second one). CMD keeps
# this script's standard input and gets SIGINT and SIGQUIT as they were
# (a command run in the background would ignore them; its standard input
# is kept on descriptor 8, not 3: under make -jN, GNU make 4.3 hands its
# jobserver to a recipe on the lowest free descriptors, 3 and 4, and a
# make run through this script must keep them). passon_sig is
# the number of the first of SIGTERM, SIGINT and SIGHUP that came
# (empty: none): the caller's work is then cut short, whatever CMD's
# status.
passon() {
	passon_sig=
	trap 'passon_sig=${passon_sig:-15}; kill -TERM $passon_pid 2> /dev/null' TERM
	trap 'passon_sig=${passon_sig:-2}' INT
	trap 'passon_sig=${passon_sig:-1}' HUP
	env --default-signal=INT,QUIT "$@" <&8 8<&- &
	passon_pid=$!
	# a trap cuts wait short: wait again until CMD has ended
	while :; do
		wait $passon_pid
		passon_rc=$?
		kill -0 $passon_pid 2> /dev/null || break
	done
	return $passon_rc
} 8<&0

# passon_exit CMD...: passon, then this script exits as CMD did, or with
# 128 + the signal that cut it short (the end of a script that is only
# its command's wrapper).
passon_exit() {
	passon "$@"
	passon_rc=$?
	[ -z "$passon_sig" ] || exit $((128 + passon_sig))
	exit $passon_rc
}
