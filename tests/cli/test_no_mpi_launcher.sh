#!/usr/bin/env bash
# A build without MPI started by a launcher (mpirun sets OMPI_COMM_WORLD_SIZE in every rank):
# as one of 2 ranks eftrain refuses with exit 1 instead of running the whole job on every rank
# (host/communicator_world.cpp); as the one rank of 1 it runs as usual.
# usage: test_no_mpi_launcher.sh EFTRAIN (ctest cli_no_mpi_under_launcher, builds without MPI)
set -uo pipefail
EF=$1
fail() { echo "FAIL: $*" >&2; exit 1; }
out=$(OMPI_COMM_WORLD_SIZE=2 "$EF" info none.efm 2>&1); rc=$?
[ "$rc" -eq 1 ] || fail "as one of 2 ranks: exit $rc, expected 1: $out"
[[ $out == *"one of 2 ranks (OMPI_COMM_WORLD_SIZE=2)"*"built without MPI"* ]] || fail "message: $out"
out=$(OMPI_COMM_WORLD_SIZE=1 PMI_SIZE=1 "$EF" info none.efm 2>&1)
[[ $out == *none.efm* && $out != *"without MPI"* ]] || fail "as the one rank of 1: $out"
out=$(PMI_SIZE=4 "$EF" info none.efm 2>&1)
[[ $out == *"one of 4 ranks (PMI_SIZE=4)"* ]] || fail "srun/Hydra (PMI_SIZE=4): $out"
echo "test_no_mpi_launcher: all checks passed"
