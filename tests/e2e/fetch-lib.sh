# fetch-lib.sh - a test ShadowServer for a suite (tests/e2e/fakeshadowserver.py)
#
# POSIX sh; source it with T (the suite's directory) and BUILD set, and
# check/ok/fail defined:
#   fs_start
#       a CA made now by openssl and a certificate for localhost signed by it
#       ($T/ca.pem), the demo report's file served as csv1 (CSV, with its
#       Content-Disposition), zip1 (zipped), plain1 (no Content-Disposition)
#       and junk (neither); the server started on 127.0.0.1 (FS_PID), ready
#       when it wrote its ports: HTTPS and HTTP; REQ is its request log
#   fs_stop
#   linkmail URL OUT [MESSAGE-ID]
#       the demo report without its attachment, its link URL, DKIM-signed
#       with the test key (a new Message-ID when one is given)
#   asked PATH - how often PATH was asked for

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
}

fs_stop() { [ -n "$FS_PID" ] && kill "$FS_PID" 2>/dev/null; FS_PID=""; }

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
