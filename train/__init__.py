"""Desktop training of the wrinkle U-Net with weighted deep supervision (needs torch)."""

from __future__ import annotations

from train.agreement import label_agreement, pearson_correlation
from train.baselines import BaselineMethod, baseline_segment, evaluate_baseline
from train.checkpoint import Checkpoint, load_checkpoint, save_checkpoint
from train.labeling import ThresholdMethod, label_folder, semi_automatic_label
from train.loop import TrainConfig, TrainProgress, TrainResult, train
from train.losses import DeepSupervisionLoss, dice_loss, weighted_dice_loss
from train.model import WrinkleUNet, count_parameters
from train.wwm import weighted_wrinkle_map, weighted_wrinkle_map_torch

__all__ = [
    "WrinkleUNet",
    "count_parameters",
    "weighted_wrinkle_map",
    "weighted_wrinkle_map_torch",
    "dice_loss",
    "weighted_dice_loss",
    "DeepSupervisionLoss",
    "Checkpoint",
    "save_checkpoint",
    "load_checkpoint",
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
