#!/usr/bin/env bash
# Create .venv and install wds-edge into it (editable).
#   bash scripts/setup.sh          kiosk runtime only (ONNX Runtime on CPU, no torch)
#   bash scripts/setup.sh dev      + training, export and test tools, and torch:
#                                  the CUDA build where an NVIDIA GPU works, else the CPU build
#   bash scripts/setup.sh sdk-test the kiosk runtime and its service extra (no torch, no
#                                  desktop extras) + what tests/wds_edge needs without them
#                                  (pytest, onnx): scripts/test.sh's Python 3.10 leg, as
#                                  PYTHON=python3.10 WDS_EDGE_VENV=.venv310; a venv there
#                                  of another Python (or whose interpreter is gone) is made anew
# torch for `dev`, first match wins:
#   1. WDS_EDGE_TORCH_INDEX set: torch from that PyTorch wheel index (a mirror, cu121, ...);
#   2. an NVIDIA GPU (nvidia-smi -L): the CUDA build from the configured package indexes;
#   3. the PyTorch CPU index (https://download.pytorch.org/whl/cpu) answers within 5 s: the
#      CPU build from it (PyPI's Linux x86-64 torch is the CUDA build, gigabytes of nvidia-*
#      wheels);
#   4. else (offline, firewalled): torch from the configured package indexes (pip config,
#      PIP_INDEX_URL, PIP_FIND_LINKS: e.g. a local CPU wheel); a CUDA build landing on a
#      machine without a GPU is then named in a warning that says how to get the CPU build.
# Environment: PYTHON (default python3), WDS_EDGE_VENV (the venv folder, default .venv),
# WDS_EDGE_TORCH_INDEX (above), WDS_EDGE_TORCH_VERSION
# (default 2.13.0; not step 2, which takes the newest CUDA build), WDS_EDGE_TORCH_CPU_INDEX
# (the CPU index of step 3),
# WDS_EDGE_NO_APT=1 (never run apt-get: as root, `dev` otherwise installs the system
# packages chromium and chromium-driver for the kiosk-page browser test, and xvfb and
# xdotool for the display tests (scripts/display_deps.sh), each after saying so).
set -euo pipefail

PY=${PYTHON:-python3}
VENV=${WDS_EDGE_VENV:-.venv}
VENV_PY=$VENV/bin/python
PIP=("$VENV_PY" -m pip install --quiet --disable-pip-version-check)
TORCH_CPU_INDEX=${WDS_EDGE_TORCH_CPU_INDEX:-https://download.pytorch.org/whl/cpu}

has_nvidia_gpu() {
  command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1
}

# True when the PyTorch CPU index lists torch within 5 s (a machine without the internet
# fails fast: a DNS failure takes milliseconds, a refused connection as little).
torch_cpu_index_reachable() {
  "$PY" - "$TORCH_CPU_INDEX/torch/" <<'EOF'
import sys
import urllib.request

try:
    with urllib.request.urlopen(sys.argv[1], timeout=5):
        pass
except Exception:
    sys.exit(1)
EOF
}

# A CUDA build of torch on a machine without an NVIDIA GPU runs (on the CPU) but is
# gigabytes of nvidia-* wheels: say so, and how to get the CPU build.
warn_if_cuda_torch() {
  has_nvidia_gpu && return 0
  local cuda
  cuda=$("$VENV_PY" -c "import torch; print(torch.version.cuda or '')")
  if [ -n "$cuda" ]; then
    echo "setup: warning: the torch installed is a CUDA $cuda build (gigabytes of nvidia-*" \
      "wheels) on a machine without an NVIDIA GPU; it runs, on the CPU. For the CPU build," \
      "remove .venv and run WDS_EDGE_TORCH_INDEX=<a PyTorch CPU wheel index:" \
      "https://download.pytorch.org/whl/cpu or a mirror of it> bash scripts/setup.sh dev" >&2
  fi
}

install_torch() {
  local version=${WDS_EDGE_TORCH_VERSION:-2.13.0}
  if [ -n "${WDS_EDGE_TORCH_INDEX:-}" ]; then
    echo "setup: installing torch==$version from WDS_EDGE_TORCH_INDEX ($WDS_EDGE_TORCH_INDEX)"
    "${PIP[@]}" "torch==$version" --index-url "$WDS_EDGE_TORCH_INDEX"
  elif has_nvidia_gpu; then
    echo "setup: NVIDIA GPU found - installing the CUDA build of torch"
    "${PIP[@]}" torch
    return 0
  elif torch_cpu_index_reachable; then
    echo "setup: no GPU - installing the CPU build of torch==$version from $TORCH_CPU_INDEX"
    "${PIP[@]}" "torch==$version" --index-url "$TORCH_CPU_INDEX"
  else
    echo "setup: no GPU, and the PyTorch CPU index ($TORCH_CPU_INDEX) cannot be reached -" \
      "installing torch==$version from the configured package indexes (pip config," \
      "PIP_INDEX_URL, PIP_FIND_LINKS); set WDS_EDGE_TORCH_INDEX to a CPU wheel index to choose"
    "${PIP[@]}" "torch==$version"
  fi
  warn_if_cuda_torch
}

# The venv's Python is $PY's (major.minor), and it runs.
venv_is_of_python() {
  local want have
  want=$("$PY" -c 'import sys; print(sys.version_info[:2])') || return 1
  have=$("$VENV_PY" -c 'import sys; print(sys.version_info[:2])' 2>/dev/null) || return 1
  [ "$want" = "$have" ]
}

main() {
  cd "$(dirname "$0")/.."
  if [ "${1:-}" = "sdk-test" ] && [ -e "$VENV" ] && ! venv_is_of_python; then
    echo "setup: $VENV is not a working venv of $PY ($("$PY" --version 2>&1)): making it anew"
    "$PY" -m venv --clear "$VENV"
  fi
  [ -x "$VENV_PY" ] || "$PY" -m venv "$VENV"
  "${PIP[@]}" --upgrade pip >/dev/null
  if [ "${1:-}" = "dev" ]; then
    if ! "$VENV_PY" -c "import torch" 2>/dev/null; then
      install_torch
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
  elif [ "${1:-}" = "sdk-test" ]; then
    # The SDK as a kiosk runs it (Dockerfile.jetson installs the service extra too), and the
    # tools of the tests that need neither torch nor the desktop packages (onnx builds their
    # small graphs; it pulls no torch).
    "${PIP[@]}" -e ".[service]" "pytest>=8" "onnx>=1.15"
  else
    "${PIP[@]}" -e .
  fi
  "$VENV/bin/wds-edge" --help >/dev/null  # fails the setup if the CLI cannot start
  echo "setup: done ($("$VENV_PY" --version), wds-edge ready in $VENV)"
}

# Sourced (tests/scripts/test_setup_torch.py): the functions only.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  main "$@"
fi
