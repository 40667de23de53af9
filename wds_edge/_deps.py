"""Lazy imports of optional heavy dependencies, with an install hint when missing."""

from __future__ import annotations

import importlib
from types import ModuleType

from wds_edge.errors import MissingDependencyError

__all__ = ["require", "install_hint"]

_HINTS = {
    "torch": "pip install 'wds-edge[train]' (CPU-only machine: pip install torch==2.13.0 "
    "from the PyTorch CPU wheel index first; scripts/setup.sh does this)",
    "onnx": "pip install 'wds-edge[export]'",
    "onnxsim": "pip install onnxsim (or onnxslim)",
    "onnxslim": "pip install onnxslim",
    "tensorrt": "x86_64: pip install 'wds-edge[trt]' (tensorrt>=10,<11 from NVIDIA); "
    "Jetson: TensorRT comes with JetPack 6 (apt install nvidia-tensorrt python3-libnvinfer) "
    "- create the venv with --system-site-packages so Python sees it",
    "pycuda": "pip install pycuda (needs the CUDA toolkit), or pip install cuda-python",
    "cuda": "pip install cuda-python",
    "mediapipe": "pip install mediapipe",
    "matplotlib": "pip install matplotlib",
    # the local web service (wds-edge serve)
    "starlette": "pip install 'wds-edge[service]'",
    "uvicorn": "pip install 'wds-edge[service]'",
    "multipart": "pip install 'wds-edge[service]' (python-multipart)",
    "websockets": "pip install 'wds-edge[service]'",
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
