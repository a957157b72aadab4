#!/usr/bin/env bash
# Peak RSS of streaming `sample` and `score` (README "Files", docs/FILES.md): a 4-column MAF
# (3 layers, hidden [32, 32]) samples 10M rows and scores them; a 16-column MAF (2 layers,
# hidden [32]) samples 3.3M rows (about 1 GB of CSV) and scores them. Needs ~2 GB of disk in WORK.
#   bench/stream_memory.sh [EFTRAIN=build-cpu/eftrain] [WORK=a new temporary folder]
set -euo pipefail
EF=$(realpath "${1:-build-cpu/eftrain}")
W=${2:-$(mktemp -d)}
mkdir -p "$W" && cd "$W"
python3 - <<'PY'
import math, random
random.seed(7)
with open("t4.csv", "w") as f:
    f.write("a,b,c,d\n")
    for i in range(3000):
        a = random.gauss(0, 1); b = a * a + random.gauss(0, .3)
        f.write(f"{a:.5f},{b:.5f},{math.sin(a) + random.gauss(0, .2):.5f},{random.expovariate(1):.5f}\n")
with open("t16.csv", "w") as f:
    f.write(",".join(f"x{j}" for j in range(16)) + "\n")
    for i in range(3000):
        z = random.gauss(0, 1)
        f.write(",".join(f"{z * (j % 3) + random.gauss(0, 1):.5f}" for j in range(16)) + "\n")
PY
printf '{"data": {"path": "t4.csv"}, "model": {"flow": "maf", "layers": 3, "hidden": [32, 32]}, "train": {"epochs": 3, "threads": 1}, "output": {"model": "m4.efm"}}\n' > c4.json
printf '{"data": {"path": "t16.csv"}, "model": {"flow": "maf", "layers": 2, "hidden": [32]}, "train": {"epochs": 3, "threads": 1}, "output": {"model": "m16.efm"}}\n' > c16.json
"$EF" train c4.json 2> train4.log
"$EF" train c16.json 2> train16.log
run() {  # NAME CMD...: peak RSS and CPU time of CMD
  local name=$1; shift
  /usr/bin/time -v "$@" 2> "time_$name.txt"
  printf '%-16s peak RSS %6d KB  user %6.2f s  sys %5.2f s\n' "$name" \
    "$(awk -F: '/Maximum resident/ {print $2}' "time_$name.txt")" \
    "$(awk -F: '/User time/ {print $2}' "time_$name.txt")" "$(awk -F: '/System time/ {print $2}' "time_$name.txt")"
}
run sample10M "$EF" sample m4.efm --rows 10000000 --out s4.csv
echo "s4.csv: $(stat -c %s s4.csv) bytes"
run score10M "$EF" score m4.efm --data s4.csv --out lp4.csv
rm -f s4.csv lp4.csv
run sample3.3M_16c "$EF" sample m16.efm --rows 3300000 --out s16.csv
echo "s16.csv: $(stat -c %s s16.csv) bytes"
run score1GB "$EF" score m16.efm --data s16.csv --out lp16.csv
rm -f s16.csv lp16.csv
