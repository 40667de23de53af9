#!/usr/bin/env bash
# Set up the development environment, check the import contracts and run the whole test
# suite (what CI runs). As root it installs xvfb + xdotool with apt-get (it says so first);
# WDS_EDGE_NO_APT=1 opts out.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh dev
# The architecture contracts (pyproject.toml [tool.importlinter]) first: a broken layer fails fast.
.venv/bin/lint-imports
exec .venv/bin/python -m pytest --runslow "$@"
