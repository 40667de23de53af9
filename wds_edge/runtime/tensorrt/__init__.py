"""TensorRT engines on the kiosk: build, cache naming, sidecar JSON, accuracy gate.

Never imports torch; TensorRT and cuda-python are imported lazily (only
:mod:`wds_edge.runtime.tensorrt.build` and :mod:`wds_edge.runtime.tensorrt.cuda` need them, and
only when called). The cache and gate modules are pure Python / numpy.
"""

from __future__ import annotations

from wds_edge.runtime.gate import GATE_MIN_IOU, GateResult, accuracy_gate, enforce_gate
from wds_edge.runtime.tensorrt.build import EngineInfo, build_engine, tensorrt_module
from wds_edge.runtime.tensorrt.cache import (
    PRECISIONS,
    EngineKey,
    default_cache_dir,
    engine_file_name,
    engine_mismatches,
    make_sidecar,
    read_sidecar,
    sidecar_path,
    write_sidecar,
)

__all__ = [
    "PRECISIONS",
    "GATE_MIN_IOU",
    "EngineInfo",
    "EngineKey",
    "GateResult",
    "accuracy_gate",
    "build_engine",
    "default_cache_dir",
    "enforce_gate",
    "engine_file_name",
    "engine_mismatches",
    "make_sidecar",
    "read_sidecar",
    "sidecar_path",
    "tensorrt_module",
    "write_sidecar",
]
