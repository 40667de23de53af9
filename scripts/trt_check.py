#!/usr/bin/env python3
"""Build TensorRT FP32 / FP16 / INT8 engines for a wds-edge model, check parity, time them.

For anyone with an NVIDIA GPU, TensorRT 10 and cuda-python (``pip install 'wds-edge[trt]'``
on x86_64; JetPack 6 on a Jetson). Prints a markdown table for benchmarks/RESULTS.md:
per precision the build time, max |prob diff| and mean / worst mask IoU vs the FP32
ONNX model in ONNX Runtime on the same face crops, and median / p90 latency.

    python scripts/trt_check.py --onnx model.onnx --faces ../shared/data/faces \\
        [--calib CALIB_DIR] [--precisions fp32,fp16,int8,int8-qdq] [--runs 200]

``int8`` is TensorRT 10's implicit entropy calibration; ``int8-qdq`` builds the explicit
Q/DQ model (ONNX Runtime quantize_static) - the route TensorRT 11 requires.
Not run in this repository's CI (no GPU there); see benchmarks/RESULTS.md for what was run.
"""

from __future__ import annotations

import argparse
import platform
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from calibration.build import build_calibration_set  # noqa: E402
from calibration.dataset import load_calibration_set  # noqa: E402
from calibration.qdq import quantize_qdq  # noqa: E402
from wds_edge.bench.stats import summarize_ms, time_calls_ms  # noqa: E402
from wds_edge.runtime.gate import accuracy_gate  # noqa: E402
from wds_edge.runtime.onnxruntime import OnnxRuntimeBackend  # noqa: E402
from wds_edge.runtime.tensorrt.backend import TensorRTBackend  # noqa: E402
from wds_edge.runtime.tensorrt.build import build_engine, tensorrt_module  # noqa: E402
from wds_edge.runtime.tensorrt.cuda import device_info  # noqa: E402


def _latency_ms(infer, x: np.ndarray, runs: int) -> tuple[float, float]:
    """(p50, p90) milliseconds of ``runs`` calls after 10 warm-up calls."""
    stats = summarize_ms(time_calls_ms(infer, x, warmup=10, runs=runs))
    return stats.p50_ms, stats.p90_ms


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--onnx", type=Path, required=True, help="FP32 wds-edge ONNX model")
    ap.add_argument("--faces", type=Path, help="folder of face photos / a video for the crops")
    ap.add_argument("--calib", type=Path, help="existing calibration folder (wds-edge calibrate)")
    ap.add_argument("--precisions", default="fp32,fp16,int8,int8-qdq")
    ap.add_argument("--runs", type=int, default=200)
    ap.add_argument("--workspace", type=float, default=4.0, help="GiB")
    args = ap.parse_args()

    trt = tensorrt_module()
    gpu, capability = device_info(0)
    work = Path(tempfile.mkdtemp(prefix="wds-trt-check-"))
    cpu = ["CPUExecutionProvider"]
    with OnnxRuntimeBackend(args.onnx, providers=cpu) as ref:
        md = ref.metadata
        if args.calib is None:
            if args.faces is None:
                ap.error("pass --calib CALIB_DIR or --faces DIR")
            calib = build_calibration_set(args.faces, work / "calib", count=500,
                                          size_px=md.input_size_hw[0])  # fmt: skip
        else:
            calib = load_calibration_set(args.calib)
        x1 = next(calib.batches(md.preprocessing, 1))
        cpu_ms = _latency_ms(ref.infer, x1, min(args.runs, 20))
        print(f"# TensorRT {trt.__version__} on {gpu} (sm {capability}), {platform.machine()}")
        print(f"# model {args.onnx} input {md.input_shape}, {len(calib)} crops from {calib.path}")
        print(f"# ONNX Runtime CPU FP32 reference: median {cpu_ms[0]:.1f} ms")
        print("| precision | build s | max abs diff | mean IoU | worst IoU | median ms | p90 ms |")
        print("|---|---|---|---|---|---|---|")
        for name in args.precisions.split(","):
            onnx_path, precision = args.onnx, name
            if name == "int8-qdq":
                onnx_path = quantize_qdq(args.onnx, calib, work / "model.qdq.onnx")
                precision = "int8"
            info = build_engine(
                onnx_path, precision, calib_dir=calib.path, cache_dir=work / name,
                workspace_gib=args.workspace, allow_accuracy_loss=True, rebuild=True,
            )  # fmt: skip
            with TensorRTBackend(info.path) as engine:
                gate = accuracy_gate(
                    ref.infer, engine.infer, calib.batches(md.preprocessing, 1, limit=100),
                    precision="fp32" if name == "fp32" else precision, threshold=md.threshold,
                )  # fmt: skip
                med, p90 = _latency_ms(engine.infer, x1, args.runs)
            row = [
                name,
                f"{info.build_s:.0f}",
                f"{gate.max_abs_prob_diff:.2e}",
                f"{gate.mean_iou:.4f}",
                f"{gate.min_iou:.4f}",
                f"{med:.2f}",
                f"{p90:.2f}",
            ]
            print("| " + " | ".join(row) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
