#!/usr/bin/env bash
# Set up the development environment, check the import contracts and run the whole test
# suite (what CI runs).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh dev
# The architecture contracts (pyproject.toml [tool.importlinter]) first: a broken layer fails fast.
.venv/bin/lint-imports
exec .venv/bin/python -m pytest --runslow "$@"
