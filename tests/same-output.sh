#!/bin/sh
# same-output.sh OLD_BUILD NEW_BUILD - the outputs a refactoring must keep
# byte-identical: "replay --json" and "replay" (the notices' text) of the
# bundled reports and of the reference mails in ../shared (when present), and
# "preview --all", from two builds of shadowmilter side by side. Prints each
# difference and ends with "N passed, N failed" (one line per output compared).
#
#   git worktree add /tmp/before <commit> && make -C /tmp/before all build/dkimsign
#   sh tests/same-output.sh /tmp/before/build build
OLD=${1:?usage: same-output.sh OLD_BUILD NEW_BUILD}
NEW=${2:?usage: same-output.sh OLD_BUILD NEW_BUILD}
REF=${SM_REFERENCE:-../shared/reference/shadowserver}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
passed=0 failed=0 skipped=0
NOW="2026-12-09 06:00:00"

# each build reads the templates of its own tree (the build directory's
# parent), so a change of the templates is compared too
for side in OLD NEW; do
	eval "dir=\$$side"
	{ sed "s|^CustomerMap .*|CustomerMap $(pwd)/conf/customers.csv|" conf/shadowmilter.conf
	  echo "TestPublicKeys $(pwd)/tests/fixtures/dkim/keys"
	  echo "TemplateDir $(cd "$dir/.." && pwd)/templates"; } >"$T/$side.conf"
	eval "${side}_TREE=$(cd "$dir/.." && pwd)"
done
for f in demo-portmapper demo-portmapper-later; do
	"$NEW/dkimsign" -k tests/fixtures/dkim/test.private <tests/fixtures/$f.eml >"$T/$f.eml" || exit 1
done
set -- "$T/demo-portmapper.eml" "$T/demo-portmapper-later.eml"
if [ -d "$REF/eml" ]; then
	for m in "$REF"/eml/*.eml; do set -- "$@" "$m"; done
else
	echo "SKIP the reference mails ($REF/eml not found)"
	skipped=$((skipped + 1))
fi

run_side() {	# BUILD CONF ARGS... - BUILD's shadowmilter with ARGS, the word CONF replaced by the path CONF
	bin=$1/shadowmilter conf=$2; shift 2
	for a do
		shift
		[ "$a" = CONF ] && a=$conf
		set -- "$@" "$a"
	done
	"$bin" "$@"
}
compare() {	# NAME ARGS... - run both builds with ARGS, compare stdout and exit code
	name=$1; shift
	run_side "$OLD" "$T/OLD.conf" "$@" >"$T/old.out" 2>"$T/old.err"; echo "exit $?" >>"$T/old.out"
	run_side "$NEW" "$T/NEW.conf" "$@" >"$T/new.out" 2>"$T/new.err"; echo "exit $?" >>"$T/new.out"
	# where each tree's templates are is not a difference (preview names them)
	for side in old new; do
		eval "tree=\$$(echo $side | tr a-z A-Z)_TREE"
		sed -i "s|$tree/templates/|TEMPLATES/|g" "$T/$side.out" "$T/$side.err"
	done
	if cmp -s "$T/old.out" "$T/new.out" && cmp -s "$T/old.err" "$T/new.err"; then
		echo "ok   $name"; passed=$((passed + 1))
	else
		echo "FAIL $name differs:"; diff "$T/old.out" "$T/new.out" | head -20
		diff "$T/old.err" "$T/new.err" | head -10
		failed=$((failed + 1))
	fi
}
for m in "$@"; do
	compare "replay --json $(basename "$m")" replay -c CONF --json --now "$NOW" "$m"
	compare "replay $(basename "$m")" replay -c CONF --now "$NOW" "$m"
done
compare "preview --all" preview --all --config CONF --now "$NOW"
compare "preview --all --history" preview --all --history --config CONF --now "$NOW"
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
