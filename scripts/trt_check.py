#!/usr/bin/env python3
"""The one command to run on a real NVIDIA GPU: TensorRT FP32 / FP16 / INT8 builds, parity
with ONNX Runtime, the accuracy gate, what each engine layer really runs in, and latency
with the host/device split, as JSON.

For anyone with an NVIDIA GPU, TensorRT 10 (or 11) and cuda-python (x86_64: ``pip install
'.[trt]'`` in the checkout, ``'.[trt-cu13]'`` for driver R580+; JetPack 6 on a Jetson). Per
precision:
build time, max |prob diff| and mean / worst mask IoU vs the FP32 ONNX model in ONNX
Runtime on held-out crops (``--held-out``; never the calibration crops), whether the
accuracy gate passes, the engine inspector's layer precisions (built with
``ProfilingVerbosity.DETAILED``: the texture subgraph and head must show FP32), p50 / p90
latency of ``infer`` (host wall clock) and the device-side split (H2D copy, compute, D2H
copy, CUDA events). Writes ``--report`` (JSON) and prints a markdown table for
benchmarks/RESULTS.md.

    python scripts/trt_check.py --onnx model.onnx --faces ../shared/data/faces \\
        [--calib CALIB_DIR] [--held-out HELD_OUT_DIR|synthetic] \\
        [--precisions fp32,fp16,int8,int8-qdq] [--runs 200] [--device 0] \\
        [--report trt_check.json]

``int8`` is TensorRT 10's implicit entropy calibration (TensorRT 11: the Q/DQ route);
``int8-qdq`` builds the explicit Q/DQ model (ONNX Runtime quantize_static). Not run in
this repository's CI (no GPU there); see benchmarks/RESULTS.md for what was run.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import platform
import sys
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from _common import work_dir  # noqa: E402

from wds_edge.bench.stats import summarize_ms, time_calls_ms  # noqa: E402
from wds_edge.io import ensure_writable_file, write_json_atomic  # noqa: E402
from wds_edge.model.texture_graph import onnx_texture_subgraph  # noqa: E402
from wds_edge.runtime.gate import GATE_MIN_IOU, accuracy_gate  # noqa: E402
from wds_edge.runtime.onnxruntime import OnnxRuntimeBackend  # noqa: E402
from wds_edge_calibration.build import build_calibration_set  # noqa: E402
from wds_edge_calibration.dataset import load_calibration_set  # noqa: E402
from wds_edge_calibration.trt_calibrator import tensorrt_calibration  # noqa: E402

CHOICES = ("fp32", "fp16", "int8", "int8-qdq")


def _texture_layers(layers: list[dict[str, Any]], onnx_path: Path) -> list[str]:
    """Engine layers built from the Eq. 1 texture subgraph (found by structure, so a dynamo
    export's node names count as well as the torchscript tracer's /preprocess/ ones; a fused
    layer names its nodes, so a layer counts when it names one of them)."""
    import onnx

    sub = onnx_texture_subgraph(onnx.load(str(onnx_path), load_external_data=False).graph)
    names = set(sub.nodes) if sub is not None else set()
    return [la["Name"] for la in layers if any(n and n in la.get("Name", "") for n in names)]


def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    ap.add_argument("--onnx", type=Path, required=True, help="FP32 wds-edge ONNX model")
    ap.add_argument("--faces", type=Path, help="folder of face photos / a video for the crops")
    ap.add_argument("--calib", type=Path, help="existing calibration folder (wds-edge calibrate)")
    ap.add_argument("--held-out", default="synthetic",
                    help="crops the gate compares on: a calibration-format folder of other crops "
                    "than --calib / --faces, or 'synthetic' (default)")  # fmt: skip
    ap.add_argument("--precisions", default="fp32,fp16,int8,int8-qdq", help=",".join(CHOICES))
    ap.add_argument("--runs", type=int, default=200, help="timed calls per precision")
    ap.add_argument("--workspace", type=float, default=4.0, help="TensorRT workspace, GiB")
    ap.add_argument("--device", type=int, default=0, help="CUDA device index")
    ap.add_argument("--report", type=Path, default=Path("trt_check.json"), help="JSON report")
    ap.add_argument("--keep-work", action="store_true",
                    help="keep the work folder (engines, the Q/DQ model, calibration crops; "
                    "removed at the end otherwise) and print its path")  # fmt: skip
    return ap


def _latency(infer: Any, x: np.ndarray, runs: int) -> dict[str, float]:
    stats = summarize_ms(time_calls_ms(infer, x, warmup=10, runs=runs))
    return {"p50_ms": stats.p50_ms, "p90_ms": stats.p90_ms}


def _check_one(
    name: str, args: argparse.Namespace, ref: OnnxRuntimeBackend, calib: Any, held: Any,
    work: Path, x1: np.ndarray,
) -> dict[str, Any]:  # fmt: skip
    from collections import Counter

    from wds_edge.runtime.tensorrt.backend import TensorRTBackend
    from wds_edge.runtime.tensorrt.precision import check_fp32_layers, tensor_precision
    from wds_edge.runtime.tensorrt.provision import ensure_engine

    md = ref.metadata
    onnx_path, precision = args.onnx, name
    if name == "int8-qdq":
        onnx_path = tensorrt_calibration(calib).quantize_qdq(args.onnx, work / "model.qdq.onnx")
        precision = "int8"
    info = ensure_engine(
        onnx_path, precision, calibration=tensorrt_calibration(calib), gate_crops=held,
        reference_onnx=args.onnx, cache_dir=work / name, workspace_gib=args.workspace,
        allow_accuracy_loss=True, rebuild=True, device=args.device,
    )  # fmt: skip
    with TensorRTBackend(info.path, device=args.device) as engine:
        gate = accuracy_gate(  # against the FP32 ONNX, on the held-out crops
            ref.infer, engine.infer, held.batches(md.preprocessing, 1, limit=100),
            precision=precision, threshold=md.threshold,
        )  # fmt: skip
        layers = engine.engine_layers()
        latency = _latency(engine.infer, x1, args.runs)
        split = engine.profile_transfers(x1, runs=min(args.runs, 50))
        device = engine.device
        pinned = engine.sidecar.fp32_layers or []
    texture = _texture_layers(layers, args.onnx)
    counts = Counter(
        tensor_precision(t.get("Format/Datatype", ""))
        for la in layers for t in la.get("Outputs", [])
    )  # fmt: skip
    return {
        "precision": name,
        "engine": str(info.path) if args.keep_work else None,  # else removed with the work
        "device": device,
        "build_s": round(info.build_s, 1),
        "max_abs_prob_diff": gate.max_abs_prob_diff,
        "mean_iou": gate.mean_iou,
        "worst_iou": gate.min_iou,
        "reference_wrinkle_fraction": gate.reference_fraction,
        "gate_min_iou": GATE_MIN_IOU[precision],
        "gate_passed": gate.passed,
        "gate": gate.verdict,
        "fp32_layers_pinned": pinned,
        "fp32_check": check_fp32_layers(layers, pinned or texture) if (pinned or texture) else None,
        "layer_output_precisions": dict(counts),
        "engine_layers": layers,
        "host_latency": latency,
        "device_split": split,
    }


def _report(
    args: argparse.Namespace, argv: list[str] | None, trt: Any, gpu: Any, names: list[str],
    work: Path,
) -> tuple[dict[str, Any], Any, Any]:  # fmt: skip
    """Build and measure every precision in ``work``; the report, the model's metadata and
    the calibration set."""
    with OnnxRuntimeBackend(args.onnx, providers=["CPUExecutionProvider"]) as ref:
        md = ref.metadata
        if args.calib is not None:
            calib = load_calibration_set(args.calib)
        else:
            calib = build_calibration_set(args.faces, work / "calib", count=500,
                                          size_px=md.input_size_hw[0])  # fmt: skip
        held: Any = args.held_out
        if held == "synthetic":
            from wds_edge.runtime.probe_inputs import SyntheticCrops

            held = SyntheticCrops(md.input_size_hw[0])
        else:
            held = load_calibration_set(held)
        x1 = next(held.batches(md.preprocessing, 1))
        report: dict[str, Any] = {
            "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            "command": " ".join(["python", "scripts/trt_check.py", *(argv or sys.argv[1:])]),
            "machine": platform.machine(),
            "tensorrt": trt.__version__,
            "gpu": {
                "name": gpu.name,
                "compute_capability": gpu.compute_capability,
                "sm_count": gpu.sm_count,
                "memory_gib": gpu.memory_gib,
                "integrated": gpu.integrated,
            },  # fmt: skip
            "model": str(args.onnx),
            "input_shape": md.input_shape,
            "crops": {"count": len(calib), "path": str(calib.path)},
            "held_out": {"count": len(held), "path": str(held.path)},
            "onnxruntime_cpu_fp32": _latency(ref.infer, x1, min(args.runs, 20)),
            "results": [_check_one(n, args, ref, calib, held, work, x1) for n in names],
        }
    return report, md, calib


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    names = [n.strip() for n in args.precisions.split(",") if n.strip()]
    unknown = sorted(set(names) - set(CHOICES))
    if unknown:
        _parser().error(f"unknown precisions {unknown}; choose from {', '.join(CHOICES)}")
    if args.calib is None and args.faces is None:
        _parser().error("pass --calib CALIB_DIR or --faces DIR")
    ensure_writable_file(args.report, "report")  # before minutes of engine builds
    from wds_edge.runtime.tensorrt.cuda import device_info
    from wds_edge.runtime.tensorrt.module import tensorrt_module

    trt = tensorrt_module()  # clear install hints where TensorRT is missing
    gpu = device_info(args.device)
    with work_dir("wds-trt-check-", keep=args.keep_work) as work:
        report, md, calib = _report(args, argv, trt, gpu, names, work)
    write_json_atomic(args.report, report)
    print(f"# TensorRT {trt.__version__} on {gpu.name} (sm {gpu.compute_capability}, "
          f"{gpu.sm_count} SMs, {gpu.memory_gib} GiB), {report['machine']}")  # fmt: skip
    print(f"# {args.onnx} input {md.input_shape}, {len(calib)} crops; report {args.report}")
    print("| precision | build s | max abs diff | mean IoU | worst IoU | gate | texture+head FP32 "
          "| p50 ms | p90 ms | H2D ms | compute ms | D2H ms |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in report["results"]:
        lat, split = r["host_latency"], r["device_split"]
        fp32 = "-" if r["fp32_check"] is None else ("yes" if r["fp32_check"]["fp32"] else "NO")
        row = [r["precision"], f"{r['build_s']:.0f}", f"{r['max_abs_prob_diff']:.2e}",
               f"{r['mean_iou']:.4f}", f"{r['worst_iou']:.4f}",
               _verdict_cell(r["gate"]), fp32, f"{lat['p50_ms']:.2f}",
               f"{lat['p90_ms']:.2f}", f"{split['h2d_ms']:.2f}", f"{split['compute_ms']:.2f}",
               f"{split['d2h_ms']:.2f}"]  # fmt: skip
        print("| " + " | ".join(row) + " |")
    return 0


def _verdict_cell(verdict: str) -> str:
    """The gate column: pass / FAIL / not gated (the FP32 reference marks almost no pixel or
    most pixels: nothing was measured, which is not a pass)."""
    from wds_edge.runtime.gate import VERDICT_CELLS

    return VERDICT_CELLS.get(verdict, verdict)


if __name__ == "__main__":
    from wds_edge.errors import WdsEdgeError

    try:
        raise SystemExit(main())
    except WdsEdgeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
