#!/bin/sh
# test-postfix-harness - self-test of tests/e2e/postfix-lib.sh: a private
# Postfix instance on loopback starts, accepts and delivers mail for the test
# domains (SMTP, the milter-less injection port, sendmail), refuses relaying,
# wires smtpd_milters in, and stops without leaving a process behind.
# Needs root (or sudo); tests/run.sh runs it before the suites that use the
# library. Installs postfix and swaks if missing. Safe to run repeatedly and
# several at once. Ends with "N passed, N failed"; exit status 1 on a failure.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/postfix-lib.sh"

if [ "$(id -u)" != 0 ]; then
	command -v sudo >/dev/null 2>&1 && exec sudo -E sh "$0" "$@"
	echo "FAIL test-postfix-harness needs root (postfix start does)"
	echo "0 passed, 1 failed"
	exit 1
fi
sh "$HERE/install-postfix.sh" || exit 1

pass=0
fail=0
ok() { pass=$((pass + 1)); echo "ok   $*"; }
bad() { fail=$((fail + 1)); echo "FAIL $*"; }
check() { # check NAME COMMAND... - ok if COMMAND succeeds
	_name=$1
	shift
	if "$@"; then ok "$_name"; else bad "$_name"; fi
}

sysstate() { # what the system's Postfix has: must not change
	ls -l --time-style=+%s.%N /etc/postfix /var/spool/postfix 2>/dev/null
}

T=$(mktemp -d "${TMPDIR:-/tmp}/pfharness.XXXXXX") || exit 1
cleanup() {
	pf_stop 5 >/dev/null 2>&1
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP
before=$(sysstate)

# swaks_to PORT RCPT TOKEN - one message; its transcript in $T/swaks.out
swaks_to() {
	swaks --server 127.0.0.1 --port "$1" --from sender@ops.example --to "$2" \
		--helo client.test.example --header "Subject: harness $3" --body "token $3" \
		--timeout 10 >"$T/swaks.out" 2>&1
}
has_token() { # has_token MAILDIR TOKEN
	grep -qs "token $2" "$1"/new/*
}
dump_log() { sed 's/^/    log: /' "$PF_LOG" | tail -n 15; }

# --- setup and start -------------------------------------------------------
PF_MILTERS=
check "pf_setup" pf_setup "$T" customer.example ops.example alice@acme.example
check "main.cf has no milter" test -z "$(pf_postconf -h smtpd_milters)"
if pf_start; then ok "pf_start (port $(pf_port), injection port $(pf_inject_port))"; else
	bad "pf_start"
	echo "$pass passed, $fail failed"
	exit 1
fi
check "master runs" pf_running
check "smtpd listens on 127.0.0.1 only" sh -c \
	"ss -Hltn 'sport = :$PF_PORT' | awk '{ print \$4 }' | grep -qx '127.0.0.1:$PF_PORT' &&
	 ! ss -Hltn 'sport = :$PF_PORT' | awk '{ print \$4 }' | grep -vqx '127.0.0.1:$PF_PORT'"

# --- SMTP delivery to a catch-all domain ------------------------------------
tok=$$-smtp
box=$(pf_maildir user@customer.example)
if swaks_to "$PF_PORT" user@customer.example "$tok" && grep -q '^<-  250 .*queued as' "$T/swaks.out"; then
	ok "SMTP message to user@customer.example accepted"
else
	bad "SMTP message to user@customer.example accepted"
	sed 's/^/    /' "$T/swaks.out"
fi
if pf_wait_delivered "$box" 1 10 && has_token "$box" "$tok"; then
	ok "delivered to Maildir $box"
else
	bad "delivered to Maildir $box"
	dump_log
fi

# --- address-only domain: listed address yes, others no ----------------------
tok=$$-alice
swaks_to "$PF_PORT" alice@acme.example "$tok"
check "listed address alice@acme.example delivered" \
	pf_wait_delivered "$(pf_maildir alice@acme.example)" 1 10
swaks_to "$PF_PORT" bob@acme.example x
check "unlisted bob@acme.example rejected (550)" grep -q '^<\*\* *550 .*User unknown' "$T/swaks.out"

# --- relaying is refused ------------------------------------------------------
swaks_to "$PF_PORT" someone@outside.invalid x
if grep -q '^<\*\* *554 .*Relay access denied' "$T/swaks.out"; then
	ok "relay to someone@outside.invalid rejected"
else
	bad "relay to someone@outside.invalid rejected"
	sed 's/^/    /' "$T/swaks.out"
fi

# --- sendmail injection (postdrop -> maildrop -> pickup), as root -----------
tok=$$-sendmail
box=$(pf_maildir sm@ops.example)
printf 'From: sender@ops.example\nTo: sm@ops.example\nSubject: harness sendmail\n\ntoken %s\n' "$tok" |
	"$PF_SENDMAIL" -f sender@ops.example sm@ops.example
check "sendmail wrapper exits 0" test $? = 0
if pf_wait_delivered "$box" 1 10 && has_token "$box" "$tok"; then
	ok "sendmail message delivered to $box"
else
	bad "sendmail message delivered to $box"
	dump_log
fi

# --- milter wiring: a dead milter tempfails the test port, not the injection port
pf_postconf -e "smtpd_milters = unix:$T/no-such-milter.sock" && pf_reload
swaks_to "$PF_PORT" user@customer.example x
check "dead milter on test port: 451 (milter_default_action = tempfail)" \
	grep -q '^<\*\* *451 ' "$T/swaks.out"
tok=$$-inject
box=$(pf_maildir user@customer.example)
swaks_to "$PF_INJECT_PORT" user@customer.example "$tok"
if pf_wait_delivered "$box" 2 10 && has_token "$box" "$tok"; then
	ok "injection port bypasses the milter, message delivered"
else
	bad "injection port bypasses the milter, message delivered"
	sed 's/^/    /' "$T/swaks.out"
	dump_log
fi

check "queue empty" pf_wait_queue_empty 10

# --- stop ---------------------------------------------------------------------
master=$(pf_master_pid)
check "pf_stop" pf_stop
check "no process of this instance left" test -z "$(pf_pids)"
check "master ($master) gone" eval '! pf_alive "$master"'
check "no master process for $PF_CONF" sh -c \
	"! grep -lzxF 'MAIL_CONFIG=$PF_CONF' /proc/[0-9]*/environ 2>/dev/null | grep -q ."
check "test port closed" sh -c "! ss -Hltn 'sport = :$PF_PORT' | grep -q ."
check "pf_stop again is harmless" pf_stop
check "system Postfix files untouched" test "$before" = "$(sysstate)"

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
