#!/bin/sh
# cli.sh BUILD - the replay command as an admin runs it: golden notice, JSON,
# mbox, Maildir, stdin, --out, config errors. Ends with "N passed, N failed".
BUILD=${1:-build}
SM="$BUILD/shadowmilter"
CONF=conf/shadowmilter.conf
DEMO=tests/fixtures/demo-portmapper.eml
NOW="2026-11-25 06:00:00"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
passed=0 failed=0

ok()   { passed=$((passed + 1)); echo "ok   $1"; }
fail() { failed=$((failed + 1)); echo "FAIL $1"; }
check() { name=$1; shift; if "$@"; then ok "$name"; else fail "$name"; fi; }

# golden: the portmapper notice is the seed's text with the three agreed changes
"$SM" replay -c tests/golden/golden.conf --now "$NOW" --out "$T/golden" "$DEMO" >"$T/golden.log" 2>&1
check "golden portmapper notice for acme" cmp -s tests/golden/scan_portmapper-acme.eml "$T/golden/0001-scan_portmapper-acme.eml"
if ! cmp -s tests/golden/scan_portmapper-acme.eml "$T/golden/0001-scan_portmapper-acme.eml"; then
	diff -u tests/golden/scan_portmapper-acme.eml "$T/golden/0001-scan_portmapper-acme.eml" | head -40
fi
check "replay --out writes one file per customer" test "$(ls "$T/golden" | wc -l)" -eq 4

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
    '"rows":10' '"skipped_rows":1' '"notices":\[' '"account":"acme"' '"to":\["ops@acme.example"\]' \
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

# a forged copy (no trusted Authentication-Results) gets no notices
sed '/^Authentication-Results:/,/spf=pass/d' "$DEMO" >"$T/forged.eml"
"$SM" replay -c "$CONF" --json "$T/forged.eml" >"$T/forged.json" 2>&1
check "forged report: not authenticated" grep -q '"report":true,"authenticated":false' "$T/forged.json"
check "forged report: no notices" grep -q '"reports":\[\]' "$T/forged.json"

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
"$SM" preview --all --config tests/golden/golden.conf >"$T/all.txt" 2>"$T/all.err"
check "preview --all exits 0" test $? -eq 0
check "preview --all renders every catalogue type" test "$(grep -c '^=\{70\}$' "$T/all.txt")" -gt 340
check "preview --all uses the site's wording" grep -q '^Andy Smith$' "$T/all.txt"
check "preview --all shows the unknown type through generic.tmpl" grep -q '^example_unknown_type: .*/generic.tmpl$' "$T/all.txt"
"$SM" preview >/dev/null 2>&1
check "preview without a type is a usage error" test $? -eq 2

# every config key the parser knows is documented in the README and the man page
for key in $(grep -o 'ascii_strcasecmp(key, "[A-Za-z]*")' milter/config.c | sed 's/.*"\(.*\)")/\1/'); do
	check "config key $key is in README.md" grep -q "^| \`$key\`" README.md
	check "config key $key is in shadowmilter.conf(5)" grep -q "^\.B $key\$" contrib/shadowmilter.conf.5
done

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
