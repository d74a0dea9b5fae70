#!/bin/sh
# install-postfix - install postfix and swaks for the end-to-end tests, if missing.
#
# Non-interactive; runs 'apt-get update' only when something must be installed;
# uses sudo when not root. debconf is preseeded with "No configuration" so the
# package does not write a system main.cf nor start a system mail server: the
# tests run their own private instance (see postfix-lib.sh).
set -e
PKGS="postfix swaks"
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "installing e2e dependencies:$missing"
SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
echo "postfix postfix/main_mailer_type select No configuration" | $SUDO debconf-set-selections
$SUDO apt-get update -qq
# swaks needs only perl and Net::SMTP (perl-modules); TLS modules are not needed on loopback
$SUDO apt-get install -y -qq --no-install-recommends \
	-o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold $missing >/dev/null
