#!/usr/bin/env bash
# Creates bench/peers/.venv with the pinned packages of bench/peers/requirements.txt: torch (CPU),
# zuko, nflows, echoflow 0.0.2 (the 2020 seed library), SDV (GaussianCopula, CTGAN, TVAE), numpy,
# pandas, scikit-learn, matplotlib.
#   bash bench/peers/setup_venv.sh && bash bench/compare.sh
# torch: CPU-only wheel when its index is reachable (bench/torch_venv.sh).
set -euo pipefail
cd "$(dirname "$0")/../.."
V=bench/peers/.venv
source bench/torch_venv.sh
ef_torch_venv "$V" bench/peers/requirements.txt
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
