# Sourced by bench/peers/setup_venv.sh and bench/argn/setup_venv.sh: ef_torch_venv VENV REQUIREMENTS
# creates VENV and installs REQUIREMENTS into it, torch first: the CPU-only wheel from the PyTorch
# index when that index is reachable; otherwise PyPI's wheel of the same version (it pulls the CUDA
# runtime wheels, ~3 GB, but runs on the CPU). The torch pin is REQUIREMENTS' `torch==` line.
ef_torch_venv() {
  local V=$1 REQ=$2 TORCH
  TORCH=$(grep -E '^torch==' "$REQ")
  python3 -m venv "$V"
  "$V/bin/pip" install --quiet --upgrade pip
  if ! "$V/bin/python" -c 'import torch' 2>/dev/null; then
    "$V/bin/pip" install --quiet "$TORCH" --index-url https://download.pytorch.org/whl/cpu 2>/dev/null \
      || { echo "setup_venv: CPU wheel index unreachable; installing $TORCH from PyPI" >&2;
           "$V/bin/pip" install --quiet "$TORCH"; }
  fi
  "$V/bin/pip" install --quiet -r "$REQ"
}
