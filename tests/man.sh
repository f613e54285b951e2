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

# replywatchd(8): well-formed, every option of --help documented
dpage="$top_builddir/man/replywatchd.8"
check "replywatchd(8): mandoc -Tlint reports nothing" sh -c \
	'out=$(mandoc -Tlint -W warning "$0" 2>&1); [ -z "$out" ] || { echo "$out"; false; }' "$dpage"
mandoc -Tascii "$dpage" | col -b >"$TMP/dpage.txt"
for o in $("$top_builddir/replywatchd" --help | grep -o -- '--[a-z][a-z-]*' | sort -u); do
	check "replywatchd $o is documented" grep -q -- "$o" "$TMP/dpage.txt"
done
# replywatch.conf(5): well-formed, every key of the example documented
cpage="$top_builddir/man/replywatch.conf.5"
check "replywatch.conf(5): mandoc -Tlint reports nothing" sh -c \
	'out=$(mandoc -Tlint -W warning "$0" 2>&1); [ -z "$out" ] || { echo "$out"; false; }' "$cpage"
mandoc -Tascii "$cpage" | col -b >"$TMP/cpage.txt"
for k in $(sed -n 's/^#\{0,1\}\([a-z_]*\) = .*/\1/p' "$top_srcdir/etc/replywatch.conf.example" | sort -u); do
	check "key $k is in replywatch.conf(5)" grep -q "^     $k " "$TMP/cpage.txt"
done
for c in mastodon bluesky x facebook instagram linkedin exec; do
	check "connector $c is documented" grep -q "^   $c" "$TMP/dpage.txt"
done
finish
