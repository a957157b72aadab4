# Sourced by tests/python/run.sh and tests/run.sh: the virtualenv the Python tests use.
# Creates $EF_PY_VENV (default build-py/venv, git-ignored) on first use, installs the pinned
# tests/python/requirements.txt when it changes, and sets EF_VPY to its interpreter.
# Needs Python >= 3.11 with venv (Debian: python3-venv python3-dev). Env: PYTHON (default python3).
# Runs from the repository root.
ef_py_die() { echo "tests/python: error: $*" >&2; exit 1; }
ef_py_venv() {
  local python=${PYTHON:-python3} venv=${EF_PY_VENV:-build-py/venv} req=tests/python/requirements.txt
  command -v "$python" > /dev/null || ef_py_die "$python not found (set PYTHON=/path/to/python3.11+)"
  "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' ||
    ef_py_die "$python is $("$python" -V 2>&1); Python >= 3.11 is needed (set PYTHON=...)"
  # A venv whose interpreter no longer runs (Python upgraded or removed) is rebuilt.
  if [ -e "$venv" ] && ! "$venv/bin/python" -c 'import sys' > /dev/null 2>&1; then
    echo "tests/python: $venv is broken; recreating it"
    rm -rf "$venv"
  fi
  if [ ! -x "$venv/bin/python" ]; then
    echo "tests/python: creating $venv"
    mkdir -p "$(dirname "$venv")"
    # pip goes in from Debian's bundled wheel (python3-venv needs python3-pip-whl) without
    # byte-compiling it: `-m venv` alone runs ensurepip, which compiles all of pip (half of the
    # set-up's CPU time). Elsewhere, or if that fails, plain `-m venv`.
    local whl
    whl=$(ls /usr/share/python-wheels/pip-*.whl 2> /dev/null | tail -n 1)
    if ! { [ -n "$whl" ] && "$python" -m venv --without-pip "$venv" &&
           "$venv/bin/python" "$whl/pip" install -q --no-compile --disable-pip-version-check "$whl"; }; then
      "$python" -m venv --clear "$venv" ||
        ef_py_die "cannot create a virtualenv with $python (Debian: apt-get install python3-venv)"
    fi
  fi
  EF_VPY="$(cd "$venv" && pwd)/bin/python"
  local stamp="$venv/.requirements.sha256" sum
  sum=$(sha256sum "$req" | cut -d' ' -f1)
  if [ "$(cat "$stamp" 2> /dev/null || true)" != "$sum" ]; then
    echo "tests/python: installing $req"
    # --no-compile: pip would byte-compile every file of numpy and pandas (their test suites
    # included); Python compiles the modules pytest imports when it imports them.
    "$EF_VPY" -m pip --disable-pip-version-check install -q --no-compile -r "$req" ||
      ef_py_die "pip could not install $req"
    echo "$sum" > "$stamp"
  fi
  export EF_VPY
}
