"""TensorRT engines on the kiosk: provision (reuse / build / gate / load), cache naming,
sidecar JSON, the INT8 calibration interface.

Never imports torch nor the ``calibration`` package; TensorRT and cuda-python are
imported lazily (only when an engine is built or loaded). Modules, each importing only
those before it: ``module`` (importing TensorRT), ``cuda`` (cuda-python adapter),
``logger`` (the process-wide TensorRT logger), ``int8`` (what the builder needs from
calibration), ``cache`` (names, sidecar), ``build`` (plan bytes), ``backend`` (runs a
plan), ``provision`` (the one place that knows both builder and backend).
"""

from __future__ import annotations

from wds_edge.runtime.gate import GATE_MIN_IOU, GateResult, accuracy_gate, enforce_gate
from wds_edge.runtime.tensorrt.cache import (
    PRECISIONS,
    EngineKey,
    EngineSidecar,
    default_cache_dir,
    engine_file_name,
    engine_mismatches,
    read_sidecar,
    sidecar_path,
)
from wds_edge.runtime.tensorrt.int8 import CropSource, Int8Calibration
from wds_edge.runtime.tensorrt.module import tensorrt_module
from wds_edge.runtime.tensorrt.provision import EngineInfo, ensure_engine, provision_engine

__all__ = [
    "PRECISIONS",
    "GATE_MIN_IOU",
    "CropSource",
    "EngineInfo",
    "EngineKey",
    "EngineSidecar",
    "GateResult",
    "Int8Calibration",
    "accuracy_gate",
    "default_cache_dir",
    "enforce_gate",
    "engine_file_name",
    "engine_mismatches",
    "ensure_engine",
    "provision_engine",
    "read_sidecar",
    "sidecar_path",
    "tensorrt_module",
]
