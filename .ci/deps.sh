#!/usr/bin/env bash
# The one list of Debian packages EchoFlow needs (README "Dependencies"), and the check that
# ./examples/demo.sh, ./tests/run.sh and .ci/run share: missing packages are installed with apt
# when running as root or with password-less sudo; otherwise the one `apt-get install` line is
# printed and the caller stops (exit 1). Usage: .ci/deps.sh [--check] (--check: never install).
# Not on Debian/Ubuntu (no dpkg): nothing is checked; CMake reports what it cannot find.
set -euo pipefail
PKGS=(cmake g++ make ninja-build pkg-config ccache nlohmann-json3-dev doctest-dev libopenblas-dev libcli11-dev
      libcsv-dev libfmt-dev zlib1g-dev libcairo2-dev fonts-dejavu-core python3-venv python3-dev
      libopenmpi-dev openmpi-bin)
[ "${1:-}" = "--list" ] && { echo "${PKGS[*]}"; exit 0; }
command -v dpkg-query > /dev/null || exit 0
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2> /dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
SUDO=()
if [ "$(id -u)" -ne 0 ]; then
  if [ "${1:-}" != "--check" ] && command -v sudo > /dev/null && sudo -n true 2> /dev/null; then
    SUDO=(sudo)
  else
    # The one line to run. A fresh Debian has no sudo unless the installer set it up (root
    # password given): then the line is for root. `apt-get update` first: a fresh system's
    # package lists may be empty ("Unable to locate package").
    echo "EchoFlow needs these Debian packages, which are not installed: ${missing[*]}" >&2
    if command -v sudo > /dev/null; then
      echo "Install them with (then run this again):" >&2
      echo "  sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
    else
      echo "Install them as root (su -), then run this again:" >&2
      echo "  apt-get update && apt-get install -y ${missing[*]}" >&2
    fi
    exit 1
  fi
elif [ "${1:-}" = "--check" ]; then
  echo "missing Debian packages: ${missing[*]} (apt-get install -y ${missing[*]})" >&2
  exit 1
fi
echo "installing Debian packages: ${missing[*]}" >&2
"${SUDO[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${SUDO[@]}" apt-get install -y -qq "${missing[@]}" > /dev/null
