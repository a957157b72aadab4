#!/usr/bin/env bash
# eftrain over two MPI ranks against the same command in one process (docs/SCALE.md):
#   - replicated data-parallel training of MAF, RealNVP, nsf-coupling and a mixed tabular model
#     follows the 1-rank trajectory (tests/mpi/compare_models.py: parameters and per-epoch NLLs);
#   - sample (with and without --given) and score write byte-identical files;
#   - an error on one rank only ends both ranks with that rank's file/row/column message, exit 1,
#     no output file, no hang (each mpirun runs under `timeout`).
# usage: test_mpi.sh EFTRAIN PENGUINS_CSV
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/mpirun.sh" "$@"  # EF, PENGUINS, T, fail, MPIRUN
# Each rank runs one thread; the 1-process reference runs with the default thread count: the
# GEMMs' fixed row tiles (engine/threads.cpp) make the bytes independent of threads per process.

"$EF" --version | grep -q "MPI: compiled" || fail "--version does not say MPI is compiled in"
cd "$T"
cut -d, -f3-6 "$PENGUINS" > cont.csv  # the four measurements: continuous, some missing
cp "$PENGUINS" mixed.csv              # categorical, integer and continuous columns
cat > c.json <<JSON
{"data": {"path": "cont.csv", "columns": {"bill_depth_mm": "continuous"}},
 "model": {"flow": "maf", "layers": 4, "hidden": [32, 32]},
 "train": {"epochs": 30, "batch_size": 32, "learning_rate": 1e-3, "seed": 3, "threads": 1},
 "device": "cpu", "output": {"model": "one.efm"}}
JSON

# --- training: 2 ranks follow the 1-rank run. 30 epochs of 8 steps = 240 Adam steps. ---
# Tolerance (docs/SCALE.md): each step's gradient is the same sum split in two halves, so it
# differs from the 1-rank sum by float32 rounding (~1e-7 relative); Adam's step lr m/sqrt(v) is
# scale-free, so parameters move apart by about lr x that per step, and the spline flow's
# bin choices amplify it (measured after 240-320 steps: 1.3e-6 affine flows and the mixed model,
# 3.8e-4 nsf-coupling on the continuous columns). 2e-3 is 5x the worst; a wrong slice, noise
# offset or gradient share moves them by more than 1e-2 within the first epoch.
for case in "cont.csv maf" "cont.csv realnvp" "cont.csv nsf-coupling" "mixed.csv nsf-coupling"; do
  set -- $case
  sets=(--set data.path="$1" --set model.flow="$2")
  "$EF" train c.json "${sets[@]}" --set output.model=one.efm 2> one.log || fail "train 1 rank ($case)"
  "${MPIRUN[@]}" "$EF" train c.json "${sets[@]}" --set output.model=two.efm 2> two.log \
    || { cat two.log >&2; fail "train 2 ranks ($case)"; }
  grep -q "2 ranks" two.log || fail "the 2-rank run does not say it runs over 2 ranks"
  [ "$(grep -c "epoch 30/30" two.log)" -eq 1 ] || fail "progress lines not from rank 0 alone ($case)"
  python3 "$HERE/compare_models.py" one.efm two.efm one.log two.log --param-tol 2e-3 --nll-tol 5e-3 \
    || fail "2 ranks left the 1-rank trajectory ($case)"
done

# --- sample and score: byte-identical to 1 rank. The mixed model is conditional on species. ---
"$EF" train c.json --set data.path=mixed.csv --set 'conditional=["species"]' --set train.epochs=3 \
  --set output.model=m.efm 2> /dev/null || fail "train the sampling model"
for args in "--rows 20000 --seed 5" "--rows 5000 --seed 9 --given species=Gentoo" "--rows 7 --seed 1"; do
  "$EF" sample m.efm $args --out s1.csv 2> s1.log || fail "sample 1 rank ($args)"
  "${MPIRUN[@]}" "$EF" sample m.efm $args --out s2.csv 2> s2.log || { cat s2.log >&2; fail "sample 2 ranks ($args)"; }
  cmp s1.csv s2.csv || fail "sample over 2 ranks differs from 1 rank ($args)"
  diff s1.log s2.log || fail "sample's message differs over 2 ranks ($args)"
done
# 10000 rows: three 4096-row pieces, so both ranks score some.
awk 'NR == 1 { print; next } { row[n++] = $0 } END { for (i = 0; i < 10000; ++i) print row[i % n] }' mixed.csv > big.csv
"$EF" score m.efm --data big.csv --out sc1.csv || fail "score 1 rank"
"${MPIRUN[@]}" "$EF" score m.efm --data big.csv --out sc2.csv || fail "score 2 ranks"
[ "$(wc -l < sc2.csv)" -eq 10001 ] || fail "score row count"
cmp sc1.csv sc2.csv || fail "score over 2 ranks differs from 1 rank"

# --- faults on one rank only: rank 1 runs in folder r1, whose files have a bad row. ---
mkdir -p r0 r1
cp cont.csv c.json r0/ && cp c.json r1/
awk 'NR == 41 { $0 = "41.0,oops,190,4000" } { print }' cont.csv > r1/cont.csv
cat > by_rank.sh <<'SH'
#!/bin/sh
# Each rank in its own folder: r0 (good files) or r1 (a bad row).
cd "r${OMPI_COMM_WORLD_RANK:?}" && exec "$@"
SH
chmod +x by_rank.sh
rc=0
"${MPIRUN[@]}" ./by_rank.sh "$EF" train c.json --set train.epochs=2 > fault.out 2> fault.log || rc=$?
[ "$rc" -eq 1 ] || { cat fault.log >&2; fail "a bad row on rank 1: exit $rc, expected 1"; }
grep -q 'rank 1: .*cont.csv.*row 40.*bill_depth_mm' fault.log || { cat fault.log >&2; fail "fault message lacks rank/file/row/column"; }
[ "$(grep -c "eftrain: error" fault.log)" -eq 1 ] || fail "the error is reported more than once"
ls r0/*.efm r1/*.efm 2> /dev/null && fail "a model was written although rank 1 failed"
# score: rank 1 reads a file with a bad row in its second block.
awk 'NR == 9000 { $0 = "Adelie,Dream,x,18,190,4000,male,2008" } { print }' big.csv > r1/big.csv
cp big.csv r0/ && cp m.efm r0/ && cp m.efm r1/
rc=0
"${MPIRUN[@]}" ./by_rank.sh "$EF" score m.efm --data big.csv --out ../bad_scores.csv 2> fault2.log || rc=$?
[ "$rc" -eq 1 ] || { cat fault2.log >&2; fail "score with a bad row on rank 1: exit $rc, expected 1"; }
grep -q 'rank 1: .*big.csv.*row 8999.*bill_length_mm' fault2.log || { cat fault2.log >&2; fail "score fault message"; }
[ -e bad_scores.csv ] && fail "score left an output file although rank 1 failed"
echo "test_mpi: all checks passed"
