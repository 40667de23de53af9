"""Build a TensorRT plan from a wds-edge ONNX model, on the device that runs it.

TensorRT 10 / 11 Python API: explicit-batch network, ONNX parser, workspace
memory-pool limit, an optimization profile for the input, a timing cache, a progress
monitor (``IProgressMonitor``) that can cancel the build, ``build_serialized_network``.
This module only makes plan bytes; :mod:`wds_edge.runtime.tensorrt.provision` names,
caches, writes and gates them, and :mod:`wds_edge.runtime.tensorrt.backend` runs them.

Precision routes:

* ``fp32``; ``fp16`` on TensorRT 10 (``BuilderFlag.FP16``, the in-graph texture
  computation and the output head pinned to FP32 with ``OBEY_PRECISION_CONSTRAINTS``,
  :mod:`~wds_edge.runtime.tensorrt.precision`);
* ``int8`` on TensorRT 10: an ONNX that already carries Q/DQ nodes is built as is;
  otherwise implicit calibration with the ``IInt8EntropyCalibrator2`` the
  :class:`~wds_edge.runtime.tensorrt.int8.Int8Calibration` makes (the texture, head, first
  conv and last decoder block pinned to FP32);
* TensorRT >= 11 (no ``platform_has_fast_*``, no FP16 / INT8 builder flags, no implicit
  calibrators, no layer precisions): strongly typed networks only. INT8 builds a Q/DQ ONNX
  as is, and quantizes an FP32 one first with :meth:`Int8Calibration.quantize_qdq`; FP16
  is refused. The plan for FP16 there (and on 10.12+, where weak typing is deprecated):
  an FP16 ONNX made by ModelOpt AutoCast (``convert_to_mixed_precision`` with the texture
  and head nodes in ``nodes_to_exclude``, ``keep_io_types=True``), built strongly typed;
  not written yet (issue 22, item 11).

Every plan is built with ``ProfilingVerbosity.DETAILED`` so that the engine inspector can
show which precision each layer really runs in (:func:`precision.check_fp32_layers`).

Nothing here was executed against a real TensorRT in this repository (no GPU);
``tests/wds_edge/runtime`` drives it with a stand-in module that checks the control
flow, and ``scripts/trt_check.py`` runs it where TensorRT exists.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wds_edge.errors import BackendError, BackendUnavailableError, InvalidInputError, ModelError
from wds_edge.model.metadata import ModelMetadata
from wds_edge.runtime.tensorrt.cache import CalibrationRecord
from wds_edge.runtime.tensorrt.cuda import DeviceInfo
from wds_edge.runtime.tensorrt.int8 import Int8Calibration
from wds_edge.runtime.tensorrt.logger import trt_logger
from wds_edge.runtime.tensorrt.module import tensorrt_major, tensorrt_module
from wds_edge.runtime.tensorrt.precision import fp32_layer_names, pin_fp32

__all__ = [
    "MAX_DYNAMIC_BATCH",
    "BuiltPlan",
    "ProgressFn",
    "build_plan",
    "check_precision",
    "tensorrt_major",
    "tensorrt_module",  # re-exported from .module
]

logger = logging.getLogger(__name__)

#: Upper end of the optimization profile of a dynamic-batch model.
MAX_DYNAMIC_BATCH = 8
#: ``progress(phase, step, total)``; ``total`` 0 for a phase of unknown length.
ProgressFn = Callable[[str, int, int], None]


@dataclass
class BuiltPlan:
    """A serialized engine and what went into it."""

    plan: bytes
    timing_cache: bytes
    calibration: CalibrationRecord | None
    build_s: float
    #: network layers pinned to FP32 (weakly typed FP16 / INT8 builds; else empty)
    fp32_layers: list[str] = field(default_factory=list)


def check_precision(trt: Any, builder: Any, precision: str, gpu: DeviceInfo) -> None:
    """Refuse a precision this GPU / TensorRT cannot build (BackendUnavailableError).

    ``platform_has_fast_fp16/int8`` exist up to TensorRT 10 only, so they are asked there
    and nowhere else.
    """
    where = f"{gpu.name} (sm {gpu.compute_capability})"
    if tensorrt_major(trt) >= 11:
        if precision == "fp16":
            raise BackendUnavailableError(
                f"TensorRT {trt.__version__} has no FP16 builder flag (strongly typed networks "
                "only); install TensorRT 10 (`tensorrt>=10,<11`) or build fp32 / int8 (Q/DQ)"
            )
        return
    if precision == "fp16" and not builder.platform_has_fast_fp16:
        raise BackendUnavailableError(f"{where} has no fast FP16; use --precision fp32")
    if precision == "int8" and not builder.platform_has_fast_int8:
        raise BackendUnavailableError(f"{where} has no fast INT8; use --precision fp16")


def _parse_onnx(trt: Any, builder: Any, onnx_path: Path, strongly_typed: bool) -> Any:
    flags = 1 << int(trt.NetworkDefinitionCreationFlag.STRONGLY_TYPED) if strongly_typed else 0
    network = builder.create_network(flags)  # explicit batch is the only mode since TRT 10
    parser = trt.OnnxParser(network, trt_logger(trt))
    if not parser.parse_from_file(str(onnx_path)):
        errors = []
        for i in range(parser.num_errors):
            err = parser.get_error(i)
            errors.append(
                f"  {i + 1}. node {err.node()} ({err.node_name()}, {err.node_operator()}): "
                f"{err.desc()}"
            )
        raise ModelError(
            f"TensorRT's ONNX parser rejected {onnx_path} ({parser.num_errors} error(s)):\n"
            + "\n".join(errors)
            + "\nre-export with `wds-edge export` (opset 17, simplified) or report the operator"
        )
    return network


def _has_qdq(trt: Any, network: Any) -> bool:
    qdq = (trt.LayerType.QUANTIZE, trt.LayerType.DEQUANTIZE)
    return any(network.get_layer(i).type in qdq for i in range(network.num_layers))


def _input_profile(builder: Any, metadata: ModelMetadata, batch: int | None = None) -> Any:
    profile = builder.create_optimization_profile()
    _, c, h, w = metadata.input_shape
    if batch is not None:
        low = opt = high = batch
    elif metadata.dynamic_batch:
        low, opt, high = 1, 1, MAX_DYNAMIC_BATCH
    else:
        low = opt = high = int(metadata.input_shape[0])
    profile.set_shape(metadata.input_name, (low, c, h, w), (opt, c, h, w), (high, c, h, w))
    return profile


class _Monitor:
    """State shared by the progress monitor, the SIGINT handler and the build call."""

    def __init__(self, progress: ProgressFn | None) -> None:
        self.progress = progress
        self.cancel = threading.Event()
        self.error: BaseException | None = None
        self.totals: dict[str, int] = {}

    def report(self, phase: str, step: int, total: int) -> bool:
        """Run the callback; never let an exception reach TensorRT's C++ caller."""
        if self.cancel.is_set():
            return False
        try:
            if self.progress is not None:
                self.progress(phase, step, total)
        except BaseException as exc:  # KeyboardInterrupt too: cancel, re-raise after the build
            self.error = exc
            self.cancel.set()
            return False
        return True


def _trt_monitor(trt: Any, state: _Monitor) -> Any:
    class _ProgressMonitor(trt.IProgressMonitor):  # type: ignore[misc, name-defined]
        def __init__(self) -> None:
            trt.IProgressMonitor.__init__(self)

        def phase_start(self, phase_name: str, parent_phase: str | None, num_steps: int) -> None:
            state.totals[phase_name] = num_steps
            state.report(phase_name, 0, num_steps)

        def step_complete(self, phase_name: str, step: int) -> bool:
            return state.report(phase_name, step + 1, state.totals.get(phase_name, 0))

        def phase_finish(self, phase_name: str) -> None:
            total = state.totals.pop(phase_name, 0)
            state.report(phase_name, total, total)

    return _ProgressMonitor()


@contextlib.contextmanager
def _sigint_cancels(state: _Monitor) -> Iterator[None]:
    """While building, Ctrl-C asks the monitor to cancel instead of raising inside C++."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def on_sigint(signum: int, frame: Any) -> None:
        state.error = state.error or KeyboardInterrupt()
        state.cancel.set()

    previous = signal.signal(signal.SIGINT, on_sigint)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _int8_network(
    trt: Any,
    builder: Any,
    config: Any,
    network: Any,
    onnx_path: Path,
    metadata: ModelMetadata,
    calibration: Int8Calibration | None,
    *,
    model_sha256: str,
    calib_cache_path: Path,
    tmp: Path,
) -> tuple[Any, Any, CalibrationRecord]:
    """(network, calibrator or None, record) for an INT8 build (see the module docstring)."""
    strongly_typed = tensorrt_major(trt) >= 11
    if _has_qdq(trt, network):  # scales are in the graph: never quantize twice
        if not strongly_typed:
            config.set_flag(trt.BuilderFlag.INT8)
        return network, None, CalibrationRecord(route="qdq-in-onnx")
    if calibration is None:
        raise InvalidInputError(
            "INT8 needs calibration data: pass --calib CALIB_DIR (`wds-edge calibrate`), "
            "or an ONNX with Q/DQ nodes (`wds-edge quantize`)"
        )
    crops = calibration.crops
    if strongly_typed:
        qdq_path = calibration.quantize_qdq(onnx_path, tmp / "model.qdq.onnx")
        network = _parse_onnx(trt, builder, Path(qdq_path), strongly_typed=True)
        record = CalibrationRecord(
            route="explicit-qdq", path=str(crops.path), data_sha256=crops.data_sha256
        )
        return network, None, record
    config.set_flag(trt.BuilderFlag.INT8)
    config.set_calibration_profile(_input_profile(builder, metadata, batch=1))
    calibrator = calibration.entropy_calibrator(
        metadata, model_sha256=model_sha256, cache_path=calib_cache_path
    )
    config.int8_calibrator = calibrator
    record = CalibrationRecord(
        route="implicit-entropy-calibrator2", path=str(crops.path), data_sha256=crops.data_sha256
    )
    return network, calibrator, record


def build_plan(
    trt: Any,
    onnx_path: Path,
    precision: str,
    metadata: ModelMetadata,
    gpu: DeviceInfo,
    *,
    model_sha256: str,
    calibration: Int8Calibration | None = None,
    workspace_gib: float = 2.0,
    timing_cache: bytes = b"",
    calib_cache_path: Path,
    progress: ProgressFn | None = None,
) -> BuiltPlan:
    """Build a serialized engine on the current CUDA device (set it first).

    Args:
        trt: the ``tensorrt`` module (:func:`tensorrt_module`).
        onnx_path: the wds-edge ONNX model (FP32, or Q/DQ for explicit INT8).
        precision: ``"fp32"``, ``"fp16"`` or ``"int8"``.
        metadata: the model's contract (input name and shape).
        gpu: the device being built for (messages only; it must be current).
        model_sha256: sha256 of ``onnx_path`` (the INT8 calibration cache's key).
        calibration: INT8 calibration input (unused for fp32 / fp16).
        workspace_gib: TensorRT workspace memory-pool limit in GiB.
        timing_cache: a previous timing cache (empty: start a new one).
        calib_cache_path: where the TensorRT 10 calibrator keeps its scale cache.
        progress: ``progress(phase, step, total)`` during the build.

    Returns:
        :class:`BuiltPlan` with the plan and the updated timing cache bytes.

    Raises:
        BackendUnavailableError: a precision this GPU / TensorRT cannot build.
        ModelError: the ONNX parser rejected the model (errors listed one by one).
        InvalidInputError: INT8 without calibration data or Q/DQ nodes.
        BackendError: the build failed.
        KeyboardInterrupt: Ctrl-C (or the progress callback) cancelled the build.
    """
    builder = trt.Builder(trt_logger(trt))
    check_precision(trt, builder, precision, gpu)
    strongly_typed = tensorrt_major(trt) >= 11
    state = _Monitor(progress)
    calibrator = None
    record = None
    try:
        with tempfile.TemporaryDirectory(prefix="wds-engine-") as tmp:
            network = _parse_onnx(trt, builder, onnx_path, strongly_typed)
            config = builder.create_builder_config()
            config.set_memory_pool_limit(
                trt.MemoryPoolType.WORKSPACE, int(workspace_gib * (1 << 30))
            )
            config.progress_monitor = _trt_monitor(trt, state)
            config.profiling_verbosity = trt.ProfilingVerbosity.DETAILED
            config.add_optimization_profile(_input_profile(builder, metadata))
            if precision in ("fp16", "int8") and not strongly_typed:
                config.set_flag(trt.BuilderFlag.FP16)  # INT8: FP16 for layers without INT8
            if precision == "int8":
                network, calibrator, record = _int8_network(
                    trt, builder, config, network, onnx_path, metadata, calibration,
                    model_sha256=model_sha256, calib_cache_path=calib_cache_path, tmp=Path(tmp),
                )  # fmt: skip
            pinned: list[str] = []
            if precision in ("fp16", "int8") and not strongly_typed:
                names = fp32_layer_names(
                    trt, network, int8=precision == "int8", preprocessing=metadata.preprocessing
                )
                pinned = pin_fp32(trt, network, config, names)
            if not config.set_timing_cache(
                config.create_timing_cache(timing_cache), ignore_mismatch=False
            ):
                # a cache from another TensorRT / device: start a fresh one, not the build
                logger.warning("TensorRT refused the timing cache; building with a new one")
                config.set_timing_cache(config.create_timing_cache(b""), ignore_mismatch=False)
            started = time.perf_counter()
            with _sigint_cancels(state):
                plan = builder.build_serialized_network(network, config)
            build_s = time.perf_counter() - started
            if state.error is not None:
                logger.warning("engine build of %s cancelled", onnx_path)
                raise state.error
            if plan is None:
                raise BackendError(
                    f"TensorRT could not build a {precision} engine from {onnx_path} on "
                    f"{gpu.name} (see the TensorRT log, -v for more); try a larger "
                    "--workspace or another precision"
                )
            timing = bytes(config.get_timing_cache().serialize())
            return BuiltPlan(bytes(plan), timing, record, build_s, pinned)
    finally:
        if calibrator is not None:
            calibrator.close()
