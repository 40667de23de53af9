"""Importing TensorRT: the lazy import with an install hint, and the version it is."""

from __future__ import annotations

from typing import Any

from wds_edge._deps import require
from wds_edge.errors import BackendUnavailableError

__all__ = ["tensorrt_major", "tensorrt_module"]


def tensorrt_module() -> Any:
    """Import TensorRT (>= 10).

    Raises:
        MissingDependencyError: not installed (the message says how to install it).
        BackendUnavailableError: TensorRT older than 10 (JetPack 5, L4T r36.2 / r36.3).
    """
    trt = require("tensorrt", "building and running TensorRT engines")
    if tensorrt_major(trt) < 10:
        raise BackendUnavailableError(
            f"TensorRT {trt.__version__} is too old; wds-edge needs TensorRT 10 (JetPack "
            "6.1+; x86_64: pip install '.[trt]' in the wds-edge checkout, '.[trt-cu13]' "
            "for NVIDIA driver R580+)"
        )
    return trt


def tensorrt_major(trt: Any) -> int:
    """The major version of an imported ``tensorrt`` module (10, 11, ...)."""
    return int(str(trt.__version__).split(".")[0])
