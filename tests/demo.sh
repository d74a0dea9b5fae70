#!/bin/sh
# demo.sh SHADOWMILTER - replay the bundled ShadowServer portmapper report
# through the demo config and print what each customer would receive.
SM=${1:-build/shadowmilter}
echo "Replaying tests/fixtures/demo-portmapper.eml with conf/shadowmilter.conf"
echo "(customers: conf/customers.csv; dry run: nothing is sent)"
echo
exec "$SM" replay -c conf/shadowmilter.conf tests/fixtures/demo-portmapper.eml
