#!/bin/sh
# test-milter-postfix.sh BUILD - shadowmilter in a real, private Postfix on
# loopback: reports sent by SMTP, notices in the customers' Maildirs, the
# original in the ops mailbox with the result (its DKIM signature intact),
# ordinary mail untouched, forged reports
# ignored, a milter killed mid-message, a delivery target that was down,
# and the customer map as a table in a private PostgreSQL: a prefix moved
# to another account by an UPDATE and a SIGHUP, the next notice to the new
# owner only; a daily-digest account gets one mail for three reports.
# Ends with "N passed, N failed". Needs root (Postfix) and tests/e2e/install-postfix.sh.
BUILD=${1:-build}
SM="$(pwd)/$BUILD/shadowmilter"
E2E="$(pwd)/tests/e2e"
. "$E2E/postfix-lib.sh"
. "$(pwd)/tests/ready.sh"
. "$E2E/milter-lib.sh"
. "$E2E/pg-lib.sh"
. "$E2E/report-lib.sh"
# Postfix needs root to start; as another user, ask sudo once
ml_need_root Postfix "$@"

ml_setup sm-e2e
cleanup() {
	ml_cleanup
	pf_stop >/dev/null 2>&1
	pg_stop >/dev/null 2>&1
	[ -n "$SM_KEEP" ] || rm -rf "$T"
}
trap cleanup EXIT

PF_MILTERS="unix:$T/milter.sock"
PF_NON_SMTPD_MILTERS=""
PF_MAIN_EXTRA="milter_default_action = tempfail
milter_mail_macros = i {mail_addr} {auth_type}"
pf_setup "$T/pf" ops@example.net ops@acme.example bob@bob.example alerts@bob.example \
    carol@carol.example dave@dave.example rcpt@elsewhere.example reseller@partner.example erin@erin.example >/dev/null ||
    ml_give_up "postfix setup"
# ops@example.net gets the reports; each customer address has its own Maildir

# a German account (issue 19): the customer map's language column gives dave German notices
awk -F, 'NR == 1 {print $1 "," $2 "," $3 ",language"; next} {print $1 "," $2 "," $3 "," ($2 == "dave" ? "de" : "")}' \
    conf/customers.csv >"$T/customers.csv" && chmod 644 "$T/customers.csv"
ML_CUSTOMERS=$T/customers.csv

# conf [KEY VALUE]... - the milter's config (notices back to Postfix), and KEY VALUE
conf() {
	ml_conf milter "smtp:127.0.0.1:$PF_INJECT_PORT" Organization "Example Hosting" NoticeFrom abuse@example.net \
	    SocketMode 0666 "$@"
}
# carol's reseller is copied on her notices (AccountSettings cc); erin (section 10) takes a daily digest
printf 'account,cc,digest\ncarol,reseller@partner.example,\nerin,,daily\n' >"$T/settings.csv" && chmod 644 "$T/settings.csv"
conf AccountSettings "$T/settings.csv"
send() {	# send FROM TO FILE: the file's lines exactly; the final reply code in $T/smtp.out
	perl "$E2E/slow-smtp.pl" "$PF_PORT" "$1" "$2" "$3" "$T/no-pause" >"$T/smtp.out" 2>&1
}
count() { pf_count "$(pf_maildir "$1")"; }
body_of() { sed '1,/^$/d' "$1"; }
latest() { ls -t "$(pf_maildir "$1")/new/"* 2>/dev/null | head -n 1; }
# result_has FILE TEXT - its X-Shadowmilter-Result header, unfolded, has TEXT
result_has() {
	awk '/^X-Shadowmilter-Result:/ {r = $0; on = 1; next} on && /^[ \t]/ {r = r $0; next} {on = 0} END {print r}' \
	    "$1" | grep -qF -e "$2"
}
# settled - the milter's outbox has handed every notice to Postfix and Postfix has
# delivered them all (60 s at most each): a count then shows what was NOT made
settled() { ml_wait_outbox_empty milter 60 && pf_wait_queue_empty 60 2>/dev/null; }

check "the milter starts and logs that it listens" ml_start milter
pf_start >/dev/null || { pf_log | tail -20; ml_give_up "postfix start"; }

# the reports are DKIM-signed, as ShadowServer signs them, with the test key
# (tests/fixtures/dkim/); shadowmilter verifies them itself through TestPublicKeys
ml_sign tests/fixtures/demo-portmapper.eml "$T/demo.eml"

# 1. the report: one notice per customer, each with only its own findings; the original for ops
send autoreports@shadowserver.org ops@example.net "$T/demo.eml"
check "report accepted by Postfix" grep -q '^250$' "$T/smtp.out"
ml_check_demo_notices
D=$(latest dave@dave.example)
check "a German account gets a German notice" \
    sh -c 'grep -q "^Content-Language: de$" "$1" && grep -q "^Sehr geehrte Damen und Herren,$" "$1"' - "${D:-/nonexistent}"
check "... with its dates the German way" grep -q '^\[2001:db8:200:[0-9a-f:]*\]:111 (UDP) festgestellt am 24\.11\.2026 ' "${D:-/nonexistent}"
pf_wait_delivered "$(pf_maildir reseller@partner.example)" 1 60 2>/dev/null
check "the cc'd reseller receives carol's notice (AccountSettings cc)" test "$(count reseller@partner.example)" -eq 1
R=$(latest reseller@partner.example)
check "... carol's notice, the reseller in Cc" sh -c "grep -q '^To: carol@carol.example\$' '$R' &&
    grep -q '^Cc: reseller@partner.example\$' '$R' && grep -q '^X-Shadowmilter-Account: carol\$' '$R'"
check "carol's own copy names the reseller in Cc" grep -q '^Cc: reseller@partner.example$' "$(latest carol@carol.example)"
check "ops copy names the signature" grep -q 'auth="dkim' "$O"
check "ops copy subject is left alone" grep -q '^Subject: \[Example Hosting\] Shadowserver' "$O"
"$SM" replay -c "$T/milter.conf" --json "$O" >"$T/ops-replay.json" 2>&1
check "ops copy still verifies (replay of the ops mailbox)" grep -q '"authenticated":true' "$T/ops-replay.json"

# 2. ordinary mail arrives with its body byte-identical
printf 'From: Alice <alice@elsewhere.example>\nTo: rcpt@elsewhere.example\nSubject: hello\n\nline one\n\tline two with tab\n.leading dot\n\nend\n' >"$T/plain.eml"
send alice@elsewhere.example rcpt@elsewhere.example "$T/plain.eml"
pf_wait_delivered "$(pf_maildir rcpt@elsewhere.example)" 1 60 2>/dev/null
P=$(latest rcpt@elsewhere.example)
body_of "$T/plain.eml" >"$T/want.body"
body_of "$P" | tr -d '\r' >"$T/got.body"
check "ordinary mail body is byte-identical" cmp -s "$T/want.body" "$T/got.body"
check "ordinary mail has no shadowmilter header" sh -c "! grep -q '^X-Shadowmilter' '$P'"

# 3. a forged report (not signed; a "dkim=pass" Authentication-Results planted in
# the name of the site's verifier) makes no notices
ml_report forged-1@evil.example "$T/forged.eml" planted
send autoreports@shadowserver.org ops@example.net "$T/forged.eml"
pf_wait_delivered "$(pf_maildir ops@example.net)" 2 60 2>/dev/null
O=$(latest ops@example.net)
check "forged report reaches ops with the reason" grep -q '^X-Shadowmilter-Result: none; reason="unauthenticated' "$O"
settled
check "forged report made no notices" test "$(count ops@acme.example)" -eq 1

# 4. the milter killed mid-message: a 4xx; after restart and the client's retry, one set of notices
ml_report killed-1@reports.shadowserver.org "$T/second.eml"
# the client says when it is half way through DATA (Postfix has passed the headers to the milter)
check "the slow client is mid-message" ml_send_paused "$PF_PORT" "$T/second.eml"
ml_stop milter KILL
ml_resume
check "milter killed mid-message gives a 4xx" grep -q '^4[0-9][0-9]$' "$T/slow.out"
check "the milter restarts and logs that it listens" ml_start milter
send autoreports@shadowserver.org ops@example.net "$T/second.eml"
check "the retry is accepted" grep -q '^250$' "$T/smtp.out"
pf_wait_delivered "$(pf_maildir ops@acme.example)" 2 60 2>/dev/null
settled
check "after the retry exactly one more notice for acme" test "$(count ops@acme.example)" -eq 2
check "after the retry exactly one more notice for dave" test "$(count dave@dave.example)" -eq 2

# 5. the same report delivered again (an MTA retry after a lost answer): no second notice
send autoreports@shadowserver.org ops@example.net "$T/second.eml"
settled
check "a redelivered report makes no new notice" test "$(count ops@acme.example)" -eq 2

# 6. the delivery target is down: notices wait in the outbox and arrive once it is back
ml_report while-down-1@reports.shadowserver.org "$T/third.eml"
PF_STOPPED_PORT=$PF_INJECT_PORT
pf_stop >/dev/null
deferred_before=$(ready_count "$T/milter.log" ': deferred')
# driven straight over the milter protocol: the MTA is down
check "report taken while the MTA is down" ml_send_direct milter "$T/third.eml"
check "delivery failure was logged and deferred" ready_log "$T/milter.log" ': deferred' "$deferred_before" 60
pf_start >/dev/null
pf_wait_delivered "$(pf_maildir ops@acme.example)" 3 60 2>/dev/null
check "notice arrives once the target is back" test "$(count ops@acme.example)" -eq 3
settled
check "and only once" test "$(find "$(pf_maildir carol@carol.example)/new" -type f | wc -l)" -eq 3

# 7. a report the milter cannot record now: a 451 with an enhanced status code and a reason,
# which the sending side sees and Postfix logs (here: a StateDB the milter's user cannot create)
ml_stop milter TERM 30
mkdir -p "$T/readonly"
chmod 755 "$T/readonly"
conf StateDB "$T/readonly/history.db"
check "the milter starts with a history it cannot open" ml_start milter
ml_report no-history-1@reports.shadowserver.org "$T/fourth.eml"
REJECT_LINE='milter-reject: END-OF-MESSAGE .*: 4\.3\.0 shadowmilter: notice queue unavailable, try again later;'
rejects_before=$(ready_count "$PF_LOG" "$REJECT_LINE")
send autoreports@shadowserver.org ops@example.net "$T/fourth.eml"
check "a report that cannot be recorded gets a 451" grep -q '^451$' "$T/smtp.out"
# Postfix's log is written by postlogd after the reply went out: wait for the new line
check "Postfix logs the milter's reply: code and reason" ready_log "$PF_LOG" "$REJECT_LINE" "$rejects_before" 30
check "the milter logs the detail" grep -q "report not handled, sender must retry: .*$T/readonly/history.db" "$T/milter.log"

# 8. chroot y, as Debian's master.cf has it: smtpd and cleanup chrooted into
# the queue directory reach the milter by the socket's path inside it
ml_stop milter TERM 30
mkdir -p "$PF_QUEUE/shadowmilter" && chmod 755 "$PF_QUEUE/shadowmilter"
conf Socket "unix:$PF_QUEUE/shadowmilter/milter.sock"
check "chroot y: the milter starts on a socket inside the queue directory" ml_start milter
pf_postconf -e "smtpd_milters = unix:/shadowmilter/milter.sock"
pf_set_chroot y
ml_report chroot-1@reports.shadowserver.org "$T/fifth.eml"
send autoreports@shadowserver.org ops@example.net "$T/fifth.eml"
check "chroot y: the report is accepted" grep -q '^250$' "$T/smtp.out"
smtpd_chrooted() {
	for _p in $(pf_pids); do
		[ "$(readlink "/proc/$_p/exe")" = /usr/lib/postfix/sbin/smtpd ] &&
		    [ "$(readlink "/proc/$_p/root")" = "$PF_QUEUE" ] && return 0
	done
	return 1
}
check "chroot y: smtpd runs chrooted into the queue directory" smtpd_chrooted
pf_wait_delivered "$(pf_maildir ops@acme.example)" 4 60 2>/dev/null
check "chroot y: the report's notice arrives" test "$(count ops@acme.example)" -eq 4
send alice@elsewhere.example rcpt@elsewhere.example "$T/plain.eml"
check "chroot y: ordinary mail is accepted" grep -q '^250$' "$T/smtp.out"

# 9. the customer map from a table of the suite's own PostgreSQL (issue 19):
# bobs-vps's /29 moves to carol with an UPDATE; after SIGHUP and the log line
# of the reload, the next report's notice for those hosts goes to carol only
ml_stop milter TERM 30
pg_start || ml_give_up "private PostgreSQL start"
pg_psql -c 'CREATE TABLE custmap (prefix cidr PRIMARY KEY, account text, email text, comment text)' \
    -c 'GRANT SELECT ON custmap TO PUBLIC' >/dev/null || ml_give_up "the map table"
pg_psql -c 'COPY custmap FROM STDIN WITH (FORMAT csv, HEADER)' <conf/customers.csv || ml_give_up "the map rows"
ML_CUSTOMERS=$PG_URI
conf Socket "unix:$PF_QUEUE/shadowmilter/milter.sock" CustomerMapQuery "SELECT prefix, account, email FROM custmap"
check "the milter starts with the map from PostgreSQL" ml_start milter
pg_psql -c "UPDATE custmap SET account = 'carol', email = 'carol@carol.example' WHERE prefix = '192.0.2.64/29'" >/dev/null
before=$(ready_count "$T/milter.log" 'reloaded .*: 5 prefixes, 3 accounts')
kill -HUP "$(ml_pid milter)"
check "SIGHUP: the log says the map was read again (5 prefixes, 3 accounts)" \
    ready_log "$T/milter.log" 'reloaded .*: 5 prefixes, 3 accounts' "$before" 60
bob_before=$(count bob@bob.example) alerts_before=$(count alerts@bob.example) carol_before=$(count carol@carol.example)
ml_report moved-1@reports.shadowserver.org "$T/sixth.eml"
send autoreports@shadowserver.org ops@example.net "$T/sixth.eml"
check "the report after the move is accepted" grep -q '^250$' "$T/smtp.out"
pf_wait_delivered "$(pf_maildir carol@carol.example)" $((carol_before + 1)) 60 2>/dev/null
C=$(latest carol@carol.example)
check "the new owner's notice names the moved hosts" sh -c "grep -q '^192.0.2.66:111' '$C' && grep -q '^192.0.2.70:111' '$C'"
check "and carol's own" grep -q '^198\.51\.100\.' "$C"
settled
check "the old owner gets no notice" test "$(count bob@bob.example)" -eq "$bob_before"
check "nor its second address" test "$(count alerts@bob.example)" -eq "$alerts_before"

# 10. a daily-digest account (issue 19, AccountSettings digest daily): erin's
# three reports (one critical type, two informational) send her nothing on
# their own; "deliver --digest-now" (DigestTime without the wait) makes ONE
# mail, ACTION REQUIRED since one section needs action, with three sections
ml_stop milter TERM 30
pg_psql -c "INSERT INTO custmap VALUES ('203.0.113.128/28', 'erin', 'erin@erin.example', '')" >/dev/null
conf Socket "unix:$PF_QUEUE/shadowmilter/milter.sock" CustomerMapQuery "SELECT prefix, account, email FROM custmap" \
    AccountSettings "$T/settings.csv"
check "the milter starts with erin's digest setting" ml_start milter
RL_SIGN="$(dirname "$SM")/dkimsign -k $(pwd)/tests/fixtures/dkim/test.private"
for t in scan_docker scan_ssh scan_ftp; do
	printf '203.0.113.130 2026-11-24 12:00:00\n' >"$T/digest-$t.rows"
	rl_report "$T/digest-$t.eml" "digest-$t@reports.shadowserver.org" 2026-11-24 \
	    "2026-11-24-$t-erin.csv=$T/digest-$t.rows"
	ops_before=$(count ops@example.net)
	send autoreports@shadowserver.org ops@example.net "$T/digest-$t.eml"
	check "erin's $t report is accepted" grep -q '^250$' "$T/smtp.out"
	pf_wait_delivered "$(pf_maildir ops@example.net)" $((ops_before + 1)) 60 2>/dev/null
	check "... its result counts one notice kept for the digest" result_has "$(latest ops@example.net)" ' digest=1 '
done
"$SM" replay -c "$T/milter.conf" --json "$T/digest-scan_docker.eml" >"$T/digest-replay.json" 2>&1
check "replay --json says the notice is held for the digest" grep -q '"digest":true' "$T/digest-replay.json"
pf_wait_queue_empty 30 2>/dev/null
check "no mail of its own for any of erin's reports" test "$(count erin@erin.example)" -eq 0
runuser -u nobody -- "$SM" status -c "$T/milter.conf" --state "$ML_DIR/state/outbox.db" >"$T/digest-status.txt" 2>&1
check "status counts the three notices waiting for the digest" \
    grep -q "^outbox: 3 notices waiting for their account's daily digest (DigestTime)$" "$T/digest-status.txt"
check "deliver --digest-now builds the digest" "$SM" deliver -c "$T/milter.conf" --digest-now
pf_wait_delivered "$(pf_maildir erin@erin.example)" 1 60 2>/dev/null
E=$(latest erin@erin.example)
check "a digest account gets one mail for three reports" test "$(count erin@erin.example)" -eq 1
check "... its subject says ACTION REQUIRED and three reports" \
    grep -q '^Subject: \[ACTION REQUIRED\] Security digest for .*: 3 reports$' "${E:-/nonexistent}"
check "... three sections, the critical one first" sh -c 'body=$(sed "1,/^\$/d" "$1") &&
    test "$(printf "%s\n" "$body" | grep -c "^====*$")" -eq 6 &&
    printf "%s\n" "$body" | grep -q "^ACTION REQUIRED: Accessible Docker Service" &&
    printf "%s\n" "$body" | grep -q "^Accessible SSH" && printf "%s\n" "$body" | grep -q "^Accessible FTP Service" &&
    test "$(printf "%s\n" "$body" | grep -n -m1 "Docker" | cut -d: -f1)" -lt \
        "$(printf "%s\n" "$body" | grep -n -m1 "Accessible SSH" | cut -d: -f1)"' - "${E:-/nonexistent}"
check "... each section with erin's host" test "$(grep -c '^    203\.0\.113\.130' "${E:-/nonexistent}")" -eq 3
"$SM" deliver -c "$T/milter.conf" --digest-now >/dev/null 2>&1
pf_wait_queue_empty 30 2>/dev/null
check "a second --digest-now sends nothing more" test "$(count erin@erin.example)" -eq 1

if [ "$failed" -ne 0 ]; then
	echo "--- milter log"; tail -30 "$T/milter.log"
	echo "--- postfix log"; pf_log | tail -30
fi
ml_summary
