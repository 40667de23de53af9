"""Training recipes: named sets of defaults for :class:`wds_edge_train.config.TrainConfig`.

``wds-edge train --recipe NAME`` starts from a recipe; every flag given on the command line
overrides it. From Python, ``TrainConfig(recipe=NAME, ...)`` (and ``TrainConfig.from_recipe``)
fill each field the recipe sets and the caller leaves out with the recipe's value. The run
records the recipe's name and every resolved setting.

* ``project`` (the default): the paper's method with this project's choices: one-channel
  sigmoid Dice (:mod:`wds_edge_train.losses`), Leaky ReLU (the paper's Fig. 1), inputs ``/ 255``,
  mixed precision on CUDA, augmentation ``auto`` (``kiosk`` for face data written by
  ``wds-edge label``, ``paper`` for anything else, e.g. DRIVE).
* ``paper``: the paper's text where it says something: Eq. 3-5 on one output (binary Dice),
  Leaky ReLU, Section 4's augmentation (scale, shift, rotation, brightness, colour, flip),
  the Algorithm 1 fill as the text describes it (mean of the whole map), full precision.
* ``official``: the official training code (``train_wrinkle_wds.py``): two output channels
  with softmax and the mean of background and wrinkle Dice, ReLU, every input channel
  normalised with mean 0.5 / std 0.25, seed 43, full precision, flip + colour jitter only,
  the non-zero-mean WWM fill.

Shared by all three: Adam at 0.01 cosine-annealed to 1e-6 over the epochs, L2 1e-4 on conv
kernels, batch 4, 200 epochs, 640 px crops; the width (``base_channels``) defaults to 64 (the
paper) everywhere. The official code chose its checkpoints on the test fold; no recipe does:
selection is always on the validation split.
"""

from __future__ import annotations

from typing import Any

from wds_edge.errors import InvalidInputError

__all__ = ["RECIPES", "recipe_defaults"]

RECIPES: dict[str, dict[str, Any]] = {
    "project": {
        "dice": "binary", "activation": "leaky_relu", "input_norm": "unit", "augment": "auto",
        "amp": True, "seed": 0, "wwm_fill": "nonzero_mean",
    },
    "paper": {
        "dice": "binary", "activation": "leaky_relu", "input_norm": "unit", "augment": "paper",
        "amp": False, "seed": 0, "wwm_fill": "global_mean",
    },
    "official": {
        "dice": "two-class", "activation": "relu", "input_norm": "centred",
        "augment": "official", "amp": False, "seed": 43, "wwm_fill": "nonzero_mean",
    },
}  # fmt: skip


def recipe_defaults(name: str) -> dict[str, Any]:
    """The settings a recipe fixes (a copy), by name.

    Raises:
        InvalidInputError: unknown recipe (the message lists the valid ones).
    """
    if name not in RECIPES:
        raise InvalidInputError(f"recipe must be one of {tuple(RECIPES)}, got {name!r}")
    return {"recipe": name, **RECIPES[name]}
