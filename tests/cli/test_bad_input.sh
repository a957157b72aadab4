#!/usr/bin/env bash
# Bad input: every case must exit non-zero, print a message naming the problem, and leave no
# output file (and leave an existing output untouched).
# usage: test_bad_input.sh EFTRAIN
set -uo pipefail
EF=$1
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
failures=0
# expect_fail NAME SUBSTRING CMD...: non-zero exit, not a crash (status 1 or 2), message matched.
expect_fail() {
  local name=$1 want=$2; shift 2
  "$@" > "$T/out.txt" 2> "$T/err.txt"
  local rc=$?
  if [ $rc -eq 0 ]; then echo "FAIL [$name]: exit 0" >&2; failures=$((failures+1)); return; fi
  if [ $rc -gt 2 ]; then echo "FAIL [$name]: exit $rc (crash?)" >&2; cat "$T/err.txt" >&2; failures=$((failures+1)); return; fi
  if ! grep -qF -- "$want" "$T/err.txt"; then
    echo "FAIL [$name]: message lacks '$want':" >&2; cat "$T/err.txt" >&2; failures=$((failures+1)); return
  fi
  echo "ok [$name]: $(grep -F -- "$want" "$T/err.txt" | head -1)"
}

printf 'x,y\n1,2\n2,3.5\n3,1\n4,0\n5,2\n6,1\n' > "$T/good.csv"
cfg() {  # cfg FILE DATA [extra train json]
  printf '{"data": {"path": "%s"}, "model": {"flow": "maf", "layers": 1, "hidden": [4]}, "train": {"epochs": 1%s}, "output": {"model": "%s.efm"}}\n' "$2" "${3:-}" "$1" > "$1"
}
cfg "$T/ok.json" "$T/good.csv"
"$EF" train "$T/ok.json" 2>/dev/null || { echo "FAIL: cannot train the reference model" >&2; exit 1; }
M="$T/ok.json.efm"

# --- config ---
expect_fail "missing config" "cannot open" "$EF" train "$T/nope.json"
printf '{"data": {"path": "x.csv"},\n "train": {"epochs": 1,,}\n}\n' > "$T/malformed.json"
expect_fail "malformed JSON" "line 2, column" "$EF" train "$T/malformed.json"
printf '{"data": {"path": "x.csv"}, "trian": {}}' > "$T/unknown.json"
expect_fail "unknown key" 'unknown key "trian"' "$EF" train "$T/unknown.json"
cfg "$T/type.json" "$T/good.csv" ', "batch_size": "big"'
expect_fail "wrong type" "train.batch_size must be integer or \"auto\" (got \"big\")" "$EF" train "$T/type.json"
cfg "$T/ep.json" "$T/good.csv" ', "epochs": 0'
expect_fail "zero epochs" "train.epochs must be in [1, 1000000000] (got 0)" "$EF" train "$T/ep.json"
cfg "$T/bs.json" "$T/good.csv" ', "batch_size": -3'
expect_fail "negative batch" "train.batch_size must be in [1, 1000000000] (got -3)" "$EF" train "$T/bs.json"
printf '{"data": {"path": "%s"}, "model": {"flow": "glow"}}' "$T/good.csv" > "$T/flow.json"
expect_fail "unknown flow" 'flow.json: model: unknown flow "glow"' "$EF" train "$T/flow.json"
printf '{"data": {"path": "%s"}, "conditional": ["nope"]}' "$T/good.csv" > "$T/cond.json"
expect_fail "unknown conditional" 'conditional column "nope" is not a column of' "$EF" train "$T/cond.json"
expect_fail "bad --set" "expected KEY=VALUE" "$EF" train "$T/ok.json" --set novalue

printf '{"data": {"path": "%s", "columns": {"x": {"type": "continuous", "mn": 0}}}}' "$T/good.csv" > "$T/colkey.json"
expect_fail "unknown column option" 'unknown key "data.columns.x.mn"' "$EF" train "$T/colkey.json"
printf '{"data": {"path": "%s", "columns": {"x": "text"}}}' "$T/good.csv" > "$T/coltype.json"
expect_fail "unknown column type" 'data.columns.x: unknown type "text"' "$EF" train "$T/coltype.json"
printf '{"data": {"path": "%s", "columns": {"x": {"type": "continuous", "min": 3}}}}' "$T/good.csv" > "$T/below.json"
expect_fail "value below declared min" 'row 1, column "x": 1 is below the declared min 3' "$EF" train "$T/below.json"
printf '{"data": {"path": "%s", "columns": {"x": {"type": "continuous", "min": 5, "max": 1}}}}' "$T/good.csv" > "$T/minmax.json"
expect_fail "max below min" 'max must be greater than min' "$EF" train "$T/minmax.json"
printf '{"data": {"path": "%s", "missing": "NA"}}' "$T/good.csv" > "$T/miss.json"
expect_fail "missing tokens not a list" 'data.missing must be an array' "$EF" train "$T/miss.json"

printf '{"data": {"path": "%s"}, "train": {"learning_rate": 1e309}}' "$T/good.csv" > "$T/overflow.json"
expect_fail "number overflow" 'overflow.json: invalid JSON' "$EF" train "$T/overflow.json"
expect_fail "--set number overflow" 'number overflow' "$EF" train "$T/ok.json" --set train.learning_rate=1e309
expect_fail "--set invalid UTF-8" 'not valid UTF-8' "$EF" train "$T/ok.json" --set $'data.path=\xff.csv'
expect_fail "integer out of range" 'model.layers must be in [1, 1000] (got 4294967297)' "$EF" train "$T/ok.json" --set model.layers=4294967297
printf 'a,b\ncaf\xe9,1\nx,2\n' > "$T/latin1.csv"
printf '{"data": {"path": "%s", "columns": {"a": "categorical"}}, "output": {"model": "%s"}}' "$T/latin1.csv" "$T/l1.efm" > "$T/latin1.json"
expect_fail "latin-1 label" 'row 1, column "a": the label is not valid UTF-8' "$EF" train "$T/latin1.json"

# --- data files ---
cfg "$T/d1.json" "$T/absent.csv";   expect_fail "missing data" "absent.csv: no such file" "$EF" train "$T/d1.json"
: > "$T/empty.csv"; cfg "$T/d2.json" "$T/empty.csv"; expect_fail "empty data" "empty.csv: the file is empty" "$EF" train "$T/d2.json"
printf 'x,y\n' > "$T/header.csv"; cfg "$T/d3.json" "$T/header.csv"; expect_fail "header only" "no data rows" "$EF" train "$T/d3.json"
printf 'x,y\n1,2\n3\n' > "$T/ragged.csv"; cfg "$T/d4.json" "$T/ragged.csv"; expect_fail "ragged row" "ragged.csv: row 2: 1 fields" "$EF" train "$T/d4.json"
printf 'x,y\n1,2\n3,abc\n' > "$T/text.csv"
printf '{"data": {"path": "%s", "columns": {"x": "continuous", "y": "continuous"}}, "output": {"model": "%s"}}' "$T/text.csv" "$T/t.efm" > "$T/d5.json"
expect_fail "text in numeric column" 'text.csv: row 2, column "y": "abc" is not a finite number' "$EF" train "$T/d5.json"
printf 'x,x\n1,2\n3,4\n' > "$T/dup.csv"; cfg "$T/d6.json" "$T/dup.csv"; expect_fail "duplicate columns" 'duplicate column name "x"' "$EF" train "$T/d6.json"
head -c 4000 /dev/urandom > "$T/random.csv"; cfg "$T/d7.json" "$T/random.csv"; expect_fail "random bytes as data" "random.csv" "$EF" train "$T/d7.json"
printf 'x,y\n1,"unterminated\n' > "$T/quote.csv"; cfg "$T/d8.json" "$T/quote.csv"; expect_fail "bad quoting" "quote.csv" "$EF" train "$T/d8.json"
[ -e "$T/d5.json.efm" ] || [ -e "$T/t.efm" ] && { echo "FAIL: a model was written for bad data" >&2; failures=$((failures+1)); }

# --- sample ---
expect_fail "rows zero" "--rows: must be positive" "$EF" sample "$M" --rows 0 --out "$T/o.csv"
expect_fail "rows negative" "--rows: must be positive" "$EF" sample "$M" --rows -5 --out "$T/o.csv"
expect_fail "missing model" "cannot open the model file" "$EF" sample "$T/none.efm" --rows 5 --out "$T/o.csv"
head -c 100 "$M" > "$T/trunc.efm"; expect_fail "truncated model" "truncated" "$EF" sample "$T/trunc.efm" --rows 5 --out "$T/o.csv"
head -c $(( $(stat -c %s "$M") - 3 )) "$M" > "$T/trunc2.efm"; expect_fail "truncated model tail" "trunc2.efm" "$EF" sample "$T/trunc2.efm" --rows 5 --out "$T/o.csv"
head -c 3000 /dev/urandom > "$T/rand.efm"; expect_fail "random model" "bad magic" "$EF" sample "$T/rand.efm" --rows 5 --out "$T/o.csv"
cp "$M" "$T/flip.efm"; printf '\xff\x7f\xff\x7f' | dd of="$T/flip.efm" bs=1 seek=$(( $(stat -c %s "$M") - 40 )) conv=notrunc 2>/dev/null
expect_fail "corrupt model" "checksum mismatch" "$EF" sample "$T/flip.efm" --rows 5 --out "$T/o.csv"
expect_fail "given unknown column" "no such column" "$EF" sample "$M" --rows 5 --out "$T/o.csv" --given zz=1
expect_fail "given undeclared column" 'not declared "conditional"' "$EF" sample "$M" --rows 5 --out "$T/o.csv" --given x=1
[ -e "$T/o.csv" ] && { echo "FAIL: sample left an output file after an error" >&2; failures=$((failures+1)); }

# --- score ---
printf 'x\n1\n' > "$T/onecol.csv"
echo "keep" > "$T/existing.csv"
expect_fail "score missing column" 'onecol.csv: column "y" is missing (required by the model)' "$EF" score "$M" --data "$T/onecol.csv" --out "$T/existing.csv"
[ "$(cat "$T/existing.csv")" = "keep" ] || { echo "FAIL: a failed score clobbered its output" >&2; failures=$((failures+1)); }
printf 'x,y\n1,2\n1,zz\n' > "$T/badval.csv"
expect_fail "score bad value" 'badval.csv: row 2, column "y"' "$EF" score "$M" --data "$T/badval.csv" --out "$T/sc.csv"
expect_fail "score missing data" "no such file" "$EF" score "$M" --data "$T/none.csv" --out "$T/sc.csv"
[ -e "$T/sc.csv" ] && { echo "FAIL: score left an output file after an error" >&2; failures=$((failures+1)); }
expect_fail "unknown subcommand" "" "$EF" frobnicate
ls "$T" | grep -q '\.tmp\.' && { echo "FAIL: temporary files left behind" >&2; failures=$((failures+1)); }

if [ $failures -ne 0 ]; then echo "$failures bad-input case(s) failed" >&2; exit 1; fi
echo "bad input: all cases OK"
