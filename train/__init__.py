"""Desktop training of the wrinkle U-Net with weighted deep supervision.

The network, losses and training loop need torch; labeling, label agreement and the
classic baselines are numpy / OpenCV / scikit-image only. Names are resolved lazily
(PEP 562) so that ``wds-edge label`` and ``wds-edge baseline`` run on a machine
without torch, and ``import train`` stays cheap.
"""

from __future__ import annotations

import importlib
from typing import Any

#: public name -> module that defines it
_EXPORTS = {
    "WrinkleUNet": "train.model",
    "count_parameters": "train.model",
    "DICE_KINDS": "train.model",
    "wrinkle_probability": "train.model",
    "weighted_wrinkle_map": "train.wwm",
    "weighted_wrinkle_map_torch": "train.wwm",
    "dice_loss": "train.losses",
    "weighted_dice_loss": "train.losses",
    "two_class_dice_loss": "train.losses",
    "DeepSupervisionLoss": "train.losses",
    "Checkpoint": "train.checkpoint",
    "save_checkpoint": "train.checkpoint",
    "load_checkpoint": "train.checkpoint",
    "OutputKindError": "train.checkpoint",
    "TrainConfig": "train.loop",
    "TrainProgress": "train.loop",
    "TrainResult": "train.loop",
    "train": "train.loop",
    "ThresholdMethod": "train.labeling",
    "semi_automatic_label": "train.labeling",
    "label_folder": "train.labeling",
    "pearson_correlation": "train.agreement",
    "label_agreement": "train.agreement",
    "BaselineMethod": "train.baselines",
    "baseline_segment": "train.baselines",
    "evaluate_baseline": "train.baselines",
}

__all__ = [
    "WrinkleUNet",
    "count_parameters",
    "DICE_KINDS",
    "wrinkle_probability",
    "weighted_wrinkle_map",
    "weighted_wrinkle_map_torch",
    "dice_loss",
    "weighted_dice_loss",
    "two_class_dice_loss",
    "DeepSupervisionLoss",
    "Checkpoint",
    "save_checkpoint",
    "load_checkpoint",
    "OutputKindError",
    "TrainConfig",
    "TrainProgress",
    "TrainResult",
    "train",
    "ThresholdMethod",
    "semi_automatic_label",
    "label_folder",
    "pearson_correlation",
    "label_agreement",
    "BaselineMethod",
    "baseline_segment",
    "evaluate_baseline",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'train' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
