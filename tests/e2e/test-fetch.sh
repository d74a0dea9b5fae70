#!/bin/sh
# test-fetch.sh BUILD - link-only report mails fetched from a test ShadowServer
# (tests/e2e/fakeshadowserver.py: HTTPS with a CA made here by openssl, and
# HTTP, on 127.0.0.1 only, every request logged) through "shadowmilter
# replay": the same notices as the file attached, the limits, and the URLs
# that must never be fetched. Ends with "N passed, N failed, N skipped".
BUILD=${1:-build}
SM="$BUILD/shadowmilter"
T=$(mktemp -d)
SRV=""
trap '[ -n "$SRV" ] && kill "$SRV" 2>/dev/null; [ -n "$KEEP" ] || rm -rf "$T"' EXIT
passed=0 failed=0 skipped=0
ok()   { passed=$((passed + 1)); echo "ok   $1"; }
fail() { failed=$((failed + 1)); echo "FAIL $1"; }
check() { name=$1; shift; if "$@"; then ok "$name"; else fail "$name"; fi; }
finish() { echo "$passed passed, $failed failed, $skipped skipped"; [ "$failed" -eq 0 ]; exit $?; }
for tool in python3 openssl; do
	if ! command -v $tool >/dev/null 2>&1; then
		echo "SKIP the fetch suite: no $tool"
		skipped=1
		finish
	fi
done

# ---- a CA made now, and the server's certificate for localhost -----------------
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=shadowmilter test CA" \
    -keyout "$T/ca.key" -out "$T/ca.pem" >/dev/null 2>&1
openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" -keyout "$T/srv.key" -out "$T/srv.csr" >/dev/null 2>&1
printf 'subjectAltName=DNS:localhost\n' >"$T/ext"
openssl x509 -req -in "$T/srv.csr" -CA "$T/ca.pem" -CAkey "$T/ca.key" -CAcreateserial -days 2 \
    -extfile "$T/ext" -out "$T/srv.pem" >/dev/null 2>&1
check "a test CA and a certificate for localhost are made" test -s "$T/srv.pem"

# ---- the server's reports: the demo report's CSV, plain and zipped -------------
mkdir -p "$T/srv/files"
printf 'test-secret\n' >"$T/secret"
python3 - "$T/srv/files" tests/fixtures/demo-portmapper.eml <<'PY'
import base64, email, io, sys, zipfile
msg = email.message_from_binary_file(open(sys.argv[2], "rb"))
for part in msg.walk():
    if part.get_filename():
        data = part.get_payload(decode=True)
        z = zipfile.ZipFile(io.BytesIO(data))
        name = z.namelist()[0]
        out = sys.argv[1]
        open(out + "/csv1", "wb").write(z.read(name))
        open(out + "/csv1.name", "w").write(name + "\n")
        open(out + "/zip1", "wb").write(data)
        open(out + "/zip1.name", "w").write(part.get_filename() + "\n")
        open(out + "/plain1", "wb").write(z.read(name))   # no Content-Disposition
        open(out + "/junk", "wb").write(b"\x00\x01\x02 not a report\n")
        open(out + "/junk.name", "w").write(name + "\n")
PY
python3 tests/e2e/fakeshadowserver.py --dir "$T/srv" --secret "$T/secret" --cert "$T/srv.pem" --key "$T/srv.key" \
    >"$T/srv.out" 2>&1 &
SRV=$!
i=0
while [ ! -s "$T/srv/ports" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
check "the test ShadowServer listens" test -s "$T/srv/ports"
HTTPS=$(awk '$1 == "https" {print $2}' "$T/srv/ports")
HTTP=$(awk '$1 == "http" {print $2}' "$T/srv/ports")
REQ=$T/srv/requests.log

# ---- the config: ReportLinkHosts localhost, the test CA ------------------------
KEYS="$(pwd)/tests/fixtures/dkim/keys"
{ sed "s|^CustomerMap .*|CustomerMap $(pwd)/conf/customers.csv|" conf/shadowmilter.conf
  echo "TestPublicKeys $KEYS"; echo "ReportLinkHosts localhost"; echo "CAFile $T/ca.pem"
  echo "FetchTimeout 3s"; echo "MaxReportSize 1M"; } >"$T/sm.conf"
CONF=$T/sm.conf

# linkmail URL OUT - the demo report without its attachment, its link URL, signed
linkmail() {
	awk -v url="$1" '
		/^--b1_demo--/ { print; next }
		/^--b1_demo$/ { part++ }
		part >= 2 { next }
		/^https:\/\/dl.shadowserver.org\// { print url; next }
		{ print }' tests/fixtures/demo-portmapper.eml >"$2.unsigned"
	printf -- '--b1_demo--\n' >>"$2.unsigned"
	"$BUILD/dkimsign" -k tests/fixtures/dkim/test.private <"$2.unsigned" >"$2"
}
"$BUILD/dkimsign" -k tests/fixtures/dkim/test.private <tests/fixtures/demo-portmapper.eml >"$T/attached.eml"
replay() { "$SM" replay -c "$CONF" --json --now "2026-11-25 06:00:00" "$@"; }
# notices FILE - the notices of a replay's JSON, one per line
notices() {
	python3 -c 'import json,sys
for l in open(sys.argv[1]):
    for r in json.loads(l)["reports"]:
        for n in r["notices"]:
            print(json.dumps(n, sort_keys=True))' "$1"
}
# same A B - the notices of A and B are the same, and there are some
same() { test -s "$1" && cmp -s "$1" "$2"; }
reason() { python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).readline())["reason"])' "$1"; }
asked() { grep -c " $1 " "$REQ" 2>/dev/null || true; }

replay "$T/attached.eml" >"$T/attached.json" 2>"$T/err"
notices "$T/attached.json" >"$T/attached.notices"
check "the attached report makes its four notices" test "$(wc -l <"$T/attached.notices")" -eq 4

# ---- a link-only mail gives the same notices as the file attached --------------
for kind in csv1 zip1; do
	linkmail "https://localhost:$HTTPS/$kind" "$T/$kind.eml"
	replay "$T/$kind.eml" >"$T/$kind.json" 2>"$T/err"
	notices "$T/$kind.json" >"$T/$kind.notices"
	check "a link to the $kind download gives the attached report's notices" same "$T/attached.notices" "$T/$kind.notices"
done
check "the download was asked for over HTTPS with the test CA" test "$(asked /csv1)" -ge 1
check "the fetched report keeps the mail's Message-ID and link" \
    sh -c "grep -q '\"message_id\":\"<demo-' '$T/csv1.json' && grep -q 'was fetched from https://localhost:$HTTPS/csv1' '$T/csv1.json'"
linkmail "http://localhost:$HTTP/csv1" "$T/http.eml"
replay "$T/http.eml" | tee "$T/http.json" | notices /dev/stdin >"$T/http.notices"
check "an http:// link (older mails) is fetched too" same "$T/attached.notices" "$T/http.notices"
linkmail "https://localhost:$HTTPS/plain1" "$T/plain.eml"
replay "$T/plain.eml" >"$T/plain.json"
check "without a Content-Disposition the Subject types the file" grep -q '"type":"scan_portmapper"' "$T/plain.json"
linkmail "https://localhost:$HTTPS/redirect-csv1" "$T/redir.eml"
replay "$T/redir.eml" | notices /dev/stdin >"$T/redir.notices"
check "a redirect within ReportLinkHosts is followed" same "$T/attached.notices" "$T/redir.notices"

# ---- --offline ------------------------------------------------------------------
before=$(wc -l <"$REQ")
linkmail "https://localhost:$HTTPS/offline-csv" "$T/offline.eml"
replay --offline "$T/offline.eml" >"$T/offline.json"
check "--offline fetches nothing" test "$(wc -l <"$REQ")" -eq "$before"
check "--offline says the report is link only" sh -c "grep -q 'link only' '$T/offline.json'"

# ---- what is never fetched, and what fails ---------------------------------------
linkmail "http://127.0.0.1:$HTTP/not-listed" "$T/nl.eml"
replay "$T/nl.eml" >"$T/nl.json"
check "a link to a host outside ReportLinkHosts is not fetched" test "$(asked /not-listed)" -eq 0
check "... and the reason says why" sh -c "grep -q 'is not in ReportLinkHosts' '$T/nl.json'"
linkmail "https://localhost:$HTTPS/redirect-out" "$T/ro.eml"
replay "$T/ro.eml" >"$T/ro.json"
check "a redirect outside ReportLinkHosts is not followed" test "$(asked /out-of-bounds)" -eq 0
check "... and the reason names the host" sh -c "grep -q 'host 127.0.0.1 is not in ReportLinkHosts' '$T/ro.json'"
for st in 404 410; do
	linkmail "https://localhost:$HTTPS/$st" "$T/$st.eml"
	replay "$T/$st.eml" >"$T/$st.json"
	check "a $st answer is the reason" sh -c "grep -q 'HTTP $st' '$T/$st.json'"
	check "... and makes no notice" test "$(notices "$T/$st.json" | wc -l)" -eq 0
done
linkmail "https://localhost:$HTTPS/big" "$T/big.eml"
replay "$T/big.eml" >"$T/big.json"
check "a download over MaxReportSize is stopped" sh -c "grep -q 'larger than MaxReportSize' '$T/big.json'"
linkmail "https://localhost:$HTTPS/junk" "$T/junk.eml"
replay "$T/junk.eml" >"$T/junk.json"
check "a body neither CSV nor zip is refused" sh -c "grep -q 'neither CSV nor zip' '$T/junk.json'"
linkmail "https://localhost:$HTTPS/slow-csv1" "$T/slow.eml"
replay "$T/slow.eml" >"$T/slow.json"
check "a download slower than FetchTimeout ends" sh -c "grep -qi 'timeout\\|timed out' '$T/slow.json'"
linkmail "https://localhost:$HTTPS/flaky-csv1" "$T/flaky.eml"
replay "$T/flaky.eml" >"$T/flaky1.json"
check "a 500 is the reason the first time" sh -c "grep -q 'HTTP 500' '$T/flaky1.json'"
replay "$T/flaky.eml" | notices /dev/stdin >"$T/flaky.notices"
check "... and the next try gets the report" same "$T/attached.notices" "$T/flaky.notices"
grep -v '^CAFile' "$CONF" >"$T/noca.conf"
"$SM" replay -c "$T/noca.conf" --json "$T/csv1.eml" >"$T/noca.json" 2>&1
check "without CAFile the test CA is not trusted (the system's store)" sh -c "grep -q 'not fetched' '$T/noca.json'"
check "... and nothing is notified" test "$(notices "$T/noca.json" 2>/dev/null | wc -l)" -eq 0
finish
