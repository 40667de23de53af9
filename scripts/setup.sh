#!/usr/bin/env bash
# Create .venv and install wds-edge into it (editable).
#   bash scripts/setup.sh          kiosk runtime only (ONNX Runtime on CPU, no torch)
#   bash scripts/setup.sh dev      + training, export and test tools (CPU torch on CPU machines)
# Environment: PYTHON (default python3), WDS_EDGE_TORCH_INDEX (a PyTorch wheel index URL:
# set it to the PyTorch CPU index on machines whose default index serves CUDA builds),
# WDS_EDGE_NO_APT=1 (never run apt-get: as root, `dev` otherwise installs the system
# packages xvfb and xdotool for the display tests, after saying so).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
PIP=(.venv/bin/python -m pip install --quiet --disable-pip-version-check)
"${PIP[@]}" --upgrade pip >/dev/null
if [ "${1:-}" = "dev" ]; then
  if ! .venv/bin/python -c "import torch" 2>/dev/null; then
    if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then
      echo "setup: NVIDIA GPU found - installing the CUDA build of torch"
      "${PIP[@]}" torch
    else
      # A bare 'torch' requirement pulls gigabytes of CUDA wheels: pin the CPU build.
      echo "setup: no GPU - installing the CPU build of torch"
      "${PIP[@]}" "torch==${WDS_EDGE_TORCH_VERSION:-2.13.0}" \
        ${WDS_EDGE_TORCH_INDEX:+--index-url "$WDS_EDGE_TORCH_INDEX"}
    fi
  fi
  "${PIP[@]}" -e ".[train,export,openvino-int8,dev]"
  # The kiosk-page test (marker `browser`) drives Debian's headless Chromium through
  # chromedriver (Selenium is told its path: nothing is downloaded). WDS_EDGE_NO_APT=1: skip.
  if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then
    if [ "${WDS_EDGE_NO_APT:-0}" != 1 ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
      echo "setup: apt-get install chromium chromium-driver (for the kiosk-page test; WDS_EDGE_NO_APT=1 skips)"
      { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; } \
        || echo "setup: could not install chromium (the browser test will be skipped)"
    else
      echo "setup: no chromium/chromedriver (the browser test will be skipped; as root: apt-get install chromium chromium-driver)"
    fi
  fi
  # The windowed-demo test (marker `display`) needs a virtual X display and xdotool.
  bash scripts/display_deps.sh
else
  "${PIP[@]}" -e .
fi
.venv/bin/wds-edge --help >/dev/null  # fails the setup if the CLI cannot start
echo "setup: done ($(.venv/bin/python --version), wds-edge ready in .venv)"
