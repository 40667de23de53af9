"""A small in-process stand-in for ``tensorrt`` and cuda-python's runtime bindings.

It checks the *control flow* of wds-edge's TensorRT code, not TensorRT: it records the
calls and enforces the rules of the real APIs that the code must follow, and it "runs"
an engine by executing its ONNX file with ONNX Runtime on the CPU (so parity and the
accuracy gate see real numbers). Rules enforced (a breach raises :class:`ApiViolation`):

* one thread per execution context at a time (``execute_async_v3`` entered twice at once);
* CUDA's current device is per thread and starts at 0: a context runs only on the thread
  whose current device is the one it was created on; every builder, runtime, stream and
  allocation is recorded with the device current when it was made;
* TensorRT 11 mode (``version="11.4.0"``): no ``platform_has_fast_fp16/int8``, no
  ``IInt8EntropyCalibrator2``, no ``BuilderFlag.FP16`` / ``INT8``, no
  ``int8_calibrator`` / ``set_calibration_profile`` on the builder config;
* a Python exception must not escape an ``IProgressMonitor`` callback into TensorRT;
  ``step_complete`` returning False cancels the build (``build_serialized_network``
  returns None, as the real one does).

Knobs: ``create_context_returns_none``, ``output_dtype`` ("float32" / "float16"),
``device_count_error`` (cudaGetDeviceCount returns ``(err, None)``), ``devices``.
Install with :func:`install` (``monkeypatch.setitem(sys.modules, ...)``), both module
layouts of cuda-python: ``cuda.bindings.runtime`` (12.8+ / 13) or ``cuda.cudart`` (12.x).
"""

from __future__ import annotations

import base64
import ctypes
import enum
import importlib.machinery
import json
import threading
import time
import types
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest


class ApiViolation(AssertionError):
    """wds-edge used the (stand-in) TensorRT / CUDA API in a way the real one forbids."""


@dataclass
class Gpu:
    name: str = "NVIDIA GeForce RTX 4060"
    major: int = 8
    minor: int = 9
    sm_count: int = 24
    memory_bytes: int = 8 << 30


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
        )  # fmt: skip
        return ok, props

    def set_device(device: int) -> tuple[Any]:
        if not 0 <= device < len(state.devices):
            return (cudaError_t.cudaErrorInvalidDevice,)
        state._current.device = device
        return (ok,)

    def memcpy(dst: int, src: int, nbytes: int, kind: int, stream: Any = None) -> tuple[Any]:
        if stream is not None and state.live[int(stream)].device != state.current_device():
            raise ApiViolation("cudaMemcpyAsync on a stream of another device")
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


# --------------------------------------------------------------------------- tensorrt


def _make_tensorrt(state: FakeState) -> types.ModuleType:  # noqa: C901 - one namespace
    trt = types.ModuleType("tensorrt")
    trt.__spec__ = importlib.machinery.ModuleSpec("tensorrt", None)
    trt.__version__ = state.version
    v11 = state.major >= 11

    class DataType(enum.Enum):
        FLOAT = "float32"
        HALF = "float16"
        INT8 = "int8"

    trt.DataType = DataType
    trt.float32, trt.float16 = DataType.FLOAT, DataType.HALF
    trt.nptype = lambda dt: np.dtype(dt.value).type
    trt.TensorIOMode = enum.Enum("TensorIOMode", "INPUT OUTPUT")
    trt.MemoryPoolType = enum.Enum("MemoryPoolType", "WORKSPACE")
    trt.NetworkDefinitionCreationFlag = types.SimpleNamespace(STRONGLY_TYPED=1)
    trt.LayerType = enum.Enum(
        "LayerType", "QUANTIZE DEQUANTIZE ACTIVATION CONVOLUTION SOFTMAX SLICE OTHER"
    )
    flags = "PREFER_PRECISION_CONSTRAINTS" if v11 else "FP16 INT8 PREFER_PRECISION_CONSTRAINTS"
    trt.BuilderFlag = enum.Enum("BuilderFlag", flags)

    class ILogger:
        INTERNAL_ERROR, ERROR, WARNING, INFO, VERBOSE = range(5)

        def __init__(self) -> None:
            state.loggers.append(self)

    class IProgressMonitor:
        def __init__(self) -> None:
            pass

    trt.ILogger, trt.IProgressMonitor = ILogger, IProgressMonitor
    if not v11:

        class IInt8EntropyCalibrator2:
            def __init__(self) -> None:
                pass

        trt.IInt8EntropyCalibrator2 = IInt8EntropyCalibrator2

    class Layer:
        def __init__(self, name: str, op: str, is_output: bool) -> None:
            kinds = {"QuantizeLinear": "QUANTIZE", "DequantizeLinear": "DEQUANTIZE",
                     "Sigmoid": "ACTIVATION", "Conv": "CONVOLUTION", "Softmax": "SOFTMAX",
                     "Slice": "SLICE"}  # fmt: skip
            self.name, self.type = name, trt.LayerType[kinds.get(op, "OTHER")]
            self.num_outputs, self.precision, self._out = 1, None, is_output

        def get_output(self, j: int) -> Any:
            return types.SimpleNamespace(is_network_output=self._out)

        def set_output_type(self, j: int, dtype: Any) -> None:
            pass

    class Network:
        def __init__(self, flags: int) -> None:
            self.flags, self.layers, self.onnx_path = flags, [], None

        @property
        def num_layers(self) -> int:
            return len(self.layers)

        def get_layer(self, i: int) -> Layer:
            return self.layers[i]

    class OnnxParser:
        def __init__(self, network: Network, logger: Any) -> None:
            _check_logger(logger)
            self.network, self.num_errors = network, 0

        def parse_from_file(self, path: str) -> bool:
            import onnx

            model = onnx.load(path)
            outputs = {o.name for o in model.graph.output}
            for node in model.graph.node:
                self.network.layers.append(Layer(node.name, node.op_type, bool(outputs & set(node.output))))  # fmt: skip  # noqa: E501
            self.network.onnx_path = path
            return True

    class Config:
        def __init__(self) -> None:
            self.flags: set[Any] = set()
            self.progress_monitor = None
            self.profiles: list[Any] = []
            self.timing = b""
            if not v11:
                self.int8_calibrator = None

        def set_memory_pool_limit(self, pool: Any, nbytes: int) -> None:
            pass

        def add_optimization_profile(self, profile: Any) -> int:
            self.profiles.append(profile)
            return 0

        def set_flag(self, flag: Any) -> None:
            self.flags.add(flag)

        def create_timing_cache(self, data: bytes) -> Any:
            return types.SimpleNamespace(data=bytes(data), serialize=lambda: b"timing-cache")

        def set_timing_cache(self, cache: Any, ignore_mismatch: bool) -> bool:
            self.timing = cache.data
            return True

        def get_timing_cache(self) -> Any:
            return self.create_timing_cache(b"timing-cache")

        if not v11:

            def set_calibration_profile(self, profile: Any) -> None:
                self.calibration_profile = profile

    class Builder:
        def __init__(self, logger: Any) -> None:
            _check_logger(logger)
            self.device = state.record("builder").device

        if not v11:
            platform_has_fast_fp16 = True
            platform_has_fast_int8 = True

        def create_network(self, flags: int) -> Network:
            return Network(flags)

        def create_builder_config(self) -> Config:
            return Config()

        def create_optimization_profile(self) -> Any:
            profile = types.SimpleNamespace(shapes={})
            profile.set_shape = lambda name, lo, opt, hi: profile.shapes.update(
                {name: (lo, opt, hi)}
            )  # noqa: E501
            return profile

        def build_serialized_network(self, network: Network, config: Config) -> bytes | None:
            if state.current_device() != self.device:
                raise ApiViolation("build on a thread whose current device is not the builder's")
            qdq = any(layer.type.name in ("QUANTIZE", "DEQUANTIZE") for layer in network.layers)
            names = {f.name for f in config.flags}
            build = {"onnx": network.onnx_path, "flags": sorted(names), "qdq": qdq,
                     "strongly_typed": bool(network.flags), "device": self.device}  # fmt: skip
            state.builds.append(build)
            if v11 and not network.flags:
                raise ApiViolation("TensorRT 11 builds strongly typed networks only")
            if not _monitor(config.progress_monitor):
                return None  # cancelled
            calibrator = getattr(config, "int8_calibrator", None)
            if "INT8" in names and not qdq:
                if calibrator is None:
                    return None  # TensorRT: INT8 without scales fails the build
                if calibrator.read_calibration_cache() is None:
                    while calibrator.get_batch(["image"]) is not None:
                        pass
                    calibrator.write_calibration_cache(b"scales")
            with open(network.onnx_path, "rb") as f:  # a plan is self-contained
                model = base64.b64encode(f.read()).decode()
            return json.dumps({**build, "model": model}).encode()

    def _monitor(monitor: Any) -> bool:
        if monitor is None:
            return True
        try:
            monitor.phase_start("Building engine", None, state.build_steps)
            for step in range(state.build_steps):
                if monitor.step_complete("Building engine", step) is False:
                    return False
            monitor.phase_finish("Building engine")
        except BaseException as exc:
            raise ApiViolation(
                f"{type(exc).__name__} escaped an IProgressMonitor callback into TensorRT"
            ) from exc
        return True

    class Runtime:
        def __init__(self, logger: Any) -> None:
            _check_logger(logger)
            self.device = state.record("runtime").device

        def deserialize_cuda_engine(self, plan: bytes) -> Any:
            try:
                build = json.loads(plan)
            except ValueError:
                return None
            return Engine(build, self.device)

    class Engine:
        def __init__(self, build: dict[str, Any], device: int) -> None:
            import onnxruntime as ort

            self.device = device
            model = base64.b64decode(build["model"])
            self.session = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
            inp, out = self.session.get_inputs()[0], self.session.get_outputs()[0]
            self.names = [inp.name, out.name]
            self.shapes = {
                inp.name: tuple(d if isinstance(d, int) else -1 for d in inp.shape),
                out.name: tuple(d if isinstance(d, int) else -1 for d in out.shape),
            }
            self.dtypes = {inp.name: DataType.FLOAT, out.name: DataType(state.output_dtype)}
            self.num_io_tensors = 2

        def get_tensor_name(self, i: int) -> str:
            return self.names[i]

        def get_tensor_mode(self, name: str) -> Any:
            return trt.TensorIOMode.INPUT if name == self.names[0] else trt.TensorIOMode.OUTPUT

        def get_tensor_shape(self, name: str) -> tuple[int, ...]:
            return self.shapes[name]

        def get_tensor_dtype(self, name: str) -> Any:
            return self.dtypes[name]

        def get_tensor_profile_shape(self, name: str, profile: int) -> list[tuple[int, ...]]:
            _, c, h, w = self.shapes[name]
            return [(1, c, h, w), (1, c, h, w), (8, c, h, w)]

        def create_execution_context(self) -> Any:
            if state.create_context_returns_none:
                return None
            state.record("context")
            return Context(self)

    class Context:
        def __init__(self, engine: Engine) -> None:
            self.engine, self.addresses, self.shape = engine, {}, None
            self.device = state.current_device()
            self._busy = threading.Lock()

        def set_input_shape(self, name: str, shape: tuple[int, ...]) -> bool:
            self.shape = tuple(shape)
            return 1 <= self.shape[0] <= 8

        def set_tensor_address(self, name: str, ptr: int) -> None:
            self.addresses[name] = ptr

        def execute_async_v3(self, stream: int) -> bool:
            if not self._busy.acquire(blocking=False):
                raise ApiViolation("two threads use one IExecutionContext at the same time")
            try:
                if state.current_device() != self.device:
                    raise ApiViolation(
                        f"context of device {self.device} run on a thread whose current device "
                        f"is {state.current_device()} (cudaSetDevice missing on this thread)"
                    )
                if state.live[int(stream)].device != self.device:
                    raise ApiViolation("execute_async_v3 on a stream of another device")
                state.executions.append(self.device)
                time.sleep(0.002)  # widen the window in which a second thread would enter
                inp, out = self.engine.names
                n = int(np.prod(self.shape))
                x = np.ctypeslib.as_array((ctypes.c_float * n).from_address(self.addresses[inp]))
                y = self.engine.session.run(None, {inp: x.reshape(self.shape)})[0]
                y = y.astype(state.output_dtype)
                ctypes.memmove(self.addresses[out], y.ctypes.data, y.nbytes)
                return True
            finally:
                self._busy.release()

    def _check_logger(logger: Any) -> None:
        if not isinstance(logger, ILogger):
            raise ApiViolation(f"expected a trt.ILogger, got {type(logger).__name__}")

    trt.Builder, trt.Runtime, trt.OnnxParser = Builder, Runtime, OnnxParser
    return trt


def install(
    monkeypatch: pytest.MonkeyPatch, *, bindings_layout: str = "cuda.bindings", **knobs: Any
) -> tuple[FakeState, types.ModuleType, types.ModuleType]:
    """Put the stand-ins into ``sys.modules``; returns (state, tensorrt, cudart).

    Args:
        bindings_layout: ``"cuda.bindings"`` (cuda-python 12.8+ / 13) or ``"cuda.cudart"``
            (cuda-python 12.x before 12.8).
        **knobs: :class:`FakeState` fields (``version``, ``devices``, ...).
    """
    import sys

    state = FakeState(**knobs)
    trt = _make_tensorrt(state)
    cuda = types.ModuleType("cuda")
    monkeypatch.setitem(sys.modules, "tensorrt", trt)
    monkeypatch.setitem(sys.modules, "cuda", cuda)
    if bindings_layout == "cuda.bindings":
        bindings = types.ModuleType("cuda.bindings")
        bindings.__path__ = []  # a package: ``import cuda.bindings.runtime`` works
        cuda.__path__ = []
        rt = _make_cudart(state, "cuda.bindings.runtime")
        bindings.runtime = rt
        cuda.bindings = bindings
        monkeypatch.setitem(sys.modules, "cuda.bindings", bindings)
        monkeypatch.setitem(sys.modules, "cuda.bindings.runtime", rt)
        monkeypatch.setitem(sys.modules, "cuda.cudart", None)
    else:
        rt = _make_cudart(state, "cuda.cudart")
        cuda.cudart = rt
        monkeypatch.setitem(sys.modules, "cuda.cudart", rt)
        monkeypatch.setitem(sys.modules, "cuda.bindings", None)  # 12.x has no cuda.bindings
        monkeypatch.setitem(sys.modules, "cuda.bindings.runtime", None)
    return state, trt, rt
