"""TensorRT backend: runs a wds-edge engine built on this device (TensorRT 10 Python API).

Given an ``.onnx`` it builds (or reuses) a cached engine for this GPU / TensorRT /
precision with :func:`wds_edge.runtime.tensorrt.build.build_engine`; given an ``.engine`` /
``.plan`` it reads the sidecar JSON, and refuses to run a plan made for another GPU,
another TensorRT or another ONNX: it rebuilds it from the ONNX the sidecar names when
that file is still there, and raises :class:`ModelError` otherwise.

Inference uses named tensors (``num_io_tensors`` / ``get_tensor_name`` /
``get_tensor_mode``), ``set_input_shape`` + ``set_tensor_address`` and
``execute_async_v3`` on one CUDA stream, with pinned host buffers and device buffers
allocated once for the largest batch and reused for every frame
(:mod:`wds_edge.runtime.tensorrt.cuda`). Not executed in this repository's CI (no GPU);
``scripts/trt_check.py`` and ``tests/wds_edge/test_backend_tensorrt.py`` (``trt``
marker) run it where TensorRT and a GPU exist.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import numpy as np

from wds_edge.errors import BackendError, InvalidInputError, ModelError
from wds_edge.runtime.base import Backend

__all__ = ["TensorRTBackend", "ENGINE_SUFFIXES"]

logger = logging.getLogger(__name__)

ENGINE_SUFFIXES = (".engine", ".plan", ".trt")


class TensorRTBackend(Backend):
    """Run a wds-edge model with TensorRT.

    Args:
        model_path: ``.onnx`` (an engine is built or reused from the cache) or an
            ``.engine`` / ``.plan`` with its sidecar ``.json``.
        precision: for an ``.onnx``: ``"fp32"``, ``"fp16"`` or ``"int8"``.
        calib_dir: calibration folder (INT8 and the accuracy gate of FP16 / INT8).
        cache_dir: engine cache folder (default: ``$WDS_EDGE_ENGINE_CACHE`` or the
            user cache).
        workspace_gib: TensorRT workspace limit for a build.
        device: CUDA device index.
        allow_accuracy_loss: keep an engine that fails the accuracy gate.

    Raises:
        MissingDependencyError: tensorrt / cuda-python are not installed (with hints).
        BackendError: no GPU, build or runtime failure.
        ModelError: missing / foreign engine without its ONNX, unsupported metadata.
    """

    name = "tensorrt"

    def __init__(
        self,
        model_path: str | os.PathLike[str],
        *,
        precision: str = "fp16",
        calib_dir: str | os.PathLike[str] | None = None,
        cache_dir: str | os.PathLike[str] | None = None,
        workspace_gib: float = 2.0,
        device: int = 0,
        allow_accuracy_loss: bool = False,
    ) -> None:
        from wds_edge.io import sha256_file
        from wds_edge.runtime.tensorrt.build import build_engine, tensorrt_module
        from wds_edge.runtime.tensorrt.cache import EngineKey, engine_mismatches, read_sidecar
        from wds_edge.runtime.tensorrt.cuda import device_info

        self._closed = True  # until fully loaded: close() must not touch missing parts
        self._buffers: list[Any] = []
        path = Path(model_path)
        if not path.is_file():
            raise ModelError(f"{path} does not exist")
        trt = tensorrt_module()
        gpu_name, capability = device_info(device)
        build = {
            "calib_dir": calib_dir,
            "cache_dir": cache_dir,
            "workspace_gib": workspace_gib,
            "device": device,
            "allow_accuracy_loss": allow_accuracy_loss,
        }
        if path.suffix.lower() == ".onnx":
            engine_path = build_engine(path, precision, **build).path
        elif path.suffix.lower() in ENGINE_SUFFIXES:
            engine_path = path
            doc, _ = read_sidecar(path)
            key = EngineKey("", trt.__version__, gpu_name, capability, str(doc.get("precision")))
            reasons = engine_mismatches(doc, key, engine_sha256=sha256_file(path))
            onnx_src = Path(doc.get("onnx_path") or "")
            if not reasons and onnx_src.is_file() and sha256_file(onnx_src) != doc["onnx_sha256"]:
                reasons.append(f"its ONNX {onnx_src} changed since the engine was built")
            if reasons:
                if not onnx_src.is_file():
                    raise ModelError(
                        f"{path} cannot run here ({'; '.join(reasons)}) and the ONNX it was "
                        f"built from ({onnx_src}) is gone; rebuild it on this device: "
                        "wds-edge build-engine --onnx MODEL.onnx"
                    )
                logger.warning("engine %s is stale (%s); rebuilding", path, "; ".join(reasons))
                engine_path = build_engine(
                    onnx_src, str(doc["precision"]), out=path, rebuild=True, **build
                ).path
        else:
            raise InvalidInputError(
                f"{path}: expected an .onnx model or a TensorRT engine "
                f"({', '.join(ENGINE_SUFFIXES)})"
            )
        doc, self.metadata = read_sidecar(engine_path)
        self.metadata.check_supported(str(engine_path))
        self.engine_path = engine_path
        self.precision = str(doc["precision"])
        self.device = f"{gpu_name} (TensorRT {trt.__version__} {self.precision.upper()})"
        self._load(trt, engine_path)

    def _load(self, trt: Any, engine_path: Path) -> None:
        from wds_edge.runtime.tensorrt.build import _make_logger
        from wds_edge.runtime.tensorrt.cuda import DeviceBuffer, PinnedBuffer, Stream

        self._runtime = trt.Runtime(_make_logger(trt))
        self._engine = self._runtime.deserialize_cuda_engine(engine_path.read_bytes())
        if self._engine is None:
            raise BackendError(f"TensorRT could not deserialize {engine_path}; rebuild it")
        self._context = self._engine.create_execution_context()
        self._stream = Stream()
        names = [self._engine.get_tensor_name(i) for i in range(self._engine.num_io_tensors)]
        inputs = [n for n in names if self._engine.get_tensor_mode(n) == trt.TensorIOMode.INPUT]
        outputs = [n for n in names if n not in inputs]
        md = self.metadata
        if inputs != [md.input_name] or outputs != [md.output_name]:
            raise ModelError(
                f"{engine_path}: engine tensors {inputs} -> {outputs} do not match its sidecar "
                f"({md.input_name} -> {md.output_name}); rebuild the engine"
            )
        shape = tuple(self._engine.get_tensor_shape(md.input_name))
        if shape[0] == -1:  # dynamic batch: buffers for the profile's largest batch
            self._max_batch = int(self._engine.get_tensor_profile_shape(md.input_name, 0)[2][0])
        else:
            self._max_batch = int(shape[0])
        c, h, w = (int(v) for v in shape[1:])
        self._in_host = PinnedBuffer((self._max_batch, c, h, w), np.float32)
        self._out_host = PinnedBuffer((self._max_batch, 1, h, w), np.float32)
        self._in_dev = DeviceBuffer(self._in_host.array.nbytes)
        self._out_dev = DeviceBuffer(self._out_host.array.nbytes)
        self._buffers = [self._in_host, self._out_host, self._in_dev, self._out_dev]
        self._context.set_tensor_address(md.input_name, self._in_dev.ptr)
        self._context.set_tensor_address(md.output_name, self._out_dev.ptr)
        self._chw = (c, h, w)
        self._batch_set = -1
        self._closed = False

    def infer(self, batch_nchw: np.ndarray) -> np.ndarray:
        """float32 ``(N, C, H, W)`` (see :class:`Backend`) -> ``(N, 1, H, W)`` probability."""
        if self._closed:
            raise BackendError("TensorRTBackend.infer() called after close()")
        x = np.asarray(batch_nchw)
        if x.ndim != 4 or tuple(x.shape[1:]) != self._chw:
            raise InvalidInputError(
                f"expected a float32 (N, {', '.join(map(str, self._chw))}) batch, got {x.shape}"
            )
        fixed = not self.metadata.dynamic_batch
        if fixed and x.shape[0] != self._max_batch:
            raise InvalidInputError(
                f"this engine takes batch {self._max_batch}, got {x.shape[0]}; export with "
                "--batch dynamic for variable batches"
            )
        results = []
        for start in range(0, x.shape[0], self._max_batch):
            results.append(self._run(x[start : start + self._max_batch]))
        return np.concatenate(results) if len(results) > 1 else results[0]

    def _run(self, chunk: np.ndarray) -> np.ndarray:
        n = chunk.shape[0]
        if n != self._batch_set:
            if not self._context.set_input_shape(self.metadata.input_name, (n, *self._chw)):
                raise BackendError(f"TensorRT rejected input shape {(n, *self._chw)}")
            self._batch_set = n
        self._in_host.array[:n] = chunk  # also converts to float32
        self._in_dev.copy_from_host(self._in_host.array[:n], self._stream)
        if not self._context.execute_async_v3(self._stream.handle):
            raise BackendError("TensorRT execute_async_v3 failed (see the TensorRT log)")
        self._out_dev.copy_to_host(self._out_host.array[:n], self._stream)
        self._stream.synchronize()
        return self._out_host.array[:n].copy()

    def close(self) -> None:
        """Free buffers, stream, context and engine. Safe to call more than once."""
        if getattr(self, "_closed", True) and not self._buffers:
            return
        self._closed = True
        for buf in self._buffers:
            buf.close()
        self._buffers = []
        if getattr(self, "_stream", None) is not None:
            self._stream.close()
            self._stream = None
        self._context = None
        self._engine = None
        self._runtime = None
