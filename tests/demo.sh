#!/bin/sh
# demo.sh SHADOWMILTER - replay the bundled ShadowServer portmapper report
# through the demo config and print what each customer would receive; then,
# with a detection history, the same report and one two weeks later: the
# second run's notices say when each host was first detected and by when it
# must be fixed, and the ops commands show who is past the deadline.
SM=${1:-build/shadowmilter}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
echo "Replaying tests/fixtures/demo-portmapper.eml with conf/shadowmilter.conf"
echo "(customers: conf/customers.csv; dry run: nothing is sent)"
echo
"$SM" replay -c conf/shadowmilter.conf tests/fixtures/demo-portmapper.eml || exit 1

echo
echo "======================================================================"
echo "Detection history: the same report, then tests/fixtures/demo-portmapper-later.eml"
echo "(2026-12-08) into a fresh history, as 'replay --state' imports an archive"
echo "======================================================================"
echo
"$SM" replay -c conf/shadowmilter.conf --state "$T/state.db" --out "$T/first" \
    tests/fixtures/demo-portmapper.eml >/dev/null || exit 1
"$SM" replay -c conf/shadowmilter.conf --state "$T/state.db" --now "2026-12-09 06:00:00" \
    tests/fixtures/demo-portmapper-later.eml || exit 1
echo
echo "\$ shadowmilter overdue -c conf/shadowmilter.conf --state STATE --now '2026-12-20 09:00:00'"
"$SM" overdue -c conf/shadowmilter.conf --state "$T/state.db" --now "2026-12-20 09:00:00" || exit 1
echo
echo "\$ shadowmilter history -c conf/shadowmilter.conf --state STATE acme"
"$SM" history -c conf/shadowmilter.conf --state "$T/state.db" acme || exit 1
echo
echo "\$ shadowmilter status -c conf/shadowmilter.conf --state STATE --now '2026-12-09 09:00:00'"
"$SM" status -c conf/shadowmilter.conf --state "$T/state.db" --now "2026-12-09 09:00:00"
exit 0
