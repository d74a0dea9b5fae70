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

ready_log() {
	_rd_n=0
	_rd_lim=$((${4:-60} * 10))
	while [ "$(ready_count "$1" "$2")" -le "$3" ]; do
		if ! ready__alive "${5:-}"; then
			echo "ready: process $5 exited before '$2' appeared in $1" >&2
			return 1
		fi
		_rd_n=$((_rd_n + 1))
		if [ "$_rd_n" -ge "$_rd_lim" ]; then
			echo "ready: timeout after ${4:-60} s waiting for '$2' in $1" >&2
			return 1
		fi
		sleep 0.1
	done
}

ready_connect() {
	_rd_n=0
	_rd_lim=$((${2:-60} * 10))
	until perl -MIO::Socket::UNIX -MIO::Socket::INET -e '
		my $s = shift;
		my $c;
		if ($s =~ m{^(?:unix:|local:)?(/.*)$}) { $c = IO::Socket::UNIX->new(Type => SOCK_STREAM(), Peer => $1); }
		elsif ($s =~ /^inet6?:(\d+)@(.+)$/ || $s =~ /^inet6?:()(.+):(\d+)$/) {
			my ($port, $host) = $1 ne "" ? ($1, $2) : ($3, $2);
			$c = IO::Socket::INET->new(PeerAddr => $host, PeerPort => $port, Timeout => 5);
		} else { print STDERR "ready: cannot connect to $s\n"; exit 2; }
		exit($c ? 0 : 1);' "$1"; do
		_rd_n=$((_rd_n + 1))
		if [ "$_rd_n" -ge "$_rd_lim" ]; then
			echo "ready: timeout after ${2:-60} s waiting for a connect to $1" >&2
			return 1
		fi
		sleep 0.1
	done
}

ready_gone() {
	_rd_n=0
	_rd_lim=$((${2:-30} * 10))
	while [ -n "$1" ] && ready__alive "$1"; do
		_rd_n=$((_rd_n + 1))
		if [ "$_rd_n" -ge "$_rd_lim" ]; then
			echo "ready: process $1 still running after ${2:-30} s" >&2
			return 1
		fi
		sleep 0.1
	done
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
