#!/usr/bin/env bash
# bench/gpu_check.sh -- one command to validate and time the CUDA kernels on a GPU machine
# (meant for an H200 with nothing downloadable; about 3-5 minutes, under 8).
#
#   1. configure a fresh build dir with -DEF_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=90
#   2. build ef_gpu_tests and ef_gpu_bench
#   3. run ef_gpu_tests (exit 77 = "no device" is a FAILURE here: this machine must have one):
#      every kernel vs the CPU reference, and the CUDA backend (DeviceBackend<CudaExec>) vs the CPU
#      backend and the host-executor backend: log p, all gradients, score, a 10-step Adam loss
#      trajectory, sampling parity, resident epochs with graph replay == eager
#   4. compute-sanitizer memcheck and racecheck on a small subset of the tests
#   5. ef_gpu_bench: masked linear forward/backward vs raw cuBLAS sgemm, hidden 128,
#      batch 512..65536, CUDA events
#   6. summary table (steps, then the benchmark) printed last
# Everything is also written to bench/results/gpu_check_<date>.txt.
# PyTorch comparisons are out of scope for now (no downloads on that machine; see bench/ for
# the peer baselines once they exist).
#
# Environment: EF_GPU_BUILD_DIR (default build-gpu-check), EF_GPU_JOBS (default nproc),
# EF_GPU_BUDGET_S (default 460: total seconds all steps may take).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${EF_GPU_BUILD_DIR:-$ROOT/build-gpu-check}
JOBS=${EF_GPU_JOBS:-$(nproc)}
RESULTS=$ROOT/bench/results
mkdir -p "$RESULTS"
OUT=$RESULTS/gpu_check_$(date +%Y%m%d_%H%M%S).txt
BENCH_OUT=$(mktemp)
trap 'rm -f "$BENCH_OUT"' EXIT
exec > >(tee "$OUT") 2>&1

DEADLINE=$((SECONDS + ${EF_GPU_BUDGET_S:-460}))  # every step's timeout is capped to fit
STEP_NAMES=()
STEP_STATUS=()
STEP_SECS=()

header() { printf '\n==== [%s] %s ====\n' "$(date +%H:%M:%S)" "$*"; }

# run_step NAME TIMEOUT_S CMD...: runs CMD under a timeout and records PASS/FAIL(rc).
run_step() {
  local name=$1 limit=$2
  shift 2
  header "$name"
  local left=$((DEADLINE - SECONDS))
  if [[ $left -lt 10 ]]; then
    record "$name" "FAIL(no time left)"
    return 1
  fi
  [[ $limit -le $left ]] || limit=$left
  echo "+ $*"
  local t0=$SECONDS rc=0
  timeout --kill-after=10 "$limit" "$@" || rc=$?
  local status=PASS
  if [[ $rc -eq 124 || $rc -eq 137 ]]; then
    status="FAIL(timeout ${limit}s)"
  elif [[ $rc -ne 0 ]]; then
    status="FAIL(rc=$rc)"
  fi
  STEP_NAMES+=("$name")
  STEP_STATUS+=("$status")
  STEP_SECS+=($((SECONDS - t0)))
  echo "---- $name: $status"
  return $rc
}

record() {  # record NAME STATUS: a step decided without running a command
  STEP_NAMES+=("$1")
  STEP_STATUS+=("$2")
  STEP_SECS+=(0)
  echo "---- $1: $2"
}

summary() {
  header "SUMMARY ($OUT)"
  local failed=0 i
  printf '%-14s %-36s %6s\n' step status secs
  for i in "${!STEP_NAMES[@]}"; do
    printf '%-14s %-36s %6s\n' "${STEP_NAMES[$i]}" "${STEP_STATUS[$i]}" "${STEP_SECS[$i]}"
    [[ ${STEP_STATUS[$i]} == PASS ]] || failed=1
  done
  if [[ -s $BENCH_OUT ]]; then
    echo
    cat "$BENCH_OUT"
  fi
  echo
  if [[ $failed -eq 0 ]]; then echo "gpu_check: ALL PASSED"; else echo "gpu_check: FAILED"; fi
  return $failed
}

header "environment"
echo "repo: $ROOT ($(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo 'no git'))"
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total \
  --format=csv,noheader || echo "nvidia-smi: not found"
command -v nvcc >/dev/null && nvcc --version | tail -2 || echo "nvcc: not on PATH"
cmake --version | head -1

# 1-2. Fresh configure and build. EF_WERROR stays OFF: warnings are policed by the regular
# builds; here a new host compiler's warning must not hide the GPU results.
rm -rf "$BUILD"
if ! run_step "configure" 120 cmake -S "$ROOT" -B "$BUILD" -DEF_CUDA=ON \
  -DCMAKE_CUDA_ARCHITECTURES=90 -DCMAKE_BUILD_TYPE=Release; then
  summary || true
  exit 1
fi
if ! run_step "build" 300 cmake --build "$BUILD" -j "$JOBS" --target ef_gpu_tests ef_gpu_bench
then
  summary || true
  exit 1
fi
TESTS=$BUILD/tests/gpu/ef_gpu_tests
BENCH=$BUILD/bench/gpu/ef_gpu_bench

# 3. The kernel tests. 77 means "no usable device": a failure on this machine.
rc=0
run_step "ef_gpu_tests" 180 "$TESTS" || rc=$?
if [[ $rc -eq 77 ]]; then
  STEP_STATUS[-1]="FAIL(no GPU: exit 77)"
  echo "ef_gpu_tests found no usable CUDA device on a machine that must have one"
fi

# 4. compute-sanitizer on a small subset (the sanitizers slow kernels 10-100x).
SAN=$(command -v compute-sanitizer || true)
for cand in "${CUDA_HOME:-/usr/local/cuda}/bin/compute-sanitizer" \
  "$(dirname "$(command -v nvcc 2>/dev/null || echo /x/nvcc)")/compute-sanitizer"; do
  [[ -z $SAN && -x $cand ]] && SAN=$cand
done
if [[ -z $SAN ]]; then
  record "memcheck" "FAIL(compute-sanitizer not found)"
  record "racecheck" "FAIL(compute-sanitizer not found)"
else
  run_step "memcheck" 150 "$SAN" --tool memcheck --error-exitcode 86 --print-limit 20 \
    "$TESTS" -tc="masked_linear: MLP*,maf:*,coupling:*,log_prob:*,gather:*,adam:*,cuda backend: log p*" || true
  run_step "racecheck" 120 "$SAN" --tool racecheck --error-exitcode 86 --print-limit 20 \
    "$TESTS" -tc="masked_linear: column*,log_prob:*" || true
fi

# 5. Micro-benchmarks (table kept for the summary).
# shellcheck disable=SC2016  # $1/$2 are expanded by the inner bash
run_step "ef_gpu_bench" 120 bash -c 'set -o pipefail; "$1" --hidden 128 \
  --batches 512,2048,8192,32768,65536 | tee "$2"' _ "$BENCH" "$BENCH_OUT" || true

summary
