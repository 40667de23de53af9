"""The accuracy gate, with golden values computed by hand."""

from __future__ import annotations

import numpy as np
import pytest

from wds_edge.errors import AccuracyGateError, InvalidInputError, ModelError
from wds_edge.runtime.gate import accuracy_gate, enforce_gate


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
    assert empty.mean_iou == 1.0 and empty.passed  # both empty -> identical
    result = accuracy_gate(_const(ref), _const(cand), [np.zeros((1, 3, 4, 4))], precision="fp16")
    assert result.mean_iou == 0.0 and result.max_ratio_diff == pytest.approx(1 / 16)
    assert result.min_required_iou == 0.98


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
