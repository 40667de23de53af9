#!/usr/bin/env bash
# Set up the development environment, check the import contracts and run the whole test
# suite (what CI runs). As root it installs chromium + chromium-driver (the browser test)
# and xvfb + xdotool (the display tests) with apt-get, through scripts/setup.sh dev (it says
# so first); WDS_EDGE_NO_APT=1 opts out.
#
# Before the whole suite, a second leg: the SDK on Python 3.10 (JetPack 6's Python, the
# Jetson kiosks'). In .venv310 it installs the kiosk runtime only (scripts/setup.sh sdk-test:
# no torch, no desktop extras), imports wds_edge, runs `wds-edge analyze` on a real photo with
# the bundled model and runs tests/wds_edge without --runslow (what needs torch or the
# desktop packages skips). Its interpreter: WDS_EDGE_PY310 (a path; `skip` leaves the leg
# out), else python3.10 on PATH, else pyenv's newest ~/.pyenv/versions/3.10.*; with none the
# leg is skipped with a message. A failing 3.10 leg fails the run; the whole suite still runs.
set -euo pipefail

PY310_TESTS=(tests/wds_edge)
# Left out of the 3.10 leg to keep it within ~3-4 min on CI's 2 cores (the 3.11 suite runs
# them): the slowest of tests/wds_edge, numeric work on real frames through code that the
# leg's other tests run too.
PY310_DESELECT=(
  tests/wds_edge/bench/test_repeatability.py::test_repeatability_report
  tests/wds_edge/runtime/test_openvino.py::test_bf16_split_passes_the_gate_where_the_whole_graph_fails
  tests/wds_edge/bench/test_compare_face_frames.py::test_frames_without_a_face_are_left_out_of_the_frame_timing
  tests/wds_edge/analysis/test_save_mask.py::test_cli_save_mask_writes_the_input_sized_png
  tests/wds_edge/analysis/test_session.py::test_the_nearer_of_equally_sharp_faces_is_fused
  tests/wds_edge/model/test_bundled_colour.py::test_no_shared_colour_photo_is_called_a_colour_cast
)

# True when $1 runs as Python 3.10 with venv + ensurepip (a pyenv shim of a version that is
# not installed fails to run; Debian's python3.10 without python3.10-venv has no ensurepip).
is_python310() {
  "$1" -c 'import sys, venv, ensurepip; sys.exit(sys.version_info[:2] != (3, 10))' \
    >/dev/null 2>&1
}

# Prints the first usable Python 3.10: python3.10 on PATH, else the newest
# ~/.pyenv/versions/3.10.*/bin/python3.10; nothing when there is none.
find_python310() {
  local candidate
  for candidate in "$(command -v python3.10 || true)" \
    $(ls -d "$HOME"/.pyenv/versions/3.10.*/bin/python3.10 2>/dev/null | sort -V -r); do
    if [ -n "$candidate" ] && is_python310 "$candidate"; then
      echo "$candidate"
      return 0
    fi
  done
}

# `wds-edge analyze` of a real photo with the bundled model in .venv310.
py310_analyze_check() {
  local shared=${WDS_EDGE_SHARED:-../shared}
  local photo=$shared/data/faces/obama.jpg landmarker=$shared/models/face_landmarker.task out
  if [ ! -f "$photo" ] || [ ! -f "$landmarker" ]; then
    echo "test.sh: no $photo or $landmarker (set WDS_EDGE_SHARED to the shared/ folder):" \
      "the Python 3.10 analyze check is skipped"
    return 0
  fi
  out=$(mktemp -d) || return
  if ! .venv310/bin/wds-edge analyze "$photo" --landmarker "$landmarker" --out "$out" \
    >"$out/stdout.txt"; then
    echo "test.sh: wds-edge analyze $photo failed on Python 3.10 (its output: $out)" >&2
    return 1
  fi
  .venv310/bin/python - "$out/obama.json" <<'EOF' || return
import hashlib
import json
import sys

from wds_edge.model import default_model_path

with open(sys.argv[1]) as f:
    result = json.load(f)
assert result["status"] == "ok" and result["segmented"], (result["status"], result["warnings"])
assert result["scores"]["overall"]["area_px"] > 0, result["scores"]
model = result["model"]
bundled = hashlib.sha256(default_model_path().read_bytes()).hexdigest()
assert model["sha256"] == bundled, f"ran {model['path']}, not the bundled model"
print(f"test.sh: wds-edge analyze obama.jpg on Python 3.10: ok ({model['name']} "
      f"{model['version']}, {model['backend']} {model['precision']})")
EOF
  rm -rf "$out"
}

# The Python 3.10 leg; exit status 0 when it passed or was skipped (no interpreter).
py310_leg() {
  local py=${WDS_EDGE_PY310:-} started=$SECONDS entry
  if [ "$py" = skip ]; then
    echo "test.sh: Python 3.10 leg skipped (WDS_EDGE_PY310=skip)"
    return 0
  elif [ -n "$py" ]; then
    if ! is_python310 "$py"; then
      echo "test.sh: WDS_EDGE_PY310=$py is not a Python 3.10 interpreter with venv and" \
        "ensurepip: give the path of one (e.g. ~/.pyenv/versions/3.10.13/bin/python3.10)," \
        "or WDS_EDGE_PY310=skip to leave the leg out" >&2
      return 2
    fi
  else
    py=$(find_python310)
    if [ -z "$py" ]; then
      echo "test.sh: Python 3.10 leg SKIPPED: no Python 3.10 with venv and ensurepip found" \
        "(python3.10 on PATH, ~/.pyenv/versions/3.10.*). Install one (pyenv install 3.10," \
        "or apt-get install python3.10-venv) or point WDS_EDGE_PY310 at it"
      return 0
    fi
  fi
  echo "test.sh: Python 3.10 leg: the SDK in .venv310 with $py ($("$py" --version 2>&1))"
  # set -e does not hold inside a function called with ||: every step says `|| return`.
  PYTHON=$py WDS_EDGE_VENV=.venv310 bash scripts/setup.sh sdk-test || return
  .venv310/bin/python -c '
import sys
assert sys.version_info[:2] == (3, 10), sys.version
import wds_edge
assert "torch" not in sys.modules, "importing wds_edge imported torch"
print("test.sh: import wds_edge", wds_edge.__version__, "on Python", sys.version.split()[0])
' || return
  py310_analyze_check || return
  local deselect=()
  for entry in "${PY310_DESELECT[@]}"; do
    grep -q "def ${entry##*::}(" "${entry%%::*}" 2>/dev/null \
      || echo "test.sh: warning: PY310_DESELECT names $entry, which no longer exists" >&2
    deselect+=(--deselect "$entry")
  done
  .venv310/bin/python -m pytest -q "${PY310_TESTS[@]}" "${deselect[@]}" || return
  echo "test.sh: Python 3.10 leg passed in $((SECONDS - started)) s"
}

main() {
  cd "$(dirname "$0")/.."
  bash scripts/setup.sh dev
  # The architecture contracts (pyproject.toml [tool.importlinter]) first: a broken layer fails fast.
  .venv/bin/lint-imports
  local py310=0
  py310_leg || py310=$?
  if [ "$py310" = 0 ]; then
    exec .venv/bin/python -m pytest --runslow "$@"
  fi
  .venv/bin/python -m pytest --runslow "$@" || true
  echo "test.sh: FAILED: the Python 3.10 leg (above, before the whole suite) exited $py310" >&2
  exit "$py310"
}

# Sourced (tests/scripts/test_py310_leg.py): the functions only.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  main "$@"
fi
