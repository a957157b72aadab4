#!/usr/bin/env bash
# A seed gives the same bytes whatever the thread count (issue 12: an MPI sample must equal the
# 1-rank run; issue 14 item 5: a streamed sample repeats for its seed). OpenBLAS rounds a row
# differently depending on the size of the call it is in, so a row split that followed the thread
# count changed a few values per 8192-row chunk (engine/threads.cpp now cuts fixed tiles).
# For MAF and RealNVP on the shipped penguins table, with OMP_NUM_THREADS 1 and 2 (and 3 for sample):
#   - sample (20k rows: 40 512-row chunks) and sample --given (10k rows: five 2048-row chunks),
#   - score of 20k rows (40 512-row chunks), and
# (with 2 or 3 threads the chunks run side by side, one backend per thread: host/model_impl.hpp
# chunk_lanes; with 1, one after the other),
#   - training with train.threads 1 and 2 (the same parameters: the same samples),
# each compared byte for byte with the 1-thread output.
# usage: test_thread_determinism.sh EFTRAIN PENGUINS_CSV
set -uo pipefail
EF=$1
DATA=$2
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures+1)); }
same() {  # same WHAT A B
  if [ ! -s "$2" ] || [ ! -s "$3" ]; then fail "$1: no output"; return; fi
  cmp -s "$2" "$3" || fail "$1: $(cmp "$2" "$3" 2>&1)"
}

for flow in maf realnvp; do
  for t in 1 2; do
    printf '{"data": {"path": "%s"}, "conditional": ["species"], "model": {"flow": "%s"}, "train": {"epochs": 2, "batch_size": 128, "threads": %d}, "output": {"model": "%s/%s_t%d.efm"}}\n' \
      "$DATA" "$flow" "$t" "$T" "$flow" "$t" > "$T/$flow$t.json"
    "$EF" train "$T/$flow$t.json" > "$T/train.log" 2>&1 || { cat "$T/train.log"; fail "$flow: train threads $t"; }
  done
  M=$T/${flow}_t1.efm
  for t in 1 2 3; do
    OMP_NUM_THREADS=$t "$EF" sample "$M" --rows 20000 --seed 3 --out "$T/$flow.s$t.csv" || fail "$flow: sample, $t threads"
  done
  for t in 1 2; do
    OMP_NUM_THREADS=$t "$EF" sample "$M" --rows 10000 --seed 5 --given species=Gentoo --out "$T/$flow.g$t.csv" \
      || fail "$flow: sample --given, $t threads"
    OMP_NUM_THREADS=$t "$EF" score "$M" --data "$T/$flow.s1.csv" --out "$T/$flow.sc$t.csv" || fail "$flow: score, $t threads"
  done
  same "$flow: sample, 2 threads vs 1" "$T/$flow.s1.csv" "$T/$flow.s2.csv"
  same "$flow: sample, 3 threads vs 1" "$T/$flow.s1.csv" "$T/$flow.s3.csv"
  same "$flow: sample --given, 2 threads vs 1" "$T/$flow.g1.csv" "$T/$flow.g2.csv"
  same "$flow: score, 2 threads vs 1" "$T/$flow.sc1.csv" "$T/$flow.sc2.csv"
  # The two trainings differ only in train.threads: their samples must be the same bytes.
  OMP_NUM_THREADS=1 "$EF" sample "$T/${flow}_t2.efm" --rows 20000 --seed 3 --out "$T/$flow.trained2.csv" || fail "$flow: sample of the 2-thread model"
  same "$flow: model trained with train.threads 2 vs 1" "$T/$flow.s1.csv" "$T/$flow.trained2.csv"
  [ "$(wc -l < "$T/$flow.s1.csv")" -eq 20001 ] || fail "$flow: sample has $(wc -l < "$T/$flow.s1.csv") lines, not 20001"
  [ "$(wc -l < "$T/$flow.sc1.csv")" -eq 20001 ] || fail "$flow: score has $(wc -l < "$T/$flow.sc1.csv") lines, not 20001"
done

if [ "$failures" -ne 0 ]; then echo "$failures failure(s)" >&2; exit 1; fi
echo "thread determinism: all outputs identical across thread counts"
