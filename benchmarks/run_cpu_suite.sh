#!/usr/bin/env bash
# The CPU figures of benchmarks/RESULTS.md, in one run (about 10-15 min on 2 cores).
# Run it on an otherwise idle machine: every figure is wall-clock latency.
#   bash benchmarks/run_cpu_suite.sh [OUT_DIR]        (default: runs/bench_cpu)
# Needs the dev setup (bash scripts/setup.sh dev) and ../shared (or WDS_EDGE_SHARED).
set -euo pipefail
cd "$(dirname "$0")/.."
OUT="${1:-runs/bench_cpu}"
SHARED="$(cd "${WDS_EDGE_SHARED:-../shared}" && pwd)"
export WDS_EDGE_SHARED="$SHARED"  # the Python scripts read it (absolute: they may cd)
WDS=.venv/bin/wds-edge
PY=.venv/bin/python
VIDEO="$SHARED/data/video/portrait_motion_720p.mp4"
export WDS_EDGE_FACE_LANDMARKER="$SHARED/models/face_landmarker.task"
mkdir -p "$OUT"
DEFAULT_MODEL="$($PY -c 'from wds_edge.model.bundled import default_model_path; print(default_model_path())')"
step() { printf '\n== %s  %s\n' "$(date -u +%H:%M:%S)" "$*"; }

step "environment"
lscpu | grep -E "Model name|^CPU\(s\)|Flags" | cut -c1-200 | tee "$OUT/lscpu.txt"

step "1. bench model: the bundled starter model (base 16, 640 px), ONNX Runtime CPU"
$WDS bench model --model "$DEFAULT_MODEL" --backend onnxruntime --warmup 5 --runs 50 \
  --json-out "$OUT/model_default.json" | tee "$OUT/model_default.txt"

step "2. INT8 (Q/DQ) of the starter model vs FP32: latency and mask IoU on real face crops"
$PY scripts/bench_int8_cpu.py --onnx "$DEFAULT_MODEL" | tee "$OUT/int8.txt"

step "3. bench compare: widths 8/16/32 (untrained exports: latency only) vs PyTorch eager"
$WDS bench compare --source "$VIDEO" --widths 8,16,32 --models "$DEFAULT_MODEL" --size 640 \
  --runs 20 --warmup 3 --max-frames 30 --out "$OUT/compare" | tee "$OUT/compare.txt"

step "4. bench pipeline: the kiosk clip, every frame, starter model"
$WDS bench pipeline --source "$VIDEO" --backend onnxruntime \
  --json-out "$OUT/pipeline.json" | tee "$OUT/pipeline.txt"

step "5. demo: display rate vs segmentation rate, clip played as a 30 FPS camera"
$WDS demo --source "$VIDEO" --headless --async --realtime --loop --max-frames 450 \
  --jsonl "$OUT/demo.jsonl" --summary-json "$OUT/demo_summary.json" | tee "$OUT/demo.txt"
step "done: $OUT"
