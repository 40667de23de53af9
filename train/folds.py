"""Seeded train / validation / test splits and k-fold cross-validation.

With ``folds = K`` and ``fold = I`` the image stems are shuffled with the seed and cut into
K near-equal folds; fold I is the **test** fold (scored once, at the end, with the
checkpoint selected on validation). The validation split used for model selection is
carved from the remaining images with the same seed. Without folds there is no test split.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from wds_edge.errors import InvalidInputError

__all__ = ["make_splits"]


def make_splits(
    stems: Sequence[str],
    *,
    seed: int = 0,
    folds: int | None = None,
    fold: int | None = None,
    val_fraction: float = 0.2,
    val_count: int | None = None,
) -> dict[str, list[str]]:
    """Split image stems into ``{"train": [...], "val": [...], "test": [...]}`` (sorted lists).

    Args:
        stems: unique image identifiers.
        seed: shuffling seed (same seed, same stems -> same split).
        folds: number of cross-validation folds K (None: no test split).
        fold: index of the test fold, 0 <= fold < K.
        val_fraction: share of the non-test images used for validation (rounded up, >= 1).
        val_count: exact number of validation images (overrides ``val_fraction``).

    Raises:
        InvalidInputError: inconsistent arguments or too few images.
    """
    names = sorted(set(stems))
    if len(names) != len(stems):
        raise InvalidInputError("image stems must be unique (two files share a name)")
    if (folds is None) != (fold is None):
        raise InvalidInputError("pass --folds and --fold together (e.g. --folds 6 --fold 0)")
    rng = np.random.default_rng(seed)
    order = [names[i] for i in rng.permutation(len(names))]
    test: list[str] = []
    if folds is not None and fold is not None:
        if folds < 2 or not 0 <= fold < folds:
            raise InvalidInputError(f"need folds >= 2 and 0 <= fold < folds, got {folds=} {fold=}")
        if len(names) < folds:
            raise InvalidInputError(f"{len(names)} images cannot make {folds} folds")
        chunks = np.array_split(np.arange(len(order)), folds)
        test = [order[i] for i in chunks[fold]]
        order = [s for s in order if s not in set(test)]
    if val_count is None:
        if not 0 < val_fraction < 1:
            raise InvalidInputError(f"val_fraction must be in (0, 1), got {val_fraction}")
        val_count = max(1, math.ceil(val_fraction * len(order) - 1e-9))
    if not 1 <= val_count < len(order):
        raise InvalidInputError(
            f"cannot carve {val_count} validation image(s) from {len(order)} training image(s); "
            "add images or lower --val-count / --val-fraction"
        )
    rest = [order[i] for i in np.random.default_rng(seed + 1).permutation(len(order))]
    val = rest[:val_count]
    train = rest[val_count:]
    return {"train": sorted(train), "val": sorted(val), "test": sorted(test)}
