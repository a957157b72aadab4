# Sourced by tests/mpi/test_*.sh (bash, set -euo pipefail) with their two arguments, EFTRAIN and
# PENGUINS_CSV: sets EF and PENGUINS (absolute), T (a scratch folder, removed on exit), fail(),
# and MPIRUN, the command prefix that runs two ranks of one thread each under `timeout`.
EF=$(realpath "$1"); PENGUINS=$(realpath "$2")
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
# Root in a container needs --allow-run-as-root; the 2-core CI machine needs --oversubscribe.
# `timeout`: a rank left waiting in a collective fails the test instead of hanging it.
MPIRUN=(timeout 300 mpirun --oversubscribe -x OMP_NUM_THREADS=1 -np 2)
[ "$(id -u)" -eq 0 ] && MPIRUN+=(--allow-run-as-root)
export OMPI_MCA_rmaps_base_oversubscribe=1 OMPI_MCA_mpi_yield_when_idle=1
