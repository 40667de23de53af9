"""INT8 calibration: representative crops through the kiosk's own preprocessing.

* :mod:`calibration.dataset`: the calibration folder (crops + manifest);
* :mod:`calibration.manifest`: its ``manifest.json`` as a pydantic model;
* :mod:`calibration.crops`: face crops via capture -> landmarks -> the kiosk's crop;
* :mod:`calibration.cache`: the TensorRT calibration cache and its key;
* :mod:`calibration.qdq`: explicit INT8 (Q/DQ ONNX) for TensorRT 10 / 11 and ONNX Runtime;
* :mod:`calibration.trt_calibrator`: TensorRT's ``IInt8EntropyCalibrator2`` (lazy import).

Never imports torch.
"""

from __future__ import annotations

from calibration.build import build_calibration_set
from calibration.cache import CalibrationCache, calibration_cache_key
from calibration.crops import face_crops_from_images, iter_face_crops
from calibration.dataset import (
    MIN_RECOMMENDED_CROPS,
    CalibrationSet,
    load_calibration_set,
    write_calibration_set,
)
from calibration.manifest import CalibrationManifest
from calibration.qdq import quantize_qdq

__all__ = [
    "MIN_RECOMMENDED_CROPS",
    "CalibrationCache",
    "CalibrationManifest",
    "CalibrationSet",
    "build_calibration_set",
    "calibration_cache_key",
    "face_crops_from_images",
    "iter_face_crops",
    "load_calibration_set",
    "quantize_qdq",
    "write_calibration_set",
]
