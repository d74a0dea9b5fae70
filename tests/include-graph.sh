#!/bin/sh
# include-graph.sh - the #include rules of milter/README.md, read from the
# #include lines of the source:
#   - the include graph of milter/'s modules (a module: foo.c with foo.h) has
#     no cycle, so it runs one way, from the shells down to the leaves;
#   - nothing outside milter/store/ includes store/db.h (the engines are the
#     store's own; tests/test_store.c, the store's tests, may);
#   - nothing outside milter/cmd/ includes a cmd/ header or <libmilter/...>
#     (the library never depends on libmilter; tests/bench/noop_milter.c, the
#     no-op milter the passthrough bench compares with, is one).
# Run from the top of the tree. Ends with "N passed, N failed".
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
passed=0 failed=0
ok()   { passed=$((passed + 1)); echo "ok   $1"; }
fail() { failed=$((failed + 1)); echo "FAIL $1"; }

# every #include of the tree: "FILE HEADER", <...> kept as <...>
find milter tests -name '*.[ch]' | sort | xargs awk '
	/^[ \t]*#[ \t]*include[ \t]*[<"]/ {
		h = $0
		sub(/^[ \t]*#[ \t]*include[ \t]*/, "", h)
		if (h ~ /^"/) { sub(/^"/, "", h); sub(/".*/, "", h) } else sub(/>.*/, ">", h)
		print FILENAME, h
	}' >"$T/includes"
[ -s "$T/includes" ] || { fail "no #include line found (run from the top of the tree)"; echo "$passed passed, $failed failed"; exit 1; }

# module -> module edges inside milter/ ("cmd/milter.c includes cmd/daemon.h": cmd/milter -> cmd/daemon)
awk '$1 ~ /^milter\// && $2 !~ /^</ {
	from = $1; sub(/^milter\//, "", from); sub(/\.[ch]$/, "", from)
	to = $2; sub(/\.h$/, "", to)
	if (from != to) print from, to
}' "$T/includes" | sort -u >"$T/edges"
if tsort "$T/edges" >/dev/null 2>"$T/loops"; then
	ok "the include graph of milter/ has no cycle ($(wc -l <"$T/edges") module edges)"
else
	fail "the include graph of milter/ has a cycle:"
	sed 's/^/    /' "$T/loops"
fi

# who_includes PATTERN EXCEPT - the "FILE HEADER" lines whose header matches PATTERN and file not EXCEPT
who_includes() {
	awk -v pat="$1" -v except="$2" '$2 ~ pat && $1 !~ except' "$T/includes"
}
who_includes '^store/db\.h$' '^(milter/store/|tests/test_store\.c$)' >"$T/db"
if [ -s "$T/db" ]; then
	fail "store/db.h is included outside milter/store/:"
	sed 's/^/    /' "$T/db"
else
	ok "nothing outside milter/store/ includes store/db.h"
fi
who_includes '^(cmd\/|<libmilter\/)' '^(milter/cmd/|tests/bench/noop_milter\.c$)' >"$T/cmd"
if [ -s "$T/cmd" ]; then
	fail "a cmd/ header or libmilter is included outside milter/cmd/:"
	sed 's/^/    /' "$T/cmd"
else
	ok "nothing outside milter/cmd/ includes a cmd/ header or <libmilter/...>"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
