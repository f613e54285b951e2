#!/bin/sh
# SPDX-License-Identifier: ISC
# The exposition the metrics writer produces passes `promtool check
# metrics` (Debian package prometheus) without a word: a sample with every
# kind of family, labels to escape and special values, printed by
# `check-metrics --sample` (tests/check-metrics.c serves the same sample
# over HTTP and compares it byte for byte).
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"
CM="$top_builddir/tests/check-metrics"
command -v promtool >/dev/null || skip "promtool is needed (apt-get install prometheus)"
[ -x "$CM" ] || skip "tests/check-metrics is not built (configured --without-check?)"

"$CM" --sample >"$TMP/sample.prom" || { echo "FAIL: check-metrics --sample"; exit 1; }

# every kind of family is there
for type in counter gauge histogram; do
	check "a $type family in the sample" \
	    grep -q "^# TYPE [a-z_]* $type\$" "$TMP/sample.prom"
done
check "escaped label values in the sample" \
	grep -q 'account="we\\"ird\\\\ \\n' "$TMP/sample.prom"

# promtool finds nothing to say
if promtool check metrics <"$TMP/sample.prom" >"$TMP/out" 2>&1; then
	if [ -s "$TMP/out" ]; then
		fail "promtool check metrics has remarks:"
		sed 's/^/  /' "$TMP/out"
	else
		pass
	fi
else
	fail "promtool check metrics refuses the sample:"
	sed 's/^/  /' "$TMP/out"
fi

# and it would say something about a bad one (the check is not empty)
printf '# HELP polls Polls.\n# TYPE polls counter\npolls 1\n' |
	promtool check metrics >"$TMP/bad" 2>&1 || true
check "promtool remarks on a counter without _total" \
	grep -q '_total' "$TMP/bad"

echo "metrics-format: $PASSES passed, $FAILS failed"
[ "$FAILS" -eq 0 ]
