"""Provide a TensorRT engine for a model on this device: reuse, build, gate, load.

The one place that knows both the builder (:mod:`~wds_edge.runtime.tensorrt.build`) and
the backend (:mod:`~wds_edge.runtime.tensorrt.backend`): an engine is looked up in the
cache under its :class:`~wds_edge.runtime.tensorrt.cache.EngineKey` (model hash,
TensorRT version, GPU name, compute capability, SM count, memory, precision and, for
INT8, the calibration data's hash); a missing or stale one is built on the chosen
device, written atomically with its sidecar, and - for FP16 / INT8 - compared with the
FP32 ONNX model in ONNX Runtime on face crops (:mod:`wds_edge.runtime.gate`) before it is
kept.

"Cannot provide an engine here" (no GPU, a precision this GPU / TensorRT lacks, no
cached engine and no crops to check a new one with) is
:class:`~wds_edge.errors.BackendUnavailableError`, which ``load_backend(..., "auto")``
answers by falling back to the CPU backends.
"""

from __future__ import annotations

import hashlib
import logging
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wds_edge.errors import (
    AccuracyGateError,
    BackendUnavailableError,
    InvalidInputError,
    ModelError,
    OutputError,
)
from wds_edge.io import fsync_dir, sha256_file, temporary_path, write_bytes_atomic
from wds_edge.model.metadata import ModelMetadata
from wds_edge.runtime.gate import (
    GateResult,
    enforce_gate,
    gate_record_problem,
    read_gate_record,
)
from wds_edge.runtime.quantized import model_precision, qdq_info, read_onnx_file_info
from wds_edge.runtime.tensorrt.backend import ENGINE_SUFFIXES, TensorRTBackend
from wds_edge.runtime.tensorrt.build import ProgressFn, build_plan, tensorrt_module
from wds_edge.runtime.tensorrt.cache import (
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
from wds_edge.runtime.tensorrt.cuda import DeviceInfo, device_info, set_device
from wds_edge.runtime.tensorrt.gating import (
    GatePlan,
    forget_refusal,
    plan_gate,
    read_refusal,
    run_gate,
    write_refusal,
)
from wds_edge.runtime.tensorrt.int8 import CropSource, Int8Calibration
from wds_edge.runtime.tensorrt.precision import PrecisionCheckError, check_fp32_layers

__all__ = [
    "EngineInfo",
    "calibration_id",
    "check_build_request",
    "ensure_engine",
    "provision_engine",
]

logger = logging.getLogger(__name__)


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


def _onnx_metadata(onnx_path: Path) -> tuple[ModelMetadata, dict[str, str]]:
    """The model's contract and every metadata entry (a Q/DQ model's ``quantization``)."""
    from wds_edge.runtime.onnxruntime import OnnxRuntimeBackend

    with OnnxRuntimeBackend(onnx_path, providers=["CPUExecutionProvider"]) as backend:
        return backend.metadata, backend.metadata_props


def calibration_id(calibration: Int8Calibration | None) -> str:
    """The calibration part of an INT8 engine's key: the crops' sha256, and how many of them
    were used when ``calibration.max_crops`` limits it (other scales, another engine)."""
    if calibration is None:
        return ""
    data = calibration.crops.data_sha256
    limit = getattr(calibration, "max_crops", None)
    try:
        size: int | None = len(calibration.crops)  # type: ignore[arg-type]
    except TypeError:
        size = None
    if limit is None or (size is not None and limit >= size):
        return data
    return hashlib.sha256(f"{data}|max_crops={int(limit)}".encode()).hexdigest()


def check_build_request(
    onnx_path: str | Path,
    precision: str,
    *,
    out: str | Path | None = None,
    workspace_gib: float = 2.0,
) -> None:
    """Refuse, before TensorRT is imported, a build no usable engine can come from.

    Raises:
        InvalidInputError: a precision TensorRT does not build; a workspace that is not a
            finite number of GiB above 0; an ``out`` whose suffix is not an engine's
            (:data:`~wds_edge.runtime.tensorrt.backend.ENGINE_SUFFIXES`: the engine is
            loaded by its suffix, and its sidecar is named after its stem).
        ModelError: no such ONNX file; a Q/DQ (INT8) ONNX asked for FP32 / FP16 (TensorRT
            builds a Q/DQ network only with INT8 enabled).
    """
    if precision not in PRECISIONS:
        raise InvalidInputError(
            f"--precision must be one of {', '.join(PRECISIONS)}, got {precision!r}"
        )
    try:
        usable = math.isfinite(workspace_gib) and workspace_gib > 0
    except TypeError:
        usable = False
    if not usable:
        raise InvalidInputError(
            f"--workspace (workspace_gib) must be a finite number of GiB above 0, e.g. 2; got "
            f"{workspace_gib!r}"
        )
    if out is not None and Path(out).suffix.lower() not in ENGINE_SUFFIXES:
        raise InvalidInputError(
            f"--out {out}: a TensorRT engine's name must end in {', '.join(ENGINE_SUFFIXES)} "
            f"(it is loaded by its suffix, its sidecar is named after its stem), e.g. "
            f"{Path(out).with_suffix('.engine')}"
        )
    onnx_path = Path(onnx_path)
    if not onnx_path.is_file():
        raise ModelError(f"{onnx_path} does not exist; export one with `wds-edge export`")
    if precision != "int8" and model_precision(onnx_path) == "int8":
        try:  # the FP32 model it was quantized from, as `wds-edge quantize` records it
            props = read_onnx_file_info(onnx_path).metadata_props
            source = (qdq_info(props) or {}).get("source_name")
        except ModelError:
            source = None
        fp32 = f"its FP32 source ({source})" if source else "the FP32 model it was made from"
        raise ModelError(
            f"{onnx_path} is a Q/DQ (INT8) model: TensorRT builds it only as INT8, not "
            f"{precision.upper()}; build it with --precision int8 (the Jetson container: "
            f"WDS_PRECISION=int8), or build {precision.upper()} from {fp32}"
        )


def _key(trt: Any, gpu: DeviceInfo, onnx_sha: str, precision: str, calib_sha: str) -> EngineKey:
    return EngineKey(
        onnx_sha, trt.__version__, gpu.name, gpu.compute_capability, gpu.sm_count,
        gpu.memory_gib, precision, calib_sha if precision == "int8" else "",
    )  # fmt: skip


def _cached(engine_path: Path, key: EngineKey) -> bool:
    if not engine_path.is_file():
        return False
    try:
        sidecar = read_sidecar(engine_path)
        reasons = engine_mismatches(sidecar, key, engine_sha256=sha256_file(engine_path))
        # a gate that passed under an older rule which the gate's rule now rejects (an FP32
        # reference marking almost no or almost every pixel: not gated) is gated again; one
        # that failed and was kept (allow_accuracy_loss) is kept as it was
        record = read_gate_record(sidecar.accuracy_gate)
        problem = gate_record_problem(record) if record and record.get("passed") else ""
        if problem:
            reasons.append(f"the engine {problem}")
    except ModelError as exc:
        reasons = [str(exc)]
    if reasons:
        logger.warning("rebuilding %s: %s", engine_path, "; ".join(reasons))
    return not reasons


def _timing_path(cache: Path, key: EngineKey) -> Path:
    sm = key.compute_capability.replace(".", "")
    name = f"timing-trt{key.tensorrt_version}-{slug(key.gpu_name)}-sm{sm}-{key.sm_count}sm.cache"
    return cache / name


def _check_new_engine(
    engine_path: Path, sidecar: Any, fp32_layers: list[str], plan: GatePlan | None,
    metadata: ModelMetadata, precision: str, gate_images: int, device: int,
    allow_accuracy_loss: bool,
) -> GateResult | None:  # fmt: skip
    """Read a new engine back (pinned layers in FP32?) and gate it; fill its sidecar.

    Raises:
        PrecisionCheckError: a pinned layer does not run FP32 (a ModelError).
        AccuracyGateError: the gate failed (a ModelError).
        BackendUnavailableError: the gate was not gated (its FP32 reference marks almost
            no pixel, or almost every pixel, of the crops as wrinkles).
    """
    gate: GateResult | None = None
    void = ""
    with TensorRTBackend(engine_path, device=device) as candidate:
        if fp32_layers:  # read the engine back: do the pinned layers run FP32?
            check = check_fp32_layers(candidate.engine_layers(), fp32_layers)
            sidecar.precision_check = check
            if not check["fp32"]:
                message = (
                    f"the {precision.upper()} engine runs layers that must stay FP32 in "
                    f"another precision: {check['not_fp32'] or check['unknown']}"
                )
                if not allow_accuracy_loss:
                    raise PrecisionCheckError(message)
                logger.warning("%s; kept because accuracy loss was allowed", message)
        if plan is not None:
            gate, void = run_gate(plan, candidate, metadata, precision, gate_images)
            sidecar.accuracy_gate = {**plan.record(gate), "counts": not void}
    if void and not allow_accuracy_loss:
        raise BackendUnavailableError(void)
    if void:
        logger.warning("%s; kept because accuracy loss was allowed", void)
    elif gate is not None:
        enforce_gate(gate, allow_accuracy_loss=allow_accuracy_loss)
    return gate


def ensure_engine(
    onnx_path: str | Path,
    precision: str = "fp16",
    *,
    calibration: Int8Calibration | None = None,
    gate_crops: CropSource | str | None = None,
    reference_onnx: str | Path | None = None,
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
    """Reuse a valid cached engine for this GPU, or build, write and gate a new one.

    Args:
        onnx_path: FP32 wds-edge ONNX model (or a Q/DQ one for explicit INT8).
        precision: ``"fp32"``, ``"fp16"`` or ``"int8"``.
        calibration: INT8 calibration input
            (``wds_edge_calibration.trt_calibrator.tensorrt_calibration``);
            its crops also gate FP16 unless ``gate_crops`` is given (never INT8).
        gate_crops: held-out face crops for the accuracy gate, or ``"synthetic"`` (the SDK's
            synthetic skin crops); see :mod:`~wds_edge.runtime.tensorrt.gating`.
        reference_onnx: the FP32 model the gate compares with (None: ``onnx_path``, or for a
            Q/DQ model the FP32 model its metadata names, found next to it).
        workspace_gib: TensorRT workspace memory-pool limit in GiB.
        out: engine path; None: ``cache_dir`` / :func:`engine_file_name`.
        cache_dir: engine cache folder (None: :func:`default_cache_dir`).
        timing_cache: timing cache file, read before and written after the build.
        allow_accuracy_loss: keep an engine that fails (or skips) the accuracy gate.
        gate_images: compare on at most this many crops.
        rebuild: ignore a valid cached engine.
        device: CUDA device index (made current before the builder exists).
        progress: ``progress(phase, step, total)`` during the build.

    Raises:
        MissingDependencyError: TensorRT / cuda-python missing (install hints).
        BackendUnavailableError: no GPU, a precision this GPU cannot do, or no valid cached
            engine and nothing to gate a new FP16 / INT8 one with (no held-out crops, no FP32
            reference for a Q/DQ model, a gate that was not gated: crops on which FP32 marks
            no wrinkles, or nearly every pixel), or a new engine that refuses the gate's
            input (recorded as a refused engine is: the next start does not rebuild it).
        BackendError: the build failed.
        ModelError: no such ONNX, ONNX parse errors; a Q/DQ ONNX asked for FP32 / FP16;
            the accuracy gate failed (:class:`~wds_edge.errors.AccuracyGateError`); a pinned
            layer runs in another precision than FP32
            (:class:`~wds_edge.runtime.tensorrt.precision.PrecisionCheckError`).
        InvalidInputError: bad precision, workspace or ``out`` suffix (all three checked
            before TensorRT is imported: :func:`check_build_request`), INT8 without
            calibration data, gate crops that are not the model's input size (checked
            before the build: :func:`~wds_edge.runtime.tensorrt.gating.plan_gate`).
    """
    check_build_request(onnx_path, precision, out=out, workspace_gib=workspace_gib)
    onnx_path = Path(onnx_path)
    trt = tensorrt_module()
    gpu = device_info(device)
    set_device(device)  # builder, calibrator buffers and gate all live on this device
    metadata, props = _onnx_metadata(onnx_path)
    onnx_sha = sha256_file(onnx_path)
    calib_sha = calibration_id(calibration)
    key = _key(trt, gpu, onnx_sha, precision, calib_sha)
    cache = Path(cache_dir) if cache_dir else default_cache_dir()
    if out:
        engine_path = Path(out)
    elif precision == "int8" and not calib_sha:  # an INT8 engine built earlier, any crops
        stem = engine_file_name(metadata.model_name, key).removesuffix(".engine")
        named = sorted(cache.glob(stem + "*.engine"), key=lambda p: p.stat().st_mtime)
        engine_path = named[-1] if named else cache / f"{stem}.engine"
    else:
        engine_path = cache / engine_file_name(metadata.model_name, key)
    if not rebuild and _cached(engine_path, key):
        logger.info("reusing engine %s", engine_path)
        return EngineInfo(engine_path, sidecar_path(engine_path), metadata, key, built=False)
    try:
        plan = plan_gate(
            onnx_path, props, precision, metadata, calibration=calibration,
            gate_crops=gate_crops, reference_onnx=reference_onnx,
            allow_accuracy_loss=allow_accuracy_loss, onnx_sha256=onnx_sha,
        )  # fmt: skip
    except BackendUnavailableError as exc:
        raise BackendUnavailableError(
            f"no valid {precision.upper()} engine for {onnx_path.name} on {gpu.name} is "
            f"cached, and a new one cannot be checked: {exc}; or skip the check with "
            "--allow-accuracy-loss"
        ) from exc
    identity = plan.identity(key.to_dict()) if plan is not None else None
    refused = None if rebuild or identity is None else read_refusal(engine_path, identity)
    if refused is not None:
        raise refused
    timing_path = Path(timing_cache) if timing_cache else _timing_path(cache, key)
    built = build_plan(
        trt, onnx_path, precision, metadata, gpu, model_sha256=onnx_sha,
        calibration=calibration, workspace_gib=workspace_gib,
        timing_cache=timing_path.read_bytes() if timing_path.is_file() else b"",
        calib_cache_path=engine_path.with_suffix(".calib"), progress=progress,
    )  # fmt: skip
    try:  # after the plan: a timing cache that cannot be written costs time, not the build
        write_bytes_atomic(timing_path, built.timing_cache)
    except (OSError, OutputError) as exc:
        logger.warning("could not write the timing cache %s (%s)", timing_path, exc)
    # The new plan is written and gated beside the destination: an engine already at
    # engine_path is replaced only once the new one passed (a failed gate leaves it as it was).
    engine_path.parent.mkdir(parents=True, exist_ok=True)
    tmp_engine = temporary_path(engine_path, suffix=engine_path.suffix or ".engine")
    try:
        write_bytes_atomic(tmp_engine, built.plan)
        sidecar = make_sidecar(
            metadata, key, engine_sha256=sha256_file(tmp_engine), onnx_path=onnx_path,
            calibration=built.calibration, build_s=round(built.build_s, 1),
            fp32_layers=built.fp32_layers,
        )  # fmt: skip
        gate: GateResult | None = None
        if plan is not None or built.fp32_layers:
            write_sidecar(tmp_engine, sidecar)  # the gate loads the plan through its sidecar
            try:
                gate = _check_new_engine(
                    tmp_engine, sidecar, built.fp32_layers, plan, metadata, precision,
                    gate_images, device, allow_accuracy_loss,
                )  # fmt: skip
            except (ModelError, BackendUnavailableError, InvalidInputError) as exc:
                if identity is not None:
                    write_refusal(engine_path, identity, str(exc),
                                  gate_failed=isinstance(exc, AccuracyGateError))  # fmt: skip
                if isinstance(exc, InvalidInputError):  # the engine cannot run the gate's input
                    raise BackendUnavailableError(
                        f"the new {precision.upper()} engine cannot be gated: {exc}"
                    ) from exc
                raise
        os.replace(tmp_engine, engine_path)
        write_sidecar(engine_path, sidecar)
        fsync_dir(engine_path.parent)
    finally:
        tmp_engine.unlink(missing_ok=True)
        sidecar_path(tmp_engine).unlink(missing_ok=True)
    forget_refusal(engine_path)
    info = EngineInfo(engine_path, sidecar_path(engine_path), metadata, key, True, built.build_s)
    info.gate = gate
    logger.info("built %s in %.1f s", engine_path, built.build_s)
    return info


def provision_engine(
    model_path: str | Path,
    precision: str = "auto",
    *,
    device: int = 0,
    calibration: Int8Calibration | None = None,
    gate_crops: CropSource | str | None = None,
    reference_onnx: str | Path | None = None,
    cache_dir: str | Path | None = None,
    workspace_gib: float = 2.0,
    allow_accuracy_loss: bool = False,
) -> TensorRTBackend:
    """A loaded :class:`TensorRTBackend` for ``model_path`` on CUDA device ``device``.

    Args:
        model_path: an ``.onnx`` (an engine is reused from the cache or built, see
            :func:`ensure_engine`) or an ``.engine`` / ``.plan`` with its sidecar; a stale
            or foreign plan is rebuilt from the ONNX its sidecar names when that file is
            still there.
        precision: ``"fp32"``, ``"fp16"``, ``"int8"`` or ``"auto"``: for an ``.onnx``
            ``"fp16"``, or ``"int8"`` for a Q/DQ model (TensorRT builds it only as INT8); an
            engine runs in the precision it was built in, and another one is refused.
        device, calibration, gate_crops, reference_onnx, cache_dir, workspace_gib,
            allow_accuracy_loss: as for :func:`ensure_engine`.

    Raises:
        BackendUnavailableError: TensorRT cannot provide an engine here (see the module
            docstring); ``auto`` falls back on it.
        ModelError: a foreign engine whose ONNX is gone, unsupported metadata.
        InvalidInputError: an engine asked for a precision other than its own; as for
            :func:`ensure_engine`.
        MissingDependencyError, BackendError: as for :func:`ensure_engine`.
    """
    path = Path(model_path)
    if not path.is_file():
        raise ModelError(f"{path} does not exist")
    opts: dict[str, Any] = {
        "calibration": calibration, "gate_crops": gate_crops, "cache_dir": cache_dir,
        "reference_onnx": reference_onnx,
        "workspace_gib": workspace_gib, "allow_accuracy_loss": allow_accuracy_loss,
        "device": device,
    }  # fmt: skip
    if path.suffix.lower() == ".onnx":
        if precision == "auto":
            precision = "int8" if model_precision(path) == "int8" else "fp16"
        return TensorRTBackend(ensure_engine(path, precision, **opts).path, device=device)
    if path.suffix.lower() not in ENGINE_SUFFIXES:
        raise InvalidInputError(
            f"{path}: expected an .onnx model or a TensorRT engine ({', '.join(ENGINE_SUFFIXES)})"
        )
    sidecar = read_sidecar(path)
    if precision not in ("auto", sidecar.precision):
        crops = {"fp16": " --held-out DIR", "int8": " --calib DIR --held-out DIR"}.get(
            precision, ""
        )
        raise InvalidInputError(
            f"{path} is an {sidecar.precision.upper()} engine: it runs in the precision it was "
            f"built in, not {precision.upper()}; leave out --precision (or pass "
            f"{sidecar.precision}), or build an {precision.upper()} engine with `wds-edge "
            f"build-engine --onnx {sidecar.onnx_path or 'MODEL.onnx'} --precision "
            f"{precision}{crops}` and pass that"
        )
    onnx_src = Path(sidecar.onnx_path or "")
    changed = onnx_src.is_file() and sha256_file(onnx_src) != sidecar.onnx_sha256
    try:
        if changed:
            raise ModelError(f"its ONNX {onnx_src} changed since the engine was built")
        return TensorRTBackend(path, device=device)
    except ModelError as exc:
        if not onnx_src.is_file():
            raise
        logger.warning("engine %s cannot run here (%s); rebuilding it", path, exc)
    info = ensure_engine(onnx_src, sidecar.precision, out=path, rebuild=True, **opts)
    return TensorRTBackend(info.path, device=device)
