#!/usr/bin/env bash
# Data-parallel training throughput, 1 rank vs 2 ranks (1 OpenMP thread each), on the same
# config: MAF, 5 layers, hidden [128, 128], D = 16 continuous columns, global batch 512; plus the
# time of the gradient sum (bench_allreduce) for the model's parameter count. Rounds alternate
# 1 rank, 2 ranks. Prints a Markdown table (bench/results/SCALE.md records a run and the
# projection to many GPUs): global rows/s, each run's CPU seconds, and for 2 ranks the gradient
# sum's bytes and ms a step next to the whole step's ms. The load average before each run is
# printed: on a loaded machine read the CPU columns, not rows/s. About 1 minute on 2 idle cores.
#   bash bench/scale.sh                # BUILD=build-cpu ROWS=40000 EPOCHS=3 ROUNDS=2
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build-cpu}
ROWS=${ROWS:-40000}
EPOCHS=${EPOCHS:-3}
ROUNDS=${ROUNDS:-2}
EF=$BUILD/eftrain
[ -x "$EF" ] && [ -x "$BUILD/bench_allreduce" ] || { echo "scale.sh: build $EF and bench_allreduce (-DEF_MPI=ON; cmake --build $BUILD --target eftrain bench_allreduce)" >&2; exit 1; }
MPIRUN=(mpirun --oversubscribe --bind-to core -x OMP_NUM_THREADS -x OMPI_MCA_mpi_yield_when_idle -np 2)
[ "$(id -u)" -eq 0 ] && MPIRUN+=(--allow-run-as-root)
export OMP_NUM_THREADS=1 OMPI_MCA_mpi_yield_when_idle=${OMPI_MCA_mpi_yield_when_idle:-1}
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
# 16 correlated, skewed columns from 4 latent normals (fixed seed).
python3 - "$T/d16.csv" "$ROWS" <<'PY'
import math, random, sys
random.seed(7)
with open(sys.argv[1], "w") as f:
    f.write(",".join("x%d" % i for i in range(16)) + "\n")
    for _ in range(int(sys.argv[2])):
        z = [random.gauss(0, 1) for _ in range(4)]
        row = [z[i % 4] * (1 + 0.3 * i / 16) + 0.5 * math.sin(z[(i + 1) % 4] * (1 + i % 3)) + 0.1 * random.gauss(0, 1)
               for i in range(16)]
        f.write(",".join("%.6g" % v for v in row) + "\n")
PY
cat > "$T/c.json" <<JSON
{"data": {"path": "d16.csv"},
 "model": {"flow": "maf", "layers": 5, "hidden": [128, 128]},
 "train": {"epochs": $EPOCHS, "batch_size": 512, "learning_rate": 1e-3, "seed": 1, "threads": 1,
           "validation_fraction": 0.05, "patience": 0},
 "device": "cpu", "output": {"model": "m.efm"}}
JSON
# rows/s: the median over the epochs after the first (the first includes warm-up).
rate() { grep -o '[0-9]* rows/s' "$1" | awk 'NR > 1 { print $1 }' | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
# CPU seconds (user + sys) of the busiest rank, from /usr/bin/time around each rank: on an idle
# machine a rank's wall time is about its CPU time (a rank waiting in the sum polls), so
# 1-rank CPU / busiest 2-rank CPU estimates the idle speedup even while the machine is loaded
# (conservatively: polling while a descheduled peer catches up counts as CPU).
TIME=(/usr/bin/time -f "cpu-seconds %U %S")
cpu() { awk '/^cpu-seconds/ { s = $2 + $3; if (s > m) m = s } END { printf "%.2f", m }' "$1"; }
# The gradient sum from eftrain's line "gradient sums over 2 ranks: S steps x BYTES bytes, M ms a
# step (...)", next to the whole step: a global batch of 512 rows at the run's rows/s.
sums() { awk '/gradient sums over/ { for (i = 1; i <= NF; ++i) { if ($i == "bytes,") b = $(i - 1); if ($i == "ms") m = $(i - 1) } }
         END { printf "%d bytes, %.3f ms", b, m }' "$1"; }
step() { awk -v v="$1" 'BEGIN { printf "%.2f ms", 512e3 / v }'; }
echo "| round | ranks | load avg (1 min) before | rows/s (global) | CPU s, busiest rank | gradient sum a step | whole step |"
echo "|---|---|---|---|---|---|---|"
c1=0 c2=0
for r in $(seq "$ROUNDS"); do
  l1=$(cut -d' ' -f1 /proc/loadavg)
  rm -f "$T/one.cpu" "$T/two.cpu"
  "${TIME[@]}" -a -o "$T/one.cpu" "$EF" train "$T/c.json" 2> "$T/one.log"
  r1=$(rate "$T/one.log")
  echo "| $r | 1 | $l1 | $r1 | $(cpu "$T/one.cpu") | | $(step "$r1") |"
  l2=$(cut -d' ' -f1 /proc/loadavg)
  # Each rank appends its own line to two.cpu (mpirun's forwarded stderr can interleave lines).
  "${MPIRUN[@]}" "${TIME[@]}" -a -o "$T/two.cpu" "$EF" train "$T/c.json" 2> "$T/two.log"
  r2=$(rate "$T/two.log")
  echo "| $r | 2 | $l2 | $r2 | $(cpu "$T/two.cpu") | $(sums "$T/two.log") | $(step "$r2") |"
  grep "gradient sums" "$T/two.log" >&2
  c1=$(awk -v a="$c1" -v b="$(cpu "$T/one.cpu")" 'BEGIN { print a + b }')
  c2=$(awk -v a="$c2" -v b="$(cpu "$T/two.cpu")" 'BEGIN { print a + b }')
done
echo
awk -v a="$c1" -v b="$c2" 'BEGIN { printf "CPU-time speedup, 2 ranks over 1 (1-rank CPU / busiest rank CPU, all rounds): %.2fx\n", a / b }'
P=$(python3 -c "import json,struct,sys; b=open(sys.argv[1],'rb').read(); h=struct.unpack('<I',b[12:16])[0]; print(json.loads(b[16:16+h])['param_count'])" "$T/m.efm")
echo
echo "parameters: $P ($((P * 4)) bytes of gradient per step)"
"${MPIRUN[@]}" "$BUILD/bench_allreduce" --floats "$P" --repeats 300
