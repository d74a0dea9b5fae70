#!/bin/sh
# cli.sh BUILD - the replay command as an admin runs it: golden notice, JSON,
# mbox, Maildir, stdin, --out, config errors, detection history and the ops
# commands. Ends with "N passed, N failed, N skipped".
BUILD=${1:-build}
SM="$BUILD/shadowmilter"
NOW="2026-11-25 06:00:00"
T=$(mktemp -d)
trap 'pg_stop >/dev/null 2>&1; rm -rf "$T"' EXIT
passed=0 failed=0 skipped=0

ok()   { passed=$((passed + 1)); echo "ok   $1"; }
fail() { failed=$((failed + 1)); echo "FAIL $1"; }
check() { name=$1; shift; if "$@"; then ok "$name"; else fail "$name"; fi; }

# The bundled reports, DKIM-signed at run time as ShadowServer signs its mail
# (build/dkimsign, the throwaway key in tests/fixtures/dkim/); the configs
# verify them with the default VerifyDKIM yes and that key's public half.
KEYS="$(pwd)/tests/fixtures/dkim/keys"
sign() { "$BUILD/dkimsign" -k tests/fixtures/dkim/test.private <"$1" >"$2"; }
check "the bundled reports are signed" sign tests/fixtures/demo-portmapper.eml "$T/demo-portmapper.eml"
sign tests/fixtures/demo-portmapper-later.eml "$T/demo-portmapper-later.eml"
DEMO=$T/demo-portmapper.eml
LATER=$T/demo-portmapper-later.eml
{ sed "s|^CustomerMap .*|CustomerMap $(pwd)/conf/customers.csv|" conf/shadowmilter.conf; echo "TestPublicKeys $KEYS"; } >"$T/demo.conf"
CONF=$T/demo.conf
{ sed "s|^CustomerMap .*|CustomerMap $(pwd)/conf/customers.csv|" tests/golden/golden.conf; echo "TestPublicKeys $KEYS"; } >"$T/golden.conf"
GOLDEN=$T/golden.conf

# golden: the portmapper notice is the seed's text with the three agreed changes
"$SM" replay -c "$GOLDEN" --now "$NOW" --out "$T/golden" "$DEMO" >"$T/golden.log" 2>&1
check "golden portmapper notice for acme" cmp -s tests/golden/scan_portmapper-acme.eml "$T/golden/0001-scan_portmapper-acme.eml"
if ! cmp -s tests/golden/scan_portmapper-acme.eml "$T/golden/0001-scan_portmapper-acme.eml"; then
	diff -u tests/golden/scan_portmapper-acme.eml "$T/golden/0001-scan_portmapper-acme.eml" | head -40
fi
check "replay --out writes one file per customer" test "$(ls "$T/golden" | wc -l)" -eq 4
# replay in each account's language: the map's language column makes bobs-vps German, acme stays English
awk -F, 'NR == 1 {print $1 "," $2 "," $3 ",language"; next} {print $1 "," $2 "," $3 "," ($2 == "bobs-vps" ? "de" : "")}' \
    conf/customers.csv >"$T/customers-de.csv"
sed "s|^CustomerMap .*|CustomerMap $T/customers-de.csv|" "$GOLDEN" >"$T/golden-de.conf"
"$SM" replay -c "$T/golden-de.conf" --now "$NOW" --out "$T/golden-de" "$DEMO" >"$T/golden-de.log" 2>&1
check "replay with a language column: English for acme as before" \
    cmp -s tests/golden/scan_portmapper-acme.eml "$T/golden-de/0001-scan_portmapper-acme.eml"
DE=$(ls "$T/golden-de/"*bobs-vps* 2>/dev/null | head -1)
check "replay with a language column: bobs-vps's notice is German" \
    sh -c 'grep -q "^Content-Language: de$" "$1" && grep -q "^Sehr geehrte Damen und Herren,$" "$1" && grep -q " festgestellt am [0-9][0-9]\.[0-9][0-9]\.2026 " "$1"' - "${DE:-/nonexistent}"

# replay --out never writes through a planted symlink, makes only new files
# (0640 under the umask of 027 it sets), creates a missing directory 0750,
# and refuses a directory that is not the running user's or that everyone may
# write to without the sticky bit
umask 022	# the commands must not rely on the caller's umask
mode_of() { stat -c %a "$1"; }
check "replay --out creates files 0640 whatever the caller's umask" test "$(mode_of "$T/golden/0001-scan_portmapper-acme.eml")" = 640
check "replay --out creates a missing directory 0750" test "$(mode_of "$T/golden")" = 750
mkdir -m 1777 "$T/shared-out"
printf 'victim\n' >"$T/victim"
chmod 600 "$T/victim"
ln -s "$T/victim" "$T/shared-out/0001-scan_portmapper-acme.eml"
"$SM" replay -c "$GOLDEN" --now "$NOW" --out "$T/shared-out" "$DEMO" >"$T/planted.log" 2>&1
check "replay --out: a planted symlink is not followed (victim untouched)" test "$(cat "$T/victim")" = victim
check "replay --out: the notice is a new regular file in place of the symlink" \
    sh -c '[ ! -L "$1" ] && [ -f "$1" ] && cmp -s "$1" "$2"' - "$T/shared-out/0001-scan_portmapper-acme.eml" "$T/golden/0001-scan_portmapper-acme.eml"
mkdir -m 777 "$T/open-out"
"$SM" replay -c "$GOLDEN" --now "$NOW" --out "$T/open-out" "$DEMO" >"$T/open-out.log" 2>&1
check "replay --out refuses a world-writable directory without the sticky bit" test $? -eq 2
check "... and says why" grep -q 'writable by everyone and has no sticky bit' "$T/open-out.log"
check "... and writes nothing there" test -z "$(ls "$T/open-out")"
ln -s "$T/golden" "$T/linked-out"
"$SM" replay -c "$GOLDEN" --now "$NOW" --out "$T/linked-out" "$DEMO" >"$T/linked-out.log" 2>&1
check "replay --out refuses a directory that is a symbolic link" test $? -eq 2
if [ "$(id -u)" = 0 ] && id nobody >/dev/null 2>&1; then
	mkdir -m 755 "$T/nobody-out"
	chown nobody "$T/nobody-out"
	"$SM" replay -c "$GOLDEN" --now "$NOW" --out "$T/nobody-out" "$DEMO" >"$T/nobody-out.log" 2>&1
	check "replay --out refuses a directory of another user" sh -c '[ $1 -eq 2 ] && grep -q "belongs to another user" "$2"' - $? "$T/nobody-out.log"
else
	echo "SKIP replay --out refuses a directory of another user (needs root and a nobody user)"
	skipped=$((skipped + 1))
fi
"$SM" replay -c "$GOLDEN" --now "$NOW" --state "$T/modes.db" "$DEMO" >/dev/null 2>&1
check "replay --state creates its database 0640" test "$(mode_of "$T/modes.db")" = 640

# the rendered notice keeps the agreed wording
N="$T/golden/0001-scan_portmapper-acme.eml"
# headers unfolded (long subjects are folded at 78 columns)
unfolded() { awk '/^$/ {exit} /^[ \t]/ {sub(/^[ \t]+/, " "); line = line $0; next} {if (line != "") print line; line = $0} END {print line}' "$1"; }
unfolded "$N" >"$T/headers"
check "subject starts ACTION REQUIRED" grep -q '^Subject: ACTION REQUIRED: One or more of your BitFolk VPSes has an open portmapper service$' "$T/headers"
first_para=$(grep -n 'Regular security scans have detected' "$N" | cut -d: -f1)
consequence=$(grep -n 'This notice will be re-sent' "$N" | cut -d: -f1)
udp=$(grep -n 'As portmapper is a UDP service' "$N" | cut -d: -f1)
check "consequence paragraph comes right after the first paragraph" test "$first_para" -lt "$consequence" -a "$consequence" -lt "$udp"
check "list intro says firewalled off or shut down" grep -q 'All of these need to be firewalled off or shut down' "$N"

# JSON: one object per message with the documented fields
"$SM" replay -c "$CONF" --json --now "$NOW" "$DEMO" >"$T/out.json" 2>"$T/err"
check "json exit status 0" test $? -eq 0
check "json is one line per message" test "$(wc -l <"$T/out.json")" -eq 1
for key in '"message":' '"report":true' '"authenticated":true' '"reason":' '"reports":\[' '"type":"scan_portmapper"' \
    '"rows":10' '"skipped_rows":1' '"notices":\[' '"account":"acme"' '"to":\["ops@acme.example"\]' '"action_required":true' \
    '"findings":\[{"ip":"192.0.2.10","port":111,"protocol":"udp","timestamp":"2026-11-24T08:52:55Z"}' \
    '"unmatched":\[{"ip":"203.0.113.5","port":111,"protocol":"udp"}\]'; do
	check "json has $key" grep -q "$key" "$T/out.json"
done
if command -v python3 >/dev/null 2>&1; then
	check "json parses" python3 -c 'import json,sys; [json.loads(l) for l in open(sys.argv[1])]' "$T/out.json"
fi

# mbox with two messages, one quoted ">From " line; Maildir; stdin
{ echo "From autoreports@shadowserver.org Wed Nov 25 02:14:07 2026"; cat "$DEMO"; echo;
  echo "From someone@example.org Wed Nov 25 02:15:00 2026"; printf 'From: a@example.org\nSubject: hi\n\n>From the top\n'; } >"$T/two.mbox"
"$SM" replay -c "$CONF" --json "$T/two.mbox" >"$T/mbox.json" 2>&1
check "mbox yields two messages" test "$(grep -c '"message":' "$T/mbox.json")" -eq 2
check "mbox second message is not a report" grep -q '"message":"[^"]*two.mbox:2","report":false' "$T/mbox.json"
mkdir -p "$T/Maildir/new" "$T/Maildir/cur" "$T/Maildir/tmp"
cp "$DEMO" "$T/Maildir/cur/1.host:2,S"
printf 'From: a@example.org\nSubject: hi\n\nhello\n' >"$T/Maildir/new/2.host"
"$SM" replay -c "$CONF" --json "$T/Maildir" >"$T/md.json" 2>&1
check "Maildir yields two messages" test "$(grep -c '"message":' "$T/md.json")" -eq 2
"$SM" replay -c "$CONF" --json - <"$DEMO" >"$T/stdin.json" 2>&1
check "stdin is read" grep -q '"message":"-","report":true,"authenticated":true' "$T/stdin.json"

# text output names the unmatched and prints each notice
"$SM" replay -c "$CONF" --now "$NOW" "$DEMO" >"$T/text" 2>&1
check "text output lists unmatched" grep -q 'unmatched (no customer): 203.0.113.5:111' "$T/text"
check "text output prints 4 notices" test "$(grep -c '^-- notice for' "$T/text")" -eq 4

# a forged copy: not signed, with a "dkim=pass" Authentication-Results planted
# in the name of our verifier: no notices
"$SM" replay -c "$CONF" --json tests/fixtures/demo-portmapper.eml >"$T/forged.json" 2>&1
check "forged report: not authenticated" grep -q '"report":true,"authenticated":false' "$T/forged.json"
check "forged report: no notices" grep -q '"reports":\[\]' "$T/forged.json"
check "forged report: the reason names the missing signature" \
    grep -q '"reason":"unauthenticated: DKIM no DKIM signature with d=shadowserver.org"' "$T/forged.json"
# a changed byte in the signed report: no notices, and the reason says which signature failed and why
sed 's/^Subject: \[Example Hosting\]/Subject: [Example Hosting!]/' "$DEMO" >"$T/changed.eml"
"$SM" replay -c "$CONF" --json "$T/changed.eml" >"$T/changed.json" 2>&1
check "changed report: no notices" grep -q '"authenticated":false' "$T/changed.json"
check "changed report: the reason names d= and s=" grep -q '"reason":"unauthenticated: DKIM d=shadowserver.org s=test a=rsa-sha256: ' "$T/changed.json"
# VerifyDKIM no: the verifier's Authentication-Results is believed, a header it could not parse is not
{ cat "$CONF"; echo "VerifyDKIM no"; } >"$T/authres.conf"
"$SM" replay -c "$T/authres.conf" --json tests/fixtures/demo-portmapper.eml >"$T/authres.json" 2>&1
check "VerifyDKIM no: the verifier's pass is believed" grep -q '"authenticated":true' "$T/authres.json"
sed 's/^\tdkim=pass (2048-bit key)/\tdkim\/1=pass (2048-bit key)/' tests/fixtures/demo-portmapper.eml >"$T/authres-forged.eml"
"$SM" replay -c "$T/authres.conf" --json "$T/authres-forged.eml" >"$T/authres-forged.json" 2>&1
check "VerifyDKIM no: an unparsable pass is refused" \
    grep -q '"authenticated":false,"reason":"unauthenticated: Authentication-Results from mx.example.net refused' "$T/authres-forged.json"

# config errors name file and line and exit 2
printf 'CustomerMap customers.csv\nTrustedAuthservIDs mx\nBogusKey 1\n' >"$T/bad.conf"
"$SM" replay -c "$T/bad.conf" "$DEMO" >"$T/bad.out" 2>&1
rc=$?
check "bad config exits 2" test "$rc" -eq 2
check "bad config names file:line" grep -q 'bad.conf:3: unknown key "BogusKey"' "$T/bad.out"

# preview: sample notices for one type, for every type, with the site's wording
"$SM" preview scan_ntp >"$T/preview.eml" 2>&1
check "preview TYPE exits 0" test $? -eq 0
unfolded "$T/preview.eml" >"$T/preview.headers"
check "preview TYPE renders the tailored notice" grep -q '^Subject: ACTION REQUIRED: .* NTP service' "$T/preview.headers"
check "preview TYPE lists the sample findings" grep -q '^\[2001:db8::25\]:123 (UDP) detected at' "$T/preview.eml"
# an event report names the host that connected and the port it came from, not a service
"$SM" preview botnet_drone >"$T/preview-event.eml" 2>&1
check "preview of an event type (an alias) shows each connection's source port" \
	grep -q '^    192\.0\.2\.10 (from port 51514)$' "$T/preview-event.eml"
"$SM" preview --all --config "$GOLDEN" >"$T/all.txt" 2>"$T/all.err"
check "preview --all exits 0" test $? -eq 0
check "preview --all renders every catalogue type" test "$(grep -c '^=\{70\}$' "$T/all.txt")" -gt 340
check "preview --all uses the site's wording" grep -q '^Andy Smith$' "$T/all.txt"
check "preview --all shows the unknown type through generic.tmpl" grep -q '^example_unknown_type: .*/generic.tmpl$' "$T/all.txt"
check "preview without --history shows no history" test "$(grep -c 'first detected' "$T/all.txt")" -eq 0
# one_notice TYPE FILE: TYPE's notice out of "preview --all" output, banner dropped
BANNER=======================================================================
one_notice() { awk -v t="$1: " -v banner="$BANNER" '$0 == banner {b = !b; if (b) in_it = 0; next} b && index($0, t) == 1 {in_it = 1} !b && in_it' "$2"; }
one_notice scan_ssh "$T/all.txt" >"$T/ssh.eml"
unfolded "$T/ssh.eml" >"$T/ssh.headers"
check "preview --all renders SSH informational" \
    grep -qx 'Subject: Security notice: SSH reachable from the Internet on your BitFolk servers' "$T/ssh.headers"
check "... without a threat" test "$(grep -ci 'suspend\|ACTION REQUIRED' "$T/ssh.eml")" -eq 0
one_notice scan_portmapper "$T/all.txt" >"$T/pm.eml"
unfolded "$T/pm.eml" >"$T/pm.headers"
check "preview --all renders portmapper ACTION REQUIRED" grep -q '^Subject: ACTION REQUIRED: ' "$T/pm.headers"
check "... with the first screen" grep -qx '    192.0.2.10:111/udp' "$T/pm.eml"
check "no informational notice in preview --all threatens suspension" \
    test "$(awk -v banner="$BANNER" '$0 == banner {b = !b; if (b) info = 0; next} b && /^informational notice/ {info = 1} !b && info && /suspend/' "$T/all.txt" | wc -l)" -eq 0
check "... and there are informational notices in it" test "$(grep -c '^informational notice (severity' "$T/all.txt")" -gt 30
"$SM" preview scan_ntp --history --now "$NOW" >"$T/preview-hist.eml" 2>&1
check "preview --history exits 0" test $? -eq 0
unfolded "$T/preview-hist.eml" >"$T/preview-hist.headers"
check "preview --history carries the sample reference" \
    grep -q '^X-Shadowmilter-Reference: SM-20261020-000042$' "$T/preview-hist.headers"
check "preview --history opens with the OVERDUE paragraph" grep -q '^OVERDUE: 1 of the services listed below' "$T/preview-hist.eml"
check "preview --history names the deadline date" grep -q 'Unless this is fixed by 10 November 2026 (21 days$' "$T/preview-hist.eml"
check "preview --history marks the overdue sample" \
    grep -q '^192.0.2.10:123 (UDP) detected at 2026-11-24 08:52:55 UTC (first detected 2026-10-20, OVERDUE)$' "$T/preview-hist.eml"
# preview --lang: the notice a customer who reads German gets (templates/de/, English per missing file)
"$SM" preview scan_ntp --lang de --history --now "$NOW" >"$T/preview-de.eml" 2>&1
check "preview --lang de exits 0" test $? -eq 0
check "preview --lang de says the notice is German" grep -q '^Content-Language: de$' "$T/preview-de.eml"
check "preview --lang de opens in German" grep -q '^Sehr geehrte Damen und Herren,$' "$T/preview-de.eml"
check "preview --lang de writes the deadline the German way" \
    grep -q 'Ist das Problem bis zum 10\. November 2026 (21 Tage nach$' "$T/preview-de.eml"
check "preview --lang de writes the detection times the German way" \
    grep -q '^192.0.2.10:123 (UDP) festgestellt am 24.11.2026 08:52:55 UTC (erstmals festgestellt am 20.10.2026, ÜBERFÄLLIG)$' "$T/preview-de.eml"
"$SM" preview scan_ftp --lang de-AT --now "$NOW" >"$T/preview-de-ftp.eml" 2>&1
check "preview --lang de-AT of a type without a German template: the English one, English dates" \
    sh -c 'grep -q "^Dear customer,$" "$1" && ! grep -q "^Content-Language" "$1" && grep -q "detected at 2026-11-24" "$1"' - "$T/preview-de-ftp.eml"
# preview --digest: the daily digest of sample notices, no store; English and German byte for byte
# (after a wording change: build/shadowmilter preview --digest --now '2026-12-07 10:00:00' [--lang de] > the file)
for lang in en de; do
	gold=tests/golden/digest.eml
	[ "$lang" = de ] && gold=tests/golden/de/digest.eml
	"$SM" preview --digest --lang "$lang" --now "2026-12-07 10:00:00" >"$T/digest-$lang.eml" 2>"$T/digest-$lang.err"
	check "preview --digest --lang $lang exits 0" test $? -eq 0
	check "preview --digest --lang $lang is $gold byte for byte" cmp -s "$gold" "$T/digest-$lang.eml"
	cmp -s "$gold" "$T/digest-$lang.eml" || diff -u "$gold" "$T/digest-$lang.eml" | head -30
done
check "preview --digest puts the section that needs action first" \
    sh -c 'grep "^ACTION REQUIRED: \|^Accessible " "$1" | head -1 | grep -q "^ACTION REQUIRED: Open Portmapper"' - "$T/digest-en.eml"
"$SM" preview --digest scan_ssh --history --now "$NOW" >"$T/digest-info.eml" 2>&1
check "preview --digest TYPE of an informational type: no ACTION REQUIRED, the sample history" \
    sh -c '! grep -q "ACTION REQUIRED" "$1" && grep -q "^Subject: Security digest for .*: 1 report$" "$1" &&
	grep -q "(first detected 2026-10-20)$" "$1"' - "$T/digest-info.eml"
"$SM" preview --digest scan_ssh no_such_type >"$T/digest-unknown.out" 2>"$T/digest-unknown.err"
check "preview --digest of an unknown type exits 2" test $? -eq 2
check "preview --digest of an unknown type prints no mail" test ! -s "$T/digest-unknown.out"
check "preview --digest of an unknown type names it" \
    grep -q '^shadowmilter: preview --digest: unknown report type "no_such_type"' "$T/digest-unknown.err"
"$SM" preview --digest --all >/dev/null 2>&1
check "preview --digest --all is a usage error" test $? -eq 2
"$SM" preview scan_ntp --lang fr >"$T/preview-fr.out" 2>&1
check "preview --lang with no such template directory exits 2" test $? -eq 2
check "... naming the languages there are" grep -q 'no templates in language "fr" (there are: en, de)' "$T/preview-fr.out"
"$SM" preview scan_ntp --lang ../de >"$T/preview-bad.out" 2>&1
check "preview --lang with a path is a usage error" test $? -eq 2
"$SM" preview --all --history --config "$GOLDEN" >"$T/all-hist.txt" 2>"$T/all-hist.err"
check "preview --all --history exits 0" test $? -eq 0
notices=$(($(grep -c '^=\{70\}$' "$T/all-hist.txt") / 2))
check "preview --all --history gives every notice the reference" \
    test "$(grep -c '^Please keep our reference SM-20261020-000042 in the subject when you do.$' "$T/all-hist.txt")" -eq "$notices"
actions=$(grep -c '^ACTION REQUIRED notice (severity ' "$T/all-hist.txt")
check "preview --all --history marks an overdue finding in every ACTION REQUIRED notice" \
    test "$(grep -c '^192.0.2.10[: ].*(first detected 2026-10-20, OVERDUE)$' "$T/all-hist.txt")" -eq "$actions"
check "preview --all --history: informational notices too, none of them overdue" \
    test "$actions" -gt 100 -a "$(grep -c '^informational notice (severity \(info\|low\))$' "$T/all-hist.txt")" -eq $((notices - actions))
"$SM" preview >/dev/null 2>&1
check "preview without a type is a usage error" test $? -eq 2

# detection history: replay --state twice shows "first detected"; the ops commands
S="$T/state.db"
cp "$GOLDEN" "$T/hist.conf"
printf 'StateDB %s\nOutboxDB %s/outbox.db\n' "$S" "$T" >>"$T/hist.conf"
"$SM" replay -c "$T/hist.conf" --state "$S" --now "$NOW" --out "$T/h1" "$DEMO" >"$T/h1.log" 2>&1
check "replay --state exits 0" test $? -eq 0
"$SM" replay -c "$T/hist.conf" --state "$S" --now "2026-12-09 06:00:00" --out "$T/h2" "$LATER" >"$T/h2.log" 2>&1
check "a second replay --state exits 0" test $? -eq 0
H="$T/h2/0001-scan_portmapper-acme.eml"
check "golden notice with history for acme" cmp -s tests/golden/scan_portmapper-acme-history.eml "$H"
if ! cmp -s tests/golden/scan_portmapper-acme-history.eml "$H"; then
	diff -u tests/golden/scan_portmapper-acme-history.eml "$H" | head -40
fi
check "the later report names the first detection" \
    grep -q '^192.0.2.10:111 (UDP) detected at 2026-12-08 08:49:12 UTC (first detected 2026-11-24)$' "$H"
check "a new finding is first detected in its own report" \
    grep -q '^192.0.2.11:111 (UDP) detected at 2026-12-08 08:49:20 UTC (first detected 2026-12-08)$' "$H"
check "the notice names the deadline date" grep -q 'unless this is fixed by 15 December 2026' "$H"
unfolded "$T/h1/0001-scan_portmapper-acme.eml" >"$T/h1.headers"
unfolded "$H" >"$T/h2.headers"
ref1=$(sed -n 's/^X-Shadowmilter-Reference: //p' "$T/h1.headers")
ref2=$(sed -n 's/^X-Shadowmilter-Reference: //p' "$T/h2.headers")
check "the case reference is SM-YYYYMMDD-NNNNNN" sh -c 'expr "$1" : "SM-20261124-[0-9]\{6\}$" >/dev/null' - "$ref1"
check "the case reference stays the same" test "$ref1" = "$ref2"
check "the case reference is in the subject" grep -q "^Subject: ACTION REQUIRED: .* \[$ref1\]\$" "$T/h2.headers"
check "fixed hosts are resolved and their cases closed" \
    grep -q 'history: 4 resolved, 0 expired; case SM-20261124-000002 closed (bobs-vps' "$T/h2.log"
"$SM" replay -c "$T/hist.conf" --state "$S" "$LATER" >"$T/h3.log" 2>&1
check "the same report again is applied once" grep -q '^   history: (already applied)' "$T/h3.log"
"$SM" replay -c "$T/hist.conf" --state "$T/other.db" --now "2026-12-09 06:00:00" --out "$T/h4" "$LATER" "$DEMO" \
    >"$T/h4.log" 2>&1
check "replay --state applies the oldest report first" test "$(sed -n 's/^== \([^:]*\):.*/\1/p' "$T/h4.log" | tr '\n' ' ')" = "$DEMO $LATER "
check "... with the same outcome" cmp -s "$H" "$T/h4/0005-scan_portmapper-acme.eml"
"$SM" replay -c "$T/hist.conf" --now "$NOW" "$DEMO" >"$T/nostate.log" 2>&1
check "replay keeps no history without --state" test "$(grep -c 'first detected' "$T/nostate.log")" -eq 0
"$SM" replay -c "$T/hist.conf" --state "$T/json.db" --json "$DEMO" >"$T/hist.json" 2>&1
for key in '"identifier":"example-hosting"' '"reference":"SM-20261124-000001"' '"first_seen":"2026-11-24T08:52:55Z"' \
    '"deadline":"2026-12-15T08:52:55Z","overdue":false,"new":true,"times_reported":1' '"renotify_skipped":\[\]' \
    '"resolved_findings":0'; do
	check "replay --state --json has $key" grep -q "$key" "$T/hist.json"
done
printf 'this is not a database, it is a text file that got in the way\n%.0s' 1 2 3 4 5 6 7 8 >"$T/bad.db"
"$SM" replay -c "$T/hist.conf" --state "$T/bad.db" "$DEMO" >"$T/bad.log" 2>&1
rc=$?
check "a damaged history exits 1" test "$rc" -eq 1
check "... naming the file and the damage" grep -q "$T/bad.db: .*damaged" "$T/bad.log"

"$SM" overdue -c "$T/hist.conf" --now "2026-12-20 09:00:00" >"$T/overdue.txt" 2>&1
check "overdue exits 0" test $? -eq 0
check "overdue lists acme first, oldest finding first" \
    test "$(grep -o '^[a-z-]*: [0-9]* finding' "$T/overdue.txt" | tr '\n' ' ')" = "acme: 2 finding carol: 1 finding "
check "overdue names the reference and the deadline" \
    grep -q "    $ref1 scan_portmapper 192.0.2.10:111/udp  first 2026-11-24, last 2026-12-08, deadline 2026-12-15" "$T/overdue.txt"
"$SM" overdue -c "$T/hist.conf" --now "2026-12-20 09:00:00" --json >"$T/overdue.json" 2>&1
check "overdue --json: accounts oldest first" \
    test "$(grep -o '{"account":"[a-z-]*","oldest' "$T/overdue.json" | cut -d'"' -f4 | tr '\n' ' ')" = "acme carol "
check "overdue --json: days overdue" grep -q '"deadline":"2026-12-15T08:52:55Z","days_overdue":5,' "$T/overdue.json"
"$SM" overdue -c "$T/hist.conf" --now "2026-12-10 09:00:00" >"$T/overdue2.txt" 2>&1
check "nothing is overdue before the deadline" grep -q '^none$' "$T/overdue2.txt"
# a site that rates portmapper info: its findings have no deadline, so none is overdue
printf 'type,title,severity\nscan_portmapper,Open Portmapper Scan,info\n' >"$T/info-catalogue.csv"
{ cat "$T/hist.conf"; echo "Catalogue $T/info-catalogue.csv"; } >"$T/hist-info.conf"
"$SM" overdue -c "$T/hist-info.conf" --now "2026-12-20 09:00:00" >"$T/overdue-info.txt" 2>&1
check "informational findings are never overdue" grep -q '^none$' "$T/overdue-info.txt"
"$SM" replay -c "$T/hist-info.conf" --now "$NOW" "$DEMO" >"$T/replay-info.txt" 2>&1
check "replay says a report is informational" grep -q '^   informational (severity info): no deadline$' "$T/replay-info.txt"
check "... and its notices are security notices" grep -q '^Subject: Security notice: One or more of your BitFolk VPSes' "$T/replay-info.txt"
{ cat "$T/hist-info.conf"; echo "InfoNotices no"; } >"$T/hist-noinfo.conf"
"$SM" replay -c "$T/hist-noinfo.conf" --now "$NOW" "$DEMO" >"$T/replay-noinfo.txt" 2>&1
check "InfoNotices no: replay makes no notice and says why" \
    grep -q '^   informational (severity info): no deadline; InfoNotices no: no notices$' "$T/replay-noinfo.txt"
check "... none at all" test "$(grep -c '^-- notice for' "$T/replay-noinfo.txt")" -eq 0
"$SM" history -c "$T/hist.conf" 192.0.2.66 >"$T/history.txt" 2>&1
check "history IP is a timeline" grep -q '^2026-11-24 07:01:44 UTC  first detected  bobs-vps scan_portmapper 192.0.2.66:111/udp SM-20261124-000002' "$T/history.txt"
check "history IP shows the resolution" grep -q '^2026-12-08 00:00:00 UTC  resolved        bobs-vps' "$T/history.txt"
"$SM" history -c "$T/hist.conf" --json acme >"$T/history.json" 2>&1
check "history --json ACCOUNT" grep -q '"kind":"account","findings":\[{"account":"acme"' "$T/history.json"
check "history --json has events" grep -q '"event":"last detected","account":"acme"' "$T/history.json"
# AccountSettings: a withheld notice is recorded; history ACCOUNT shows the settings and what they withheld
printf 'account,cc,notify,renotify\nacme,reseller@partner.example,none,7d\ncarol,"r1@partner.example, r2@partner.example",,\n' \
    >"$T/settings.csv"
{ cat "$T/hist.conf"; echo "AccountSettings $T/settings.csv"; } >"$T/hist-acct.conf"
"$SM" replay -c "$T/hist-acct.conf" --state "$T/acct.db" --now "$NOW" "$DEMO" >"$T/acct-replay.log" 2>&1
check "replay with AccountSettings exits 0" test $? -eq 0
check "replay says acme's notice was withheld by its settings" \
    grep -q '^   history: .*; no notice for "acme" (withheld: account setting)' "$T/acct-replay.log"
check "... and makes none for acme" test "$(grep -c '^-- notice for "acme"' "$T/acct-replay.log")" -eq 0
check "carol's notice copies her resellers in Cc" grep -q '^Cc: r1@partner.example, r2@partner.example$' "$T/acct-replay.log"
"$SM" history -c "$T/hist-acct.conf" --state "$T/acct.db" acme >"$T/acct-history.txt" 2>&1
check "history ACCOUNT exits 0" test $? -eq 0
check "history ACCOUNT shows the account's settings" grep -q "^Settings of acme: language (default); cc reseller@partner.example; notify none; renotify 7d; digest per-type (from $T/settings.csv)\$" "$T/acct-history.txt"
check "history ACCOUNT counts the notices withheld" grep -q "^Notices withheld by the account's settings: 1\$" "$T/acct-history.txt"
check "history ACCOUNT lists them" grep -q '^2026-11-25 06:00:00 UTC  withheld        acme scan_portmapper SM-20261124-000001$' "$T/acct-history.txt"
check "history ACCOUNT still has the timeline (overdue sees the findings)" grep -q '^History of acme: 3 findings, 3 open$' "$T/acct-history.txt"
"$SM" history -c "$T/hist-acct.conf" --state "$T/acct.db" --json acme >"$T/acct-history.json" 2>&1
check "history --json ACCOUNT has the settings" grep -q '"settings":{"source":"[^"]*settings.csv","error":null,"row":true,"language":null,"cc":\["reseller@partner.example"\],"notify":"none","renotify":"7d","digest":"per-type"}' "$T/acct-history.json"
check "history --json ACCOUNT has the notices withheld" grep -q '"withheld":\[{"account":"acme","report_type":"scan_portmapper","reference":"SM-20261124-000001","time":"2026-11-25T06:00:00Z","reason":"account setting"}\]' "$T/acct-history.json"
# AccountSettings digest daily: replay shows the notice, marked as held for the daily digest
printf 'account,digest\ndave,daily\n' >"$T/settings-digest.csv"
{ cat "$T/hist.conf"; echo "AccountSettings $T/settings-digest.csv"; } >"$T/hist-digest.conf"
"$SM" replay -c "$T/hist-digest.conf" --now "$NOW" "$DEMO" >"$T/digest-replay.log" 2>&1
check "replay marks a digest account's notice as held for its daily digest" \
    grep -q "^-- notice for \"dave\" (held for the account's daily digest, not sent alone) --\$" "$T/digest-replay.log"
check "... and no other account's" test "$(grep -c "daily digest" "$T/digest-replay.log")" -eq 1
"$SM" replay -c "$T/hist-digest.conf" --now "$NOW" --json "$DEMO" >"$T/digest-replay.json" 2>&1
check "replay --json says \"digest\":true for it" grep -q '"account":"dave","to":\["dave@dave.example"\],"digest":true,' \
    "$T/digest-replay.json"
"$SM" history -c "$T/hist-acct.conf" --state "$T/acct.db" bobs-vps >"$T/acct-bob.txt" 2>&1
check "history of an account without a row: the defaults" grep -q "^Settings of bobs-vps: the defaults (no row in $T/settings.csv)\$" "$T/acct-bob.txt"
"$SM" history -c "$T/hist.conf" acme >"$T/acct-none.txt" 2>&1
check "history without AccountSettings says so" grep -q '^Settings of acme: the defaults (no AccountSettings configured)$' "$T/acct-none.txt"
printf 'account,notify\nacme,sometimes!\n' >"$T/settings-bad.csv"
{ cat "$T/hist.conf"; echo "AccountSettings $T/settings-bad.csv"; } >"$T/hist-acct-bad.conf"
"$SM" replay -c "$T/hist-acct-bad.conf" --now "$NOW" "$DEMO" >"$T/acct-bad.log" 2>&1
check "replay refuses bad AccountSettings (exit 2)" test $? -eq 2
check "... naming the key, the file and the line" grep -q "AccountSettings.*settings-bad.csv:2: bad notify \"sometimes!\"" "$T/acct-bad.log"
# a listed network: carol's /25 is her part of a /24; the history keys it by that part
cat >"$T/net-unsigned.eml" <<'EOF'
From: Shadowserver <autoreports@shadowserver.org>
Subject: [Example] Shadowserver Example Blocklist Report: 2026-11-24
Message-ID: <blocklist-1@reports.example>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="b"

--b
Content-Type: text/plain

report
--b
Content-Type: text/csv; name="2026-11-24-blocklist-example.csv"
Content-Disposition: attachment; filename="2026-11-24-blocklist-example.csv"

timestamp,severity,ip,hostname,source,reason
2026-11-24 09:14:02,low,198.51.100.0/24,,spamhaus,spam source
2026-11-24 09:14:02,low,10.0.0.0/8,,spamhaus,spam source
--b--
EOF
sign "$T/net-unsigned.eml" "$T/net.eml"
"$SM" replay -c "$T/hist.conf" --state "$T/net.db" --json "$T/net.eml" >"$T/net.json" 2>&1
check "a listed network: the customer's part and the network listed" \
    grep -q '"findings":\[{"ip":"198.51.100.0/25","listed":"198.51.100.0/24","port":null' "$T/net.json"
check "a listed network over nobody is unmatched" grep -q '"unmatched":\[{"ip":"10.0.0.0/8"' "$T/net.json"
"$SM" history -c "$T/hist.conf" --state "$T/net.db" 198.51.100.0/25 >"$T/net-history.txt" 2>&1
check "history finds a network part" grep -q 'first detected  carol blocklist 198.51.100.0/25' "$T/net-history.txt"
"$SM" status -c "$T/hist.conf" --now "2026-12-20 09:00:00" >"$T/status.txt" 2>&1
check "status exits 0" test $? -eq 0
check "status counts open findings" grep -q ': 4 open findings in 2 cases; 2 accounts past their deadline$' "$T/status.txt"
check "status warns about a report type that stopped" grep -q 'WARNING: no scan_portmapper report for over 3 days' "$T/status.txt"
"$SM" status -c "$T/hist.conf" --now "2026-12-09 09:00:00" --json >"$T/status.json" 2>&1
check "status --json: last report per type and its age" \
    grep -q '"report_types":\[{"type":"scan_portmapper","last_report":"2026-12-08T00:00:00Z","last_applied":"2026-12-09T06:00:00Z","age_days":1,"reports":2,"networks":1,"stale":false}\]' "$T/status.json"
check "status --json: outbox counts" grep -q '"outbox":{"path":"[^"]*outbox.db","error":null,"exists":false,"pending":0' "$T/status.json"
"$SM" status -c "$GOLDEN" >"$T/nostate.txt" 2>&1
rc=$?
check "ops commands without StateDB or --state exit 2" test "$rc" -eq 2
check "... and say what to set" grep -q 'set StateDB, or give --state FILE' "$T/nostate.txt"
if command -v python3 >/dev/null 2>&1; then
	check "history JSON parses" python3 -c 'import json,sys; [json.loads(l) for f in sys.argv[1:] for l in open(f)]' \
	    "$T/hist.json" "$T/overdue.json" "$T/history.json" "$T/status.json"
fi

# a password libpq decodes from "pass%77ord" is still a password: it appears
# in no output (status, status --json, replay --state, deliver), whichever
# database it is in
SECRET_URI='postgresql://127.0.0.1:1/sm?pass%77ord=S3CRETPW'
{ cat "$CONF"; echo "StateDB $SECRET_URI"; echo "OutboxDB $SECRET_URI"; } >"$T/secret.conf"
{ cat "$CONF"; echo "StateDB $T/secret-state.db"; echo "OutboxDB $SECRET_URI"; } >"$T/secret2.conf"
"$SM" replay -c "$T/secret.conf" --state "$T/secret-state.db" "$DEMO" >/dev/null 2>&1
for run in "status -c $T/secret.conf" "status -c $T/secret.conf --json" "status -c $T/secret2.conf" \
    "status -c $T/secret2.conf --json" "deliver -c $T/secret.conf" "replay -c $T/secret.conf --state $SECRET_URI $DEMO" \
    "replay -c $T/secret.conf --state $SECRET_URI --json $DEMO"; do
	# shellcheck disable=SC2086 # the words of RUN are the arguments
	"$SM" $run >"$T/secret.out" 2>&1
	check "no password in the output of $(echo "$run" | sed "s|$T/||g; s|$SECRET_URI|URI|g")" \
	    sh -c '! grep -q S3CRETPW "$1" && grep -q "127.0.0.1:1/sm" "$1"' - "$T/secret.out"
done

# ownership: run as root, the commands that write a database do so as UserID
# (or, without one, as the owner of the database's directory): no root-owned file is left
if [ "$(id -u)" -eq 0 ]; then
	mkdir -p "$T/own" "$T/own2"
	chmod 711 "$T"
	chown nobody "$T/own" "$T/own2"
	{ cat "$GOLDEN"; printf 'UserID nobody\nStateDB %s/own/state.db\nOutboxDB %s/own/state.db\n' "$T" "$T"; } >"$T/own.conf"
	"$SM" replay -c "$T/own.conf" --state "$T/own/state.db" "$DEMO" >"$T/own.log" 2>&1
	check "root: replay --state exits 0" test $? -eq 0
	check "root: replay --state creates the history as UserID" test "$(stat -c %U "$T/own/state.db")" = nobody
	"$SM" deliver -c "$T/own.conf" --dry-run >"$T/own-deliver.log" 2>&1
	check "root: deliver exits 0" test $? -eq 0
	"$SM" status -c "$T/own.conf" >"$T/own-status.log" 2>&1
	check "root: status exits 0" test $? -eq 0
	"$SM" history -c "$T/own.conf" acme >"$T/own-history.log" 2>&1
	check "root: history exits 0" test $? -eq 0
	check "root: no root-owned file is left beside the database" test -z "$(find "$T/own" -user root)"
	{ cat "$GOLDEN"; printf 'OutboxDB %s/own2/outbox.db\n' "$T"; } >"$T/own2.conf"
	"$SM" replay -c "$T/own2.conf" --state "$T/own2/state.db" "$DEMO" >"$T/own2.log" 2>&1
	check "root without UserID: the history belongs to its directory's owner" test "$(stat -c %U "$T/own2/state.db")" = nobody
	"$SM" deliver -c "$T/own2.conf" >"$T/own2-deliver.log" 2>&1
	check "root without UserID: so does the outbox deliver creates" test "$(stat -c %U "$T/own2/outbox.db")" = nobody
	{ cat "$T/own.conf"; echo "UserID no-such-user-here"; } >"$T/own-bad.conf"
	"$SM" replay -c "$T/own-bad.conf" --state "$T/own/bad.db" "$DEMO" >"$T/own-bad.log" 2>&1
	check "root with a UserID that does not exist: replay --state refuses (exit 1)" test $? -eq 1
	check "... saying how to run it" grep -q 'runuser -u USER -- shadowmilter replay --state' "$T/own-bad.log"
	check "... and creates nothing" test ! -e "$T/own/bad.db"
else
	echo "SKIP ownership of databases made by root (not root)"
	skipped=$((skipped + 1))
fi

# every real ShadowServer sample: host, port, protocol and time agree with an
# independent extraction (Python's csv module), read in place from ../shared
if command -v python3 >/dev/null 2>&1 && [ -d ../shared/reference/shadowserver ]; then
	python3 tests/conformance.py "$SM" ../shared/reference/shadowserver templates/catalogue.csv "$T" >"$T/conformance.txt" 2>&1
	check "every real sample's findings agree with an independent extraction" test $? -eq 0
	tail -1 "$T/conformance.txt"
	grep '^DIFF' "$T/conformance.txt"
else
	echo "SKIP real-sample conformance (needs python3 and ../shared/reference/shadowserver)"
	skipped=$((skipped + 1))
fi

# -n checks the config, the customer map, and that every report type's notice renders.
# It also checks the host (user, directories, programs), so its config names a
# socket directory and an outbox directory that exist here, and, as root, a
# UserID that can write the outbox directory (T is 0700: nobody must traverse it).
mkdir -p "$T/run" "$T/lib" "$T/ro"
chmod 711 "$T"
if [ "$(id -u)" -eq 0 ]; then
	chown nobody "$T/lib"
	NUSER=nobody
else
	chmod 555 "$T/ro"
	NUSER=$(id -un)
fi
printf 'Socket unix:%s/run/shadowmilter.sock\nOutboxDB %s/lib/outbox.db\nUserID %s\n' "$T" "$T" "$NUSER" | cat "$CONF" - >"$T/n.conf"
NCONF=$T/n.conf
"$SM" -n -c "$NCONF" >"$T/n.out" 2>&1
check "-n on the demo config exits 0" test $? -eq 0
check "-n says every report type renders" grep -q 'report types render' "$T/n.out"
{ cat "$NCONF"; echo "VerifyDKIM no"; echo "TrustedAuthservIDs mx.example.net"; } >"$T/n-authres.conf"
"$SM" -n -c "$T/n-authres.conf" >"$T/n-authres.out" 2>&1
check "VerifyDKIM no: -n warns that the verifier must always add its header" grep -q 'AlwaysAddARHeader' "$T/n-authres.out"
{ cat "$NCONF"; echo "AccountSettings $T/no-such-settings.csv"; } >"$T/n-acct.conf"
"$SM" -n -c "$T/n-acct.conf" >"$T/n-acct.out" 2>&1
check "-n names a missing AccountSettings file" grep -q "AccountSettings: $T/no-such-settings.csv: No such file" "$T/n-acct.out"
printf 'account,notify\nacme,all\nacme,none\n' >"$T/twice-settings.csv"
chmod 644 "$T/twice-settings.csv"
{ cat "$NCONF"; echo "AccountSettings $T/twice-settings.csv"; } >"$T/n-acct2.conf"
"$SM" -n -c "$T/n-acct2.conf" >"$T/n-acct2.out" 2>&1
check "-n refuses AccountSettings with an account given twice" grep -q 'account "acme" has two rows' "$T/n-acct2.out"
mkdir -p "$T/site"
printf 'Subject: ACTION REQUIRED: {{service}}\n\nhello {{account}}\n{{#findings}}\n{{ip}}\n{{/findings}}\nline 7 {{servce}}\n' >"$T/site/scan_ntp.tmpl"
{ cat "$NCONF"; echo "TemplateDir $T/site"; } >"$T/site.conf"
"$SM" -n -c "$T/site.conf" >"$T/n2.out" 2>&1
check "-n with a broken site template exits 1" test $? -eq 1
check "-n names the broken template, its line and the variable" grep -q "$T/site/scan_ntp.tmpl:7: unknown variable {{servce}}" "$T/n2.out"
printf 'Subject: s\n\n{{> opening}}\nhello\n{{> no_such_part}}\n' >"$T/site/scan_ntp.tmpl"
"$SM" -n -c "$T/site.conf" >"$T/n3.out" 2>&1
check "-n with an unknown partial exits 1" test $? -eq 1
check "-n names the template, its line and the partial" grep -q "$T/site/scan_ntp.tmpl:5: unknown partial {{> no_such_part}}" "$T/n3.out"
mkdir -p "$T/site/partials"
printf 'Dear {{acount}},\n' >"$T/site/partials/opening.tmpl"
printf 'Subject: s\n\n{{> opening}}\n' >"$T/site/scan_ntp.tmpl"
"$SM" -n -c "$T/site.conf" >"$T/n4.out" 2>&1
check "-n names a site partial's line when it shadows a shipped one" grep -q "$T/site/partials/opening.tmpl:1: unknown variable {{acount}}" "$T/n4.out"
rm -rf "$T/site/partials"
mkdir -p "$T/site/de"
printf 'Subject: s\n\n{{> opening}}\nZeile 4 {{Konto}}\n' >"$T/site/de/scan_ntp.tmpl"
"$SM" -n -c "$T/site.conf" >"$T/n5.out" 2>&1
check "-n with a broken German site template exits 1" test $? -eq 1
check "-n names the German template, its line and the variable" grep -q "$T/site/de/scan_ntp.tmpl:4: unknown variable {{Konto}}" "$T/n5.out"
printf 'Subject: s\n\n{{> eroeffnung}}\n' >"$T/site/de/scan_ntp.tmpl"
"$SM" -n -c "$T/site.conf" >"$T/n6.out" 2>&1
check "-n names a German template's unknown partial, its line and where it looked" \
    grep -q "$T/site/de/scan_ntp.tmpl:3: unknown partial {{> eroeffnung}}: no eroeffnung.tmpl in $T/site/de/partials" "$T/n6.out"
rm -rf "$T/site/de"
check "... and not under another type that uses the file (scan6_ntp)" sh -c '! grep -q scan6_ntp "$1"' - "$T/n2.out"
printf 'Subject: hi\n\nhello\n' >"$T/site2.tmpl"
mkdir -p "$T/site2" && mv "$T/site2.tmpl" "$T/site2/scan_ntpp.tmpl"
{ cat "$NCONF"; echo "TemplateDir $T/site2"; } >"$T/site2.conf"
"$SM" -n -c "$T/site2.conf" >"$T/n3.out" 2>&1
check "-n: a template for a type the catalogue does not know is a warning, exit 0" test $? -eq 0
check "... naming TemplateDir's line and the file" grep -q \
    "site2.conf:$(wc -l <"$T/site2.conf" | tr -d ' '): TemplateDir: warning: $T/site2/scan_ntpp.tmpl: report type scan_ntpp is not in the catalogue" "$T/n3.out"

# n_refuses NAME KEY 'LINE': the line appended to the good config makes -n exit 1,
# naming the config file, the line (the last one) and KEY
n_refuses() {
	what=$1 key=$2 line=$3
	{ cat "$NCONF"; echo "$line"; } >"$T/nr.conf"
	at=$(wc -l <"$T/nr.conf" | tr -d ' ')
	"$SM" -n -c "$T/nr.conf" >"$T/nr.out" 2>&1
	rc=$?
	check "-n refuses $what: exit 1" test "$rc" -eq 1
	check "-n refuses $what: names nr.conf:$at and $key" grep -q "nr.conf:$at: $key" "$T/nr.out" || cat "$T/nr.out"
}
n_refuses "a UserID that does not exist" UserID "UserID no-such-user-here"
n_refuses "a StateDB directory that does not exist" StateDB "StateDB $T/no-such-dir/state.db"
n_refuses "an OutboxDB directory that does not exist" OutboxDB "OutboxDB $T/no-such-dir/outbox.db"
if [ "$(id -u)" -eq 0 ]; then
	n_refuses "a StateDB directory UserID cannot write" StateDB "StateDB $T/ro/state.db"
elif [ -w "$T/ro" ]; then
	echo "SKIP -n refuses a StateDB directory UserID cannot write (a 0555 directory is writable here)"
	skipped=$((skipped + 1))
else
	n_refuses "a StateDB directory UserID cannot write" StateDB "StateDB $T/ro/state.db"
fi
n_refuses "a PostgreSQL URI that does not connect" StateDB "StateDB postgresql://sm:secret@127.0.0.1:1/sm"
check "... without the password" sh -c '! grep -q secret "$1"' - "$T/nr.out"
n_refuses "a TemplateDir that does not exist" TemplateDir "TemplateDir $T/no-such-templates"
n_refuses "a Catalogue that does not exist" Catalogue "Catalogue $T/no-such-catalogue.csv"
n_refuses "a CustomerMap that does not exist" CustomerMap "CustomerMap $T/no-such-map.csv"
n_refuses "a sendmail that does not exist" Transport "Transport sendmail:$T/no-such-sendmail"
printf 'not a program\n' >"$T/not-executable"
n_refuses "a sendmail that is not executable" Transport "Transport sendmail:$T/not-executable"
n_refuses "an smtp: port out of range" Transport "Transport smtp:127.0.0.1:99999"
n_refuses "an smtp: transport without a host" Transport "Transport smtp::25"
n_refuses "an inet: socket port out of range" Socket "Socket inet:99999@localhost"
n_refuses "a unix socket whose directory does not exist" Socket "Socket unix:$T/no-such-run/shadowmilter.sock"
{ cat "$NCONF"; echo "TestRecipient rehearsal@example.net"; } >"$T/rehearsal.conf"
"$SM" -n -c "$T/rehearsal.conf" >"$T/rehearsal.out" 2>&1
check "-n with TestRecipient (rehearsal) exits 0" test $? -eq 0
check "... with a warning naming TestRecipient and its line" \
    grep -q "rehearsal.conf:$(wc -l <"$T/rehearsal.conf" | tr -d ' '): TestRecipient: warning: rehearsal" "$T/rehearsal.out"

# the customer map drops nothing silently
printf 'prefix,account,email\n192.0.2.0/24,acme,ops@acme.example, bob@acme.example\n' >"$T/map-comma.csv"
n_refuses "a map row with an unquoted comma list" CustomerMap "CustomerMap $T/map-comma.csv"
check "... naming the map's file and line" grep -q "$T/map-comma.csv:2: 4 fields, the header has 3" "$T/nr.out"
printf 'prefix,account,email\n' >"$T/map-empty.csv"
n_refuses "an empty map" CustomerMap "CustomerMap $T/map-empty.csv"
check "... saying how to allow it" grep -q 'AllowEmptyCustomerMap yes' "$T/nr.out"
{ cat "$NCONF"; echo "CustomerMap $T/map-empty.csv"; echo "AllowEmptyCustomerMap yes"; } >"$T/empty-ok.conf"
"$SM" -n -c "$T/empty-ok.conf" >"$T/empty-ok.out" 2>&1
check "AllowEmptyCustomerMap yes: an empty map is OK" grep -q 'OK (0 prefixes' "$T/empty-ok.out"
printf 'prefix;account;email\n192.0.2.0/24;acme;ops@acme.example\n' >"$T/map-semi.csv"
{ cat "$NCONF"; echo "CustomerMap $T/map-semi.csv"; } >"$T/semi.conf"
"$SM" -n -c "$T/semi.conf" >"$T/semi.out" 2>&1
check "a map separated by ; fails" test $? -eq 1
check "... with a hint" grep -q "map-semi.csv:1: .*the header is separated by ';'" "$T/semi.out"
printf 'prefix,account,email\n192.0.2.0/24,acme,"ops@acme.example, bob@acme.example carol@acme.example;dan@acme.example"\n' >"$T/map-list.csv"
{ cat "$CONF"; echo "CustomerMap $T/map-list.csv"; } >"$T/list.conf"
"$SM" replay -c "$T/list.conf" --json "$DEMO" >"$T/list.json" 2>&1
check "every address of a quoted list is a recipient (',' ' ' and ';')" \
    grep -q '"to":\["ops@acme.example","bob@acme.example","carol@acme.example","dan@acme.example"\]' "$T/list.json"

# the command line: help on stdout with 0, usage errors on stderr with 2 saying what was wrong
"$SM" --help >"$T/help.out" 2>"$T/help.err"
check "--help exits 0" test $? -eq 0
check "--help prints usage on stdout" grep -q '^usage: shadowmilter' "$T/help.out"
check "... and nothing on stderr" test ! -s "$T/help.err"
"$SM" -h >"$T/h.out" 2>&1
check "-h exits 0" test $? -eq 0
check "-h lists every command" sh -c 'grep -q "shadowmilter replay -c CONF" "$1" && grep -q "shadowmilter status" "$1" && grep -q "shadowmilter deliver" "$1"' - "$T/h.out"
for v in -V --version version; do
	"$SM" $v >"$T/version.out" 2>&1
	check "$v exits 0" test $? -eq 0
	for lib in libmilter libopendkim SQLite libpq pcre2 libcsv; do
		check "$v names the $lib version" grep -q "^  $lib [0-9]" "$T/version.out"
	done
done
check "-V names shadowmilter's version first" sh -c 'head -1 "$1" | grep -q "^shadowmilter [0-9]"' - "$T/version.out"
for cmd in replay deliver preview overdue history status; do
	"$SM" help $cmd >"$T/help-$cmd.out" 2>&1
	check "help $cmd exits 0" test $? -eq 0
	check "help $cmd prints its usage" grep -q "^usage: shadowmilter $cmd" "$T/help-$cmd.out"
	"$SM" $cmd --help >"$T/dash-help-$cmd.out" 2>&1
	check "$cmd --help exits 0 with the same usage" cmp -s "$T/help-$cmd.out" "$T/dash-help-$cmd.out"
done
"$SM" help frobnicate >"$T/help-bad.out" 2>&1
check "help of an unknown command exits 2" test $? -eq 2
check "... naming it" grep -q 'unknown command "frobnicate"' "$T/help-bad.out"
# usage_error WANT ARGS...: exit 2, WANT on stderr, the usage there too, nothing on stdout
usage_error() {
	want=$1; shift
	"$SM" "$@" >"$T/ue.out" 2>"$T/ue.err"
	rc=$?
	check "$* exits 2" test "$rc" -eq 2
	check "$* says: $want" grep -qF "$want" "$T/ue.err"
	check "$* prints usage on stderr, nothing on stdout" sh -c 'grep -q "^usage: " "$1" && test ! -s "$2"' - "$T/ue.err" "$T/ue.out"
}
usage_error 'unknown command "frobnicate"' frobnicate
usage_error 'unknown option -x' -x
usage_error 'replay: --now "yesterday" is not' replay -c "$CONF" --now yesterday "$DEMO"
usage_error 'replay: no configuration: give -c CONF' replay "$DEMO"
usage_error 'replay: no input' replay -c "$CONF"
usage_error 'replay: -c needs a value' replay -c
usage_error 'replay: unknown option --bogus' replay --bogus -c "$CONF" "$DEMO"
usage_error 'status: no configuration: give -c CONF' status
usage_error 'status: --now "soon" is not' status -c "$CONF" --now soon
usage_error 'status: unexpected argument "extra"' status -c "$CONF" extra
usage_error 'history: give the IP address or the account' history -c "$CONF"
usage_error 'preview: no report type' preview
usage_error 'preview: --all takes no report type' preview --all scan_ntp
usage_error 'deliver: unexpected argument "now"' deliver -c "$CONF" now
# the daemon has no --trust-saved: only replay may take mail on the operator's word
usage_error 'unknown option --trust-saved' -f --trust-saved -c "$CONF"
# -c everywhere: preview takes -c as it takes --config
"$SM" preview scan_ntp -c "$GOLDEN" >"$T/preview-c.eml" 2>&1
check "preview -c CONF uses the site's wording" grep -q '^Andy Smith$' "$T/preview-c.eml"
# exit codes are in both man pages
check "shadowmilter(8) has EXIT STATUS" grep -q '^\.SH EXIT STATUS' contrib/shadowmilter.8
check "shadowmilter.conf(5) has EXIT STATUS" grep -q '^\.SH EXIT STATUS' contrib/shadowmilter.conf.5

# deliver --dry-run: says what would be sent, sends and changes nothing
printf '#!/bin/sh\ncat >>"%s/sent.mbox"\n' "$T" >"$T/fake-sendmail"
chmod +x "$T/fake-sendmail"
printf 'OutboxDB %s/dry-outbox.db\nTransport sendmail:%s/fake-sendmail\n' "$T" "$T" | cat "$CONF" - >"$T/dry.conf"
"$SM" deliver -c "$T/dry.conf" --dry-run >"$T/dry0.out" 2>&1
check "deliver --dry-run on an empty outbox exits 0" test $? -eq 0
if command -v sqlite3 >/dev/null 2>&1; then
	now=$(date +%s)
	sqlite3 "$T/dry-outbox.db" "INSERT INTO notices (idem_key, report_ref, report_type, account, recipients, message,
	    created, next_attempt) VALUES ('k1', 'r1', 'scan_ntp', 'acme', 'ops@acme.example' || char(10) || 'noc@acme.example',
	    'Subject: hi' || char(10) || char(10) || 'hello' || char(10), $now, $now)"
	"$SM" deliver -c "$T/dry.conf" --dry-run >"$T/dry.out" 2>&1
	check "deliver --dry-run exits 0" test $? -eq 0
	check "deliver --dry-run names the notice and its recipients" \
	    grep -q '^would send notice 1 for acme (scan_ntp) to ops@acme.example, noc@acme.example$' "$T/dry.out"
	check "deliver --dry-run says nothing was sent" grep -q '^dry run: 1 notices due, 0 waiting to retry; nothing sent' "$T/dry.out"
	check "deliver --dry-run hands nothing to the MTA" test ! -e "$T/sent.mbox"
	check "deliver --dry-run leaves the notice pending and unclaimed" \
	    test "$(sqlite3 "$T/dry-outbox.db" "SELECT state || ',' || attempts || ',' || coalesce(claimed_until, 'none') FROM notices")" = "pending,0,none"
	"$SM" deliver -c "$T/dry.conf" -n >"$T/dry-n.out" 2>&1
	check "deliver -n is the dry run too" sh -c 'grep -q "^would send notice 1" "$1" && test ! -e "$2"' - "$T/dry-n.out" "$T/sent.mbox"
	"$SM" deliver -c "$T/dry.conf" >"$T/wet.out" 2>&1
	check "deliver without --dry-run sends it" grep -q '^hello$' "$T/sent.mbox"
else
	echo "SKIP deliver --dry-run with a pending notice (needs sqlite3)"
	skipped=$((skipped + 1))
fi

# deliver takes back at once the claims of this host's processes that are
# gone (store/claim.h: HOST:PID:START:BOOT), never a live one's or another
# host's: three notices claimed for an hour, by a dead process, a live one
# and a process of mx2.example
if command -v sqlite3 >/dev/null 2>&1 && [ -r /proc/sys/kernel/random/boot_id ]; then
	owner_of() { echo "$(hostname):$1:$(awk '{ print $22 }' "/proc/$1/stat"):$(cut -c1-8 /proc/sys/kernel/random/boot_id)"; }
	sleep 600 & live=$!
	sleep 600 & gone=$!
	live_owner=$(owner_of "$live")
	dead_owner=$(owner_of "$gone")
	kill "$gone"; wait "$gone" 2>/dev/null
	now=$(date +%s)
	for n in dead live other; do
		sqlite3 "$T/dry-outbox.db" "INSERT INTO notices (idem_key, report_ref, report_type, account, recipients, message,
		    created, next_attempt) VALUES ('k-$n', 'r-$n', 'scan_ntp', 'acme', 'ops@acme.example',
		    'Subject: hi' || char(10) || char(10) || 'claimed by the $n one' || char(10), $now, $now)"
	done
	sqlite3 "$T/dry-outbox.db" "UPDATE notices SET claimed_until = $((now + 3600)), claimed_by = CASE idem_key
	    WHEN 'k-dead' THEN '$dead_owner' WHEN 'k-live' THEN '$live_owner' ELSE 'mx2.example:4242:100:0123abcd' END
	    WHERE idem_key IN ('k-dead', 'k-live', 'k-other')"
	"$SM" deliver -c "$T/dry.conf" >"$T/reclaim.out" 2>&1
	check "deliver takes back a dead process's claim of this host and sends its notice" \
	    grep -q '^claimed by the dead one$' "$T/sent.mbox"
	check "... but leaves a live process's claim and another host's to their lease" \
	    test "$(sqlite3 "$T/dry-outbox.db" "SELECT group_concat(idem_key) FROM (SELECT idem_key FROM notices
	    WHERE state = 'pending' ORDER BY idem_key)")" = "k-live,k-other"
	kill "$live"; wait "$live" 2>/dev/null
else
	echo "SKIP deliver takes back dead claims (needs sqlite3 and /proc)"
	skipped=$((skipped + 1))
fi

# deliver: a digest that cannot be built (its outbox row refused) holds back
# no other notice; it is logged, the rest delivered, and deliver exits 1
if command -v sqlite3 >/dev/null 2>&1; then
	now=$(date +%s)
	sqlite3 -cmd ".timeout 10000" "$T/dry-outbox.db" "CREATE TRIGGER no_digest BEFORE INSERT ON notices WHEN NEW.report_type = 'digest'
	    BEGIN SELECT RAISE(ABORT, 'digest refused by the test'); END;
	    INSERT INTO digest_parts (idem_key, report_ref, report_type, account, action, lang, mail_to, mail_cc, title,
	    section, created, queue_id) VALUES ('p1', 'r1', 'scan_ntp', 'dave', 0, '', 'dave@dave.example', '', 'NTP',
	    'a section', $((now - 10)), '');
	    INSERT INTO notices (idem_key, report_ref, report_type, account, recipients, message, created, next_attempt)
	    VALUES ('k-plain', 'r-plain', 'scan_ntp', 'acme', 'ops@acme.example',
	    'Subject: hi' || char(10) || char(10) || 'sent despite the digest' || char(10), $now, $now)"
	"$SM" deliver -c "$T/dry.conf" --digest-now >"$T/digest-fail.out" 2>&1
	check "deliver exits 1 when a digest could not be built" test $? -eq 1
	grep -q 'digest refused by the test' "$T/digest-fail.out" || sed 's/^/    /' "$T/digest-fail.out" "$T/nodigest.out" 2>/dev/null
	check "... logs the digest's failure" grep -q 'building the daily digest of account dave: .*digest refused by the test' \
	    "$T/digest-fail.out"
	check "... and still delivers the other notices" grep -q '^sent despite the digest$' "$T/sent.mbox"
	sqlite3 -cmd ".timeout 10000" "$T/dry-outbox.db" "DROP TRIGGER no_digest; DELETE FROM digest_parts"
	# status: the digest parts that cannot be counted are said apart, not the whole outbox unreadable
	cp "$T/dry-outbox.db" "$T/nodigest-outbox.db"
	sqlite3 -cmd ".timeout 10000" "$T/nodigest-outbox.db" "DROP TABLE digest_parts"
	printf 'OutboxDB %s/nodigest-outbox.db\n' "$T" | cat "$T/dry.conf" - >"$T/nodigest.conf"
	"$SM" status -c "$T/nodigest.conf" --state "$S" >"$T/nodigest.out" 2>&1
	check "status says the digest parts cannot be counted" \
	    grep -q '^outbox: the notices waiting for a daily digest cannot be counted: .*digest_parts' "$T/nodigest.out"
	check "... and still shows the outbox's counts" grep -q '^outbox .*: [0-9]* pending' "$T/nodigest.out"
	"$SM" status -c "$T/nodigest.conf" --state "$S" --json >"$T/nodigest.json" 2>&1
	grep -q digest_error "$T/nodigest.json" || sed "s/^/    /" "$T/nodigest.out" "$T/nodigest.json"
	check "status --json has the outbox's counts, error null, and digest_error" \
	    grep -q '"error":null,"exists":true,.*"digest_error":"[^"]*digest_parts' "$T/nodigest.json"
else
	echo "SKIP deliver goes on when a digest fails (needs sqlite3)"
	skipped=$((skipped + 1))
fi

# replay --trust-saved: the bundled (unsigned) report on the operator's word, as README's first look
"$SM" replay --trust-saved -c conf/shadowmilter.conf tests/fixtures/demo-portmapper.eml >"$T/trust.out" 2>"$T/trust.err"
check "replay --trust-saved on the bundled report exits 0" test $? -eq 0
check "... shows its notices" test "$(grep -c '^-- notice for' "$T/trust.out")" -eq 4
check "... warns on stderr" grep -q 'warning: --trust-saved: the DKIM signature of these files is not checked' "$T/trust.err"
"$SM" replay --trust-saved --json -c conf/shadowmilter.conf tests/fixtures/demo-portmapper.eml >"$T/trust.json" 2>/dev/null
check "replay --trust-saved marks each JSON object trusted_by_operator" \
    grep -q '"report":true,"authenticated":true,"trusted_by_operator":true,' "$T/trust.json"
"$SM" replay --json -c conf/shadowmilter.conf tests/fixtures/demo-portmapper.eml >"$T/notrust.json" 2>"$T/notrust.err"
check "without --trust-saved the bundled report is refused" grep -q '"authenticated":false' "$T/notrust.json"
check "... and nothing is marked trusted_by_operator" sh -c '! grep -q trusted_by_operator "$1" "$2"' - "$T/notrust.json" "$T/notrust.err"
printf 'From: someone@example.org\nSubject: Shadowserver scan_ntp report\n\nhi\n' >"$T/notss.eml"
"$SM" replay --trust-saved --json -c conf/shadowmilter.conf "$T/notss.eml" >"$T/trust-notss.json" 2>/dev/null
check "--trust-saved still wants a ReportSenders From" grep -q '"report":false,"authenticated":false' "$T/trust-notss.json"

# make install lays out a working system: the installed binary, pointed at the
# installed templates, renders every report type
make -s install DESTDIR="$T/inst" PREFIX=/usr >"$T/install.log" 2>&1
check "make install succeeds" test $? -eq 0
check "make install puts the program in sbin" test -x "$T/inst/usr/sbin/shadowmilter"
check "make install puts the man pages in place" test -f "$T/inst/usr/share/man/man5/shadowmilter.conf.5"
SM_TEMPLATE_DIR="$T/inst/usr/share/shadowmilter/templates" "$T/inst/usr/sbin/shadowmilter" -n -c "$NCONF" >"$T/inst.out" 2>&1
check "the installed templates render every report type" grep -q 'report types render' "$T/inst.out"

# the ops commands on a PostgreSQL store (a private server: tests/e2e/pg-lib.sh)
. tests/e2e/pg-lib.sh
if pg_start >"$T/pg.err" 2>&1; then
	printf 'CustomerMap %s\nTrustedAuthservIDs mx.example.net\nTestPublicKeys %s\nStateDB %s\nOutboxDB %s\n' \
	    "$(pwd)/conf/customers.csv" "$KEYS" "$PG_URI" "$PG_URI" >"$T/pg.conf"
	"$SM" replay -c "$T/pg.conf" --state "$PG_URI" --json "$DEMO" >"$T/pg-replay.json" 2>&1
	check "PostgreSQL: replay --state builds the history" test $? -eq 0
	"$SM" status -c "$T/pg.conf" --json >"$T/pg-status.json" 2>&1
	check "PostgreSQL: status reads history and outbox" grep -q '"pending":0,.*"open_findings":[1-9]' "$T/pg-status.json"
	"$SM" overdue -c "$T/pg.conf" --now '2026-12-30 00:00:00' >"$T/pg-overdue.txt" 2>&1
	check "PostgreSQL: overdue lists the accounts past their deadline" grep -q 'first detected 2026-11-24, deadline 2026-12-15' "$T/pg-overdue.txt"
	"$SM" history -c "$T/pg.conf" 192.0.2.10 >"$T/pg-history.txt" 2>&1
	check "PostgreSQL: history of an address" grep -q 'first detected  acme scan_portmapper 192.0.2.10:111/udp SM-' "$T/pg-history.txt"
	pg_stop >/dev/null 2>&1
else
	fail "PostgreSQL: no private server: $(tail -n 2 "$T/pg.err" | tr '\n' ' ')"
fi

# every config key the parser knows (the rows of keys[] in config.c) is
# documented in the README and the man page; finding no key at all is a failure
# (the old pattern matched nothing once the table replaced the strcmp chain)
KEYS_IN_TABLE=$(sed -n '/keys\[\] = {/,/^};/p' milter/config/config.c |
    grep -oE '^[[:space:]]*([A-Z]+\(|\{ )"[A-Z][A-Za-z0-9]*"' | grep -oE '"[A-Za-z0-9]*"' | tr -d '"')
check "the config key table lists at least 40 keys" test "$(echo "$KEYS_IN_TABLE" | wc -w)" -ge 40
for key in $KEYS_IN_TABLE; do
	check "config key $key is in README.md" grep -q "^| \`$key\`" README.md
	check "config key $key is in shadowmilter.conf(5)" grep -q "^\.B $key\$" contrib/shadowmilter.conf.5
done

# replay reads every input or says why, once per input, and exits 1: a missing
# file, an empty, binary or plain-text input ("not a mail message"), and a
# signed report whose only zip is damaged
: >"$T/empty.eml"
printf 'PK\003\004\000\000binary\000data\n' >"$T/binary.eml"
printf 'hello world\nthis is not mail\n' >"$T/text.eml"
{ sed -n '1,24p' tests/fixtures/demo-portmapper.eml
  printf 'UEsDBBQAAAAIAAAAIQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n\n--b1_demo--\n'; } >"$T/damaged-zip.raw"
sign "$T/damaged-zip.raw" "$T/damaged-zip.eml"
for input in missing empty binary text damaged-zip; do
	"$SM" replay -c "$CONF" --json "$T/$input.eml" >"$T/in-$input.json" 2>"$T/in-$input.err"
	check "replay of a $input input exits 1" test $? -eq 1
	check "... with exactly one JSON line" test "$(wc -l <"$T/in-$input.json")" -eq 1
	check "... that names the input" grep -q "\"message\":\"$T/$input.eml\"" "$T/in-$input.json"
done
check "a missing file: the JSON line carries the error" grep -q '"error":".*No such file or directory"' "$T/in-missing.json"
check "an empty input is not a mail message" grep -q 'not a mail message (empty input)' "$T/in-empty.err"
check "a binary input is not a mail message" grep -q 'not a mail message (binary data' "$T/in-binary.err"
check "a plain-text input is not a mail message" grep -q 'not a mail message (its first line is not a header field)' "$T/in-text.err"
check "a damaged zip is named on stderr with libarchive's reason" grep -q 'csv.zip: damaged zip: ' "$T/in-damaged-zip.err"
check "... never as (null)" sh -c '! grep -q "(null)" "$1"' - "$T/in-damaged-zip.json"
"$SM" replay -c "$CONF" --state "$T/shape-state.db" "$T/empty.eml" >/dev/null 2>"$T/in-empty-state.err"
check "replay --state (inputs read again in date order): an empty input is not a mail message either" \
    grep -q 'not a mail message (empty input)' "$T/in-empty-state.err"
"$SM" replay -c "$CONF" --json "$T/missing.eml" "$DEMO" >"$T/in-mixed.json" 2>/dev/null
check "a missing file among good ones: exit 1" test $? -eq 1
check "... and one JSON line for each input" test "$(wc -l <"$T/in-mixed.json")" -eq 2

# a message that fails after some of its notices were made still has one
# JSON line: its error object, with none of the notices that were never kept
# (a directory planted where the second notice's file goes fails that notice)
mkdir -p "$T/fail-late/0002-scan_portmapper-bobs-vps.eml"
chmod 750 "$T/fail-late"
"$SM" replay -c "$CONF" --json --out "$T/fail-late" "$DEMO" >"$T/fail-late.json" 2>"$T/fail-late.err"
check "a message failing after its first notice: exit 1" test $? -eq 1
check "... one JSON line, not a closed line and then an error line" test "$(wc -l <"$T/fail-late.json")" -eq 1
check "... which carries the error" grep -q '"error":"[^"]' "$T/fail-late.json"
check "... and lists no notice" sh -c '! grep -q "\"notices\"" "$1"' - "$T/fail-late.json"
check "... and is valid JSON" python3 -c 'import json,sys; [json.loads(l) for l in open(sys.argv[1])]' "$T/fail-late.json"

echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
