#!/usr/bin/env bash
# Builds and runs the whole test suite (CI calls this through .ci/run, with EF_WERROR=ON: warnings
# are errors there; a user's run keeps the demo's flags, so the demo's objects are reused):
# the C++/CLI/C tests and the Python package's pytest suite, all through ctest.
# Installs missing Debian packages first (.ci/deps.sh). CUDA kernels are compiled when a GPU is
# usable (EF_CUDA=AUTO|ON|OFF overrides; .ci/build_env.sh); GPU tests report "Skipped" without one.
# The Python extension is built in the same tree as everything else (EF_PYTHON=ON: the engine is
# compiled once) and tested from it (ctest's python_tests, pinned packages in the venv of
# tests/python/venv.sh). `pip install .` itself is checked by tests/python/run.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
.ci/deps.sh
source .ci/build_env.sh
source tests/python/venv.sh
ef_py_venv
BUILD=${BUILD:-build}
ef_generator "$BUILD"
cmake -S . -B "$BUILD" "${EF_GENERATOR[@]}" -DCMAKE_BUILD_TYPE=Release -DEF_WERROR="${EF_WERROR:-OFF}" -DEF_CUDA="$EF_CUDA" \
  -DEF_PYTHON=ON -DPython_EXECUTABLE="$EF_VPY" "${EF_LAUNCHER[@]}" ${EF_CMAKE_ARGS:-} > /dev/null
cmake --build "$BUILD" -j "$(nproc)"
ctest --test-dir "$BUILD" --output-on-failure -j "$(nproc)" "$@"
