#!/bin/sh
# run.sh BUILD - every benchmark; each prints its own figures.
BUILD=${1:-build}
rc=0
echo "== bench_replay"
"$BUILD/bench/bench_replay" || rc=1
echo "== bench_render (notices of the 100k-customer report; before and after the compiled templates)"
"$BUILD/bench/bench_render" || rc=1
echo "== bench_hostile (issue 17: must stay under 64 MiB and 1 s each)"
"$BUILD/bench/bench_hostile" || rc=1
echo "== bench_prefixmap"
"$BUILD/bench/bench_prefixmap" || rc=1
echo "== bench_mapsource (CustomerMap refresh from PostgreSQL, 1M prefixes; target <= 2 s, <= 200 MiB)"
sh tests/e2e/with-pg.sh "$BUILD/bench/bench_mapsource" || rc=1
echo "== bench_refreshload (issue 19: the milter keeps serving mail and reports while a 1M-prefix map is refreshed)"
sh tests/e2e/with-pg.sh "$BUILD/bench/bench_refreshload" "$BUILD/shadowmilter" || rc=1
echo "== bench_passthrough"
"$BUILD/bench/bench_passthrough" "$BUILD/shadowmilter" "$BUILD/bench/noop_milter" || rc=1
echo "== bench-store (history with SQLite and PostgreSQL; reports naming 1k-100k customers)"
sh tests/bench/bench-store.sh "$BUILD" || rc=1
echo "== bench-pull (shadowmilter pull of 30 files x 10k rows from the local test ShadowServer: files/s, peak RSS)"
sh tests/bench/bench-pull.sh "$BUILD" || rc=1
exit $rc
