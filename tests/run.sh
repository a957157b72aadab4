#!/usr/bin/env bash
# Builds everything with warnings as errors and runs the whole test suite (CI calls this):
# the C++/CLI/C tests through ctest, then the Python package's pytest suite.
# CUDA kernels are compiled when nvcc is found (EF_CUDA=AUTO); GPU tests report "Skipped"
# without a GPU.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DEF_WERROR=ON ${EF_CMAKE_ARGS:-}
cmake --build "$BUILD" -j "$(nproc)"
ctest --test-dir "$BUILD" --output-on-failure -j 2 "$@"
# The Python package (nanobind + scikit-build-core, pinned in tests/python/requirements.txt).
./tests/python/run.sh -q
