#!/usr/bin/env bash
# End-to-end: a real mixed table (Palmer penguins: categorical, integer, continuous columns with
# NA), read from .csv.gz, conditional sampling on categorical and continuous columns, scoring;
# the schema table (train, info), the error messages' hints, missing tokens kept as written,
# plots of categorical and few-valued integer columns.
# usage: test_tabular_cli.sh EFTRAIN PENGUINS_CSV (tests/data/penguins.csv, shipped)
set -euo pipefail
EF=$1; CSV=$2
CHECK="python3 $(dirname "$0")/check_plot.py"
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
gzip -c "$CSV" > "$T/penguins.csv.gz"
cat > "$T/p.json" <<JSON
{"data": {"path": "penguins.csv.gz",
          "columns": {"body_mass_g": {"type": "integer", "min": 0},
                      "bill_length_mm": {"type": "continuous", "min": 0}}},
 "model": {"flow": "maf", "layers": 3, "hidden": [32, 32]},
 "train": {"epochs": 30, "batch_size": 32, "learning_rate": 3e-3, "patience": 10},
 "conditional": ["bill_length_mm", "species"],
 "output": {"model": "p.efm"}}
JSON
"$EF" train "$T/p.json" 2> "$T/train.log" || { cat "$T/train.log"; fail "train"; }
# The schema is printed before the first epoch and stored in the model (eftrain info).
sed -n '1,/^epoch 1\//p' "$T/train.log" > "$T/before.log"
grep -Eq "^ +species +categorical +categorical MADE +3: Adelie, Chinstrap, Gentoo +0.0% +- +yes" "$T/before.log" \
  || { cat "$T/train.log"; fail "schema line for species"; }
grep -Eq "^ +year +categorical .* 3: 2007, 2008, 2009 " "$T/before.log" || fail "schema: year inferred categorical"
grep -Eq "^ +body_mass_g +integer +dequantize \+ logit \+ [a-z]+ +\[2700, 6300\] +0.6% " "$T/before.log" \
  || fail "schema line for body_mass_g"
grep -Eq "^ +sex +categorical .* +3.2% +- +no" "$T/before.log" || fail "schema: sex missing rate"
grep -Eq "^  device: (cpu \(requested \"auto\"; .+\)|cuda \(requested \"auto\"\))$" "$T/before.log" \
  || fail "schema: device line (with the reason for a CPU fallback)"
"$EF" info "$T/p.efm" > "$T/info.txt" || fail "info"
for pat in "^ +species +categorical" "^ +bill_length_mm +continuous .* yes$" "^  device: " \
           "^training: [0-9]+ epochs in .* best epoch [0-9]+, validation NLL -?[0-9.]+"; do
  grep -Eq "$pat" "$T/info.txt" || { cat "$T/info.txt"; fail "info lacks /$pat/"; }
done

# train.weight_decay "auto" on a small table: its value and modules in the summary and in info.
cat > "$T/wd.json" <<JSON
{"data": {"path": "penguins.csv.gz"}, "model": {"layers": 1, "hidden": [8]},
 "train": {"epochs": 2, "weight_decay": "auto"}, "output": {"model": "wd.efm"}}
JSON
"$EF" train "$T/wd.json" 2> "$T/wd.log" || { cat "$T/wd.log"; fail "train with weight_decay auto"; }
grep -q "; weight decay 0.5 on the categorical model" "$T/wd.log" || { cat "$T/wd.log"; fail "summary lacks the decay"; }
"$EF" info "$T/wd.efm" | grep -Eq "^weight decay: 0.5 on categorical$" || fail "info lacks the decay"
"$EF" info "$T/p.efm" | grep -q "^weight decay" && fail "info shows a decay that was not used"

"$EF" sample "$T/p.efm" --rows 2000 --seed 1 --out "$T/s.csv"
[ "$(head -1 "$T/s.csv")" = "$(head -1 "$CSV")" ] || fail "header or column order changed"
python3 - "$T/s.csv" <<'PY' || fail "sample content"
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
assert len(rows) == 2000, len(rows)
assert {r["species"] for r in rows} <= {"Adelie", "Chinstrap", "Gentoo"}
assert {r["island"] for r in rows} <= {"Biscoe", "Dream", "Torgersen"}
assert {r["year"] for r in rows} <= {"2007", "2008", "2009"}, {r["year"] for r in rows}
sexes = [r["sex"] for r in rows]
assert set(sexes) <= {"male", "female", "NA"}, set(sexes)
assert 0 < sexes.count("NA") < 200, sexes.count("NA")    # training rate 11/344 = 3%
for r in rows:
    if r["body_mass_g"] != "NA":
        assert r["body_mass_g"].isdigit(), r["body_mass_g"]   # integer, non-negative
    if r["bill_length_mm"] != "NA":
        assert float(r["bill_length_mm"]) >= 0
PY

# Conditional on the categorical column, which comes after a free continuous one in block C:
# importance resampling with exact weights, and its effective sample size is reported.
"$EF" sample "$T/p.efm" --rows 300 --out "$T/g1.csv" --given species=Gentoo 2> "$T/g1.log"
grep -q "effective sample size" "$T/g1.log" || fail "no ESS report for importance resampling"
[ "$(tail -n +2 "$T/g1.csv" | cut -d, -f1 | sort -u)" = "Gentoo" ] || fail "--given species"
python3 -c "
import csv,sys
b=[float(r['bill_length_mm']) for r in csv.DictReader(open('$T/g1.csv')) if r['bill_length_mm']!='NA']
m=sum(b)/len(b); print('mean bill length given Gentoo: %.1f (data: 47.5)' % m); sys.exit(0 if 45 < m < 50 else 1)
" || fail "Gentoo bill lengths"
# Conditional on the continuous column (a prefix of block C): exact ancestral draws.
"$EF" sample "$T/p.efm" --rows 300 --out "$T/g2.csv" --given bill_length_mm=50.5
[ "$(tail -n +2 "$T/g2.csv" | cut -d, -f3 | sort -u)" = "50.5" ] || fail "--given bill_length_mm"
# Long-billed penguins are rarely Adelie (their bills are ~39 mm).
adelie=$(tail -n +2 "$T/g2.csv" | cut -d, -f1 | grep -c Adelie || true)
[ "$adelie" -lt 60 ] || fail "conditional on bill length 50.5 still draws $adelie/300 Adelie"
"$EF" sample "$T/p.efm" --rows 50 --out "$T/g3.csv" --given species=Adelie --given bill_length_mm=39 \
  || fail "--given both"

# Errors.
"$EF" sample "$T/p.efm" --rows 5 --out "$T/e.csv" --given island=Dream 2> "$T/e.log" && fail "undeclared accepted"
grep -q 'not declared "conditional"' "$T/e.log" || fail "undeclared message"
"$EF" sample "$T/p.efm" --rows 5 --out "$T/e.csv" --given species=Dodo 2> "$T/e.log" && fail "unseen label accepted"
grep -q 'not seen in training; known labels (3): "Adelie", "Chinstrap", "Gentoo"' "$T/e.log" \
  || { cat "$T/e.log"; fail "unseen label message lists the labels"; }
"$EF" sample "$T/p.efm" --rows 5 --out "$T/e.csv" --given Species=Adelie 2> "$T/e.log" && fail "Species accepted"
grep -q 'no such column in the model (did you mean "species"?)' "$T/e.log" || fail "no suggestion for Species"
rc=0; "$EF" sample "$T/p.efm" --rows -5 --out "$T/e.csv" 2> "$T/e.log" || rc=$?
[ $rc -eq 2 ] || fail "--rows -5 exits $rc, not 2 (usage error)"
"$EF" sample "$T/p.efm" --rows 5 --out "$T/e.csv" --given bill_length_mm=long 2> "$T/e.log" && fail "bad number accepted"
[ -e "$T/e.csv" ] && fail "output written on error"

# Score: one finite value per row (rows with NA included); unseen labels score -inf.
"$EF" score "$T/p.efm" --data "$CSV" --out "$T/sc.csv"
[ "$(wc -l < "$T/sc.csv")" -eq 345 ] || fail "score rows"
grep -qi "inf\|nan" "$T/sc.csv" && fail "non-finite score of a training row"
# (head first: `sed | head` can die of SIGPIPE, which pipefail turns into a failure)
head -5 "$CSV" | sed 's/^Adelie,/Dodo,/' > "$T/dodo.csv"
"$EF" score "$T/p.efm" --data "$T/dodo.csv" --out "$T/sc2.csv"
[ "$(tail -n +2 "$T/sc2.csv" | sort -u)" = "-inf" ] || fail "unseen label should score -inf"

# Missing values are written back as the input wrote them: here empty fields, not "".
sed 's/,NA,/,,/g; s/,NA$/,/' "$CSV" > "$T/empty.csv"
cat > "$T/e.json" <<JSON
{"data": {"path": "empty.csv"}, "model": {"layers": 2, "hidden": [16]},
 "train": {"epochs": 2, "threads": 1}, "output": {"model": "e.efm"}}
JSON
"$EF" train "$T/e.json" 2> /dev/null || fail "train on empty missing fields"
"$EF" sample "$T/e.efm" --rows 2000 --seed 3 --out "$T/es.csv"
grep -q '""' "$T/es.csv" && fail 'missing values written as "" though the input used empty fields'
python3 - "$T/es.csv" <<'PY' || fail "empty missing fields"
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
assert 0 < sum(r["sex"] == "" for r in rows) < 200
PY

# plot: a few-valued integer column (year: categorical to inference) and a categorical one.
"$EF" plot "$CSV" "$T/s.csv" --x flipper_length_mm --y year --out "$T/fy.svg" || fail "plot integer column"
$CHECK svg "$T/fy.svg" "year vs flipper_length_mm" "year (jittered)" "2007" "2008" "2009" \
  "real (344 rows, 2 missing, not shown)" || fail "plot of year"
"$EF" plot "$CSV" "$T/s.csv" --x species --y body_mass_g --out "$T/sb.png" || fail "plot categorical"
"$EF" plot "$CSV" "$T/s.csv" --x species --y body_mass_g --out "$T/sb.svg"
$CHECK svg "$T/sb.svg" "species (jittered)" "Adelie" "Chinstrap" "Gentoo" "body_mass_g" || fail "plot of species"
$CHECK png "$T/sb.png" 912 414 || fail "categorical plot PNG"
echo "tabular cli: OK"
