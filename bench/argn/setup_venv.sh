#!/usr/bin/env bash
# Creates bench/argn/.venv with mostlyai-engine (TabularARGN) for bench/argn/argn_quality.py:
#   bash bench/argn/setup_venv.sh
# torch: the CPU-only wheel from the PyTorch index when that index is reachable; otherwise PyPI's
# wheel of the same version (it pulls the CUDA runtime wheels, ~3 GB, but runs on the CPU).
set -euo pipefail
cd "$(dirname "$0")/../.."
V=bench/argn/.venv
TORCH=$(grep -E '^torch==' bench/argn/requirements.txt)
python3 -m venv "$V"
"$V/bin/pip" install --quiet --upgrade pip
if ! "$V/bin/python" -c 'import torch' 2>/dev/null; then
  "$V/bin/pip" install --quiet "$TORCH" --index-url https://download.pytorch.org/whl/cpu 2>/dev/null \
    || { echo "setup_venv: CPU wheel index unreachable; installing $TORCH from PyPI" >&2;
         "$V/bin/pip" install --quiet "$TORCH"; }
fi
"$V/bin/pip" install --quiet -r bench/argn/requirements.txt
"$V/bin/python" -c 'import torch, mostlyai.engine as e, pandas; print("bench/argn/.venv: torch", torch.__version__, "mostlyai-engine", e.__version__, "pandas", pandas.__version__)'
