# SPDX-License-Identifier: ISC
# Shared helpers of the shell tests. Source it after setting nothing:
# it finds the build and source trees, makes a temporary directory and
# removes it on exit.

set -eu

: "${top_srcdir:=$(cd "$(dirname "$0")/.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
RW="$top_builddir/replywatch"
TEST_NAME=$(basename "$0" .sh)
TMP=$(mktemp -d "${TMPDIR:-/tmp}/rw-$TEST_NAME.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
FAILS=0
PASSES=0

# The shared data sets live beside the project, not in it.
SHARED="${REPLYWATCH_SHARED:-$top_srcdir/../shared}"

skip() {
	echo "SKIP: $*"
	exit 77
}

fail() {
	echo "FAIL: $*"
	FAILS=$((FAILS + 1))
}

pass() {
	PASSES=$((PASSES + 1))
}

# check DESCRIPTION COMMAND...: the command must succeed.
check() {
	desc=$1
	shift
	if "$@"; then pass; else fail "$desc"; fi
}

# expect_status N DESCRIPTION COMMAND...: the command must exit with N.
expect_status() {
	want=$1 desc=$2
	shift 2
	set +e
	"$@"
	got=$?
	set -e
	if [ "$got" = "$want" ]; then pass; else fail "$desc: exit $got, want $want"; fi
}

# contains FILE TEXT: the file contains the text (fixed string).
contains() {
	grep -qF -- "$2" "$1"
}

# wait_until TIMEOUT_SECONDS COMMAND...: poll the condition until it holds.
wait_until() {
	limit=$1
	shift
	deadline=$(($(date +%s) + limit))
	while ! "$@"; do
		if [ "$(date +%s)" -ge "$deadline" ]; then
			return 1
		fi
		sleep 0.05
	done
}

finish() {
	echo "$TEST_NAME: $PASSES passed, $FAILS failed"
	[ "$FAILS" -eq 0 ]
}
