#!/usr/bin/env bash
# bench/tabular needs only numpy, scipy and scikit-learn: the shared bench/.venv of
# bench/quality (pinned in bench/quality/requirements.txt). Creates it when missing.
#   bash bench/tabular/setup_venv.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ ! -x bench/.venv/bin/python ] || ! bench/.venv/bin/python -c 'import numpy, scipy, sklearn' 2>/dev/null; then
  bash bench/quality/setup_venv.sh
fi
bench/.venv/bin/python -c 'import numpy, scipy, sklearn; print("bench/.venv: numpy", numpy.__version__, "scipy", scipy.__version__, "scikit-learn", sklearn.__version__)'
