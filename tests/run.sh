#!/bin/sh
# run.sh BUILD - every test suite against one build; ends with
# "N passed, N failed, N skipped". A test that cannot run here says SKIP; a
# skip fails the run where the suite must run in CI: the store's PostgreSQL
# half of the unit tests, and the suites that start Postfix.
BUILD=${1:-build}
export SM_TEST_SRCDIR=tests
passed=0 failed=0 skipped=0
# tally OUT NAME [must-run] - add the last summary line of a suite's output,
# "N passed, N failed" or "N passed, N failed, N skipped"; with must-run, a
# skipped test is a failure
tally() {
	line=$(grep -E '^[0-9]+ passed, [0-9]+ failed(, [0-9]+ skipped)?$' "$1" | tail -n 1)
	if [ -z "$line" ]; then
		echo "suite $2 did not finish (no summary line)"
		failed=$((failed + 1))
		return
	fi
	set -- "$1" "$2" "${3:-}" $line
	passed=$(($passed + $4))
	failed=$(($failed + $6))
	s=${8:-0}
	skipped=$((skipped + s))
	if [ "$3" = must-run ] && [ "$s" -gt 0 ]; then
		echo "FAIL suite $2 skipped $s test(s) it must run"
		failed=$((failed + 1))
	fi
}
out=$(mktemp)
echo "== the #include rules of milter/README.md"
sh tests/include-graph.sh >"$out" 2>&1
cat "$out"
tally "$out" include-graph
echo "== unit tests ($BUILD)"
# under a private PostgreSQL: the store's suite runs on SQLite and on PostgreSQL
sh tests/e2e/with-pg.sh "$BUILD/unit" >"$out" 2>&1
cat "$out"
tally "$out" unit
if grep -q "^SKIP store_pg\." "$out"; then
	echo "FAIL the store's PostgreSQL half did not run"
	failed=$((failed + 1))
fi
echo "== command-line tests ($BUILD)"
sh tests/cli.sh "$BUILD" >"$out" 2>&1
cat "$out"
tally "$out" cli
echo "== miltertest ($BUILD)"
sh tests/miltertest.sh "$BUILD" >"$out" 2>&1
cat "$out"
tally "$out" miltertest
echo "== link-only reports fetched from a test ShadowServer ($BUILD)"
sh tests/e2e/test-fetch.sh "$BUILD" >"$out" 2>&1
cat "$out"
tally "$out" fetch must-run
echo "== the catalogue kept up with ShadowServer's schema ($BUILD)"
sh tests/e2e/test-catalogue-update.sh "$BUILD" >"$out" 2>&1
cat "$out"
tally "$out" catalogue-update
echo "== link-only reports through the daemon: fetch jobs ($BUILD)"
sh tests/e2e/test-fetch-milter.sh "$BUILD" >"$out" 2>&1
cat "$out"
tally "$out" fetch-milter must-run
echo "== the Reports API: shadowmilter pull, two at once on one PostgreSQL ($BUILD)"
sh tests/e2e/with-pg.sh sh tests/e2e/test-pull.sh "$BUILD" >"$out" 2>&1
cat "$out"
tally "$out" pull must-run
echo "== the daemon pulls the Reports API on its schedule ($BUILD)"
sh tests/e2e/test-pull-milter.sh "$BUILD" >"$out" 2>&1
cat "$out"
tally "$out" pull-milter must-run
echo "== the private Postfix the suites below start (tests/e2e/postfix-lib.sh)"
sh tests/e2e/test-postfix-harness.sh >"$out" 2>&1
cat "$out"
tally "$out" postfix-harness must-run
echo "== Postfix end to end ($BUILD)"
sh tests/e2e/test-milter-postfix.sh "$BUILD" >"$out" 2>&1
cat "$out"
tally "$out" postfix must-run
echo "== link-only reports through Postfix: fetched after a kill, one set with the attachment ($BUILD)"
sh tests/e2e/test-fetch-postfix.sh "$BUILD" >"$out" 2>&1
cat "$out"
tally "$out" fetch-postfix must-run
echo "== OpenDKIM in front, forged and real reports ($BUILD)"
sh tests/e2e/test-opendkim-postfix.sh "$BUILD" >"$out" 2>&1
cat "$out"
tally "$out" opendkim must-run
echo "== two MX hosts, one store: PostgreSQL ($BUILD)"
SM_MX_STORE=pg sh tests/e2e/test-multi-mx.sh "$BUILD" >"$out" 2>&1
cat "$out"
tally "$out" multi-mx-pg must-run
echo "== two MX hosts, one store: SQLite ($BUILD)"
SM_MX_STORE=sqlite sh tests/e2e/test-multi-mx.sh "$BUILD" >"$out" 2>&1
cat "$out"
tally "$out" multi-mx-sqlite must-run
echo "== Sendmail end to end ($BUILD)"
sh tests/e2e/test-milter-sendmail.sh "$BUILD" >"$out" 2>&1
cat "$out"
tally "$out" sendmail must-run
# the package on a stock Debian 12 root: the plain pass only (make check-asan
# sets SM_STOCK_DEBIAN=no): it tests the .deb, which is built without ASan
if [ "${SM_STOCK_DEBIAN:-yes}" = yes ]; then
	echo "== stock Debian 12: the package, Debian's chrooted Postfix ($BUILD)"
	sh tests/e2e/test-stock-debian.sh "$BUILD" >"$out" 2>&1
	cat "$out"
	tally "$out" stock-debian
fi
# the ASan pass (make check-asan sets SM_FUZZ_SECONDS) also runs every fuzz target
if [ -n "$SM_FUZZ_SECONDS" ]; then
	echo "== fuzz targets, ${SM_FUZZ_SECONDS}s each ($BUILD/fuzz)"
	sh tests/fuzz/run.sh "$BUILD" "$SM_FUZZ_SECONDS" >"$out" 2>&1
	cat "$out"
	tally "$out" fuzz
fi
rm -f "$out"
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
