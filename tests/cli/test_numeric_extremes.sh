#!/usr/bin/env bash
# Numbers at the edges (issue 14 items 1, 9, 10; issue 16 support), through eftrain:
#   - a column near 1e170 trains, and the model it writes loads, samples and scores finitely
#     (its moments used to overflow to a null sd: a model that "trained" but could not load);
#   - a column whose range overflows double is refused by name, and an existing model is kept;
#   - one inf / NaN / 1e999 cell in a column of numbers is an error naming row and column (it
#     used to turn the column categorical with hundreds of labels), or missing when listed;
#   - Cauchy data (20k rows, heavy tails) trains stably with the default encoder: finite
#     validation NLL every epoch, no swings, finite scores;
#   - positive columns never sampled <= 0 and integers 0..16 stay there on defaults.
# usage: test_numeric_extremes.sh EFTRAIN
set -uo pipefail
EF=$1
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures+1)); }
cfg() {  # cfg FILE DATA [extra data json] [extra train json]
  printf '{"data": {"path": "%s"%s}, "model": {"layers": 2, "hidden": [16]}, "train": {"epochs": 3, "threads": 1%s}, "output": {"model": "%s.efm"}}\n' \
    "$2" "${3:-}" "${4:-}" "$1" > "$1"
}

python3 - "$T" <<'PY'
import math, random, sys
d = sys.argv[1]
random.seed(5)
with open(f"{d}/big.csv", "w") as f:
    f.write("big,y\n")
    for i in range(600):
        f.write(f"{random.gauss(3, 1) * 1e170:.9g},{random.gauss(0, 1):.6f}\n")
with open(f"{d}/span.csv", "w") as f:
    f.write("span,y\n")
    for i in range(300):
        f.write(f"{1.5e308 * (2 * i / 299 - 1):.9g},{random.gauss(0, 1):.6f}\n")
for tok in ["inf", "NaN", "1e999", "-Infinity"]:
    with open(f"{d}/tok_{tok}.csv", "w") as f:
        f.write("x,y\n")
        for i in range(200):
            f.write(f"{tok if i == 2 else f'{random.gauss(0, 1):.5f}'},{i % 7}\n")
with open(f"{d}/cauchy.csv", "w") as f:
    f.write("x\n")
    for i in range(20000):
        f.write(f"{math.tan(math.pi * (random.random() - 0.5)):.6g}\n")
with open(f"{d}/pos.csv", "w") as f:
    f.write("price,count\n")
    for i in range(3000):
        k = min(16, max(0, round(random.gauss(8, 3))))
        f.write(f"{math.exp(random.gauss(0, 1)) * 100:.4f},{k}\n")
PY

# --- 1e170: trains, writes a loadable model, samples and scores finitely (both supports) ---
for sup in observed unbounded; do
  cfg "$T/big_$sup.json" "$T/big.csv" ", \"support\": \"$sup\""
  if ! "$EF" train "$T/big_$sup.json" 2> "$T/big.log"; then fail "1e170 column ($sup): train failed"; cat "$T/big.log" >&2; continue; fi
  "$EF" sample "$T/big_$sup.json.efm" --rows 2000 --seed 3 --out "$T/big_s.csv" 2> "$T/err.txt" || { fail "1e170 ($sup): sample"; cat "$T/err.txt" >&2; }
  "$EF" score "$T/big_$sup.json.efm" --data "$T/big.csv" --out "$T/big_lp.csv" 2> "$T/err.txt" || { fail "1e170 ($sup): score"; cat "$T/err.txt" >&2; }
  python3 - "$T/big_s.csv" "$T/big_lp.csv" <<'PY' || fail "1e170 ($sup): non-finite samples or scores"
import csv, math, sys
s = [float(r["big"]) for r in csv.DictReader(open(sys.argv[1]))]
lp = [float(r["log_prob"]) for r in csv.DictReader(open(sys.argv[2]))]
assert len(s) == 2000 and all(math.isfinite(v) and abs(v) < 1e172 for v in s), (min(s), max(s))
assert len(lp) == 600 and all(math.isfinite(v) for v in lp), [v for v in lp if not math.isfinite(v)][:3]
m = sum(s) / len(s)
assert 1.5e170 < m < 4.5e170, m  # the data's mean is 3e170
PY
  echo "ok [1e170 column, support $sup]"
done

# --- a range that overflows double: refused by name; the existing model is kept ---
cfg "$T/span.json" "$T/span.csv"
cp "$T/big_observed.json.efm" "$T/span.json.efm"
cp "$T/span.json.efm" "$T/keep.efm"
if "$EF" train "$T/span.json" 2> "$T/err.txt"; then fail "overflowing range: exit 0"
elif ! grep -qF 'column "span"' "$T/err.txt"; then fail "overflowing range: message lacks the column"; cat "$T/err.txt" >&2
else echo "ok [overflowing range]: $(grep -F 'column "span"' "$T/err.txt" | head -1)"; fi
cmp -s "$T/span.json.efm" "$T/keep.efm" || fail "overflowing range: the existing model was replaced"

# --- one non-finite token in a column of numbers ---
for tok in inf NaN 1e999 -Infinity; do
  cfg "$T/tok.json" "$T/tok_$tok.csv"
  if "$EF" train "$T/tok.json" 2> "$T/err.txt"; then fail "token $tok: exit 0 (column read as categorical?)"
  elif ! grep -qF "row 3, column \"x\": \"$tok\" is not a finite number" "$T/err.txt"; then
    fail "token $tok: message lacks row and column"; cat "$T/err.txt" >&2
  else echo "ok [token $tok]: $(head -1 "$T/err.txt")"; fi
  # Listed as a missing token it is a missing value, and x stays numeric.
  cfg "$T/tokm.json" "$T/tok_$tok.csv" ", \"missing\": [\"\", \"$tok\"]"
  "$EF" train "$T/tokm.json" 2> "$T/err.txt" || { fail "token $tok as missing: train"; cat "$T/err.txt" >&2; continue; }
  "$EF" sample "$T/tokm.json.efm" --rows 500 --seed 1 --out "$T/tok_s.csv" 2>/dev/null || fail "token $tok as missing: sample"
  python3 - "$T/tok_s.csv" "$tok" <<'PY' || fail "token $tok as missing: x not numeric with missing values"
import csv, sys
xs = [r["x"] for r in csv.DictReader(open(sys.argv[1]))]
vals = [float(x) for x in xs if x != sys.argv[2]]
assert len(set(vals)) > 50, len(set(vals))
PY
done

# --- Cauchy, 20k rows, default encoder: a stable validation curve, finite scores ---
cfg "$T/cauchy.json" "$T/cauchy.csv" "" ', "epochs": 8, "patience": 0'
if "$EF" train "$T/cauchy.json" 2> "$T/cauchy.log"; then
  "$EF" score "$T/cauchy.json.efm" --data "$T/cauchy.csv" --out "$T/cauchy_lp.csv" 2>/dev/null || fail "cauchy: score"
  if python3 - "$T/cauchy.log" "$T/cauchy_lp.csv" "$T/cauchy.csv" <<'PY'; then echo "ok [cauchy]"; else fail "cauchy: unstable validation curve, non-finite scores or far from the true density"; fi
import csv, math, re, sys
val = [float(m.group(1)) for m in re.finditer(r"^epoch .*val NLL\s+(\S+)", open(sys.argv[1]).read(), re.M)]
print("cauchy val NLL by epoch:", val)
assert len(val) == 8 and all(math.isfinite(v) for v in val), val
# Monotone-ish: no epoch more than 0.25 nats above the best so far (it swung 15 -> 274968).
best = val[0]
for v in val[1:]:
    assert v <= best + 0.25, (v, best)
    best = min(best, v)
assert val[-1] <= val[0] + 0.05, val
lp = [float(r["log_prob"]) for r in csv.DictReader(open(sys.argv[2]))]
assert len(lp) == 20000 and all(math.isfinite(v) for v in lp)
# Near the truth: the Cauchy log-density is -log(pi) - log(1 + x^2).
xs = [float(r["x"]) for r in csv.DictReader(open(sys.argv[3]))]
true_nll = sum(math.log(math.pi) + math.log1p(x * x) for x in xs) / len(xs)
nll = -sum(lp) / len(lp)
print(f"cauchy NLL {nll:.4f}, true density {true_nll:.4f}")
assert nll < true_nll + 0.15, (nll, true_nll)
PY
else
  fail "cauchy: train failed"; tail -3 "$T/cauchy.log" >&2
fi

# --- support on defaults: positive never <= 0, integers 0..16 stay there ---
cfg "$T/pos.json" "$T/pos.csv"
if "$EF" train "$T/pos.json" 2> "$T/err.txt" && "$EF" sample "$T/pos.json.efm" --rows 20000 --seed 2 --out "$T/pos_s.csv" 2>/dev/null; then
  python3 - "$T/pos.csv" "$T/pos_s.csv" <<'PY' || fail "support: samples left the observed range"
import csv, sys
tr = list(csv.DictReader(open(sys.argv[1])))
s = list(csv.DictReader(open(sys.argv[2])))
p = [float(r["price"]) for r in tr]
lo, hi = min(p), max(p)
top = hi + 0.1 * (hi - lo)
sp = [float(r["price"]) for r in s]
assert min(sp) > 0, min(sp)
assert max(sp) <= top, (max(sp), top)
k = [int(r["count"]) for r in s]
assert min(k) >= 0 and max(k) <= 16, (min(k), max(k))
PY
  echo "ok [support on defaults]"
else
  fail "support: train or sample"; cat "$T/err.txt" >&2
fi

# The switch: with data.support = "unbounded" a row far above the observed max scores finitely;
# on defaults it is outside the support (-inf).
printf 'price,count\n1e9,3\n' > "$T/far.csv"
cfg "$T/posu.json" "$T/pos.csv" ', "support": "unbounded"'
"$EF" train "$T/posu.json" 2>/dev/null || fail "unbounded: train"
"$EF" score "$T/posu.json.efm" --data "$T/far.csv" --out "$T/far_u.csv" 2>/dev/null || fail "unbounded: score"
"$EF" score "$T/pos.json.efm" --data "$T/far.csv" --out "$T/far_o.csv" 2>/dev/null || fail "observed: score"
[ "$(sed -n 2p "$T/far_o.csv")" = "-inf" ] || fail "observed support: a row far outside scores $(sed -n 2p "$T/far_o.csv"), not -inf"
python3 -c "import math,sys; v=float(open(sys.argv[1]).read().split()[1]); assert math.isfinite(v), v" "$T/far_u.csv" \
  || fail "unbounded support: a row far outside does not score finitely"

[ $failures -eq 0 ] || { echo "$failures failure(s)" >&2; exit 1; }
echo "all numeric-extreme cases passed"
