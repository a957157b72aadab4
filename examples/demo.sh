#!/usr/bin/env bash
# The spiral demo, end to end on the CPU: build, generate the data, train, sample, score, plot.
# Writes out/demo/{spiral.csv, spiral.efm, synthetic.csv, scores.csv, spiral.svg}.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release > /dev/null
cmake --build "$BUILD" -j "$(nproc)" --target eftrain make_spiral
OUT=out/demo
mkdir -p "$OUT"
cp examples/spiral.json "$OUT/spiral.json"
"$BUILD/make_spiral" "$OUT/spiral.csv" 4000 0
time "$BUILD/eftrain" train "$OUT/spiral.json"
"$BUILD/eftrain" sample "$OUT/spiral.efm" --rows 4000 --seed 1 --out "$OUT/synthetic.csv"
"$BUILD/eftrain" score "$OUT/spiral.efm" --data "$OUT/spiral.csv" --out "$OUT/scores.csv"
"$BUILD/eftrain" plot "$OUT/spiral.csv" "$OUT/synthetic.csv" --out "$OUT/spiral.svg"
"$BUILD/eftrain" plot "$OUT/spiral.csv" "$OUT/synthetic.csv" --out "$OUT/spiral.png"
"$BUILD/eftrain" visualize "$OUT/spiral.efm" --out "$OUT/layers" --rows 2000
awk -F, 'NR > 1 { s += $1; n++ } END { printf "mean log-density of the training rows: %.3f nats\n", s / n }' "$OUT/scores.csv"
echo "wrote $OUT/synthetic.csv , $OUT/spiral.svg and $OUT/spiral.png (real | synthetic)"
