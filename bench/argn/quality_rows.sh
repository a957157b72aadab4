#!/usr/bin/env bash
# Issue 16's quality rows, TabularARGN (mostlyai-engine, its defaults, CPU) next to eftrain's
# defaults (a config of only data.path) on the same rows, in one run:
#   - penguins (tests/data/penguins.csv): the share of 5000 synthetic rows whose (species, island,
#     sex) never occurs in the data, seeds SEEDS;
#   - Bayesian networks NETS (../shared/datasets/bn or DATASETS; randomV:S = efbench::random_network):
#     L_syn / L_test of 10k synthetic rows against bench_bn's 10k train / 10k test rows
#     (bench/bench_bn.cpp: efbench's rows), with each fit's CPU seconds.
#   - penguins' support check (bench/tabular/support.py) on the same samples as the impossible share.
#   bash bench/argn/setup_venv.sh                    # once: bench/argn/.venv
#   BUILD=build-cpu bash bench/argn/quality_rows.sh  # prints markdown; RUN (out folder)
# Environment: BUILD (build-cpu), SEEDS (0 1 2), NETS (efbench's BN rows on defaults, smallest
# first: asia child random15:2 insurance random30:1 alarm; TabularARGN's alarm fit alone takes
# over 10 CPU minutes), THREADS (1: torch threads for TabularARGN, train.threads for eftrain),
# DATASETS, RUN.
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build-cpu}
SEEDS=${SEEDS:-0 1 2}
NETS=${NETS:-asia child random15:2 insurance random30:1 alarm}
THREADS=${THREADS:-1}
DATASETS=${DATASETS:-$(pwd)/../shared/datasets}
RUN=${RUN:-bench/argn/out/$(date -u +%Y%m%d-%H%M%S)}
PY=bench/argn/.venv/bin/python
[ -x "$PY" ] || { echo "quality_rows.sh: $PY missing; run bash bench/argn/setup_venv.sh" >&2; exit 1; }
for b in eftrain bench_bn; do
  [ -x "$BUILD/$b" ] || { echo "quality_rows.sh: $BUILD/$b missing (cmake --build $BUILD --target $b)" >&2; exit 1; }
done
mkdir -p "$RUN"
echo "## TabularARGN (mostlyai-engine defaults) and eftrain defaults on issue 16's rows ($THREADS thread(s))"
echo
echo "### penguins: impossible (species, island, sex) share of 5000 synthetic rows; support (bench/tabular/support.py)"
echo
"$PY" bench/argn/argn_quality.py penguins --data tests/data/penguins.csv --seeds $SEEDS --threads "$THREADS" \
  --workspace "$RUN/ws" | grep '^RESULT'
echo '{"data": {"path": "'"$(pwd)"'/tests/data/penguins.csv"}}' > "$RUN/penguins.json"
for s in $SEEDS; do
  "$BUILD/eftrain" train "$RUN/penguins.json" --set train.seed="$s" --set train.threads="$THREADS" \
    --set output.model="$(pwd)/$RUN/penguins$s.efm" > "$RUN/penguins$s.log" 2>&1
  "$BUILD/eftrain" sample "$RUN/penguins$s.efm" --rows 5000 --seed 11 --out "$RUN/penguins$s.csv" >> "$RUN/penguins$s.log" 2>&1
  "$PY" - "$RUN/penguins$s.csv" "$s" <<'PY'
import sys
import pandas as pd
sys.path.insert(0, "bench/argn")
from argn_quality import combos, support_line
real = pd.read_csv("tests/data/penguins.csv")
seen = set(combos(real))
syn = pd.read_csv(sys.argv[1])
bad = sum(1 for t in combos(syn) if t not in seen)
print(f"RESULT penguins eftrain-defaults seed {sys.argv[2]}: impossible share {bad / len(syn):.4f} ({bad} of {len(syn)}); "
      f"{support_line(real, syn)}")
PY
done
echo
echo "### Bayesian networks: L_syn / L_test (d = minus the real rows')"
for net in $NETS; do
  echo
  case $net in
    random*) ;;
    *) if [ ! -f "$DATASETS/bn/$net.bif" ]; then
         echo "$net: skipped ($DATASETS/bn/$net.bif not found; set DATASETS)"; continue
       fi ;;
  esac
  "$BUILD/bench_bn" --net "$net" --datasets "$DATASETS" --write-csv "$RUN/$net" > /dev/null
  for s in $SEEDS; do
    "$PY" bench/argn/argn_quality.py bn --train "$RUN/$net/train.csv" --rows 10000 --seed "$s" --threads "$THREADS" \
      --out "$RUN/$net/argn$s.csv" --workspace "$RUN/ws" | grep '^RESULT'
    echo "TabularARGN seed $s: $("$BUILD/bench_bn" --net "$net" --datasets "$DATASETS" --score-csv "$RUN/$net/argn$s.csv" | tail -1)"
  done
  echo "eftrain defaults:"
  "$BUILD/bench_bn" --net "$net" --datasets "$DATASETS" --seeds "$(echo $SEEDS | tr ' ' ,)" --threads "$THREADS"
done
