#!/usr/bin/env python3
"""Issue 12: the fast CPU path (OpenVINO BF16, texture FP32) at 640 px vs 512 px, and base 8.

All in one process, interleaved (every configuration once per round, order reversed
every other round), on real kiosk crops (video frames through landmarks -> Table 1 crop):

* ``ort fp32 640``: the reference (bundled base-16 model, ONNX Runtime FP32);
* ``ov bf16 640``: the bundled model on the fast path;
* ``ov bf16 512``: the same network reshaped to 512 px input (it is fully convolutional;
  the crop is resized 640 -> 512, the probability resized back to 640 before the threshold),
  with its mask IoU against the 640 px FP32 masks;
* ``ov bf16 b8 640``: an untrained, seeded base-8 network (latency only: no trained base-8
  model exists, so its accuracy cannot be measured here).

    python scripts/bench_fast_path_sizes.py [--rounds 20] [--crops 12]
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

import cv2  # noqa: E402
import numpy as np  # noqa: E402
import openvino as ov  # noqa: E402
from _common import shared_landmarker, shared_root  # noqa: E402

from wds_edge.bench.environment import LoadWatch, environment_report, format_environment  # noqa: E402
from wds_edge.model.bundled import default_model_path  # noqa: E402
from wds_edge.model.metrics import mask_iou  # noqa: E402
from wds_edge.runtime.onnxruntime import OnnxRuntimeBackend  # noqa: E402
from wds_edge.runtime.openvino import split_at_texture  # noqa: E402
from wds_edge_calibration.crops import iter_face_crops  # noqa: E402


def _scale_resizes(src: Path, dst: Path) -> Path:
    """The same graph with every bilinear Resize given scales x2 instead of fixed output sizes.

    The exporter wrote ``sizes`` (fixed for 640 px); with ``scales = 2`` the decoder follows
    any input size divisible by 16, and at 640 px the outputs are the same sizes.
    """
    import onnx
    from onnx import numpy_helper

    model = onnx.load(str(src))
    scales = numpy_helper.from_array(np.array([1, 1, 2, 2], np.float32), "x2_scales")
    model.graph.initializer.append(scales)
    for node in model.graph.node:
        if node.op_type == "Resize" and len(node.input) == 4 and node.input[3]:
            node.input[2], node.input[3] = "x2_scales", ""
    onnx.save(model, str(dst))
    return dst


def _split_bf16(core: ov.Core, path: Path, size: int):
    def load():
        model = core.read_model(str(path))
        model.reshape([1, 3, size, size])
        return model

    texture, network = split_at_texture(core, load)
    cfg = {"PERFORMANCE_HINT": "LATENCY"}
    parts = [
        core.compile_model(texture, "CPU", {**cfg, "INFERENCE_PRECISION_HINT": "f32"}),
        core.compile_model(network, "CPU", {**cfg, "INFERENCE_PRECISION_HINT": "bf16"}),
    ]

    def infer(x: np.ndarray) -> np.ndarray:
        return parts[1](parts[0](x)[0])[0]

    return infer


def reference_backend(model: Path) -> OnnxRuntimeBackend:
    """The ONNX Runtime FP32 reference, timed interleaved with OpenVINO: its idle intra-op
    threads must not spin (they would keep the cores busy while OpenVINO runs), as in
    bench_int8_people.py and profile_openvino.py."""
    return OnnxRuntimeBackend(model, providers=["CPUExecutionProvider"], spin_wait=False)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--video",
        default=str(shared_root() / "data/video/portrait_motion_720p.mp4"),
        help="the kiosk clip (default: in $WDS_EDGE_SHARED, else ../shared)",
    )
    ap.add_argument(
        "--landmarker",
        default=str(shared_landmarker()),
        help="default: $WDS_EDGE_FACE_LANDMARKER, else the shared folder's",
    )
    ap.add_argument("--rounds", type=int, default=20)
    ap.add_argument("--crops", type=int, default=12)
    args = ap.parse_args(argv)

    env, load = environment_report(), LoadWatch()
    model = default_model_path()
    crops = [
        c
        for _, c in itertools.islice(
            iter_face_crops(args.video, 640, landmarker_path=args.landmarker, frame_stride=14),
            args.crops,
        )
    ]
    core = ov.Core()
    ref = reference_backend(model)
    bf16_640 = _split_bf16(core, model, 640)
    from wds_edge_export.eager_baseline import export_width_model

    with tempfile.TemporaryDirectory() as tmp:
        scaled = _scale_resizes(model, Path(tmp) / "scaled.onnx")
        bf16_512 = _split_bf16(core, scaled, 512)
        bf16_640_scaled = _split_bf16(core, scaled, 640)
        b8 = _split_bf16(core, export_width_model(8, 640, tmp), 640)

    def x640(c):
        return c.transpose(2, 0, 1)[None].astype(np.float32).copy()

    def x512(c):
        return x640(cv2.resize(c, (512, 512), interpolation=cv2.INTER_AREA))

    configs = {
        "ort fp32 640": (ref.infer, x640),
        "ov bf16 640": (bf16_640, x640),
        "ov bf16 512": (bf16_512, x512),
        "ov bf16 b8 640 (untrained)": (b8, x640),
    }
    ref_masks = [ref.infer(x640(c))[0, 0] >= 0.5 for c in crops]
    same = [np.array_equal(bf16_640_scaled(x640(c)), bf16_640(x640(c))) for c in crops[:2]]
    print(f"scales-x2 graph at 640 px identical to the bundled one on the fast path: {all(same)}")
    ious: dict[str, list[float]] = {}
    for name in ("ov bf16 640", "ov bf16 512"):
        fn, prep = configs[name]
        ious[name] = []
        for c, m in zip(crops, ref_masks, strict=True):
            prob = fn(prep(c))[0, 0]
            if prob.shape != (640, 640):
                prob = cv2.resize(prob, (640, 640), interpolation=cv2.INTER_LINEAR)
            ious[name].append(mask_iou(prob >= 0.5, m))
    times: dict[str, list[float]] = {k: [] for k in configs}
    names = list(configs)
    for r in range(args.rounds + 2):
        c = crops[r % len(crops)]
        for name in names if r % 2 == 0 else reversed(names):
            fn, prep = configs[name]
            x = prep(c)
            t0 = time.perf_counter()
            fn(x)
            if r >= 2:
                times[name].append((time.perf_counter() - t0) * 1000.0)
    base = statistics.median(times["ort fp32 640"])
    load.stop()
    print(f"# {format_environment(env, load)}")
    if load.warning():
        print(f"# warning: {load.warning()}")
    print(f"{len(crops)} crops, {args.rounds} interleaved rounds")
    print("| config | p50 ms | speed-up vs ORT FP32 640 | mean IoU vs 640 FP32 | worst IoU |")
    print("|---|---|---|---|---|")
    for name in names:
        p50 = statistics.median(times[name])
        iou = ious.get(name)
        mean = f"{np.mean(iou):.4f}" if iou else "n/a (untrained)" if "b8" in name else "1 (ref)"
        worst = f"{np.min(iou):.4f}" if iou else "-"
        print(f"| {name} | {p50:.1f} | {base / p50:.2f}x | {mean} | {worst} |")


if __name__ == "__main__":
    main()
