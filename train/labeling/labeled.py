"""One labelled image in memory (:class:`LabeledImage`), and a photo skipped on purpose.

Its own module so the weak labeler (:mod:`wds_edge_train.labeling.auto`) and the batch run
(:mod:`wds_edge_train.labeling.runner`, which calls it) do not import each other.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from wds_edge.errors import InvalidInputError

__all__ = ["ImageSkipped", "LabeledImage"]


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
    #: uint8 BGR preview made by the labeler itself (--auto v2: label, zones, regions).
    preview_bgr: np.ndarray | None = None
    #: bool H x W non-wrinkle structures (--auto v2: the exclusion zones' union), written to
    #: OUT/zones/ for training's hard negatives (``wds-edge train --zone-weight``).
    zones: np.ndarray | None = None


class ImageSkipped(InvalidInputError):
    """A photo the kiosk's quality gates refuse: skipped on purpose, not a failure.

    Attributes:
        status: the :class:`~wds_edge.perception.quality.FrameStatus` value (``no_face``,
            ``too_blurry``, ``needs_colour_camera``, ...).
    """

    def __init__(self, status: str, message: str) -> None:
        super().__init__(message)
        self.status = status
