"""Parity of an exported model: PyTorch (FP32 module) vs ONNX Runtime on real face crops.

The crops come from the kiosk's path (:func:`wds_edge_calibration.crops.face_crops_from_images`:
landmarks -> Table 1 crop) and the inputs from :func:`wds_edge.model.preprocessing.model_input`,
so parity is measured on exactly what the kiosk feeds the model. For the PyTorch side
the *same* crop goes through :class:`wds_edge_export.graph.InferenceGraph` (in-graph
preprocessing included), i.e. the comparison covers the texture map too.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from wds_edge.errors import DataError, ModelError
from wds_edge.model.metadata import ModelMetadata
from wds_edge.model.metrics import mask_iou, segmentation_metrics
from wds_edge.model.preprocessing import Preprocessing, model_input
from wds_edge_calibration.crops import face_crops_from_images
from wds_edge_export.graph import InferenceGraph
from wds_edge_train.model import WrinkleUNet

__all__ = [
    "PARITY_MAX_ABS_DIFF",
    "PARITY_MIN_MASK_IOU",
    "check_parity",
    "check_parity_photos",
    "parity_report",
    "parity_on_crops",
]

logger = logging.getLogger(__name__)

#: FP32 PyTorch and ONNX Runtime differ by float rounding only (~1e-5 on the bundled model);
#: more means the graph computes something else (an exporter bug, a wrong opset lowering).
PARITY_MAX_ABS_DIFF = 1e-3
#: Worst mask IoU allowed, over the pixels whose PyTorch probability is further than
#: :data:`PARITY_MAX_ABS_DIFF` from the threshold. Nearer, an allowed difference can flip the
#: pixel (one flipped pixel of a sparse mask reads as IoU 0 over the whole crop); further, an
#: allowed difference cannot, so a disagreement there is a graph computing something else.
PARITY_MIN_MASK_IOU = 0.999


def check_parity(report: dict[str, Any]) -> None:
    """Raise :class:`ModelError` when a :func:`parity_report` shows the ONNX graph does not
    compute what the PyTorch model does (beyond :data:`PARITY_MAX_ABS_DIFF` /
    :data:`PARITY_MIN_MASK_IOU`; pixels within rounding of the threshold may flip), or when
    either side's output holds a NaN or an infinity (all-NaN outputs give two empty masks,
    IoU 1.0, and a NaN difference compares false with any limit)."""
    nonfinite = report.get("nonfinite_values") or {}
    torch_bad, onnx_bad = int(nonfinite.get("pytorch", 0)), int(nonfinite.get("onnxruntime", 0))
    if torch_bad or onnx_bad:
        where = (
            f"the checkpoint's own output holds {torch_bad} NaN / infinite values: its "
            "weights are broken (a diverged training run); export another checkpoint"
            if torch_bad
            else "the exported graph computes something else than the checkpoint; try the "
            "other exporter (--exporter) or opset, and report the model"
        )
        raise ModelError(
            f"parity failed on {report['images']} face crops: {torch_bad} NaN / infinite "
            f"values in the PyTorch output, {onnx_bad} in the ONNX Runtime output; {where}"
        )
    diff, iou = float(report["max_abs_diff"]), float(report["min_mask_iou"])
    # written so that a NaN fails (every comparison with NaN is false)
    if not (diff <= PARITY_MAX_ABS_DIFF) or not (iou >= PARITY_MIN_MASK_IOU):
        raise ModelError(
            f"parity failed on {report['images']} face crops: max |PyTorch - ONNX Runtime| "
            f"{diff:.2e} (allowed {PARITY_MAX_ABS_DIFF:g}), worst mask IoU {iou:.4f} away from "
            f"the threshold (needs >= {PARITY_MIN_MASK_IOU}): the exported graph does not "
            "compute what the checkpoint does; try the other exporter (--exporter) or opset, "
            "and report the model"
        )


def parity_on_crops(
    model: WrinkleUNet,
    onnx_path: str | Path,
    crops: Sequence[tuple[str, np.ndarray]],
    metadata: ModelMetadata,
) -> dict[str, Any]:
    """Compare PyTorch and ONNX Runtime on labelled uint8 RGB crops.

    ``mask_iou`` compares the two masks where the PyTorch probability is further than
    :data:`PARITY_MAX_ABS_DIFF` from the threshold (a pixel nearer can flip by an allowed
    rounding difference); ``mask_iou_all`` over every pixel, ``flipped_pixels`` counts the
    pixels whose mask differs and ``masks_identical`` says whether none does. A model of a
    fixed batch N is fed each crop N times and every row is compared (the IoUs are the worst
    row's); ``nonfinite_values`` counts the NaN / infinite outputs of each side.

    Returns:
        ``{"images", "max_abs_diff", "mean_abs_diff", "min_mask_iou", "mean_mask_iou",
        "min_mask_iou_all", "flipped_pixels", "masks_identical", "nonfinite_values":
        {"pytorch", "onnxruntime"}, "batch_rows", "threshold", "onnxruntime",
        "per_image": [{"label", "max_abs_diff", "mean_abs_diff", "mask_iou", "mask_iou_all",
        "flipped_pixels", "masks_identical", "nonfinite_pytorch", "nonfinite_onnxruntime"}]}``.
    """
    import onnxruntime as ort

    if not crops:
        raise DataError("parity needs at least one face crop; no face was found in the images")
    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    texture_in_graph = metadata.preprocessing is Preprocessing.TEXTURE_IN_GRAPH
    was_training = model.training
    graph = InferenceGraph(model, texture_in_graph).eval()
    # a fixed batch of N takes exactly N images: the crop N times, every row compared
    rows = max(int(metadata.input_shape[0]), 1)
    per_image = []
    try:
        with torch.no_grad():
            for label, crop in crops:
                x = model_input(crop, metadata.preprocessing)
                if rows > 1:
                    x = np.repeat(x, rows, axis=0)
                ref = graph(torch.from_numpy(x)).numpy()
                got = session.run([metadata.output_name], {metadata.input_name: x})[0]
                diff = np.abs(ref - got)
                ref_mask, got_mask = ref >= metadata.threshold, got >= metadata.threshold
                # nearer the threshold than an allowed difference, a pixel may flip
                decided = np.abs(ref - metadata.threshold) > PARITY_MAX_ABS_DIFF
                flipped = int(np.count_nonzero(ref_mask != got_mask))
                per_image.append(
                    {
                        "label": label,
                        "max_abs_diff": float(diff.max()),
                        "mean_abs_diff": float(diff.mean()),
                        "mask_iou": min(
                            segmentation_metrics(ref_mask[r], got_mask[r], decided[r])["jsi"]
                            for r in range(len(ref))
                        ),
                        "mask_iou_all": min(
                            mask_iou(ref_mask[r], got_mask[r]) for r in range(len(ref))
                        ),
                        "flipped_pixels": flipped,
                        "masks_identical": flipped == 0,
                        "nonfinite_pytorch": int(np.count_nonzero(~np.isfinite(ref))),
                        "nonfinite_onnxruntime": int(np.count_nonzero(~np.isfinite(got))),
                    }
                )
    finally:
        model.train(was_training)
    return {
        "images": len(per_image),
        "max_abs_diff": max(p["max_abs_diff"] for p in per_image),
        "mean_abs_diff": float(np.mean([p["mean_abs_diff"] for p in per_image])),
        "min_mask_iou": min(p["mask_iou"] for p in per_image),
        "mean_mask_iou": float(np.mean([p["mask_iou"] for p in per_image])),
        "min_mask_iou_all": min(p["mask_iou_all"] for p in per_image),
        "flipped_pixels": sum(p["flipped_pixels"] for p in per_image),
        "masks_identical": all(p["masks_identical"] for p in per_image),
        "nonfinite_values": {
            "pytorch": sum(p["nonfinite_pytorch"] for p in per_image),
            "onnxruntime": sum(p["nonfinite_onnxruntime"] for p in per_image),
        },
        "batch_rows": rows,
        "threshold": metadata.threshold,
        "onnxruntime": ort.__version__,
        "per_image": per_image,
    }


def check_parity_photos(images: Sequence[str | Path]) -> None:
    """Refuse a parity photo that cannot be read or decoded, before anything is exported
    (the report would otherwise fail after the whole export).

    Raises:
        InvalidInputError: the photo named, with --no-parity and another folder as fixes.
    """
    from wds_edge.errors import InvalidInputError
    from wds_edge.io import read_image

    for image in images:
        try:
            read_image(image)
        except InvalidInputError as exc:
            raise InvalidInputError(
                f"parity photo {exc}; the parity report reads every photo of --parity-images: "
                "remove it from the folder, pass another --parity-images DIR, or --no-parity "
                "to skip the report"
            ) from exc


def parity_report(
    model: WrinkleUNet,
    onnx_path: str | Path,
    images: Sequence[str | Path],
    *,
    metadata: ModelMetadata,
    landmarker_path: str | Path | None = None,
) -> dict[str, Any]:
    """:func:`parity_on_crops` on the faces found in ``images`` (kiosk crop path)."""
    size = metadata.input_size_hw[0]
    crops = list(face_crops_from_images(images, size, landmarker_path=landmarker_path))
    if not crops:
        raise ModelError(
            f"the parity check found no face in the {len(images)} parity photos; pass "
            "--parity-images DIR with face photos (or --no-parity to skip the check)"
        )
    report = parity_on_crops(model, onnx_path, crops, metadata)
    logger.info(
        "parity on %d crops: max |diff| %.2e, min mask IoU %.4f",
        report["images"],
        report["max_abs_diff"],
        report["min_mask_iou"],
    )
    return report
