"""The accuracy gate, with golden values computed by hand."""

from __future__ import annotations

import json

import numpy as np
import pytest

from wds_edge.errors import AccuracyGateError, InvalidInputError, ModelError
from wds_edge.runtime.gate import (
    MAX_REFERENCE_WRINKLE_FRACTION,
    MIN_REFERENCE_WRINKLE_FRACTION,
    accuracy_gate,
    enforce_gate,
    gate_record,
    gate_record_problem,
    read_gate_record,
    reference_problem,
)


def _const(prob: np.ndarray):
    return lambda batch: prob[None, None].repeat(batch.shape[0], axis=0)


def test_iou_and_ratio_by_hand() -> None:
    ref = np.zeros((4, 4), np.float32)
    ref[0, :] = 0.9  # 4 wrinkle pixels
    cand = ref.copy()
    cand[0, 3] = 0.2  # one pixel lost
    cand[1, 0] = 0.7  # one pixel gained
    # intersection 3, union 5 -> IoU 0.6; ratio 4/16 vs 4/16 -> 0
    result = accuracy_gate(_const(ref), _const(cand), [np.zeros((2, 3, 4, 4))], precision="int8")
    assert result.images == 2
    assert result.mean_iou == pytest.approx(0.6) and result.min_iou == pytest.approx(0.6)
    assert result.max_ratio_diff == 0.0
    assert result.max_abs_prob_diff == pytest.approx(0.7)
    assert not result.passed and result.min_required_iou == 0.98
    assert result.min_required_worst_iou == 0.95
    with pytest.raises(AccuracyGateError, match="--allow-accuracy-loss"):
        enforce_gate(result)
    assert issubclass(AccuracyGateError, ModelError)  # what auto's fallbacks catch
    enforce_gate(result, allow_accuracy_loss=True)  # kept, with a warning


def test_fp16_bar_and_empty_masks() -> None:
    ref = np.full((4, 4), 0.1, np.float32)
    cand = ref.copy()
    cand[2, 2] = 0.6  # 1 of 16 pixels appears: IoU 0, ratio diff 1/16
    empty = accuracy_gate(_const(ref), _const(ref), [np.zeros((1, 3, 4, 4))], precision="fp16")
    assert empty.mean_iou == 1.0  # both empty -> identical, which proves nothing
    assert not empty.passed and empty.verdict == "not gated"
    result = accuracy_gate(_const(ref), _const(cand), [np.zeros((1, 3, 4, 4))], precision="fp16")
    assert result.mean_iou == 0.0 and result.max_ratio_diff == pytest.approx(1 / 16)
    assert result.min_required_iou == 0.98
    assert result.verdict == "failed"  # it differs from the empty reference: a real failure


@pytest.mark.parametrize(
    ("prob", "why"),
    [(0.1, "marks (almost) no wrinkles"), (0.9, "marks 1.00000 of the pixels")],
)
def test_a_reference_with_no_or_only_wrinkles_is_not_gated(prob: float, why: str) -> None:
    """Defect: FP32 masks that are empty (an undertrained model) or full made every candidate
    that did the same "pass" at IoU 1.0; quantize recorded it as passed. Now a third verdict,
    which is not a pass: its record does not vouch, and enforce_gate refuses it."""
    ref = np.full((4, 4), prob, np.float32)
    result = accuracy_gate(_const(ref), _const(ref), [np.zeros((2, 3, 4, 4))], precision="int8")
    assert result.mean_iou == 1.0 and not result.passed and result.verdict == "not gated"
    assert why in result.not_gated and "not gated" in result.reason
    assert result.to_dict()["verdict"] == "not gated" and not result.to_dict()["passed"]
    with pytest.raises(AccuracyGateError, match="train the model longer") as raised:
        enforce_gate(result)
    assert raised.value.gate is result  # the CLI prints the verdict from it
    enforce_gate(result, allow_accuracy_loss=True)  # kept, with a warning
    record = gate_record(result, measured_on="CPU", crops_sha256="0" * 64)
    problem = gate_record_problem(read_gate_record(json.dumps(record)))
    assert problem.startswith("was not gated when it was made") and why in problem


def _old_record(reference_fraction: float | None) -> dict:
    """A gate record as wds-edge wrote it before the "not gated" verdict: no ``verdict`` /
    ``not_gated``, and ``passed`` true when the masks agreed, whatever the reference."""
    ref = np.zeros((10, 10), np.float32)
    ref[0, :] = 0.9
    result = accuracy_gate(_const(ref), _const(ref), [np.zeros((1, 3, 10, 10))], precision="int8")
    record = gate_record(result, measured_on="onnxruntime CPU", crops_sha256="0" * 64)
    del record["verdict"], record["not_gated"]
    if reference_fraction is None:  # older still: no fraction recorded
        del record["reference_fraction"]
    else:
        record["reference_fraction"] = reference_fraction
    return record


@pytest.mark.parametrize(
    ("fraction", "why"), [(1.0, "marks 1.00000 of the pixels"), (0.0, "no wrinkles")]
)
def test_an_old_passed_record_whose_reference_marks_all_or_nothing_was_not_gated(
    fraction: float, why: str
) -> None:
    """Defect: a record written before the "not gated" verdict (``passed: true``, no
    ``verdict``) vouched for its model although its reference_fraction shows the gate
    compared full (or empty) masks; it is judged by the same rule as a new gate."""
    problem = gate_record_problem(read_gate_record(json.dumps(_old_record(fraction))))
    assert problem.startswith("was not gated when it was made") and why in problem
    assert "an older wds-edge recorded it as passed" in problem


def test_an_old_record_that_shows_something_still_vouches() -> None:
    assert gate_record_problem(_old_record(0.1)) == ""  # a reference that segments
    assert gate_record_problem(_old_record(None)) == ""  # no fraction: cannot be judged
    failed = {**_old_record(1.0), "passed": False}  # the masks differed: it failed
    assert gate_record_problem(failed).startswith("did not pass its accuracy gate")


def test_the_reference_bounds() -> None:
    """Inside [MIN, MAX] of the reference's wrinkle fraction the IoU bars decide."""
    assert reference_problem(MIN_REFERENCE_WRINKLE_FRACTION) == ""
    assert reference_problem(MAX_REFERENCE_WRINKLE_FRACTION) == ""
    assert reference_problem(MIN_REFERENCE_WRINKLE_FRACTION / 2)
    assert reference_problem(min(1.0, MAX_REFERENCE_WRINKLE_FRACTION * 1.5))
    ref = np.zeros((10, 10), np.float32)
    ref[0, :] = 0.9  # 10 % of the pixels
    result = accuracy_gate(_const(ref), _const(ref), [np.zeros((1, 3, 10, 10))], precision="bf16")
    assert result.passed and result.verdict == "passed" and result.not_gated == ""
    assert result.reference_fraction == pytest.approx(0.1)


def test_gate_input_errors() -> None:
    ref = np.zeros((4, 4), np.float32)
    with pytest.raises(InvalidInputError, match="precision"):
        accuracy_gate(_const(ref), _const(ref), [np.zeros((1, 3, 4, 4))], precision="int4")
    with pytest.raises(InvalidInputError, match="no input"):
        accuracy_gate(_const(ref), _const(ref), [], precision="fp16")
    with pytest.raises(InvalidInputError, match="!="):
        accuracy_gate(_const(ref), _const(np.zeros((8, 8))), [np.zeros((1, 3, 4, 4))],
                      precision="fp16")  # fmt: skip


def test_worst_image_bar_fails_a_good_mean() -> None:
    """39 identical images and one at IoU 0.6: mean 0.99 passes, worst 0.6 < 0.95 fails."""
    ref = np.zeros((4, 4), np.float32)
    ref[0, :] = 0.9
    bad = ref.copy()
    bad[0, 3] = 0.2
    bad[1, 0] = 0.7  # IoU 0.6 (see test_iou_and_ratio_by_hand)
    calls = iter([ref] * 39 + [bad])
    result = accuracy_gate(
        _const(ref), lambda b: next(calls)[None, None], [np.zeros((1, 3, 4, 4))] * 40,
        precision="bf16",
    )  # fmt: skip
    assert result.mean_iou == pytest.approx((39 + 0.6) / 40) and result.mean_iou >= 0.98
    assert result.min_iou == pytest.approx(0.6)
    assert not result.passed and "worst 0.6000" in result.reason


def test_nan_outputs_fail_the_gate_and_show_in_the_figures() -> None:
    """A candidate with NaN where the reference is below the threshold: the masks agree
    (NaN >= 0.5 is False), so only the count of non-finite outputs can fail it."""
    ref = np.zeros((4, 4), np.float32)
    ref[0, :] = 0.9
    cand = ref.copy()
    cand[3, 3] = np.nan
    result = accuracy_gate(_const(ref), _const(cand), [np.zeros((1, 3, 4, 4))], precision="fp16")
    assert result.mean_iou == 1.0 and result.non_finite == 1 and not result.passed
    assert result.max_abs_prob_diff == 1.0 and "1 NaN / infinite outputs" in result.reason
