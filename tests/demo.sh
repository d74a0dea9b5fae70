#!/bin/sh
# demo.sh SHADOWMILTER - replay the bundled ShadowServer portmapper report
# through the demo config and print what each customer would receive; then,
# with a detection history, the same report and one two weeks later: the
# second run's notices say when each host was first detected and by when it
# must be fixed, and the ops commands show who is past the deadline.
SM=${1:-build/shadowmilter}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
# ShadowServer signs its reports (DKIM, d=shadowserver.org) and shadowmilter
# checks that signature itself. The bundled reports are signed here with a
# throwaway demo key (tests/fixtures/dkim/), whose public half stands in for
# DNS through TestPublicKeys.
for f in demo-portmapper demo-portmapper-later; do
	"$(dirname "$SM")/dkimsign" -k tests/fixtures/dkim/test.private <tests/fixtures/$f.eml >"$T/$f.eml" || exit 1
done
{ sed "s|^CustomerMap .*|CustomerMap $(pwd)/conf/customers.csv|" conf/shadowmilter.conf
  echo "TestPublicKeys $(pwd)/tests/fixtures/dkim/keys"; } >"$T/shadowmilter.conf"
CONF=$T/shadowmilter.conf
echo "Replaying tests/fixtures/demo-portmapper.eml, DKIM-signed with the demo key, with"
echo "conf/shadowmilter.conf + TestPublicKeys tests/fixtures/dkim/keys"
echo "(customers: conf/customers.csv; dry run: nothing is sent)"
echo
"$SM" replay -c "$CONF" "$T/demo-portmapper.eml" || exit 1

echo
echo "======================================================================"
echo "Detection history: the same report, then tests/fixtures/demo-portmapper-later.eml"
echo "(2026-12-08) into a fresh history, as 'replay --state' imports an archive"
echo "======================================================================"
echo
"$SM" replay -c "$CONF" --state "$T/state.db" --out "$T/first" \
    "$T/demo-portmapper.eml" >/dev/null || exit 1
"$SM" replay -c "$CONF" --state "$T/state.db" --now "2026-12-09 06:00:00" \
    "$T/demo-portmapper-later.eml" || exit 1
echo
echo "\$ shadowmilter overdue -c conf/shadowmilter.conf --state STATE --now '2026-12-20 09:00:00'"
"$SM" overdue -c "$CONF" --state "$T/state.db" --now "2026-12-20 09:00:00" || exit 1
echo
echo "\$ shadowmilter history -c conf/shadowmilter.conf --state STATE acme"
"$SM" history -c "$CONF" --state "$T/state.db" acme || exit 1
echo
echo "\$ shadowmilter status -c conf/shadowmilter.conf --state STATE --now '2026-12-09 09:00:00'"
"$SM" status -c "$CONF" --state "$T/state.db" --now "2026-12-09 09:00:00"
exit 0
