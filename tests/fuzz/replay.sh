#!/bin/sh
# replay.sh - the fuzz targets in make check: each target, built by the
# ordinary compiler with replay.c instead of libFuzzer, runs once over
# every file of its seed corpus (tests/fuzz/corpus/TARGET/) and every
# reproducer of a past finding (tests/fuzz/regress/TARGET/). One TAP line
# per file; under the sanitizer build in CI a leak or a bad access fails.
#
# TOP_SRCDIR is the source tree (make check sets it); the replay-TARGET
# programs are looked for in tests/fuzz/ under the current directory (the
# build tree), or in FUZZ_REPLAY_DIR.

top=${TOP_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
bin=${FUZZ_REPLAY_DIR:-tests/fuzz}
targets="frame entry rsx path sync"
LC_ALL=C
export LC_ALL

total=0
for t in $targets; do
	for f in "$top/tests/fuzz/corpus/$t"/* "$top/tests/fuzz/regress/$t"/*; do
		[ -f "$f" ] && total=$((total + 1))
	done
done
echo "1..$total"

n=0
failed=0
for t in $targets; do
	for f in "$top/tests/fuzz/corpus/$t"/* "$top/tests/fuzz/regress/$t"/*; do
		[ -f "$f" ] || continue
		n=$((n + 1))
		name="$t ${f#"$top/tests/fuzz/"}"
		if out=$("$bin/replay-$t" "$f" 2>&1); then
			echo "ok $n - $name"
		else
			failed=$((failed + 1))
			echo "not ok $n - $name"
			printf '%s\n' "$out" | tail -n 40 | sed 's/^/# /'
		fi
	done
done
[ "$failed" -eq 0 ]
