"""Algorithm 1 (weighted wrinkle map): golden values computed by hand."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from wds_edge.errors import InvalidInputError
from wds_edge_train.wwm import weighted_wrinkle_map, weighted_wrinkle_map_torch

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


def ones_at(m: np.ndarray, positions: list[tuple[int, int]]) -> np.ndarray:
    """Step 4 written out: the hand-listed wrinkle pixels get weight 1."""
    m = m.copy()
    for r, c in positions:
        m[r, c] = 1.0
    return m


GT4_ONES = [(0, 0), (1, 0), (1, 1), (3, 3)]
GT8_ONES = [(0, 0), (0, 1), (1, 1), (6, 6), (6, 7), (7, 6), (7, 7)]
Q = 7 / 64  # GT8's global mean (7 wrinkle pixels of 64)

# GT4 by hand. Step 1 (s = 2): block means [[3/4, 0], [0, 1/4]]. Step 2: 2x2 copies.
# Step 3: non-zero mean (0.75 + 0.25) / 2 = 0.5; global mean 1.0 / 4 = 0.25.
# Step 4: the four wrinkle pixels -> 1 (the lone pixel of the 1/4 block included).
GT4_S2_NONZERO = np.array(
    [[1, 0.75, 0.5, 0.5], [1, 1, 0.5, 0.5], [0.5, 0.5, 0.25, 0.25], [0.5, 0.5, 0.25, 1]]
)
GT4_S2_GLOBAL = np.array(
    [[1, 0.75, 0.25, 0.25], [1, 1, 0.25, 0.25], [0.25] * 4, [0.25, 0.25, 0.25, 1]]
)
# s = 4: one block of 4 / 16, nothing to fill; Step 4 puts the 4 wrinkle pixels at 1.
GT4_S4 = np.array([[1, 0.25, 0.25, 0.25], [1, 1, 0.25, 0.25], [0.25] * 4, [0.25, 0.25, 0.25, 1]])

CASES = [
    (GT4, 2, "nonzero_mean", GT4_S2_NONZERO),
    (GT4, 2, "global_mean", GT4_S2_GLOBAL),
    (GT4, 4, "nonzero_mean", GT4_S4),
    (GT4, 4, "global_mean", GT4_S4),
    # GT8, s = 2: block means 3/4 at (0, 0) and 4/4 at (3, 3); non-zero mean
    # (0.75 + 1) / 2 = 0.875, global mean 1.75 / 16 = 7/64. Step 4: pixel (1, 0) is the
    # only non-wrinkle pixel of block (0, 0) and keeps 0.75.
    (
        GT8,
        2,
        "nonzero_mean",
        ones_at(
            blocks(
                [[0.75, 0.875, 0.875, 0.875], [0.875] * 4, [0.875] * 4, [0.875, 0.875, 0.875, 1.0]],
                2,
            ),
            GT8_ONES,
        ),
    ),
    (
        GT8,
        2,
        "global_mean",
        ones_at(blocks([[0.75, Q, Q, Q], [Q] * 4, [Q] * 4, [Q, Q, Q, 1.0]], 2), GT8_ONES),
    ),
    # GT8, s = 4: block means [[3/16, 0], [0, 4/16]]; non-zero mean 7/32, global mean 7/64.
    (GT8, 4, "nonzero_mean", ones_at(blocks([[3 / 16, 7 / 32], [7 / 32, 4 / 16]], 4), GT8_ONES)),
    (GT8, 4, "global_mean", ones_at(blocks([[3 / 16, Q], [Q, 4 / 16]], 4), GT8_ONES)),
    # GT8, s = 8: a single block of 7 / 64, nothing to fill.
    (GT8, 8, "nonzero_mean", ones_at(np.full((8, 8), Q), GT8_ONES)),
    (GT8, 8, "global_mean", ones_at(np.full((8, 8), Q), GT8_ONES)),
    # The case Step 4 exists for: a 2x2 block with one wrinkle pixel. Step 1: 1/4;
    # Steps 2-3: 1/4 everywhere (no zero block); Step 4: that pixel 1, its 3 neighbours 1/4.
    (np.array([[0, 1], [0, 0]]), 2, "nonzero_mean", np.array([[0.25, 1.0], [0.25, 0.25]])),
    (np.array([[0, 1], [0, 0]]), 2, "global_mean", np.array([[0.25, 1.0], [0.25, 0.25]])),
]

# One wrinkle pixel at (0, 0) of a 4 x 4 GT, s = 2: block means [[1/4, 0], [0, 0]].
# Empty blocks get the fill value: non-zero mean 1/4, global mean (1/4) / 4 = 1/16.
LONE = np.zeros((4, 4), dtype=np.uint8)
LONE[0, 0] = 1
CASES += [
    (LONE, 2, "nonzero_mean", ones_at(np.full((4, 4), 0.25), [(0, 0)])),
    (LONE, 2, "global_mean", ones_at(blocks([[0.25, 1 / 16], [1 / 16, 1 / 16]], 2), [(0, 0)])),
]


@pytest.mark.parametrize(("gt", "scale", "fill", "expected"), CASES)
def test_golden_values(gt: np.ndarray, scale: int, fill: str, expected: np.ndarray) -> None:
    wwm = weighted_wrinkle_map(gt, scale, fill=fill)  # type: ignore[arg-type]
    assert wwm.dtype == np.float32
    assert wwm.shape == gt.shape
    np.testing.assert_allclose(wwm, expected, rtol=0, atol=1e-7)
    assert wwm.min() >= 0.0 and wwm.max() <= 1.0
    assert (wwm[gt.astype(bool)] == 1.0).all()  # Step 4


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


@pytest.mark.parametrize("fill", ["nonzero_mean", "global_mean"])
@pytest.mark.parametrize("scale", [2, 4, 8])
def test_numpy_equals_torch_on_random_batches(scale: int, fill: str) -> None:
    rng = np.random.default_rng(scale)
    # sparse, dense and empty images in one batch, thin lines included
    gts = rng.random((5, 32, 48)) < np.array([0.02, 0.1, 0.5, 0.0, 0.005])[:, None, None]
    gts[0, 7, :] = True
    out = weighted_wrinkle_map_torch(torch.from_numpy(gts[:, None].astype(np.float32)), scale, fill)
    for i, gt in enumerate(gts):
        np.testing.assert_allclose(
            out[i, 0].numpy(), weighted_wrinkle_map(gt, scale, fill), rtol=0, atol=1e-6
        )
