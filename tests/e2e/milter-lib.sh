# milter-lib.sh - shadowmilter under test in a suite: the suite's tally and
# directory, the daemon's config, its start and its stop.
#
# POSIX sh; source it after tests/ready.sh, with SM the program under test:
#   SM=build/shadowmilter; . tests/ready.sh; . tests/e2e/milter-lib.sh
#
# Every daemon has a NAME (milter, mx1, ...) and its files in ML_DIR:
# NAME.conf, NAME.log (the daemon's output, appended) and the socket
# NAME.sock. A daemon is ready when its filter process logs "listening on"
# (ready.sh's sm_start), never when its socket file exists.
#
#   ml_need_root SUITE "$@"
#       as a user other than root, run this script again under sudo, or fail
#       with the summary line: Postfix and Sendmail need root
#   ok NAME / fail NAME / check NAME COMMAND...
#       count a passed or failed check (check runs COMMAND); ml_summary prints
#       "N passed, N failed" and returns non-zero if any failed; ml_give_up
#       WHAT fails WHAT, a step nothing else can be tested without, and exits
#   ml_setup PREFIX
#       ML_DIR (also T) = a fresh /tmp/PREFIX.XXXXXX that the daemon's user
#       can read, with a state/ directory it can write
#   ml_conf NAME TRANSPORT [KEY VALUE]...
#       write NAME.conf: CustomerMap $ML_CUSTOMERS (default conf/customers.csv),
#       the test key's public half (TestPublicKeys), Socket unix:NAME.sock,
#       UserID nobody:nogroup, OutboxDB state/outbox.db (with ML_DB set: StateDB
#       and OutboxDB both $ML_DB), notices to TRANSPORT, delivery and retry
#       every second; then a line per KEY VALUE
#   ml_start NAME [TIMEOUT]
#       start "$SM -f -c NAME.conf"; returns once it logged "listening on"
#       (default 60 s); its pid is ml_pid NAME
#   ml_stop NAME [SIGNAL [TIMEOUT]]
#       send SIGNAL (default TERM) and return once it and its filter process
#       are gone (default 60 s)
#   ml_cleanup
#       stop every daemon still running (SIGTERM), for the suite's EXIT trap
#   ml_outbox_pending NAME
#       how many notices NAME's outbox holds that its transport has not taken
#       yet ("shadowmilter status", as the daemon's user); empty if it cannot say
#   ml_wait_outbox_empty NAME [TIMEOUT]
#       wait (default 60 s) until NAME's outbox holds no pending notice: every
#       notice its reports made so far has been handed to the transport. A
#       suite waits for this, not a sleep, before it counts what did NOT come
#   ml_send_direct NAME FILE
#       hand the report FILE straight to daemon NAME over the milter protocol
#       (miltertest, tests/miltertest/common.lua), as while the MTA is down;
#       true if it was taken; miltertest's output in NAME.direct.out
#   ml_send_paused PORT FILE
#       send FILE by SMTP to 127.0.0.1:PORT (autoreports@shadowserver.org to
#       ops@example.net) with a client (slow-smtp.pl) that stops half way
#       through DATA; returns once it says it stopped (the MTA has the headers
#       and has passed them to the milter). ml_resume lets it finish; its final
#       reply code is then in ML_DIR/slow.out
#   ml_sign IN OUT
#       IN DKIM-signed into OUT as ShadowServer signs its mail, with the
#       throwaway test key (tests/fixtures/dkim/; ml_conf gives the daemon its
#       public half), by the dkimsign built next to $SM
#   ml_report ID OUT [signed|bare|planted]
#       the bundled report (tests/fixtures/demo-portmapper.eml) with
#       Message-ID <ID> and a file of its own named after ID's local part
#       (the daemon makes a report file's notices once, whatever mail brings
#       it) in OUT: signed (the default) with ml_sign; bare: not signed
#       and without the fixture's Authentication-Results; planted: not signed,
#       the fixture's "dkim=pass" Authentication-Results kept (a forgery)
#   ml_check_demo_notices
#       the checks on what the bundled report (tests/fixtures/demo-portmapper.eml)
#       leaves in the Maildirs of a private Postfix (postfix-lib.sh): one notice
#       for each customer address, acme's and bob's naming only their own
#       hosts, ACTION REQUIRED in the subject, and the ops copy (ops@example.net)
#       with the result and the unmatched address. Sets N (acme's notice), B
#       (bob's) and O (the ops copy) for the suite's own checks.

passed=0 failed=0
ok()   { passed=$((passed + 1)); echo "ok   $1"; }
fail() { failed=$((failed + 1)); echo "FAIL $1"; }
check() { _ml_name=$1; shift; if "$@"; then ok "$_ml_name"; else fail "$_ml_name"; fi; }
ml_summary() {
	echo "$passed passed, $failed failed"
	[ "$failed" -eq 0 ]
}
ml_give_up() {
	fail "$1"
	ml_summary
	exit 1
}

ml_need_root() {
	_ml_suite=$1
	shift
	[ "$(id -u)" = 0 ] && return 0
	command -v sudo >/dev/null 2>&1 && exec sudo -E sh "$0" "$@"
	echo "FAIL the $_ml_suite suite needs root (or sudo)"
	echo "0 passed, 1 failed"
	exit 1
}

ml_setup() {
	ML_DIR=$(mktemp -d "/tmp/$1.XXXXXX") || return 1
	T=$ML_DIR
	chmod 755 "$ML_DIR"
	mkdir -p "$ML_DIR/state"
	chmod 777 "$ML_DIR/state"
}

ml_conf() {
	_ml_conf=$ML_DIR/$1.conf
	{
		printf '%-19s %s\n' CustomerMap "${ML_CUSTOMERS:-$(pwd)/conf/customers.csv}" \
		    TestPublicKeys "$(pwd)/tests/fixtures/dkim/keys" Socket "unix:$ML_DIR/$1.sock" UserID nobody:nogroup
		if [ -n "${ML_DB:-}" ]; then
			printf '%-19s %s\n' StateDB "$ML_DB" OutboxDB "$ML_DB"
		else
			printf '%-19s %s\n' OutboxDB "$ML_DIR/state/outbox.db"
		fi
		printf '%-19s %s\n' Transport "$2" DeliverInterval 1 RetryInterval 1
		shift 2
		while [ $# -ge 2 ]; do
			printf '%-19s %s\n' "$1" "$2"
			shift 2
		done
	} >"$_ml_conf"
}

ml_pid() { eval "echo \${ML_PID_$1:-}"; }

ml_start() {
	sm_start "$ML_DIR/$1.log" "$ML_DIR/$1.conf" "${2:-60}"
	_ml_rc=$?
	eval "ML_PID_$1=\$SM_PID"
	case " ${ML_STARTED:-} " in *" $1 "*) ;; *) ML_STARTED="${ML_STARTED:-} $1" ;; esac
	return $_ml_rc
}

ml_stop() {
	_ml_pid=$(ml_pid "$1")
	[ -n "$_ml_pid" ] || return 0
	_ml_children=$(pgrep -P "$_ml_pid")
	kill -"${2:-TERM}" "$_ml_pid" 2>/dev/null
	eval "ML_PID_$1="
	ready_gone "$_ml_pid" "${3:-60}" || return 1
	wait "$_ml_pid" 2>/dev/null
	for _ml_c in $_ml_children; do ready_gone "$_ml_c" "${3:-60}" || return 1; done
}

ml_cleanup() {
	for _ml_n in ${ML_STARTED:-}; do ml_stop "$_ml_n" TERM 30 2>/dev/null; done
}

ml_outbox_pending() {
	# status wants a history: the outbox's own database holds one when StateDB is not set
	set -- -c "$ML_DIR/$1.conf" --json
	grep -q '^StateDB ' "$2" || set -- "$@" --state "$(awk '$1 == "OutboxDB" { f = $2 } END { print f }' "$2")"
	if [ "$(id -u)" -eq 0 ]; then
		runuser -u nobody -- "$SM" status "$@" 2>/dev/null
	else
		"$SM" status "$@" 2>/dev/null
	fi | sed -n 's/.*"outbox":{[^}]*"pending":\([0-9]*\).*/\1/p'
}

ml__outbox_empty() { [ "$(ml_outbox_pending "$1")" = 0 ]; }

ml_wait_outbox_empty() {
	ready__until "${2:-60}" "waiting for the outbox of $1 to empty" ml__outbox_empty "$1"
}

ml_send_direct() {
	cat >"$ML_DIR/$1.direct.lua" <<EOL
dofile("$(pwd)/tests/miltertest/common.lua")
local conn = connect()
local r = send_eml(conn, "$2", "<autoreports@shadowserver.org>")
assert(r == SMFIR_ACCEPT or r == SMFIR_CONTINUE, "reply " .. tostring(r))
mt.disconnect(conn)
EOL
	SM_SOCKET="unix:$ML_DIR/$1.sock" miltertest -s "$ML_DIR/$1.direct.lua" >"$ML_DIR/$1.direct.out" 2>&1
}

ml_send_paused() {
	touch "$ML_DIR/pause"
	perl "$(pwd)/tests/e2e/slow-smtp.pl" "$1" autoreports@shadowserver.org ops@example.net "$2" "$ML_DIR/pause" \
	    >"$ML_DIR/slow.out" 2>&1 &
	ML_SLOW_PID=$!
	ready_log "$ML_DIR/slow.out" '^paused$' 0 60 "$ML_SLOW_PID"
}

ml_resume() {
	rm -f "$ML_DIR/pause"
	wait "$ML_SLOW_PID"
}

ml_sign() {
	"$(dirname "$SM")/dkimsign" -k "$(pwd)/tests/fixtures/dkim/test.private" <"$1" >"$2"
}

ml_report() {
	# a report of its own carries a file of its own: one report file is applied
	# once, whatever mail brings it (the file's list gets the Message-ID's local part)
	python3 tests/e2e/report-as-file.py tests/fixtures/demo-portmapper.eml "$2.src" "${1%%@*}" || return 2
	case ${3:-signed} in
	signed)
		sed "s/^Message-ID: .*/Message-ID: <$1>/" "$2.src" >"$2.unsigned" &&
			ml_sign "$2.unsigned" "$2" && rm -f "$2.unsigned" "$2.src" ;;
	bare)
		sed -e "s/^Message-ID: .*/Message-ID: <$1>/" -e '/^Authentication-Results:/,/spf=pass/d' \
		    "$2.src" >"$2" && rm -f "$2.src" ;;
	planted)
		sed "s/^Message-ID: .*/Message-ID: <$1>/" "$2.src" >"$2" && rm -f "$2.src" ;;
	*)
		echo "ml_report: $3: signed, bare or planted" >&2
		return 2 ;;
	esac
}

# ml__latest ADDRESS - the newest message in ADDRESS's Maildir
ml__latest() { ls -t "$(pf_maildir "$1")/new/"* 2>/dev/null | head -n 1; }

ml_check_demo_notices() {
	for _ml_a in ops@acme.example bob@bob.example alerts@bob.example carol@carol.example dave@dave.example; do
		pf_wait_delivered "$(pf_maildir "$_ml_a")" 1 60 2>/dev/null
		check "one notice for $_ml_a" test "$(pf_count "$(pf_maildir "$_ml_a")")" -eq 1
	done
	pf_wait_delivered "$(pf_maildir ops@example.net)" 1 60 2>/dev/null
	N=$(ml__latest ops@acme.example)
	check "acme's notice lists acme's addresses" grep -q '^192.0.2.10:111 (UDP) detected at 2026-11-24 08:52:55 UTC$' "$N"
	check "acme's notice lists acme's IPv6 address" grep -q '^\[2001:db8:100::25\]:111 (UDP)' "$N"
	check "acme's notice has nobody else's addresses" \
	    sh -c "! grep -qE '192\\.0\\.2\\.(66|70)|198\\.51\\.100|2001:db8:200|203\\.0\\.113' '$N'"
	B=$(ml__latest bob@bob.example)
	check "bob's notice lists only bob's addresses" \
	    sh -c "grep -q '^192.0.2.66:111' '$B' && grep -q '^192.0.2.70:111' '$B' && ! grep -qE '192\\.0\\.2\\.(10|200):' '$B'"
	check "notice subject is ACTION REQUIRED" grep -q '^Subject: ACTION REQUIRED:' "$N"
	O=$(ml__latest ops@example.net)
	check "ops copy carries the result" grep -q '^X-Shadowmilter-Result: notices=4 unmatched=1 skipped_rows=1' "$O"
	check "ops copy lists the unmatched" grep -q '^X-Shadowmilter-Unmatched: 203.0.113.5:111/udp' "$O"
}
