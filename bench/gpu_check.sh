#!/usr/bin/env bash
# bench/gpu_check.sh -- one command to validate and time the CUDA backend on a GPU machine
# (meant for an H200 with nothing downloadable; about 6-7 minutes, under 8).
#
#   1. configure a fresh build dir with -DEF_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=90 (sm_90 + PTX)
#   2. build ef_gpu_tests and the three GPU benchmarks
#   3. run ef_gpu_tests (exit 77 = "no device" is a FAILURE here: this machine must have one):
#      every op the CUDA backend runs (kernels/ops on its executor: flow layers of every kind,
#      conditioner MLPs per layer and fused, reductions, data movement, draws, shuffles, Adam,
#      categorical heads) vs the CPU reference; the CUDA backend (DeviceBackend<CudaExec>) vs the CPU
#      backend and the host-executor backend: log p, all gradients, score, a 10-step Adam loss
#      trajectory, sampling parity, resident epochs with graph replay == eager; the fused
#      conditioner MLPs == cuBLAS; Model::fit on cuda (resident and streamed) vs the CPU
#      trainer; a table forced to stream == the resident run
#   4. compute-sanitizer memcheck, racecheck and synccheck on small cases (fused MLP kernels,
#      a streamed run with the copy stream and events)
#   3b. data-parallel training with NCCL (CUDA + MPI builds with NCCL): ef_gpu_data_parallel
#      alone (the allreduce inside the captured step) and on 2 ranks via mpirun (SKIP when NCCL
#      refuses two ranks on one GPU), and ef_gpu_nccl_bench: the step's time with and without the
#      allreduce (NCCL_STEP lines, for bench/results/SCALE.md's projection), on 1 and 2 ranks
#   5. benchmarks: ef_gpu_bench (a conditioner layer on the per-layer path vs sgemm), ef_gpu_fused_bench (fused MLP vs
#      cuBLAS at batch >= 65536), ef_gpu_train_bench (training D in {8,16,64}, hidden
#      [128,128], 5 layers, batch 512..4096; MAF/RealNVP sampling) and bench/gpu/zuko_gpu.py
#      (the same workloads in zuko, eager and torch.compile). zuko comes from a wheel fetched
#      beforehand, because the GPU machine downloads nothing; from the repository root:
#        pip download zuko==1.6.0 --no-deps -d .whl
#      (.whl/ is git-ignored; carry it with the run). It is installed (--no-deps --no-index)
#      into the build folder, next to the torch of EF_GPU_PYTHON; without torch there the
#      step is reported as FAIL(no torch ...) and skipped
#   6. summary printed last: each step's status, then one table of the benchmarks
#      (bench/gpu/summary.py: FLOPs per row, rows/s, TFLOP/s, echoflow/zuko ratios; it fails
#      when a measurement is missing). Exit status 0 only when every step passed.
# Everything is also written to bench/results/gpu_check_<date>.txt.
#
# Environment: EF_GPU_BUILD_DIR (default build-gpu-check), EF_GPU_JOBS (default nproc),
# EF_GPU_BUDGET_S (default 470: total seconds all steps may take), EF_GPU_PYTHON (default
# python3: needs torch with CUDA), EF_GPU_COMPILE_DIMS (default 16: the D values zuko is also
# timed with torch.compile, tens of seconds each).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${EF_GPU_BUILD_DIR:-$ROOT/build-gpu-check}
JOBS=${EF_GPU_JOBS:-$(nproc)}
RESULTS=$ROOT/bench/results
mkdir -p "$RESULTS"
OUT=$RESULTS/gpu_check_$(date +%Y%m%d_%H%M%S).txt
BENCH_OUT=$(mktemp)
RESULTS_OUT=$(mktemp)  # RESULT lines of every benchmark, for bench/gpu/summary.py
trap 'rm -f "$BENCH_OUT" "$RESULTS_OUT"' EXIT
exec > >(tee "$OUT") 2>&1

DEADLINE=$((SECONDS + ${EF_GPU_BUDGET_S:-470}))  # every step's timeout is capped to fit
PY=${EF_GPU_PYTHON:-python3}
DIMS=8,16,64
BATCHES=512,1024,2048,4096
CDIMS=${EF_GPU_COMPILE_DIMS:-16}
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
  printf '%-16s %-36s %6s\n' step status secs
  for i in "${!STEP_NAMES[@]}"; do
    printf '%-16s %-36s %6s\n' "${STEP_NAMES[$i]}" "${STEP_STATUS[$i]}" "${STEP_SECS[$i]}"
    [[ ${STEP_STATUS[$i]} == PASS || ${STEP_STATUS[$i]} == SKIP* ]] || failed=1
  done
  if [[ -s $BENCH_OUT ]]; then
    echo
    cat "$BENCH_OUT"
  fi
  echo
  if [[ -s $RESULTS_OUT ]] && "$PY" "$ROOT/bench/gpu/summary.py" "$RESULTS_OUT" --dims "$DIMS" \
    --batches "$BATCHES" --compile-dims "$CDIMS"; then
    :
  else
    echo "bench tables: INCOMPLETE (see above)"
    failed=1
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
HAVE_TORCH=1
"$PY" -c 'import torch; print("torch", torch.__version__, "cuda", torch.cuda.is_available())' ||
  { HAVE_TORCH=0; echo "$PY: NO TORCH: the zuko comparison cannot run (set EF_GPU_PYTHON)"; }
ZUKO_WHL=$(compgen -G "$ROOT/.whl/zuko-1.6.0-*.whl" | head -n 1 || true)
echo "zuko wheel: ${ZUKO_WHL:-MISSING (pip download zuko==1.6.0 --no-deps -d .whl, beforehand)}"

# 1-2. Fresh configure and build. EF_WERROR stays OFF: warnings are policed by the regular
# builds; here a new host compiler's warning must not hide the GPU results.
rm -rf "$BUILD"
if ! run_step "configure" 120 cmake -S "$ROOT" -B "$BUILD" -DEF_CUDA=ON \
  -DCMAKE_CUDA_ARCHITECTURES=90 -DCMAKE_BUILD_TYPE=Release; then
  summary || true
  exit 1
fi
# The NCCL targets exist in builds with CUDA, MPI and NCCL (CMake EF_NCCL; docs/SCALE.md).
NCCL_TARGETS=()
if cmake --build "$BUILD" --target help 2>/dev/null | grep -q ef_gpu_data_parallel; then
  NCCL_TARGETS=(ef_gpu_data_parallel ef_gpu_nccl_bench)
fi
if ! run_step "build" 270 cmake --build "$BUILD" -j "$JOBS" --target ef_gpu_tests ef_gpu_bench \
  ef_gpu_fused_bench ef_gpu_train_bench "${NCCL_TARGETS[@]}"
then
  summary || true
  exit 1
fi
TESTS=$BUILD/tests/gpu/ef_gpu_tests
BENCH=$BUILD/bench/gpu/ef_gpu_bench
FUSED=$BUILD/bench/gpu/ef_gpu_fused_bench
TRAIN=$BUILD/bench/gpu/ef_gpu_train_bench

# 3. The GPU tests. 77 means "no usable device": a failure on this machine.
rc=0
run_step "ef_gpu_tests" 150 "$TESTS" || rc=$?
if [[ $rc -eq 77 ]]; then
  STEP_STATUS[-1]="FAIL(no GPU: exit 77)"
  echo "ef_gpu_tests found no usable CUDA device on a machine that must have one"
fi

# 3b. Data-parallel training with NCCL (tests/gpu/data_parallel/): one rank (the allreduce in
# the captured step), then two ranks through mpirun. Two ranks on one GPU run only if NCCL
# accepts it: its "duplicate GPU" refusal is recorded as SKIP (not a failure); with 2+ GPUs
# each rank takes its own. Then the step's time with and without the allreduce.
if [[ ${#NCCL_TARGETS[@]} -eq 0 ]]; then
  record "nccl_1rank" "FAIL(not built: no MPI or NCCL)"
  record "nccl_2ranks" "FAIL(not built: no MPI or NCCL)"
else
  DP=$BUILD/tests/gpu/ef_gpu_data_parallel
  MPIRUN=(mpirun --oversubscribe -np 2)
  [[ $(id -u) -eq 0 ]] && MPIRUN+=(--allow-run-as-root)
  rc=0
  run_step "nccl_1rank" 60 "$DP" || rc=$?
  [[ $rc -eq 77 ]] && STEP_STATUS[-1]="FAIL(no GPU: exit 77)"
  rc2=0
  run_step "nccl_2ranks" 90 bash "$ROOT/tests/gpu/data_parallel/run_2ranks.sh" "$DP" || rc2=$?
  [[ $rc2 -eq 77 ]] && STEP_STATUS[-1]="SKIP(NCCL refused 2 ranks on $(nvidia-smi -L 2>/dev/null | wc -l) GPU)"
  # shellcheck disable=SC2016
  run_step "nccl_bench" 60 bash -c 'set -o pipefail; "$1" --batches 512,4096 | tee -a "$2"' _ \
    "$BUILD/bench/gpu/ef_gpu_nccl_bench" "$BENCH_OUT" || true
  if [[ $rc2 -eq 77 ]]; then
    record "nccl_bench_2" "SKIP(as nccl_2ranks)"
  else
    # shellcheck disable=SC2016
    run_step "nccl_bench_2" 60 bash -c 'set -o pipefail; "${@:3}" "$1" --batches 512,4096 | tee -a "$2"' _ \
      "$BUILD/bench/gpu/ef_gpu_nccl_bench" "$BENCH_OUT" "${MPIRUN[@]}" || true
  fi
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
  record "synccheck" "FAIL(compute-sanitizer not found)"
else
  run_step "memcheck" 100 "$SAN" --tool memcheck --error-exitcode 86 --print-limit 20 \
    "$TESTS" -tc="flow ops*,mlp ops (cuda): per*,data ops*,cat ops*,cuda backend: log p*,cuda sanitizer:*" || true
  run_step "racecheck" 60 "$SAN" --tool racecheck --error-exitcode 86 --print-limit 20 \
    "$TESTS" -tc="mlp ops (cuda): column*,cuda sanitizer: fused*" || true
  run_step "synccheck" 30 "$SAN" --tool synccheck --error-exitcode 86 --print-limit 20 \
    "$TESTS" -tc="cuda sanitizer: fused*" || true
fi

# 5. Benchmarks. ef_gpu_bench's own table is kept for the summary; every other benchmark prints
# RESULT lines collected for bench/gpu/summary.py.
# shellcheck disable=SC2016  # $1/$2 are expanded by the inner bash
run_step "ef_gpu_bench" 30 bash -c 'set -o pipefail; "$1" --hidden 128 \
  --batches 512,8192,65536 --iters 100 | tee "$2"' _ "$BENCH" "$BENCH_OUT" || true
# shellcheck disable=SC2016
run_step "fused_bench" 40 bash -c 'set -o pipefail; "$1" | tee -a "$2"' _ "$FUSED" \
  "$RESULTS_OUT" || true
# shellcheck disable=SC2016
run_step "train_bench" 80 bash -c 'set -o pipefail; "$1" --dims "$3" --batches "$4" \
  --seconds 0.3 | tee -a "$2"' _ "$TRAIN" "$RESULTS_OUT" "$DIMS" "$BATCHES" || true
# zuko 1.6.0 from the wheel, into the build folder (nothing is installed system-wide).
ZUKO_SITE=$BUILD/zuko-site
if [[ $HAVE_TORCH -eq 0 ]]; then
  record "zuko_bench" "FAIL(no torch for $PY)"
elif [[ -z $ZUKO_WHL ]]; then
  record "zuko_bench" "FAIL(no .whl/zuko-1.6.0 wheel)"
elif ! run_step "zuko_install" 60 "$PY" -m pip install --quiet --no-deps --no-index \
  --target "$ZUKO_SITE" "$ZUKO_WHL"; then
  record "zuko_bench" "FAIL(zuko not installed)"
else
  # shellcheck disable=SC2016
  run_step "zuko_bench" 170 env PYTHONPATH="$ZUKO_SITE" bash -c 'set -o pipefail; "$1" "$2" \
    --dims "$4" --batches "$5" --compile-dims "$6" --seconds 0.3 | tee -a "$3"' _ "$PY" \
    "$ROOT/bench/gpu/zuko_gpu.py" "$RESULTS_OUT" "$DIMS" "$BATCHES" "$CDIMS" || true
fi
summary
