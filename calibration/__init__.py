"""INT8 calibration: representative crops through the kiosk's own preprocessing.

* :mod:`wds_edge_calibration.dataset`: the calibration folder (crops + manifest);
* :mod:`wds_edge_calibration.manifest`: its ``manifest.json`` as a pydantic model;
* :mod:`wds_edge_calibration.crops`: face crops via capture -> landmarks -> the kiosk's crop;
* :mod:`wds_edge_calibration.cache`: the TensorRT calibration cache and its key;
* :mod:`wds_edge_calibration.qdq`: explicit INT8 (Q/DQ ONNX) for TensorRT 10 / 11 and ONNX Runtime;
* :mod:`wds_edge_calibration.trt_calibrator`: TensorRT's ``IInt8EntropyCalibrator2`` (lazy import).

Never imports torch.
"""

from __future__ import annotations

from wds_edge_calibration.build import build_calibration_set
from wds_edge_calibration.cache import CalibrationCache, calibration_cache_key
from wds_edge_calibration.crops import face_crops_from_images, iter_face_crops
from wds_edge_calibration.dataset import (
    MIN_RECOMMENDED_CROPS,
    CalibrationSet,
    load_calibration_set,
    write_calibration_set,
)
from wds_edge_calibration.manifest import CalibrationManifest
from wds_edge_calibration.qdq import quantize_qdq

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
