#!/bin/sh
# test-pull-milter.sh BUILD - the daemon pulls the Reports API on its own
# (ReportsAPIInterval) from the test ShadowServer (tests/e2e/fetch-lib.sh):
# a report file that came attached to a mail first is offered by the API
# too and is neither downloaded nor notified again; a new file is pulled,
# its notices delivered, and ops get one summary mail; two daemons on one
# store, both pulling, apply the new file once. Ends with "N passed, N failed".
BUILD=${1:-build}
SM="$(pwd)/$BUILD/shadowmilter"
. "$(pwd)/tests/ready.sh"
. "$(pwd)/tests/e2e/milter-lib.sh"
. "$(pwd)/tests/e2e/fetch-lib.sh"
for tool in miltertest python3 openssl; do
	command -v $tool >/dev/null 2>&1 || ml_give_up "$tool is not installed (make deps installs it)"
done
ml_setup sm-pull
FS_PID=""
cleanup() {
	ml_cleanup
	fs_stop
	[ -n "$SM_KEEP" ] || rm -rf "$T"
}
trap cleanup EXIT
fs_start
chown nobody:nogroup "$T/secret" 2>/dev/null	# the daemon's user (ml_conf: UserID nobody) reads it
chmod 600 "$T/secret"
fs_spool
# wait_log NAME PATTERN - until daemon NAME's log has PATTERN (60 s at most)
wait_log() { i=0; while ! grep -q "$2" "$T/$1.log" && [ $i -lt 600 ]; do sleep 0.1; i=$((i + 1)); done; }
API="$FS_API $FS_TRUST FetchTimeout 5s"

# ---- the attached report first: its four notices --------------------------------------
ml_conf mx1 "sendmail:$T/sendmail" StateDB "$T/state/outbox.db" OpsAddress ops@example.net $API
ml_start mx1 || ml_give_up "the daemon did not start"
sed "s/^Message-ID: .*/Message-ID: <attached-1@reports.shadowserver.org>/" tests/fixtures/demo-portmapper.eml \
    >"$T/att.unsigned"
ml_sign "$T/att.unsigned" "$T/att.eml"
check "the attached report is taken" ml_send_direct mx1 "$T/att.eml"
wait_spool 4
check "... and its four notices are delivered" test "$(spooled)" -eq 4

# ---- the API offers the same file and a new one; two daemons pull on their schedule ---
sed 's/,udp,111,/,udp,112,/' "$T/srv/files/csv1" >"$T/srv/files/api-new"
cp "$T/srv/files/csv1" "$T/srv/files/api-same"
today=$(date -u +%Y-%m-%d)
cat >"$T/srv/list.json" <<EOF
[{"id":"api-same","file":"2026-11-24-scan_portmapper-example-hosting.csv","type":"scan_portmapper",
  "report":"example-hosting","timestamp":"$today 01:00:00","url":"https://www.shadowserver.org/"},
 {"id":"api-new","file":"2026-11-25-scan_portmapper-example-hosting.csv","type":"scan_portmapper",
  "report":"example-hosting","timestamp":"$today 02:00:00","url":"https://www.shadowserver.org/"}]
EOF
ml_stop mx1
ml_conf mx1 "sendmail:$T/sendmail" StateDB "$T/state/outbox.db" OpsAddress ops@example.net $API \
    ReportsAPIInterval 1h
ml_conf mx2 "sendmail:$T/sendmail" StateDB "$T/state/outbox.db" OpsAddress ops@example.net $API \
    ReportsAPIInterval 1h
ml_start mx1 || ml_give_up "the daemon did not start again"
ml_start mx2 || ml_give_up "the second daemon did not start"
wait_log mx1 'pull [0-9-]* to [0-9-]*: 2 files offered'
wait_log mx2 'pull [0-9-]* to [0-9-]*: 2 files offered'
wait_spool 9
check "both daemons pulled on their schedule (reports/list asked twice)" \
    test "$(grep -c '^POST /api2/reports/list ' "$REQ")" -eq 2
check "the file that came attached is not downloaded" test "$(asked /dl/api-same)" -eq 0
check "the new file is applied by one of them" \
    test "$(cat "$T/mx1.log" "$T/mx2.log" | grep -c 'pull: 2026-11-25-scan_portmapper-example-hosting.csv (id api-new): applied: 4 notices')" -eq 1
check "... its four notices delivered, and one ops summary: nine mails in all" test "$(spooled)" -eq 9
"$SM" deliver -c "$T/mx1.conf" --dry-run >"$T/pending.out" 2>&1
check "... and nothing else is queued" grep -q 'dry run: 0 notices due, 0 waiting' "$T/pending.out"
check "the ops summary lists the file" \
    sh -c "grep -l '^Subject: shadowmilter: Reports API pull: 1 applied' '$T'/spool/*.eml | xargs grep -q '(id api-new): applied: 4 notices'"
ml_summary
