#!/usr/bin/env bash
# Builds the Python package `echoflow` with `pip install .` into a virtualenv and runs its tests:
#   tests/python/run.sh [PYTEST ARGS...]      e.g. -m "not slow", -k conditional
# This is the packaging check. ./tests/run.sh runs the same pytest suite without it, against the
# extension it builds in its own CMake tree (EF_PYTHON=ON, ctest's python_tests): one build.
# - build-py/venv (git-ignored) is created on first use; the pinned requirements
#   (tests/python/requirements.txt) are installed when they change (tests/python/venv.sh).
# - `pip install .` builds the engine and the nanobind extension with scikit-build-core
#   (pyproject.toml). Build isolation is off so the pinned scikit-build-core/nanobind are used
#   and build-py/<wheel tag>/ keeps the CMake build between runs (a rebuild is incremental).
# Needs what the C++ build needs (README "Dependencies") plus Python >= 3.11 with venv and
# headers (Debian: python3-venv python3-dev). Env: PYTHON (interpreter, default python3),
# EF_PY_VENV (default build-py/venv), CMAKE_BUILD_PARALLEL_LEVEL (default: nproc), EF_PY_WERROR=ON
# (warnings as errors).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
source tests/python/venv.sh
ef_py_venv
VPY=$EF_VPY
PIP=("$VPY" -m pip --disable-pip-version-check)

echo "run.sh: building and installing the echoflow package (pip install .)"
export CMAKE_BUILD_PARALLEL_LEVEL=${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc)}
LOG=$(mktemp)
trap 'rm -f "$LOG"' EXIT
SETTINGS=()
[ "${EF_PY_WERROR:-OFF}" = ON ] && SETTINGS+=(--config-settings=cmake.define.EF_WERROR=ON)
if ! "${PIP[@]}" install --no-build-isolation -v "${SETTINGS[@]}" . > "$LOG" 2>&1; then
  tail -n 60 "$LOG" >&2
  ef_py_die "building the Python package failed (full log above, last 60 lines)"
fi
"$VPY" -c 'import echoflow; print("run.sh: installed", echoflow.version_string())'

# Run from a folder outside the source tree so `import echoflow` is the installed package.
cd "$ROOT/tests/python"
exec "$VPY" -m pytest -q -p no:cacheprovider --rootdir "$ROOT" -c "$ROOT/pyproject.toml" "$@" .
