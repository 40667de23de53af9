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
    "WrinkleUNet": "wds_edge_train.model",
    "count_parameters": "wds_edge_train.model",
    "DICE_KINDS": "wds_edge_train.model",
    "wrinkle_probability": "wds_edge_train.model",
    "weighted_wrinkle_map": "wds_edge_train.wwm",
    "weighted_wrinkle_map_torch": "wds_edge_train.wwm",
    "dice_loss": "wds_edge_train.losses",
    "weighted_dice_loss": "wds_edge_train.losses",
    "two_class_dice_loss": "wds_edge_train.losses",
    "DeepSupervisionLoss": "wds_edge_train.losses",
    "Checkpoint": "wds_edge_train.checkpoint",
    "save_checkpoint": "wds_edge_train.checkpoint",
    "load_checkpoint": "wds_edge_train.checkpoint",
    "OutputKindError": "wds_edge_train.checkpoint",
    "TrainConfig": "wds_edge_train.loop",
    "TrainProgress": "wds_edge_train.loop",
    "TrainResult": "wds_edge_train.loop",
    "train": "wds_edge_train.loop",
    "ThresholdMethod": "wds_edge_train.labeling",
    "semi_automatic_label": "wds_edge_train.labeling",
    "label_folder": "wds_edge_train.labeling",
    "pearson_correlation": "wds_edge_train.agreement",
    "label_agreement": "wds_edge_train.agreement",
    "BaselineMethod": "wds_edge_train.baselines",
    "baseline_segment": "wds_edge_train.baselines",
    "evaluate_baseline": "wds_edge_train.baselines",
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
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
