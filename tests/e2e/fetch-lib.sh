# fetch-lib.sh - a test ShadowServer for a suite (tests/e2e/fakeshadowserver.py)
#
# What every suite that talks to the test ShadowServer shares, so none copies
# it: the CA made at run time, the server started and waited for (its ports
# file, never a sleep), the config lines that trust it, the stand-in MTA that
# spools notices, and for a suite without the daemon its tally and clean-up.
#
# POSIX sh; source it with BUILD set. A suite without the daemon calls
# fs_suite first; one with the daemon (tests/e2e/milter-lib.sh) has T, FS_PID
# and check/ok/fail from ml_setup and its own clean-up calling fs_stop.
#   fs_suite WHAT
#       T = a fresh directory, removed at exit (not with KEEP set) after
#       fs_stop; passed/failed/skipped, ok/fail/skip/check NAME and finish
#       (prints "N passed, N failed, N skipped" and exits); without python3
#       or openssl: "SKIP the WHAT suite: no TOOL" and finish
#   fs_start
#       a CA made now by openssl and a certificate for localhost signed by it
#       ($T/ca.pem, readable by the daemon's user), the demo report's file
#       served as csv1 (CSV, with its Content-Disposition), zip1 (zipped),
#       plain1 (no Content-Disposition) and junk (neither); the API secret in
#       $T/secret; the server started on 127.0.0.1 (FS_PID), ready when it
#       wrote its ports: HTTPS and HTTP; REQ is its request log.
#       FS_TRUST: the config's KEY VALUE words that fetch from it (ReportLinkHosts
#       localhost, CAFile $T/ca.pem); FS_API: those of its Reports API
#       (ReportsAPIKey, ReportsAPISecretFile, ReportsAPIURL, ReportDownloadURL)
#   fs_stop
#   fs_conf FILE [KEY VALUE]...
#       FILE: the shipped conf/shadowmilter.conf with CustomerMap
#       conf/customers.csv, then FS_TRUST, then a line per KEY VALUE
#   fs_spool
#       $T/sendmail, a stand-in MTA that writes each notice to $T/spool
#       (writable by the daemon's user); spooled: how many it holds;
#       wait_spool N: until it holds N (60 s at most)
#   linkmail URL OUT [MESSAGE-ID]
#       the demo report without its attachment, its link URL, DKIM-signed
#       with the test key (a new Message-ID when one is given)
#   asked PATH - how often PATH was asked for

fs_suite() {
	ok()   { passed=$((passed + 1)); echo "ok   $1"; }
	fail() { failed=$((failed + 1)); echo "FAIL $1"; }
	skip() { skipped=$((skipped + 1)); echo "SKIP $1"; }
	check() { name=$1; shift; if "$@"; then ok "$name"; else fail "$name"; fi; }
	finish() { echo "$passed passed, $failed failed, $skipped skipped"; [ "$failed" -eq 0 ]; exit $?; }
	T=$(mktemp -d)
	FS_PID=""
	trap 'fs_stop; [ -n "$KEEP" ] || rm -rf "$T"' EXIT
	passed=0 failed=0 skipped=0
	for tool in python3 openssl; do
		if ! command -v $tool >/dev/null 2>&1; then
			echo "SKIP the $1 suite: no $tool"
			skipped=1
			finish
		fi
	done
}

fs_start() {
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
	python3 - "$T/srv/files" tests/fixtures/demo-portmapper.eml <<-'PY'
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
	FS_PID=$!
	i=0
	while [ ! -s "$T/srv/ports" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
	check "the test ShadowServer listens" test -s "$T/srv/ports"
	HTTPS=$(awk '$1 == "https" {print $2}' "$T/srv/ports")
	HTTP=$(awk '$1 == "http" {print $2}' "$T/srv/ports")
	REQ=$T/srv/requests.log
	chmod 644 "$T/ca.pem"	# the daemon's user reads it
	FS_TRUST="ReportLinkHosts localhost CAFile $T/ca.pem"
	FS_API="ReportsAPIKey test-api-key ReportsAPISecretFile $T/secret ReportsAPIURL https://localhost:$HTTPS/api2/
	    ReportDownloadURL https://localhost:$HTTPS/dl/"
}

fs_stop() { [ -n "$FS_PID" ] && kill "$FS_PID" 2>/dev/null; FS_PID=""; }

fs_conf() {
	_fs_out=$1
	shift
	{ sed "s|^CustomerMap .*|CustomerMap $(pwd)/conf/customers.csv|" conf/shadowmilter.conf
	  set -- $FS_TRUST "$@"
	  while [ $# -gt 1 ]; do echo "$1 $2"; shift 2; done; } >"$_fs_out"
}

fs_spool() {
	mkdir -p "$T/spool"
	chmod 777 "$T/spool"	# the daemon's user writes it
	cat >"$T/sendmail" <<-EOS
	#!/bin/sh
	cat > "$T/spool/\$\$.\$(date +%s%N).eml"
	EOS
	chmod 755 "$T/sendmail"
}
spooled() { ls "$T/spool" | wc -l; }
wait_spool() { _fs_i=0; while [ "$(spooled)" -lt "$1" ] && [ $_fs_i -lt 600 ]; do sleep 0.1; _fs_i=$((_fs_i + 1)); done; }

linkmail() {
	awk -v url="$1" '
		/^--b1_demo--/ { print; next }
		/^--b1_demo$/ { part++ }
		part >= 2 { next }
		/^https:\/\/dl.shadowserver.org\// { print url; next }
		{ print }' tests/fixtures/demo-portmapper.eml >"$2.unsigned"
	printf -- '--b1_demo--\n' >>"$2.unsigned"
	[ -n "$3" ] && sed -i "s/^Message-ID: .*/Message-ID: <$3>/" "$2.unsigned"
	"$BUILD/dkimsign" -k tests/fixtures/dkim/test.private <"$2.unsigned" >"$2"
}

asked() { if [ -f "$REQ" ]; then grep -c " $1 " "$REQ" || true; else echo 0; fi; }
