#!/usr/bin/env bash
# End-to-end tests of the eftrain command line: train, --set, sample, score, --version.
# usage: test_cli.sh EFTRAIN MAKE_SPIRAL
set -euo pipefail
EF=$1; SPIRAL=$2
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

mkdir -p "$T/cfg" "$T/elsewhere"
"$SPIRAL" "$T/cfg/spiral.csv" 1500 1
cat > "$T/cfg/c.json" <<JSON
{"data": {"path": "spiral.csv", "columns": {"x": "continuous", "y": "continuous"}},
 "model": {"flow": "maf", "layers": 3, "hidden": [32, 32]},
 "train": {"epochs": 4, "batch_size": 128, "learning_rate": 1e-3, "seed": 0,
           "validation_fraction": 0.1, "patience": 10},
 "conditional": [], "device": "auto", "output": {"model": "m.efm"}}
JSON

# Relative paths resolve against the config's folder, not the working directory.
( cd "$T/elsewhere" && "$EF" train ../cfg/c.json 2> "$T/train.log" ) || fail "train"
[ -s "$T/cfg/m.efm" ] || fail "model not written next to the config"
grep -q "epoch 4/4" "$T/train.log" || fail "no progress lines"
grep -q "rows/s" "$T/train.log" && grep -q "ETA" "$T/train.log" && grep -q "val NLL" "$T/train.log" \
  || fail "progress lacks rows/s, ETA or val NLL"
[ "$(head -c 7 "$T/cfg/m.efm")" = "EFMODEL" ] || fail "model magic"
compgen -G "$T/cfg/*.tmp.*" > /dev/null && fail "temporary file left behind"

# --set overrides by dotted path, several at once, with JSON or plain-string values.
"$EF" train "$T/cfg/c.json" --set train.epochs=2 --set model.flow=realnvp \
  --set output.model=r.efm --set 'model.hidden=[16]' 2> "$T/set.log" || fail "train --set"
grep -q "epoch 2/2" "$T/set.log" || fail "--set train.epochs ignored"
grep -q "realnvp" "$T/set.log" || fail "--set model.flow ignored"
grep -a -q '"hidden":\[16\]' "$T/cfg/r.efm" || fail "--set model.hidden not in the model header"
"$EF" train "$T/cfg/c.json" --set train.nosuch=1 2> "$T/bad.log" && fail "--set unknown key accepted"
grep -q 'unknown key "train.nosuch"' "$T/bad.log" || fail "--set unknown key message"

# sample: header and column order of the training table, row count, determinism by seed.
"$EF" sample "$T/cfg/m.efm" --rows 300 --out "$T/s1.csv" --seed 5 || fail "sample"
[ "$(head -1 "$T/s1.csv")" = "x,y" ] || fail "sample header"
[ "$(wc -l < "$T/s1.csv")" -eq 301 ] || fail "sample row count"
"$EF" sample "$T/cfg/m.efm" --rows 300 --out "$T/s2.csv" --seed 5
"$EF" sample "$T/cfg/m.efm" --rows 300 --out "$T/s3.csv" --seed 6
cmp -s "$T/s1.csv" "$T/s2.csv" || fail "same seed, different samples"
cmp -s "$T/s1.csv" "$T/s3.csv" && fail "different seeds, same samples"

# score: one finite log_prob per input row, identical for the model and its reload path.
"$EF" score "$T/cfg/m.efm" --data "$T/cfg/spiral.csv" --out "$T/sc.csv" || fail "score"
[ "$(head -1 "$T/sc.csv")" = "log_prob" ] || fail "score header"
[ "$(wc -l < "$T/sc.csv")" -eq 1501 ] || fail "score row count"
tail -n +2 "$T/sc.csv" | awk '$1 !~ /^-?[0-9.]+(e[-+]?[0-9]+)?$/ { bad=1 } END { exit bad }' \
  || fail "non-numeric score"
# Columns are matched by name: a reordered file scores the same.
awk -F, '{print $2","$1}' "$T/cfg/spiral.csv" > "$T/swapped.csv"
"$EF" score "$T/cfg/m.efm" --data "$T/swapped.csv" --out "$T/sc2.csv"
cmp -s "$T/sc.csv" "$T/sc2.csv" || fail "column order changed the scores"

# plot: labelled figures. The SVG's text elements carry the title, panel titles, axis names,
# legend entries with row counts and ticks in data units; the PNG decodes to the grid's size
# (452 px per panel + 8 wide, 36 + 374 per row + 4 high: host/plot.cpp) and is not blank.
CHECK="python3 $(dirname "$0")/check_plot.py"
"$EF" plot "$T/cfg/spiral.csv" "$T/s1.csv" --out "$T/p.svg" || fail "plot"
$CHECK svg "$T/p.svg" "y vs x" "real: spiral.csv" "synthetic: s1.csv" "x" "y" "real (1500 rows)" \
  "synthetic (300 rows)" "0" "5" "-5" || fail "plot SVG text"
"$EF" plot "$T/cfg/spiral.csv" "$T/s1.csv" --out "$T/p.png" || fail "plot png"
$CHECK png "$T/p.png" 912 414 || fail "plot PNG"
"$EF" plot "$T/cfg/spiral.csv" "$T/s1.csv" --out "$T/p.pdf" --labels train,model || fail "plot pdf"
$CHECK pdf "$T/p.pdf" || fail "plot PDF"
"$EF" plot "$T/cfg/spiral.csv" --out "$T/p.gif" 2> "$T/e.log" && fail "plot to .gif accepted"
grep -q "unknown plot format" "$T/e.log" || fail "plot format message"
rc=0; "$EF" plot "$T/cfg/spiral.csv" "$T/s1.csv" --labels one --out "$T/p2.svg" 2> /dev/null || rc=$?
[ $rc -eq 2 ] || fail "--labels count mismatch is not a usage error"
[ -e "$T/p2.svg" ] && fail "plot written after a usage error"

# visualize: one CSV per stage (base + one per layer) and a PNG with one titled panel per stage.
"$EF" visualize "$T/cfg/m.efm" --out "$T/vis" --rows 200 2> /dev/null || fail "visualize"
[ -s "$T/vis/layers.png" ] && [ -s "$T/vis/layer_0.csv" ] || fail "visualize outputs"
[ "$(wc -l < "$T/vis/layer_0.csv")" -eq 201 ] || fail "visualize rows"
# 3 MAF layers and 2 permutations: 6 stages + the samples panel = 7 panels, 4 per row.
$CHECK png "$T/vis/layers.png" 1816 788 || fail "visualize PNG"
rc=0; "$EF" sample "$T/cfg/m.efm" --rows -5 --out "$T/neg.csv" 2> "$T/e.log" || rc=$?
[ $rc -eq 2 ] || fail "--rows -5 is not a usage error (exit 2)"
grep -q "whole number >= 1" "$T/e.log" || fail "--rows message"

# Spline flows and mixed flows from the config: "flow" may list kinds the layers cycle through.
# The model header keeps the list and the spline settings; score/sample use every layer kind.
"$EF" train "$T/cfg/c.json" --set 'model.flow=["nsf-coupling", "realnvp", "nsf-ar"]' \
  --set model.bins=6 --set output.model=mix.efm --set train.epochs=2 2> "$T/mix.log" \
  || fail "train mixed flow"
grep -q "nsf-coupling+realnvp+nsf-ar, 3 layers" "$T/mix.log" || fail "mixed flow not reported"
grep -a -q '"flow":\["nsf-coupling","realnvp","nsf-ar"\]' "$T/cfg/mix.efm" \
  || fail "mixed flow list not in the model header"
grep -a -q '"bins":6' "$T/cfg/mix.efm" || fail "bins of a mixed flow not in the model header"
"$EF" score "$T/cfg/mix.efm" --data "$T/cfg/spiral.csv" --out "$T/mix_sc.csv" || fail "score mixed"
[ "$(wc -l < "$T/mix_sc.csv")" -eq 1501 ] || fail "mixed score row count"
tail -n +2 "$T/mix_sc.csv" | awk '$1 !~ /^-?[0-9.]+(e[-+]?[0-9]+)?$/ { bad=1 } END { exit bad }' \
  || fail "non-numeric mixed score"
"$EF" sample "$T/cfg/mix.efm" --rows 200 --out "$T/mix_s.csv" --seed 1 || fail "sample mixed"
[ "$(wc -l < "$T/mix_s.csv")" -eq 201 ] || fail "mixed sample row count"
"$EF" train "$T/cfg/c.json" --set 'model.flow=["maf", "spline"]' 2> "$T/mixbad.log" \
  && fail "unknown kind in a flow list accepted"
grep -q 'c.json: model: unknown flow "spline"' "$T/mixbad.log" || fail "flow list error message"
"$EF" train "$T/cfg/c.json" --set 'model.flow=[]' 2> "$T/mixbad2.log" && fail "empty flow list accepted"
grep -q "model.flow as an array must list 1 to 64" "$T/mixbad2.log" || fail "empty flow list message"

# eftrain config: a commented template of every key that trains as it is (data path aside).
"$EF" config > "$T/cfg/template.json" || fail "eftrain config"
grep -q '"learning_rate": 0.001' "$T/cfg/template.json" || fail "template lacks a default"
grep -q '^ *//' "$T/cfg/template.json" || fail "template has no comments"
"$EF" train "$T/cfg/template.json" --set data.path=spiral.csv --set train.epochs=1 \
  --set output.model=tpl.efm 2> "$T/tpl.log" || fail "the template does not train: $(cat "$T/tpl.log")"
[ -s "$T/cfg/tpl.efm" ] || fail "template model not written"
"$EF" train --help | grep -q "eftrain config" || fail "train --help does not point to eftrain config"

[[ "$("$EF" --version)" == *CUDA* ]] || fail "--version does not say whether CUDA was compiled in"
echo "cli end-to-end: OK"
