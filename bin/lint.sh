#!/usr/bin/env bash
# Static checks, run by bin/test.sh (so by CI) before the tests:
#   lint-imports   the layer contracts in .importlinter
#   mypy --strict  every package (setup.cfg [mypy])
#   ruff           pyflakes, pycodestyle, bugbear, import order (pyproject.toml)
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
echo "== lint-imports (layers)"
lint-imports --no-cache
echo "== mypy --strict"
"$PYTHON" -m mypy
echo "== ruff"
"$PYTHON" -m ruff check .
