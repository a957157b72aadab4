#!/usr/bin/env bash
# The spiral demo, end to end: install missing Debian packages (.ci/deps.sh), build eftrain and
# the data generator only (CPU-only unless a GPU is usable: .ci/build_env.sh), generate the data,
# train, sample, score, plot. Writes out/demo/: spiral.csv, spiral.efm, synthetic.csv,
# scores.csv (log-density per training row), spiral.png / spiral.svg (real | synthetic),
# layers/ (the base normal pushed back through the flow, stage by stage: layers.png).
set -euo pipefail
cd "$(dirname "$0")/.."
.ci/deps.sh
source .ci/build_env.sh
BUILD=${BUILD:-build}
ef_generator "$BUILD"
cmake -S . -B "$BUILD" "${EF_GENERATOR[@]}" -DCMAKE_BUILD_TYPE=Release -DEF_CUDA="$EF_CUDA" "${EF_LAUNCHER[@]}" > /dev/null
cmake --build "$BUILD" -j "$(nproc)" --target eftrain make_spiral > /dev/null
OUT=out/demo
mkdir -p "$OUT"
cp examples/spiral.json "$OUT/spiral.json"
"$BUILD/make_spiral" "$OUT/spiral.csv" 4000 0
"$BUILD/eftrain" train "$OUT/spiral.json"
"$BUILD/eftrain" sample "$OUT/spiral.efm" --rows 4000 --seed 1 --out "$OUT/synthetic.csv"
"$BUILD/eftrain" score "$OUT/spiral.efm" --data "$OUT/spiral.csv" --out "$OUT/scores.csv"
"$BUILD/eftrain" plot "$OUT/spiral.csv" "$OUT/synthetic.csv" --out "$OUT/spiral.svg"
"$BUILD/eftrain" plot "$OUT/spiral.csv" "$OUT/synthetic.csv" --out "$OUT/spiral.png"
"$BUILD/eftrain" visualize "$OUT/spiral.efm" --out "$OUT/layers" --rows 2000
awk -F, 'NR > 1 { s += $1; n++ } END { printf "mean log-density of the training rows: %.3f nats\n", s / n }' "$OUT/scores.csv"
echo "wrote $OUT/: synthetic.csv, scores.csv, spiral.png and spiral.svg (real | synthetic), layers/layers.png"
