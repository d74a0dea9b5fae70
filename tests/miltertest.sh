#!/bin/sh
# miltertest.sh BUILD - the daemon's callbacks over the real milter protocol,
# driven by Debian's miltertest (Lua scripts in tests/miltertest/).
# Ends with "N passed, N failed".
BUILD=${1:-build}
SM="$(pwd)/$BUILD/shadowmilter"
. "$(pwd)/tests/ready.sh"
. "$(pwd)/tests/e2e/milter-lib.sh"
command -v miltertest >/dev/null 2>&1 || ml_give_up "miltertest is not installed (make deps installs it)"
ml_setup sm-miltertest
mkdir -p "$T/spool"
chmod 777 "$T/spool"
cleanup() {
	ml_cleanup
	[ -n "$SM_KEEP" ] || rm -rf "$T"
}
trap cleanup EXIT

# the stand-in MTA for notices: one file per message
cat >"$T/sendmail" <<EOS
#!/bin/sh
cat > "$T/spool/\$\$.\$(date +%s%N).eml"
EOS
chmod 755 "$T/sendmail"
cp conf/customers.csv "$T/customers.csv"
ML_CUSTOMERS=$T/customers.csv
# the PidFile's directory is shared (sticky, world-writable) and nobody has
# planted a symlink to a root-owned 0600 file where the pid file goes
mkdir -m 1777 "$T/run"
printf 'victim\n' >"$T/victim"
chmod 600 "$T/victim"
ln -s "$T/victim" "$T/run/milter.pid"
chown -h nobody "$T/run/milter.pid"
printf 'account\n' >"$T/settings.csv"	# AccountSettings: none yet
ml_conf milter "sendmail:$T/sendmail" StateDB "$T/state/history.db" DeliveryLease 5s MaxReportSize 64K \
    PidFile "$T/run/milter.pid" AccountSettings "$T/settings.csv"

# fixtures: the demo report and one too big, DKIM-signed with the test key
# (tests/fixtures/dkim/, verified through TestPublicKeys); a forged copy: not
# signed, with a "dkim=pass" Authentication-Results planted in our verifier's name
ml_sign tests/fixtures/demo-portmapper.eml "$T/demo.eml"
cp tests/fixtures/demo-portmapper.eml "$T/forged.eml"
{ sed -n '1,/^$/p' tests/fixtures/demo-portmapper.eml; printf -- '--b1_demo\nContent-Type: text/csv; name="2026-11-24-scan_portmapper-big.csv"\n\ntimestamp,ip\n'
  i=0; while [ $i -lt 4000 ]; do echo "2026-11-24 01:00:00,192.0.2.10"; i=$((i + 1)); done; echo "--b1_demo--"; } >"$T/big-unsigned.eml"
ml_sign "$T/big-unsigned.eml" "$T/big.eml"

# ready when the filter process logs "listening on", not when the socket file appears
if ml_start milter; then ok "the daemon starts and logs that it listens"
else fail "the daemon did not log that it listens"; sed 's/^/    /' "$T/milter.log"; fi

export SM_SOCKET="unix:$T/milter.sock" SM_LUA_DIR="$(pwd)/tests/miltertest"
export SM_DEMO="$T/demo.eml" SM_FORGED="$T/forged.eml" SM_BIG="$T/big.eml"
for script in report nonreport forged oversized abort negotiate; do
	if miltertest -s "tests/miltertest/$script.lua" >"$T/out" 2>&1; then
		ok "miltertest $script"
	else
		fail "miltertest $script"; sed 's/^/    /' "$T/out"
	fi
done

if grep -q 'the MTA does not offer the actions shadowmilter needs' "$T/milter.log"; then ok "a refused negotiation is logged clearly"
else fail "no log line for the refused negotiation"; fi

# the delivery worker hands the four notices to the stand-in MTA exactly once
i=0
while [ "$(ls "$T/spool" | wc -l)" -lt 4 ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i + 1)); done
ml_wait_outbox_empty milter 60	# every notice handed over: a fifth would be in the spool by now
n=$(ls "$T/spool" | wc -l)
if [ "$n" -eq 4 ]; then ok "four notices delivered once"
else fail "$n notices delivered, wanted 4"; fi
if grep -q 'QTEST1: report notices=4' "$T/milter.log"; then ok "log line carries the queue id"
else fail "no log line with the queue id"; sed 's/^/    /' "$T/milter.log"; fi
if grep -q 'QTEST1: notice [0-9]* for acme (scan_portmapper): sent' "$T/milter.log"; then ok "delivery log lines carry the report's queue id"
else fail "delivery log lines lack the report's queue id"; sed 's/^/    /' "$T/milter.log"; fi
if [ "$(stat -c %U "$T/state/outbox.db")" = nobody ]; then ok "runs as UserID"
else fail "outbox not owned by UserID"; fi
if [ "$(cat "$T/victim")" = victim ] && [ ! -L "$T/run/milter.pid" ] && [ "$(cat "$T/run/milter.pid")" = "$(ml_pid milter)" ]
then ok "the PidFile replaces a planted symlink, never writes through it"
else fail "the PidFile followed a planted symlink"; ls -l "$T/run" "$T/victim" | sed 's/^/    /'; fi
# state is not world-readable: the outbox, its -wal and -shm (the daemon holds them open)
modes_ok=1
for f in "$T/state/outbox.db" "$T/state/outbox.db-wal" "$T/state/outbox.db-shm" "$T/state/history.db"; do
	m=$(stat -c %a "$f" 2>/dev/null) || { modes_ok=0; echo "    $f: missing"; continue; }
	[ $((0$m & 027)) -eq 0 ] || { modes_ok=0; echo "    $f: mode $m"; }
done
if [ $modes_ok = 1 ]; then ok "databases and their -wal/-shm are 0640 or tighter"
else fail "a database file is readable by others"; fi
if [ "$(stat -c %U "$T/state/history.db")" = nobody ] &&
    "$SM" history -c "$T/milter.conf" 192.0.2.10 2>&1 | grep -q ' first detected  acme scan_portmapper 192.0.2.10:111/udp SM-'; then
	ok "the daemon records detection history (StateDB, as UserID)"
else fail "no detection history from the daemon"; "$SM" history -c "$T/milter.conf" 192.0.2.10 2>&1 | sed 's/^/    /'; fi

run() {	# run NAME SCRIPT: one miltertest script as a test
	if miltertest -s "tests/miltertest/$2.lua" >"$T/out" 2>&1; then
		ok "$1"
	else
		fail "$1"; sed 's/^/    /' "$T/out"
	fi
}

# SIGHUP to the supervisor reloads: a customer added to the map is used at once
echo "203.0.113.0/24,erin,erin@erin.example," >>"$T/customers.csv"
before=$(ready_count "$T/milter.log" ': reloaded ')
kill -HUP "$(ml_pid milter)"
ready_log "$T/milter.log" ': reloaded ' "$before" 60 "$(ml_pid milter)"
ml_report after-reload@reports.shadowserver.org "$T/reload.eml"
export SM_RELOAD_EML="$T/reload.eml"
run "SIGHUP reloads the customer map" reloaded

# a reload with a template that does not render is refused; the filter goes on as it was
mkdir -p "$T/site"
printf 'Subject: ACTION REQUIRED: {{servce}}\n\nhello\n' >"$T/site/scan_portmapper.tmpl"
echo "TemplateDir $T/site" >>"$T/milter.conf"
before=$(ready_count "$T/milter.log" 'reload failed')
kill -HUP "$(ml_pid milter)"
ready_log "$T/milter.log" 'reload failed' "$before" 60 "$(ml_pid milter)"
if grep -q "reload failed, keeping the running configuration: .*/site/scan_portmapper.tmpl:1: unknown variable {{servce}}" "$T/milter.log"
then ok "a reload with a broken template is refused and logged"
else fail "a broken template was not refused at reload"; fi
ml_report after-bad-reload@reports.shadowserver.org "$T/reload.eml"
run "the running configuration still makes notices" reloaded
rm -f "$T/site/scan_portmapper.tmpl"

settled() {	# settled: wait until every notice the log says was queued has its "sent" line
	i=0
	while [ $i -lt 600 ]; do
		queued=$(sed -n 's/.*: report notices=\([0-9]*\)\( duplicates=\([0-9]*\)\)\{0,1\} .*/\1 \3/p' "$T/milter.log" |
		    awk '{ s += $1 - $2 } END { print s + 0 }')
		[ "$(grep -c '): sent$' "$T/milter.log")" -ge "$queued" ] && return 0
		sleep 0.1
		i=$((i + 1))
	done
	echo "    not all queued notices were sent" >&2
	return 1
}

# the filter process killed outright: the supervisor starts a new one. Not while it
# hands notices over: one sent but not yet logged would leave "settled" waiting forever
settled
# (the socket stays open in the supervisor: the wait is for the new process's "listening on")
child=$(pgrep -P "$(ml_pid milter)" | head -n 1)
before=$(ready_count "$T/milter.log" 'shadowmilter\[[0-9]+\]: listening on ')
reloads=$(ready_count "$T/milter.log" ': reloaded ')
kill -9 "$child"
if sm_wait_listening "$T/milter.log" "$before" 60 "$(ml_pid milter)" && grep -q "filter process $child killed by signal 9; restarting" "$T/milter.log"
then ok "the restart is logged"
else fail "the restart is not logged"; fi
if [ "$(ready_count "$T/milter.log" ': reloaded ')" -gt "$reloads" ]; then ok "the restarted filter process reads the config again"
else fail "the restarted filter process kept the start-up config"; fi
run "a killed filter process is restarted" nonreport

# templates are parsed at start and reload, never per message: an edit on disk counts
# from the next reload on, and only if it renders (the running TemplateDir is now $T/site)
send_report() {	# send_report ID NAME [SCRIPT]: the demo report as message ID (checked by SCRIPT, else
	# reloaded.lua); its notices' files in $T/spool.new
	ml_report "$1@reports.shadowserver.org" "$T/reload.eml"
	settled	# notices of earlier reports (a killed process's, say) are out before we look
	ls "$T/spool" | sort >"$T/spool.before"
	run "$2" "${3:-reloaded}"
	settled
	ls "$T/spool" | sort | comm -13 "$T/spool.before" - >"$T/spool.new"
}
marked() {	# marked: how many of the new notices carry the edited subject (folded: grep the word)
	n=0
	for f in $(cat "$T/spool.new"); do grep -q 'site-edit-1' "$T/spool/$f" && n=$((n + 1)); done
	echo "$n"
}
check_count() {	# check_count NAME GOT WANT
	if [ "$2" -eq "$3" ]; then ok "$1"
	else fail "$1: $2, wanted $3"; fi
}
sed '1s/$/ [site-edit-1]/' templates/scan_portmapper.tmpl >"$T/site/scan_portmapper.tmpl"
send_report edit-before-reload "a report after a template edit on disk, before the reload"
check_count "notices made after the edit" "$(wc -l <"$T/spool.new")" 5
check_count "the edit is not used before the reload" "$(marked)" 0
before=$(ready_count "$T/milter.log" ': reloaded ')
kill -HUP "$(ml_pid milter)"
ready_log "$T/milter.log" ': reloaded ' "$before" 60 "$(ml_pid milter)"
send_report edit-after-reload "a report after the reload"
check_count "the edited template is used after the reload" "$(marked)" 5
# a broken edit does not touch the running set: reports are not deferred
printf 'Subject: ACTION REQUIRED: {{servce}}\n\nhello\n' >"$T/site/scan_portmapper.tmpl"
send_report broken-edit "a report after a broken edit on disk is handled"
check_count "with the parsed template" "$(marked)" 5
before=$(ready_count "$T/milter.log" 'reload failed')
kill -HUP "$(ml_pid milter)"
ready_log "$T/milter.log" 'reload failed' "$before" 60 "$(ml_pid milter)"
if tail -n 5 "$T/milter.log" | grep -q "reload failed, keeping the running configuration: .*/site/scan_portmapper.tmpl:1: unknown variable {{servce}}"
then ok "the reload with the broken edit is refused, naming the template"
else fail "the reload with a broken edit was not refused"; tail -n 5 "$T/milter.log" | sed 's/^/    /'; fi
send_report after-refused-reload "a report after the refused reload is handled"
check_count "with the template parsed before" "$(marked)" 5

# the customer map is read again when the CSV changes (no SIGHUP): a prefix
# that moved goes to its new owner only; a map that shrank too much is refused
to_count() {	# to_count ADDRESS: how many of the new notices are addressed to it
	n=0
	for f in $(cat "$T/spool.new"); do grep -q "^To: .*$1" "$T/spool/$f" && n=$((n + 1)); done
	echo "$n"
}
before=$(ready_count "$T/milter.log" 'CustomerMap refreshed')
sed 's/^198.51.100.0\/25,carol,carol@carol.example/198.51.100.0\/25,frank,frank@frank.example/' "$T/customers.csv" \
    >"$T/customers.new" && mv "$T/customers.new" "$T/customers.csv"
ready_log "$T/milter.log" 'CustomerMap refreshed' "$before" 60 "$(ml_pid milter)"
send_report moved-prefix "a report after the CSV moved a prefix"
check_count "the moved prefix's notice goes to the new owner" "$(to_count frank@frank.example)" 1
check_count "and not to the old one" "$(to_count carol@carol.example)" 0
before=$(ready_count "$T/milter.log" 'CustomerMap refresh refused')
printf 'prefix,account,email\n192.0.2.0/24,acme,ops@acme.example\n' >"$T/customers.new" && mv "$T/customers.new" "$T/customers.csv"
ready_log "$T/milter.log" 'CustomerMap refresh refused' "$before" 60 "$(ml_pid milter)"
if tail -n 3 "$T/milter.log" | grep -q 'the new map has 1 prefixes, [0-9]*% fewer than the [0-9]* in use'
then ok "a map that shrank too much is refused and logged"
else fail "the shrunk map was not refused"; tail -n 3 "$T/milter.log" | sed 's/^/    /'; fi
send_report after-shrink "a report after the refused map"
check_count "the map in use still knows the moved prefix" "$(to_count frank@frank.example)" 1
"$SM" status -c "$T/milter.conf" >"$T/status.out" 2>&1
if grep -q "^    CustomerMap@[^ ]* $T/customers.csv: 6 prefixes, 5 accounts, read " "$T/status.out" &&
    grep -q "WARNING: the last refresh, .*, was refused: .*the new map has 1 prefixes" "$T/status.out"
then ok "status shows the map's source, age, size and last error"
else fail "status does not show the map"; sed 's/^/    /' "$T/status.out"; fi

# AccountSettings are read again when the CSV changes, as the map is: acme's
# notices are withheld from then on; a broken file is refused, the settings in use stay
before=$(ready_count "$T/milter.log" 'AccountSettings refreshed')
printf 'account,notify\nacme,none\ndave,all\n' >"$T/settings.new" && mv "$T/settings.new" "$T/settings.csv"
ready_log "$T/milter.log" 'AccountSettings refreshed: 2 accounts' "$before" 60 "$(ml_pid milter)"
send_report settings-none "a report after acme's settings said notify none: the result lists it withheld" withheld
check_count "acme's notice is withheld" "$(to_count ops@acme.example)" 0
check_count "dave's still goes out" "$(to_count dave@dave.example)" 1
before=$(ready_count "$T/milter.log" 'AccountSettings refresh refused')
printf 'account,notify\nacme,sometimes!\n' >"$T/settings.new" && mv "$T/settings.new" "$T/settings.csv"
ready_log "$T/milter.log" 'AccountSettings refresh refused' "$before" 60 "$(ml_pid milter)"
if tail -n 3 "$T/milter.log" | grep -q "the settings in use stay: $T/settings.csv:2: bad notify"
then ok "broken AccountSettings are refused and logged"
else fail "broken AccountSettings were not refused"; tail -n 3 "$T/milter.log" | sed 's/^/    /'; fi
send_report settings-kept "a report after the refused settings" withheld
check_count "the settings in use still withhold acme's notice" "$(to_count ops@acme.example)" 0
"$SM" status -c "$T/milter.conf" >"$T/status2.out" 2>&1
if grep -q "^    AccountSettings@[^ ]* $T/settings.csv: 2 accounts with settings, read " "$T/status2.out" &&
    grep -q "WARNING: the last refresh, .*, was refused: .*settings.csv:2: bad notify" "$T/status2.out"
then ok "status shows the settings' source, age, size and last error"
else fail "status does not show the settings"; sed 's/^/    /' "$T/status2.out"; fi

# a second instance must not steal a socket somebody answers on
if "$SM" -f -c "$T/milter.conf" >"$T/second" 2>&1; then
	fail "a second instance started on a live socket"
else
	ok "live socket is not removed"
fi
ml_summary
