"""The cuda-python half of the TensorRT stand-in: device state and ``cudart`` (see
:mod:`fake_tensorrt`)."""

from __future__ import annotations

import ctypes
import enum
import threading
import types
from dataclasses import dataclass, field
from typing import Any


class ApiViolation(AssertionError):
    """wds-edge used the (stand-in) TensorRT / CUDA API in a way the real one forbids."""


@dataclass
class Gpu:
    name: str = "NVIDIA GeForce RTX 4060"
    major: int = 8
    minor: int = 9
    sm_count: int = 24
    memory_bytes: int = 8 << 30
    integrated: bool = False


@dataclass
class Record:
    kind: str  # "malloc", "malloc_host", "stream", "event", "builder", "runtime", "context"
    device: int
    ptr: int = 0


@dataclass
class FakeState:
    version: str = "10.3.0"
    devices: list[Gpu] = field(default_factory=lambda: [Gpu()])
    device_count_error: int | None = None
    create_context_returns_none: bool = False
    output_dtype: str = "float32"
    build_steps: int = 3
    fast_fp16: bool = True  # platform_has_fast_fp16 (TensorRT 10)
    prefer_drops: bool = True  # PREFER_PRECISION_CONSTRAINTS dropped, as TensorRT may
    timing_cache_ok: bool = True  # set_timing_cache accepts a previous cache
    warnings: list[str] = field(default_factory=list)  # what TensorRT would log
    deprecated: set[str] = field(default_factory=set)  # deprecated APIs used (10.12+)
    records: list[Record] = field(default_factory=list)
    live: dict[int, Record] = field(default_factory=dict)  # ptr / handle -> allocation
    loggers: list[Any] = field(default_factory=list)
    builds: list[dict[str, Any]] = field(default_factory=list)
    executions: list[int] = field(default_factory=list)  # device of each execute_async_v3
    _current: threading.local = field(default_factory=threading.local)
    _keep: dict[int, Any] = field(default_factory=dict)  # ptr -> ctypes buffer

    @property
    def major(self) -> int:
        return int(self.version.split(".")[0])

    def current_device(self) -> int:
        return getattr(self._current, "device", 0)

    def record(self, kind: str, ptr: int = 0) -> Record:
        rec = Record(kind, self.current_device(), ptr)
        self.records.append(rec)
        if ptr:
            self.live[ptr] = rec
        return rec

    def live_kinds(self) -> list[str]:
        return sorted(r.kind for r in self.live.values())


# --------------------------------------------------------------------------- cudart


class cudaError_t(enum.IntEnum):  # noqa: N801 - cuda-python's spelling
    cudaSuccess = 0
    cudaErrorInvalidValue = 1
    cudaErrorInsufficientDriver = 35
    cudaErrorNoDevice = 100
    cudaErrorInvalidDevice = 101


_ERROR_TEXT = {
    0: "no error",
    1: "invalid argument",
    35: "CUDA driver version is insufficient for CUDA runtime version",
    100: "no CUDA-capable device is detected",
    101: "invalid device ordinal",
}


def _make_cudart(state: FakeState, name: str) -> types.ModuleType:
    rt = types.ModuleType(name)
    ok = cudaError_t.cudaSuccess
    rt.cudaError_t = cudaError_t
    rt.cudaMemcpyKind = types.SimpleNamespace(cudaMemcpyHostToDevice=1, cudaMemcpyDeviceToHost=2)

    def alloc(kind: str, nbytes: int) -> tuple[Any, int]:
        buf = ctypes.create_string_buffer(max(int(nbytes), 1))
        ptr = ctypes.addressof(buf)
        state._keep[ptr] = buf
        state.record(kind, ptr)
        return ok, ptr

    def free(ptr: int) -> tuple[Any]:
        if ptr not in state.live:
            raise ApiViolation(f"free of unknown pointer {ptr:#x}")
        del state.live[ptr]
        state._keep.pop(ptr, None)
        return (ok,)

    def get_device_count() -> tuple[Any, Any]:
        if state.device_count_error is not None:
            return cudaError_t(state.device_count_error), None
        return ok, len(state.devices)

    def get_properties(device: int) -> tuple[Any, Any]:
        gpu = state.devices[device]
        props = types.SimpleNamespace(
            name=gpu.name.encode() + b"\x00" * 3, major=gpu.major, minor=gpu.minor,
            multiProcessorCount=gpu.sm_count, totalGlobalMem=gpu.memory_bytes,
            integrated=int(gpu.integrated),
        )  # fmt: skip
        return ok, props

    def set_device(device: int) -> tuple[Any]:
        if not 0 <= device < len(state.devices):
            return (cudaError_t.cudaErrorInvalidDevice,)
        state._current.device = device
        return (ok,)

    def check_bounds(ptr: int, nbytes: int, what: str) -> None:
        """A copy must stay inside the allocation it starts in (CUDA: undefined behaviour,
        an illegal-address error or silently corrupted memory)."""
        for start, buf in state._keep.items():
            size = ctypes.sizeof(buf)
            if start <= ptr < start + size and ptr + nbytes > start + size:
                raise ApiViolation(
                    f"cudaMemcpy of {nbytes} bytes {what} an allocation of {size} bytes "
                    f"(at offset {ptr - start})"
                )

    def memcpy(dst: int, src: int, nbytes: int, kind: int, stream: Any = None) -> tuple[Any]:
        if stream is not None and state.live[int(stream)].device != state.current_device():
            raise ApiViolation("cudaMemcpyAsync on a stream of another device")
        check_bounds(int(dst), int(nbytes), "into")
        check_bounds(int(src), int(nbytes), "out of")
        ctypes.memmove(dst, src, nbytes)
        return (ok,)

    def stream_create() -> tuple[Any, Any]:
        _, handle = alloc("stream", 8)
        return ok, handle

    def event_create() -> tuple[Any, Any]:
        _, handle = alloc("event", 8)
        return ok, handle

    rt.cudaGetDeviceCount = get_device_count
    rt.cudaGetDeviceProperties = get_properties
    rt.cudaSetDevice = set_device
    rt.cudaGetErrorName = lambda err: (ok, cudaError_t(err).name.encode())
    rt.cudaGetErrorString = lambda err: (ok, _ERROR_TEXT[int(err)].encode())
    rt.cudaMalloc = lambda n: alloc("malloc", n)
    rt.cudaMallocHost = lambda n: alloc("malloc_host", n)
    rt.cudaFree = free
    rt.cudaFreeHost = free
    rt.cudaMemcpy = memcpy
    rt.cudaMemcpyAsync = memcpy
    rt.cudaStreamCreate = stream_create
    rt.cudaStreamSynchronize = lambda s: (ok,)
    rt.cudaStreamDestroy = free
    rt.cudaEventCreate = event_create
    rt.cudaEventRecord = lambda e, s: (ok,)
    rt.cudaEventElapsedTime = lambda a, b: (ok, 0.25)
    rt.cudaEventDestroy = free
    return rt
