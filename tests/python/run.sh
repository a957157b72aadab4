#!/usr/bin/env bash
# Builds the Python package `echoflow` into a virtualenv and runs its tests:
#   tests/python/run.sh [PYTEST ARGS...]      e.g. -m "not slow", -k conditional
# - build-py/venv (git-ignored) is created on first use; the pinned requirements
#   (tests/python/requirements.txt) are installed when they change.
# - `pip install .` builds the engine and the nanobind extension with scikit-build-core
#   (pyproject.toml). Build isolation is off so the pinned scikit-build-core/nanobind are used
#   and build-py/<wheel tag>/ keeps the CMake build between runs (a rebuild is incremental).
# Needs what the C++ build needs (README "Dependencies") plus Python >= 3.11 with venv and
# headers (Debian: python3-venv python3-dev). Env: PYTHON (interpreter, default python3),
# EF_PY_VENV (default build-py/venv), CMAKE_BUILD_PARALLEL_LEVEL (default: nproc), EF_PY_WERROR=ON
# (warnings as errors, as tests/run.sh builds: same flags, so ccache serves its objects).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
PYTHON=${PYTHON:-python3}
VENV=${EF_PY_VENV:-build-py/venv}
REQ=tests/python/requirements.txt

die() { echo "tests/python/run.sh: error: $*" >&2; exit 1; }

command -v "$PYTHON" > /dev/null || die "$PYTHON not found (set PYTHON=/path/to/python3.11+)"
"$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' ||
  die "$PYTHON is $("$PYTHON" -V 2>&1); Python >= 3.11 is needed (set PYTHON=...)"

# A venv whose interpreter no longer runs (Python upgraded or removed) is rebuilt.
if [ -e "$VENV" ] && ! "$VENV/bin/python" -c 'import sys' > /dev/null 2>&1; then
  echo "run.sh: $VENV is broken; recreating it"
  rm -rf "$VENV"
fi
if [ ! -x "$VENV/bin/python" ]; then
  echo "run.sh: creating $VENV"
  mkdir -p "$(dirname "$VENV")"
  "$PYTHON" -m venv "$VENV" ||
    die "cannot create a virtualenv with $PYTHON (Debian: apt-get install python3-venv)"
fi
VPY="$(cd "$VENV" && pwd)/bin/python"
PIP=("$VPY" -m pip --disable-pip-version-check)

STAMP="$VENV/.requirements.sha256"
SUM=$(sha256sum "$REQ" | cut -d' ' -f1)
if [ "$(cat "$STAMP" 2> /dev/null || true)" != "$SUM" ]; then
  echo "run.sh: installing $REQ"
  "${PIP[@]}" install -q -r "$REQ" || die "pip could not install $REQ"
  echo "$SUM" > "$STAMP"
fi

echo "run.sh: building and installing the echoflow package (pip install .)"
export CMAKE_BUILD_PARALLEL_LEVEL=${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc)}
LOG=$(mktemp)
trap 'rm -f "$LOG"' EXIT
SETTINGS=()
[ "${EF_PY_WERROR:-OFF}" = ON ] && SETTINGS+=(--config-settings=cmake.define.EF_WERROR=ON)
if ! "${PIP[@]}" install --no-build-isolation -v "${SETTINGS[@]}" . > "$LOG" 2>&1; then
  tail -n 60 "$LOG" >&2
  die "building the Python package failed (full log above, last 60 lines)"
fi
"$VPY" -c 'import echoflow; print("run.sh: installed", echoflow.version_string())'

# Run from a folder outside the source tree so `import echoflow` is the installed package.
cd "$ROOT/tests/python"
exec "$VPY" -m pytest -q -p no:cacheprovider --rootdir "$ROOT" -c "$ROOT/pyproject.toml" "$@" .
