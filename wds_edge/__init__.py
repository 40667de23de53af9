"""wds-edge: on-device facial wrinkle segmentation (Kim et al. 2023, weighted deep supervision).

The kiosk SDK. Never imports torch. Public names are listed in ``__all__``.
"""

from __future__ import annotations

from wds_edge.errors import (
    BackendError,
    CaptureError,
    DataError,
    InvalidInputError,
    MissingDependencyError,
    ModelError,
    WdsEdgeError,
)
from wds_edge.io import read_image, write_image_atomic, write_json_atomic
from wds_edge.metrics import segmentation_metrics
from wds_edge.model_meta import ModelMetadata
from wds_edge.preprocessing import Preprocessing, model_input, network_channels, texture_map

__version__ = "0.1.0"

__all__ = [
    "__version__",
    "WdsEdgeError",
    "InvalidInputError",
    "DataError",
    "ModelError",
    "MissingDependencyError",
    "BackendError",
    "CaptureError",
    "read_image",
    "write_image_atomic",
    "write_json_atomic",
    "segmentation_metrics",
    "ModelMetadata",
    "Preprocessing",
    "model_input",
    "network_channels",
    "texture_map",
]
