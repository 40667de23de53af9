"""Inference backends behind one small interface, and the factory that picks one.

``load_backend(model_path, "auto")`` takes the fastest one that works here:

1. TensorRT (``wds_edge.runtime.tensorrt.provision``) when the ``tensorrt`` package imports, a
   GPU is present and a checked engine is cached or can be built for the model (else
   :class:`~wds_edge.errors.BackendUnavailableError`, logged, and the next one is tried);
2. else ONNX Runtime with its TensorRT or CUDA execution provider when this ONNX
   Runtime build has one;
3. else ONNX Runtime on the CPU.

Heavy imports (onnxruntime, tensorrt, pycuda / cuda-python) happen only when a
backend is loaded. Every backend reads the model's metadata and refuses a model
whose contract it cannot meet (:class:`~wds_edge.errors.ModelError`).
"""

from __future__ import annotations

import importlib.util
import logging
import os
from collections.abc import Sequence
from typing import Any

from wds_edge.errors import (
    BackendError,
    BackendUnavailableError,
    InvalidInputError,
    MissingDependencyError,
    ModelError,
)
from wds_edge.runtime.base import Backend

__all__ = ["Backend", "BACKEND_NAMES", "available_backends", "load_backend"]

logger = logging.getLogger(__name__)

#: Names accepted by :func:`load_backend` and the CLI's ``--backend``.
BACKEND_NAMES = ("auto", "onnxruntime", "tensorrt")


def _has_module(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def _tensorrt_usable() -> bool:
    """TensorRT and our TensorRT backend import (the GPU is checked when building)."""
    return _has_module("tensorrt") and _has_module("wds_edge.runtime.tensorrt.backend")


def available_backends() -> list[str]:
    """Concrete backends that can be tried on this machine (``"auto"`` is not listed).

    ``"onnxruntime"`` when onnxruntime imports; ``"tensorrt"`` when the ``tensorrt``
    package and wds-edge's TensorRT backend import (a GPU is still needed to run it).
    """
    names = []
    if _has_module("onnxruntime"):
        names.append("onnxruntime")
    if _tensorrt_usable():
        names.append("tensorrt")
    return names


def _load_tensorrt(model_path: str | os.PathLike[str], precision: str, **trt_opts: Any) -> Backend:
    if not _has_module("wds_edge.runtime.tensorrt.provision"):
        raise MissingDependencyError(
            "the TensorRT backend (wds_edge.runtime.tensorrt) is not part of this install; "
            "use --backend onnxruntime"
        )
    from wds_edge.runtime.tensorrt.provision import provision_engine  # lazy: imports tensorrt

    return provision_engine(model_path, precision, **trt_opts)


def load_backend(
    model_path: str | os.PathLike[str],
    backend: str = "auto",
    *,
    precision: str = "fp16",
    num_threads: int | None = None,
    providers: Sequence[str | tuple[str, dict[str, Any]]] | None = None,
    **trt_opts: Any,
) -> Backend:
    """Load ``model_path`` with the named backend (see the module docstring for ``auto``).

    Args:
        model_path: an ``.onnx`` file exported by ``wds-edge export``.
        backend: one of :data:`BACKEND_NAMES`.
        precision: TensorRT precision (``"fp32"``, ``"fp16"``, ``"int8"``); ONNX Runtime on
            the CPU runs the model as exported (fp32).
        num_threads: ONNX Runtime intra-op threads (``None``: all cores).
        providers: ONNX Runtime execution providers (``None``: best available).
        **trt_opts: passed to :func:`~wds_edge.runtime.tensorrt.provision.provision_engine`
            (``device``, ``cache_dir``, ``calibration``, ``gate_crops``, ...).

    Returns:
        A loaded :class:`Backend`; close it (or use ``with``) when done.

    Raises:
        InvalidInputError: unknown backend name (the message lists the valid ones).
        ModelError: missing file, or a model whose metadata the runtime cannot meet.
        MissingDependencyError / BackendError: the named backend cannot run here.
    """
    name = str(backend).strip().lower()
    if name not in BACKEND_NAMES:
        raise InvalidInputError(
            f"unknown backend {backend!r}; choose one of {', '.join(BACKEND_NAMES)} "
            f"(available here: {', '.join(available_backends()) or 'none'})"
        )
    if not os.path.isfile(model_path):
        raise ModelError(
            f"{model_path}: no such model file; pass the path of an .onnx file exported with "
            "`wds-edge export` (or omit --model to use the bundled default)"
        )
    if name == "tensorrt":
        return _load_tensorrt(model_path, precision, **trt_opts)
    if name == "auto" and _tensorrt_usable():
        try:
            return _load_tensorrt(model_path, precision, **trt_opts)
        except (
            BackendUnavailableError,  # no GPU, no checked engine cached and none buildable, ...
            BackendError,
            MissingDependencyError,
            OSError,
            RuntimeError,
        ) as exc:
            # ONNX Runtime still runs the same model.
            logger.warning("TensorRT backend unavailable (%s); falling back to ONNX Runtime", exc)
    from wds_edge.runtime.onnxruntime import OnnxRuntimeBackend  # lazy: imports onnxruntime

    return OnnxRuntimeBackend(model_path, providers=providers, num_threads=num_threads)
