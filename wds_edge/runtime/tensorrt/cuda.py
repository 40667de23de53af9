"""The one small adapter between wds-edge and CUDA: cuda-python's runtime bindings.

Everything the TensorRT code needs from CUDA goes through here: device count and
properties, selecting the current device, a stream, events, device buffers, page-locked
(pinned) host buffers exposed as numpy arrays, and async copies. NVIDIA's TensorRT 10
Python samples use the same bindings (``cuda.bindings.runtime`` since cuda-python 12.8
and in 13, ``cuda.cudart`` in 12.x before that). Imported lazily; nothing here runs on a
machine without an NVIDIA driver.

CUDA's current device is per host thread and starts at 0 on every new thread, so every
entry point that allocates or launches on device N calls :func:`set_device` first, on
the thread it runs on.
"""

from __future__ import annotations

import ctypes
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import numpy as np

from wds_edge._deps import require
from wds_edge.errors import BackendError, BackendUnavailableError, MissingDependencyError

__all__ = [
    "cudart",
    "check",
    "DeviceInfo",
    "device_info",
    "set_device",
    "Stream",
    "Event",
    "DeviceBuffer",
    "PinnedBuffer",
]


def cudart() -> ModuleType:
    """The CUDA runtime bindings of cuda-python (12.8+ / 13 layout first, then 12.x)."""
    try:
        return require("cuda.bindings.runtime", "TensorRT inference")
    except MissingDependencyError:
        return require("cuda.cudart", "TensorRT inference")


def _as_str(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _error_text(rt: ModuleType, err: Any) -> str:
    """``"cudaErrorNoDevice (no CUDA-capable device is detected)"`` for a cudaError_t."""
    _, name = rt.cudaGetErrorName(err)
    _, text = rt.cudaGetErrorString(err)
    return f"{_as_str(name)} ({_as_str(text)})"


def check(result: Any, what: str) -> Any:
    """Unpack a cuda-python ``(err, *values)`` tuple; raise BackendError on an error."""
    rt = cudart()
    err, *values = result if isinstance(result, tuple) else (result,)
    if err != rt.cudaError_t.cudaSuccess:
        raise BackendError(f"CUDA {what} failed: {_error_text(rt, err)}")
    if not values:
        return None
    return values[0] if len(values) == 1 else tuple(values)


@dataclass(frozen=True)
class DeviceInfo:
    """What an engine's validity depends on, of one CUDA device.

    ``sm_count`` and ``memory_gib`` tell apart GPUs with one marketing name
    ("Orin": AGX Orin 16 SMs / 32-64 GiB, Orin NX 8 SMs, Orin Nano 4-8 SMs / 4-8 GiB).
    """

    index: int
    name: str
    compute_capability: str  # "8.7"
    sm_count: int
    memory_gib: int  # total global memory, rounded to whole GiB
    #: an integrated GPU sharing the host's memory (Jetson): host<->device copies could be
    #: avoided with mapped pinned memory; not done yet (issue 22 item 14: unmeasured)
    integrated: bool = False


def _no_gpu(why: str) -> BackendUnavailableError:
    return BackendUnavailableError(
        f"no NVIDIA GPU is visible (cudaGetDeviceCount: {why}); TensorRT needs one: check "
        "`nvidia-smi` and the driver, in Docker pass --gpus all (x86) or --runtime nvidia "
        "(Jetson); or run on the CPU with --backend onnxruntime"
    )


def device_info(device: int = 0) -> DeviceInfo:
    """Name, compute capability, SM count and memory of CUDA device ``device``.

    Raises:
        BackendUnavailableError: no NVIDIA GPU / driver (the CUDA error is in the message),
            or ``device`` does not exist.
    """
    rt = cudart()
    err, count = rt.cudaGetDeviceCount()
    if err != rt.cudaError_t.cudaSuccess:
        raise _no_gpu(_error_text(rt, err))  # count is None here, not 0
    if not count:
        raise _no_gpu("0 devices")
    if not 0 <= device < count:
        raise BackendUnavailableError(
            f"CUDA device {device} does not exist; this machine has {count} "
            f"(valid --device values: 0..{count - 1})"
        )
    props = check(rt.cudaGetDeviceProperties(device), "cudaGetDeviceProperties")
    name = props.name.decode() if isinstance(props.name, bytes) else str(props.name)
    return DeviceInfo(
        index=device,
        name=name.strip("\x00 "),
        compute_capability=f"{props.major}.{props.minor}",
        sm_count=int(props.multiProcessorCount),
        memory_gib=round(int(props.totalGlobalMem) / (1 << 30)),
        integrated=bool(getattr(props, "integrated", 0)),
    )


def set_device(device: int) -> None:
    """Make ``device`` current on the calling thread (before any allocation or launch)."""
    check(cudart().cudaSetDevice(int(device)), f"cudaSetDevice({device})")


class Stream:
    """A CUDA stream on the current device (``handle`` is what ``execute_async_v3`` takes)."""

    def __init__(self) -> None:
        self._stream = check(cudart().cudaStreamCreate(), "cudaStreamCreate")
        self.handle = int(self._stream)

    def synchronize(self) -> None:
        check(cudart().cudaStreamSynchronize(self._stream), "cudaStreamSynchronize")

    def close(self) -> None:
        if self._stream is not None:
            check(cudart().cudaStreamDestroy(self._stream), "cudaStreamDestroy")
            self._stream = None


class Event:
    """A CUDA event, for timing work on a stream (host/device split of a latency)."""

    def __init__(self) -> None:
        self._event = check(cudart().cudaEventCreate(), "cudaEventCreate")

    def record(self, stream: Stream) -> None:
        check(cudart().cudaEventRecord(self._event, stream._stream), "cudaEventRecord")

    def elapsed_ms(self, since: Event) -> float:
        """Milliseconds from ``since`` to this event (both recorded and completed)."""
        rt = cudart()
        return float(check(rt.cudaEventElapsedTime(since._event, self._event), "cudaEventElapsed"))

    def close(self) -> None:
        if self._event is not None:
            check(cudart().cudaEventDestroy(self._event), "cudaEventDestroy")
            self._event = None


class DeviceBuffer:
    """``nbytes`` of device memory on the current device; ``ptr`` is what TensorRT wants."""

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
