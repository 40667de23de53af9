"""The accuracy gate after a reduced-precision build (FP16 / INT8 vs the FP32 ONNX model).

Backend-agnostic: it compares two ``infer(batch_NCHW) -> probability`` callables on
the same inputs (a TensorRT engine vs ONNX Runtime FP32 on the kiosk; a Q/DQ INT8
ONNX model vs FP32 in ONNX Runtime on a CPU). For every image it thresholds both
probabilities at the model's threshold and measures

* mask IoU (Jaccard, 1.0 when both masks are empty), and
* the wrinkle-ratio difference: |fraction of wrinkle pixels (candidate) - (reference)|.

The gate passes when the mean IoU reaches :data:`GATE_MIN_MEAN_IOU` (0.98) *and* the
worst image's IoU reaches :data:`GATE_MIN_WORST_IOU` (0.95), whatever the precision
(FP16, BF16, INT8 on TensorRT, OpenVINO or ONNX Runtime, and the ``auto`` probe): one
definition, used everywhere. The wrinkle-ratio difference is reported, not gated: it
is what a customer would see change in the score, and a reviewer should read it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from wds_edge.errors import AccuracyGateError, InvalidInputError
from wds_edge.model.metrics import mask_iou

__all__ = [
    "GATE_MIN_IOU",
    "GATE_MIN_MEAN_IOU",
    "GATE_MIN_WORST_IOU",
    "GATE_PRECISIONS",
    "GateResult",
    "accuracy_gate",
    "enforce_gate",
]

logger = logging.getLogger(__name__)

#: Minimum mean mask IoU vs FP32 over the gate's images (issue 12: one bar for every path).
GATE_MIN_MEAN_IOU = 0.98
#: Minimum mask IoU vs FP32 of the worst single image.
GATE_MIN_WORST_IOU = 0.95
#: Precisions the gate knows (the reference itself is FP32).
GATE_PRECISIONS = ("fp32", "fp16", "bf16", "int8")
#: The mean-IoU bar per precision: the same :data:`GATE_MIN_MEAN_IOU` for all (kept for
#: callers that index it by precision).
GATE_MIN_IOU = dict.fromkeys(GATE_PRECISIONS, GATE_MIN_MEAN_IOU)

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
    min_required_worst_iou: float = GATE_MIN_WORST_IOU
    #: Mean fraction of pixels the reference (FP32) marks as wrinkles: a gate on images
    #: where FP32 finds none compares empty masks and proves nothing.
    reference_fraction: float = 0.0
    #: Candidate output values that are NaN or infinite (any fails the gate).
    non_finite: int = 0

    @property
    def reason(self) -> str:
        """One line saying why the gate passed or failed, with the figures."""
        verdict = "passed" if self.passed else "failed"
        broken = f", {self.non_finite} NaN / infinite outputs" if self.non_finite else ""
        return (
            f"{self.precision.upper()} accuracy gate {verdict}: mean mask IoU vs FP32 "
            f"{self.mean_iou:.4f} (needs >= {self.min_required_iou}), worst {self.min_iou:.4f} "
            f"(needs >= {self.min_required_worst_iou}) over {self.images} images{broken}"
        )

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
    min_worst_iou: float | None = None,
) -> GateResult:
    """Compare a reduced-precision model with its FP32 reference.

    Args:
        reference: FP32 model, float32 NCHW -> (N, 1, H, W) probability in [0, 1].
        candidate: the reduced-precision model, same contract.
        inputs: model input batches (float32 NCHW, as ``model_input`` builds them).
        precision: one of :data:`GATE_PRECISIONS` (the label of the result).
        threshold: probability threshold of the mask (the model's metadata threshold).
        min_iou: override the mean bar :data:`GATE_MIN_MEAN_IOU`.
        min_worst_iou: override the worst-image bar :data:`GATE_MIN_WORST_IOU`.

    Returns:
        A :class:`GateResult`; ``passed`` says whether the mean and the worst IoU meet
        their bars.

    Raises:
        InvalidInputError: unknown precision, no inputs, or outputs of different shapes.
    """
    if precision not in GATE_PRECISIONS:
        raise InvalidInputError(
            f"precision must be one of {', '.join(GATE_PRECISIONS)}, got {precision!r}"
        )
    bar = GATE_MIN_MEAN_IOU if min_iou is None else float(min_iou)
    worst_bar = GATE_MIN_WORST_IOU if min_worst_iou is None else float(min_worst_iou)
    ious: list[float] = []
    ratio_diffs: list[float] = []
    fractions: list[float] = []
    max_abs = 0.0
    non_finite = 0
    for batch in inputs:
        ref = np.asarray(reference(batch), dtype=np.float32)
        cand = np.asarray(candidate(batch), dtype=np.float32)
        if ref.shape != cand.shape:
            raise InvalidInputError(
                f"reference output {ref.shape} != candidate output {cand.shape}"
            )
        bad = ~np.isfinite(cand)
        non_finite += int(np.count_nonzero(bad))
        diff = np.abs(ref - cand)
        # a NaN difference counts as the largest possible (max() would skip it)
        max_abs = max(max_abs, 1.0 if bad.any() else float(np.nanmax(diff)))
        for r, c in zip(ref, cand, strict=True):
            mask_r, mask_c = r[0] >= threshold, c[0] >= threshold
            ious.append(mask_iou(mask_c, mask_r))
            ratio_diffs.append(abs(float(mask_c.mean()) - float(mask_r.mean())))
            fractions.append(float(mask_r.mean()))
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
        passed=float(np.mean(ious)) >= bar and float(np.min(ious)) >= worst_bar and not non_finite,
        min_required_worst_iou=worst_bar,
        reference_fraction=float(np.mean(fractions)),
        non_finite=non_finite,
    )
    logger.info("accuracy gate %s: %s", precision, result)
    return result


def enforce_gate(result: GateResult, *, allow_accuracy_loss: bool = False) -> None:
    """Raise :class:`~wds_edge.errors.AccuracyGateError` (a ``ModelError``) for a failed gate
    unless accuracy loss is allowed (then log a warning)."""
    if result.passed:
        return
    message = f"{result.reason} (wrinkle ratio differs by up to {result.max_ratio_diff:.4f})"
    if allow_accuracy_loss:
        logger.warning("%s; kept because accuracy loss was allowed", message)
        return
    raise AccuracyGateError(
        message + "; use a higher precision, more / better calibration crops, or accept the "
        "loss with --allow-accuracy-loss"
    )
