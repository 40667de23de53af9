"""Build (or reuse) a TensorRT engine from a wds-edge ONNX model, on the device that runs it.

TensorRT 10 Python API (JetPack 6 ships 10.3): explicit-batch network
(``create_network(0)``), ONNX parser, workspace memory-pool limit, an optimization
profile for the input, a timing cache reused across builds, a progress monitor
(``IProgressMonitor``), ``build_serialized_network``, atomic write of the plan and a
sidecar JSON beside it (:mod:`wds_edge.engine.cache`).

Precision routes:

* ``fp32``; ``fp16`` (``BuilderFlag.FP16``, in-graph texture computation and the output
  Sigmoid pinned to FP32 via layer precision constraints);
* ``int8`` on TensorRT 10: implicit calibration with ``IInt8EntropyCalibrator2`` over a
  calibration folder (:mod:`calibration.trt_calibrator`), FP16 allowed for layers
  without INT8 kernels; an ONNX that already carries Q/DQ nodes is built as is;
* TensorRT >= 11 (no INT8 / FP16 builder flags): the explicit route only: INT8 makes a
  Q/DQ model (:func:`calibration.qdq.quantize_qdq`) and builds it as a strongly typed
  network.

After every reduced-precision build the accuracy gate (:mod:`wds_edge.engine.gate`)
compares the engine with the FP32 ONNX model in ONNX Runtime on the calibration (or
a validation) set; a failed gate deletes the engine and raises unless
``allow_accuracy_loss``. Nothing here was executed in this repository's CI (no GPU);
``scripts/trt_check.py`` and the ``trt``-marked tests exercise it where TensorRT exists.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wds_edge._deps import require
from wds_edge.engine.cache import (
    PRECISIONS,
    EngineKey,
    default_cache_dir,
    engine_file_name,
    engine_mismatches,
    make_sidecar,
    read_sidecar,
    sidecar_path,
    slug,
    write_sidecar,
)
from wds_edge.engine.gate import GateResult, accuracy_gate, enforce_gate
from wds_edge.errors import BackendError, InvalidInputError, ModelError
from wds_edge.io import sha256_file, write_bytes_atomic
from wds_edge.model_meta import ModelMetadata

__all__ = ["EngineInfo", "ProgressFn", "build_engine", "tensorrt_module", "MAX_DYNAMIC_BATCH"]

logger = logging.getLogger(__name__)

#: Upper end of the optimization profile of a dynamic-batch model.
MAX_DYNAMIC_BATCH = 8
#: ``progress(phase, step, total)``; ``total`` 0 for a phase of unknown length.
ProgressFn = Callable[[str, int, int], None]


@dataclass
class EngineInfo:
    """An engine on disk, ready to run on this device."""

    path: Path
    sidecar_path: Path
    metadata: ModelMetadata
    key: EngineKey
    built: bool  # False: reused from the cache
    build_s: float = 0.0
    gate: GateResult | None = None


def tensorrt_module() -> Any:
    """Import TensorRT (>= 10) or raise MissingDependencyError / BackendError with a hint."""
    trt = require("tensorrt", "building and running TensorRT engines")
    if int(trt.__version__.split(".")[0]) < 10:
        raise BackendError(
            f"TensorRT {trt.__version__} is too old; wds-edge needs TensorRT 10 "
            "(JetPack 6, or pip install 'wds-edge[trt]' on x86_64)"
        )
    return trt


def _onnx_metadata(onnx_path: Path) -> ModelMetadata:
    from wds_edge.backends.onnxruntime import OnnxRuntimeBackend

    with OnnxRuntimeBackend(onnx_path, providers=["CPUExecutionProvider"]) as backend:
        return backend.metadata


def _make_logger(trt: Any) -> Any:
    class _Logger(trt.ILogger):  # forwards TensorRT messages to Python logging
        def __init__(self) -> None:
            trt.ILogger.__init__(self)

        def log(self, severity: Any, msg: str) -> None:
            level = {
                trt.ILogger.INTERNAL_ERROR: logging.ERROR,
                trt.ILogger.ERROR: logging.ERROR,
                trt.ILogger.WARNING: logging.WARNING,
                trt.ILogger.INFO: logging.DEBUG,
            }.get(severity, logging.DEBUG)
            logger.log(level, "TensorRT: %s", msg)

    return _Logger()


def _make_progress_monitor(trt: Any, progress: ProgressFn) -> Any:
    class _Monitor(trt.IProgressMonitor):
        def __init__(self) -> None:
            trt.IProgressMonitor.__init__(self)
            self._totals: dict[str, int] = {}

        def phase_start(self, phase_name: str, parent_phase: str | None, num_steps: int) -> None:
            self._totals[phase_name] = num_steps
            progress(phase_name, 0, num_steps)

        def step_complete(self, phase_name: str, step: int) -> bool:
            progress(phase_name, step + 1, self._totals.get(phase_name, 0))
            return True  # False would cancel the build

        def phase_finish(self, phase_name: str) -> None:
            total = self._totals.pop(phase_name, 0)
            progress(phase_name, total, total)

    return _Monitor()


def _parse_onnx(trt: Any, builder: Any, onnx_path: Path, strongly_typed: bool, log: Any) -> Any:
    flags = 1 << int(trt.NetworkDefinitionCreationFlag.STRONGLY_TYPED) if strongly_typed else 0
    network = builder.create_network(flags)  # explicit batch is the only mode in TRT 10
    parser = trt.OnnxParser(network, log)
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


def _pin_fp32_layers(trt: Any, network: Any, config: Any) -> int:
    """Keep the in-graph texture computation and the output head in FP32.

    The output head: the Sigmoid of a one-channel model, the Softmax and the channel
    slice of a two-class (``--dice two-class``) one.
    """
    pinned = 0
    for i in range(network.num_layers):
        layer = network.get_layer(i)
        is_output = any(layer.get_output(j).is_network_output for j in range(layer.num_outputs))
        is_head = layer.type == trt.LayerType.SOFTMAX or (
            is_output and layer.type in (trt.LayerType.ACTIVATION, trt.LayerType.SLICE)
        )
        if layer.name.startswith("/preprocess/") or is_head:
            layer.precision = trt.float32
            for j in range(layer.num_outputs):
                layer.set_output_type(j, trt.float32)
            pinned += 1
    if pinned and hasattr(trt.BuilderFlag, "PREFER_PRECISION_CONSTRAINTS"):
        config.set_flag(trt.BuilderFlag.PREFER_PRECISION_CONSTRAINTS)
    return pinned


def _has_qdq(network: Any, trt: Any) -> bool:
    return any(
        network.get_layer(i).type in (trt.LayerType.QUANTIZE, trt.LayerType.DEQUANTIZE)
        for i in range(network.num_layers)
    )


def _run_gate(
    engine_path: Path,
    onnx_path: Path,
    metadata: ModelMetadata,
    precision: str,
    crops_dir: Path,
    max_images: int,
    device: int,
) -> GateResult:
    # lazily: the calibration folder format lives in the (torch-free) calibration package
    from calibration.dataset import load_calibration_set
    from wds_edge.backends.onnxruntime import OnnxRuntimeBackend
    from wds_edge.backends.tensorrt import TensorRTBackend

    crops = load_calibration_set(crops_dir)
    with (
        OnnxRuntimeBackend(onnx_path, providers=["CPUExecutionProvider"]) as reference,
        TensorRTBackend(engine_path, device=device) as candidate,
    ):
        return accuracy_gate(
            reference.infer,
            candidate.infer,
            crops.batches(metadata.preprocessing, 1, limit=max_images),
            precision=precision,
            threshold=metadata.threshold,
        )


def build_engine(
    onnx_path: str | Path,
    precision: str = "fp16",
    *,
    calib_dir: str | Path | None = None,
    gate_dir: str | Path | None = None,
    workspace_gib: float = 2.0,
    out: str | Path | None = None,
    cache_dir: str | Path | None = None,
    timing_cache: str | Path | None = None,
    allow_accuracy_loss: bool = False,
    gate_images: int = 100,
    rebuild: bool = False,
    device: int = 0,
    progress: ProgressFn | None = None,
) -> EngineInfo:
    """Build a TensorRT engine for this GPU, or reuse a valid cached one.

    Args:
        onnx_path: FP32 wds-edge ONNX model (or a Q/DQ one for explicit INT8).
        precision: ``"fp32"``, ``"fp16"`` or ``"int8"``.
        calib_dir: calibration folder (``wds-edge calibrate``); needed for INT8 and,
            unless ``gate_dir`` is given, for the accuracy gate of FP16 / INT8.
        gate_dir: a separate folder of crops (same format) for the accuracy gate.
        workspace_gib: TensorRT workspace memory-pool limit in GiB.
        out: engine path; None: ``cache_dir`` / :func:`engine_file_name`.
        cache_dir: engine cache folder (None: :func:`default_cache_dir`).
        timing_cache: timing cache file, read before and written after the build
            (None: ``<cache_dir>/timing-<gpu>-trt<version>.cache``).
        allow_accuracy_loss: keep an engine that fails the accuracy gate (warning).
        gate_images: compare on at most this many crops.
        rebuild: ignore a valid cached engine.
        device: CUDA device index.
        progress: ``progress(phase, step, total)`` during the build.

    Returns:
        :class:`EngineInfo` (``built`` False when a valid cached engine was reused).

    Raises:
        MissingDependencyError: TensorRT / cuda-python missing (install hints).
        BackendError: no GPU, a precision this GPU cannot do, or the build failed.
        ModelError: ONNX parse errors (listed one by one); the accuracy gate failed.
        InvalidInputError: bad precision, INT8 without calibration data.
    """
    if precision not in PRECISIONS:
        raise InvalidInputError(f"precision must be one of {PRECISIONS}, got {precision!r}")
    onnx_path = Path(onnx_path)
    if not onnx_path.is_file():
        raise ModelError(f"{onnx_path} does not exist; export one with `wds-edge export`")
    trt = tensorrt_module()
    calib = Path(calib_dir) if calib_dir else None
    gate_crops = Path(gate_dir) if gate_dir else calib
    from wds_edge.engine.cuda_memory import device_info

    gpu_name, capability = device_info(device)
    metadata = _onnx_metadata(onnx_path)
    onnx_sha = sha256_file(onnx_path)
    key = EngineKey(onnx_sha, trt.__version__, gpu_name, capability, precision)
    cache = Path(cache_dir) if cache_dir else default_cache_dir()
    engine_path = Path(out) if out else cache / engine_file_name(metadata.model_name, key)
    if engine_path.is_file() and not rebuild:
        try:
            doc, _ = read_sidecar(engine_path)
            reasons = engine_mismatches(doc, key, engine_sha256=sha256_file(engine_path))
        except ModelError as exc:
            reasons = [str(exc)]
        if not reasons:
            logger.info("reusing engine %s", engine_path)
            return EngineInfo(engine_path, sidecar_path(engine_path), metadata, key, built=False)
        logger.warning("rebuilding %s: %s", engine_path, "; ".join(reasons))
    if precision != "fp32" and gate_crops is None and not allow_accuracy_loss:
        raise InvalidInputError(
            f"a {precision.upper()} build is checked against FP32 on face crops: pass --calib "
            "CALIB_DIR (made with `wds-edge calibrate`), or skip the check with "
            "--allow-accuracy-loss"
        )

    trt_major = int(trt.__version__.split(".")[0])
    build_onnx = onnx_path
    calibration: dict[str, Any] | None = None
    log = _make_logger(trt)
    builder = trt.Builder(log)
    if precision == "fp16" and not builder.platform_has_fast_fp16:
        raise BackendError(f"{gpu_name} (sm {capability}) has no fast FP16; use --precision fp32")
    if precision == "int8" and not builder.platform_has_fast_int8:
        raise BackendError(f"{gpu_name} (sm {capability}) has no fast INT8; use --precision fp16")
    if trt_major >= 11 and precision == "fp16":
        raise BackendError(
            f"TensorRT {trt.__version__} has no FP16 builder flag (strongly typed networks "
            "only); install TensorRT 10 (`tensorrt>=10,<11`) or build fp32 / int8 (Q/DQ)"
        )
    import tempfile

    with tempfile.TemporaryDirectory(prefix="wds-engine-") as tmp:
        if precision == "int8" and trt_major >= 11:
            if calib is None:
                raise InvalidInputError("INT8 needs --calib CALIB_DIR (wds-edge calibrate)")
            from calibration.qdq import quantize_qdq

            build_onnx = quantize_qdq(onnx_path, calib, Path(tmp) / "model.qdq.onnx")
            calibration = {"route": "explicit-qdq", "path": str(calib)}
        strongly_typed = trt_major >= 11
        network = _parse_onnx(trt, builder, build_onnx, strongly_typed, log)
        config = builder.create_builder_config()
        config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, int(workspace_gib * (1 << 30)))
        if progress is not None:
            config.progress_monitor = _make_progress_monitor(trt, progress)
        profile = builder.create_optimization_profile()
        _, c, h, w = metadata.input_shape
        if metadata.dynamic_batch:
            profile.set_shape(
                metadata.input_name, (1, c, h, w), (1, c, h, w), (MAX_DYNAMIC_BATCH, c, h, w)
            )
        else:
            n = metadata.input_shape[0]
            profile.set_shape(metadata.input_name, (n, c, h, w), (n, c, h, w), (n, c, h, w))
        config.add_optimization_profile(profile)
        calibrator = None
        if not strongly_typed:
            if precision in ("fp16", "int8"):
                config.set_flag(trt.BuilderFlag.FP16)
                _pin_fp32_layers(trt, network, config)
            if precision == "int8":
                config.set_flag(trt.BuilderFlag.INT8)
                if _has_qdq(network, trt):
                    calibration = {"route": "explicit-qdq (scales in the ONNX)"}
                elif calib is None:
                    raise InvalidInputError(
                        "INT8 needs calibration data: pass --calib CALIB_DIR "
                        "(`wds-edge calibrate`), or an ONNX with Q/DQ nodes"
                    )
                else:
                    from calibration.trt_calibrator import make_entropy_calibrator

                    calib_profile = builder.create_optimization_profile()
                    calib_profile.set_shape(
                        metadata.input_name, (1, c, h, w), (1, c, h, w), (1, c, h, w)
                    )
                    config.set_calibration_profile(calib_profile)
                    calibrator = make_entropy_calibrator(
                        calib,
                        metadata,
                        model_sha256=onnx_sha,
                        cache_path=engine_path.with_suffix(".calib"),
                    )
                    config.int8_calibrator = calibrator
                    calibration = {"route": "implicit-entropy-calibrator2", "path": str(calib)}
        sm = capability.replace(".", "")
        timing_path = (
            Path(timing_cache)
            if timing_cache
            else cache / f"timing-trt{key.tensorrt_version}-{slug(gpu_name)}-sm{sm}.cache"
        )
        timing = config.create_timing_cache(
            timing_path.read_bytes() if timing_path.is_file() else b""
        )
        config.set_timing_cache(timing, ignore_mismatch=False)
        started = time.perf_counter()
        plan = builder.build_serialized_network(network, config)
        build_s = time.perf_counter() - started
        if calibrator is not None:
            calibrator.close()
        if plan is None:
            raise BackendError(
                f"TensorRT could not build a {precision} engine from {onnx_path} (see the "
                "TensorRT log above, -v for more); try a larger --workspace or another precision"
            )
        write_bytes_atomic(timing_path, bytes(config.get_timing_cache().serialize()))
    if calibration is not None and calib is not None:
        from calibration.dataset import load_calibration_set

        calibration["data_sha256"] = load_calibration_set(calib).data_sha256
    write_bytes_atomic(engine_path, bytes(plan))
    doc = make_sidecar(
        metadata,
        key,
        engine_sha256=sha256_file(engine_path),
        onnx_path=onnx_path,
        calibration=calibration,
        extra={"build_s": round(build_s, 1)},
    )
    write_sidecar(engine_path, doc)
    info = EngineInfo(engine_path, sidecar_path(engine_path), metadata, key, True, build_s)
    if precision != "fp32" and gate_crops is not None:
        try:
            info.gate = _run_gate(
                engine_path, onnx_path, metadata, precision, gate_crops, gate_images, device
            )
            doc["accuracy_gate"] = info.gate.to_dict()
            write_sidecar(engine_path, doc)
            enforce_gate(info.gate, allow_accuracy_loss=allow_accuracy_loss)
        except BaseException:
            # never leave an engine that did not pass (or could not run) the gate in the cache
            if not allow_accuracy_loss or info.gate is None:
                engine_path.unlink(missing_ok=True)
                sidecar_path(engine_path).unlink(missing_ok=True)
            raise
    logger.info("built %s in %.1f s", engine_path, build_s)
    return info
