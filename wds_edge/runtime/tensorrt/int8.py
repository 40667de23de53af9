"""What the engine builder needs from INT8 calibration, as a small interface.

``wds_edge`` never imports the ``calibration`` package (it sits above the SDK); the CLI,
the top layer, wires it in: ``wds_edge_calibration.trt_calibrator.tensorrt_calibration(DIR)``
returns an object satisfying :class:`Int8Calibration`, and a loaded
``calibration.CalibrationSet`` satisfies :class:`CropSource` (the accuracy gate's input).
Any other object with these members works the same (tests use small ones).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from wds_edge.model.metadata import ModelMetadata

__all__ = ["CropSource", "Int8Calibration"]


@runtime_checkable
class CropSource(Protocol):
    """Representative kiosk face crops as model inputs.

    Attributes:
        path: where the crops live (recorded in the engine sidecar).
        data_sha256: hash of the crops' bytes; changes whenever any crop changes.
    """

    path: Path

    @property
    def data_sha256(self) -> str: ...

    def batches(
        self, preprocessing: Any, batch_size: int = 1, limit: int | None = None
    ) -> Iterator[np.ndarray]:
        """float32 NCHW model inputs as ``model_input`` builds them for ``preprocessing``."""
        ...


@runtime_checkable
class Int8Calibration(Protocol):
    """INT8 calibration for a TensorRT build.

    Attributes:
        crops: the calibration crops (their hash is part of the engine cache key).
    """

    crops: CropSource

    def entropy_calibrator(
        self, metadata: ModelMetadata, *, model_sha256: str, cache_path: Path
    ) -> Any:
        """TensorRT 10 implicit route: a ``trt.IInt8EntropyCalibrator2`` with ``close()``."""
        ...

    def quantize_qdq(self, onnx_path: Path, out_path: Path) -> Path:
        """Explicit route (TensorRT 11): write a Q/DQ copy of ``onnx_path``, return its path."""
        ...
