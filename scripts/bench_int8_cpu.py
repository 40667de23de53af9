#!/usr/bin/env python3
"""CPU benchmark: FP32 vs explicit INT8 (Q/DQ) ONNX Runtime latency and mask IoU.

Same model both ways, real face crops through the kiosk path (landmarks -> Table 1 crop).

    python scripts/bench_int8_cpu.py [--onnx MODEL.onnx] [--base 16] [--size 640] \\
        [--video ../shared/data/video/portrait_motion_720p.mp4] [--faces ../shared/data/faces]

Without --onnx a base-16 U-Net is trained for a few dozen steps to reproduce Eq. 1
texture-threshold masks (wds_edge_export.proxy_model: a real trained network with confident
masks, not a wrinkle model of paper quality) and exported at --size. Calibration
crops come from the video (every 4th frame), the IoU is measured on the face photos
(not used for calibration).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from _common import SHARED_ENV, shared_landmarker, shared_root, work_dir  # noqa: E402

from wds_edge.bench.environment import LoadWatch, environment_report, format_environment  # noqa: E402
from wds_edge.bench.stats import summarize_ms, time_calls_ms  # noqa: E402
from wds_edge.model.preprocessing import model_input  # noqa: E402
from wds_edge.runtime.gate import GateResult, accuracy_gate  # noqa: E402
from wds_edge.runtime.onnxruntime import OnnxRuntimeBackend  # noqa: E402
from wds_edge_calibration.build import build_calibration_set  # noqa: E402
from wds_edge_calibration.crops import face_crops_from_images  # noqa: E402
from wds_edge_calibration.qdq import quantize_qdq  # noqa: E402


def _latency_ms(infer, x, runs: int) -> tuple[float, float]:
    """(p50, p90) milliseconds of ``runs`` calls after 3 warm-up calls."""
    stats = summarize_ms(time_calls_ms(infer, x, warmup=3, runs=runs))
    return stats.p50_ms, stats.p90_ms


def _parser() -> argparse.ArgumentParser:
    shared = shared_root()
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--onnx", type=Path, help="FP32 model (default: a proxy model trained here)")
    ap.add_argument("--base", type=int, default=16)
    ap.add_argument("--size", type=int, default=640)
    ap.add_argument(
        "--video",
        type=Path,
        default=shared / "data/video/portrait_motion_720p.mp4",
        help="calibration clip (default: in $WDS_EDGE_SHARED, else ../shared)",
    )
    ap.add_argument(
        "--faces",
        type=Path,
        default=shared / "data/faces",
        help="face photos for the IoU (default: in $WDS_EDGE_SHARED, else ../shared)",
    )
    ap.add_argument(
        "--landmarker",
        type=Path,
        default=shared_landmarker(),
        help="default: $WDS_EDGE_FACE_LANDMARKER, else the shared folder's",
    )
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument(
        "--keep-work",
        action="store_true",
        help="keep the work folder (calibration crops, models) and print its path",
    )
    return ap


def _check_inputs(ap: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Refuse missing inputs in one line (exit 2) before anything is built."""
    hint = f"pass it, or set {SHARED_ENV} to the shared folder ({shared_root()} now)"
    if args.onnx is not None and not args.onnx.is_file():
        ap.error(f"--onnx {args.onnx}: no such file")
    for option, path, is_ok in (("--video", args.video, Path.is_file),
                                ("--faces", args.faces, Path.is_dir),
                                ("--landmarker", args.landmarker, Path.is_file)):  # fmt: skip
        if not is_ok(path):
            ap.error(f"{option} {path}: not found; {hint}")
    if args.runs < 1:
        ap.error(f"--runs must be >= 1, got {args.runs}")


def gate_line(gate: GateResult) -> str:
    """The verdict under the table in the gate's own words: both of its bars (mean and worst
    image IoU, :mod:`wds_edge.runtime.gate`) with this run's figures."""
    return f"# {gate.reason}"


def main(argv: list[str] | None = None) -> int:
    ap = _parser()
    args = ap.parse_args(argv)
    _check_inputs(ap, args)
    env, load = environment_report(), LoadWatch()
    with work_dir("wds-int8-bench-", keep=args.keep_work) as work:
        return _run(args, work, env, load)


def _run(args: argparse.Namespace, work: Path, env: dict, load: LoadWatch) -> int:
    photos = sorted(p for p in args.faces.iterdir() if p.suffix.lower() in (".jpg", ".png"))
    found = face_crops_from_images(photos, args.size, landmarker_path=args.landmarker)
    test_crops = [c for _, c in found]
    fp32 = args.onnx
    if fp32 is None:
        import cv2

        from wds_edge_export.onnx_export import export_model
        from wds_edge_export.proxy_model import train_texture_proxy

        small = [cv2.resize(c, (128, 128), interpolation=cv2.INTER_AREA) for c in test_crops[:6]]
        t0 = time.perf_counter()
        model = train_texture_proxy(small, base_channels=args.base, steps=60)
        print(f"# trained base-{args.base} proxy model in {time.perf_counter() - t0:.0f} s")
        fp32 = work / "model.onnx"
        export_model(model, fp32, input_size_px=args.size)
    calib = build_calibration_set(args.video, work / "calib", count=500, size_px=args.size,
                                  frame_stride=4, landmarker_path=args.landmarker)  # fmt: skip
    t0 = time.perf_counter()
    int8 = quantize_qdq(fp32, calib, work / "model.int8.onnx")
    print(f"# quantized with {len(calib)} video crops in {time.perf_counter() - t0:.0f} s")
    cpu = ["CPUExecutionProvider"]
    with OnnxRuntimeBackend(fp32, providers=cpu, num_threads=args.threads) as ref, \
            OnnxRuntimeBackend(int8, providers=cpu, num_threads=args.threads) as q:  # fmt: skip
        md = ref.metadata
        inputs = [model_input(c, md.preprocessing) for c in test_crops]
        gate = accuracy_gate(ref.infer, q.infer, inputs, precision="int8", threshold=md.threshold)
        fp32_ms = _latency_ms(ref.infer, inputs[0], args.runs)
        int8_ms = _latency_ms(q.infer, inputs[0], args.runs)
    size_mb = (fp32.stat().st_size / 1e6, int8.stat().st_size / 1e6)
    print(f"# model {md.input_shape}, base {md.architecture.base_channels}, "
          f"{md.architecture.gflops} GFLOPs; IoU on {gate.images} face-photo crops")  # fmt: skip
    header = ["model", "file MB", "median ms", "p90 ms", "mean mask IoU vs FP32", "worst IoU",
              "max wrinkle-ratio diff"]  # fmt: skip
    print("| " + " | ".join(header) + " |")
    print("|---|---|---|---|---|---|---|")
    print(f"| FP32 | {size_mb[0]:.1f} | {fp32_ms[0]:.1f} | {fp32_ms[1]:.1f} | 1 | 1 | 0 |")
    print(f"| INT8 Q/DQ | {size_mb[1]:.1f} | {int8_ms[0]:.1f} | {int8_ms[1]:.1f} | "
          f"{gate.mean_iou:.4f} | {gate.min_iou:.4f} | {gate.max_ratio_diff:.4f} |")  # fmt: skip
    print(gate_line(gate))
    load.stop()
    print(f"# {format_environment(env, load)}")
    if load.warning():
        print(f"# warning: {load.warning()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
