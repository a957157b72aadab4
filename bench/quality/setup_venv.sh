#!/usr/bin/env bash
# Creates bench/.venv with the pinned packages of bench/quality/requirements.txt.
#   bash bench/quality/setup_venv.sh && bench/.venv/bin/python bench/quality/sdgym_gmm.py --help
set -euo pipefail
cd "$(dirname "$0")/../.."
python3 -m venv bench/.venv
bench/.venv/bin/pip install --quiet --upgrade pip
bench/.venv/bin/pip install --quiet -r bench/quality/requirements.txt
bench/.venv/bin/python -c 'import numpy, scipy, sklearn; print("bench/.venv: numpy", numpy.__version__, "scipy", scipy.__version__, "scikit-learn", sklearn.__version__)'
