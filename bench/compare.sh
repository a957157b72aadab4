#!/usr/bin/env bash
# eftrain next to its peers, in one run on this machine: CPU throughput against zuko and nflows
# (MAF and RealNVP, D in {8, 16, 64}, hidden [128, 128], 5 layers, batch 512), ours and theirs
# alternating A B A B (2 rounds), then sample quality against SDV's GaussianCopula, CTGAN, TVAE and
# the original echoflow 0.0.2 (grid, ring, spiral), then figure (a), then the tabular workloads with
# the same peers (bench/peers/tabular.py: the Bayesian networks asia / alarm / child / insurance,
# L_syn / L_test; adult, ML-efficacy F1, column-shape and column-pair scores). Writes
# bench/results/LATEST.md (side-by-side tables, ours vs peer) and bench/results/spiral_peers.png.
#   bash bench/peers/setup_venv.sh      # once: bench/peers/.venv
#   bash bench/compare.sh               # ~20-25 min on 2 busy cores, plus ~30-40 min for TABULAR
# Tabular budgets (tabular.py's defaults; SDV's default 300 epochs would take hours here): CTGAN
#   100 epochs per BN and 30 on adult, TVAE 100 / 50, echoflow 0.0.2 30 / 20; GaussianCopula SDV
#   defaults; eftrain bench/tabular's tuned configs.
# Environment: BUILD (default build-peer, else build; built with -DEF_CUDA=OFF if missing),
#   FLOWS (maf,realnvp,nsf-ar,nsf-coupling: throughput rows), THREADS (2), ROUNDS (2; 0 skips throughput), RUN_SECONDS (0.5 per timed run), REPEATS (5),
#   QUALITY=0 skips grid/ring/spiral (and the TabularARGN rows), TABULAR=0 skips the BN and adult part,
#   ARGN=0 skips bench/argn/quality_rows.sh (TabularARGN vs eftrain defaults; needs bench/argn/.venv),
#   QUICK=1 for a smoke run (short timings, tiny quality budgets: the figures mean nothing).
#   E2E=1 adds the end-to-end processes (bench/peers/e2e.py: `eftrain train|sample|score` against
#   zuko + pandas doing the same job, D = 8, 16, 64, alternating) into bench/results/E2E.md; sizes
#   E2E_TRAIN_ROWS (20000), E2E_EPOCHS (5), E2E_SAMPLE_ROWS (10000,1000000), E2E_SCORE_ROWS
#   (100000), E2E_ROUNDS (1), E2E_PEER_MAX_S (600: longer peer jobs are projected, not run);
#   E2E_JOBS (train,sample,score: the jobs timed; a subset writes bench/results/E2E_<jobs>.md,
#   not E2E.md), E2E_DIMS (8,16,64), E2E_FLOWS (maf,realnvp).
#   e.g. E2E=1 E2E_JOBS=score ROUNDS=0 QUALITY=0 TABULAR=0 bash bench/compare.sh   # scoring alone
#   e.g. E2E=1 ROUNDS=0 QUALITY=0 TABULAR=0 bash bench/compare.sh   # the end-to-end part alone
#   e.g. ROUNDS=0 QUALITY=0 bash bench/compare.sh   # the tabular part alone
set -euo pipefail
cd "$(dirname "$0")/.."
THREADS=${THREADS:-2}
ROUNDS=${ROUNDS:-2}
SECONDS_PER_RUN=${RUN_SECONDS:-0.5}  # not $SECONDS: bash keeps its uptime there
REPEATS=${REPEATS:-5}
QUALITY=${QUALITY:-1}
FLOWS=${FLOWS:-maf,realnvp,nsf-ar,nsf-coupling}  # throughput rows (ours and zuko/nflows)
TABULAR=${TABULAR:-1}
QUICK=${QUICK:-0}
E2E=${E2E:-0}
PY=bench/peers/.venv/bin/python
[ -x "$PY" ] || { echo "compare.sh: $PY missing; run bash bench/peers/setup_venv.sh" >&2; exit 1; }
if [ -z "${BUILD:-}" ]; then
  if [ -x build-peer/eftrain ] || [ ! -x build/eftrain ]; then BUILD=build-peer; else BUILD=build; fi
fi
for t in eftrain make_spiral bench_throughput; do
  if [ ! -x "$BUILD/$t" ]; then
    cmake -S . -B "$BUILD" -DEF_CUDA=OFF -DCMAKE_BUILD_TYPE=Release > /dev/null
    cmake --build "$BUILD" -j "$THREADS" --target eftrain make_spiral bench_throughput
    break
  fi
done
# eftrain's binaries set GOMP_SPINCOUNT=10000 themselves (host/omp_env.hpp says why); every
# process, the peers' too, gets the same bounded spin.
unset OMP_WAIT_POLICY
export GOMP_SPINCOUNT=10000
# echoflow 0.0.2 orders categories by set() iteration, i.e. by the string hash seed (tabular.py).
export PYTHONHASHSEED=0
RUN=bench/peers/out/run-$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$RUN" bench/results
QARGS=()
if [ "$QUICK" = 1 ]; then SECONDS_PER_RUN=0.1; REPEATS=2; QARGS=(--quick); fi
{
  echo "Date: $(date -u '+%Y-%m-%d %H:%M UTC'). Commit: $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- engine host tools bench/bench_throughput.cpp || echo ' (working tree has uncommitted changes under engine/host/tools)'); binaries: $BUILD/ ($(grep -m1 CMAKE_BUILD_TYPE: "$BUILD/CMakeCache.txt" | cut -d= -f2), built $(date -u -r "$BUILD/eftrain" '+%Y-%m-%d %H:%M UTC'))."
  echo
  echo "Machine: $(nproc) cores (nproc), CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo); load average at start: $(cut -d' ' -f1-3 /proc/loadavg) (shared with other jobs: absolute figures are noisy, ratios from alternating rounds less so)."
} > "$RUN/machine.txt"
: > "$RUN/commands.txt"
step() {  # step LOG CMD...: record, run, keep the output
  local log=$1; shift
  echo "$*" >> "$RUN/commands.txt"
  echo "== $*" >&2
  "$@" | tee "$RUN/$log"
}
for r in $(seq 1 "$ROUNDS"); do
  step "ours_r$r.md" "$BUILD/bench_throughput" --flows "$FLOWS" --dims 8,16,64 --hidden 128 --layers 5 --batch 512 \
    --threads "$THREADS" --seconds "$SECONDS_PER_RUN" --repeats "$REPEATS" --json "$RUN/ours_r$r.json"
  step "peers_r$r.md" "$PY" bench/peers/throughput.py --flows "$FLOWS" --dims 8,16,64 --hidden 128 --layers 5 --batch 512 \
    --threads "$THREADS" --seconds "$SECONDS_PER_RUN" --repeats "$REPEATS" --json "$RUN/peers_r$r.json"
done
if [ "$QUALITY" = 1 ]; then
  step quality.md "$PY" bench/peers/quality.py --eftrain "$BUILD/eftrain" --make-spiral "$BUILD/make_spiral" \
    --threads "$THREADS" --out "$RUN/quality" "${QARGS[@]}"
  step plot.txt "$PY" bench/peers/plot_spiral.py "$RUN/quality/spiral" bench/results/spiral_peers.png
fi
if [ "$TABULAR" = 1 ]; then
  step tabular.md "$PY" bench/peers/tabular.py --eftrain "$BUILD/eftrain" \
    --threads "$THREADS" --out "$RUN/tabular" "${QARGS[@]}"
fi
# TabularARGN (mostlyai-engine, its own venv) next to eftrain's defaults on issue 16's rows
# (penguins impossible share and support check, the Bayesian networks' L_syn / L_test with fit CPU
# seconds): bench/argn/quality_rows.sh; report.py appends its argn.md to LATEST.md.
if [ "${ARGN:-1}" = 1 ] && [ "$QUALITY" = 1 ] && [ -x bench/argn/.venv/bin/python ] && [ "$QUICK" != 1 ]; then
  cmake --build "$BUILD" --target bench_bn >&2
  step argn.md env BUILD="$BUILD" THREADS="$THREADS" RUN="$RUN/argn" bash bench/argn/quality_rows.sh
elif [ "${ARGN:-1}" = 1 ] && [ "$QUALITY" = 1 ]; then
  echo "compare.sh: TabularARGN rows skipped (bench/argn/.venv missing: bash bench/argn/setup_venv.sh; or QUICK=1)" >&2
fi
if [ "$E2E" = 1 ]; then
  E2E_JOBS=${E2E_JOBS:-train,sample,score}
  E2E_MD=bench/results/E2E.md
  [ "$E2E_JOBS" = train,sample,score ] || E2E_MD="bench/results/E2E_${E2E_JOBS//,/_}.md"
  step e2e.txt "$PY" bench/peers/e2e.py --eftrain "$BUILD/eftrain" --out "$RUN/e2e" --threads "$THREADS" \
    --jobs "$E2E_JOBS" --dims "${E2E_DIMS:-8,16,64}" --flows "${E2E_FLOWS:-maf,realnvp}" \
    --train-rows "${E2E_TRAIN_ROWS:-20000}" --epochs "${E2E_EPOCHS:-5}" \
    --sample-rows "${E2E_SAMPLE_ROWS:-10000,1000000}" --score-rows "${E2E_SCORE_ROWS:-100000}" \
    --rounds "${E2E_ROUNDS:-1}" --peer-max-seconds "${E2E_PEER_MAX_S:-600}" --md "$E2E_MD"
  { echo; cat "$RUN/machine.txt"; } >> "$E2E_MD"
  echo "wrote $E2E_MD (run folder $RUN)" >&2
fi
# LATEST.md is the throughput / quality / tabular report of one whole run: a run that skipped a
# part (ROUNDS=0, QUALITY=0 or TABULAR=0) writes its report into the run folder only, so the
# committed LATEST.md never loses the rows of the parts it did not run.
if [ "$ROUNDS" -gt 0 ] || [ "$QUALITY" = 1 ] || [ "$TABULAR" = 1 ]; then
  "$PY" bench/peers/report.py "$RUN" > "$RUN/LATEST.md"
  if [ "$ROUNDS" -gt 0 ] && [ "$QUALITY" = 1 ] && [ "$TABULAR" = 1 ] && [ "$QUICK" != 1 ]; then
    cp "$RUN/LATEST.md" bench/results/LATEST.md
    echo "wrote bench/results/LATEST.md (run folder $RUN)" >&2
  else
    echo "wrote $RUN/LATEST.md (a partial or quick run: bench/results/LATEST.md is kept)" >&2
  fi
fi
