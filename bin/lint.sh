#!/usr/bin/env bash
# Static checks, run by bin/test.sh (so by CI) before the tests:
#   lint-imports   the layer contracts in .importlinter
#   mypy --strict  every package (setup.cfg [mypy])
#   ruff           pyflakes, pycodestyle, bugbear, import order (pyproject.toml)
#   sphinx         ledgerlib's reference docs from its docstrings; warnings are
#                  errors and cross-references are checked (-n): a docstring
#                  naming a class or method that does not exist fails
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
echo "== lint-imports (layers)"
lint-imports --no-cache
echo "== mypy --strict"
"$PYTHON" -m mypy
echo "== ruff"
"$PYTHON" -m ruff check .
echo "== ledgerlib reference docs (sphinx -W -n)"
"$PYTHON" -m sphinx -W --keep-going -n -q -b html docs/ledgerlib build/ledgerlib-docs
