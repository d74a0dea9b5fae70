#!/bin/sh
# run.sh BUILD SECONDS - build every libFuzzer target in tests/fuzz/ (clang,
# ASan+UBSan) into BUILD/fuzz/, make its seeds from the test fixtures, run it
# for SECONDS, and count it passed when it ran its time with no crash, leak or
# timeout. Ends with "N passed, N failed".
#
# Seeds are generated here, into BUILD/fuzz/seeds/TARGET/, from tests/fixtures,
# conf/, templates/, tests/fuzz/seeds/ and the reference report mails when
# present; what a run discovers stays in BUILD/fuzz/corpus/TARGET/ for the next.
# A crash leaves its input in BUILD/fuzz/artifacts/ (reproduce: run the target
# binary with that file as its argument). FUZZ_TARGETS (space-separated) limits
# the run to some targets.
BUILD=${1:-build}
SECONDS_EACH=${2:-60}
FUZZ_CC=${FUZZ_CC:-clang}
F="$BUILD/fuzz"
SHARED=../shared/reference/shadowserver/eml
passed=0 failed=0

ok()   { passed=$((passed + 1)); echo "ok   $1"; }
fail() { failed=$((failed + 1)); echo "FAIL $1"; }
finish() { echo "$passed passed, $failed failed"; [ "$failed" -eq 0 ]; exit $?; }

if ! command -v "$FUZZ_CC" >/dev/null 2>&1; then
	fail "fuzz targets: $FUZZ_CC not found; install clang and libclang-rt-14-dev (tests/install-deps.sh does)"
	finish
fi
mkdir -p "$F/artifacts"
if ! make -s BUILD="$BUILD" FUZZ_CC="$FUZZ_CC" fuzz-build >"$F/build.log" 2>&1; then
	tail -n 30 "$F/build.log"
	fail "fuzz targets build (log: $F/build.log)"
	finish
fi

# byte - one byte of value N (0-255) on stdout
byte() { printf "\\$(printf %03o "$1")"; }
# mails - the report mails the seeds start from
mails() { ls tests/fixtures/*.eml $SHARED/*.eml 2>/dev/null; }
AUTHRES="Authentication-Results: mx.fuzz.example; dkim=pass header.d=shadowserver.org"

# many_files N ZIP - a report mail of N two-line CSV files (issue 17: many small
# files per mail; past MaxReportFiles, 64), each a part of its own, or (ZIP
# set) all members of one zip; nothing when zip(1) is missing for the zip
many_files() {
	d=$(mktemp -d) || return
	i=0
	while [ $i -lt "$1" ]; do
		printf 'timestamp,ip,port\n2026-11-24 01:00:00,192.0.2.%d,111\n' $((i % 250)) \
		    >"$d/2026-11-24-scan_portmapper-n$i.csv"
		i=$((i + 1))
	done
	printf 'From: Shadowserver <autoreports@shadowserver.org>\nSubject: Shadowserver Open Portmapper Report\n'
	printf 'MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="B"\n\n'
	if [ -n "$2" ] && (cd "$d" && zip -q -X all.zip ./*.csv 2>/dev/null); then
		printf -- '--B\nContent-Type: application/zip\nContent-Transfer-Encoding: base64\n'
		printf 'Content-Disposition: attachment; filename="2026-11-24-reports.csv.zip"\n\n'
		base64 "$d/all.zip"
	else
		for f in "$d"/*.csv; do
			printf -- '--B\nContent-Disposition: attachment; filename="%s"\n\n' "$(basename "$f")"
			cat "$f"
		done
	fi
	printf -- '--B--\n'
	rm -rf "$d"
}

seeds_pipeline() {
	for f in $(mails); do { printf '\007'; cat "$f"; } >"$1/$(basename "$f")"; done
	{ printf '\007'; many_files 70; } >"$1/many-small-files"
	{ printf '\003'; many_files 70 zip; } >"$1/many-small-members"
}

seeds_filter() {
	i=0
	for f in $(mails); do
		# env, chunk size; the reference mails carry no Authentication-Results
		{ byte $((i % 6)); byte $((i * 37 % 256)); grep -q '^Authentication-Results:' "$f" ||
		    echo "$AUTHRES"; cat "$f"; } >"$1/$(basename "$f")"
		i=$((i + 1))
	done
	demo=tests/fixtures/demo-portmapper.eml
	later=tests/fixtures/demo-portmapper-later.eml
	# the same report twice, a later one a day on, an abort half way, ordinary mail
	{ byte 0; byte 40; cat "$demo"; printf '\001E\n'; cat "$demo"; printf '\001T24\n\001E\n'; cat "$later"; } \
	    >"$1/sequence-twice-and-later"
	{ byte 1; byte 3; printf '\001R<abuse@example.net>\n'; head -c 1500 "$demo"; printf '\n\001A\n';
	    printf '\001M<>\n'; cat "$demo"; } >"$1/sequence-abort"
	{ byte 2; byte 9; printf 'From: Alice <alice@example.org>\nSubject: hi\n\nhello\n'; } >"$1/ordinary"
	{ byte 0; byte 64; echo "$AUTHRES"; many_files 70; } >"$1/many-small-files"
	{ byte 0; byte 200; echo "$AUTHRES"; many_files 70 zip; } >"$1/many-small-members"
	{ byte 4; byte 200; printf 'From: autoreports@shadowserver.org\nX-Shadowmilter-Result: planted\n';
	    printf 'Subject: =?utf-8?q?x=0D=0ABcc:_a@b?=\n\nbody\n'; } >"$1/forged"
}

seeds_dkim() {
	# signed with the test key at run time (the signature carries its time),
	# with each of the signer's shapes, so mutations start from a PASS
	i=0
	for f in tests/fixtures/*.eml; do
		for opts in "" "-S" "-l" "-a rsa-sha1" "-d evil.example"; do
			{ byte $((i * 29 % 256)); "$BUILD/dkimsign" -k tests/fixtures/dkim/test.private $opts <"$f"; } \
			    >"$1/$(basename "$f" .eml)-$i.eml" 2>/dev/null || rm -f "$1/$(basename "$f" .eml)-$i.eml"
			i=$((i + 1))
		done
	done
	{ byte 3; cat tests/fixtures/dkim/ed25519-signed.eml; } >"$1/ed25519-signed.eml"
	for f in $(mails); do { byte 0; cat "$f"; } >"$1/plain-$(basename "$f")"; done
}

seeds_config() {
	for f in conf/shadowmilter.conf tests/golden/golden.conf; do
		[ -f "$f" ] && cp "$f" "$1/$(basename "$f")"
	done
	{ cat conf/shadowmilter.conf; echo "Catalogue site-catalogue.csv"; echo "--catalogue--";
	    head -n 8 templates/catalogue.csv; } >"$1/with-catalogue"
}

seeds_customermap() {
	cp conf/customers.csv "$1/customers.csv"
	# oracle mode: 3 records (IPv4 192.0.2.0/24 a0, 192.0.2.64/29 a1, IPv6 2001:db8::/32 a2), a probe
	{ byte 255; byte 3;
	  byte 0; byte 192; byte 0; byte 2; byte 0; i=0; while [ $i -lt 12 ]; do byte 0; i=$((i + 1)); done; byte 24;
	  byte 2; byte 192; byte 0; byte 2; byte 64; i=0; while [ $i -lt 12 ]; do byte 0; i=$((i + 1)); done; byte 29;
	  byte 5; byte 32; byte 1; byte 13; byte 184; i=0; while [ $i -lt 12 ]; do byte 0; i=$((i + 1)); done; byte 32;
	  byte 0; byte 192; byte 0; byte 2; byte 66; i=0; while [ $i -lt 12 ]; do byte 0; i=$((i + 1)); done;
	} >"$1/oracle"
}

seeds_template() {
	i=0
	for f in templates/*.tmpl templates/resolved/*.tmpl; do
		{ byte $((i % 256)); cat "$f"; } >"$1/$(echo "$f" | tr / _)"
		i=$((i + 1))
	done
	{ byte 0; printf 'Subject: {{#l}}{{a}}{{/l}}\n\n{{#l}}{{#m}}{{a}}{{^e}}{{n}}{{/e}}{{/m}}{{/l}}\n'; } >"$1/synthetic"
}

seeds_headers() {
	for f in $(mails); do sed '/^$/q' "$f" >"$1/$(basename "$f")"; done
	cp tests/fuzz/seeds/headers-*.txt "$1/"
}

seeds_schema() {
	cat >"$1/intelmq.json" <<-'EOF2'
	{"_meta": {"date_created": "2026-11-30T12:00:00Z"},
	 "scan_teapot": {"constant_fields": {"classification.taxonomy": "vulnerable"}, "feed_name": "Accessible-Teapot",
	  "url": "https://www.shadowserver.org/what-we-do/network-reporting/accessible-teapot-report/"},
	 "event4_honeypot_x": {"classification.taxonomy": "intrusions", "name": "Honeypot-X", "severity": "high"}}
	EOF2
	printf 'report_type,title,default_severity,info_url\nscan_a,"A, quoted",low,https://www.shadowserver.org/a/\n' \
	    >"$1/table.csv"
	cp ../shared/reference/shadowserver/schema/report_types.csv "$1/" 2>/dev/null || true
}

seeds_reportslist() {
	cat >"$1/list.json" <<-'EOF2'
	[{"id":"AbCdEfGh?x=1","file":"2026-11-24-scan_ntp-example-asn.csv","type":"scan_ntp","report":"example-asn",
	  "timestamp":"2026-11-24 06:00:00","url":"https://www.shadowserver.org/"},
	 {"id":"../x","file":"a\u0000b.csv"}, {"file":"x.csv"}, 7, null]
	EOF2
	printf '["scan_ntp",{"type":"scan_dns"},{"name":"event4_sinkhole"},""]' >"$1/types.json"
	printf '{"error":"invalid HMAC2 signature"}' >"$1/error.json"
}

seeds_headerview() {
	# byte 0 the chunk size, byte 1 the padding fields on top, from 240 (255: as
	# many fields of 4,100 bytes as fit in HEADER_BLOCK_MAX; 251: 4 fewer), then a header block
	for f in $(mails); do
		{ byte 0; byte 0; sed '/^\r*$/q' "$f"; } >"$1/$(basename "$f")"
		{ byte 7; byte 255; sed '/^\r*$/q' "$f"; } >"$1/near-limit-$(basename "$f")"
	done
	# the review's mail: a second From and Content-Type on top of a signed block
	{ byte 3; byte 251; printf 'From: Shadowserver <autoreports@shadowserver.org>\r\n';
	    printf 'Content-Type: multipart/mixed; boundary="X"\r\n'; sed '/^\r*$/q' tests/fixtures/demo-portmapper.eml; } \
	    >"$1/prepended-from"
	# lines the two views could read differently: a blank in a name, a blank
	# before the colon, a first line folded, a bare CR, a name with a semicolon
	{ byte 1; byte 0; printf 'X Pad: 1\nSubject : a\n folded\nMessage-ID:\r <x@y>\r\nA;b: c\n'; } >"$1/odd-lines"
	{ byte 0; byte 0; printf ' first: folded\nFrom: a@b\nDate:\tMon, 1 Jan 2024\n\t00:00:00 +0000\n'; } >"$1/folded-first"
}

for t in ${FUZZ_TARGETS:-$(cd tests/fuzz && ls fuzz_*.c | sed 's/\.c$//')}; do
	name=${t#fuzz_}
	seeds="$F/seeds/$t" corpus="$F/corpus/$t" log="$F/$t.log"
	rm -rf "$seeds"
	mkdir -p "$seeds" "$corpus"
	"seeds_$name" "$seeds"
	case $name in
	# the report mails are long: mutate them at full length from the start
	pipeline|filter|dkim) maxlen=65536 dict=tests/fuzz/filter.dict lenctl=0 ;;
	config) maxlen=8192 dict=tests/fuzz/config.dict lenctl=100 ;;
	headerview) maxlen=65536 dict=tests/fuzz/headerview.dict lenctl=0 ;;
	template) maxlen=16384 dict=tests/fuzz/template.dict lenctl=100 ;;
	*) maxlen=8192 dict= lenctl=100 ;;
	esac
	"$F/$t" -max_total_time="$SECONDS_EACH" -timeout=25 -rss_limit_mb=2048 -max_len="$maxlen" -len_control="$lenctl" \
	    ${dict:+-dict="$dict"} -print_final_stats=1 -artifact_prefix="$F/artifacts/$t-" \
	    "$corpus" "$seeds" >"$log" 2>&1
	rc=$?
	runs=$(sed -n 's/^Done \([0-9]*\) runs.*/\1/p' "$log")
	cov=$(grep -E '^#[0-9]+' "$log" | tail -n 1 | grep -oE 'cov: [0-9]+ ft: [0-9]+')
	if [ "$rc" -eq 0 ] && [ -n "$runs" ]; then
		ok "$t: $runs runs in ${SECONDS_EACH}s, $cov"
	else
		grep -E 'ERROR|INVARIANT|SUMMARY|^    #[0-9]' "$log" | head -n 25
		fail "$t: exit $rc after ${runs:-?} runs (log: $log; input: $(ls -t "$F/artifacts/$t-"* 2>/dev/null | head -n 1))"
	fi
done
finish
