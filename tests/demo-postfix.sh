#!/bin/sh
# demo-postfix.sh SHADOWMILTER - the main job, for real: a private Postfix on
# loopback with shadowmilter in smtpd_milters; the bundled Shadowserver report
# is sent by SMTP; the delivery worker hands the notices back to Postfix; we
# print what arrived in each customer's Maildir and in the ops mailbox, then
# stop everything we started. Needs root for Postfix (else: make demo-replay).
SM="$(cd "$(dirname "${1:-build/shadowmilter}")" && pwd)/$(basename "${1:-build/shadowmilter}")"
E2E="$(pwd)/tests/e2e"
if [ "$(id -u)" != 0 ]; then
	echo "make demo starts a private Postfix, which needs root; running the offline replay demo instead."
	exec sh tests/demo.sh "$SM"
fi
sh "$E2E/install-postfix.sh" || exit 1
. "$E2E/postfix-lib.sh"
. "$(pwd)/tests/ready.sh"
T=$(mktemp -d /tmp/sm-demo.XXXXXX)
chmod 755 "$T"
mkdir -p "$T/state" && chmod 777 "$T/state"
MILTER_PID=""
cleanup() {
	[ -n "$MILTER_PID" ] && kill "$MILTER_PID" 2>/dev/null
	pf_stop >/dev/null 2>&1
	rm -rf "$T"
}
trap cleanup EXIT INT TERM HUP PIPE

PF_MILTERS="unix:$T/milter.sock"
PF_NON_SMTPD_MILTERS=""
PF_MAIN_EXTRA="milter_default_action = tempfail"
pf_setup "$T/pf" abuse@example.net ops@acme.example bob@bob.example alerts@bob.example \
    carol@carol.example dave@dave.example >/dev/null || exit 1
sed -e "s|^CustomerMap .*|CustomerMap         $(pwd)/conf/customers.csv|" conf/shadowmilter.conf >"$T/shadowmilter.conf"
# ShadowServer signs its reports (DKIM, d=shadowserver.org) and shadowmilter
# checks that signature itself: the bundled reports are signed here with a
# throwaway demo key, whose public half stands in for DNS (TestPublicKeys)
for f in demo-portmapper demo-portmapper-later; do
	"$(dirname "$SM")/dkimsign" -k tests/fixtures/dkim/test.private <tests/fixtures/$f.eml >"$T/$f.eml" || exit 1
done
cat >>"$T/shadowmilter.conf" <<EOC
TestPublicKeys      $(pwd)/tests/fixtures/dkim/keys
Socket              unix:$T/milter.sock
SocketMode          0666
UserID              nobody:nogroup
OutboxDB            $T/state/outbox.db
StateDB             $T/state/history.db
Transport           smtp:127.0.0.1:$PF_INJECT_PORT
DeliverInterval     1
EOC
sm_start "$T/milter.log" "$T/shadowmilter.conf"
rc=$?
MILTER_PID=$SM_PID
[ $rc -eq 0 ] || { echo "shadowmilter did not start:"; cat "$T/milter.log"; exit 1; }
pf_start >/dev/null || { pf_log | tail; exit 1; }

echo "== A private Postfix listens on 127.0.0.1:$PF_PORT with shadowmilter in smtpd_milters."
echo "== Sending tests/fixtures/demo-portmapper.eml, DKIM-signed with the demo key, from"
echo "== autoreports@shadowserver.org to abuse@example.net"
perl "$E2E/slow-smtp.pl" "$PF_PORT" autoreports@shadowserver.org abuse@example.net \
    "$T/demo-portmapper.eml" "$T/no-pause" | sed 's/^/   SMTP reply to the message: /'
for a in ops@acme.example bob@bob.example alerts@bob.example carol@carol.example dave@dave.example abuse@example.net; do
	pf_wait_delivered "$(pf_maildir "$a")" 1 20 2>/dev/null
done
echo
for a in ops@acme.example bob@bob.example alerts@bob.example carol@carol.example dave@dave.example; do
	for f in "$(pf_maildir "$a")"/new/*; do
		echo "================ Maildir of $a: $(basename "$f")"
		cat "$f"
	done
done
echo "================ The original report in the ops mailbox (abuse@example.net), headers:"
awk '/^$/ {exit} /^[ \t]/ {line = line $0; next} {if (line != "") print line; line = $0} END {print line}' "$(pf_maildir abuse@example.net)"/new/* | grep -E '^(Subject|X-Shadowmilter-[A-Za-z]*|From|To):'

echo
echo "== Two weeks later: tests/fixtures/demo-portmapper-later.eml, the report of 2026-12-08."
echo "== With StateDB each notice says when a host was first detected and by when it must be"
echo "== fixed; the hosts no longer reported are resolved (NotifyResolved confirms it)."
perl "$E2E/slow-smtp.pl" "$PF_PORT" autoreports@shadowserver.org abuse@example.net \
    "$T/demo-portmapper-later.eml" "$T/no-pause" | sed 's/^/   SMTP reply to the message: /'
for a in ops@acme.example bob@bob.example carol@carol.example dave@dave.example abuse@example.net; do
	pf_wait_delivered "$(pf_maildir "$a")" 2 20 2>/dev/null
done
echo "================ Maildir of ops@acme.example: the notice for the later report"
cat "$(grep -l 'detected at 2026-12-08' "$(pf_maildir ops@acme.example)"/new/*)"
for a in carol@carol.example bob@bob.example dave@dave.example; do
	for f in "$(pf_maildir "$a")"/new/*; do
		echo "================ Maildir of $a: $(basename "$f"), subject and findings"
		awk '/^Subject:/ {s = 1; print; next} s && /^[ \t]/ {print; next} {s = 0}
		    / detected at | first detected [0-9]/ {print}' "$f"
	done
done
echo
echo "== shadowmilter overdue --now '2026-12-20 09:00:00' (who is past the deadline by then):"
"$SM" overdue -c "$T/shadowmilter.conf" --now "2026-12-20 09:00:00"
echo
echo "== shadowmilter status:"
"$SM" status -c "$T/shadowmilter.conf"
echo
echo "== shadowmilter's log:"
cat "$T/milter.log"
echo "== Stopping Postfix and shadowmilter."
