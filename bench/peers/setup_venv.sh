#!/usr/bin/env bash
# Creates bench/peers/.venv with the pinned packages of bench/peers/requirements.txt: torch (CPU),
# zuko, nflows, echoflow 0.0.2 (the 2020 seed library), SDV (GaussianCopula, CTGAN, TVAE), numpy,
# pandas, scikit-learn, matplotlib.
#   bash bench/peers/setup_venv.sh && bash bench/compare.sh
# torch: the CPU-only wheel from the PyTorch index when that index is reachable; otherwise PyPI's
# wheel of the same version (it pulls the CUDA runtime wheels, ~3 GB, but runs on the CPU).
set -euo pipefail
cd "$(dirname "$0")/../.."
V=bench/peers/.venv
TORCH=$(grep -E '^torch==' bench/peers/requirements.txt)
python3 -m venv "$V"
"$V/bin/pip" install --quiet --upgrade pip
if ! "$V/bin/python" -c 'import torch' 2>/dev/null; then
  "$V/bin/pip" install --quiet "$TORCH" --index-url https://download.pytorch.org/whl/cpu 2>/dev/null \
    || { echo "setup_venv: CPU wheel index unreachable; installing $TORCH from PyPI" >&2;
         "$V/bin/pip" install --quiet "$TORCH"; }
fi
"$V/bin/pip" install --quiet -r bench/peers/requirements.txt
"$V/bin/python" - <<'PY'
import sys
sys.path.insert(0, "bench/peers")
import peer_echoflow  # the echoflow here must be the PyPI 0.0.2 peer, never this repository's
import torch, zuko, nflows, echoflow, sdv, sklearn, pandas, matplotlib
peer_echoflow.check(echoflow)
print("bench/peers/.venv: torch", torch.__version__, "zuko", zuko.__version__, "echoflow",
      echoflow.__version__, "sdv", sdv.__version__, "pandas", pandas.__version__,
      "scikit-learn", sklearn.__version__)
PY
