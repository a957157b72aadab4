#!/usr/bin/env bash
# Builds the libFuzzer targets in build-fuzz/ (clang, ASan+UBSan) and runs each for
# SECONDS_PER_TARGET seconds (default 60), one job at a time.
#   tests/fuzz/run_fuzz.sh [SECONDS_PER_TARGET]
# Seeds: tests/fuzz/corpus/<target>/ (read only). The corpus each run grows goes to
# build-fuzz/fuzz-work/corpus-<target>/, crash/timeout/oom reproducers to
# build-fuzz/fuzz-work/artifacts-<target>/, the libFuzzer log to build-fuzz/fuzz-work/<target>.log.
# EF_FUZZ_TARGETS="csv config model" picks the targets; EF_FUZZ_SKIP_KNOWN=1 makes fuzz_config
# skip the already-reported bugs (see fuzz_config.cpp and README.md). EF_FUZZ_TIMEOUT (seconds,
# default 5) is libFuzzer's -timeout per input: raise it on a loaded machine, where one input can
# wait for the CPU longer than that without being slow.
# Exit status: 0 when no target reported a crash, 1 otherwise.
set -uo pipefail
SECS=${1:-60}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${EF_FUZZ_BUILD:-$ROOT/build-fuzz}
FUZZ=$ROOT/tests/fuzz
WORK=$BUILD/fuzz-work

if [ ! -f "$BUILD/CMakeCache.txt" ]; then
  CC=clang CXX=clang++ cmake -S "$ROOT" -B "$BUILD" -DEF_FUZZ=ON -DEF_CUDA=OFF -DEF_MPI=OFF -DEF_BUILD_TESTS=OFF \
    || exit 1
fi
cmake --build "$BUILD" -j"${EF_FUZZ_BUILD_JOBS:-2}" --target fuzz_csv fuzz_config fuzz_model fuzz_given || exit 1

# One thread per process: the readers do not need BLAS/OpenMP threads.
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}

status=0
for t in ${EF_FUZZ_TARGETS:-csv config model given}; do
  case $t in
    csv) maxlen=4096 ;;
    config) maxlen=4096 ;;
    model) maxlen=16384 ;;
    given) maxlen=1024 ;;
    *) echo "unknown target $t" >&2; exit 2 ;;
  esac
  exe=$BUILD/tests/fuzz/fuzz_$t
  corpus=$WORK/corpus-$t
  art=$WORK/artifacts-$t
  dict=()
  [ -f "$FUZZ/$t.dict" ] && dict=(-dict="$FUZZ/$t.dict")
  run=$WORK/run-$t  # one folder per target, so several run_fuzz.sh can run side by side
  mkdir -p "$corpus" "$art" "$run"
  log=$WORK/fuzz_$t.log
  echo "=== fuzz_$t: ${SECS}s, -max_len=$maxlen"
  (cd "$run" && "$exe" -jobs=1 -workers=1 -max_total_time="$SECS" -max_len="$maxlen" -timeout="${EF_FUZZ_TIMEOUT:-5}" \
     -rss_limit_mb=2048 -print_final_stats=1 ${dict[@]+"${dict[@]}"} -artifact_prefix="$art/" \
     "$corpus" "$FUZZ/corpus/$t" > /dev/null 2>&1)
  # With -jobs=1 libFuzzer writes the worker's output to fuzz-0.log in the current folder.
  mv -f "$run/fuzz-0.log" "$log" 2>/dev/null
  grep -E '^stat::number_of_executed_units|^Done [0-9]+ runs' "$log" || echo "(no final stats; see $log)"
  if grep -qE 'ERROR: (AddressSanitizer|libFuzzer|LeakSanitizer)|runtime error:|deadly signal|uncaught exception|ALARM: working on the last Unit' "$log"; then
    status=1
    echo "!!! fuzz_$t found a problem; log: $log"
    grep -E 'SUMMARY|runtime error|ERROR:|terminate called|what\(\)|Test unit written' "$log" | head -20
  else
    echo "fuzz_$t: no crash"
  fi
  ls "$art" | sed "s|^|  artifact (this or an earlier run): $art/|"
done
exit $status
