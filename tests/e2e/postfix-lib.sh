# postfix-lib.sh - a private, throw-away Postfix instance on loopback for end-to-end tests.
#
# POSIX sh; source it:   . tests/e2e/postfix-lib.sh
#
# The instance has its own config_directory, queue_directory, data_directory,
# log file, ports and pid file, all under one directory the caller owns. It
# never reads or writes /etc/postfix/main.cf or /var/spool/postfix, never binds
# port 25, and cannot send mail off the machine: every domain that is not one
# of the test domains goes to the error transport. Needs root (postfix start
# does) and the postfix and swaks packages (tests/e2e/install-postfix.sh).
#
# Typical use:
#
#   . tests/e2e/postfix-lib.sh
#   T=$(mktemp -d); trap 'pf_stop; rm -rf "$T"' EXIT
#   PF_MILTERS="unix:$T/milter.sock"        # optional, see below
#   pf_setup "$T" customer.example ops.example || exit 1
#   pf_start || exit 1
#   swaks --server 127.0.0.1 --port "$(pf_port)" --to user@customer.example ...
#   pf_wait_delivered "$(pf_maildir user@customer.example)" 1 10
#   pf_stop
#
# Knobs, read by pf_setup (set them before calling it):
#   PF_MILTERS            smtpd_milters of the test port, e.g. "unix:$T/milter.sock"
#                         or "inet:127.0.0.1:PORT"; empty (default): no milter
#   PF_NON_SMTPD_MILTERS  non_smtpd_milters (mail injected with sendmail);
#                         unset: same as PF_MILTERS; set to "" for none
#   PF_PORT_BASE          first port to try for the test port (default: derived
#                         from $$ in 20000-39999 so parallel runs rarely collide)
#   PF_MAIL_USER          owner of the Maildirs (default nobody); delivery runs
#                         with its uid and its primary group's gid
#   PF_MAIN_EXTRA         extra main.cf lines, appended last (so they win)
#   PF_CHROOT             y: smtpd, cleanup and the others Debian's master.cf
#                         chroots run chrooted into $PF_QUEUE (default n);
#                         pf_set_chroot switches a running instance
#
# Variables set by pf_setup:
#   PF_DIR    the directory given     PF_CONF   $PF_DIR/etc   (config_directory)
#   PF_QUEUE  $PF_DIR/spool (queue)   PF_MAIL   $PF_DIR/mail  (virtual_mailbox_base)
#   PF_LOG    $PF_DIR/maillog         PF_PORT   test smtpd port (milters on)
#   PF_INJECT_PORT  a second smtpd port on 127.0.0.1 WITHOUT milters
#   PF_SENDMAIL     $PF_DIR/sendmail, a wrapper: exec /usr/sbin/sendmail -C $PF_CONF "$@"
#
# Mail to the test domains is delivered by the virtual(8) agent into Maildirs
# under $PF_MAIL: <domain>/<user>/ for an address given to pf_setup or
# pf_add_mailbox, <domain>/_any/ (catch-all) for any other local part of a
# domain given bare; pf_maildir ADDRESS tells which. Relaying from 127.0.0.1 to
# other domains is rejected at RCPT ("Relay access denied"), although
# 127.0.0.0/8 is in mynetworks; and were anything accepted for elsewhere, the
# error transport would bounce it: nothing leaves the machine.
#
# Milters: PF_MILTERS uses Postfix's syntax, unix:/path or inet:127.0.0.1:PORT;
# the milter itself (libmilter's smfi_setconn) spells the latter
# inet:PORT@127.0.0.1. Start the milter, then pf_wait_milter: it waits until
# the milter listens and makes a unix socket connectable for the postfix user
# (without that, a socket created by root under umask 022 gets "Permission
# denied" and every message 451). milter_default_action = tempfail: a milter
# that is down or misbehaves shows as 451 at SMTP, and sendmail mail stays in
# maildrop (pf_flush retries it). Macros are Postfix's defaults; note that
# {i} (queue id) is empty at MAIL FROM for SMTP mail, as smtpd opens the
# queue file only at the first valid RCPT (PF_MAIN_EXTRA=
# "smtpd_delay_open_until_valid_rcpt = no" changes that); it is set from RCPT on
# and at end of message. Change milters on a running instance with
# pf_postconf -e "smtpd_milters = ..." and pf_reload.
#
# Injecting mail:
#   - SMTP on $PF_PORT: through smtpd_milters, like mail from the Internet.
#   - SMTP on $PF_INJECT_PORT: no milter; for a program (the milter's delivery
#     worker) that must not have its own mail filtered again.
#   - sendmail: "$PF_SENDMAIL -f from@x -t < msg" or pf_sendmail ...; goes via
#     postdrop -> maildrop -> pickup -> cleanup, through non_smtpd_milters.
#     A program configured with a sendmail path gets $PF_SENDMAIL.
#     Works for root only: for any other user, Postfix's setgid postdrop accepts
#     a non-default config directory only when the system's
#     /etc/postfix/main.cf lists it in alternate_config_directories, and this
#     library does not touch the system's config. A program running as another
#     user must use SMTP (PF_INJECT_PORT).
#
# Functions: pf_setup pf_start pf_stop pf_port pf_inject_port pf_maildir
#   pf_count pf_wait_delivered pf_flush pf_queue_empty pf_wait_queue_empty pf_log
#   pf_log_grep pf_sendmail pf_postconf pf_reload pf_add_mailbox pf_wait_milter
#   pf_pids pf_running pf_master_pid pf_alive pf_free_port pf_set_chroot
#
# Every function returns non-zero on failure and writes its complaint to stderr.

PF_DEFAULT_DOMAINS="customer.example ops.example acme.example bob.example carol.example dave.example example.net"

pf__err() { echo "postfix-lib: $*" >&2; }

# pf__listening PORT - true if something listens on TCP PORT
pf__listening() {
	if command -v ss >/dev/null 2>&1; then
		ss -Hltn "sport = :$1" 2>/dev/null | grep -q .
	else
		_pf_h=$(printf '%04X' "$1")
		cat /proc/net/tcp /proc/net/tcp6 2>/dev/null | awk -v p=":$_pf_h" '$2 ~ p"$" && $4 == "0A" { f = 1 } END { exit !f }'
	fi
}

# pf_free_port [BASE] - echo the first TCP port from BASE up that nothing listens on
pf_free_port() {
	_pf_p=${1:-$((20000 + ($$ * 37) % 20000))}
	_pf_n=0
	while [ "$_pf_n" -lt 200 ]; do
		[ "$_pf_p" -gt 65000 ] && _pf_p=20000
		if ! pf__listening "$_pf_p"; then
			echo "$_pf_p"
			return 0
		fi
		_pf_p=$((_pf_p + 1))
		_pf_n=$((_pf_n + 1))
	done
	pf__err "no free port from ${1:-base}"
	return 1
}

# pf__pick_ports - choose PF_PORT and PF_INJECT_PORT
pf__pick_ports() {
	PF_PORT=$(pf_free_port "${1:-${PF_PORT_BASE:-}}") || return 1
	PF_INJECT_PORT=$(pf_free_port $((PF_PORT + 1))) || return 1
}

# pf__backdate FILE... - set the mtime 10 s back. Postfix will not read a
# main.cf or a texthash map that changed within the current second (it may be
# half-written): it sleeps 300 ms and retries, which made every first command
# and every daemon after a reload wait 1-2 s.
pf__backdate() {
	touch -d "@$(($(date +%s) - 10))" "$@"
}

# pf__write_master_cf - master.cf of the instance. The chroot column (5th) is
# PF_CHROOT's: n (default) everywhere, or y where Debian's own master.cf has
# it (smtpd, cleanup, pickup, ...): those daemons then chroot into the
# instance's queue directory as Debian's do into /var/spool/postfix, and see a
# milter socket under it by its path inside ($PF_QUEUE/x.sock is /x.sock).
pf__write_master_cf() {
	_pf_y=n
	[ "${PF_CHROOT:-n}" = y ] && _pf_y=y
	cat >"$PF_CONF/master.cf" <<EOF
# private test instance; written by postfix-lib.sh (PF_CHROOT=${PF_CHROOT:-n})
# service type  private unpriv  chroot  wakeup  maxproc command + args
127.0.0.1:$PF_PORT inet n - $_pf_y - - smtpd
127.0.0.1:$PF_INJECT_PORT inet n - $_pf_y - - smtpd
  -o smtpd_milters=
  -o syslog_name=postfix-test/inject
pickup    unix  n       -       $_pf_y       60      1       pickup
cleanup   unix  n       -       $_pf_y       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       $_pf_y       -       -       trivial-rewrite
bounce    unix  -       -       $_pf_y       -       0       bounce
defer     unix  -       -       $_pf_y       -       0       bounce
trace     unix  -       -       $_pf_y       -       0       bounce
verify    unix  -       -       $_pf_y       -       1       verify
flush     unix  n       -       $_pf_y       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       $_pf_y       -       -       smtp
relay     unix  -       -       $_pf_y       -       -       smtp
showq     unix  n       -       $_pf_y       -       -       showq
error     unix  -       -       $_pf_y       -       -       error
retry     unix  -       -       $_pf_y       -       -       error
discard   unix  -       -       $_pf_y       -       -       discard
local     unix  -       n       n       -       -       local
virtual   unix  -       n       n       -       -       virtual
lmtp      unix  -       -       $_pf_y       -       -       lmtp
anvil     unix  -       -       $_pf_y       -       1       anvil
scache    unix  -       -       $_pf_y       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
EOF
	pf__backdate "$PF_CONF/master.cf"
}

# pf_set_chroot y|n - switch the chroot column of master.cf (see
# pf__write_master_cf) and reload a running instance
pf_set_chroot() {
	case ${1:-} in
	y | n) PF_CHROOT=$1 ;;
	*) pf__err "usage: pf_set_chroot y|n"; return 2 ;;
	esac
	pf__write_master_cf
	if pf_running; then pf_reload; fi
}

# pf_setup DIR [DOMAIN | ADDRESS]... - write a private instance's config under
# DIR (created if missing; made world-searchable, 0755, because the postfix
# user and the Maildir owner must reach the queue and the Maildirs under it).
# A bare DOMAIN becomes a virtual mailbox domain with a catch-all: any local
# part is accepted and delivered to the Maildir <domain>/_any/. An ADDRESS
# (user@domain) gets its own Maildir <domain>/<user>/; a domain named only
# through addresses accepts only those (others: 550 User unknown).
# Default: the domains of $PF_DEFAULT_DOMAINS. pf_maildir tells the Maildir.
pf_setup() {
	[ -n "${1:-}" ] || { pf__err "usage: pf_setup DIR [DOMAIN | ADDRESS]..."; return 2; }
	[ "$(id -u)" = 0 ] || { pf__err "must run as root (postfix start needs it)"; return 1; }
	for _pf_b in /usr/sbin/postfix /usr/sbin/postconf /usr/sbin/postqueue /usr/sbin/sendmail; do
		[ -x "$_pf_b" ] || { pf__err "$_pf_b missing: run tests/e2e/install-postfix.sh"; return 1; }
	done
	mkdir -p "$1" || return 1
	PF_DIR=$(cd "$1" && pwd -P) || return 1
	shift
	[ $# -gt 0 ] || set -- $PF_DEFAULT_DOMAINS
	PF_CONF=$PF_DIR/etc
	PF_QUEUE=$PF_DIR/spool
	PF_DATA=$PF_DIR/data
	PF_MAIL=$PF_DIR/mail
	PF_LOG=$PF_DIR/maillog
	PF_SENDMAIL=$PF_DIR/sendmail

	_pf_user=${PF_MAIL_USER:-nobody}
	_pf_uid=$(id -u "$_pf_user") && _pf_gid=$(id -g "$_pf_user") || { pf__err "no user $_pf_user"; return 1; }
	[ "$_pf_uid" != 0 ] || { pf__err "PF_MAIL_USER must not be root"; return 1; }

	chmod 755 "$PF_DIR" || return 1
	mkdir -p "$PF_CONF" "$PF_QUEUE" "$PF_DATA" "$PF_MAIL" || return 1
	chown root:root "$PF_CONF" "$PF_QUEUE" && chmod 755 "$PF_CONF" "$PF_QUEUE" || return 1
	chown postfix "$PF_DATA" && chmod 700 "$PF_DATA" || return 1
	chown "$_pf_uid:$_pf_gid" "$PF_MAIL" && chmod 755 "$PF_MAIL" || return 1
	# every directory on the way to the Maildirs must be traversable by the owner
	_pf_d=$(dirname "$PF_DIR")
	while [ "$_pf_d" != / ]; do
		_pf_m=$(stat -c %A "$_pf_d") || return 1
		case $_pf_m in
		?????????[xt]) ;;
		*) pf__err "$_pf_d is not world-searchable; the postfix and $_pf_user users cannot reach $PF_DIR"; return 1 ;;
		esac
		_pf_d=$(dirname "$_pf_d")
	done

	pf__pick_ports || return 1

	_pf_milters=${PF_MILTERS:-}
	_pf_nsm=${PF_NON_SMTPD_MILTERS-${PF_MILTERS:-}}
	# virtual(8) refuses regexp substitution ($1) in virtual_mailbox_maps, so
	# the map lists each address, and a catch-all per bare domain
	PF_DOMAINS=
	: >"$PF_CONF/virtual_mailbox"
	for _pf_a in "$@"; do
		pf__add_map "$_pf_a" || return 1
	done
	_pf_doms=$(echo $PF_DOMAINS | sed 's/ /, /g')
	cat >"$PF_CONF/main.cf" <<EOF
# private test instance; written by postfix-lib.sh
compatibility_level = 3.6
queue_directory = $PF_QUEUE
data_directory = $PF_DATA
mail_owner = postfix
setgid_group = postdrop
syslog_name = postfix-test
maillog_file = $PF_LOG
maillog_file_prefixes = $PF_DIR
myhostname = mx.test.example
mydomain = test.example
myorigin = \$myhostname
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtpd_authorized_xforward_hosts = 127.0.0.0/8
smtpd_authorized_xclient_hosts = 127.0.0.0/8
smtpd_relay_restrictions = reject_unauth_destination
smtpd_error_sleep_time = 0
smtpd_banner = \$myhostname ESMTP test
in_flow_delay = 0
biff = no
alias_maps =
alias_database =
local_recipient_maps =
# nothing leaves this machine
default_transport = error:5.7.1 outside mail is disabled in this test instance
relay_transport = \$default_transport
local_transport = error:5.1.1 local delivery is disabled in this test instance
virtual_mailbox_domains = $_pf_doms
virtual_mailbox_base = $PF_MAIL
virtual_mailbox_maps = texthash:$PF_CONF/virtual_mailbox
virtual_uid_maps = static:$_pf_uid
virtual_gid_maps = static:$_pf_gid
virtual_minimum_uid = 1
smtpd_milters = $_pf_milters
non_smtpd_milters = $_pf_nsm
milter_default_action = tempfail
milter_protocol = 6
milter_connect_timeout = 5s
milter_command_timeout = 10s
milter_content_timeout = 20s
queue_run_delay = 1s
minimal_backoff_time = 1s
maximal_backoff_time = 2s
delay_warning_time = 0
EOF
	[ -z "${PF_MAIN_EXTRA:-}" ] || printf '%s\n' "$PF_MAIN_EXTRA" >>"$PF_CONF/main.cf"
	pf__backdate "$PF_CONF/main.cf" "$PF_CONF/virtual_mailbox"
	pf__write_master_cf
	printf '#!/bin/sh\n# sendmail for the private Postfix test instance in %s\nexec /usr/sbin/sendmail -C %s "$@"\n' \
		"$PF_DIR" "'$PF_CONF'" >"$PF_SENDMAIL"
	chmod 755 "$PF_SENDMAIL"
	# the queue directories, as postfix-files has them (what "postfix check"
	# would create, in 2 s instead of 0.02 s); maildrop and public are group
	# postdrop, so the setgid postdrop and postqueue can use them
	for _pf_q in active bounce corrupt defer deferred flush hold incoming private saved trace; do
		mkdir -p "$PF_QUEUE/$_pf_q" && chown postfix:root "$PF_QUEUE/$_pf_q" && chmod 700 "$PF_QUEUE/$_pf_q" || return 1
	done
	mkdir -p "$PF_QUEUE/maildrop" "$PF_QUEUE/public" "$PF_QUEUE/pid" &&
		chown postfix:postdrop "$PF_QUEUE/maildrop" "$PF_QUEUE/public" &&
		chmod 730 "$PF_QUEUE/maildrop" && chmod 710 "$PF_QUEUE/public" &&
		chown root:root "$PF_QUEUE/pid" && chmod 755 "$PF_QUEUE/pid" || return 1
}

# pf__add_map DOMAIN|ADDRESS - add a line to the virtual mailbox map, and the domain to PF_DOMAINS
pf__add_map() {
	_pf_a=$(echo "$1" | tr 'A-Z' 'a-z')
	case $_pf_a in
	*/* | *@*@* | @* | *@ | '' | *[[:space:]]*) pf__err "bad domain or address: $1"; return 1 ;;
	*@*) printf '%s\t%s/%s/\n' "$_pf_a" "${_pf_a#*@}" "${_pf_a%@*}" >>"$PF_CONF/virtual_mailbox"
	     _pf_a=${_pf_a#*@} ;;
	*) printf '@%s\t%s/_any/\n' "$_pf_a" "$_pf_a" >>"$PF_CONF/virtual_mailbox" ;;
	esac
	case " $PF_DOMAINS " in
	*" $_pf_a "*) ;;
	*) PF_DOMAINS=${PF_DOMAINS:+$PF_DOMAINS }$_pf_a ;;
	esac
}

# pf_add_mailbox DOMAIN|ADDRESS... - like pf_setup's arguments, later; reloads
# a running instance (give it a moment: daemons restart after their current job)
pf_add_mailbox() {
	for _pf_a in "$@"; do
		pf__add_map "$_pf_a" || return 1
	done
	pf__backdate "$PF_CONF/virtual_mailbox"
	pf_postconf -e "virtual_mailbox_domains = $(echo $PF_DOMAINS | sed 's/ /, /g')" || return 1
	if pf_running; then pf_reload; fi
}

# pf__unix_connects PATH - true if a connect to the unix socket PATH succeeds
# (a socket file left by a killed milter refuses it)
pf__unix_connects() {
	perl -MIO::Socket::UNIX -e 'exit !IO::Socket::UNIX->new(Type => SOCK_STREAM(), Peer => $ARGV[0])' "$1" 2>/dev/null
}

# pf_wait_milter [TIMEOUT] - wait (default 10 s) until every milter in
# PF_MILTERS listens: an inet:HOST:PORT one on its port, a unix:PATH one
# accepts a connect (not merely: the socket file exists); a unix socket is then made connectable for the postfix user (chmod
# 0666). smtpd and cleanup run as postfix, and a socket made by a milter
# running as root with umask 022 (srwxr-xr-x) gets "connect to Milter service
# ...: Permission denied" and every message a 451.
pf_wait_milter() {
	_pf_lim=$((${1:-10} * 10))
	for _pf_m in $(echo "${PF_MILTERS:-}" | tr ',' ' '); do
		_pf_n=0
		while :; do
			case $_pf_m in
			unix:*) pf__unix_connects "${_pf_m#unix:}" && chmod 666 "${_pf_m#unix:}" && break ;;
			inet:*) pf__listening "${_pf_m##*:}" && break ;;
			*) pf__err "pf_wait_milter: cannot wait for $_pf_m"; return 1 ;;
			esac
			_pf_n=$((_pf_n + 1))
			[ "$_pf_n" -lt "$_pf_lim" ] || { pf__err "timeout: milter $_pf_m not listening"; return 1; }
			sleep 0.1
		done
	done
}

# pf_pids - pids of this instance's processes (master and its children):
# Postfix programs (/usr/lib/postfix/..., /usr/sbin/post*) with
# MAIL_CONFIG=$PF_CONF in their environment, which master and every daemon it
# spawns carry. Other programs that have it (a shell that exported it) are not
# counted, so pf_stop never kills them.
pf_pids() {
	[ -n "${PF_CONF:-}" ] || return 0
	for _pf_e in $(grep -lzxF -- "MAIL_CONFIG=$PF_CONF" /proc/[0-9]*/environ 2>/dev/null); do
		_pf_p=${_pf_e#/proc/}
		_pf_p=${_pf_p%/environ}
		case $(readlink "/proc/$_pf_p/exe" 2>/dev/null) in
		/usr/lib/postfix/* | /usr/sbin/post* | /usr/sbin/sendmail) echo "$_pf_p" ;;
		esac
	done
}

# pf_alive PID - true if process PID exists and is not a zombie
pf_alive() {
	[ -n "${1:-}" ] && [ -r "/proc/$1/stat" ] || return 1
	case $(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -c1) in
	'' | Z | X) return 1 ;;
	esac
	return 0
}

# pf_master_pid - the master's pid from its pid file (it may have exited)
pf_master_pid() {
	[ -n "${PF_QUEUE:-}" ] && [ -s "$PF_QUEUE/pid/master.pid" ] || return 1
	tr -dc 0-9 <"$PF_QUEUE/pid/master.pid"
	echo
}

# pf_running - true if this instance's master runs
pf_running() { pf_alive "$(pf_master_pid)"; }

# pf_start - start the instance; on a port clash (another run took the port
# between pf_setup and now) pick new ports and try again. Returns once both
# smtpd ports listen.
pf_start() {
	[ -n "${PF_CONF:-}" ] || { pf__err "pf_setup first"; return 1; }
	# a parallel run may have taken a port since pf_setup: re-pick now (a
	# clash still possible after this check costs a 3 s failed start and a retry)
	if pf__listening "$PF_PORT" || pf__listening "$PF_INJECT_PORT"; then
		pf__pick_ports $((PF_PORT + 2)) || return 1
		pf__write_master_cf
	fi
	_pf_try=1
	while :; do
		if postfix -c "$PF_CONF" start >"$PF_DIR/postfix-start.out" 2>&1; then
			break
		fi
		if [ "$_pf_try" -lt 5 ] && grep -qs 'Address already in use' "$PF_DIR/postfix-start.out" "$PF_LOG"; then
			pf_stop >/dev/null 2>&1
			pf__pick_ports $((PF_PORT + 10 + _pf_try * 7)) || return 1
			pf__write_master_cf
			_pf_try=$((_pf_try + 1))
			continue
		fi
		pf__err "postfix start failed:"
		cat "$PF_DIR/postfix-start.out" >&2
		tail -n 20 "$PF_LOG" >&2 2>/dev/null
		return 1
	done
	_pf_n=0
	while ! { pf__listening "$PF_PORT" && pf__listening "$PF_INJECT_PORT"; }; do
		_pf_n=$((_pf_n + 1))
		[ "$_pf_n" -le 100 ] || { pf__err "smtpd ports $PF_PORT/$PF_INJECT_PORT not listening"; return 1; }
		sleep 0.1
	done
}

# pf_stop [TIMEOUT] - stop the instance and wait (default 10 s) until all of
# its processes are gone; leftovers get SIGTERM, then SIGKILL. Safe to call
# when not started, or twice (e.g. from a trap).
pf_stop() {
	[ -n "${PF_CONF:-}" ] || return 0
	_pf_master=$(pf_master_pid)
	if pf_alive "$_pf_master"; then
		postfix -c "$PF_CONF" stop >/dev/null 2>&1
	fi
	_pf_n=0
	_pf_lim=$((${1:-10} * 10))
	while pf_alive "$_pf_master" || [ -n "$(pf_pids)" ]; do
		_pf_n=$((_pf_n + 1))
		if [ "$_pf_n" -ge "$_pf_lim" ]; then
			pf__err "processes left after postfix stop, killing: $(pf_pids | tr '\n' ' ')"
			{ pf_pids; pf_alive "$_pf_master" && echo "$_pf_master"; } | xargs -r kill -TERM 2>/dev/null
			sleep 0.5
			{ pf_pids; pf_alive "$_pf_master" && echo "$_pf_master"; } | xargs -r kill -KILL 2>/dev/null
			sleep 0.2
			break
		fi
		sleep 0.1
	done
	[ -z "$(pf_pids)" ] && ! pf_alive "$_pf_master"
}

# pf_reload - make the instance re-read main.cf, master.cf and the maps
# (after pf_postconf -e ...); returns once the daemons that ran before have
# exited, so the next connection gets the new configuration
pf_reload() {
	_pf_master=$(pf_master_pid)
	_pf_old=$(pf_pids | grep -vx -- "${_pf_master:-x}" | tr '\n' ' ')
	postfix -c "$PF_CONF" reload >/dev/null 2>&1 || { pf__err "postfix reload failed"; return 1; }
	_pf_n=0
	while :; do
		_pf_left=
		for _pf_p in $_pf_old; do
			pf_alive "$_pf_p" && _pf_left=1
		done
		[ -n "$_pf_left" ] || return 0
		_pf_n=$((_pf_n + 1))
		[ "$_pf_n" -lt 100 ] || { pf__err "reload: old daemons still running: $_pf_old"; return 1; }
		sleep 0.05
	done
}

# pf_postconf ARGS - postconf on this instance, e.g. pf_postconf -e 'smtpd_milters=inet:127.0.0.1:9999'
pf_postconf() {
	postconf -c "$PF_CONF" "$@" || return
	pf__backdate "$PF_CONF/main.cf" "$PF_CONF/master.cf"
}

pf_port() { echo "$PF_PORT"; }
pf_inject_port() { echo "$PF_INJECT_PORT"; }

# pf_maildir ADDRESS - the Maildir mail to ADDRESS is delivered to: its own,
# or its domain's catch-all <domain>/_any; non-zero if neither is in the map
pf_maildir() {
	_pf_a=$(echo "$1" | tr 'A-Z' 'a-z')
	if awk -v k="$_pf_a" '$1 == k { f = 1 } END { exit !f }' "$PF_CONF/virtual_mailbox"; then
		echo "$PF_MAIL/${_pf_a#*@}/${_pf_a%@*}"
	elif awk -v k="@${_pf_a#*@}" '$1 == k { f = 1 } END { exit !f }' "$PF_CONF/virtual_mailbox"; then
		echo "$PF_MAIL/${_pf_a#*@}/_any"
	else
		echo "$PF_MAIL/${_pf_a#*@}/${_pf_a%@*}"
		return 1
	fi
}

# pf_count MAILDIR - number of messages in MAILDIR/new
pf_count() {
	if [ -d "$1/new" ]; then
		find "$1/new" -type f | wc -l | tr -d ' '
	else
		echo 0
	fi
}

# pf_wait_delivered MAILDIR COUNT [TIMEOUT] - wait (default 10 s) until
# MAILDIR/new holds at least COUNT messages
pf_wait_delivered() {
	_pf_n=0
	_pf_lim=$((${3:-10} * 10))
	while [ "$(pf_count "$1")" -lt "$2" ]; do
		_pf_n=$((_pf_n + 1))
		if [ "$_pf_n" -ge "$_pf_lim" ]; then
			pf__err "timeout: $(pf_count "$1") of $2 messages in $1/new"
			return 1
		fi
		sleep 0.1
	done
}

# pf_flush - attempt delivery of all queued mail now, and make pickup scan
# maildrop (sendmail mail that a tempfailing non_smtpd milter left there
# would otherwise wait for pickup's next 60 s wakeup)
pf_flush() {
	postkick -c "$PF_CONF" public pickup W 2>/dev/null
	postqueue -c "$PF_CONF" -f
}

# pf_queue_empty - true if no message is queued (maildrop, incoming, active, deferred, hold)
pf_queue_empty() {
	for _pf_q in maildrop incoming active deferred hold; do
		[ -d "$PF_QUEUE/$_pf_q" ] || continue
		[ -z "$(find "$PF_QUEUE/$_pf_q" -type f | head -n 1)" ] || return 1
	done
	return 0
}

# pf_wait_queue_empty [TIMEOUT] - wait (default 10 s) until the queue is empty
pf_wait_queue_empty() {
	_pf_n=0
	_pf_lim=$((${1:-10} * 10))
	until pf_queue_empty; do
		_pf_n=$((_pf_n + 1))
		[ "$_pf_n" -lt "$_pf_lim" ] || { pf__err "timeout: queue not empty"; return 1; }
		sleep 0.1
	done
}

# pf_log - print the instance's log
pf_log() { cat "$PF_LOG" 2>/dev/null; }

# pf_log_grep PATTERN - true if the log has a line matching the extended regexp PATTERN
pf_log_grep() { grep -qE -- "$1" "$PF_LOG" 2>/dev/null; }

# pf_sendmail ARGS - the instance's sendmail, e.g. pf_sendmail -f a@x b@customer.example < msg
pf_sendmail() { /usr/sbin/sendmail -C "$PF_CONF" "$@"; }
