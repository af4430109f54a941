#!/usr/bin/env bash
# Set up Video Factory in ./.venv: everything the offline pipeline and the tests need.
# Usage: bash scripts/setup.sh            (offline pipeline + tests)
#        VF_WITH_ML=1 bash scripts/setup.sh  (also torch CPU + transformers)
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
. .venv/bin/activate
python -m pip install --quiet --upgrade pip
if [ "${VF_WITH_ML:-0}" = "1" ]; then
  # The CPU build first, so transformers does not pull a several-GB CUDA build of torch.
  python -m pip install --quiet "torch==2.13.0"
  python -m pip install --quiet -e ".[dev,ml,queue,postgres,kokoro]"
else
  python -m pip install --quiet -e ".[dev,queue,postgres,kokoro]"
fi
echo "Video Factory is installed in .venv; activate it with: . .venv/bin/activate"
