"""Lazy imports of optional heavy dependencies, with an install hint when missing."""

from __future__ import annotations

import importlib
from types import ModuleType

from wds_edge.errors import MissingDependencyError

__all__ = ["require", "install_hint"]


def _extra(name: str) -> str:
    """How to install the optional dependency group ``name``: wds-edge is not on PyPI, so
    from the checkout (or the wheel built there), not by the project's name from an index."""
    return (
        f"pip install '.[{name}]' in the wds-edge checkout (from its wheel: pip install "
        f"'WHEEL.whl[{name}]')"
    )


_HINTS = {
    "torch": f"{_extra('train')}; on a CPU-only machine install torch==2.13.0 from the "
    "PyTorch CPU wheel index first (scripts/setup.sh dev does both)",
    "onnx": _extra("export"),
    "onnxsim": "pip install onnxsim (or onnxslim)",
    "onnxslim": "pip install onnxslim",
    "tensorrt": f"x86_64: {_extra('trt')}: TensorRT 10 for CUDA 12 (NVIDIA driver R525+); "
    "CUDA 13 machines (driver R580+): '.[trt-cu13]' instead of '.[trt]'. "
    "Jetson: TensorRT comes with JetPack 6 (apt install nvidia-tensorrt python3-libnvinfer) "
    "- create the venv with --system-site-packages so Python sees it",
    "pycuda": "pip install pycuda (needs the CUDA toolkit), or pip install 'cuda-python>=12,<13'",
    # the bindings' major version must match the CUDA driver's: 13.x needs R580+
    "cuda": "pip install 'cuda-python>=12,<13' (CUDA 12, driver R525+; or "
    f"{_extra('trt')}); CUDA 13 (driver R580+): {_extra('trt-cu13')}; Jetson (JetPack 6): "
    "pip install 'cuda-python>=12.6,<12.7'",
    "mediapipe": "pip install mediapipe",
    "matplotlib": "pip install matplotlib",
    "nncf": _extra("openvino-int8"),
    # the local web service (wds-edge serve)
    "starlette": _extra("service"),
    "uvicorn": _extra("service"),
    "multipart": f"{_extra('service')} (python-multipart)",
    "websockets": _extra("service"),
}


def install_hint(package: str) -> str | None:
    """How to install the optional top-level ``package`` (``None``: not an optional one)."""
    return _HINTS.get(package)


def require(module: str, purpose: str) -> ModuleType:
    """Import ``module`` or raise :class:`MissingDependencyError` saying how to install it.

    Args:
        module: dotted module name, e.g. ``"torch"`` or ``"onnxruntime.quantization"``.
        purpose: what the caller needs it for, used in the message ("ONNX export").

    Raises:
        MissingDependencyError: the module cannot be imported.
    """
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        root = module.split(".")[0]
        hint = _HINTS.get(root, f"pip install {root}")
        raise MissingDependencyError(
            f"{purpose} needs the Python package '{root}', which is not importable ({exc}). "
            f"Install it: {hint}"
        ) from exc
