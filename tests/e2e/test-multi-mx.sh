#!/bin/sh
# test-multi-mx.sh BUILD - two MX hosts sharing one store: two private
# Postfix instances on loopback, one shadowmilter each, one database.
#   - a report at MX1 and a later one at MX2: MX2's notices carry MX1's
#     first detection and case reference;
#   - the same report accepted by both MXs makes one set of notices;
#   - MX1 killed right after it accepted a report: MX2 delivers its notices.
#   - several deliverers at once (both daemons, four "deliver" runs) send
#     each notice once;
#   - PostgreSQL down: a report is deferred (4xx), ordinary mail passes; back
#     up, the daemon reconnects by itself and the retried report is handled;
#   - a link-only report accepted by both MXs: fetched once, one set of
#     notices;
#   - (pg) the customer map is a table in the same PostgreSQL: a prefix moved
#     to another account with an UPDATE, both daemons sent SIGHUP, and the
#     next report's notice goes to the new owner only;
#   - a daily-digest account's three reports, at either MX (one at both):
#     "deliver --digest-now" at both MXs at once sends ONE digest mail;
# and on one host:
#   - a "shadowmilter deliver" run beside the daemon doubles nothing;
#   - a mail with two files of one type: each customer gets all its
#     findings, under distinct identities.
# Each MX hands its notices to its own Postfix (SMTP, the port without
# milters), so a customer's notices are counted across both instances.
# The shared store, SM_MX_STORE: pg (default; a private PostgreSQL from
# tests/e2e/pg-lib.sh, its URI in StateDB and OutboxDB of both), or sqlite
# (both daemons on this machine name the same SQLite file).
# Ends with "N passed, N failed". Needs root (Postfix).
BUILD=${1:-build}
case $BUILD in /*) ;; *) BUILD=$(pwd)/$BUILD ;; esac
SM=$BUILD/shadowmilter
# the reports are DKIM-signed with the test key, and verified through TestPublicKeys
RL_SIGN="$BUILD/dkimsign -k $(pwd)/tests/fixtures/dkim/test.private"
E2E="$(pwd)/tests/e2e"
. "$E2E/postfix-lib.sh"
. "$E2E/report-lib.sh"
. "$E2E/pg-lib.sh"
. "$(pwd)/tests/ready.sh"
. "$E2E/milter-lib.sh"
. "$E2E/fetch-lib.sh"
ml_need_root multi-MX "$@"
bail() { ml_give_up "$1"; }

STORE=${SM_MX_STORE:-pg}
ml_setup sm-mx
mkdir -p "$T/mail"
cleanup() {
	ml_cleanup
	pf_use 1 && pf_stop >/dev/null 2>&1
	pf_use 2 && pf_stop >/dev/null 2>&1
	pg_stop >/dev/null 2>&1
	fs_stop
	[ -n "${SM_KEEP:-}" ] || rm -rf "$T"
}
FS_PID=""
trap cleanup EXIT
# the test ShadowServer the link-only report of section 7 is fetched from
fs_start

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
pg) pg_start || bail "private PostgreSQL start"; STATE_DB=$PG_URI ;;
sqlite) STATE_DB=$T/state/shadowmilter.db ;;
*) bail "SM_MX_STORE=$STORE: pg or sqlite" ;;
esac

rl_customers "$T/customers.csv" 1 200
# one customer with a host in each of two networks (section 6)
printf '10.1.0.1/32,both,both@cust.example\n10.1.0.2/32,both,both@cust.example\n' >>"$T/customers.csv"
# with the pg store the map is a table in the same PostgreSQL (issue 19)
MAP_QUERY=""
if [ "$STORE" = pg ]; then
	pg_psql -c 'CREATE TABLE custmap (prefix cidr PRIMARY KEY, account text, email text)' \
	    -c 'GRANT SELECT ON custmap TO PUBLIC' >/dev/null || bail "the map table"
	pg_psql -c 'COPY custmap FROM STDIN WITH (FORMAT csv, HEADER)' <"$T/customers.csv" || bail "the map rows"
	MAP_QUERY="SELECT prefix, account, email FROM custmap"
fi
# a port nothing listens on: an MX whose notices must wait
DEAD_PORT=$(pf_free_port $((MX2_PF_INJECT_PORT + 50)))

# c0000141 takes a daily digest (AccountSettings digest daily; section 10)
printf 'account,digest\nc0000141,daily\n' >"$T/settings.csv" && chmod 644 "$T/settings.csv"
# write_conf N TRANSPORT_PORT - MX N's config; its notices go to TRANSPORT_PORT
ML_CUSTOMERS=$T/customers.csv
[ -z "$MAP_QUERY" ] || ML_CUSTOMERS=$PG_URI
ML_DB=$STATE_DB
write_conf() {
	ml_conf "mx$1" "smtp:127.0.0.1:$2" NoticeFrom abuse@example.net SocketMode 0666 DeliveryLease 5s \
	    $FS_TRUST FetchTimeout 10s AccountSettings "$T/settings.csv" \
	    ${MAP_QUERY:+CustomerMapQuery "$MAP_QUERY"}
}
# start_mx N - start MX N's daemon; ready at its "listening on" line
start_mx() {
	ml_start "mx$1" 120 || { echo "mx$1 did not start:"; tail -n 20 "$T/mx$1.log"; return 1; }
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
ml_stop mx1 || bail "mx1 stop"
write_conf 1 "$DEAD_PORT"
start_mx 1 || bail "mx1 restart"
pf_use 1 && pf_wait_milter 60 >/dev/null
: >"$T/r4"; rl_rows "$T/r4" 21 5 2026-11-26
rl_report "$T/m4.eml" mx-killed@reports.shadowserver.org 2026-11-26 "2026-11-26-scan_portmapper-killed.csv=$T/r4"
check "report accepted by MX1" send 1 "$T/m4.eml"
check "MX1 is gone" ml_stop mx1 KILL
wait_notices 21 25 180
settle
check "MX2 delivered every notice of MX1's report" exactly_one 21 25
check "they went out through MX2's Postfix" test "$(grep -lE '^X-Shadowmilter-Account: c000002[1-5]$' "$MX2_PF_MAIL/cust.example/_any/new/"* | wc -l)" -eq 5

# 4. one host: a "shadowmilter deliver" run beside the daemon doubles nothing
write_conf 1 "$MX1_PF_INJECT_PORT"
start_mx 1 || bail "mx1 restart"
ml_stop mx2 || bail "mx2 stop"
pf_use 1 && pf_wait_milter 60 >/dev/null
: >"$T/r5"; rl_rows "$T/r5" 31 30 2026-11-27
rl_report "$T/m5.eml" mx-deliver@reports.shadowserver.org 2026-11-27 "2026-11-27-scan_portmapper-deliver.csv=$T/r5"
check "report accepted by MX1 alone" send 1 "$T/m5.eml"
runuser -u nobody -- "$SM" deliver -c "$T/mx1.conf" >"$T/deliver.out" 2>&1
check "the deliver run ran" grep -q '^delivered [0-9]*, deferred [0-9]*, failed [0-9]*$' "$T/deliver.out"
wait_notices 31 60 120
settle
check "deliver beside the daemon: each notice once" exactly_one 31 60

# 5. several deliverers at once send each notice once: 30 notices wait in
# the store (their MX could not deliver them); then both daemons and four
# "deliver" runs start together
ml_stop mx1 || bail "mx1 stop"
ml_stop mx2 || bail "mx2 stop"
write_conf 1 "$DEAD_PORT"
start_mx 1 || bail "mx1 restart"
pf_use 1 && pf_wait_milter 60 >/dev/null
before=$(ready_count "$T/mx1.log" 'notice [0-9]+ for c00000(6[1-9]|[7-8][0-9]|90) .*deferred')
: >"$T/r6"; rl_rows "$T/r6" 61 30 2026-11-28
rl_report "$T/m6.eml" mx-many@reports.shadowserver.org 2026-11-28 "2026-11-28-scan_portmapper-many.csv=$T/r6"
check "report accepted by MX1 (which cannot deliver)" send 1 "$T/m6.eml"
check "MX1 tried each notice and deferred it" ready_log "$T/mx1.log" 'notice [0-9]+ for c00000(6[1-9]|[7-8][0-9]|90) .*deferred' $((before + 29)) 120
ml_stop mx1 || bail "mx1 stop"
sleep 3	# the deferred notices are due again
write_conf 1 "$MX1_PF_INJECT_PORT"
pids=""
for c in 1 2 1 2; do
	runuser -u nobody -- "$SM" deliver -c "$T/mx$c.conf" >>"$T/deliver-many.out" 2>&1 &
	pids="$pids $!"
done
start_mx 1 || bail "mx1 restart"
start_mx 2 || bail "mx2 restart"
for p in $pids; do wait "$p"; done
check "four deliver runs ran" test "$(grep -c '^delivered [0-9]*, deferred [0-9]*, failed [0-9]*$' "$T/deliver-many.out")" -eq 4
wait_notices 61 90 120
settle
check "six deliverers at once: each notice once" exactly_one 61 90

# 6. one host: two files of one type in one mail; the customer with hosts in
# both gets all of its findings, each notice under its own identity
: >"$T/r7a"; rl_rows "$T/r7a" 101 1 2026-11-29; echo "10.1.0.1 2026-11-29 10:00:01" >>"$T/r7a"
: >"$T/r7b"; rl_rows "$T/r7b" 102 1 2026-11-29; echo "10.1.0.2 2026-11-29 10:00:02" >>"$T/r7b"
rl_report "$T/m7.eml" mx-twofiles@reports.shadowserver.org 2026-11-29 \
	"2026-11-29-scan_portmapper-net1.csv=$T/r7a" "2026-11-29-scan_portmapper-net2.csv=$T/r7b"
check "a report with two portmapper files accepted" send 1 "$T/m7.eml"
wait_notices 101 102 60
# told ACCOUNT REGEX - a notice of ACCOUNT has a line matching REGEX
told() { notices "$1" | while read -r f; do cat "$f"; done | grep -qE -- "$2"; }
n=0; until told both '^10\.1\.0\.1:111' && told both '^10\.1\.0\.2:111'; do
	n=$((n + 1)); [ $n -lt 150 ] || break; sleep 0.2; done
settle
check "the customer of both files is told of its host in the first" told both '^10\.1\.0\.1:111 \(UDP\)'
check "and of its host in the second" told both '^10\.1\.0\.2:111 \(UDP\)'
check "its notices have distinct Message-IDs" test "$(notices both | while read -r f; do header_of Message-ID "$f"; done | sort | uniq -d | wc -l)" -eq 0
check "each finding is listed once" test "$(notices both | while read -r f; do cat "$f"; done | grep -c '^10\.1\.0\.[12]:111 (UDP)')" -eq 2
check "the other customers of the two files: one notice each" exactly_one 101 102
# 7. a link-only report accepted by both MXs (the sender retried at the other):
# one fetch job in the shared store, fetched by one daemon, one set of notices
: >"$T/r9"; rl_rows "$T/r9" 121 4 2026-12-01
rl__csv "$T/r9" >"$T/srv/files/mx-link"
echo 2026-12-01-scan_portmapper-link.csv >"$T/srv/files/mx-link.name"
rl_link_report "$T/m9.eml" mx-link@reports.shadowserver.org 2026-12-01 "https://localhost:$HTTPS/mx-link"
check "a link-only report accepted by MX1" send 1 "$T/m9.eml"
check "the same link-only report accepted by MX2" send 2 "$T/m9.eml"
wait_notices 121 124 60
settle
check "the link both MXs accepted: one set of notices" exactly_one 121 124
check "... its file asked for once (the server's request log)" test "$(asked /mx-link)" -eq 1
check "... fetched by one of the two daemons" \
    test "$(cat "$T/mx1.log" "$T/mx2.log" | grep -c 'report link https://localhost:[0-9]*/mx-link .*: fetched: notices=4')" -eq 1

# 8. the database down: report mail is deferred with a reason, ordinary mail
# passes; back up, the daemons reconnect by themselves
if [ "$STORE" = pg ]; then
	pg_down immediate
	pg_is_down() { ! pg_ready; }	# pg_ready is this shell's function: not for "sh -c"
	check "PostgreSQL is down" pg_is_down
	: >"$T/r8"; rl_rows "$T/r8" 111 3 2026-11-30
	rl_report "$T/m8.eml" mx-dbdown@reports.shadowserver.org 2026-11-30 "2026-11-30-scan_portmapper-dbdown.csv=$T/r8"
	pf_use 1
	perl "$E2E/slow-smtp.pl" "$PF_PORT" autoreports@shadowserver.org ops@ops.example "$T/m8.eml" "$T/no-pause" >"$T/down.out" 2>&1
	check "a report while the database is down gets a 4xx" grep -q '^4' "$T/down.out"
	check "and the log says why" grep -q 'report not handled, sender must retry' "$T/mx1.log"
	printf 'From: alice@elsewhere.example\nTo: x@cust.example\nSubject: plain\n\nordinary mail\n' >"$T/plain.eml"
	before=$(pf_count "$MX1_PF_MAIL/cust.example/_any")
	perl "$E2E/slow-smtp.pl" "$PF_PORT" alice@elsewhere.example x@cust.example "$T/plain.eml" "$T/no-pause" >"$T/plain.out" 2>&1
	check "ordinary mail passes while the database is down" grep -q '^250$' "$T/plain.out"
	pf_wait_delivered "$MX1_PF_MAIL/cust.example/_any" $((before + 1)) 30 2>/dev/null
	check "and is delivered" test "$(pf_count "$MX1_PF_MAIL/cust.example/_any")" -gt "$before"
	pg_up || bail "PostgreSQL restart"
	n=0; until send 1 "$T/m8.eml"; do n=$((n + 1)); [ $n -lt 30 ] || break; sleep 1; done
	check "once it is back, the retried report is accepted" test $n -lt 30
	check "without a restart of the daemon" kill -0 "$(ml_pid mx1)"
	wait_notices 111 113 60
	settle
	check "and its notices sent once" exactly_one 111 113

	# 9. a prefix moves: c0000131's host given to c0000132 by an UPDATE of the
	# map table; SIGHUP; the next report's notice goes to the new owner only
	: >"$T/r20"; rl_rows "$T/r20" 131 2 2026-12-01
	rl_report "$T/m20.eml" mx-before-move@reports.shadowserver.org 2026-12-01 "2026-12-01-scan_portmapper-premove.csv=$T/r20"
	check "a report before the move accepted" send 2 "$T/m20.eml"
	wait_notices 131 132 60
	settle
	check "before the move, each owner has its notice" exactly_one 131 132
	pg_psql -c "UPDATE custmap SET account = 'c0000132', email = 'c0000132@cust.example' WHERE prefix = '10.0.0.131/32'" \
	    >/dev/null
	for m in 1 2; do
		before=$(ready_count "$T/mx$m.log" 'reloaded .*: 2[0-9][0-9] prefixes')
		kill -HUP "$(ml_pid mx$m)"
		check "mx$m logs the refreshed map after SIGHUP" ready_log "$T/mx$m.log" 'reloaded .*: 2[0-9][0-9] prefixes' "$before" 60
	done
	: >"$T/r21"; rl_rows "$T/r21" 131 2 2026-12-02
	rl_report "$T/m21.eml" mx-after-move@reports.shadowserver.org 2026-12-02 "2026-12-02-scan_portmapper-moved.csv=$T/r21"
	check "a report after the move accepted" send 1 "$T/m21.eml"
	n=0; while [ "$(count c0000132)" -lt 2 ] && [ $n -lt 300 ]; do sleep 0.2; n=$((n + 1)); done
	settle
	check "the old owner gets no notice after the move" test "$(count c0000131)" -eq 1
	check "the new owner gets one more notice" test "$(count c0000132)" -eq 2
	MOVED=$(notices c0000132 | while read -r f; do grep -l '2026-12-02' "$f"; done | head -n 1)
	check "the new owner's notice names the moved host" grep -q '^10\.0\.0\.131:111 (UDP)' "${MOVED:-/dev/null}"
	check "and its own" grep -q '^10\.0\.0\.132:111 (UDP)' "${MOVED:-/dev/null}"
fi

# 10. a daily-digest account (issue 19): c0000141's reports of three types
# (scan_docker critical, scan_ssh and scan_ftp informational) arrive at
# either MX, the first at both; nothing goes out on its own. Then
# "deliver --digest-now" at both MXs at once: ONE digest mail, ACTION REQUIRED
n=0
for t in scan_docker scan_ssh scan_ftp; do
	n=$((n + 1))
	: >"$T/rd$n"; rl_rows "$T/rd$n" 141 1 2026-12-03
	rl_report "$T/md$n.eml" "mx-digest-$t@reports.shadowserver.org" 2026-12-03 "2026-12-03-$t-digest.csv=$T/rd$n"
	check "digest account: the $t report accepted" send $((n % 2 + 1)) "$T/md$n.eml"
done
check "... the scan_docker report accepted at the other MX too" send 1 "$T/md1.eml"
settle
check "... and nothing sent to it on its own" test "$(count c0000141)" -eq 0
pids=""
for c in 1 2; do
	runuser -u nobody -- "$SM" deliver -c "$T/mx$c.conf" --digest-now >>"$T/deliver-digest.out" 2>&1 &
	pids="$pids $!"
done
for p in $pids; do wait "$p"; done
check "two deliver --digest-now at once both ran" \
    test "$(grep -c '^delivered [0-9]*, deferred [0-9]*, failed [0-9]*$' "$T/deliver-digest.out")" -eq 2
wait_notices 141 141 60
settle
check "two MX hosts building at once: one digest mail" exactly_one 141 141
DG=$(notices c0000141 | head -n 1)
check "... ACTION REQUIRED, of three reports" grep -q '^Subject: \[ACTION REQUIRED\] Security digest for .*: 3 reports$' \
    "${DG:-/dev/null}"
check "... the host in each of its three sections" test "$(grep -c '^    10\.0\.0\.141:111' "${DG:-/dev/null}")" -eq 3

if [ "$failed" -ne 0 ]; then
	for n in 1 2; do echo "--- mx$n log"; tail -n 25 "$T/mx$n.log"; done
	[ -f "$T/deliver.out" ] && { echo "--- deliver"; tail -n 10 "$T/deliver.out"; }
fi
ml_summary
