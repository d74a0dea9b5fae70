#!/bin/sh
# test-fetch-milter.sh BUILD - the daemon and a link-only report mail: the
# milter records the link as a fetch job before it answers, the delivery
# worker fetches it from the test ShadowServer (tests/e2e/fetch-lib.sh) and
# queues the same notices as the file attached; the same file attached later
# makes none (after a whole delivery round, shown by the log); a link outside
# ReportLinkHosts is never fetched; a 404 is retried, then given up with one
# mail to OpsAddress.
# Ends with "N passed, N failed".
BUILD=${1:-build}
SM="$(pwd)/$BUILD/shadowmilter"
. "$(pwd)/tests/ready.sh"
. "$(pwd)/tests/e2e/milter-lib.sh"
. "$(pwd)/tests/e2e/fetch-lib.sh"
for tool in miltertest python3 openssl; do
	command -v $tool >/dev/null 2>&1 || ml_give_up "$tool is not installed (make deps installs it)"
done
ml_setup sm-fetch
FS_PID=""
cleanup() {
	ml_cleanup
	fs_stop
	[ -n "$SM_KEEP" ] || rm -rf "$T"
}
trap cleanup EXIT
fs_start
fs_spool
ml_conf milter "sendmail:$T/sendmail" StateDB "$T/state/outbox.db" $FS_TRUST FetchTimeout 5s OpsAddress ops@example.net
ml_start milter || ml_give_up "the daemon did not start"
# wait_log PATTERN - until the daemon's log has PATTERN (60 s at most)
wait_log() { i=0; while ! grep -q "$1" "$T/milter.log" && [ $i -lt 600 ]; do sleep 0.1; i=$((i + 1)); done; }

# ---- a link-only report: a fetch job, then the notices -------------------------
linkmail "https://localhost:$HTTPS/csv1" "$T/link.eml" link-1@reports.shadowserver.org
check "the link-only report is taken" ml_send_direct milter "$T/link.eml"
check "its reason says the data will be fetched" grep -q 'link only: the report data will be fetched from https://localhost' \
    "$T/milter.log"
wait_log 'report link https://localhost:[0-9]*/csv1 .*: fetched'
check "the delivery worker fetched the link and logged it with the queue id" \
    grep -q 'QTEST1: report link https://localhost:[0-9]*/csv1 (fetch job 1, ref=<link-1@reports.shadowserver.org>): fetched: notices=4 queued=4' \
    "$T/milter.log"
wait_spool 4
check "the four notices of the report are delivered" test "$(spooled)" -eq 4
check "acme's notice lists acme's address" sh -c "grep -l '^192.0.2.10:111 (UDP)' '$T'/spool/*.eml | grep -q ."

# ---- the same file attached, in another mail: no second set ------------------------
sed "s/^Message-ID: .*/Message-ID: <attached-2@reports.shadowserver.org>/" tests/fixtures/demo-portmapper.eml >"$T/att.unsigned"
ml_sign "$T/att.unsigned" "$T/att.eml"
check "the same file attached is taken" ml_send_direct milter "$T/att.eml"
wait_log 'already applied: 2026-11-24-scan_portmapper-example-hosting came first by link'
check "... and is already applied: it came first by link" \
    grep -q 'already applied: 2026-11-24-scan_portmapper-example-hosting came first by link' "$T/milter.log"
# a link that answers 404 is tried once a round: its second try starts after a
# whole delivery round that began after the attached mail was taken
linkmail "https://localhost:$HTTPS/404" "$T/gone.eml" gone-4@reports.shadowserver.org
ml_send_direct milter "$T/gone.eml"
wait_tries() { i=0; while [ "$(grep -c "$1" "$T/milter.log")" -lt "$2" ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i + 1)); done; }
wait_tries 'report link https://localhost:[0-9]*/404 .*will try again' 2
check "... and makes no notice (a whole delivery round later)" test "$(spooled)" -eq 4

# ---- never fetched -------------------------------------------------------------------
linkmail "http://127.0.0.1:$HTTP/never" "$T/nl.eml" never-3@reports.shadowserver.org
check "a link to a host outside ReportLinkHosts is taken" ml_send_direct milter "$T/nl.eml"
check "... not queued, and the reason says why" grep -q 'link only, not fetched: .*host 127.0.0.1 is not in ReportLinkHosts' \
    "$T/milter.log"
check "a 404 is tried again later" grep -q 'report link https://localhost:[0-9]*/404 .*will try again: .*HTTP 404' "$T/milter.log"
wait_log 'report link https://localhost:[0-9]*/404 .*given up'
check "... and given up after its tries, OpsAddress told" \
    grep -q 'report link https://localhost:[0-9]*/404 (fetch job [0-9]*, ref=<gone-4@reports.shadowserver.org>): not fetched, given up, OpsAddress told: .*HTTP 404' \
    "$T/milter.log"
wait_spool 5
opsmail=$(grep -l '^To: ops@example.net' "$T"/spool/*.eml 2>/dev/null)
check "ops get one mail about it" test "$(echo "$opsmail" | grep -c .)" -eq 1
check "... naming the link and the reason" sh -c "grep -q '^Link: *https://localhost:$HTTPS/404' $opsmail && grep -q '^Reason: .*HTTP 404' $opsmail"
check "the server was never asked for the unlisted host's link" test "$(asked /never)" -eq 0
ml_summary
