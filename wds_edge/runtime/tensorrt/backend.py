"""TensorRT backend: runs one wds-edge engine built on this device (TensorRT 10 / 11 API).

It only loads and runs a plan: :func:`wds_edge.runtime.tensorrt.provision.provision_engine`
builds, reuses or rebuilds engines and hands back one of these. Given an ``.engine`` /
``.plan`` it reads the sidecar JSON and refuses (:class:`ModelError`) a plan made for
another GPU or another TensorRT.

Inference uses named tensors (``num_io_tensors`` / ``get_tensor_name`` /
``get_tensor_mode``; dtypes and shapes read from the engine), ``set_input_shape`` +
``set_tensor_address`` and ``execute_async_v3`` on one CUDA stream, with pinned host
buffers and device buffers allocated once for the largest batch and reused for every
frame (:mod:`wds_edge.runtime.tensorrt.cuda`). One execution context must not be used
by two threads at once, and CUDA's current device is per thread: :meth:`infer` holds a
lock and makes the engine's device current on the calling thread.
"""

from __future__ import annotations

import logging
import os
import threading
import weakref
from pathlib import Path
from typing import Any

import numpy as np

from wds_edge.errors import BackendError, InvalidInputError, ModelError
from wds_edge.runtime.base import Backend, validate_batch

__all__ = ["TensorRTBackend", "ENGINE_SUFFIXES"]

logger = logging.getLogger(__name__)

ENGINE_SUFFIXES = (".engine", ".plan", ".trt")


class _DeviceResources:
    """The CUDA memory and stream of one backend, freed by :meth:`release` - from ``close()``
    or, for a backend never closed, from its finalizer (it must not refer to the backend)."""

    def __init__(self, device: int) -> None:
        self.device = device
        self.buffers: list[Any] = []
        self.stream: Any = None

    def release(self) -> None:
        buffers, self.buffers = self.buffers, []
        stream, self.stream = self.stream, None
        if not buffers and stream is None:
            return
        from wds_edge.runtime.tensorrt.cuda import set_device

        set_device(self.device)  # frees happen on the device that allocated them
        for buf in reversed(buffers):
            buf.close()
        if stream is not None:
            stream.close()


class TensorRTBackend(Backend):
    """Run a wds-edge TensorRT engine.

    Args:
        engine_path: an ``.engine`` / ``.plan`` with its sidecar ``.json`` (built by
            ``wds-edge build-engine`` or ``provision_engine`` on this device).
        device: CUDA device index; set as current before anything is allocated.

    Raises:
        MissingDependencyError: tensorrt / cuda-python are not installed (with hints).
        BackendUnavailableError: no GPU, or no such device.
        BackendError: deserialization, context creation or CUDA failures.
        ModelError: missing / foreign / stale engine, unsupported metadata.
        InvalidInputError: not an engine file (an ``.onnx`` goes to ``provision_engine``).
    """

    name = "tensorrt"

    def __init__(self, engine_path: str | os.PathLike[str], *, device: int = 0) -> None:
        from wds_edge.io import sha256_file
        from wds_edge.runtime.tensorrt.cache import EngineKey, engine_mismatches, read_sidecar
        from wds_edge.runtime.tensorrt.cuda import device_info
        from wds_edge.runtime.tensorrt.module import tensorrt_module

        self._closed = True  # until fully loaded: close() must not touch missing parts
        self._res = _DeviceResources(device)
        # an unclosed backend (no close(), no ``with``) still frees its device and pinned
        # memory when collected; not at interpreter exit, when CUDA may be gone already
        self._finalizer = weakref.finalize(self, self._res.release)
        self._finalizer.atexit = False
        self._stream: Any = None
        self._lock = threading.Lock()
        path = Path(engine_path)
        if not path.is_file():
            raise ModelError(f"{path} does not exist")
        if path.suffix.lower() not in ENGINE_SUFFIXES:
            raise InvalidInputError(
                f"{path}: expected a TensorRT engine ({', '.join(ENGINE_SUFFIXES)}); for an "
                ".onnx use load_backend(path, 'tensorrt') or provision_engine(path, ...)"
            )
        trt = tensorrt_module()
        gpu = device_info(device)
        sidecar = read_sidecar(path)
        here = EngineKey(
            "", trt.__version__, gpu.name, gpu.compute_capability, gpu.sm_count,
            gpu.memory_gib, sidecar.precision,
        )  # fmt: skip
        reasons = engine_mismatches(sidecar, here, engine_sha256=sha256_file(path))
        if reasons:
            raise ModelError(
                f"{path} cannot run on device {device} ({'; '.join(reasons)}); rebuild it on "
                "this device: wds-edge build-engine --onnx MODEL.onnx --rebuild"
            )
        self.metadata = sidecar.metadata
        self.metadata.check_supported(str(path))
        self.engine_path = path
        self.sidecar = sidecar
        self.precision = sidecar.precision
        self.device_index = device
        self.device = f"{gpu.name} (TensorRT {trt.__version__} {self.precision.upper()})"
        try:
            self._load(trt, path)
        except BaseException:
            self._release()  # a failed load frees what it had allocated
            raise

    def _load(self, trt: Any, engine_path: Path) -> None:
        from wds_edge.runtime.tensorrt.cuda import DeviceBuffer, PinnedBuffer, Stream, set_device
        from wds_edge.runtime.tensorrt.logger import trt_logger

        set_device(self.device_index)
        self._runtime = trt.Runtime(trt_logger(trt))
        self._engine = self._runtime.deserialize_cuda_engine(engine_path.read_bytes())
        if self._engine is None:
            raise BackendError(f"TensorRT could not deserialize {engine_path}; rebuild it")
        self._context = self._engine.create_execution_context()
        if self._context is None:
            raise BackendError(
                f"TensorRT could not create an execution context for {engine_path} (usually "
                "out of GPU memory: close other GPU programs or use a smaller model)"
            )
        self._stream = self._res.stream = Stream()
        engine, md = self._engine, self.metadata
        names = [engine.get_tensor_name(i) for i in range(engine.num_io_tensors)]
        inputs = [n for n in names if engine.get_tensor_mode(n) == trt.TensorIOMode.INPUT]
        outputs = [n for n in names if n not in inputs]
        if inputs != [md.input_name] or outputs != [md.output_name]:
            raise ModelError(
                f"{engine_path}: engine tensors {inputs} -> {outputs} do not match its sidecar "
                f"({md.input_name} -> {md.output_name}); rebuild the engine"
            )
        in_shape = tuple(int(v) for v in engine.get_tensor_shape(md.input_name))
        out_shape = tuple(int(v) for v in engine.get_tensor_shape(md.output_name))
        if in_shape[0] == -1:  # dynamic batch: buffers for the profile's largest batch
            self._max_batch = int(engine.get_tensor_profile_shape(md.input_name, 0)[2][0])
        else:
            self._max_batch = in_shape[0]
        self._chw = in_shape[1:]
        self._out_chw = out_shape[1:]
        if len(out_shape) != 4 or self._out_chw != (1, *self._chw[1:]):
            raise ModelError(
                f"{engine_path}: output {md.output_name} has shape {out_shape}, expected "
                f"(N, 1, {self._chw[1]}, {self._chw[2]}); rebuild the engine from a wds-edge ONNX"
            )
        self._in_dtype = np.dtype(trt.nptype(engine.get_tensor_dtype(md.input_name)))
        self._out_dtype = np.dtype(trt.nptype(engine.get_tensor_dtype(md.output_name)))
        self._in_host = PinnedBuffer((self._max_batch, *self._chw), self._in_dtype)
        self._res.buffers.append(self._in_host)
        self._out_host = PinnedBuffer((self._max_batch, *self._out_chw), self._out_dtype)
        self._res.buffers.append(self._out_host)
        self._in_dev = DeviceBuffer(self._in_host.array.nbytes)
        self._res.buffers.append(self._in_dev)
        self._out_dev = DeviceBuffer(self._out_host.array.nbytes)
        self._res.buffers.append(self._out_dev)
        self._context.set_tensor_address(md.input_name, self._in_dev.ptr)
        self._context.set_tensor_address(md.output_name, self._out_dev.ptr)
        self._batch_set = -1
        self._closed = False

    def infer(self, batch_nchw: np.ndarray) -> np.ndarray:
        """float32 ``(N, C, H, W)`` (see :class:`Backend`) -> float32 ``(N, 1, H, W)``
        probability in [0, 1]. Safe to call from several threads (one runs at a time).

        Batches larger than the engine's largest batch run in chunks of it; an engine built
        with a fixed batch of 1 thus runs once per image, as the ONNX Runtime and OpenVINO
        backends do.

        Raises:
            InvalidInputError: wrong dtype or shape, or N other than the batch of an engine
                built with a fixed batch larger than 1.
            BackendError: the backend is closed or TensorRT failed.
        """
        x = validate_batch(self.metadata, batch_nchw)  # float32, (N >= 1, C, H, W)
        with self._lock:
            if self._closed:
                raise BackendError("TensorRTBackend.infer() called after close()")
            fixed = not self.metadata.dynamic_batch and self._max_batch != 1
            if fixed and x.shape[0] != self._max_batch:  # a last, smaller chunk cannot run
                raise InvalidInputError(
                    f"this engine was built with a fixed batch of {self._max_batch}; pass "
                    f"exactly {self._max_batch} images (got {x.shape[0]}), or export with "
                    "--batch dynamic (or 1) for variable batches"
                )
            from wds_edge.runtime.tensorrt.cuda import set_device

            set_device(self.device_index)  # this thread may be new (current device 0)
            results = [
                self._run(x[start : start + self._max_batch])
                for start in range(0, x.shape[0], self._max_batch)
            ]
        return np.concatenate(results) if len(results) > 1 else results[0]

    def _set_batch(self, n: int) -> None:
        if n != self._batch_set:
            if not self._context.set_input_shape(self.metadata.input_name, (n, *self._chw)):
                raise BackendError(f"TensorRT rejected input shape {(n, *self._chw)}")
            self._batch_set = n

    def _run(self, chunk: np.ndarray, events: list[Any] | None = None) -> np.ndarray:
        n = chunk.shape[0]
        self._set_batch(n)
        record = (lambda i: events[i].record(self._stream)) if events else (lambda i: None)
        self._in_host.array[:n] = chunk  # converts to the engine's input dtype
        record(0)
        self._in_dev.copy_from_host(self._in_host.array[:n], self._stream)
        record(1)
        if not self._context.execute_async_v3(self._stream.handle):
            raise BackendError("TensorRT execute_async_v3 failed (see the TensorRT log)")
        record(2)
        self._out_dev.copy_to_host(self._out_host.array[:n], self._stream)
        record(3)
        self._stream.synchronize()
        return self._out_host.array[:n].astype(np.float32)  # a copy, also for FP16 outputs

    def engine_layers(self) -> list[Any]:
        """The engine inspector's ``Layers`` (JSON), read with this context at batch 1.

        Per-layer details (types, ``Format/Datatype`` of every input / output) need an engine
        built with ``ProfilingVerbosity.DETAILED`` and input shapes set on the context
        (otherwise TensorRT reports "N/A due to dynamic shapes").
        """
        import json

        from wds_edge.runtime.tensorrt.cuda import set_device
        from wds_edge.runtime.tensorrt.module import tensorrt_module

        trt = tensorrt_module()
        with self._lock:
            if self._closed:
                raise BackendError("TensorRTBackend.engine_layers() called after close()")
            set_device(self.device_index)
            self._set_batch(1)
            inspector = self._engine.create_engine_inspector()
            inspector.execution_context = self._context
            text = inspector.get_engine_information(trt.LayerInformationFormat.JSON)
        return list(json.loads(text).get("Layers", []))

    def profile_transfers(self, batch_nchw: np.ndarray, runs: int = 50) -> dict[str, float]:
        """Median host-to-device copy, compute and device-to-host copy times (CUDA events).

        Args:
            batch_nchw: one input batch (at most the engine's largest batch).
            runs: timed calls.

        Returns:
            ``{"h2d_ms", "compute_ms", "d2h_ms", "device_total_ms"}`` medians.

        Raises:
            InvalidInputError: as for :meth:`infer`.
            BackendError: the backend is closed.
        """
        from wds_edge.runtime.tensorrt.cuda import Event, set_device

        x = validate_batch(self.metadata, batch_nchw)
        rows = []
        with self._lock:
            if self._closed:
                raise BackendError("TensorRTBackend.profile_transfers() called after close()")
            x = x[: self._max_batch]
            set_device(self.device_index)
            events = [Event() for _ in range(4)]
            try:
                for _ in range(max(1, runs)):
                    self._run(x, events)
                    rows.append([events[i + 1].elapsed_ms(events[i]) for i in range(3)])
            finally:
                for event in events:
                    event.close()
        h2d, compute, d2h = (float(np.median(col)) for col in zip(*rows, strict=True))
        return {"h2d_ms": h2d, "compute_ms": compute, "d2h_ms": d2h,
                "device_total_ms": h2d + compute + d2h}  # fmt: skip

    def _release(self) -> None:
        self._closed = True
        self._finalizer()  # frees buffers and stream once (a later call does nothing)
        self._stream = None
        self._context = None
        self._engine = None
        self._runtime = None

    def close(self) -> None:
        """Free buffers, stream, context and engine. Safe to call more than once."""
        with self._lock:
            if self._closed and not self._finalizer.alive:
                return
            self._release()
