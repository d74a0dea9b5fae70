#!/bin/sh
# run.sh BUILD - every test suite against one build; ends with "N passed, N failed".
BUILD=${1:-build}
export SM_TEST_SRCDIR=tests
passed=0 failed=0
tally() {
	# the last "N passed, N failed" line of a suite's output
	line=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$1" | tail -n 1)
	if [ -z "$line" ]; then
		echo "suite $2 did not finish (no summary line)"
		failed=$((failed + 1))
		return
	fi
	p=${line%% passed*}
	f=${line#*, }
	f=${f%% failed*}
	passed=$((passed + p))
	failed=$((failed + f))
}
out=$(mktemp)
echo "== unit tests ($BUILD)"
# under a private PostgreSQL: the store's suite runs on SQLite and on PostgreSQL
sh tests/e2e/with-pg.sh "$BUILD/unit" >"$out" 2>&1
cat "$out"
tally "$out" unit
if grep -q "the PostgreSQL half did not run" "$out"; then
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
echo "== Postfix end to end ($BUILD)"
sh tests/e2e/test-milter-postfix.sh "$BUILD" >"$out" 2>&1
cat "$out"
tally "$out" postfix
echo "== OpenDKIM in front, forged and real reports ($BUILD)"
sh tests/e2e/test-opendkim-postfix.sh "$BUILD" >"$out" 2>&1
cat "$out"
tally "$out" opendkim
echo "== two MX hosts, one store: PostgreSQL ($BUILD)"
SM_MX_STORE=pg sh tests/e2e/test-multi-mx.sh "$BUILD" >"$out" 2>&1
cat "$out"
tally "$out" multi-mx-pg
echo "== two MX hosts, one store: SQLite ($BUILD)"
SM_MX_STORE=sqlite sh tests/e2e/test-multi-mx.sh "$BUILD" >"$out" 2>&1
cat "$out"
tally "$out" multi-mx-sqlite
echo "== Sendmail end to end ($BUILD)"
sh tests/e2e/test-milter-sendmail.sh "$BUILD" >"$out" 2>&1
cat "$out"
tally "$out" sendmail
# the ASan pass (make check-asan sets SM_FUZZ_SECONDS) also runs every fuzz target
if [ -n "$SM_FUZZ_SECONDS" ]; then
	echo "== fuzz targets, ${SM_FUZZ_SECONDS}s each ($BUILD/fuzz)"
	sh tests/fuzz/run.sh "$BUILD" "$SM_FUZZ_SECONDS" >"$out" 2>&1
	cat "$out"
	tally "$out" fuzz
fi
rm -f "$out"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
