"""The one small adapter between wds-edge and CUDA: cuda-python's runtime bindings.

Everything the TensorRT code needs from CUDA goes through here: device count and
properties, a stream, device buffers, page-locked (pinned) host buffers exposed as
numpy arrays, and async copies. NVIDIA's TensorRT 10 Python samples use the same
bindings (``cuda.bindings.runtime`` since cuda-python 12.6, ``cuda.cudart`` before).
Imported lazily; nothing here runs on a machine without an NVIDIA driver.
"""

from __future__ import annotations

import ctypes
from types import ModuleType
from typing import Any

import numpy as np

from wds_edge._deps import require
from wds_edge.errors import BackendError, MissingDependencyError

__all__ = ["cudart", "check", "device_info", "Stream", "DeviceBuffer", "PinnedBuffer"]


def cudart() -> ModuleType:
    """The CUDA runtime bindings of cuda-python (new or old module layout)."""
    try:
        return require("cuda.bindings.runtime", "TensorRT inference")
    except MissingDependencyError:
        return require("cuda.cudart", "TensorRT inference")


def check(result: Any, what: str) -> Any:
    """Unpack a cuda-python ``(err, *values)`` tuple; raise BackendError on an error."""
    rt = cudart()
    err, *values = result if isinstance(result, tuple) else (result,)
    if err != rt.cudaError_t.cudaSuccess:
        _, name = rt.cudaGetErrorName(err)
        _, text = rt.cudaGetErrorString(err)
        raise BackendError(f"CUDA {what} failed: {name.decode()} ({text.decode()})")
    if not values:
        return None
    return values[0] if len(values) == 1 else tuple(values)


def device_info(device: int = 0) -> tuple[str, str]:
    """``(gpu name, "major.minor" compute capability)`` of CUDA device ``device``.

    Raises:
        BackendError: no NVIDIA GPU / driver, or ``device`` does not exist.
    """
    rt = cudart()
    err, count = rt.cudaGetDeviceCount()
    if err != rt.cudaError_t.cudaSuccess or count == 0:
        why = rt.cudaGetErrorString(err)[1].decode() if count == 0 and err else "0 devices"
        raise BackendError(
            f"no NVIDIA GPU is visible (cudaGetDeviceCount: {why}); TensorRT needs one: check "
            "`nvidia-smi` and the driver, in Docker pass --gpus all (x86) or --runtime nvidia "
            "(Jetson); or run on the CPU with --backend onnxruntime"
        )
    if not 0 <= device < count:
        raise BackendError(f"CUDA device {device} does not exist; this machine has {count}")
    props = check(rt.cudaGetDeviceProperties(device), "cudaGetDeviceProperties")
    name = props.name.decode() if isinstance(props.name, bytes) else str(props.name)
    return name.strip("\x00 "), f"{props.major}.{props.minor}"


class Stream:
    """A CUDA stream (``handle`` is what ``execute_async_v3`` takes)."""

    def __init__(self) -> None:
        self._stream = check(cudart().cudaStreamCreate(), "cudaStreamCreate")
        self.handle = int(self._stream)

    def synchronize(self) -> None:
        check(cudart().cudaStreamSynchronize(self._stream), "cudaStreamSynchronize")

    def close(self) -> None:
        if self._stream is not None:
            check(cudart().cudaStreamDestroy(self._stream), "cudaStreamDestroy")
            self._stream = None


class DeviceBuffer:
    """``nbytes`` of device memory; ``ptr`` is the address TensorRT wants."""

    def __init__(self, nbytes: int) -> None:
        self.nbytes = int(nbytes)
        self.ptr = int(check(cudart().cudaMalloc(self.nbytes), "cudaMalloc"))

    def copy_from_host(self, host: np.ndarray, stream: Stream | None = None) -> None:
        rt = cudart()
        kind = rt.cudaMemcpyKind.cudaMemcpyHostToDevice
        if stream is None:
            check(rt.cudaMemcpy(self.ptr, host.ctypes.data, host.nbytes, kind), "cudaMemcpy")
        else:
            check(
                rt.cudaMemcpyAsync(self.ptr, host.ctypes.data, host.nbytes, kind, stream._stream),
                "cudaMemcpyAsync",
            )

    def copy_to_host(self, host: np.ndarray, stream: Stream) -> None:
        rt = cudart()
        kind = rt.cudaMemcpyKind.cudaMemcpyDeviceToHost
        check(
            rt.cudaMemcpyAsync(host.ctypes.data, self.ptr, host.nbytes, kind, stream._stream),
            "cudaMemcpyAsync",
        )

    def close(self) -> None:
        if self.ptr:
            check(cudart().cudaFree(self.ptr), "cudaFree")
            self.ptr = 0


class PinnedBuffer:
    """Page-locked host memory as a numpy array (fast async copies; reused across frames)."""

    def __init__(self, shape: tuple[int, ...], dtype: Any = np.float32) -> None:
        dt = np.dtype(dtype)
        nbytes = int(np.prod(shape)) * dt.itemsize
        self.ptr = int(check(cudart().cudaMallocHost(nbytes), "cudaMallocHost"))
        raw = (ctypes.c_byte * nbytes).from_address(self.ptr)
        self.array = np.frombuffer(raw, dtype=dt).reshape(shape)

    def close(self) -> None:
        if self.ptr:
            self.array = np.empty(0, dtype=self.array.dtype)
            check(cudart().cudaFreeHost(self.ptr), "cudaFreeHost")
            self.ptr = 0
