#!/usr/bin/env bash
# ef_gpu_data_parallel on two MPI ranks (tests/gpu/CMakeLists.txt). Exit 77 when every rank
# skipped (no GPU, or NCCL refusing two ranks on one GPU), else mpirun's status.
set -uo pipefail
BIN=$1
# Root in a container needs --allow-run-as-root; a machine with fewer cores, --oversubscribe.
MPIRUN=(timeout 300 mpirun --oversubscribe -x OMP_NUM_THREADS=1 -np 2)
[ "$(id -u)" -eq 0 ] && MPIRUN+=(--allow-run-as-root)
out=$("${MPIRUN[@]}" "$BIN" 2>&1)
rc=$?
echo "$out"
# mpirun returns the first non-zero rank status; 77 from both ranks means skipped.
if [ "$rc" -eq 77 ] && ! grep -q "FAILED\|FAILURE\|ERROR" <<<"$out"; then exit 77; fi
exit "$rc"
