"""The model layer: what a segmentation model is and how it is fed.

Model metadata (the contract every model carries), the one preprocessing path (paper
Eq. 1 texture map, normalization), the paper's segmentation metrics and the bundled
starter model. Imports only :mod:`wds_edge.errors` and :mod:`wds_edge.io` below it.
"""

from __future__ import annotations

from wds_edge.model.bundled import default_model_path
from wds_edge.model.info import BundledInt8, BundledModelManifest, ModelInfo
from wds_edge.model.metadata import METADATA_FORMAT_VERSION, ArchitectureInfo, ModelMetadata
from wds_edge.model.metrics import (
    METRIC_NAMES,
    ConfusionCounts,
    MetricAccumulator,
    confusion_counts,
    mask_iou,
    metrics_from_counts,
    segmentation_metrics,
)
from wds_edge.model.preprocessing import (
    Preprocessing,
    grey_from_rgb,
    model_input,
    network_channels,
    resize_square,
    texture_map,
)

__all__ = [
    "METADATA_FORMAT_VERSION",
    "ArchitectureInfo",
    "ModelMetadata",
    "Preprocessing",
    "grey_from_rgb",
    "texture_map",
    "network_channels",
    "model_input",
    "resize_square",
    "METRIC_NAMES",
    "ConfusionCounts",
    "MetricAccumulator",
    "confusion_counts",
    "metrics_from_counts",
    "segmentation_metrics",
    "mask_iou",
    "default_model_path",
    "BundledInt8",
    "BundledModelManifest",
    "ModelInfo",
]
