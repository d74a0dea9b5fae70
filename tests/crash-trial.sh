#!/bin/sh
# crash-trial.sh [BUILD] - does a notice survive a crash, and only once?
#
# Streams report mails into a real daemon behind a private Postfix (SMTP on
# loopback, like mail from the Internet) and SIGKILLs the daemon - supervisor
# and filter process at once - at random moments, KILLS times, restarting it
# after each kill. Beside it, "shadowmilter deliver" runs come and go and are
# killed too. The daemon hands its notices back to the same Postfix (SMTP, a
# port without milters), which puts them in one catch-all Maildir.
#
# Every report names its own ACCOUNTS customers (one host each), so each
# report the MTA accepted (a 250 to the sender, which retries on anything
# else, as an MTA does) must give exactly one notice to each of its
# customers. At the end the daemon runs until the outbox is empty, and every
# notice Postfix delivered is counted by its X-Shadowmilter-Account:
#
#   kills N, lost N, doubled N
#   after a restart notices waited: median N s, worst N s (N restarts with notices held over)
#
# The wait: a notice queued before a kill and sent after the first restart
# that followed its creation waited from that restart to its sent_at (the
# outbox's record), however many kills and restarts came in between; per
# restart the longest such wait counts, and the line gives the median and
# the worst over the restarts. A restarted daemon that left its dead
# predecessor's claims to their lease shows the lease here.
# lost: a customer of an accepted report without a notice; doubled: every
# notice beyond the first for one customer (the MTA accepted it twice).
# Exit 0 when the target holds (0 lost, at most 1 doubled per 1,000 kills).
#
#   make crash-trial                       (KILLS=1000 by default there)
#   KILLS=200 sh tests/crash-trial.sh build
#
# Knobs (environment):
#   KILLS        number of SIGKILLs (default 100)
#   ACCOUNTS     customers per report (default 8)
#   MAX_DELAY_MS a kill comes 0..MAX_DELAY_MS ms after the daemon is ready (default 1500)
#   DELIVER_RUNS yes (default): also run and kill "shadowmilter deliver"; no: the daemon only
#   CT_DB        sqlite1 (default): one SQLite file for StateDB and OutboxDB;
#                sqlite2: two SQLite files; pg: one private PostgreSQL
#                (tests/e2e/pg-lib.sh) for both
#   CT_LEASE     DeliveryLease (default 5s): how soon a killed worker's claims
#                are taken over (left out for a build without the key)
#   SM_KEEP      non-empty: keep the work directory
# Needs root (Postfix) and the packages of make check. Not part of make check.
BUILD=${1:-build}
if [ "$(id -u)" != 0 ]; then
	command -v sudo >/dev/null 2>&1 && exec sudo -E sh "$0" "$@"
	echo "crash-trial: needs root (Postfix)" >&2
	exit 1
fi
KILLS=${KILLS:-100}
ACCOUNTS=${ACCOUNTS:-8}
MAX_DELAY_MS=${MAX_DELAY_MS:-1500}
DELIVER_RUNS=${DELIVER_RUNS:-yes}
CT_DB=${CT_DB:-sqlite1}
CT_LEASE=${CT_LEASE:-5s}
case $BUILD in /*) SM=$BUILD/shadowmilter ;; *) SM="$(pwd)/$BUILD/shadowmilter" ;; esac
# the reports are DKIM-signed with the test key, and verified through TestPublicKeys
RL_SIGN="$(dirname "$SM")/dkimsign -k $(pwd)/tests/fixtures/dkim/test.private"
E2E="$(pwd)/tests/e2e"
[ -x "$SM" ] || { echo "crash-trial: $SM missing: make first" >&2; exit 1; }
. "$E2E/postfix-lib.sh"
. "$E2E/report-lib.sh"
. "$E2E/pg-lib.sh"
. "$(pwd)/tests/ready.sh"

T=$(mktemp -d /tmp/sm-crash.XXXXXX)
chmod 755 "$T"
mkdir -p "$T/state" "$T/reports"
chmod 777 "$T/state"
DPID="" SENDER="" DELIVER_PID=""
say() { echo "crash-trial: $*"; }
cleanup() {
	[ -n "$SENDER" ] && kill "$SENDER" 2>/dev/null
	[ -n "$DELIVER_PID" ] && kill -KILL "$DELIVER_PID" 2>/dev/null
	[ -n "$DPID" ] && kill_daemon TERM
	pf_stop >/dev/null 2>&1
	pg_stop >/dev/null 2>&1
	if [ -n "${SM_KEEP:-}" ]; then say "kept $T"; else rm -rf "$T"; fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

PF_MILTERS="unix:$T/milter.sock"
PF_NON_SMTPD_MILTERS=""
pf_setup "$T/pf" ops.example cust.example >/dev/null || exit 1
CUST_MAILDIR=$(pf_maildir x@cust.example)

case $CT_DB in
sqlite2) STATE_DB=$T/state/history.db OUTBOX_DB=$T/state/outbox.db ;;
sqlite1) STATE_DB=$T/state/shadowmilter.db OUTBOX_DB=$STATE_DB ;;
pg) pg_start || exit 1; STATE_DB=$PG_URI OUTBOX_DB=$PG_URI ;;
*) echo "crash-trial: CT_DB is sqlite2, sqlite1 or pg" >&2; exit 2 ;;
esac

# enough customers for every report the sender can get through (it sends
# about 2 a second; a kill cycle takes about a second)
MAXREPORTS=$((KILLS * 4 + 100))
rl_customers "$T/customers.csv" 1 $((MAXREPORTS * ACCOUNTS))
cat >"$T/shadowmilter.conf" <<EOC
CustomerMap         $T/customers.csv
TestPublicKeys      $(pwd)/tests/fixtures/dkim/keys
NoticeFrom          abuse@example.net
Socket              unix:$T/milter.sock
SocketMode          0666
UserID              nobody:nogroup
StateDB             $STATE_DB
OutboxDB            $OUTBOX_DB
Transport           smtp:127.0.0.1:$PF_INJECT_PORT
DeliverInterval     1
RetryInterval       1
DeliveryLease       $CT_LEASE
EOC
# an older build without claims does not know DeliveryLease: leave it out
# (the probe config has its own database: -n must not create the real one as root)
sed -e "s|^StateDB .*|StateDB $T/probe.db|" -e "s|^OutboxDB .*|OutboxDB $T/probe.db|" "$T/shadowmilter.conf" >"$T/probe.conf"
if "$SM" -n -c "$T/probe.conf" 2>&1 | grep -qi 'DeliveryLease'; then
	sed -i '/^DeliveryLease/d' "$T/shadowmilter.conf"
	CT_LEASE="none (this build has no DeliveryLease)"
fi

# the processes of this trial's daemons (supervisor, filter, deliver runs):
# shadowmilter binaries whose command line names this trial's config
sm_pids() {
	for _p in /proc/[0-9]*; do
		[ "$(readlink "$_p/exe" 2>/dev/null)" = "$SM" ] || continue
		tr '\0' '\n' <"$_p/cmdline" 2>/dev/null | grep -qxF "$T/shadowmilter.conf" && echo "${_p#/proc/}"
	done
}

# start_daemon - start it and wait for its "listening on" line (tests/ready.sh)
start_daemon() {
	sm_start "$T/daemon.log" "$T/shadowmilter.conf" 120 || { say "daemon did not start"; tail -n 20 "$T/daemon.log"; return 1; }
	DPID=$SM_PID
	date +%s.%N >>"$T/restarts"
}

# outbox_times - "created sent_at" of every sent notice, from the store
outbox_times() {
	_q="SELECT created, sent_at FROM notices WHERE state = 'sent' AND sent_at IS NOT NULL"
	if [ "$CT_DB" = pg ]; then pg_psql -At -F ' ' -c "$_q"
	else sqlite3 -separator ' ' "$OUTBOX_DB" "$_q"; fi
}

# restart_waits - "after a restart notices waited: median, worst": for each
# notice made before a kill and sent after the restart that followed it, the
# time from the first restart after its creation to its sending (a notice
# whose claim a dead process held waits out the lease across the restarts
# that come meanwhile); per restart the longest wait
restart_waits() {
	command -v sqlite3 >/dev/null 2>&1 || [ "$CT_DB" = pg ] || { say "restart waits: SKIP (no sqlite3)"; return 0; }
	outbox_times >"$T/sent-times" 2>/dev/null || { say "restart waits: the outbox could not be read"; return 0; }
	awk -v rf="$T/restarts" '
	BEGIN { while ((getline t < rf) > 0) r[nr++] = t }
	{
		created = $1; sent = $2
		# created and sent_at are whole seconds: the first restart surely
		# after the creation is the first at or after created + 1 (the
		# daemon that made the notice had started before it)
		for (j = 0; j < nr && r[j] < created + 1; j++) ;
		if (j >= nr || sent < int(r[j])) next	# sent before a kill ended its daemon
		w = sent - int(r[j])
		if (!(j in worst) || w > worst[j]) worst[j] = w
	}
	END {
		n = 0; for (j in worst) v[n++] = worst[j]
		if (n == 0) { print "after a restart notices waited: no notice was held over a restart"; exit }
		for (a = 0; a < n; a++) for (b = a + 1; b < n; b++) if (v[b] < v[a]) { t = v[a]; v[a] = v[b]; v[b] = t }
		med = n % 2 ? v[int(n / 2)] : (v[n / 2 - 1] + v[n / 2]) / 2
		printf "after a restart notices waited: median %d s, worst %d s (%d restarts with notices held over)\n", med, v[n - 1], n
	}' "$T/sent-times"
}

# kill_daemon [SIG] - SIGKILL (default) every process of the daemon and
# deliver runs at once, and wait until they are gone
kill_daemon() {
	_pids=$(sm_pids | tr '\n' ' ')
	# when and whom, for reading a double against the logs (SM_KEEP)
	[ -n "$_pids" ] && echo "$(date +%s.%N) ${1:-KILL} $_pids" >>"$T/kills"
	[ -n "$_pids" ] && kill -"${1:-KILL}" $_pids 2>/dev/null
	[ -n "$DPID" ] && wait "$DPID" 2>/dev/null
	[ -n "$DELIVER_PID" ] && wait "$DELIVER_PID" 2>/dev/null
	DPID="" DELIVER_PID=""
	_n=0
	while [ -n "$(sm_pids)" ]; do
		_n=$((_n + 1))
		[ "$_n" -lt 300 ] || { say "processes left: $(sm_pids | tr '\n' ' ')"; return 1; }
		sleep 0.1
	done
}

# rand N - a random integer in 0..N-1
rand() { od -An -N4 -tu4 /dev/urandom | awk -v n="$1" '{ print $1 % n }'; }

# sender - send report 1, 2, ... until $T/stop; each until Postfix says 250;
# a report k names accounts (k-1)*ACCOUNTS+1 .. k*ACCOUNTS
sender() {
	k=1
	while [ ! -e "$T/stop" ] && [ "$k" -le "$MAXREPORTS" ]; do
		: >"$T/reports/rows"
		rl_rows "$T/reports/rows" $(((k - 1) * ACCOUNTS + 1)) "$ACCOUNTS"
		rl_report "$T/reports/r.eml" "crash-$k@reports.shadowserver.org" 2026-11-24 \
			"2026-11-24-scan_portmapper-trial$k.csv=$T/reports/rows"
		tries=0
		until [ "$(perl "$E2E/slow-smtp.pl" "$PF_PORT" autoreports@shadowserver.org ops@ops.example \
			"$T/reports/r.eml" "$T/no-pause" 2>/dev/null | head -n 1)" = 250 ]; do
			tries=$((tries + 1))
			sleep 0.2
		done
		echo "$k $tries" >>"$T/accepted"
		k=$((k + 1))
		sleep 0.3
	done
}

pf_start >/dev/null || exit 1
start_daemon || exit 1
: >"$T/accepted"
sender &
SENDER=$!

say "$KILLS kills, $ACCOUNTS customers per report, kill within ${MAX_DELAY_MS} ms of start, deliver runs: $DELIVER_RUNS, store: $CT_DB, lease: $CT_LEASE"
START=$(date +%s)
kills=0
while [ "$kills" -lt "$KILLS" ]; do
	[ -n "$DPID" ] || start_daemon || exit 1
	if [ "$DELIVER_RUNS" = yes ] && [ "$(rand 2)" = 0 ]; then
		runuser -u nobody -- "$SM" deliver -c "$T/shadowmilter.conf" >>"$T/deliver.log" 2>&1 &
		DELIVER_PID=$!
	fi
	_ms=$(rand "$MAX_DELAY_MS")
	sleep "$(printf '%d.%03d' $((_ms / 1000)) $((_ms % 1000)))"
	kill_daemon || exit 1
	kills=$((kills + 1))
	[ $((kills % 50)) -ne 0 ] || say "$kills kills, $(wc -l <"$T/accepted") reports accepted, $(pf_count "$CUST_MAILDIR") notices delivered, $(($(date +%s) - START)) s"
done

# the end: a daemon that lives, the sender finishes its report, the outbox drains
start_daemon || exit 1
touch "$T/stop"
_n=0
while kill -0 "$SENDER" 2>/dev/null; do
	_n=$((_n + 1))
	[ "$_n" -lt 3000 ] || { say "the sender did not finish"; exit 1; }
	sleep 0.1
done
wait "$SENDER"
SENDER=""
REPORTS=$(wc -l <"$T/accepted")
EXPECTED=$((REPORTS * ACCOUNTS))
# wait until every expected customer has a notice, the outbox has nothing
# pending and Postfix's queue is empty (10 minutes at most; the count is
# what it is then)
_n=0
while :; do
	have=$(grep -rh '^X-Shadowmilter-Account:' "$CUST_MAILDIR/new" 2>/dev/null | sort -u | wc -l)
	pending=$("$SM" status -c "$T/shadowmilter.conf" --json 2>/dev/null | sed -n 's/.*"pending": *\([0-9]*\).*/\1/p')
	if [ "$have" -ge "$EXPECTED" ] && [ "${pending:-1}" = 0 ] && pf_queue_empty; then
		break
	fi
	_n=$((_n + 1))
	[ "$_n" -lt 600 ] || { say "gave up waiting: $have of $EXPECTED customers have a notice, outbox pending ${pending:-?}"; break; }
	sleep 1
done
sleep 3	# a late double would be in flight now
pf_flush >/dev/null 2>&1
pf_wait_queue_empty 60 2>/dev/null
kill_daemon TERM

# count: per account in the accepted reports, how many notices arrived
grep -rh '^X-Shadowmilter-Account:' "$CUST_MAILDIR/new" 2>/dev/null | awk '{ print $2 }' | sort | uniq -c |
	awk '{ print $2, $1 }' >"$T/got"
awk -v a="$ACCOUNTS" '{ for (n = ($1 - 1) * a + 1; n <= $1 * a; n++) printf "c%07d\n", n }' "$T/accepted" | sort >"$T/want"
lost=$(join -v 1 "$T/want" "$T/got" | wc -l)
doubled=$(join "$T/want" "$T/got" | awk '$2 > 1 { d += $2 - 1 } END { print d + 0 }')
unexpected=$(join -v 2 "$T/want" "$T/got" | wc -l)
retries=$(awk '{ t += $2 } END { print t + 0 }' "$T/accepted")
say "$REPORTS reports accepted ($retries tempfailed attempts retried), $EXPECTED notices expected, $(pf_count "$CUST_MAILDIR") delivered, $(($(date +%s) - START)) s"
[ "$unexpected" -eq 0 ] || say "$unexpected customers outside the accepted reports got notices"
if [ "$doubled" -gt 0 ]; then
	say "doubled (account notices):"
	join "$T/want" "$T/got" | awk '$2 > 1' | head -n 20
fi
if [ "$lost" -gt 0 ]; then
	say "lost (first 20):"
	join -v 1 "$T/want" "$T/got" | head -n 20
fi
echo "kills $kills, lost $lost, doubled $doubled"
restart_waits
# the target: 0 lost, at most 1 doubled per 1,000 kills
if [ "$lost" -eq 0 ] && [ "$unexpected" -eq 0 ] && [ $((doubled * 1000)) -le "$kills" ]; then
	say "target met (0 lost, <= 1 doubled per 1,000 kills)"
	exit 0
fi
say "target missed (0 lost, <= 1 doubled per 1,000 kills)"
exit 1
