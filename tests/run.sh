#!/usr/bin/env bash
# Builds with warnings as errors and runs the whole test suite (CI calls this through .ci/run):
# the C++/CLI/C tests through ctest, then the Python package's pytest suite.
# Installs missing Debian packages first (.ci/deps.sh). CUDA kernels are compiled when a GPU is
# usable (EF_CUDA=AUTO|ON|OFF overrides; .ci/build_env.sh); GPU tests report "Skipped" without one.
set -euo pipefail
cd "$(dirname "$0")/.."
.ci/deps.sh
source .ci/build_env.sh
BUILD=${BUILD:-build}
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DEF_WERROR=ON -DEF_CUDA="$EF_CUDA" \
  "${EF_LAUNCHER[@]}" ${EF_CMAKE_ARGS:-} > /dev/null
cmake --build "$BUILD" -j "$(nproc)"
ctest --test-dir "$BUILD" --output-on-failure -j "$(nproc)" "$@"
# The Python package (nanobind + scikit-build-core, pinned in tests/python/requirements.txt),
# compiled with the same flags as above (-Werror included), meant for ccache reuse (.ci/build_env.sh).
EF_PY_WERROR=ON ./tests/python/run.sh -q
