#!/bin/sh
# stock-debian-root.sh DIR DEB - a minimal Debian 12 root in DIR/root for the
# stock-Debian suite (test-stock-debian.sh): mmdebstrap's minbase variant from
# the machine's own apt sources (the only network the tests may use is
# Debian's mirror), with Debian's postfix as packaged and the libraries the
# package DEB depends on, so "apt-get install ./DEB" needs no network later.
# Cached: DIR/root.pkgs records what the root was made with; a root made with
# the same packages is reused. Prints the reason and exits 1 when no root
# can be made (no mmdebstrap, no mirror).
set -u
DIR=$1 DEB=$2
ROOT=$DIR/root
# the package's dependencies by name (versions come from the same mirror);
# systemd as on any stock Debian 12 (its units for systemd-analyze verify; it
# does not run in the suite's namespace)
deps=$(dpkg-deb -f "$DEB" Depends | tr ',' '\n' | sed 's/[(|].*//; s/[[:space:]]//g' | grep -v '^\$' | sort -u)
pkgs=$(printf '%s\n' postfix systemd $deps | sort -u | tr '\n' ',' | sed 's/,$//')
if [ -d "$ROOT" ] && [ "$(cat "$DIR/root.pkgs" 2>/dev/null)" = "$pkgs" ]; then
	exit 0
fi
command -v mmdebstrap >/dev/null 2>&1 || { echo "mmdebstrap is not installed (tests/install-deps.sh)"; exit 1; }
# the machine's configured Debian sources, one-line or deb822 files
sources=
for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
	[ -f "$f" ] && grep -qE '^[^#]*(deb\.debian\.org|/debian)' "$f" && sources="$sources $f"
done
[ -n "$sources" ] || { echo "no Debian apt source in /etc/apt/sources.list*"; exit 1; }
rm -rf "$ROOT" "$ROOT.new" "$DIR/root.pkgs"
mkdir -p "$DIR"
# postfix's debconf questions get their defaults (Internet Site), as with
# DEBIAN_FRONTEND=noninteractive on a real machine
if ! mmdebstrap --mode=root --variant=minbase --include="$pkgs" bookworm "$ROOT.new" $sources \
    >"$DIR/mmdebstrap.log" 2>&1; then
	echo "mmdebstrap failed (no mirror?): $(tail -n 1 "$DIR/mmdebstrap.log")"
	rm -rf "$ROOT.new"
	exit 1
fi
mv "$ROOT.new" "$ROOT" && echo "$pkgs" >"$DIR/root.pkgs"
