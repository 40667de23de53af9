"""One labelled image in memory (:class:`LabeledImage`).

Its own module so the weak labeler (:mod:`train.labeling.auto`) and the batch run
(:mod:`train.labeling.runner`, which calls it) do not import each other.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["LabeledImage"]


@dataclass
class LabeledImage:
    """One image's label in memory: all arrays share H x W (crop space with --auto)."""

    image_rgb: np.ndarray
    label: np.ndarray
    rough: np.ndarray
    fov: np.ndarray | None = None
    stats: dict[str, Any] = field(default_factory=dict)
    #: JSON-ready extras written to OUT/landmarks/<stem>.json (--auto).
    landmarks: dict[str, Any] | None = None
