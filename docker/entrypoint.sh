#!/usr/bin/env bash
# wds-edge container entrypoint (Dockerfile.jetson).
#
# 1. Find the model: $WDS_MODEL, else /models/model.onnx (a mounted file), else the
#    starter model bundled in the package.
# 2. Build the TensorRT engine for THIS device on first start (minutes) into the cache
#    volume ($WDS_EDGE_ENGINE_CACHE); later starts find it by name (model hash, TensorRT
#    version, GPU, precision) and skip the build. A stale or foreign engine is rebuilt.
#    $WDS_PRECISION (fp16 default; int8 needs $WDS_CALIB, a folder from `wds-edge calibrate`).
#    An FP16 / INT8 engine is used only when it passes the accuracy gate against FP32 on
#    $WDS_HELD_OUT (a folder of kiosk crops from `wds-edge calibrate`, not the $WDS_CALIB
#    ones), by default on the synthetic skin crops bundled with the SDK.
#    build-engine's exit codes (`wds-edge build-engine --help`):
#      1: this engine could not be built or kept on this device: the TensorRT build failed,
#         the GPU lacks the precision, a layer pinned to FP32 runs in another one, or the
#         accuracy gate failed / was not gated / cannot be run. The FP32 engine, which
#         needs no gate, is built and used instead.
#      2: usage or configuration: a WDS_HELD_OUT / WDS_CALIB folder that is missing or not
#         a calibration folder, an unusable model (a Q/DQ INT8 model needs
#         WDS_PRECISION=int8), no TensorRT or GPU here. The container stops with exit 2:
#         FP32 would not help. A WDS_PRECISION other than fp32 / fp16 / int8 (any case)
#         stops it with exit 2 too.
# 3. Run `wds-edge <args>` (default: demo --source 0) on that engine: demo, analyze, serve
#    and bench model|pipeline get --backend tensorrt --precision <the precision built>, so
#    they load the engine step 2 built (same name) instead of asking for another precision
#    (serve's `auto` would retry an FP16 engine that failed its gate on every start).
# Steps 1-2 run only for those commands: any other (`--help`, `models path`, `bench
# compare`, ...), and any command given --help, runs at once as `wds-edge <args>`. So does
# a command whose own arguments choose the model, backend or precision (--model / -m,
# --backend / -b, --precision / -p, the long ones also as --opt=value): the engine step
# would build one those arguments then replace (say so on stderr). Only these exact words
# count, and none after `--` (file names): a glued short form (-mMODEL) is not recognised,
# as a value that merely starts with -m / -b / -p (serve --allowed-host -m.local) must not
# be; write -m MODEL or --model=MODEL.
# WDS_SKIP_ENGINE=1 skips the engine for every command and runs `wds-edge <args>` as given.
set -euo pipefail

if [[ "${1:-}" == "bash" || "${1:-}" == "sh" ]]; then exec "$@"; fi
if [[ "${WDS_SKIP_ENGINE:-0}" == "1" ]]; then exec wds-edge "$@"; fi

# Only the commands that run the model on the engine wait for it to be built.
case "${1:-demo}" in
  demo | analyze | serve) ;;
  bench)
    if [[ "${2:-}" != "model" && "${2:-}" != "pipeline" ]]; then exec wds-edge "$@"; fi ;;
  *)
    exec wds-edge "$@" ;;
esac
for arg in "$@"; do
  if [[ "$arg" == "--" ]]; then break; fi  # the rest are file names
  if [[ "$arg" == "--help" ]]; then exec wds-edge "$@"; fi
done
for arg in "$@"; do
  case "$arg" in
    --) break ;;  # the rest are file names (analyze -- -mnotes.jpg)
    --model | --model=* | --backend | --backend=* | --precision | --precision=* | -m | -b | -p)
      echo "wds-edge: ${arg%%=*} given: the TensorRT engine step (WDS_MODEL, WDS_PRECISION) is" \
        "skipped and \`wds-edge $*\` runs as given (as with WDS_SKIP_ENGINE=1)" >&2
      exec wds-edge "$@" ;;
  esac
done

model="${WDS_MODEL:-}"
if [[ -z "$model" && -f /models/model.onnx ]]; then model=/models/model.onnx; fi
if [[ -z "$model" ]]; then
  model="$(python -c 'from wds_edge.model.bundled import default_model_path; print(default_model_path())')"
fi
precision="${WDS_PRECISION:-fp16}"
precision="${precision,,}"  # FP16 is fp16
case "$precision" in
  fp32 | fp16 | int8) ;;
  *)
    echo "wds-edge: WDS_PRECISION=${WDS_PRECISION} is not a TensorRT engine precision;" \
      "set it to fp32, fp16 or int8 (or leave it unset for fp16)" >&2
    exit 2 ;;
esac
mkdir -p "$WDS_EDGE_ENGINE_CACHE"

build=(wds-edge build-engine --onnx "$model" --cache-dir "$WDS_EDGE_ENGINE_CACHE")
if [[ -n "${WDS_CALIB:-}" ]]; then build+=(--calib "$WDS_CALIB"); fi
if [[ "$precision" != "fp32" ]]; then build+=(--held-out "${WDS_HELD_OUT:-synthetic}"); fi
echo "wds-edge: preparing the TensorRT ${precision} engine for this device (first start: minutes)"
# build-engine exit 1: this engine could not be built or kept here (FP32 is the fallback);
# 2: usage or configuration (a wrong folder or option, an unusable model): FP32 would not help.
rc=0
"${build[@]}" --precision "$precision" || rc=$?
if [[ "$rc" != 0 ]]; then
  if [[ "$precision" == "fp32" || "$rc" != 1 ]]; then
    echo "wds-edge: building the ${precision} engine failed (exit ${rc}, see above)" >&2
    exit "$rc"
  fi
  echo "wds-edge: no ${precision} engine could be built or passed the accuracy gate here (see above); using FP32" >&2
  precision=fp32
  wds-edge build-engine --onnx "$model" --cache-dir "$WDS_EDGE_ENGINE_CACHE" --precision fp32
fi

# The TensorRT backend finds the engine just built in the cache (same name) and reuses it.
case "${1:-demo}" in
  demo)
    shift || true
    exec wds-edge demo --model "$model" --backend tensorrt --precision "$precision" "$@" ;;
  analyze)
    shift
    exec wds-edge analyze --model "$model" --backend tensorrt --precision "$precision" "$@" ;;
  serve)
    shift
    exec wds-edge serve --model "$model" --backend tensorrt --precision "$precision" "$@" ;;
  bench)  # model | pipeline (the others ran above)
    sub="$2"; shift 2
    exec wds-edge bench "$sub" --model "$model" --backend tensorrt --precision "$precision" "$@" ;;
  *)
    exec wds-edge "$@" ;;
esac
