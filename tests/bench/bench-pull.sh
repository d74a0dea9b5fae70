#!/bin/sh
# bench-pull.sh BUILD - "shadowmilter pull" of 30 report files of 10,000 rows
# each from the local test ShadowServer (tests/e2e/fakeshadowserver.py over
# HTTPS, HMAC2 checked) into a SQLite store with the detection history:
# prints the wall time, files/s and the pull's peak RSS (tests/bench/peakrss),
# then the time of a second pull that finds every file applied.
# BENCH_PULL_FILES and BENCH_PULL_ROWS pick other sizes.
BUILD=${1:-build}
case $BUILD in /*) ;; *) BUILD=$(pwd)/$BUILD ;; esac
SM=$BUILD/shadowmilter
PEAK=$BUILD/bench/peakrss
FILES=${BENCH_PULL_FILES:-30}
ROWS=${BENCH_PULL_ROWS:-10000}
for tool in "$SM" "$PEAK" "$BUILD/dkimsign"; do
	[ -x "$tool" ] || { echo "bench-pull: $tool missing (make bench builds it)"; exit 1; }
done
for tool in python3 openssl; do
	command -v $tool >/dev/null 2>&1 || { echo "SKIP bench-pull: no $tool"; exit 0; }
done
T=$(mktemp -d /tmp/sm-bench-pull.XXXXXX)
FS_PID=""
check() { name=$1; shift; "$@" || { echo "bench-pull: $name: failed"; exit 1; }; }
. tests/e2e/fetch-lib.sh
trap 'fs_stop; rm -rf "$T"' EXIT
fs_start >/dev/null
chmod 600 "$T/secret"

# FILES reports of ROWS rows: hosts of the demo customers (and some nobody's), one port per row
python3 - "$T/srv" "$FILES" "$ROWS" <<'PY'
import json, sys
d, nfiles, nrows = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
head = '"timestamp","severity","ip","protocol","port","hostname","tag","asn","geo"\n'
hosts = ["192.0.2.%d" % i for i in range(1, 255)] + ["198.51.100.%d" % i for i in range(1, 127)] + \
        ["203.0.113.%d" % i for i in range(1, 255)]
entries = []
for f in range(nfiles):
    day = "2026-10-%02d" % (f + 1)
    with open("%s/files/b%02d" % (d, f), "w") as out:
        out.write(head)
        for r in range(nrows):
            out.write('"%s 06:00:00",medium,%s,udp,%d,,portmapper,64500,GB\n'
                      % (day, hosts[r % len(hosts)], 1000 + r // len(hosts)))
    entries.append({"id": "b%02d" % f, "file": "%s-scan_portmapper-example-hosting.csv" % day,
                    "type": "scan_portmapper", "report": "example-hosting",
                    "timestamp": day + " 06:00:00", "url": "https://www.shadowserver.org/"})
json.dump(entries, open(d + "/list.json", "w"))
PY
{ sed "s|^CustomerMap .*|CustomerMap $(pwd)/conf/customers.csv|" conf/shadowmilter.conf
  echo "ReportLinkHosts localhost"; echo "CAFile $T/ca.pem"; echo "FetchTimeout 60s"
  echo "ReportsAPIKey test-api-key"; echo "ReportsAPISecretFile $T/secret"
  echo "ReportsAPIURL https://localhost:$HTTPS/api2/"; echo "ReportDownloadURL https://localhost:$HTTPS/dl/"
  echo "OutboxDB $T/store.db"; echo "StateDB $T/store.db"; echo "Transport sendmail:/bin/true"; } >"$T/sm.conf"

WIN="--since 2026-10-01 --until 2026-10-31"
"$PEAK" "pull $FILES files x $ROWS rows" "$T/pull.out" "$SM" pull -c "$T/sm.conf" $WIN 2>"$T/pull.err" >"$T/peak.out"
rc=$?
cat "$T/pull.out"
if [ $rc -ne 0 ] || ! grep -q "$FILES applied" "$T/pull.out"; then
	echo "bench-pull: the pull did not apply every file:"
	tail -5 "$T/pull.err"
	exit 1
fi
secs=$(awk '{for (i = 1; i < NF; i++) if ($(i + 1) == "s") { print $i; exit }}' "$T/peak.out")
printf '%s  %s files/s\n' "$(cat "$T/peak.out")" "$(awk -v n="$FILES" -v s="$secs" 'BEGIN { printf "%.1f", n / s }')"
"$PEAK" "second pull (every file applied already)" "$T/pull2.out" "$SM" pull -c "$T/sm.conf" $WIN 2>/dev/null
rm -f "$T/store.db"
"$PEAK" "the same, --dry-run (download and read, no store writes)" "$T/dry.out" "$SM" pull -c "$T/sm.conf" $WIN --dry-run 2>/dev/null
