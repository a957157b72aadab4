#!/usr/bin/env bash
# Start-up cost of eftrain: what a pipeline that calls the CLI thousands of times pays per call.
# For each binary given, `--help`, `--version` and a CPU `sample --rows 1` of a small model
# (trained once on tests/data/penguins.csv, device cpu), each run REPEATS times (default 5),
# alternating binaries; prints the best wall time (ms, bash's EPOCHREALTIME) and the largest
# resident set (MB, GNU time's %M) of each, the least CPU time of all its threads (ms, perf stat's
# task-clock: on a loaded machine the wall time measures the queue, this the work), as a
# markdown table, plus whether the run mapped a CUDA library (LD_DEBUG=files).
#   bash bench/startup.sh LABEL=path/to/eftrain [LABEL=path/to/eftrain ...]
# e.g. bash bench/startup.sh before=build-cuda-base/eftrain after=build-cuda/eftrain cpu=build-cpu/eftrain
set -euo pipefail
cd "$(dirname "$0")/.."
REPEATS=${REPEATS:-5}
[ $# -ge 1 ] || { sed -n 2,9p "$0"; exit 2; }
[ -x /usr/bin/time ] || { echo "startup.sh: needs GNU time (/usr/bin/time)" >&2; exit 1; }
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
LABELS=(); BINS=()
for a in "$@"; do LABELS+=("${a%%=*}"); BINS+=("$(realpath "${a#*=}")"); done

cat > "$T/c.json" <<JSON
{"data": {"path": "$PWD/tests/data/penguins.csv"}, "model": {"layers": 2, "hidden": [16]},
 "train": {"epochs": 1, "threads": 1}, "device": "cpu", "output": {"model": "$T/m.efm"}}
JSON
"${BINS[0]}" train "$T/c.json" > /dev/null 2>&1

CMDS=("--help" "--version" "sample $T/m.efm --rows 1 --out $T/s.csv")
NAMES=("--help" "--version" "sample --rows 1 (cpu)")
declare -A BEST RSS CUDA
for ((r = 0; r < REPEATS; r++)); do
  for c in "${!CMDS[@]}"; do
    for b in "${!BINS[@]}"; do
      k="$b,$c"
      # shellcheck disable=SC2086  # the command's words
      t0=$EPOCHREALTIME
      /usr/bin/time -o "$T/rss" -f %M "${BINS[$b]}" ${CMDS[$c]} > /dev/null 2>&1
      t1=$EPOCHREALTIME
      ms=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", (b - a) * 1000 }')
      kb=$(cat "$T/rss")
      if [[ -z ${BEST[$k]:-} ]] || awk -v x="$ms" -v y="${BEST[$k]}" 'BEGIN { exit !(x < y) }'; then
        BEST[$k]=$ms
      fi
      [[ -n ${RSS[$k]:-} && ${RSS[$k]} -ge $kb ]] || RSS[$k]=$kb
    done
  done
done
# CPU time of all threads (perf's task-clock, ms): what the run costs whatever the machine's load.
declare -A CPU
for ((r = 0; r < REPEATS; r++)); do
  for c in "${!CMDS[@]}"; do
    for b in "${!BINS[@]}"; do
      k="$b,$c"
      if ! command -v perf > /dev/null; then CPU[$k]="n/a"; continue; fi
      # shellcheck disable=SC2086
      ms=$(perf stat -x, -e task-clock "${BINS[$b]}" ${CMDS[$c]} 2>&1 > /dev/null |
        awk -F, '/task-clock/ { printf "%.1f", $1 }')
      [[ -n $ms ]] || ms="n/a"
      if [[ -z ${CPU[$k]:-} || ${CPU[$k]} == "n/a" ]] ||
        awk -v x="$ms" -v y="${CPU[$k]}" 'BEGIN { exit !(x < y) }'; then
        CPU[$k]=$ms
      fi
    done
  done
done
for c in "${!CMDS[@]}"; do
  for b in "${!BINS[@]}"; do
    # shellcheck disable=SC2086
    LD_DEBUG=files "${BINS[$b]}" ${CMDS[$c]} > /dev/null 2> "$T/ld.log" || true
    if grep -qE 'file=[^ ]*(libcudart|libcublas)' "$T/ld.log"; then CUDA["$b,$c"]=yes; else CUDA["$b,$c"]=no; fi
  done
done

echo "eftrain start-up, best of $REPEATS ($(nproc) cores, load average $(cut -d' ' -f1 /proc/loadavg), $(date -u +%Y-%m-%d\ %H:%M) UTC)"
echo
echo "| binary | command | wall ms (best) | CPU ms (best) | max RSS MB | cudart/cuBLAS loaded |"
echo "|---|---|---:|---:|---:|---|"
for b in "${!BINS[@]}"; do
  for c in "${!CMDS[@]}"; do
    k="$b,$c"
    printf '| %s | `%s` | %s | %s | %s | %s |\n' "${LABELS[$b]}" "${NAMES[$c]}" "${BEST[$k]}" "${CPU[$k]}" \
      "$(awk -v k="${RSS[$k]}" 'BEGIN { printf "%.1f", k / 1024 }')" "${CUDA[$k]}"
  done
done
