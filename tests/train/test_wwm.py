"""Algorithm 1 (weighted wrinkle map): golden values computed by hand."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from train.wwm import weighted_wrinkle_map, weighted_wrinkle_map_torch
from wds_edge.errors import InvalidInputError

# 4 x 4 ground truth, 4 wrinkle pixels.
GT4 = np.array(
    [
        [1, 0, 0, 0],
        [1, 1, 0, 0],
        [0, 0, 0, 0],
        [0, 0, 0, 1],
    ],
    dtype=np.uint8,
)

# 8 x 8 ground truth, 7 wrinkle pixels: 3 in the top-left 2x2 block, 4 in the bottom-right.
GT8 = np.zeros((8, 8), dtype=np.uint8)
GT8[0, 0] = GT8[0, 1] = GT8[1, 1] = 1
GT8[6:8, 6:8] = 1


def blocks(pooled: list[list[float]], s: int) -> np.ndarray:
    """Expand a hand-written low-resolution map to full resolution (nearest)."""
    return np.kron(np.array(pooled, dtype=np.float64), np.ones((s, s)))


# Step 1 by hand: average pooling of GT4 by 2 -> [[3/4, 0], [0, 1/4]].
# Step 3: non-zero mean = (0.75 + 0.25) / 2 = 0.5; global mean = 1.0 / 4 = 0.25.
CASES = [
    (GT4, 2, "nonzero_mean", blocks([[0.75, 0.5], [0.5, 0.25]], 2)),
    (GT4, 2, "global_mean", blocks([[0.75, 0.25], [0.25, 0.25]], 2)),
    # s = 4: one block holding 4 / 16 wrinkle pixels, nothing to fill.
    (GT4, 4, "nonzero_mean", np.full((4, 4), 0.25)),
    (GT4, 4, "global_mean", np.full((4, 4), 0.25)),
    # GT8, s = 2: 4 x 4 pooled map with 3/4 at (0, 0) and 4/4 at (3, 3).
    # non-zero mean = (0.75 + 1) / 2 = 0.875; global mean = 1.75 / 16 = 0.109375 (= 7 / 64).
    (
        GT8,
        2,
        "nonzero_mean",
        blocks(
            [[0.75, 0.875, 0.875, 0.875], [0.875] * 4, [0.875] * 4, [0.875, 0.875, 0.875, 1.0]], 2
        ),
    ),  # fmt: skip
    (
        GT8,
        2,
        "global_mean",
        blocks(
            [
                [0.75, 7 / 64, 7 / 64, 7 / 64],
                [7 / 64] * 4,
                [7 / 64] * 4,
                [7 / 64, 7 / 64, 7 / 64, 1.0],
            ],
            2,
        ),
    ),  # fmt: skip
    # GT8, s = 4: pooled [[3/16, 0], [0, 4/16]]; non-zero mean = 7/32; global mean = 7/64.
    (GT8, 4, "nonzero_mean", blocks([[3 / 16, 7 / 32], [7 / 32, 4 / 16]], 4)),
    (GT8, 4, "global_mean", blocks([[3 / 16, 7 / 64], [7 / 64, 4 / 16]], 4)),
    # GT8, s = 8: a single block of 7 / 64.
    (GT8, 8, "nonzero_mean", np.full((8, 8), 7 / 64)),
    (GT8, 8, "global_mean", np.full((8, 8), 7 / 64)),
]


@pytest.mark.parametrize(("gt", "scale", "fill", "expected"), CASES)
def test_golden_values(gt: np.ndarray, scale: int, fill: str, expected: np.ndarray) -> None:
    wwm = weighted_wrinkle_map(gt, scale, fill=fill)  # type: ignore[arg-type]
    assert wwm.dtype == np.float32
    assert wwm.shape == gt.shape
    np.testing.assert_allclose(wwm, expected, rtol=0, atol=1e-7)
    assert wwm.min() >= 0.0 and wwm.max() <= 1.0


@pytest.mark.parametrize(("gt", "scale", "fill", "expected"), CASES)
def test_torch_batch_matches_golden(gt, scale, fill, expected) -> None:
    batch = torch.from_numpy(np.stack([gt, np.zeros_like(gt)])[:, None].astype(np.float32))
    out = weighted_wrinkle_map_torch(batch, scale, fill)
    assert out.shape == batch.shape
    np.testing.assert_allclose(out[0, 0].numpy(), expected, atol=1e-7)
    # the empty image of the batch gets all-ones weights, independently of its neighbour
    np.testing.assert_array_equal(out[1, 0].numpy(), np.ones(gt.shape))


def test_bool_input_and_empty_ground_truth() -> None:
    np.testing.assert_array_equal(weighted_wrinkle_map(GT4.astype(bool), 2), CASES[0][3])
    for fill in ("nonzero_mean", "global_mean"):
        np.testing.assert_array_equal(
            weighted_wrinkle_map(np.zeros((8, 8), bool), 4, fill), np.ones((8, 8))
        )


def test_all_wrinkle_is_all_ones() -> None:
    np.testing.assert_array_equal(weighted_wrinkle_map(np.ones((8, 8)), 2), np.ones((8, 8)))


def test_rejects_bad_input() -> None:
    with pytest.raises(InvalidInputError, match="not divisible by the WWM scale 4"):
        weighted_wrinkle_map(np.zeros((6, 8)), 4)
    with pytest.raises(InvalidInputError, match="binary"):
        weighted_wrinkle_map(np.full((4, 4), 255), 2)
    with pytest.raises(InvalidInputError, match="fill"):
        weighted_wrinkle_map(GT4, 2, fill="max")  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="2-D"):
        weighted_wrinkle_map(GT4[None], 2)
    with pytest.raises(InvalidInputError, match="divisible"):
        weighted_wrinkle_map_torch(torch.zeros(1, 1, 12, 12), 8)
