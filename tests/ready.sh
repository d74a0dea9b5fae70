# ready.sh - waiting for a daemon to be ready, for the test scripts (POSIX sh; source it).
#
# A daemon is ready when it says so or answers, never when a file exists: the
# socket file or pid file of a process killed with SIGKILL is still there, so a
# wait on the file ends at once and the next step reaches nobody. Every wait
# here has a generous timeout (the machine may be loaded, and ASan is slow)
# and fails, with a line on stderr, when it runs out or the process died.
#
#   ready_count FILE PATTERN
#       the number of lines of FILE matching the extended regexp PATTERN now
#       (0 if FILE is missing): take it before starting or signalling a daemon
#   ready_log FILE PATTERN BEFORE [TIMEOUT [PID]]
#       wait (default 60 s) until more than BEFORE lines of FILE match
#       PATTERN; gives up early if process PID is gone
#   ready_connect SOCKET [TIMEOUT]
#       wait (default 60 s) until a connect to SOCKET succeeds: unix:PATH,
#       local:PATH, inet:PORT@HOST or inet:HOST:PORT (both spellings, libmilter's
#       and Postfix's); a stale socket file refuses the connect
#   ready_gone PID [TIMEOUT]
#       wait (default 30 s) until process PID has exited
#   sm_start LOG CONF [TIMEOUT]
#       start "$SM -f -c CONF" in the background, its output appended to LOG;
#       SM_PID is its pid; returns once its filter process has logged
#       "listening on" (the listening socket is open by then)
#   sm_wait_listening LOG BEFORE [TIMEOUT [PID]]
#       wait for a new "listening on" line: after a restart of the filter
#       process (kill -9 of the child, the supervisor starts another)

ready_count() {
	if [ -f "$1" ]; then
		grep -cE -- "$2" "$1" 2>/dev/null || true
	else
		echo 0
	fi
}

# ready__alive PID - true if PID is empty, or names a process that is not a zombie
ready__alive() {
	[ -z "${1:-}" ] && return 0
	case $(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -c1) in
	'' | Z | X) return 1 ;;
	esac
	return 0
}

# ready__until SECONDS WHAT COMMAND... - run COMMAND every 0.1 s until it
# succeeds; 1, with "ready: timeout after SECONDS s WHAT" on stderr, when the
# time runs out; 1 at once when COMMAND returns 2 (it said why on stderr)
ready__until() {
	_rd_n=0
	_rd_lim=$(($1 * 10))
	_rd_what=$2
	shift 2
	while :; do
		"$@"
		case $? in
		0) return 0 ;;
		2) return 1 ;;
		esac
		_rd_n=$((_rd_n + 1))
		if [ "$_rd_n" -ge "$_rd_lim" ]; then
			echo "ready: timeout after $((_rd_lim / 10)) s $_rd_what" >&2
			return 1
		fi
		sleep 0.1
	done
}

# ready__grown FILE PATTERN BEFORE PID - more than BEFORE lines match; 2 if PID is gone
ready__grown() {
	[ "$(ready_count "$1" "$2")" -gt "$3" ] && return 0
	ready__alive "$4" && return 1
	echo "ready: process $4 exited before '$2' appeared in $1" >&2
	return 2
}

# ready__connects SOCKET - a connect to SOCKET succeeds now; 2 for a spelling it cannot reach
ready__connects() {
	perl -MIO::Socket::UNIX -MIO::Socket::INET -e '
		my $s = shift;
		my $c;
		if ($s =~ m{^(?:unix:|local:)?(/.*)$}) { $c = IO::Socket::UNIX->new(Type => SOCK_STREAM(), Peer => $1); }
		elsif ($s =~ /^inet6?:(\d+)@(.+)$/ || $s =~ /^inet6?:()(.+):(\d+)$/) {
			my ($port, $host) = $1 ne "" ? ($1, $2) : ($3, $2);
			$c = IO::Socket::INET->new(PeerAddr => $host, PeerPort => $port, Timeout => 5);
		} else { print STDERR "ready: cannot connect to $s\n"; exit 2; }
		exit($c ? 0 : 1);' "$1"
}

# ready__exited PID - PID names no running process
ready__exited() { ! ready__alive "$1"; }

ready_log() {
	ready__until "${4:-60}" "waiting for '$2' in $1" ready__grown "$1" "$2" "$3" "${5:-}"
}

ready_connect() {
	ready__until "${2:-60}" "waiting for a connect to $1" ready__connects "$1"
}

ready_gone() {
	[ -n "$1" ] || return 0
	ready__until "${2:-30}" "waiting for process $1 to exit" ready__exited "$1"
}

sm_wait_listening() {
	ready_log "$1" 'shadowmilter\[[0-9]+\]: listening on ' "$2" "${3:-60}" "${4:-}"
}

sm_start() {
	_rd_before=$(ready_count "$1" 'shadowmilter\[[0-9]+\]: listening on ')
	"$SM" -f -c "$2" >>"$1" 2>&1 &
	SM_PID=$!
	sm_wait_listening "$1" "$_rd_before" "${3:-60}" "$SM_PID"
}
