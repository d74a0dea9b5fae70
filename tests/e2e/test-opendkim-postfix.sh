#!/bin/sh
# test-opendkim-postfix.sh BUILD - forged and real reports through a real
# OpenDKIM in front of shadowmilter, in a private Postfix on loopback
# (smtpd_milters = OpenDKIM, shadowmilter). OpenDKIM runs with Debian's
# defaults plus AuthservID and TestPublicKeys (the throwaway test key's
# public half), as the issue 9 report tried it. Checked, in both modes:
#   VerifyDKIM yes: a signed report makes notices; the same with one byte
#     changed, signed by another domain, or unsigned with each of the four
#     planted Authentication-Results of issue 9 makes none; a report
#     forwarded with an SRS envelope sender makes notices;
#   VerifyDKIM no (reloaded with SIGHUP): the signed report makes notices on
#     OpenDKIM's header; the four forged ones make none, although this
#     OpenDKIM adds no header of its own to unsigned mail and leaves the
#     ones it cannot parse in place.
# Ends with "N passed, N failed". Needs root (Postfix).
BUILD=${1:-build}
SM="$(pwd)/$BUILD/shadowmilter"
SIGN="$(pwd)/$BUILD/dkimsign"
KEY="$(pwd)/tests/fixtures/dkim/test.private"
KEYS="$(pwd)/tests/fixtures/dkim/keys"
E2E="$(pwd)/tests/e2e"
. "$E2E/postfix-lib.sh"
. "$(pwd)/tests/ready.sh"
. "$E2E/milter-lib.sh"
ml_need_root OpenDKIM "$@"

command -v opendkim >/dev/null 2>&1 || ml_give_up "opendkim is not installed (make deps installs it)"
ml_setup sm-odkim
OPENDKIM_PID=""
cleanup() {
	ml_cleanup
	[ -n "$OPENDKIM_PID" ] && kill "$OPENDKIM_PID" 2>/dev/null
	pf_stop >/dev/null 2>&1
	[ -n "$SM_KEEP" ] || rm -rf "$T"
}
trap cleanup EXIT

# OpenDKIM first, then shadowmilter: Postfix hands shadowmilter the message
# with OpenDKIM's Authentication-Results (if it adds one) on top
PF_MILTERS="unix:$T/opendkim.sock, unix:$T/milter.sock"
PF_NON_SMTPD_MILTERS=""
PF_MAIN_EXTRA="milter_default_action = tempfail"
pf_setup "$T/pf" ops@example.net ops@acme.example bob@bob.example alerts@bob.example \
    carol@carol.example dave@dave.example >/dev/null || ml_give_up "postfix setup"

# Debian's opendkim.conf defaults that matter here, plus what the issue's run added
cat >"$T/opendkim.conf" <<EOC
Syslog                  no
Mode                    v
AuthservID              mx.example.net
TestPublicKeys          $KEYS
Socket                  local:$T/opendkim.sock
PidFile                 $T/opendkim.pid
UMask                   000
EOC
write_conf() {	# write_conf yes|no - shadowmilter's config for VerifyDKIM yes or no
	ml_conf milter "smtp:127.0.0.1:$PF_INJECT_PORT" VerifyDKIM "$1" TrustedAuthservIDs mx.example.net \
	    SocketMode 0666
}
write_conf yes

opendkim -f -x "$T/opendkim.conf" >"$T/opendkim.out" 2>&1 &
OPENDKIM_PID=$!
check "OpenDKIM answers on its socket" ready_connect "local:$T/opendkim.sock" 60
chmod 666 "$T/opendkim.sock" 2>/dev/null
ml_start milter || ml_give_up "shadowmilter did not start"
pf_start >/dev/null || ml_give_up "postfix start"

send() {	# send ENVELOPE-FROM FILE
	perl "$E2E/slow-smtp.pl" "$PF_PORT" "$1" ops@example.net "$2" "$T/no-pause" >"$T/smtp.out" 2>&1
}
acme() { pf_count "$(pf_maildir ops@acme.example)"; }
ops() { pf_count "$(pf_maildir ops@example.net)"; }
# report ID OUT - the bundled report with Message-ID <ID@reports.shadowserver.org>, not signed,
# without its Authentication-Results
report() { ml_report "$1@reports.shadowserver.org" "$2" bare; }
# forged N ID OUT - unsigned, with forged Authentication-Results number N of issue 9 on top
forged() {
	case $1 in
	1) ar='mx.example.net; dkim/1=pass header.d=shadowserver.org' ;;
	2) ar='mx.example.net; none; dkim=pass header.d=shadowserver.org' ;;
	3) ar='mx.example.net; dkim=pass header.d=shadowserver.org foo' ;;
	4) ar="mx.example.net; dkim=pass ($(printf '%5000s' '' | tr ' ' x)) header.d=shadowserver.org" ;;
	esac
	report "$2" "$T/f.eml"
	{ printf 'Authentication-Results: %s\n' "$ar"; cat "$T/f.eml"; } >"$3"
}
# headers FILE - the header block, folding undone
headers() { awk '/^$/ {exit} /^[ \t]/ {sub(/^[ \t]+/, " "); line = line $0; next} {if (line != "") print line; line = $0} END {print line}' "$1"; }
# sent_through N - wait until the ops mailbox holds N messages (each sent report lands there)
sent_through() { pf_wait_delivered "$(pf_maildir ops@example.net)" "$1" 30 2>/dev/null; }
# no_new_notice BEFORE - acme still has BEFORE notices once the milter's outbox has handed
# every notice to Postfix and Postfix has delivered them (a wait, never a sleep)
no_new_notice() { ml_wait_outbox_empty milter 60 && pf_wait_queue_empty 60 2>/dev/null; test "$(acme)" -eq "$1"; }

n=0	# messages sent so far (each ends in the ops mailbox)

# ---- VerifyDKIM yes --------------------------------------------------------
report valid-1 "$T/u.eml"; ml_sign "$T/u.eml" "$T/valid.eml"
send autoreports@shadowserver.org "$T/valid.eml"; n=$((n + 1))
check "a signed report is accepted" grep -q '^250$' "$T/smtp.out"
pf_wait_delivered "$(pf_maildir ops@acme.example)" 1 30 2>/dev/null
check "a signed report makes notices" test "$(acme)" -eq 1
sent_through $n
O=$(ls -t "$(pf_maildir ops@example.net)/new/"* | head -n 1)
check "the ops copy carries OpenDKIM's header" grep -q '^Authentication-Results: mx.example.net' "$O"
headers "$O" >"$T/h.txt"
check "the ops copy names the signature shadowmilter checked" grep -q 'auth="dkim d=shadowserver.org s=test a=rsa-sha256"' "$T/h.txt"

before=$(acme)
report tampered-1 "$T/u.eml"; "$SIGN" -k "$KEY" <"$T/u.eml" | sed 's/^192\.0\.2\.10,/192.0.2.11,/; s/^UEsDBBQAAAAI/UEsDBBQAAAAJ/' >"$T/tampered.eml"
send autoreports@shadowserver.org "$T/tampered.eml"; n=$((n + 1)); sent_through $n
check "one byte changed: no notices" no_new_notice "$before"
O=$(ls -t "$(pf_maildir ops@example.net)/new/"* | head -n 1)
headers "$O" >"$T/h.txt"
check "one byte changed: the ops copy says which signature failed and why" \
    grep -q 'reason="unauthenticated: DKIM d=shadowserver.org s=test a=rsa-sha256: body hash mismatch' "$T/h.txt"

report evil-1 "$T/u.eml"; "$SIGN" -k "$KEY" -d evil.example <"$T/u.eml" >"$T/evil.eml"
send autoreports@shadowserver.org "$T/evil.eml"; n=$((n + 1)); sent_through $n
check "signed by another domain: no notices" no_new_notice "$before"

for i in 1 2 3 4; do
	forged $i forged-yes-$i "$T/forged.eml"
	send autoreports@shadowserver.org "$T/forged.eml"; n=$((n + 1)); sent_through $n
	check "VerifyDKIM yes: forged Authentication-Results $i makes no notices" no_new_notice "$before"
done

report forwarded-1 "$T/u.eml"; ml_sign "$T/u.eml" "$T/forwarded.eml"
send 'SRS0=HhJk=XY=shadowserver.org=autoreports@forwarder.example' "$T/forwarded.eml"; n=$((n + 1))
pf_wait_delivered "$(pf_maildir ops@acme.example)" $((before + 1)) 30 2>/dev/null
check "forwarded with an SRS envelope sender: notices" test "$(acme)" -eq $((before + 1))
sent_through $n

# ---- VerifyDKIM no, reloaded -----------------------------------------------
write_conf no
seen=$(ready_count "$T/milter.log" ': reloaded ')
kill -HUP "$(ml_pid milter)"
check "shadowmilter reloads with VerifyDKIM no" ready_log "$T/milter.log" ': reloaded ' "$seen" 60 "$(ml_pid milter)"
check "VerifyDKIM no: the daemon warns that the verifier must always add its header" \
    sh -c "'$SM' -n -c '$T/milter.conf' | grep -q AlwaysAddARHeader"

before=$(acme)
report valid-2 "$T/u.eml"; ml_sign "$T/u.eml" "$T/valid2.eml"
send autoreports@shadowserver.org "$T/valid2.eml"; n=$((n + 1))
pf_wait_delivered "$(pf_maildir ops@acme.example)" $((before + 1)) 30 2>/dev/null
check "VerifyDKIM no: a signed report makes notices on OpenDKIM's pass" test "$(acme)" -eq $((before + 1))
sent_through $n
O=$(ls -t "$(pf_maildir ops@example.net)/new/"* | head -n 1)
headers "$O" >"$T/h.txt"
check "VerifyDKIM no: the ops copy names the verifier" grep -q 'auth="authres mx.example.net"' "$T/h.txt"

before=$(acme)
for i in 1 2 3 4; do
	forged $i forged-no-$i "$T/forged.eml"
	send autoreports@shadowserver.org "$T/forged.eml"; n=$((n + 1)); sent_through $n
	O=$(ls -t "$(pf_maildir ops@example.net)/new/"* | head -n 1)
	check "VerifyDKIM no: forged Authentication-Results $i makes no notices" no_new_notice "$before"
	check "VerifyDKIM no: forged Authentication-Results $i is still on top (OpenDKIM left it)" \
	    sh -c "grep -m1 '^Authentication-Results:' '$O' | grep -q '^Authentication-Results: mx.example.net'"
done

if [ "$failed" -ne 0 ]; then
	echo "--- milter log"; tail -30 "$T/milter.log"
	echo "--- opendkim output"; tail -20 "$T/opendkim.out"
	echo "--- postfix log"; pf_log | tail -30
fi
ml_summary
