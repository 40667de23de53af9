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

Agreement proves something only where the FP32 reference segments wrinkles. When it marks
(nearly) no pixel (an undertrained model, crops without faces) or (nearly) every pixel,
any candidate that does the same "agrees" at IoU 1.0. So the gate has a third verdict:
**not gated** (:attr:`GateResult.not_gated` says why) when the reference's mean wrinkle
fraction lies outside [:data:`MIN_REFERENCE_WRINKLE_FRACTION`,
:data:`MAX_REFERENCE_WRINKLE_FRACTION`] and the IoU bars are met (a candidate that differs
from such a reference still fails). A gate that is not gated has not passed: ``passed`` is
False, and :func:`enforce_gate` refuses it as it refuses a failed one.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
from collections.abc import Callable, Iterable, Iterator
from contextvars import ContextVar
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
    "MAX_REFERENCE_WRINKLE_FRACTION",
    "MIN_REFERENCE_WRINKLE_FRACTION",
    "VERDICTS",
    "VERDICT_CELLS",
    "GateResult",
    "accuracy_gate",
    "enforce_gate",
    "gate_record",
    "gate_record_problem",
    "gating_new_model",
    "read_gate_record",
    "reference_problem",
    "warn_unless_gated",
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
#: The FP32 masks of the gate's images must cover at least this fraction of their pixels
#: (mean over the images), or the gate compares empty masks (real kiosk crops: ~0.2-2 %).
MIN_REFERENCE_WRINKLE_FRACTION = 0.001
#: ... and at most this fraction: a model that marks most of every crop as wrinkles does not
#: segment wrinkles, and its masks agree with anything else that marks everything.
MAX_REFERENCE_WRINKLE_FRACTION = 0.5
#: The gate's three verdicts (:attr:`GateResult.verdict`).
VERDICTS = ("passed", "failed", "not gated")
#: How a table cell shows each verdict (bench compare, scripts/trt_check.py, the INT8 scripts).
VERDICT_CELLS = {"passed": "pass", "failed": "FAIL", "not gated": "not gated"}

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
    #: Why the figures prove nothing ("" when they count): the reference marks too few or
    #: too many pixels as wrinkles (:func:`reference_problem`). ``passed`` is then False.
    not_gated: str = ""

    @property
    def verdict(self) -> str:
        """``"passed"``, ``"failed"`` or ``"not gated"`` (one of :data:`VERDICTS`)."""
        if self.not_gated:
            return "not gated"
        return "passed" if self.passed else "failed"

    @property
    def reason(self) -> str:
        """One line saying why the gate passed, failed or was not gated, with the figures."""
        if self.not_gated:
            return (
                f"{self.precision.upper()} accuracy gate not gated (inconclusive): "
                f"{self.not_gated}; its mean mask IoU vs FP32 {self.mean_iou:.4f} (worst "
                f"{self.min_iou:.4f}) over {self.images} images shows nothing"
            )
        broken = f", {self.non_finite} NaN / infinite outputs" if self.non_finite else ""
        return (
            f"{self.precision.upper()} accuracy gate {self.verdict}: mean mask IoU vs FP32 "
            f"{self.mean_iou:.4f} (needs >= {self.min_required_iou}), worst {self.min_iou:.4f} "
            f"(needs >= {self.min_required_worst_iou}) over {self.images} images{broken}"
        )

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "verdict": self.verdict}


def reference_problem(fraction: float) -> str:
    """Why a gate whose FP32 reference marks ``fraction`` of the pixels (mean over the
    images) as wrinkles proves nothing ("" when it can: within
    [:data:`MIN_REFERENCE_WRINKLE_FRACTION`, :data:`MAX_REFERENCE_WRINKLE_FRACTION`])."""
    if fraction < MIN_REFERENCE_WRINKLE_FRACTION:
        return (
            f"the FP32 model marks (almost) no wrinkles on these images ({fraction:.5f} of "
            f"the pixels; a gate needs >= {MIN_REFERENCE_WRINKLE_FRACTION}), so any "
            "candidate that marks none agrees with it"
        )
    if fraction > MAX_REFERENCE_WRINKLE_FRACTION:
        return (
            f"the FP32 model marks {fraction:.5f} of the pixels of these images as wrinkles "
            f"(a gate needs <= {MAX_REFERENCE_WRINKLE_FRACTION}): it does not segment "
            "wrinkles, and any candidate that marks everything agrees with it"
        )
    return ""


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
        their bars on a reference that segments wrinkles (else ``not_gated`` says why the
        agreement proves nothing, and ``passed`` is False).

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
    agrees = float(np.mean(ious)) >= bar and float(np.min(ious)) >= worst_bar and not non_finite
    # a candidate that differs from such a reference has failed; one that agrees shows nothing
    void = reference_problem(float(np.mean(fractions))) if agrees else ""
    result = GateResult(
        precision=precision,
        images=len(ious),
        mean_iou=float(np.mean(ious)),
        min_iou=float(np.min(ious)),
        mean_ratio_diff=float(np.mean(ratio_diffs)),
        max_ratio_diff=float(np.max(ratio_diffs)),
        max_abs_prob_diff=max_abs,
        min_required_iou=bar,
        passed=agrees and not void,
        min_required_worst_iou=worst_bar,
        reference_fraction=float(np.mean(fractions)),
        non_finite=non_finite,
        not_gated=void,
    )
    logger.info("accuracy gate %s: %s", precision, result)
    return result


def enforce_gate(result: GateResult, *, allow_accuracy_loss: bool = False) -> None:
    """Raise :class:`~wds_edge.errors.AccuracyGateError` (a ``ModelError``, carrying the
    result as ``gate``) for a gate that failed or was not gated, unless accuracy loss is
    allowed (then log a warning)."""
    if result.passed:
        return
    if result.not_gated:
        message = result.reason
        fix = (
            "train the model longer (or check it is the right model), or gate on other crops "
            "on which the FP32 model finds wrinkles; keep the model unchecked with "
            "--allow-accuracy-loss"
        )
    else:
        message = f"{result.reason} (wrinkle ratio differs by up to {result.max_ratio_diff:.4f})"
        fix = (
            "use a higher precision, more / better calibration crops, or accept the loss with "
            "--allow-accuracy-loss"
        )
    if allow_accuracy_loss:
        logger.warning("%s; kept because accuracy loss was allowed", message)
        return
    raise AccuracyGateError(f"{message}; {fix}", gate=result)


def gate_record(
    gate: GateResult,
    *,
    measured_on: str,
    crops_sha256: str,
    people: Iterable[str] = (),
    held_out: bool = True,
) -> dict[str, Any]:
    """What an INT8 model carries about its gate: the figures and what they were measured on.

    One shape for the OpenVINO IR (``rt_info`` ``wds_edge/gate``) and the Q/DQ ONNX
    (``quantization`` metadata, ``gate``): :meth:`GateResult.to_dict` plus ``measured_on``
    (the backend and device), the precision of the unquantized layers and of the texture
    map, who the gate's crops show and their sha256, and whether they were held out from
    the calibration (``held_out``; ``False``: gated on the calibration crops, optimistic).
    """
    return {
        **gate.to_dict(),
        "measured_on": measured_on,
        "unquantized_precision": "f32",
        "texture_precision": "f32",
        "held_out_people": list(people),
        "held_out_sha256": crops_sha256,
        "held_out": held_out,
    }


def read_gate_record(raw: str | dict[str, Any] | None) -> dict[str, Any] | None:
    """A model's gate record from its JSON text (or already parsed); None when it has none
    or it is not a JSON object with a ``passed`` verdict."""
    if raw is None:
        return None
    try:
        record = dict(json.loads(raw)) if isinstance(raw, str) else dict(raw)
    except (json.JSONDecodeError, TypeError, ValueError):
        return None
    return record if "passed" in record else None


def gate_record_problem(record: dict[str, Any] | None) -> str:
    """Why an INT8 model's gate record does not vouch for it ("" when its gate passed).

    A record written before the "not gated" verdict (no ``verdict`` key) that says it
    passed is judged by the same rule, on the ``reference_fraction`` it carries
    (:func:`reference_problem`): such a gate passed on an FP32 reference that marked (almost)
    no pixel or most pixels, and showed nothing. A record without the fraction (older still)
    cannot be judged and stands.
    """
    if record is None:
        return (
            "has no accuracy-gate record (made with --no-gate, by the Python API or by another "
            "tool), so nothing shows its masks match FP32"
        )
    why = ""
    if record.get("verdict") == "not gated":
        why = record.get("not_gated") or "its FP32 reference marked no wrinkles on the crops"
    elif record.get("passed") and "verdict" not in record:
        fraction = record.get("reference_fraction")
        if isinstance(fraction, (int, float)) and not isinstance(fraction, bool):
            why = reference_problem(float(fraction))
            why = f"{why}; an older wds-edge recorded it as passed" if why else ""
    if why:
        return f"was not gated when it was made ({why}), so nothing shows its masks match FP32"
    if record.get("passed"):
        return ""
    figures = (
        f"mean mask IoU vs FP32 {record['mean_iou']:.4f}, needs >= "
        f"{record.get('min_required_iou', GATE_MIN_MEAN_IOU)}; worst {record['min_iou']:.4f}, "
        f"needs >= {record.get('min_required_worst_iou', GATE_MIN_WORST_IOU)}"
        if "mean_iou" in record and "min_iou" in record
        else "no gate figures"
    )
    return f"did not pass its accuracy gate when it was made ({figures})"


_warned: set[tuple[str, str]] = set()
_warned_lock = threading.Lock()
_gating: ContextVar[bool] = ContextVar("wds_edge_gating", default=False)


@contextlib.contextmanager
def gating_new_model() -> Iterator[None]:
    """While a quantizer loads the model it has just made, to gate it: that model has no gate
    record yet, and :func:`warn_unless_gated` stays silent."""
    token = _gating.set(True)
    try:
        yield
    finally:
        _gating.reset(token)


def warn_unless_gated(source: str, record: dict[str, Any] | None, *, fix: str) -> str:
    """Log a warning (once per model and process) when an INT8 model being loaded has no
    gate record or a failed one; it still runs. Returns the problem ("" when none).

    Args:
        source: the model file, as the message names it.
        record: its gate record (:func:`read_gate_record`).
        fix: how to make one that passes (the quantize command of its format).
    """
    problem = gate_record_problem(record)
    if not problem or _gating.get():
        return problem
    with _warned_lock:
        if (source, problem) in _warned:
            return problem
        _warned.add((source, problem))
    logger.warning(
        "%s: this INT8 model %s. It runs because it was asked for, but its wrinkle masks may "
        "differ from the FP32 model's: %s, or run the FP32 model",
        source, problem, fix,
    )  # fmt: skip
    return problem
