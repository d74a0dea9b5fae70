#!/bin/sh
# test-fetch-postfix.sh BUILD - link-only report mails through a real, private
# Postfix on loopback and the daemon, the link fetched from the test
# ShadowServer (tests/e2e/fetch-lib.sh: HTTPS with a CA made here, every
# request logged):
#   - the bundled report attached, into a fresh store: its notices, kept;
#   - the same report as a signed link-only mail, into another fresh store,
#     with the daemon killed (SIGKILL) after Postfix had its 250 and before
#     any fetch (the request log proves it): the fetch job survives, the
#     restarted daemon fetches it, and each customer's notice is the one the
#     attached report gave (bodies compared);
#   - the same file attached afterwards: "already applied ... by link", and
#     the outbox holds no new notice (so none can ever go out);
#   - a link to http://127.0.0.1:PORT/ (not in ReportLinkHosts) is never
#     asked for.
# Ends with "N passed, N failed". Needs root (Postfix).
BUILD=${1:-build}
SM="$(pwd)/$BUILD/shadowmilter"
E2E="$(pwd)/tests/e2e"
. "$E2E/postfix-lib.sh"
. "$(pwd)/tests/ready.sh"
. "$E2E/milter-lib.sh"
. "$E2E/fetch-lib.sh"
ml_need_root "Postfix link-only" "$@"
for tool in python3 openssl; do
	command -v $tool >/dev/null 2>&1 || ml_give_up "$tool is not installed (make deps installs it)"
done

ml_setup sm-fetchpf
FS_PID=""
cleanup() {
	ml_cleanup
	pf_stop >/dev/null 2>&1
	fs_stop
	[ -n "$SM_KEEP" ] || rm -rf "$T"
}
trap cleanup EXIT
fs_start

PF_MILTERS="unix:$T/milter.sock"
PF_NON_SMTPD_MILTERS=""
PF_MAIN_EXTRA="milter_default_action = tempfail
milter_mail_macros = i {mail_addr} {auth_type}"
ADDRS="ops@acme.example bob@bob.example alerts@bob.example carol@carol.example dave@dave.example"
pf_setup "$T/pf" ops@example.net $ADDRS >/dev/null || ml_give_up "postfix setup"

# conf [KEY VALUE]... - the milter's config with the store ML_DB (history and outbox)
conf() {
	ml_conf milter "smtp:127.0.0.1:$PF_INJECT_PORT" Organization "Example Hosting" NoticeFrom abuse@example.net \
	    SocketMode 0666 $FS_TRUST FetchTimeout 5s "$@"
}
send() {	# send FILE by SMTP as ShadowServer would; the final reply code in $T/smtp.out
	perl "$E2E/slow-smtp.pl" "$PF_PORT" autoreports@shadowserver.org ops@example.net "$1" "$T/no-pause" >"$T/smtp.out" 2>&1
}
body_of() { sed '1,/^$/d' "$1" | tr -d '\r'; }
latest() { ls -t "$(pf_maildir "$1")/new/"* 2>/dev/null | head -n 1; }
# outbox_total - notices the store has ever queued (pending, sent or failed)
outbox_total() {
	runuser -u nobody -- "$SM" status -c "$T/milter.conf" --json 2>/dev/null | python3 -c '
import json, sys
o = json.load(sys.stdin)["outbox"]
print(o["pending"] + o["sent"] + o["failed"])'
}

# ---- 1. the report attached, into a fresh store: the notices to compare with ----
ML_DB=$T/state/attached.db
conf
check "the milter starts" ml_start milter
pf_start >/dev/null || { pf_log | tail -20; ml_give_up "postfix start"; }
ml_sign tests/fixtures/demo-portmapper.eml "$T/attached.eml"
send "$T/attached.eml"
check "the attached report is accepted" grep -q '^250$' "$T/smtp.out"
for a in $ADDRS; do
	pf_wait_delivered "$(pf_maildir "$a")" 1 60 2>/dev/null
	check "the attached report: one notice for $a" test "$(pf_count "$(pf_maildir "$a")")" -eq 1
	body_of "$(latest "$a")" >"$T/attached.$a"
done
check "acme's notice lists acme's address" grep -q '^192.0.2.10:111 (UDP) detected at 2026-11-24 08:52:55 UTC' \
    "$T/attached.ops@acme.example"
ml_stop milter || ml_give_up "milter stop"
for a in $ADDRS ops@example.net; do rm -f "$(pf_maildir "$a")"/new/*; done

# ---- 2. the same report as a link-only mail, the daemon killed before it fetches ---
ML_DB=$T/state/link.db
conf DeliverInterval 3600	# the one round at start comes before the mail; the next, in an hour
check "the milter starts again with a store of its own" ml_start milter
linkmail "https://localhost:$HTTPS/csv1" "$T/link.eml" link-1@reports.shadowserver.org
send "$T/link.eml"
check "the signed link-only report is accepted" grep -q '^250$' "$T/smtp.out"
check "the milter took it as a fetch job" grep -q 'link only: the report data will be fetched from https://localhost' \
    "$T/milter.log"
check "the daemon is killed before any fetch (nothing asked for yet)" test "$(asked /csv1)" -eq 0
ml_stop milter KILL || ml_give_up "milter kill"
conf
check "the milter restarts" ml_start milter
check "the restarted daemon fetches the job that survived the kill" \
    ready_log "$T/milter.log" 'report link https://localhost:[0-9]+/csv1 \(fetch job 1, ref=<link-1@reports.shadowserver.org>\): fetched: notices=4' 0 60
check "... asking the server once" test "$(asked /csv1)" -eq 1
for a in $ADDRS; do pf_wait_delivered "$(pf_maildir "$a")" 1 60 2>/dev/null; done
# same_notice ADDRESS - one notice in ADDRESS's Maildir, its body the attached report's
same_notice() {
	[ "$(pf_count "$(pf_maildir "$1")")" -eq 1 ] && body_of "$(latest "$1")" | cmp -s - "$T/attached.$1"
}
for a in $ADDRS; do
	check "$a: one notice, the one the attached report gave" same_notice "$a"
done
pf_wait_delivered "$(pf_maildir ops@example.net)" 1 60 2>/dev/null
check "the ops copy says the report data is fetched later" \
    sh -c "sed '/^\$/q' '$(latest ops@example.net)' | tr -d '\r\n\t' | grep -q 'reason=\"link only: the report data will be fetched from https://localhost'"

# ---- 3. the same file attached afterwards: one set -----------------------------------
queued=$(outbox_total)
check "the link's notices are in the outbox ($queued)" test "${queued:-0}" -ge 4
before=$(ready_count "$T/milter.log" 'already applied')
send "$T/attached.eml"
check "the same report attached is accepted" grep -q '^250$' "$T/smtp.out"
check "... and is already applied: it came first by link" \
    ready_log "$T/milter.log" 'already applied: 2026-11-24-scan_portmapper-example-hosting came first by link' "$before" 60
check "... and the outbox holds no new notice (none can go out)" test "$(outbox_total)" = "$queued"

# ---- 4. a link outside ReportLinkHosts ---------------------------------------------------
linkmail "http://127.0.0.1:$HTTP/never" "$T/never.eml" never-2@reports.shadowserver.org
send "$T/never.eml"
check "a link to 127.0.0.1 is accepted as mail" grep -q '^250$' "$T/smtp.out"
check "... not queued, the reason logged" \
    ready_log "$T/milter.log" 'link only, not fetched: .*host 127\.0\.0\.1 is not in ReportLinkHosts' 0 60
check "... and never asked for (the server's request log)" test "$(asked /never)" -eq 0
check "... nothing at all asked of the HTTP port's host 127.0.0.1" sh -c "! grep -q ' 127.0.0.1:$HTTP\$' '$REQ'"
[ "$failed" -eq 0 ] || { echo "--- milter log"; tail -n 30 "$T/milter.log"; }
ml_summary
