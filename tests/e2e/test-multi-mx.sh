#!/bin/sh
# test-multi-mx.sh BUILD - two MX hosts sharing one store: two private
# Postfix instances on loopback, one shadowmilter each, one database.
#   - a report at MX1 and a later one at MX2: MX2's notices carry MX1's
#     first detection and case reference;
#   - the same report accepted by both MXs makes one set of notices;
#   - MX1 killed right after it accepted a report: MX2 delivers its notices.
# Each MX hands its notices to its own Postfix (SMTP, the port without
# milters), so a customer's notices are counted across both instances.
# The shared store: SM_MX_STORE=sqlite (default today: both daemons on this
# machine name the same SQLite files).
# Ends with "N passed, N failed". Needs root (Postfix).
BUILD=${1:-build}
if [ "$(id -u)" != 0 ]; then
	command -v sudo >/dev/null 2>&1 && exec sudo -E sh "$0" "$@"
	echo "FAIL the multi-MX suite needs root (or sudo)"
	echo "0 passed, 1 failed"
	exit 1
fi
SM="$(pwd)/$BUILD/shadowmilter"
# the reports are DKIM-signed with the test key, and verified through TestPublicKeys
RL_SIGN="$(pwd)/$BUILD/dkimsign -k $(pwd)/tests/fixtures/dkim/test.private"
E2E="$(pwd)/tests/e2e"
. "$E2E/postfix-lib.sh"
. "$E2E/report-lib.sh"
. "$(pwd)/tests/ready.sh"
passed=0 failed=0
ok()   { passed=$((passed + 1)); echo "ok   $1"; }
fail() { failed=$((failed + 1)); echo "FAIL $1"; }
check() { name=$1; shift; if "$@"; then ok "$name"; else fail "$name"; fi; }
bail() { fail "$1"; echo "$passed passed, $failed failed"; exit 1; }

STORE=${SM_MX_STORE:-sqlite}
T=$(mktemp -d /tmp/sm-mx.XXXXXX)
chmod 755 "$T"
mkdir -p "$T/state" "$T/mail"
chmod 777 "$T/state"
SM1_PID="" SM2_PID=""
cleanup() {
	for p in $SM1_PID $SM2_PID; do kill "$p" 2>/dev/null; done
	for p in $SM1_PID $SM2_PID; do ready_gone "$p" 30 2>/dev/null; done
	pf_use 1 && pf_stop >/dev/null 2>&1
	pf_use 2 && pf_stop >/dev/null 2>&1
	[ -n "${SM_KEEP:-}" ] || rm -rf "$T"
}
trap cleanup EXIT

# --- two Postfix instances: postfix-lib.sh keeps one in PF_*; pf_use N swaps
PF_VARS="PF_DIR PF_CONF PF_QUEUE PF_DATA PF_MAIL PF_LOG PF_SENDMAIL PF_PORT PF_INJECT_PORT PF_DOMAINS PF_MILTERS"
pf_save() { for v in $PF_VARS; do eval "MX$1_$v=\${$v:-}"; done; }
pf_use()  { for v in $PF_VARS; do eval "$v=\${MX$1_$v:-}"; done; [ -n "$PF_CONF" ]; }

PF_NON_SMTPD_MILTERS=""
PF_MAIN_EXTRA="milter_mail_macros = i {mail_addr} {auth_type}"
PF_MILTERS="unix:$T/mx1.sock"
pf_setup "$T/pf1" ops.example cust.example >/dev/null || bail "postfix 1 setup"
pf_start >/dev/null || bail "postfix 1 start"
pf_save 1
PF_MILTERS="unix:$T/mx2.sock"
PF_PORT_BASE=$((MX1_PF_INJECT_PORT + 1))
pf_setup "$T/pf2" ops.example cust.example >/dev/null || bail "postfix 2 setup"
pf_start >/dev/null || bail "postfix 2 start"
pf_save 2

# --- the shared store
case $STORE in
sqlite) STATE_DB=$T/state/history.db OUTBOX_DB=$T/state/outbox.db ;;
*) bail "SM_MX_STORE=$STORE: sqlite" ;;
esac

rl_customers "$T/customers.csv" 1 200
# a port nothing listens on: an MX whose notices must wait
DEAD_PORT=$(pf_free_port $((MX2_PF_INJECT_PORT + 50)))

# write_conf N TRANSPORT_PORT - MX N's config; its notices go to TRANSPORT_PORT
write_conf() {
	cat >"$T/mx$1.conf" <<EOC
CustomerMap         $T/customers.csv
TestPublicKeys      $(pwd)/tests/fixtures/dkim/keys
NoticeFrom          abuse@example.net
Socket              unix:$T/mx$1.sock
SocketMode          0666
UserID              nobody:nogroup
StateDB             $STATE_DB
OutboxDB            $OUTBOX_DB
Transport           smtp:127.0.0.1:$2
DeliverInterval     1
RetryInterval       1
DeliveryLease       5s
EOC
}
# start_mx N - start MX N's daemon; ready at its "listening on" line
start_mx() {
	sm_start "$T/mx$1.log" "$T/mx$1.conf" 120 || { echo "mx$1 did not start:"; tail -n 20 "$T/mx$1.log"; return 1; }
	eval "SM$1_PID=\$SM_PID"
}
# stop_mx N [SIG] - stop it (SIGTERM, or SIG) and wait until it is gone
stop_mx() {
	eval "_p=\$SM$1_PID"
	[ -n "$_p" ] || return 0
	kill -"${2:-TERM}" "$_p" 2>/dev/null
	ready_gone "$_p" 60
	wait "$_p" 2>/dev/null
	eval "SM$1_PID="
}
# send N FILE - send FILE by SMTP to MX N (as from the Internet); true if 250
send() {
	pf_use "$1"
	[ "$(perl "$E2E/slow-smtp.pl" "$PF_PORT" autoreports@shadowserver.org ops@ops.example "$2" "$T/no-pause" 2>"$T/send.err" | head -n 1)" = 250 ]
}
# notices ACCOUNT - the notice files of ACCOUNT delivered by either MX
notices() {
	for _d in "$MX1_PF_MAIL/cust.example/_any/new" "$MX2_PF_MAIL/cust.example/_any/new"; do
		[ -d "$_d" ] && grep -lx "X-Shadowmilter-Account: $1" "$_d"/* 2>/dev/null
	done
	return 0
}
count() { notices "$1" | wc -l | tr -d ' '; }
# wait_notices FIRST LAST [TIMEOUT] - until accounts FIRST..LAST have a notice each
wait_notices() {
	_n=0
	_lim=$((${3:-60} * 5))
	while :; do
		_missing=0
		_a=$1
		while [ "$_a" -le "$2" ]; do
			[ "$(count "$(rl_account "$_a")")" -ge 1 ] || { _missing=1; break; }
			_a=$((_a + 1))
		done
		[ "$_missing" = 1 ] || return 0
		_n=$((_n + 1))
		[ "$_n" -lt "$_lim" ] || return 1
		sleep 0.2
	done
}
# exactly_one FIRST LAST - every account FIRST..LAST has exactly one notice
exactly_one() {
	_a=$1
	_bad=""
	while [ "$_a" -le "$2" ]; do
		_c=$(count "$(rl_account "$_a")")
		[ "$_c" = 1 ] || _bad="$_bad $(rl_account "$_a"):$_c"
		_a=$((_a + 1))
	done
	[ -z "$_bad" ] || echo "     notices per account:$_bad"
	[ -z "$_bad" ]
}
# settle - give a late double time to arrive: both queues empty, then 3 s
settle() {
	pf_use 1 && pf_wait_queue_empty 30 2>/dev/null
	pf_use 2 && pf_wait_queue_empty 30 2>/dev/null
	sleep 3
}
header_of() { sed -n "s/^$1: //p" "$2" | head -n 1; }

write_conf 1 "$MX1_PF_INJECT_PORT"
write_conf 2 "$MX2_PF_INJECT_PORT"
start_mx 1 || bail "mx1 start"
start_mx 2 || bail "mx2 start"
pf_use 1 && pf_wait_milter 60 >/dev/null || bail "postfix 1 reaches mx1"
pf_use 2 && pf_wait_milter 60 >/dev/null || bail "postfix 2 reaches mx2"
echo "     store: $STORE"

# 1. a report at MX1, a later one at MX2: MX2's notices know MX1's first detection
: >"$T/r1"; rl_rows "$T/r1" 1 3 2026-11-10
rl_report "$T/m1.eml" mx-first@reports.shadowserver.org 2026-11-10 "2026-11-10-scan_portmapper-mx.csv=$T/r1"
: >"$T/r2"; rl_rows "$T/r2" 1 3 2026-11-24
rl_report "$T/m2.eml" mx-later@reports.shadowserver.org 2026-11-24 "2026-11-24-scan_portmapper-mx.csv=$T/r2"
check "report of 2026-11-10 accepted by MX1" send 1 "$T/m1.eml"
wait_notices 1 3 60
check "MX1 notified each of its customers" exactly_one 1 3
FIRST=$(notices c0000001)
check "report of 2026-11-24 accepted by MX2" send 2 "$T/m2.eml"
n=0; while [ "$(count c0000001)" -lt 2 ] && [ $n -lt 300 ]; do sleep 0.2; n=$((n + 1)); done
LATER=$(notices c0000001 | grep -vxF "$FIRST" | head -n 1)
check "MX2 sent the later notice" test -n "$LATER"
check "MX2's notice carries MX1's first detection" grep -q '^10\.0\.0\.1:111 (UDP) detected at 2026-11-24 .*(first detected 2026-11-10)' "$LATER"
REF1=$(header_of X-Shadowmilter-Reference "$FIRST")
check "MX2's notice carries MX1's case reference ($REF1)" test -n "$REF1" -a "$(header_of X-Shadowmilter-Reference "$LATER")" = "$REF1"
REFS=$(for a in c0000001 c0000002 c0000003; do header_of X-Shadowmilter-Reference "$(notices $a | head -n 1)"; done | sort -u | wc -l)
check "each customer has its own case reference" test "$REFS" -eq 3

# 2. the same report accepted by both MXs (the sender retried at the other MX): one set of notices
: >"$T/r3"; rl_rows "$T/r3" 11 4 2026-11-25
rl_report "$T/m3.eml" mx-both@reports.shadowserver.org 2026-11-25 "2026-11-25-scan_portmapper-both.csv=$T/r3"
check "the report accepted by MX1" send 1 "$T/m3.eml"
check "the same report accepted by MX2" send 2 "$T/m3.eml"
wait_notices 11 14 60
settle
check "one set of notices for a report both MXs accepted" exactly_one 11 14

# 3. MX1 killed right after it accepted a report: MX2 delivers MX1's notices.
# MX1 cannot deliver (its notices go to a dead port), so every notice of the
# report is left for MX2.
stop_mx 1 || bail "mx1 stop"
write_conf 1 "$DEAD_PORT"
start_mx 1 || bail "mx1 restart"
pf_use 1 && pf_wait_milter 60 >/dev/null
: >"$T/r4"; rl_rows "$T/r4" 21 5 2026-11-26
rl_report "$T/m4.eml" mx-killed@reports.shadowserver.org 2026-11-26 "2026-11-26-scan_portmapper-killed.csv=$T/r4"
check "report accepted by MX1" send 1 "$T/m4.eml"
stop_mx 1 KILL
check "MX1 is gone" test -z "$SM1_PID"
wait_notices 21 25 180
settle
check "MX2 delivered every notice of MX1's report" exactly_one 21 25
check "they went out through MX2's Postfix" test "$(grep -lE '^X-Shadowmilter-Account: c000002[1-5]$' "$MX2_PF_MAIL/cust.example/_any/new/"* | wc -l)" -eq 5

if [ "$failed" -ne 0 ]; then
	for n in 1 2; do echo "--- mx$n log"; tail -n 25 "$T/mx$n.log"; done
	[ -f "$T/deliver.out" ] && { echo "--- deliver"; tail -n 10 "$T/deliver.out"; }
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
