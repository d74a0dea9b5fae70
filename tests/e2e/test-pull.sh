#!/bin/sh
# test-pull.sh BUILD - "shadowmilter pull" against a test ShadowServer
# (tests/e2e/fakeshadowserver.py over HTTPS with a CA made here; every API
# call's HMAC2 checked): a pull applies the files the API offers and queues
# their notices, a second pull applies nothing, --dry-run sends nothing, a
# wrong secret, a 429 or a non-JSON answer is a clear error and applies
# nothing, a file over MaxReportSize is skipped and in the ops mail, one
# over MaxCSVSize or MaxRows is refused until a limit changes, and two
# pulls at once on one PostgreSQL (run under tests/e2e/with-pg.sh: PG_URI)
# apply each file once. Ends with "N passed, N failed, N skipped".
BUILD=${1:-build}
SM="$(pwd)/$BUILD/shadowmilter"
. tests/e2e/fetch-lib.sh
fs_suite pull
fs_start
chmod 600 "$T/secret"

# ---- what the API offers: three report files, one of a type nobody knows ------------
# serve ID PORT - the demo report's CSV as download ID, its services on PORT: findings of their
# own (the history holds back a finding it has just notified)
serve() { sed 's/,udp,111,/,udp,'"$2"',/' "$T/srv/files/csv1" >"$T/srv/files/$1"; }
serve p24 111
serve p23 112
serve z22.csv 113
python3 - "$T/srv/files" <<'PY'
import sys, zipfile
d = sys.argv[1]
with zipfile.ZipFile(d + "/z22", "w") as z:       # a zipped file, named as ShadowServer names it
    z.writestr("2026-11-22-scan_portmapper-example-hosting.csv", open(d + "/z22.csv", "rb").read())
PY
serve n1 111
# listed IDS... - list.json offers these entries (id file type), from the table below
entry() { printf '{"id":"%s","file":"%s","type":"%s","report":"example-hosting","timestamp":"%s 06:00:00","url":"https://www.shadowserver.org/what-we-do/network-reporting/"}' \
    "$1" "$2" "$3" "$(echo "$2" | cut -c1-10)"; }
listed() {
	sep="" out="["
	for e in "$@"; do
		case $e in
		p24) f=2026-11-24-scan_portmapper-example-hosting.csv t=scan_portmapper ;;
		p23) f=2026-11-23-scan_portmapper-example-hosting.csv t=scan_portmapper ;;
		z22) f=2026-11-22-scan_portmapper-example-hosting.csv t=scan_portmapper ;;
		n1)  f=2026-11-24-notatype-example-hosting.csv t=notatype ;;
		big) f=2026-11-24-scan_ntp-example-hosting.csv t=scan_ntp ;;
		gate-*) f=2026-11-$(echo "$e" | cut -c6-7)-scan_portmapper-example-hosting.csv t=scan_portmapper ;;
		esac
		out="$out$sep$(entry "$e" "$f" "$t")"
		sep=","
	done
	echo "$out]" >"$T/srv/list.json"
}
listed p24 p23 z22 n1
echo '["scan_portmapper","scan_ntp","event4_sinkhole"]' >"$T/srv/types.json"

fs_spool
# conf FILE STORE [KEY VALUE]... - a pull configuration on STORE (a SQLite file or a PostgreSQL URI)
conf() {
	out=$1 store=$2
	shift 2
	fs_conf "$out" FetchTimeout 5s MaxReportSize 1M $FS_API OutboxDB "$store" StateDB "$store" \
	    Transport "sendmail:$T/sendmail" OpsAddress ops@example.net "$@"
}
conf "$T/sm.conf" "$T/store.db"
WIN="--since 2026-11-20 --until 2026-11-25"
pull() { "$SM" pull -c "$T/sm.conf" $WIN "$@"; }
opsmails() { grep -l '^Subject: shadowmilter: Reports API pull' "$T"/spool/*.eml 2>/dev/null | wc -l; }
downloads() { grep -c '^GET /dl/' "$REQ" 2>/dev/null || true; }
json() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$@"; }

# ---- --types and --list ask, and fetch nothing ------------------------------------------
pull --types >"$T/types.out" 2>"$T/err"
check "--types lists the API's report types (reports/types, signed)" grep -qx scan_ntp "$T/types.out"
pull --list >"$T/list.out" 2>"$T/err"
check "--list shows the three files as new" test "$(grep -c '^new ' "$T/list.out")" -eq 3
check "... and a type the catalogue does not know as not asked for" grep -q '^type not wanted .*notatype' "$T/list.out"
check "... and downloads nothing" test "$(downloads)" -eq 0
check "reports/list was asked with the window" grep -q '^POST /api2/reports/list ' "$REQ"

# ---- --dry-run: read, counted, nothing applied, queued or mailed --------------------------
pull --dry-run --json >"$T/dry.json" 2>"$T/err"
check "--dry-run reads the three files" test "$(json "$T/dry.json" 'sum(f["state"] == "dry run" for f in d["files"])')" -eq 3
check "... and says each would make four notices" test "$(json "$T/dry.json" '[f["notices"] for f in d["files"] if f["state"] == "dry run"]')" = "[4, 4, 4]"
"$SM" deliver -c "$T/sm.conf" >"$T/deliver.out" 2>&1
check "... and queues nothing and mails nobody" test "$(spooled)" -eq 0
pull --list >"$T/list2.out" 2>"$T/err"
check "... and marks nothing applied" test "$(grep -c '^new ' "$T/list2.out")" -eq 3

# ---- a pull applies the files, its notices go out, ops get one summary --------------------
pull >"$T/pull1.out" 2>"$T/pull1.err"
rc=$?
check "a pull exits 0" test "$rc" -eq 0
check "... applies the three files" grep -q 'files offered, 3 applied, 0 already applied, 0 failed' "$T/pull1.out"
check "... and logs each file with its notices" test "$(grep -c 'pull: 2026-11-2[234]-scan_portmapper-example-hosting.csv (id [pz]2[234]): applied: 4 notices' "$T/pull1.err")" -eq 3
check "... and never downloads the type not asked for" test "$(asked /dl/n1)" -eq 0
check "one summary mail to OpsAddress" test "$(opsmails)" -eq 1
check "... listing the files and their outcome" sh -c "cat '$T'/spool/*.eml | grep -q '2026-11-22-scan_portmapper-example-hosting.csv (id z22): applied: 4 notices'"
"$SM" deliver -c "$T/sm.conf" >"$T/deliver.out" 2>&1
check "the twelve notices are delivered" grep -q 'delivered 12,' "$T/deliver.out"
check "acme's notice lists acme's address" sh -c "grep -l '^192.0.2.10:111 (UDP)' '$T'/spool/*.eml | grep -q ."
"$SM" history -c "$T/sm.conf" acme >"$T/hist.out" 2>&1
check "the history knows acme's finding" grep -q '192.0.2.10' "$T/hist.out"

# ---- a second pull applies nothing ----------------------------------------------------------
before=$(downloads)
pull >"$T/pull2.out" 2>"$T/pull2.err"
check "a second pull applies nothing" grep -q 'files offered, 0 applied, 3 already applied, 0 failed' "$T/pull2.out"
check "... downloads nothing" test "$(downloads)" -eq "$before"
"$SM" deliver -c "$T/sm.conf" >"$T/deliver.out" 2>&1
check "... queues no notice and mails ops nothing" sh -c "grep -q 'delivered 0,' '$T/deliver.out' && test \$(ls '$T/spool' | wc -l) -eq 13"
pull --list >"$T/list3.out" 2>"$T/err"
check "--list shows them applied, by api" test "$(grep -c '^already applied .*by api' "$T/list3.out")" -eq 3

# ---- API failures: clear, nothing applied, the next run retries ------------------------------
conf "$T/fresh.conf" "$T/fresh.db"
printf 'wrong-secret\n' >"$T/wrong"
chmod 600 "$T/wrong"
sed "s|^ReportsAPISecretFile .*|ReportsAPISecretFile $T/wrong|" "$T/fresh.conf" >"$T/wrong.conf"
"$SM" pull -c "$T/wrong.conf" $WIN >"$T/wrong.out" 2>"$T/wrong.err"
rc=$?
check "a wrong secret fails the pull (exit 1)" test "$rc" -eq 1
check "... with the API's error text" grep -q 'reports/list: HTTP 401: invalid HMAC2 signature; nothing applied' "$T/wrong.err"
"$SM" pull -c "$T/fresh.conf" $WIN --list >"$T/fresh.out" 2>&1
check "... and nothing is applied" test "$(grep -c '^new ' "$T/fresh.out")" -eq 3
for k in rate-limited:'HTTP 429: rate limit exceeded' html-answer:'the answer is not JSON' expired-key:'HTTP 401: API key expired'; do
	key=${k%%:*} text=${k#*:}
	sed "s|^ReportsAPIKey .*|ReportsAPIKey $key|" "$T/fresh.conf" >"$T/$key.conf"
	"$SM" pull -c "$T/$key.conf" $WIN >"$T/$key.out" 2>"$T/$key.err"
	rc=$?
	check "$key: exit 1 and a clear line ($text)" sh -c "test $rc -eq 1 && grep -q '$text' '$T/$key.err'"
done
"$SM" pull -c "$T/fresh.conf" $WIN --list >"$T/fresh.out" 2>&1
check "... nothing applied by any of them" test "$(grep -c '^new ' "$T/fresh.out")" -eq 3
"$SM" pull -c "$T/fresh.conf" $WIN >"$T/fresh-pull.out" 2>&1
check "the next run with the right key applies them" grep -q '3 applied' "$T/fresh-pull.out"

# ---- a file over MaxReportSize: skipped, not truncated, in the ops mail -----------------------
listed p24 p23 z22 n1 big
rm -f "$T"/spool/*
pull >"$T/big.out" 2>"$T/big.err"
rc=$?
check "a file over MaxReportSize fails the pull (exit 1)" test "$rc" -eq 1
check "... is skipped, not truncated" grep -q 'pull: 2026-11-24-scan_ntp-example-hosting.csv (id big): too large, skipped: .*larger than MaxReportSize' "$T/big.err"
check "... and the ops mail says so" sh -c "cat '$T'/spool/*.eml | grep -q '(id big): too large, skipped: .*larger than MaxReportSize'"
pull --list >"$T/list4.out" 2>&1
check "... and it is not marked applied but refused, with the reason" \
    grep -q '^refused before .*scan_ntp-example-hosting.csv  id=big .*too large: .*larger than MaxReportSize' "$T/list4.out"
bigs=$(asked /dl/big) mails=$(spooled)
pull >"$T/big2.out" 2>"$T/big2.err"
rc=$?
check "the next pull exits 0 for it" test "$rc" -eq 0
check "... does not download it again" test "$(asked /dl/big)" -eq "$bigs"
check "... lists it as refused before" sh -c "grep -q '1 refused before' '$T/big2.out' && \
    grep -q 'pull: 2026-11-24-scan_ntp-example-hosting.csv (id big): refused before: refused .* UTC, too large' '$T/big2.err'"
check "... and mails ops nothing about it again" test "$(spooled)" -eq "$mails"
conf "$T/host2.conf" "$T/store.db"				# a second host on the same store
"$SM" pull -c "$T/host2.conf" $WIN >"$T/host2.out" 2>&1
rc=$?
check "another host sharing the store skips it too" sh -c "test $rc -eq 0 && test \$(grep -c ' /dl/big ' '$REQ') -eq $bigs"
conf "$T/raised.conf" "$T/store.db" MaxReportSize 2M
"$SM" pull -c "$T/raised.conf" $WIN >"$T/raised.out" 2>"$T/raised.err"
check "a raised MaxReportSize downloads it again (and refuses it again, under 2M, once more in the ops mail)" \
    sh -c "test $(asked /dl/big) -eq $((bigs + 1)) && grep -q '(id big): too large, skipped: .*(2097152 bytes)' '$T/raised.err' && \
    test \$(ls '$T/spool' | wc -l) -eq $((mails + 1))"
pull --retry-refused >"$T/retry.out" 2>"$T/retry.err"
check "--retry-refused downloads it again" test "$(asked /dl/big)" -eq $((bigs + 2))

# ---- unreadable files are refused once; a download that failed is tried again ----------------
serve p21 121
printf '<html><body>Report expired</body></html>\n' >"$T/srv/files/html1"
printf 'PK\003\004this is no zip at all, only its first bytes\n' >"$T/srv/files/zip1"
{ printf '['; entry html1 2026-11-20-scan_portmapper-example-other.csv scan_portmapper; printf ','
  entry zip1 2026-11-21-scan_portmapper-example-other.csv scan_portmapper; printf ','
  entry flaky-p21 2026-11-21-scan_portmapper-example-hosting.csv scan_portmapper; echo ']'; } >"$T/srv/list.json"
mails=$(spooled)
pull --json >"$T/u1.json" 2>"$T/u1.err"
rc=$?
check "a file that is neither CSV nor zip, and a zip that cannot be read, are refused as unreadable (exit 1)" \
    sh -c "test $rc -eq 1 && test \$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[\"unreadable\"])' '$T/u1.json') -eq 2"
check "... with the reason in the log" grep -q '(id html1): unreadable, refused: .*neither CSV nor zip' "$T/u1.err"
check "... and in the one ops mail" sh -c "test \$(ls '$T/spool' | wc -l) -eq $((mails + 1)) && cat '$T'/spool/*.eml | grep -q '(id zip1): unreadable, refused: '"
check "a download that failed (HTTP 500) is not refused" test "$(json "$T/u1.json" '[f["state"] for f in d["files"] if f["id"] == "flaky-p21"][0]')" = "failed, tried again next pull"
pull --json >"$T/u2.json" 2>"$T/u2.err"
rc=$?
check "the next pull exits 0" test "$rc" -eq 0
check "... downloads neither unreadable file again" test "$(asked /dl/html1)$(asked /dl/zip1)" = "11"
check "... lists both as refused before" test "$(json "$T/u2.json" 'd["refused_before"]')" -eq 2
check "... and applies the file whose download failed before" test "$(json "$T/u2.json" 'd["applied"]')" -eq 1
"$SM" pull -c "$T/sm.conf" --since 2026-11-26 --until 2026-11-20 >/dev/null 2>"$T/usage.err"
check "--since after --until is a usage error" grep -q 'is after --until' "$T/usage.err"

# ---- a file over MaxCSVSize: refused while the limits stay, applied once one is raised ----------
serve lim1 131
{ printf '['; entry lim1 2026-11-25-scan_portmapper-example-limits.csv scan_portmapper; echo ']'; } >"$T/srv/list.json"
conf "$T/csvsmall.conf" "$T/store.db" MaxCSVSize 100
limpull() { "$SM" pull -c "$1" $WIN --json; }
mails=$(spooled)
limpull "$T/csvsmall.conf" >"$T/lim1.json" 2>"$T/lim1.err"
rc=$?
check "a file over MaxCSVSize is refused (exit 1), downloaded once" sh -c "test $rc -eq 1 && test $(asked /dl/lim1) -eq 1"
check "... as too large, saying MaxCSVSize" grep -q '(id lim1): too large, skipped: .*MaxCSVSize' "$T/lim1.err"
check "... in the one ops mail" test "$(spooled)" -eq $((mails + 1))
limpull "$T/csvsmall.conf" >"$T/lim2.json" 2>"$T/lim2.err"
rc=$?
check "the next pull under the same limits exits 0 and does not download it again" \
    sh -c "test $rc -eq 0 && test $(asked /dl/lim1) -eq 1"
lim2=$(json "$T/lim2.json" 'd["files"][0]["state"] + ": " + d["files"][0]["detail"]')
check "... listing it as refused before, over a limit" sh -c 'echo "$1" | grep -q "^refused before: refused .* UTC, over a limit: .*CSV larger than MaxCSVSize"' _ "$lim2"
conf "$T/rows.conf" "$T/store.db" MaxRows 1
limpull "$T/rows.conf" >"$T/lim3.json" 2>"$T/lim3.err"
rc=$?
check "MaxCSVSize raised (MaxRows 1 now): downloaded again and refused over MaxRows" \
    sh -c "test $rc -eq 1 && test $(asked /dl/lim1) -eq 2 && grep -q '(id lim1): too large, skipped: .*MaxRows' '$T/lim3.err'"
limpull "$T/rows.conf" >/dev/null 2>&1
check "... and not downloaded again while MaxRows stays" test "$(asked /dl/lim1)" -eq 2
limpull "$T/sm.conf" >"$T/lim4.json" 2>"$T/lim4.err"
rc=$?
check "limits raised: the pull downloads it and applies it" \
    sh -c "test $rc -eq 0 && test $(asked /dl/lim1) -eq 3 && test \$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[\"applied\"])' '$T/lim4.json') -eq 1"

# a limit of the whole file (MaxColumns here; MaxReportFiles, MaxReportMemory alike) drops what was read
serve lim2 132
{ printf '['; entry lim2 2026-11-25-scan_portmapper-example-columns.csv scan_portmapper; echo ']'; } >"$T/srv/list.json"
conf "$T/cols.conf" "$T/store.db" MaxColumns 2
limpull "$T/cols.conf" >"$T/lim5.json" 2>"$T/lim5.err"
rc=$?
check "a file over MaxColumns is refused as too large, saying which limit" \
    sh -c "test $rc -eq 1 && grep -q '(id lim2): too large, skipped: .*more than MaxColumns (2)' '$T/lim5.err'"
limpull "$T/cols.conf" >/dev/null 2>&1
check "... not downloaded again while MaxColumns stays" test "$(asked /dl/lim2)" -eq 1
limpull "$T/sm.conf" >"$T/lim6.json" 2>"$T/lim6.err"
check "... and applied once it is raised" \
    sh -c "test $(asked /dl/lim2) -eq 2 && test \$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[\"applied\"])' '$T/lim6.json') -eq 1"

# ---- -n: a ReportDownloadURL the fetch would refuse is said at once ---------------------------
{ cat "$T/sm.conf"; echo "UserID $(id -un)"; echo "Socket inet:10025@127.0.0.1"; } >"$T/n.conf"
"$SM" -n --offline -c "$T/n.conf" >"$T/n.out" 2>&1
check "-n accepts a ReportDownloadURL on a ReportLinkHosts host" grep -q ': OK (' "$T/n.out"
echo "ReportDownloadURL https://dl.example.net/" >>"$T/n.conf"
"$SM" -n --offline -c "$T/n.conf" >"$T/n2.out" 2>&1
check "-n refuses one elsewhere, saying why" \
    grep -q 'ReportDownloadURL https://dl.example.net/: .*host dl.example.net is not in ReportLinkHosts' "$T/n2.out"

# ---- two pulls at once on one PostgreSQL: each file applied once ------------------------------
if [ -z "$PG_URI" ]; then
	skip "two concurrent pulls on one PostgreSQL (run under tests/e2e/with-pg.sh)"
else
	for d in 21 20 19 18; do serve gate-$d 1$d; done
	listed gate-21 gate-20 gate-19 gate-18
	conf "$T/pg.conf" "$PG_URI"
	PGWIN="--since 2026-11-18 --until 2026-11-21"
	"$SM" pull -c "$T/pg.conf" $PGWIN --list >"$T/pg-list.out" 2>&1	# the schema, made once
	check "PostgreSQL: four new files" test "$(grep -c '^new ' "$T/pg-list.out")" -eq 4
	rm -f "$T"/spool/*
	"$SM" pull -c "$T/pg.conf" $PGWIN --json >"$T/pg1.json" 2>"$T/pg1.err" &
	p1=$!
	"$SM" pull -c "$T/pg.conf" $PGWIN --json >"$T/pg2.json" 2>"$T/pg2.err" &
	p2=$!
	wait $p1
	wait $p2
	a1=$(json "$T/pg1.json" 'd["applied"]') a2=$(json "$T/pg2.json" 'd["applied"]')
	l1=$(json "$T/pg1.json" 'd["already_applied"]') l2=$(json "$T/pg2.json" 'd["already_applied"]')
	check "both pulls downloaded all four (the server held each until both asked)" \
	    test "$(grep -c '^GET /dl/gate-' "$REQ")" -eq 8
	check "between them each file is applied once ($a1 + $a2)" test $((a1 + a2)) -eq 4
	check "... and found applied by the other once ($l1 + $l2)" test $((l1 + l2)) -eq 4
	"$SM" deliver -c "$T/pg.conf" >"$T/pg-deliver.out" 2>&1
	check "... sixteen notices, not thirty-two" grep -q 'delivered 16,' "$T/pg-deliver.out"
fi
finish
