#!/usr/bin/env bash
# Creates bench/argn/.venv with mostlyai-engine (TabularARGN) for bench/argn/argn_quality.py:
#   bash bench/argn/setup_venv.sh
# torch: CPU-only wheel when its index is reachable (bench/torch_venv.sh).
set -euo pipefail
cd "$(dirname "$0")/../.."
V=bench/argn/.venv
source bench/torch_venv.sh
ef_torch_venv "$V" bench/argn/requirements.txt
"$V/bin/python" -c 'import torch, mostlyai.engine as e, pandas; print("bench/argn/.venv: torch", torch.__version__, "mostlyai-engine", e.__version__, "pandas", pandas.__version__)'
