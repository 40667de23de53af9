"""A small in-process stand-in for ``tensorrt`` and cuda-python's runtime bindings.

It checks wds-edge's TensorRT code against the *documented rules* of the real APIs, and
computes roughly what the built precisions compute; it is not TensorRT. A breach of a
rule raises :class:`ApiViolation`:

* one thread per execution context at a time (``execute_async_v3`` entered twice at once);
* CUDA's current device is per thread and starts at 0: a context runs only on the thread
  whose current device is the one it was created on; every builder, runtime, stream and
  allocation is recorded with the device current when it was made;
* per version: TensorRT 11 (``version="11.4.0"``) has no ``platform_has_fast_fp16/int8``,
  no ``IInt8EntropyCalibrator2``, no ``BuilderFlag.FP16`` / ``INT8`` /
  ``OBEY_PRECISION_CONSTRAINTS`` / ``PREFER_PRECISION_CONSTRAINTS``, no
  ``int8_calibrator`` / ``set_calibration_profile``, and ``ILayer.precision`` /
  ``set_output_type`` raise; 10.12+ (e.g. ``"10.13.0"``) records those weak-typing calls in
  ``state.deprecated``; a strongly typed network refuses layer precisions in any version;
* ``set_output_type`` with a float type on an INT32 / INT64 tensor is refused;
* a ``cudaMemcpy`` / ``cudaMemcpyAsync`` that runs past the end of the allocation it
  starts in is refused (CUDA would corrupt memory or fail with an illegal address);
* a weakly typed network with Q/DQ layers builds only with ``BuilderFlag.INT8`` (explicit
  quantization); without it the build fails (``build_serialized_network`` returns None and
  TensorRT's error is in ``state.warnings``);
* a Python exception must not escape an ``IProgressMonitor`` callback into TensorRT;
  ``step_complete`` returning False cancels the build (``build_serialized_network``
  returns None, as the real one does).

Numerics (:mod:`fake_trt_engine`): each layer gets the precision the builder flags and the
layer constraints give it (``PREFER_PRECISION_CONSTRAINTS`` is dropped, the worst case
TensorRT allows; ``OBEY`` is kept); FP16 layers round their weights and outputs through
float16, implicit-INT8 convolutions are quantized from the batches the calibrator fed,
Q/DQ graphs run as they are, all in ONNX Runtime. The engine inspector
(``create_engine_inspector``) reports those precisions in TensorRT's ``Format/Datatype``
wording, only for ``ProfilingVerbosity.DETAILED`` builds and only with an execution
context whose input shapes are set ("N/A due to dynamic shapes" otherwise).

It can catch: wrong API use per version, a constraint TensorRT may drop, pins on integer
tensors, a gate run against the wrong reference or on the wrong crops, a gate that FP16
rounding or INT8 quantization fails, an engine that is not read back. It cannot catch:
whether TensorRT parses the model, which tactics and fusions it picks, FP16 accumulation
error inside kernels, entropy (vs min/max) calibration, real speed or memory.

Knobs: ``create_context_returns_none``, ``output_dtype`` ("float32" / "float16"),
``device_count_error`` (cudaGetDeviceCount returns ``(err, None)``), ``devices``,
``fast_fp16``, ``prefer_drops``, ``timing_cache_ok``. Install with :func:`install`
(``monkeypatch.setitem(sys.modules, ...)``), both module layouts of cuda-python:
``cuda.bindings.runtime`` (12.8+ / 13) or ``cuda.cudart`` (12.x).
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
from typing import Any

import numpy as np
import pytest
from fake_cudart import ApiViolation, FakeState, Gpu, _make_cudart

__all__ = ["ApiViolation", "FakeState", "Gpu", "install"]


# --------------------------------------------------------------------------- tensorrt

_LAYER_TYPES = {"QuantizeLinear": "QUANTIZE", "DequantizeLinear": "DEQUANTIZE",
                "Sigmoid": "ACTIVATION", "LeakyRelu": "ACTIVATION", "Relu": "ACTIVATION",
                "Clip": "ACTIVATION", "Conv": "CONVOLUTION", "Softmax": "SOFTMAX",
                "Slice": "SLICE", "Concat": "CONCATENATION", "Constant": "CONSTANT",
                "Shape": "SHAPE", "Resize": "RESIZE", "MaxPool": "POOLING",
                "Mul": "ELEMENTWISE", "Div": "ELEMENTWISE", "Sub": "ELEMENTWISE",
                "Add": "ELEMENTWISE", "ReduceSum": "REDUCE", "Pad": "PADDING",
                "Reshape": "SHUFFLE", "Squeeze": "SHUFFLE", "Unsqueeze": "SHUFFLE",
                "Transpose": "SHUFFLE", "SpaceToDepth": "SHUFFLE", "DepthToSpace": "SHUFFLE",
                "Identity": "IDENTITY", "Gather": "GATHER"}  # fmt: skip
_WEAK_TYPING = ("FP16", "INT8", "OBEY_PRECISION_CONSTRAINTS", "PREFER_PRECISION_CONSTRAINTS")


def _make_tensorrt(state: FakeState) -> types.ModuleType:  # noqa: C901 - one namespace
    from fake_trt_engine import (
        FLOAT_ONNX,
        emulated_model,
        engine_information,
        layer_precisions,
        pack_inputs,
        unpack_inputs,
    )  # fmt: skip

    trt = types.ModuleType("tensorrt")
    trt.__spec__ = importlib.machinery.ModuleSpec("tensorrt", None)
    trt.__version__ = state.version
    v11 = state.major >= 11
    minor = int(state.version.split(".")[1])
    deprecated_weak = not v11 and minor >= 12  # TensorRT 10.12+: weak typing deprecated

    class DataType(enum.Enum):
        FLOAT = "float32"
        HALF = "float16"
        BF16 = "bfloat16"
        INT8 = "int8"
        INT32 = "int32"
        INT64 = "int64"
        BOOL = "bool"

    trt.DataType = DataType
    trt.float32, trt.float16, trt.bfloat16 = DataType.FLOAT, DataType.HALF, DataType.BF16
    trt.int8, trt.int32, trt.int64, trt.bool = (DataType.INT8, DataType.INT32, DataType.INT64,
                                                 DataType.BOOL)  # fmt: skip
    trt.nptype = lambda dt: np.dtype(dt.value).type
    onnx_types = {1: DataType.FLOAT, 10: DataType.HALF, 16: DataType.BF16, 3: DataType.INT8,
                  6: DataType.INT32, 7: DataType.INT64, 9: DataType.BOOL}  # fmt: skip
    trt.TensorIOMode = enum.Enum("TensorIOMode", "INPUT OUTPUT")
    trt.MemoryPoolType = enum.Enum("MemoryPoolType", "WORKSPACE")
    trt.NetworkDefinitionCreationFlag = types.SimpleNamespace(STRONGLY_TYPED=1)
    trt.LayerType = enum.Enum("LayerType", sorted({*_LAYER_TYPES.values(), "OTHER"}))
    flags = "TF32 DEBUG REFIT" + ("" if v11 else " " + " ".join(_WEAK_TYPING))
    trt.BuilderFlag = enum.Enum("BuilderFlag", flags)
    trt.ProfilingVerbosity = enum.Enum("ProfilingVerbosity", "LAYER_NAMES_ONLY NONE DETAILED")
    trt.LayerInformationFormat = enum.Enum("LayerInformationFormat", "ONELINE JSON")

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

    def weak_typing(api: str, network: Any = None) -> None:
        """Rules of the weak-typing API: removed in 11, deprecated from 10.12, refused on a
        strongly typed network."""
        if v11:
            raise ApiViolation(f"{api} was removed in TensorRT 11 (strongly typed only)")
        if network is not None and network.flags:
            raise ApiViolation(f"{api} on a strongly typed network (TensorRT rejects it)")
        if deprecated_weak:
            state.deprecated.add(api)

    class Tensor:
        def __init__(self, name: str, onnx_type: int, is_output: bool) -> None:
            self.name, self.is_network_output = name, is_output
            self.dtype = onnx_types.get(onnx_type, DataType.FLOAT)
            self.onnx_float = FLOAT_ONNX.get(onnx_type)

        @property
        def is_float(self) -> bool:
            return self.dtype in (DataType.FLOAT, DataType.HALF, DataType.BF16)

        def as_dict(self) -> dict[str, Any]:
            return {"name": self.name, "dtype": self.dtype.value,
                    "float": self.onnx_float if self.is_float else None}  # fmt: skip

    class Layer:
        def __init__(self, network: Any, node: Any, tensors: dict[str, Tensor]) -> None:
            self.network, self.name, self.op = network, node.name, node.op_type
            self.type = trt.LayerType[_LAYER_TYPES.get(node.op_type, "OTHER")]
            self.inputs = [tensors[i] for i in node.input if i in tensors]
            self.outputs = [tensors[o] for o in node.output]
            self._precision: Any = None
            self.output_types: dict[int, Any] = {}

        num_inputs = property(lambda self: len(self.inputs))
        num_outputs = property(lambda self: len(self.outputs))
        precision_set = property(lambda self: self._precision is not None)
        precision_name = property(lambda self: {DataType.FLOAT: "fp32", DataType.HALF: "fp16"}
                                  .get(self._precision, "fp32"))  # fmt: skip

        def get_input(self, i: int) -> Tensor:
            return self.inputs[i]

        def get_output(self, j: int) -> Tensor:
            return self.outputs[j]

        @property
        def precision(self) -> Any:
            return self._precision or DataType.FLOAT

        @precision.setter
        def precision(self, dtype: Any) -> None:
            weak_typing("ILayer.precision", self.network)
            if not any(t.is_float for t in self.outputs):
                state.warnings.append(f"{self.name}: precision set on a layer without float "
                                      "outputs is ignored")  # fmt: skip
            self._precision = dtype

        def set_output_type(self, j: int, dtype: Any) -> None:
            weak_typing("ILayer.set_output_type", self.network)
            if not self.outputs[j].is_float and dtype in (DataType.FLOAT, DataType.HALF):
                raise ApiViolation(
                    f"{self.name}: set_output_type({j}, {dtype.name}) on a "
                    f"{self.outputs[j].dtype.name} tensor (TensorRT rejects it)"
                )
            self.output_types[j] = dtype

    class Network:
        def __init__(self, flags: int) -> None:
            self.flags, self.layers, self.onnx_path = flags, [], None
            self.inputs: list[Tensor] = []

        @property
        def num_layers(self) -> int:
            return len(self.layers)

        def get_layer(self, i: int) -> Layer:
            return self.layers[i]

        @property
        def num_inputs(self) -> int:
            return len(self.inputs)

        def get_input(self, i: int) -> Tensor:
            return self.inputs[i]

    class OnnxParser:
        def __init__(self, network: Network, logger: Any) -> None:
            _check_logger(logger)
            self.network, self.num_errors = network, 0

        def parse_from_file(self, path: str) -> bool:
            import onnx

            model = onnx.shape_inference.infer_shapes(onnx.load(path))
            graph = model.graph
            kinds = {v.name: v.type.tensor_type.elem_type
                     for v in [*graph.value_info, *graph.input, *graph.output]}  # fmt: skip
            outs = {o.name for o in graph.output}
            tensors = {name: Tensor(name, kind, name in outs) for name, kind in kinds.items()}
            for node in graph.node:
                for name in node.output:
                    tensors.setdefault(name, Tensor(name, 1, name in outs))
            self.network.layers = [Layer(self.network, n, tensors) for n in graph.node]
            weights = {t.name for t in graph.initializer}
            self.network.inputs = [tensors[v.name] for v in graph.input if v.name not in weights]
            self.network.onnx_path = path
            return True

    class Config:
        def __init__(self) -> None:
            self.flags: set[Any] = set()
            self.progress_monitor = None
            self.profiles: list[Any] = []
            self.timing = b""
            self.profiling_verbosity = trt.ProfilingVerbosity.LAYER_NAMES_ONLY
            if not v11:
                self.int8_calibrator = None

        def set_memory_pool_limit(self, pool: Any, nbytes: int) -> None:
            pass

        def add_optimization_profile(self, profile: Any) -> int:
            self.profiles.append(profile)
            return 0

        def set_flag(self, flag: Any) -> None:
            if flag.name in _WEAK_TYPING:
                weak_typing(f"BuilderFlag.{flag.name}")
            self.flags.add(flag)

        def create_timing_cache(self, data: bytes) -> Any:
            return types.SimpleNamespace(data=bytes(data), serialize=lambda: b"timing-cache")

        def set_timing_cache(self, cache: Any, ignore_mismatch: bool) -> bool:
            if cache.data and not state.timing_cache_ok:
                return False  # a cache from another device / TensorRT
            self.timing = cache.data
            return True

        def get_timing_cache(self) -> Any:
            return self.create_timing_cache(b"timing-cache")

        if not v11:

            def set_calibration_profile(self, profile: Any) -> None:
                self.calibration_profile = profile

    def _calibrate(config: Config, network: Network) -> list[np.ndarray] | None:
        """Run the calibrator the way TensorRT does; the inputs it fed (the 'scales')."""
        calibrator = getattr(config, "int8_calibrator", None)
        if calibrator is None:
            return None
        cached = calibrator.read_calibration_cache()
        if cached is not None:
            return unpack_inputs(cached)
        ((name, (_, shape, _)),) = config.calibration_profile.shapes.items()
        fed = []
        while (ptrs := calibrator.get_batch([name])) is not None:
            n = int(np.prod(shape))
            raw = (ctypes.c_float * n).from_address(ptrs[0])
            fed.append(np.ctypeslib.as_array(raw).reshape(shape).copy())
        calibrator.write_calibration_cache(pack_inputs(fed))
        return fed

    class Builder:
        def __init__(self, logger: Any) -> None:
            _check_logger(logger)
            self.device = state.record("builder").device

        if not v11:
            platform_has_fast_fp16 = property(lambda self: state.fast_fp16)
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
            if qdq and not network.flags and "INT8" not in names:
                # explicit quantization: a weakly typed Q/DQ network needs BuilderFlag.INT8
                state.warnings.append(
                    "Int8 precision has been set for a layer or layer "
                    "output, but int8 is not configured in the builder"
                )
                return None  # the build fails, as TensorRT's does
            if not _monitor(config.progress_monitor):
                return None  # cancelled
            fed = None
            if "INT8" in names and not qdq:
                fed = _calibrate(config, network)
                if fed is None:
                    return None  # TensorRT: INT8 without scales fails the build
            runs, warnings = layer_precisions(
                network.layers, names, strongly_typed=bool(network.flags), qdq=qdq,
                prefer_drops=state.prefer_drops,
            )  # fmt: skip
            state.warnings.extend(warnings)
            build["precisions"] = runs
            model = emulated_model(network.onnx_path, runs, fed or [])
            layers = [{"name": la.name, "type": la.type.name, "run": runs[la.name],
                       "inputs": [t.as_dict() for t in la.inputs],
                       "outputs": [t.as_dict() for t in la.outputs]}
                      for la in network.layers if la.op != "Constant"]  # fmt: skip
            plan = {**build, "model": base64.b64encode(model).decode(), "layers": layers,
                    "detailed": config.profiling_verbosity.name == "DETAILED"}  # fmt: skip
            return json.dumps(plan).encode()

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

    class Inspector:
        def __init__(self, engine: Engine) -> None:
            self._engine = engine
            self.execution_context: Any = None
            if not v11:
                self.engine = engine  # TensorRT 11 keeps only execution_context

        def get_engine_information(self, fmt: Any) -> str:
            if fmt != trt.LayerInformationFormat.JSON:
                return "\n".join(layer["name"] for layer in self._engine.build["layers"])
            ctx = self.execution_context
            dynamic = -1 in self._engine.shapes[self._engine.names[0]]
            known = not dynamic or (ctx is not None and ctx.shape is not None)
            return engine_information(self._engine.build["layers"],
                                      detailed=self._engine.build["detailed"],
                                      shapes_known=known)  # fmt: skip

    class Engine:
        def __init__(self, build: dict[str, Any], device: int) -> None:
            import onnxruntime as ort

            self.device, self.build = device, build
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

        def create_engine_inspector(self) -> Inspector:
            return Inspector(self)

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
