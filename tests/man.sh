#!/bin/sh
# SPDX-License-Identifier: ISC
# The man page is well-formed and in step with the program: every command
# and every long option that --help lists is documented.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"
page="$top_builddir/man/replywatch.1"
[ -r "$page" ] || skip "$page is not built"
command -v mandoc >/dev/null || skip "mandoc is needed to check the man page"

check "mandoc -Tlint reports nothing" sh -c \
	'out=$(mandoc -Tlint -W warning "$0" 2>&1); [ -z "$out" ] || { echo "$out"; false; }' "$page"
mandoc -Tascii "$page" | col -b >"$TMP/page.txt"
for c in $("$RW" --help | awk '/^Commands:/ { on = 1; next } on && NF { print $1 } !NF { on = 0 }'); do
	check "command $c is documented" grep -q "^     $c" "$TMP/page.txt"
	for o in $("$RW" "$c" --help | grep -o -- '--[a-z][a-z-]*' | sort -u); do
		check "$c $o is documented" grep -q -- "$o" "$TMP/page.txt"
	done
done
finish
