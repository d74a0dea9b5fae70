#!/bin/sh
# install-deps - install the Debian packages shadowmilter builds and tests with, if missing.
# Runs apt-get only when something is missing; uses sudo when not root.
# libwrap0: a library the Sendmail suite's unpacked sendmail-bin links (Sendmail
# itself conflicts with postfix, so the suite fetches and unpacks it itself).
# python3: the suites' report helper (tests/e2e/report-as-file.py); openssl: test CAs.
# debhelper, dpkg-dev, fakeroot, lintian: make deb; mmdebstrap: the stock-Debian
# suite's Debian 12 root; systemd: systemd-analyze verify of the unit; iproute2:
# loopback up in the suite's private network namespace.
set -e
PKGS="build-essential pkg-config libmilter-dev libcsv-dev libpcre2-dev libarchive-dev
      libsqlite3-dev libcurl4-openssl-dev libssl-dev libpq-dev libopendkim-dev libjansson-dev zip miltertest procps
      postgresql opendkim opendkim-tools m4 clang libclang-rt-14-dev libwrap0 python3 openssl
      debhelper dpkg-dev fakeroot lintian mmdebstrap systemd iproute2"
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing="$missing $p"
done
# Postfix and swaks for the end-to-end tests, installed without configuring a system mail server
sh "$(dirname "$0")/e2e/install-postfix.sh"
[ -z "$missing" ] && exit 0
echo "installing build dependencies:$missing"
SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends $missing
