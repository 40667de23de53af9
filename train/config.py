"""What a training run is given and what it gives back: :class:`TrainConfig` (stored
resolved in ``config.json``), :class:`TrainProgress` (the loop's progress reports) and
:class:`TrainResult`; ``train.loop`` re-exports them.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from train.augment import check_crop_size
from train.losses import LOSS_MODES
from train.model import ACTIVATIONS, DICE_KINDS
from wds_edge.errors import InvalidInputError

__all__ = ["TrainConfig", "TrainProgress", "TrainResult"]


@dataclass
class TrainConfig:
    """Everything a training run depends on (stored resolved in ``config.json``)."""

    data: str
    out: str
    loss: str = "wds"
    dice: str = "binary"
    base_channels: int = 64
    activation: str = "leaky_relu"
    epochs: int = 200
    batch_size: int = 4
    crop_size: int = 640
    lr: float = 0.01
    min_lr: float = 1e-6
    weight_decay: float = 1e-4
    seed: int = 0
    folds: int | None = None
    fold: int | None = None
    val_fraction: float = 0.2
    val_count: int | None = None
    augment: bool = True
    wwm_fill: str = "nonzero_mean"
    mask_threshold: int | None = None
    threshold: float = 0.5
    device: str = "auto"
    workers: int = 0
    amp: bool = True
    tensorboard: bool = True

    def validate(self) -> None:
        """Raise :class:`InvalidInputError` on values that cannot work."""
        if self.loss not in LOSS_MODES:
            raise InvalidInputError(f"--loss must be one of {LOSS_MODES}, got {self.loss!r}")
        if self.dice not in DICE_KINDS:
            raise InvalidInputError(f"--dice must be one of {tuple(DICE_KINDS)}, got {self.dice!r}")
        if self.activation not in ACTIVATIONS:
            raise InvalidInputError(f"--activation must be one of {ACTIVATIONS}")
        check_crop_size(self.crop_size)
        for name in ("base_channels", "epochs", "batch_size"):
            if getattr(self, name) < 1:
                raise InvalidInputError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.lr <= 0 or self.min_lr < 0 or self.weight_decay < 0 or self.workers < 0:
            raise InvalidInputError("lr must be > 0; min_lr, weight_decay, workers >= 0")

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TrainConfig:
        """Inverse of the resolved dict (``config.json``): ``data`` may be the nested dict."""
        names = {f.name for f in dataclasses.fields(cls)}
        kw = {k: v for k, v in d.items() if k in names}
        if isinstance(kw.get("data"), dict):
            kw["data"] = kw["data"]["path"]
        return cls(**kw)


@dataclass
class TrainProgress:
    """What the loop reports to its ``progress`` callback (the CLI draws a bar from it).

    ``kind``: ``"start"`` (``steps`` = steps per epoch), ``"step"``, ``"epoch"`` (``row`` =
    the log.csv row), ``"test"`` (``metrics``) or ``"done"``.
    """

    kind: str
    epoch: int
    epochs: int
    step: int = 0
    steps: int = 0
    loss: float | None = None
    row: dict[str, Any] | None = None
    metrics: dict[str, Any] | None = None


@dataclass
class TrainResult:
    """Where a finished run wrote its files and what it measured."""

    out_dir: Path
    best_path: Path
    last_path: Path
    best_epoch: int
    metrics: dict[str, Any]
    log: list[dict[str, Any]] = field(default_factory=list)
