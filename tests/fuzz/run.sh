#!/bin/sh
# run.sh - run one libFuzzer target for a while (make fuzz does this for
# each target after building it with clang).
#
#   run.sh NAME FUZZER CORPUS REGRESS WORKDIR SECONDS
#
# The fuzzer starts from a scratch copy of CORPUS (the committed seeds stay
# as they are), first runs every reproducer in REGRESS, then mutates for
# SECONDS. Its log is WORKDIR/NAME.log; a crash, leak, timeout or broken
# invariant leaves the input as WORKDIR/NAME-crash-* (or -leak-, -timeout-)
# and makes this script fail. On success it prints one line with the
# number of executions.

set -u
name=$1 fuzzer=$2 corpus=$3 regress=$4 work=$5 seconds=$6

# The longest input worth trying: past the bounds each target checks
# (MAX_PATH_LEN in a path or an ENTRY, a signature of 256 blocks), small
# enough to keep an execution short.
case $name in
path) max_len=9000 ;;
entry) max_len=8192 ;;
rsx) max_len=16384 ;;
*) max_len=4096 ;;
esac

scratch=$work/corpus-$name
log=$work/$name.log
rm -rf "$scratch" "$work/$name"-*	# and the findings of an earlier run
mkdir -p "$scratch"
cp "$corpus"/* "$scratch"/
set -- "$scratch"
[ -d "$regress" ] && set -- "$scratch" "$regress"

start=$(date +%s)
"$fuzzer" "$@" -max_total_time="$seconds" -max_len="$max_len" -timeout=10 \
	-print_final_stats=1 -artifact_prefix="$work/$name-" >"$log" 2>&1
status=$?
took=$(($(date +%s) - start))
execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
if [ "$status" -ne 0 ]; then
	echo "fuzz_$name: FAILED (exit $status) after ${execs:-?} executions; the end of $log:"
	tail -n 40 "$log"
	ls "$work/$name"-* 2>/dev/null | sed 's/^/reproducer: /'
	exit 1
fi
echo "fuzz_$name: ${execs:-?} executions in ${took} s, $(ls "$scratch" | wc -l) inputs in its corpus, no finding"
