#!/bin/sh
# test-catalogue-update.sh BUILD - "shadowmilter catalogue --update URL|FILE"
# against the test ShadowServer (tests/e2e/fetch-lib.sh: HTTPS with a CA made
# here): ShadowServer's IntelMQ-format schema fetched with libcurl under the
# fetch rules, the new types written to UpdatedCatalogue and used by replay
# (a report of a type this release does not know gets the schema's title and
# severity), a site's re-rating never undone, -n saying how old the file is,
# and URLs outside the allowed hosts never asked for (the server's request
# log proves it). Ends with "N passed, N failed, N skipped".
BUILD=${1:-build}
SM="$BUILD/shadowmilter"
. tests/e2e/fetch-lib.sh
fs_suite "catalogue update"
fs_start

# ---- the schema as ShadowServer publishes it for IntelMQ, with a type this release lacks ----
cat >"$T/srv/files/intelmq-schema" <<'EOF'
{
   "_meta" : { "change_log" : [ "Added the scan_teapot report." ], "date_created" : "2026-11-30T12:00:00Z" },
   "scan_teapot" : {
      "constant_fields" : { "classification.identifier" : "accessible-teapot",
         "classification.taxonomy" : "vulnerable", "classification.type" : "vulnerable-system" },
      "feed_name" : "Accessible-Teapot",
      "file_name" : "scan_teapot",
      "optional_fields" : [ [ "extra.", "severity", "validate_to_none" ] ],
      "required_fields" : [ [ "time.source", "timestamp", "add_UTC_to_timestamp" ], [ "source.ip", "ip", "validate_ip" ] ],
      "url" : "https://www.shadowserver.org/what-we-do/network-reporting/accessible-teapot-report/"
   },
   "scan_ntp" : { "feed_name" : "Open-NTP", "url" : "https://www.shadowserver.org/ntp/" }
}
EOF
printf 'intelmq-schema.json\n' >"$T/srv/files/intelmq-schema.name"

KEYS="$(pwd)/tests/fixtures/dkim/keys"
fs_conf "$T/sm.conf" TestPublicKeys "$KEYS" FetchTimeout 3s UpdatedCatalogue "$T/state/catalogue-updates.csv" \
    UserID "$(id -un)" Socket inet:10025@127.0.0.1 OutboxDB "$T/state/outbox.db"
CONF=$T/sm.conf
UPD=$T/state/catalogue-updates.csv

# a report of the new type: the demo report's CSV as 2026-11-24-scan_teapot-example-hosting.csv, attached
teapot_mail() {
	python3 - "$1" <<-'PY'
	import base64, io, re, sys, zipfile
	text = open("tests/fixtures/demo-portmapper.eml").read()
	m = re.search(r'filename="[^"]*"\n\n(.*?)\n\n--b1_demo--', text, re.S)
	z = zipfile.ZipFile(io.BytesIO(base64.b64decode(m.group(1))))
	out = io.BytesIO()
	with zipfile.ZipFile(out, "w") as w:
	    w.writestr("2026-11-24-scan_teapot-example-hosting.csv", z.read(z.namelist()[0]))
	b64 = base64.encodebytes(out.getvalue()).decode().rstrip("\n")
	text = text[:m.start(1)] + b64 + text[m.end(1):]
	text = text.replace("scan_portmapper", "scan_teapot").replace("Open Portmapper", "Teapot")
	text = text.replace("<demo-", "<teapot-")
	open(sys.argv[1], "w").write(text)
	PY
}
teapot_mail "$T/teapot.unsigned"
"$BUILD/dkimsign" -k tests/fixtures/dkim/test.private <"$T/teapot.unsigned" >"$T/teapot.eml"
replay() { "$SM" replay -c "$CONF" --json --now "2026-11-25 06:00:00" "$@"; }

replay "$T/teapot.eml" >"$T/before.json" 2>"$T/err"
check "a scan_teapot report makes notices" grep -q '"type":"scan_teapot"' "$T/before.json"
check "... under the generic title: the type is not in this release's catalogue" \
    sh -c "! grep -q 'Accessible Teapot' '$T/before.json'"
"$SM" -n -c "$CONF" >"$T/n0.out" 2>&1
check "-n says the UpdatedCatalogue is not written yet" grep -q "UpdatedCatalogue $UPD: not written yet" "$T/n0.out"

# ---- the update, over HTTPS with the test CA ----------------------------------------
"$SM" catalogue -c "$CONF" --update "https://localhost:$HTTPS/intelmq-schema" >"$T/upd.out" 2>&1
check "catalogue --update fetches the schema and adds the new type" grep -q '^added scan_teapot$' "$T/upd.out"
check "... and only it (scan_ntp is shipped)" sh -c "grep -q '2 report types in the schema: 1 known, 1 added' '$T/upd.out'"
check "... which the server was asked for once" test "$(asked /intelmq-schema)" -eq 1
check "the file holds the schema's title, page and severity medium" \
    grep -q '^scan_teapot,Accessible Teapot,medium,exposed,,,,https://www.shadowserver.org/what-we-do/network-reporting/accessible-teapot-report/' "$UPD"
check "... and is not world-readable" test "$(stat -c %a "$UPD")" = 640
replay "$T/teapot.eml" >"$T/after.json" 2>"$T/err"
check "replay reads it: a scan_teapot report's notices name the type by its title" \
    grep -q 'Accessible Teapot' "$T/after.json"
"$SM" -n -c "$CONF" >"$T/n1.out" 2>&1
check "-n says how old the UpdatedCatalogue is" \
    grep -q "UpdatedCatalogue $UPD: 1 report types, updated 20[0-9-]* [0-9:]* UTC (0 days ago)" "$T/n1.out"

# ---- the site re-rates the type; the next update keeps it --------------------------
sed -i 's/^scan_teapot,Accessible Teapot,medium,/scan_teapot,Accessible Teapot,critical,/' "$UPD"
"$SM" catalogue -c "$CONF" --update "https://localhost:$HTTPS/intelmq-schema" >"$T/upd2.out" 2>&1
check "an update again adds nothing and keeps the site's row" grep -q '0 added, 1 kept' "$T/upd2.out"
check "... at the severity the site gave it" grep -q '^scan_teapot,Accessible Teapot,critical,' "$UPD"

# ---- what is never fetched, what is refused ------------------------------------------
cp "$UPD" "$T/upd.before"
"$SM" catalogue -c "$CONF" --update "http://127.0.0.1:$HTTP/intelmq-schema" >"$T/nl.out" 2>&1
check "a URL on a host that is neither the schema's nor in ReportLinkHosts is refused" \
    sh -c "grep -q 'host 127.0.0.1 is not in ReportLinkHosts' '$T/nl.out'"
check "... never asked for" test "$(grep -c " /intelmq-schema 127.0.0.1" "$REQ")" -eq 0
"$SM" catalogue -c "$CONF" --update "https://localhost:$HTTPS/redirect-out" >"$T/ro.out" 2>&1
check "a redirect off the allowed hosts is not followed" test "$(asked /out-of-bounds)" -eq 0
"$SM" catalogue -c "$CONF" --update "https://localhost:$HTTPS/404" >"$T/404.out" 2>&1
check "a 404 fails with its status" grep -q 'HTTP 404' "$T/404.out"
"$SM" catalogue -c "$CONF" --update "https://localhost:$HTTPS/junk" >"$T/junk.out" 2>&1
check "an answer that is not a schema fails and says so" grep -q 'not a schema\|not valid JSON\|not a table' "$T/junk.out"
check "... and no failure touched the file" cmp -s "$UPD" "$T/upd.before"
grep -v '^CAFile' "$CONF" >"$T/noca.conf"
"$SM" catalogue -c "$T/noca.conf" --update "https://localhost:$HTTPS/intelmq-schema" >"$T/noca.out" 2>&1
check "without CAFile the test CA is not trusted" sh -c "! grep -q 'written to' '$T/noca.out'"

# ---- ShadowServer's own table of types, read in place ---------------------------------
REF=${SM_SHARED_DIR:-../shared}/reference/shadowserver/schema/report_types.csv
if [ -r "$REF" ]; then
	"$SM" catalogue -c "$CONF" --update "$REF" >"$T/ref.out" 2>&1
	check "ShadowServer's table of types: every type is known to this release" \
	    grep -q ': [0-9]* report types in the schema: \([0-9]*\) known, 0 added' "$T/ref.out"
else
	echo "SKIP ShadowServer's table of types ($REF not present)"
	skipped=$((skipped + 1))
fi
finish
