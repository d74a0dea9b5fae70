#!/bin/sh
# run.sh BUILD - every benchmark; each prints its own figures.
BUILD=${1:-build}
rc=0
for b in "$BUILD"/bench/*; do
	[ -x "$b" ] || continue
	echo "== $(basename "$b")"
	"$b" || rc=1
done
exit $rc
