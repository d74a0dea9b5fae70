#!/bin/sh
# test-milter-sendmail.sh BUILD - shadowmilter in a real Sendmail: Debian's
# packages unpacked into a temporary directory (sendmail-lib.sh), a .cf built
# with m4 from contrib/sendmail.mc, listening on loopback and relaying every
# message to a private Postfix (postfix-lib.sh) that delivers into Maildirs.
# Reports and ordinary mail go in by SMTP to Sendmail; the milter's notices
# go back through Sendmail too (Transport smtp: to its port). Checks: the
# notices, the tagged ops copy, Sendmail queue ids in the milter's log,
# ordinary mail untouched, F=T tempfail with the milter killed or down and
# exactly one more notice after the retry, a redelivered report, SIGHUP
# reload, notices held while Sendmail is down.
# Ends with "N passed, N failed". Needs root; the Sendmail packages come from
# Debian's registry the first time (apt-get download, cached in
# $SENDMAIL_DEB_CACHE, default BUILD/sendmail-debs).
BUILD=${1:-build}
SM="$(pwd)/$BUILD/shadowmilter"
E2E="$(pwd)/tests/e2e"
. "$E2E/postfix-lib.sh"
. "$E2E/sendmail-lib.sh"
. "$(pwd)/tests/ready.sh"
. "$E2E/milter-lib.sh"
ml_need_root Sendmail "$@"
# give_up WHAT - a step without which nothing else can be tested
give_up() {
	show_logs
	ml_give_up "$1"
}

ml_setup sm-sendmail
cleanup() {
	ml_cleanup
	sendmail_stop >/dev/null 2>&1
	pf_stop >/dev/null 2>&1
	[ -n "$SM_KEEP" ] || rm -rf "$T"
}
trap cleanup EXIT
show_logs() {
	echo "--- milter log"; tail -40 "$T/milter.log" 2>/dev/null
	echo "--- sendmail daemon output"; cat "${SENDMAIL_DIR:-/nonexistent}/daemon.out" 2>/dev/null
	[ -n "${SENDMAIL_CF:-}" ] && { echo "--- sendmail queue"; sendmail_mailq | tail -20; }
	echo "--- postfix log"; pf_log | tail -30
}

# ---- what makes a report trusted: the one place to switch --------------------
# The milter verifies DKIM itself (VerifyDKIM yes, the default): the bundled
# report is signed here with the throwaway test key (tests/fixtures/dkim/),
# whose public half the milter reads from TestPublicKeys instead of DNS
# (milter-lib.sh: ml_report signs, ml_conf names the keys); each report has a
# Message-ID and a file of its own (the milter makes a report file's notices once)

# ---- Postfix: the mailboxes (no milter there) --------------------------------
PF_MILTERS=""
PF_NON_SMTPD_MILTERS=""
pf_setup "$T/pf" ops@example.net ops@acme.example bob@bob.example alerts@bob.example \
    carol@carol.example dave@dave.example erin@erin.example rcpt@elsewhere.example >/dev/null ||
	give_up "postfix setup"
pf_start >/dev/null || give_up "postfix start"

# ---- Sendmail: Debian's packages, contrib/sendmail.mc, relaying to Postfix ----
sendmail_fetch "${SENDMAIL_DEB_CACHE:-$BUILD/sendmail-debs}" || give_up "fetch Debian's sendmail packages"
SENDMAIL_RELAY_PORT=$PF_PORT
SENDMAIL_MILTER_SOCKET="unix:$T/milter.sock"
sendmail_setup "$T/sendmail" "${SENDMAIL_DEB_CACHE:-$BUILD/sendmail-debs}" contrib/sendmail.mc ||
	give_up "sendmail setup (.cf from contrib/sendmail.mc)"
check "the .cf has the filter from contrib/sendmail.mc, F=T" \
	grep -qxF "Xshadowmilter, S=unix:$T/milter.sock, F=T, T=S:4m;R:4m;E:5m" "$SENDMAIL_CF"
check "the .cf sends the queue id at MAIL FROM" grep -qE '^O Milter\.macros\.envfrom=i,' "$SENDMAIL_CF"

# ---- the milter --------------------------------------------------------------
cp conf/customers.csv "$T/customers.csv"
ML_CUSTOMERS=$T/customers.csv
# write_config ORGANIZATION - notices go back through Sendmail; the socket keeps
# its default mode; the ops copy's subject is tagged, to see Sendmail apply it
write_config() {
	ml_conf milter "smtp:127.0.0.1:$SENDMAIL_PORT" ReportSubjectTag "[shadowmilter]" Organization "$1" \
	    NoticeFrom abuse@example.net
}
# log_count PATTERN - lines of the milter's log matching the extended regexp now
log_count() { ready_count "$T/milter.log" "$1"; }
# milter_down - true if a connect to the milter's socket is refused
milter_down() { ! ready_connect "unix:$T/milter.sock" 0 2>/dev/null; }
# start_milter - returns once its filter process logged "listening on" and
# the socket accepts a connection (after a kill -9 the old socket file stays)
start_milter() {
	ml_start milter 120 && ready_connect "unix:$T/milter.sock" 60
}
write_config "Example Hosting"
"$SM" -n -c "$T/milter.conf" >"$T/check.out" 2>&1 || { cat "$T/check.out"; give_up "shadowmilter -n"; }
start_milter || give_up "milter start"
# Sendmail's daemon runs as root: the default 0660 socket needs no group for it
check "the milter's socket has the default mode 0660" test "$(stat -c %a "$T/milter.sock")" = 660
sendmail_start || give_up "sendmail start"
check "Sendmail listens on its loopback port only" \
	test "$(sendmail_listening | tr '\n' ' ')" = "$(printf '0100007F:%04X ' "$SENDMAIL_PORT")"

# send FILE [FROM] [TO] - by SMTP to Sendmail; the final reply code in
# $T/smtp.out, its whole line in $T/reply
send() {
	perl "$E2E/slow-smtp.pl" "$SENDMAIL_PORT" "${2:-autoreports@shadowserver.org}" "${3:-ops@example.net}" \
	    "$1" "$T/no-pause" "$T/reply" >"$T/smtp.out" 2>&1
}
count() { pf_count "$(pf_maildir "$1")"; }
total() { find "$PF_MAIL" -path '*/new/*' -type f | wc -l | tr -d ' '; }
latest() { ls -t "$(pf_maildir "$1")/new/"* 2>/dev/null | head -n 1; }
# queue_id - Sendmail's queue id from "250 2.0.0 <id> Message accepted for delivery"
queue_id() { awk '$1 == "250" { print $3 }' "$T/reply"; }
# settled - the milter's outbox has handed every notice to Sendmail, and Sendmail and
# Postfix have passed on all they hold (60 s at most each): a count then shows what
# was NOT made (a wait, never a sleep)
settled() {
	ml_wait_outbox_empty milter 60 && sendmail_wait_queue_empty 60 && pf_wait_queue_empty 60 2>/dev/null
}

# 1. a report: one notice per customer with only its own findings, the tagged original for ops
ml_report first-1@reports.shadowserver.org "$T/first.eml"
# with the milter's own result headers planted by the sender, two of one name:
# they go (smfi_chgheader by index, as Sendmail counts them)
{ printf 'X-Shadowmilter-Result: notices=999 planted\nX-Shadowmilter-Unmatched: 10.9.9.9 planted\nX-Shadowmilter-Result: notices=998 planted\n'
  cat "$T/first.eml"; } >"$T/first-planted.eml"
send "$T/first-planted.eml"
check "report accepted by Sendmail" grep -q '^250$' "$T/smtp.out"
QID=$(queue_id)
ml_check_demo_notices
check "the notice went through Sendmail" grep -q 'by mx\.sendmail\.test' "$N"
check "the planted result headers are gone, ours stay" \
	test "$(grep -c '^X-Shadowmilter-Result:' "$O")/$(grep -c '^X-Shadowmilter-Unmatched:' "$O")/$(grep -c 'planted' "$O")" = "1/1/0"
check "ops copy subject is tagged" grep -q '^Subject: \[shadowmilter\] \[Example Hosting\]' "$O"
check "ops copy went through Sendmail" grep -q "by mx\\.sendmail\\.test .*id $QID" "$O"
settled
check "nobody else got mail (5 notices + the ops copy)" test "$(total)" -eq 6

# 2. the milter's log names Sendmail's queue id, for the report and for each notice it made
check "Sendmail gave a queue id" test -n "$QID"
check "the milter logs the report under Sendmail's queue id" test "$(log_count "^shadowmilter\\[[0-9]+\\]: $QID: ")" -ge 1
check "each notice's delivery is logged under the report's queue id" \
	test "$(log_count "$QID: notice [0-9]+ for .*: sent")" -eq 4
check "no line about a message lacks its queue id" test "$(log_count 'NOQUEUE')" -eq 0

# 3. ordinary mail arrives byte-identical: only the MTAs' trace fields added
printf 'From: Alice <alice@elsewhere.example>\nTo: rcpt@elsewhere.example\nSubject: hello\nDate: Thu, 26 Nov 2026 10:00:00 +0000\nMessage-ID: <plain-1@elsewhere.example>\n\nline one\n\tline two with tab\n.leading dot\n\nend\n' >"$T/plain.eml"
send "$T/plain.eml" alice@elsewhere.example rcpt@elsewhere.example
check "ordinary mail accepted" grep -q '^250$' "$T/smtp.out"
pf_wait_delivered "$(pf_maildir rcpt@elsewhere.example)" 1 60 2>/dev/null
P=$(latest rcpt@elsewhere.example)
# the header fields the MTAs add on the way, with their continuation lines
strip_trace() {
	tr -d '\r' <"$1" | awk 'body { print; next }
		/^$/ { body = 1; print; next }
		/^[ \t]/ { if (!skip) print; next }
		{ skip = ($0 ~ /^(Received|Return-Path|Delivered-To|X-Original-To):/); if (!skip) print }'
}
strip_trace "$P" >"$T/got.eml"
check "ordinary mail is byte-identical (headers and body)" cmp -s "$T/plain.eml" "$T/got.eml"
check "ordinary mail has no shadowmilter header" sh -c "! grep -qi '^X-Shadowmilter' '$P'"

# 4. a report without trusted authentication makes no notices
ml_report forged-1@evil.example "$T/forged.eml" bare
send "$T/forged.eml"
check "unauthenticated report accepted" grep -q '^250$' "$T/smtp.out"
pf_wait_delivered "$(pf_maildir ops@example.net)" 2 60 2>/dev/null
O=$(latest ops@example.net)
check "unauthenticated report reaches ops marked none" grep -q '^X-Shadowmilter-Result: none;' "$O"
settled
check "unauthenticated report made no notices" test "$(count ops@acme.example)" -eq 1

# 5. F=T: the milter killed mid-message, then down: Sendmail says 4xx and keeps nothing
ml_report killed-1@reports.shadowserver.org "$T/second.eml"
# the client says when it is half way through DATA; the milter has seen MAIL FROM and RCPT
check "the slow client is mid-message" ml_send_paused "$SENDMAIL_PORT" "$T/second.eml"
check "the milter is killed, supervisor and filter process" ml_stop milter KILL 30
check "the milter is down" milter_down
ml_resume
check "milter killed mid-message: Sendmail answers 451 at end of data" grep -q '^451$' "$T/slow.out"
send "$T/second.eml"
check "milter down: Sendmail answers 451 4.3.2 at MAIL FROM (F=T)" grep -q '^MAIL refused: 451 4\.3\.2 ' "$T/smtp.out"
check "Sendmail queued nothing it refused" sendmail_queue_empty
start_milter || give_up "milter restart"
send "$T/second.eml"
check "the retry is accepted" grep -q '^250$' "$T/smtp.out"
pf_wait_delivered "$(pf_maildir ops@acme.example)" 2 60 2>/dev/null
pf_wait_delivered "$(pf_maildir dave@dave.example)" 2 60 2>/dev/null
settled
check "after the retry exactly one more notice for acme" test "$(count ops@acme.example)" -eq 2
check "after the retry exactly one more notice for dave" test "$(count dave@dave.example)" -eq 2

# 6. the same report again (a sender's retry after a lost answer): accepted, no new notice
send "$T/second.eml"
check "a redelivered report is accepted" grep -q '^250$' "$T/smtp.out"
pf_wait_delivered "$(pf_maildir ops@example.net)" 4 60 2>/dev/null
check "its ops copy says the notices were made before" grep -q '^X-Shadowmilter-Result: notices=4 duplicates=4 ' "$(latest ops@example.net)"
check "a redelivered report makes no new notice" test "$(count ops@acme.example)" -eq 2

# 7. SIGHUP reloads config and customer map; the same supervisor keeps running
printf '203.0.113.0/24,erin,erin@erin.example,\n' >>"$T/customers.csv"
write_config "Reloaded Hosting"
RELOADS=$(log_count 'reloaded ')
kill -HUP "$(ml_pid milter)"
check "SIGHUP: the milter logs the reload" ready_log "$T/milter.log" 'reloaded ' "$RELOADS" 60 "$(ml_pid milter)"
check "SIGHUP: the supervisor is still the same process" kill -0 "$(ml_pid milter)"
ml_report reload-1@reports.shadowserver.org "$T/third.eml"
send "$T/third.eml"
check "after the reload a report is accepted" grep -q '^250$' "$T/smtp.out"
pf_wait_delivered "$(pf_maildir erin@erin.example)" 1 60 2>/dev/null
check "after the reload the new customer gets a notice" test "$(count erin@erin.example)" -eq 1
check "after the reload notices speak for the new organisation" grep -q '^From: "Reloaded Hosting" <abuse@example.net>' "$(latest erin@erin.example)"
pf_wait_delivered "$(pf_maildir ops@example.net)" 5 60 2>/dev/null
check "after the reload nothing is unmatched" grep -q '^X-Shadowmilter-Result: notices=5 unmatched=0 ' "$(latest ops@example.net)"

# 8. Sendmail down: the notices wait in the outbox and go out through Sendmail once it is back
sendmail_stop >/dev/null 2>&1
check "Sendmail stopped" test -z "$(sendmail_pids)"
ml_report while-down-1@reports.shadowserver.org "$T/fourth.eml"
DEFERRED=$(log_count ': deferred')
check "a report taken while Sendmail is down (straight from miltertest)" ml_send_direct milter "$T/fourth.eml"
check "its notices are deferred" ready_log "$T/milter.log" ': deferred' "$DEFERRED" 60 "$(ml_pid milter)"
sendmail_start || give_up "sendmail restart"
for a in ops@acme.example erin@erin.example; do
	pf_wait_delivered "$(pf_maildir "$a")" $(($(count "$a") + 1)) 90 2>/dev/null
done
settled
check "once Sendmail is back, one notice each (acme)" test "$(count ops@acme.example)" -eq 4
check "once Sendmail is back, one notice each (erin)" test "$(count erin@erin.example)" -eq 2

[ "$failed" -eq 0 ] || show_logs
ml_summary
