#!/bin/sh
# test-fetch.sh BUILD - link-only report mails fetched from a test ShadowServer
# (tests/e2e/fakeshadowserver.py: HTTPS with a CA made here by openssl, and
# HTTP, on 127.0.0.1 only, every request logged) through "shadowmilter
# replay": the same notices as the file attached, the limits, and the URLs
# that must never be fetched. Ends with "N passed, N failed, N skipped".
BUILD=${1:-build}
SM="$BUILD/shadowmilter"
. tests/e2e/fetch-lib.sh
fs_suite fetch
fs_start

# ---- the config: ReportLinkHosts localhost, the test CA ------------------------
KEYS="$(pwd)/tests/fixtures/dkim/keys"
fs_conf "$T/sm.conf" TestPublicKeys "$KEYS" FetchTimeout 3s MaxReportSize 1M
CONF=$T/sm.conf

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

# ---- the Reports API: test/ping signed with HMAC2 --------------------------------
chmod 600 "$T/secret"
{ cat "$CONF"; echo "ReportsAPIKey test-api-key"; echo "ReportsAPISecretFile $T/secret"
  echo "ReportsAPIURL https://localhost:$HTTPS/api2/"
  # the API's files come from a host ReportLinkHosts allows (-n refuses one it does not)
  echo "ReportDownloadURL https://localhost:$HTTPS/"
  # what -n checks of the host: the daemon's user, its socket and database directories
  echo "UserID $(id -un)"; echo "Socket inet:10025@127.0.0.1"; echo "OutboxDB $T/outbox.db"; } >"$T/api.conf"
"$SM" -n -c "$T/api.conf" >"$T/ping.out" 2>&1
check "-n calls test/ping, signed with HMAC2, and shows the answer" grep -q 'test/ping answered {"pong"' "$T/ping.out"
check "... which the server checked" test "$(asked /api2/test/ping)" -eq 1
printf 'wrong-secret\n' >"$T/wrong"
chmod 640 "$T/wrong"
sed "s|^ReportsAPISecretFile .*|ReportsAPISecretFile $T/wrong|" "$T/api.conf" >"$T/wrong.conf"
"$SM" -n -c "$T/wrong.conf" >"$T/wrong.out" 2>&1
check "a wrong HMAC2 fails -n with the API's error text" sh -c "grep -q 'HTTP 401: invalid HMAC2 signature' '$T/wrong.out'"
chmod 644 "$T/wrong"
"$SM" -n -c "$T/wrong.conf" >"$T/mode.out" 2>&1
check "a secret file other than 0600/0640 is refused" sh -c "grep -q 'mode 0600 or 0640' '$T/mode.out'"
before=$(asked /api2/test/ping)
"$SM" -n --offline -c "$T/api.conf" >"$T/offline.out" 2>&1
check "-n --offline asks the API nothing" test "$(asked /api2/test/ping)" -eq "$before"
finish
