# report-lib.sh - made-up ShadowServer report mails and customer maps for tests
#
# POSIX sh (awk, base64 from coreutils); source it:  . tests/e2e/report-lib.sh
#
#   rl_customers MAP FIRST COUNT [DOMAIN]
#       append COUNT accounts to the customer map MAP (written with its header
#       if missing): account cNNNNNN owns the single address rl_ip(N) and
#       gets mail at cNNNNNN@DOMAIN (default cust.example). N = FIRST..FIRST+COUNT-1.
#   rl_ip N        the IPv4 address of account N: 10.x.y.z (N < 16,777,216)
#   rl_account N   the account name of N: c0000042
#   rl_rows FILE FIRST COUNT [DATE]
#       append one portmapper finding per account FIRST..FIRST+COUNT-1 to the
#       rows file FILE ("ip timestamp" lines); DATE defaults to 2026-11-24
#   rl__csv ROWS   the CSV of a portmapper report made from the rows file ROWS
#   rl_link_report OUT MSGID DATE URL
#       a link-only report mail (its text names URL), signed as rl_report's
#   rl_report OUT MSGID DATE NAME=ROWS [NAME=ROWS...]
#       write a report mail to OUT: From autoreports@shadowserver.org,
#       Message-ID <MSGID>, one base64 text/csv attachment per NAME (a file
#       name such as 2026-11-24-scan_portmapper-net1.csv) made from the rows
#       file ROWS; DKIM-signed by the command in RL_SIGN when it is set (e.g.
#       "build/dkimsign -k tests/fixtures/dkim/test.private"), and carrying a
#       DKIM pass from authserv-id mx.example.net in Authentication-Results.
#       The lines end in LF (SMTP clients add the CR).
#
# The config of the milter under test verifies the signature itself
# (VerifyDKIM yes, TestPublicKeys tests/fixtures/dkim/keys), or with
# VerifyDKIM no trusts mx.example.net (TrustedAuthservIDs) - the same as
# tests/fixtures/demo-portmapper.eml.

rl_ip() {
	echo "10.$(($1 / 65536 % 256)).$(($1 / 256 % 256)).$(($1 % 256))"
}

rl_account() {
	printf 'c%07d\n' "$1"
}

rl_customers() {
	[ -s "$1" ] || echo "prefix,account,email" >"$1"
	awk -v first="$2" -v count="$3" -v dom="${4:-cust.example}" 'BEGIN {
		for (n = first; n < first + count; n++)
			printf "10.%d.%d.%d/32,c%07d,c%07d@%s\n", int(n / 65536) % 256, int(n / 256) % 256, n % 256, n, n, dom
	}' >>"$1"
}

rl_rows() {
	awk -v first="$2" -v count="$3" -v date="${4:-2026-11-24}" 'BEGIN {
		for (n = first; n < first + count; n++)
			printf "10.%d.%d.%d %s %02d:%02d:%02d\n", int(n / 65536) % 256, int(n / 256) % 256, n % 256,
			    date, int(n / 3600) % 24, int(n / 60) % 60, n % 60
	}' >>"$1"
}

# rl__csv ROWS - the CSV of a portmapper report (ShadowServer's columns) from a rows file
rl__csv() {
	printf '"timestamp","severity","ip","protocol","port","hostname","tag","asn","geo","region","city","naics","hostname_source","sector","programs"\r\n'
	awk '{ printf "\"%s %s\",medium,%s,udp,111,,portmapper,64500,GB,LONDON,LONDON,518210,,\"Information\",\"100000 4 111/udp;\"\r\n", $2, $3, $1 }' "$1"
}

# rl_link_report OUT MSGID DATE URL - a link-only report mail (the data behind URL,
# as ShadowServer sends it when the attachment is switched off); a multipart
# mail with only its text part, signed like rl_report's
rl_link_report() {
	{
		cat <<EOF
Return-Path: <autoreports@shadowserver.org>
Date: $(LC_ALL=C date -u -d "$3 02:00:00" '+%a, %d %b %Y %H:%M:%S +0000')
From: Shadowserver <autoreports@shadowserver.org>
To: ops@ops.example
Subject: [Example Hosting] Shadowserver Example Hosting Open Portmapper Report: $3
Message-ID: <$2>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="b1_rl"

--b1_rl
Content-Type: text/plain; charset=us-ascii

The report content can be obtained from the following link:
$4
The report is 512 bytes and contains 4 events.

--b1_rl--
EOF
	} >"$1.unsigned"
	if [ -n "${RL_SIGN:-}" ]; then
		$RL_SIGN <"$1.unsigned" >"$1" && rm -f "$1.unsigned"
	else
		mv "$1.unsigned" "$1"
	fi
}

rl_report() {
	_rl_out=$1 _rl_id=$2 _rl_date=$3
	shift 3
	{
		cat <<EOF
Return-Path: <autoreports@shadowserver.org>
Authentication-Results: mx.example.net;
	dkim=pass (2048-bit key) header.d=shadowserver.org header.s=mail header.b=AbCdEf12;
	spf=pass smtp.mailfrom=shadowserver.org
Date: $(LC_ALL=C date -u -d "$_rl_date 02:00:00" '+%a, %d %b %Y %H:%M:%S +0000')
From: Shadowserver <autoreports@shadowserver.org>
To: ops@ops.example
Subject: [Example Hosting] Shadowserver Example Hosting Open Portmapper Report: $_rl_date
Message-ID: <$_rl_id>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="b1_rl"

--b1_rl
Content-Type: text/plain; charset=us-ascii

Report made up by tests/e2e/report-lib.sh.
EOF
		for _rl_f in "$@"; do
			_rl_name=${_rl_f%%=*}
			printf '\n--b1_rl\nContent-Type: text/csv; name="%s"\nContent-Transfer-Encoding: base64\nContent-Disposition: attachment; filename="%s"\n\n' \
				"$_rl_name" "$_rl_name"
			rl__csv "${_rl_f#*=}" | base64 -w 76
		done
		printf '\n--b1_rl--\n'
	} >"$_rl_out.unsigned"
	if [ -n "${RL_SIGN:-}" ]; then
		$RL_SIGN <"$_rl_out.unsigned" >"$_rl_out" && rm -f "$_rl_out.unsigned"
	else
		mv "$_rl_out.unsigned" "$_rl_out"
	fi
}
