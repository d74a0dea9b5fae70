# sendmail-lib.sh - a private, throw-away Sendmail on loopback for end-to-end tests.
#
# POSIX sh; source it:   . tests/e2e/sendmail-lib.sh
#
# Debian's sendmail-bin conflicts with the postfix package the other suites
# use, so nothing is installed: sendmail_fetch downloads Debian's
# sendmail-bin, sendmail-base and sendmail-cf with "apt-get download" into a
# cache directory (kept between runs), and sendmail_setup unpacks them with
# "dpkg -x" into the caller's directory. The .cf is built there with m4 from
# Sendmail's own cf/ tree, and every file Sendmail uses (queue, pid, status,
# aliases, help, hosts, service switch, dead letters, local mail) lives under
# that directory: the binary always gets -C, and writes nowhere else (checked
# with strace: it reads only libc's /etc files and /etc/hosts.allow). Needs root
# (the daemon binds, and delivers as root) and the libraries sendmail-bin
# links (libwrap0; tests/install-deps.sh installs it).
#
# Typical use:
#
#   . tests/e2e/sendmail-lib.sh
#   T=$(mktemp -d); trap 'sendmail_stop; rm -rf "$T"' EXIT
#   sendmail_fetch build/sendmail-debs || exit 1
#   SENDMAIL_RELAY_PORT=2525                        # where all mail goes
#   sendmail_setup "$T/sendmail" build/sendmail-debs contrib/sendmail.mc || exit 1
#   sendmail_start || exit 1
#   ... SMTP to 127.0.0.1:$SENDMAIL_PORT ...
#
# Knobs, read by sendmail_setup:
#   SENDMAIL_RELAY_PORT  TCP port on 127.0.0.1 that every message is relayed
#                        to (the smart host, e.g. a private Postfix); required
#   SENDMAIL_MILTER_SOCKET  replaces unix:/run/shadowmilter/shadowmilter.sock
#                        in the site .mc snippet (the milter's test socket)
#   SENDMAIL_MC_EXTRA    extra .mc lines, appended last
#
# Variables set by sendmail_setup:
#   SENDMAIL_DIR   the directory given       SENDMAIL_ROOT  the unpacked packages
#   SENDMAIL_BIN   the sendmail binary       SENDMAIL_CF    the generated .cf
#   SENDMAIL_MC    the .mc it was built from SENDMAIL_QUEUE the queue directory
#   SENDMAIL_PORT  the SMTP port (127.0.0.1)  SENDMAIL_HOSTNAME  its name ($j)
#
# The hostname: at start-up, before it reads any .cf, Sendmail qualifies the
# machine's hostname; an unqualified one ("vm") that no resolver can qualify
# costs a 60 s sleep ("My unqualified host name ... unknown; sleeping for
# retry"), in every process started from the command line. A Dj line (set
# here too) only takes effect after that. So the daemon runs in a private UTS
# namespace (unshare --uts) whose hostname is $SENDMAIL_HOSTNAME; the
# machine's own hostname is never changed. Where namespaces are not allowed
# (a container without CAP_SYS_ADMIN), the daemon starts without one and
# sendmail_start waits out the sleep (SENDMAIL_START_TIMEOUT, 200 s).
#
# Functions: sendmail_fetch sendmail_setup sendmail_start sendmail_stop
#   sendmail_pid sendmail_pids sendmail_running sendmail_listening sendmail_mailq
#   sendmail_queue_empty sendmail_wait_queue_empty sendmail_smtp_ready
#
# Every function returns non-zero on failure and writes its complaint to stderr.

SENDMAIL_PACKAGES="sendmail-bin sendmail-base sendmail-cf"
SENDMAIL_HOSTNAME=${SENDMAIL_HOSTNAME:-mx.sendmail.test}

sendmail__err() { echo "sendmail-lib: $*" >&2; }

# sendmail__deb CACHE PACKAGE - the newest cached .deb of PACKAGE, or nothing
sendmail__deb() {
	ls "$1/$2"_*.deb 2>/dev/null | sort -V | tail -n 1
}

# sendmail_fetch CACHE - make sure CACHE holds Debian's sendmail packages:
# reused when all are there, else "apt-get download" (into a temporary
# directory first, so an interrupted download leaves no half file)
sendmail_fetch() {
	[ -n "${1:-}" ] || { sendmail__err "usage: sendmail_fetch CACHE"; return 2; }
	mkdir -p "$1" || return 1
	_sd_missing=
	for _sd_p in $SENDMAIL_PACKAGES; do
		[ -n "$(sendmail__deb "$1" "$_sd_p")" ] || _sd_missing=1
	done
	[ -n "$_sd_missing" ] || return 0
	command -v apt-get >/dev/null 2>&1 || { sendmail__err "apt-get missing: cannot fetch $SENDMAIL_PACKAGES"; return 1; }
	_sd_tmp=$(mktemp -d "$1/download.XXXXXX") || return 1
	# apt runs its downloads as _apt when it can write the directory
	chown _apt "$_sd_tmp" 2>/dev/null
	if ! (cd "$_sd_tmp" && apt-get download -q $SENDMAIL_PACKAGES) >"$_sd_tmp.log" 2>&1; then
		sendmail__err "apt-get download $SENDMAIL_PACKAGES failed:"
		cat "$_sd_tmp.log" >&2
		rm -rf "$_sd_tmp" "$_sd_tmp.log"
		return 1
	fi
	mv "$_sd_tmp"/*.deb "$1"/ && rm -rf "$_sd_tmp" "$_sd_tmp.log" || return 1
	for _sd_p in $SENDMAIL_PACKAGES; do
		[ -n "$(sendmail__deb "$1" "$_sd_p")" ] || { sendmail__err "no $_sd_p package in $1 after download"; return 1; }
	done
}

# sendmail__unpack CACHE - dpkg -x the cached packages into $SENDMAIL_ROOT
sendmail__unpack() {
	mkdir -p "$SENDMAIL_ROOT" || return 1
	for _sd_p in $SENDMAIL_PACKAGES; do
		dpkg -x "$(sendmail__deb "$1" "$_sd_p")" "$SENDMAIL_ROOT" || { sendmail__err "dpkg -x $_sd_p failed"; return 1; }
	done
	SENDMAIL_BIN=$SENDMAIL_ROOT/usr/libexec/sendmail/sendmail
	[ -x "$SENDMAIL_BIN" ] || { sendmail__err "no sendmail binary in the packages ($SENDMAIL_BIN)"; return 1; }
	_sd_libs=$(ldd "$SENDMAIL_BIN" 2>&1 | awk '/not found/ { print $1 }' | tr '\n' ' ')
	[ -z "$_sd_libs" ] || { sendmail__err "libraries sendmail needs are missing: $_sd_libs(make deps installs them)"; return 1; }
}

# sendmail__pick_port - choose SENDMAIL_PORT (pf_free_port from postfix-lib.sh when loaded)
sendmail__pick_port() {
	if command -v pf_free_port >/dev/null 2>&1; then
		SENDMAIL_PORT=$(pf_free_port "${1:-$((21000 + ($$ * 53) % 19000))}") || return 1
	else
		SENDMAIL_PORT=${1:-$((21000 + ($$ * 53) % 19000))}
	fi
}

# sendmail__write_mc SNIPPET - the test instance's .mc: private paths, the
# loopback listener, everything relayed to 127.0.0.1:$SENDMAIL_RELAY_PORT,
# then the site snippet (the milter), with its socket replaced
sendmail__write_mc() {
	_sd_d=$SENDMAIL_DIR
	cat >"$SENDMAIL_MC" <<EOF
divert(-1)
# private test instance; written by sendmail-lib.sh
divert(0)dnl
VERSIONID(\`shadowmilter test instance')dnl
OSTYPE(\`linux')dnl
dnl who we are: see the hostname note in sendmail-lib.sh
define(\`confDOMAIN_NAME', \`$SENDMAIL_HOSTNAME')dnl
dnl every file under $_sd_d
define(\`QUEUE_DIR', \`$_sd_d/mqueue')dnl
define(\`confPID_FILE', \`$_sd_d/sendmail.pid')dnl
define(\`STATUS_FILE', \`$_sd_d/sendmail.st')dnl
define(\`ALIAS_FILE', \`$_sd_d/aliases')dnl
define(\`HELP_FILE', \`$_sd_d/helpfile')dnl
define(\`confHOSTS_FILE', \`$_sd_d/hosts')dnl
define(\`confSERVICE_SWITCH_FILE', \`$_sd_d/service.switch')dnl
define(\`confDEAD_LETTER_DROP', \`$_sd_d/dead.letter')dnl
define(\`confEBINDIR', \`$SENDMAIL_ROOT/usr/libexec/sendmail')dnl
dnl the instance lives under /tmp (world-writable, sticky): trust the sticky bit
define(\`confDONT_BLAME_SENDMAIL', \`TrustStickyBit')dnl
dnl loopback only, no DNS, no ident, no interface probing; no MSA on the fixed
dnl port 587, which another instance (or the machine) may already hold
FEATURE(\`no_default_msa')dnl
DAEMON_OPTIONS(\`Port=$SENDMAIL_PORT, Addr=127.0.0.1, Name=MTA')dnl
define(\`confDONT_PROBE_INTERFACES', \`true')dnl
define(\`confTO_IDENT', \`0')dnl
define(\`confBIND_OPTS', \`-DNSRCH -DEFNAMES')dnl
FEATURE(\`nocanonify')dnl
FEATURE(\`accept_unresolvable_domains')dnl
dnl a loaded test machine must not make Sendmail queue or refuse mail
define(\`confQUEUE_LA', \`999')dnl
define(\`confREFUSE_LA', \`999')dnl
define(\`confDELAY_LA', \`0')dnl
define(\`confCONNECTION_RATE_THROTTLE', \`0')dnl
define(\`confMIN_QUEUE_AGE', \`0')dnl
define(\`confTO_QUEUEWARN', \`0')dnl
dnl local mail (postmaster, root, a bounce nobody takes) is appended to
dnl $_sd_d/local.mbox by the local mailer (F=S: as the daemon, root);
dnl no .forward is read
define(\`LOCAL_MAILER_PATH', \`$_sd_d/local-delivery')dnl
define(\`LOCAL_MAILER_ARGS', \`local-delivery \$u')dnl
define(\`confFORWARD_PATH', \`')dnl
dnl every other message goes to the private smart host
define(\`SMART_HOST', \`relay:[127.0.0.1]')dnl
define(\`RELAY_MAILER_ARGS', \`TCP \$h $SENDMAIL_RELAY_PORT')dnl
define(\`ESMTP_MAILER_ARGS', \`TCP \$h $SENDMAIL_RELAY_PORT')dnl
define(\`SMTP_MAILER_ARGS', \`TCP \$h $SENDMAIL_RELAY_PORT')dnl
MAILER(\`local')dnl
MAILER(\`smtp')dnl
dnl ---- the site snippet ($1)
EOF
	if [ -n "${SENDMAIL_MILTER_SOCKET:-}" ]; then
		grep -q 'unix:/run/shadowmilter/shadowmilter.sock' "$1" ||
			{ sendmail__err "$1 does not name unix:/run/shadowmilter/shadowmilter.sock"; return 1; }
		sed "s|unix:/run/shadowmilter/shadowmilter.sock|$SENDMAIL_MILTER_SOCKET|g" "$1" >>"$SENDMAIL_MC" || return 1
	else
		cat "$1" >>"$SENDMAIL_MC" || return 1
	fi
	[ -z "${SENDMAIL_MC_EXTRA:-}" ] || printf '%s\n' "$SENDMAIL_MC_EXTRA" >>"$SENDMAIL_MC"
}

# sendmail_setup DIR CACHE [SNIPPET] - unpack the cached packages under DIR
# and write a private instance's .cf there, built with m4 from Sendmail's
# cf/ tree, the test settings and SNIPPET (a site .mc, e.g. contrib/sendmail.mc)
sendmail_setup() {
	[ -n "${1:-}" ] && [ -n "${2:-}" ] || { sendmail__err "usage: sendmail_setup DIR CACHE [SNIPPET]"; return 2; }
	[ "$(id -u)" = 0 ] || { sendmail__err "must run as root"; return 1; }
	[ -n "${SENDMAIL_RELAY_PORT:-}" ] || { sendmail__err "set SENDMAIL_RELAY_PORT"; return 1; }
	command -v m4 >/dev/null 2>&1 || { sendmail__err "m4 missing (make deps installs it)"; return 1; }
	mkdir -p "$1" || return 1
	SENDMAIL_DIR=$(cd "$1" && pwd -P) || return 1
	SENDMAIL_ROOT=$SENDMAIL_DIR/root
	SENDMAIL_MC=$SENDMAIL_DIR/sendmail.mc
	SENDMAIL_CF=$SENDMAIL_DIR/sendmail.cf
	SENDMAIL_QUEUE=$SENDMAIL_DIR/mqueue
	SENDMAIL_PID=
	sendmail__unpack "$2" || return 1
	sendmail__pick_port || return 1

	mkdir -p "$SENDMAIL_QUEUE" && chmod 700 "$SENDMAIL_QUEUE" || return 1
	: >"$SENDMAIL_DIR/aliases"
	: >"$SENDMAIL_DIR/sendmail.st"
	cp "$SENDMAIL_ROOT/etc/mail/helpfile" "$SENDMAIL_DIR/helpfile" || return 1
	printf '#!/bin/sh\n# local mailer of the test instance: append to local.mbox\n{ echo "From local-delivery $*"; cat; echo; } >>"%s/local.mbox"\n' \
		"$SENDMAIL_DIR" >"$SENDMAIL_DIR/local-delivery" && chmod 755 "$SENDMAIL_DIR/local-delivery" || return 1
	# names from files only: no DNS lookups for hosts; the smart host is an address
	printf '127.0.0.1\tlocalhost %s\n' "$SENDMAIL_HOSTNAME" >"$SENDMAIL_DIR/hosts"
	printf 'hosts\tfiles\naliases\tfiles\n' >"$SENDMAIL_DIR/service.switch"
	SENDMAIL_SNIPPET=${3:-/dev/null}
	sendmail__write_mc "$SENDMAIL_SNIPPET" || return 1
	sendmail__build_cf
}

# sendmail__build_cf - m4 $SENDMAIL_MC into $SENDMAIL_CF with the unpacked cf/ tree
sendmail__build_cf() {
	_sd_cfdir=$SENDMAIL_ROOT/usr/share/sendmail/cf
	if ! m4 -D_CF_DIR_="$_sd_cfdir/" "$_sd_cfdir/m4/cf.m4" "$SENDMAIL_MC" >"$SENDMAIL_CF" 2>"$SENDMAIL_DIR/m4.err"; then
		sendmail__err "m4 failed on $SENDMAIL_MC:"
		cat "$SENDMAIL_DIR/m4.err" >&2
		return 1
	fi
	# m4 reports some mistakes (an unknown FEATURE) only as text in its output
	if [ -s "$SENDMAIL_DIR/m4.err" ] || grep -q '^\*\*\*\*\*' "$SENDMAIL_CF"; then
		sendmail__err "m4 complained about $SENDMAIL_MC:"
		cat "$SENDMAIL_DIR/m4.err" >&2
		grep '^\*\*\*\*\*' "$SENDMAIL_CF" >&2
		return 1
	fi
}

# sendmail__uts - set SENDMAIL_UTS to yes if this system lets us have a
# private UTS namespace (see the hostname note), else no
sendmail__uts() {
	[ -z "${SENDMAIL_UTS:-}" ] || return 0
	if unshare --uts true 2>/dev/null; then
		SENDMAIL_UTS=yes
	else
		SENDMAIL_UTS=no
		sendmail__err "no UTS namespace here: each Sendmail start may sleep 60 s to qualify the hostname $(hostname)"
	fi
}

# sendmail__run ARGS - exec the unpacked binary with the instance's .cf and
# ARGS, with the hostname $SENDMAIL_HOSTNAME when SENDMAIL_UTS is yes
sendmail__run() {
	if [ "$SENDMAIL_UTS" = yes ]; then
		exec unshare --uts sh -c 'hostname "$1" && shift && exec "$@"' sh "$SENDMAIL_HOSTNAME" \
			"$SENDMAIL_BIN" -C "$SENDMAIL_CF" "$@"
	fi
	exec "$SENDMAIL_BIN" -C "$SENDMAIL_CF" "$@"
}

# sendmail__launch - start the daemon in the background, in foreground mode
# (-bD) so that $! is its pid; queue runs every 5 s
sendmail__launch() {
	sendmail__uts
	(sendmail__run -bD -q5s) >"$SENDMAIL_DIR/daemon.out" 2>&1 &
	SENDMAIL_PID=$!
}

# sendmail_smtp_ready [PORT] - true if an SMTP session on PORT (default
# SENDMAIL_PORT) gets a 220 greeting
sendmail_smtp_ready() {
	perl -MIO::Socket::INET -e '
		my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1", PeerPort => $ARGV[0], Timeout => 10) or exit 1;
		my $l = <$s>; exit 1 unless defined $l && $l =~ /^220 /;
		print $s "QUIT\r\n"; exit 0' "${1:-$SENDMAIL_PORT}" 2>/dev/null
}

# sendmail_start - start the daemon; returns once it answers SMTP with a 220
# (SENDMAIL_START_TIMEOUT seconds, default 200: see the hostname note)
sendmail_start() {
	[ -n "${SENDMAIL_CF:-}" ] || { sendmail__err "sendmail_setup first"; return 1; }
	# a parallel run may have taken the port since sendmail_setup
	if command -v pf__listening >/dev/null 2>&1 && pf__listening "$SENDMAIL_PORT"; then
		sendmail__pick_port $((SENDMAIL_PORT + 1)) && sendmail__write_mc "$SENDMAIL_SNIPPET" && sendmail__build_cf || return 1
	fi
	sendmail__launch
	_sd_n=0
	_sd_lim=$((${SENDMAIL_START_TIMEOUT:-200} * 5))
	until sendmail_smtp_ready; do
		if ! sendmail_running; then
			sendmail__err "sendmail exited at start:"
			cat "$SENDMAIL_DIR/daemon.out" >&2
			return 1
		fi
		_sd_n=$((_sd_n + 1))
		[ "$_sd_n" -lt "$_sd_lim" ] || { sendmail__err "timeout: no SMTP greeting on port $SENDMAIL_PORT"; return 1; }
		sleep 0.2
	done
}

# sendmail_listening - the daemon's listening TCP sockets, one per line, as
# /proc/net/tcp{,6} spell their local address (127.0.0.1:25 is 0100007F:0019)
sendmail_listening() {
	_sd_inodes=$(ls -l "/proc/$SENDMAIL_PID/fd" 2>/dev/null | sed -n 's/.*socket:\[\([0-9]*\)\].*/\1/p' | tr '\n' ' ')
	cat /proc/net/tcp /proc/net/tcp6 2>/dev/null |
		awk -v inodes=" $_sd_inodes" '$4 == "0A" && index(inodes, " " $10 " ") { print $2 }'
}

# sendmail_pid - the daemon's pid
sendmail_pid() { echo "$SENDMAIL_PID"; }

# sendmail__alive PID - true if process PID exists and is not a zombie
sendmail__alive() {
	[ -n "${1:-}" ] && [ -r "/proc/$1/stat" ] || return 1
	case $(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -c1) in
	'' | Z | X) return 1 ;;
	esac
	return 0
}

# sendmail_running - true if the daemon runs
sendmail_running() { sendmail__alive "${SENDMAIL_PID:-}"; }

# sendmail_pids - the daemon and every process it forked (per-connection
# children, queue runners): the processes running this instance's unpacked
# binary, which no other instance shares
sendmail_pids() {
	[ -n "${SENDMAIL_BIN:-}" ] || return 0
	for _sd_e in /proc/[0-9]*/exe; do
		[ "$(readlink "$_sd_e" 2>/dev/null)" = "$SENDMAIL_BIN" ] || continue
		_sd_p=${_sd_e#/proc/}
		_sd_p=${_sd_p%/exe}
		sendmail__alive "$_sd_p" && echo "$_sd_p"
	done
}

# sendmail_stop [TIMEOUT] - stop the daemon and its children (SIGTERM, after
# TIMEOUT seconds, default 10, SIGKILL). Safe to call when not started, or twice.
sendmail_stop() {
	[ -n "${SENDMAIL_PID:-}" ] || return 0
	_sd_pids=$(sendmail_pids | tr '\n' ' ')
	[ -z "$_sd_pids" ] || kill -TERM $_sd_pids 2>/dev/null
	_sd_n=0
	_sd_lim=$((${1:-10} * 10))
	while [ -n "$(sendmail_pids)" ]; do
		_sd_n=$((_sd_n + 1))
		if [ "$_sd_n" -ge "$_sd_lim" ]; then
			sendmail__err "processes left after SIGTERM, killing: $(sendmail_pids | tr '\n' ' ')"
			sendmail_pids | xargs -r kill -KILL 2>/dev/null
			sleep 0.2
			break
		fi
		sleep 0.1
	done
	wait "$SENDMAIL_PID" 2>/dev/null
	[ -z "$(sendmail_pids)" ]
}

# sendmail_mailq - the instance's queue, as mailq prints it
sendmail_mailq() {
	sendmail__uts
	(sendmail__run -bp) 2>&1
}

# sendmail_queue_empty - true if no message waits in the queue
sendmail_queue_empty() {
	[ -z "$(find "$SENDMAIL_QUEUE" -type f -name 'qf*' | head -n 1)" ]
}

# sendmail_wait_queue_empty [TIMEOUT] - wait (default 30 s) until the queue is empty
sendmail_wait_queue_empty() {
	_sd_n=0
	_sd_lim=$((${1:-30} * 10))
	until sendmail_queue_empty; do
		_sd_n=$((_sd_n + 1))
		[ "$_sd_n" -lt "$_sd_lim" ] || { sendmail__err "timeout: queue not empty"; return 1; }
		sleep 0.1
	done
}
