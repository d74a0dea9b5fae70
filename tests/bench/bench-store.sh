#!/bin/sh
# bench-store.sh BUILD - the store's figures, for "make bench":
#   - history: a report of 50,000 findings applied to a detection history
#     (replay --state), then the next day's report of the same findings, then
#     that one again (a retry: the outcome read back), with SQLite and with
#     PostgreSQL (a private server, tests/e2e/pg-lib.sh);
#   - a report naming 1,000, 10,000 and 100,000 customers (one host each):
#     time and peak RSS of "replay --json", and of the daemon taking it as a
#     milter (miltertest drives it; the filter process's VmHWM before and
#     after the message; the notices are committed to its store, none sent).
# BENCH_CUSTOMERS="1000 10000" picks other sizes.
BUILD=${1:-build}
case $BUILD in /*) ;; *) BUILD=$(pwd)/$BUILD ;; esac
SM=$BUILD/shadowmilter
PEAK=$BUILD/bench/peakrss
# the reports are DKIM-signed with the test key and verified (TestPublicKeys), as in production
RL_SIGN="$BUILD/dkimsign -k $(pwd)/tests/fixtures/dkim/test.private"
KEYS="$(pwd)/tests/fixtures/dkim/keys"
TOP=$(pwd)
# without the signer every report would be refused and the figures would time nothing
for tool in "$SM" "$PEAK" "$BUILD/dkimsign"; do
	[ -x "$tool" ] || { echo "bench-store: $tool missing (make bench builds it)"; exit 1; }
done
. "$TOP/tests/e2e/report-lib.sh"
. "$TOP/tests/e2e/pg-lib.sh"
. "$TOP/tests/ready.sh"
T=$(mktemp -d /tmp/sm-bench-store.XXXXXX)
chmod 755 "$T"
mkdir -p "$T/state"
chmod 777 "$T/state"
SM_PID=""
cleanup() {
	[ -n "$SM_PID" ] && kill -KILL "$SM_PID" 2>/dev/null
	pg_stop >/dev/null 2>&1
	rm -rf "$T"
}
trap cleanup EXIT
rc=0

# --- history: 50k findings of one customer, applied twice
echo "history: a report of 50,000 findings (one customer) applied, then the next day's"
echo "prefix,account,email" >"$T/one.csv"
echo "10.0.0.0/8,bench,bench@cust.example" >>"$T/one.csv"
printf 'CustomerMap %s\nTestPublicKeys %s\nOutboxDB %s\n' "$T/one.csv" "$KEYS" "$T/state/unused-outbox.db" >"$T/history.conf"
: >"$T/h1"; rl_rows "$T/h1" 1 50000 2026-11-24
: >"$T/h2"; rl_rows "$T/h2" 1 50000 2026-11-25
rl_report "$T/h1.eml" bench-h1@reports.shadowserver.org 2026-11-24 "2026-11-24-scan_portmapper-bench.csv=$T/h1"
rl_report "$T/h2.eml" bench-h2@reports.shadowserver.org 2026-11-25 "2026-11-25-scan_portmapper-bench.csv=$T/h2"
history_bench() {	# history_bench NAME STATE
	"$PEAK" "  $1, first report (50k new findings)" "$T/out" "$SM" replay -c "$T/history.conf" --state "$2" --json "$T/h1.eml" 2>"$T/err" &&
		"$PEAK" "  $1, next day (50k findings seen again)" "$T/out" "$SM" replay -c "$T/history.conf" --state "$2" --json "$T/h2.eml" 2>"$T/err" &&
		"$PEAK" "  $1, next day's again (an MTA retry)" "$T/out" "$SM" replay -c "$T/history.conf" --state "$2" --json "$T/h2.eml" 2>"$T/err"
}
[ -n "${BENCH_SKIP_HISTORY:-}" ] || history_bench SQLite "$T/state/history.db" || { echo "  SQLite: FAILED: $(head -c 300 "$T/err")"; rc=1; }
if pg_start >"$T/pg.err" 2>&1; then
	if ! history_bench PostgreSQL "$PG_URI"; then
		echo "  PostgreSQL: not measured: $(head -c 300 "$T/err" | tr '\n' ' ')"
	fi
else
	echo "  PostgreSQL: no private server: $(tail -n 3 "$T/pg.err" | tr '\n' ' ')"
	rc=1
fi

# --- a report naming N customers
echo "a report naming N customers, one host each (plain CSV attachment)"
if [ "$(id -u)" = 0 ]; then USERLINE="UserID nobody:nogroup"; else USERLINE=""; fi
DEAD_PORT=$(awk 'BEGIN { srand(); print 40000 + int(rand() * 20000) }')
for n in ${BENCH_CUSTOMERS:-1000 10000 100000}; do
	rm -f "$T/customers.csv" "$T/rows" "$T/state/"*
	rl_customers "$T/customers.csv" 1 "$n"
	rl_rows "$T/rows" 1 "$n"
	rl_report "$T/n.eml" "bench-n$n@reports.shadowserver.org" 2026-11-24 "2026-11-24-scan_portmapper-bench.csv=$T/rows"
	cat >"$T/n.conf" <<EOC
CustomerMap         $T/customers.csv
TestPublicKeys      $KEYS
Socket              unix:$T/milter.sock
SocketMode          0666
$USERLINE
StateDB             $T/state/history.db
OutboxDB            $T/state/outbox.db
Transport           smtp:127.0.0.1:$DEAD_PORT
DeliverInterval     3600
RetryInterval       3600
EOC
	"$PEAK" "  $(printf '%6d' "$n") customers: replay --json" "$T/out" "$SM" replay -c "$T/n.conf" --json "$T/n.eml" 2>"$T/err" ||
		{ echo "    replay failed: $(head -c 300 "$T/err")"; rc=1; }
	# a figure counts only if replay rendered every notice
	got=$(grep -o '"message_id":"shadowmilter\.' "$T/out" | wc -l)
	[ "$got" -eq "$n" ] || { echo "    replay rendered $got notices, not $n"; rc=1; }
	# the milter: a fresh daemon for each size, so VmHWM is this message's
	sm_start "$T/milter.log" "$T/n.conf" 300 >/dev/null 2>&1 || { echo "    daemon did not start: $(tail -n 3 "$T/milter.log")"; rc=1; continue; }
	filter=$(ps -o pid= --ppid "$SM_PID" | tr -d ' ' | head -n 1)
	before=$(sed -n 's/^VmHWM:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$filter/status")
	cat >"$T/send.lua" <<EOL
dofile("$TOP/tests/miltertest/common.lua")
mt.set_timeout(600)
local conn = connect()
local r = send_eml(conn, "$T/n.eml", "<autoreports@shadowserver.org>", 65535)
assert(r == SMFIR_ACCEPT or r == SMFIR_CONTINUE, "reply " .. tostring(r))
mt.disconnect(conn)
EOL
	t0=$(date +%s.%N)
	if SM_SOCKET="unix:$T/milter.sock" miltertest -s "$T/send.lua" >"$T/mt.out" 2>&1; then
		t1=$(date +%s.%N)
		after=$(sed -n 's/^VmHWM:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$filter/status")
		awk -v n="$n" -v t0="$t0" -v t1="$t1" -v b="$before" -v a="$after" 'BEGIN {
			printf "  %6d customers: milter, until its reply %7.2f s  peak RSS %7.1f MiB (%.1f MiB before the message)\n",
			    n, t1 - t0, a / 1024, b / 1024 }'
		grep -q "report notices=$n " "$T/milter.log" || { echo "    the milter did not log notices=$n: $(grep 'report' "$T/milter.log" | tail -n 1)"; rc=1; }
	else
		echo "  $n customers: milter FAILED: $(tail -n 3 "$T/mt.out" | tr '\n' ' ') $(tail -n 3 "$T/milter.log" | tr '\n' ' ')"
		rc=1
	fi
	kill -KILL "$SM_PID" $filter 2>/dev/null
	ready_gone "$SM_PID" 30
	wait "$SM_PID" 2>/dev/null
	SM_PID=""
	: >"$T/milter.log"
done
exit $rc
