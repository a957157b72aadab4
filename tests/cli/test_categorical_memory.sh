#!/usr/bin/env bash
# Issue 14 item 6: the memory of training a categorical column under data.categorical_max_labels
# grows with its levels like the model does (parameters, their gradients and Adam moments, and
# batch-sized activations: levels x (hidden width + batch rows)), not with levels x the rows of a
# pass. Two tables of 30,000 rows, one categorical column of 100 or of 1000 labels (and one
# continuous column conditioned on it); the extra peak RSS per extra label must stay under
# KB_PER_LABEL. Measured 2026-11-29 (1 epoch, 1 thread): 28 KB per label since the flow layers
# read the one-hot context in place (one copy per batch, not one per layer in its packed input,
# MLP input copy, input gradient and backward scratch) and the flows' init pass is skipped
# without ActNorm; 100 KB per label before that (fails a 40 KB limit), 268 KB before bounded
# validation passes.
# Usage: test_categorical_memory.sh EFTRAIN [KB_PER_LABEL=40]
set -uo pipefail
EF=$1
LIMIT=${2:-40}
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
peak_kb() {  # peak RSS (KB) of training on $T/c$1.csv; eftrain re-executes itself in place
  python3 - "$EF" "$T/c$1.json" <<'PY'
import resource, subprocess, sys
r = subprocess.run([sys.argv[1], "train", sys.argv[2]], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
if r.returncode != 0:
    sys.exit("train failed: " + r.stderr[-2000:])
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
PY
}
for L in 100 1000; do
  python3 - "$T/c$L.csv" "$L" <<'PY'
import random, sys
random.seed(3)
L = int(sys.argv[2])
with open(sys.argv[1], "w") as f:
    f.write("c,x\n")
    for i in range(30000):
        k = random.randrange(L)
        f.write(f"id{k},{random.gauss(k / L, 1):.5f}\n")
PY
  printf '{"data": {"path": "c%s.csv"}, "train": {"epochs": 1, "threads": 1}, "output": {"model": "c%s.efm"}}' \
    "$L" "$L" > "$T/c$L.json"
done
a=$(peak_kb 100) || { echo "FAIL: $a" >&2; exit 1; }
b=$(peak_kb 1000) || { echo "FAIL: $b" >&2; exit 1; }
per=$(( (b - a) / 900 ))
echo "peak RSS: 100 labels ${a} KB, 1000 labels ${b} KB: $per KB per extra label (limit $LIMIT)"
[ "$per" -le "$LIMIT" ] || { echo "FAIL: $per KB per label > $LIMIT KB" >&2; exit 1; }
echo "categorical memory: OK"
