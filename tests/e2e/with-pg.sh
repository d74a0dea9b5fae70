#!/bin/sh
# with-pg.sh CMD ARGS... - run CMD with a fresh private PostgreSQL server
# (tests/e2e/pg-lib.sh): PG_URI and SM_TEST_PG_URI name its database; the
# server and its directory are gone when CMD ends (PG_DIR, PG_SOCKDIR and
# PG_PORT are exported too). Exits with CMD's status.
#   sh tests/e2e/with-pg.sh build/unit
#   sh tests/e2e/with-pg.sh sh -c 'psql "$PG_URI" -c "select 1"'
[ $# -gt 0 ] || { echo "usage: with-pg.sh CMD ARGS..." >&2; exit 2; }
. "$(dirname "$0")/pg-lib.sh"
trap 'pg_stop' EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM
pg_start || exit 1
SM_TEST_PG_URI=$PG_URI
export PG_URI SM_TEST_PG_URI PG_DIR PG_SOCKDIR PG_PORT
"$@"
