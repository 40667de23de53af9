"""The accuracy gate after a reduced-precision build (FP16 / INT8 vs the FP32 ONNX model).

Backend-agnostic: it compares two ``infer(batch_NCHW) -> probability`` callables on
the same inputs (a TensorRT engine vs ONNX Runtime FP32 on the kiosk; a Q/DQ INT8
ONNX model vs FP32 in ONNX Runtime on a CPU). For every image it thresholds both
probabilities at the model's threshold and measures

* mask IoU (Jaccard, 1.0 when both masks are empty), and
* the wrinkle-ratio difference: |fraction of wrinkle pixels (candidate) - (reference)|.

The gate passes when the mean IoU reaches :data:`GATE_MIN_IOU` for the precision
(FP16 0.99, INT8 0.95). The wrinkle-ratio difference is reported, not gated: it is
what a customer would see change in the score, and a reviewer should read it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from wds_edge.errors import InvalidInputError, ModelError
from wds_edge.model.metrics import mask_iou

__all__ = ["GATE_MIN_IOU", "GateResult", "accuracy_gate", "enforce_gate"]

logger = logging.getLogger(__name__)

#: Minimum mean mask IoU vs FP32 per precision (from the issue).
GATE_MIN_IOU = {"fp32": 0.999, "fp16": 0.99, "int8": 0.95}

InferFn = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class GateResult:
    """Outcome of :func:`accuracy_gate` (all IoUs in [0, 1], ratios as fractions)."""

    precision: str
    images: int
    mean_iou: float
    min_iou: float
    mean_ratio_diff: float
    max_ratio_diff: float
    max_abs_prob_diff: float
    min_required_iou: float
    passed: bool

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def accuracy_gate(
    reference: InferFn,
    candidate: InferFn,
    inputs: Iterable[np.ndarray],
    *,
    precision: str,
    threshold: float = 0.5,
    min_iou: float | None = None,
) -> GateResult:
    """Compare a reduced-precision model with its FP32 reference.

    Args:
        reference: FP32 model, float32 NCHW -> (N, 1, H, W) probability in [0, 1].
        candidate: the reduced-precision model, same contract.
        inputs: model input batches (float32 NCHW, as ``model_input`` builds them).
        precision: ``"fp16"`` or ``"int8"`` (selects the IoU bar), or ``"fp32"``.
        threshold: probability threshold of the mask (the model's metadata threshold).
        min_iou: override the bar of :data:`GATE_MIN_IOU`.

    Returns:
        A :class:`GateResult`; ``passed`` says whether the mean IoU meets the bar.

    Raises:
        InvalidInputError: unknown precision, no inputs, or outputs of different shapes.
    """
    if precision not in GATE_MIN_IOU and min_iou is None:
        raise InvalidInputError(
            f"precision must be one of {sorted(GATE_MIN_IOU)}, got {precision!r}"
        )
    bar = GATE_MIN_IOU.get(precision, 0.0) if min_iou is None else float(min_iou)
    ious: list[float] = []
    ratio_diffs: list[float] = []
    max_abs = 0.0
    for batch in inputs:
        ref = np.asarray(reference(batch), dtype=np.float32)
        cand = np.asarray(candidate(batch), dtype=np.float32)
        if ref.shape != cand.shape:
            raise InvalidInputError(
                f"reference output {ref.shape} != candidate output {cand.shape}"
            )
        max_abs = max(max_abs, float(np.abs(ref - cand).max()))
        for r, c in zip(ref, cand, strict=True):
            mask_r, mask_c = r[0] >= threshold, c[0] >= threshold
            ious.append(mask_iou(mask_c, mask_r))
            ratio_diffs.append(abs(float(mask_c.mean()) - float(mask_r.mean())))
    if not ious:
        raise InvalidInputError("the accuracy gate got no input images")
    result = GateResult(
        precision=precision,
        images=len(ious),
        mean_iou=float(np.mean(ious)),
        min_iou=float(np.min(ious)),
        mean_ratio_diff=float(np.mean(ratio_diffs)),
        max_ratio_diff=float(np.max(ratio_diffs)),
        max_abs_prob_diff=max_abs,
        min_required_iou=bar,
        passed=float(np.mean(ious)) >= bar,
    )
    logger.info("accuracy gate %s: %s", precision, result)
    return result


def enforce_gate(result: GateResult, *, allow_accuracy_loss: bool = False) -> None:
    """Raise :class:`ModelError` for a failed gate unless accuracy loss is allowed."""
    if result.passed:
        return
    message = (
        f"{result.precision.upper()} accuracy gate failed: mean mask IoU vs FP32 "
        f"{result.mean_iou:.4f} < {result.min_required_iou} over {result.images} images "
        f"(worst {result.min_iou:.4f}, wrinkle ratio differs by up to {result.max_ratio_diff:.4f})"
    )
    if allow_accuracy_loss:
        logger.warning("%s; kept because accuracy loss was allowed", message)
        return
    raise ModelError(
        message + "; use a higher precision, more / better calibration crops, or accept the "
        "loss with --allow-accuracy-loss"
    )
