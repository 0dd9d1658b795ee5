#!/usr/bin/env bash
# Builds the libFuzzer harnesses of tests/fuzz with clang (ASan + UBSan, see CMakeLists.txt), replays each
# target's committed corpus, then fuzzes each target for a while. Any crash, sanitizer report, leak, timeout or
# out-of-memory fails the script; the input that caused it is left in build-fuzz/artifacts/<target>/.
#
#   scripts/fuzz.sh                       every target, FUZZ_SECONDS (15) each: what CI runs
#   scripts/fuzz.sh -runs=1000000 npy     one target, a fixed number of executions (docs/reliability.md)
#   FUZZ_SECONDS=600 scripts/fuzz.sh      a longer run of every target
#
# Arguments starting with '-' go to libFuzzer (replacing -max_total_time); the others name targets (fuzz-<name>).
# New inputs found are kept in build-fuzz/corpus/<target>/, never in the committed seeds.
set -euo pipefail
cd "$(dirname "$0")/.."
JOBS=${JOBS:-2}
SECONDS_PER_TARGET=${FUZZ_SECONDS:-15}
BUILD=${FUZZ_BUILD:-build-fuzz}

extra=()
targets=()
for a in "$@"; do
  case $a in -*) extra+=("$a") ;; *) targets+=("$a") ;; esac
done
[ "${#extra[@]}" -gt 0 ] || extra=(-max_total_time="$SECONDS_PER_TARGET")
if [ "${#targets[@]}" -eq 0 ]; then
  for d in tests/fuzz/corpus/*/; do targets+=("$(basename "$d")"); done
fi

cmake -S . -B "$BUILD" -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCALIB8_FUZZ=ON >/dev/null
cmake --build "$BUILD" -j"$JOBS" >/dev/null

# Inputs are bounded in the harnesses (allocations above 64 MB fail inside calib8, datasets read at most 64
# samples); these limits catch what still escapes: 2 GB of memory, 10 s for one input.
COMMON=(-rss_limit_mb=2048 -timeout=10 -print_final_stats=1)
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

summary=()
status=0
for t in "${targets[@]}"; do
  bin=$BUILD/tests/fuzz/fuzz-$t
  seeds=tests/fuzz/corpus/$t
  [ -x "$bin" ] || { echo "fuzz: no harness '$bin'" >&2; exit 2; }
  [ -d "$seeds" ] || { echo "fuzz: no corpus '$seeds'" >&2; exit 2; }
  art=$BUILD/artifacts/$t
  work=$BUILD/corpus/$t
  mkdir -p "$art" "$work"
  log=$BUILD/fuzz-$t.log
  max_len=()
  case $t in onnx) max_len=(-max_len=16384) ;; lmdb) max_len=(-max_len=16384) ;; esac
  # 1. every committed seed, once
  if ! "$bin" "${COMMON[@]}" -runs=0 -artifact_prefix="$art/" "$seeds" >"$log" 2>&1; then
    echo "fuzz: $t: a committed seed fails:" >&2
    tail -n 40 "$log" >&2
    status=1
    summary+=("$t: seed replay FAILED")
    continue
  fi
  # 2. fuzzing, starting from the seeds and what earlier runs found
  start=$(date +%s)
  if ! "$bin" "${COMMON[@]}" "${max_len[@]}" "${extra[@]}" -artifact_prefix="$art/" "$work" "$seeds" >>"$log" 2>&1; then
    echo "fuzz: $t: crash (input in $art/):" >&2
    grep -E -A25 'ERROR: |runtime error|SUMMARY|==[0-9]+==' "$log" | head -n 60 >&2
    status=1
    summary+=("$t: FAILED")
    continue
  fi
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  secs=$(($(date +%s) - start))
  summary+=("$t: ${runs:-?} executions in ${secs}s, 0 crashes")
done
printf 'fuzz: %s\n' "${summary[@]}"
exit $status
