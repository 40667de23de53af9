"""Inference backends behind one small interface, and the factory that picks one.

``load_backend(model_path, "auto")`` takes the fastest one that works here:

1. TensorRT (``wds_edge.runtime.tensorrt.provision``) when the ``tensorrt`` package imports
   and a GPU is present: an FP16 engine that is cached or can be built and passes the
   accuracy gate (on ``gate_crops``, else the SDK's synthetic skin crops), else an FP32
   engine, which needs no gate (each failure is logged, naming what is tried next); for a
   Q/DQ INT8 model (``wds-edge quantize --format qdq``), which TensorRT builds only as
   INT8, an INT8 engine gated the same way against the FP32 model it was made from (no
   calibration: its scales are in the graph); an engine file runs as it was built;
2. else ONNX Runtime with its CUDA execution provider when this ONNX Runtime build has
   one, on the CUDA device given (``providers=["TensorrtExecutionProvider", ...]`` only
   when asked for);
3. else the CPU: the fastest of ONNX Runtime FP32 and OpenVINO FP32 / BF16 / FP16 / INT8
   that passes the accuracy gate against ONNX Runtime FP32 on 4 synthetic skin crops (not
   faces; INT8 also needs the held-out gate its file records), a reduced precision only
   when it is at least 10 % faster than the fastest FP32 one, probed once and cached
   (:mod:`wds_edge.runtime.auto`, which points to the held-out-face measurement of BF16).

An explicit ``openvino`` BF16 / FP16 on the CPU (``--device CPU``, or ``AUTO`` / ``HETERO:CPU``
when they execute on the CPU) is gated by the same probe (its cached decision;
:func:`~wds_edge.runtime.auto.gate_cpu_candidate`) and refused when it fails.

``device="CPU"`` skips 1 and 2; a BF16 ``precision`` skips 1 (TensorRT has none);
``providers=[...]`` skips 1 and 3: ONNX Runtime runs on the execution providers given.

Heavy imports (onnxruntime, openvino, tensorrt, pycuda / cuda-python) happen only when a
backend is loaded. Every backend reads the model's metadata and refuses a model
whose contract it cannot meet (:class:`~wds_edge.errors.ModelError`).
"""

from __future__ import annotations

import difflib
import importlib.util
import logging
import os
from collections.abc import Sequence
from typing import Any

from wds_edge._checks import is_digits
from wds_edge.errors import (
    BackendError,
    InvalidInputError,
    MissingDependencyError,
    ModelError,
    OutputError,
)
from wds_edge.model.files import RUNTIME_HINT, require_model_file
from wds_edge.runtime.base import Backend, check_num_threads

__all__ = [
    "Backend",
    "BACKEND_NAMES",
    "PRECISION_NAMES",
    "TENSORRT_OPTIONS",
    "available_backends",
    "load_backend",
]

logger = logging.getLogger(__name__)

#: Names accepted by :func:`load_backend` and the CLI's ``--backend``.
BACKEND_NAMES = ("auto", "onnxruntime", "openvino", "tensorrt")
#: Precisions accepted by :func:`load_backend` (``auto``: TensorRT FP16 on a GPU, INT8 for a
#: Q/DQ model; the probed winner on a CPU).
PRECISION_NAMES = ("auto", "fp32", "fp16", "bf16", "int8")
#: :func:`load_backend`'s keyword options that go to TensorRT
#: (:func:`~wds_edge.runtime.tensorrt.provision.provision_engine`): taken by ``"tensorrt"``,
#: and by ``"auto"`` for the TensorRT engine it tries first.
TENSORRT_OPTIONS = (
    "cache_dir", "calibration", "gate_crops", "reference_onnx", "workspace_gib",
    "allow_accuracy_loss",
)  # fmt: skip
#: :func:`load_backend`'s own keyword options (every backend takes them).
_COMMON_OPTIONS = ("precision", "num_threads", "providers", "device", "spin_wait")
#: ... and the TensorRT option OpenVINO takes too: keep a BF16 / FP16 model that fails the
#: accuracy gate (:func:`_openvino_gated`) with a warning.
_OPENVINO_OPTIONS = ("allow_accuracy_loss",)


def _has_module(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def _tensorrt_usable() -> bool:
    """TensorRT and our TensorRT backend import (the GPU is checked when building)."""
    return _has_module("tensorrt") and _has_module("wds_edge.runtime.tensorrt.backend")


def available_backends() -> list[str]:
    """Concrete backends that can be tried on this machine (``"auto"`` is not listed).

    ``"onnxruntime"`` / ``"openvino"`` when they import; ``"tensorrt"`` when the ``tensorrt``
    package and wds-edge's TensorRT backend import (a GPU is still needed to run it).
    """
    names = []
    if _has_module("onnxruntime"):
        names.append("onnxruntime")
    if _has_module("openvino"):
        names.append("openvino")
    if _tensorrt_usable():
        names.append("tensorrt")
    return names


def _load_tensorrt(model_path: str | os.PathLike[str], precision: str, **trt_opts: Any) -> Backend:
    if not _has_module("wds_edge.runtime.tensorrt.provision"):
        raise MissingDependencyError(
            "the TensorRT backend (wds_edge.runtime.tensorrt) is not part of this install; "
            "use --backend onnxruntime"
        )
    from wds_edge.runtime.tensorrt.provision import provision_engine  # lazy: imports tensorrt

    return provision_engine(model_path, precision, **trt_opts)


def _cuda_index(device: str | int | None, *, strict: bool = True) -> int:
    """The CUDA device index TensorRT runs on: an int or its string; None (or, for
    ``auto``, an OpenVINO device name such as ``"CPU"``) means 0."""
    if device is None or isinstance(device, int):
        return device or 0
    if is_digits(str(device)):
        return int(str(device).strip())
    if not strict:
        return 0
    raise InvalidInputError(
        f"TensorRT runs on a CUDA device index (0, 1, ...), got device={device!r}"
    )


_CPU_NAMES = ("cpu",)
#: File names of TensorRT engines (:data:`wds_edge.runtime.tensorrt.backend.ENGINE_SUFFIXES`,
#: not imported here: that module needs TensorRT's bindings).
_ENGINE_SUFFIXES = (".engine", ".plan", ".trt")


def _check_options(name: str, trt_opts: dict[str, Any], providers: Any, device: Any) -> None:
    """Refuse an option name :func:`load_backend` does not know (with the likely one), and an
    option the chosen backend would drop without a word."""
    for key in trt_opts:
        if key not in TENSORRT_OPTIONS:
            close = difflib.get_close_matches(key, (*_COMMON_OPTIONS, *TENSORRT_OPTIONS), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise InvalidInputError(
                f"load_backend() got an unknown option {key!r}{hint}; its options are "
                f"{', '.join(_COMMON_OPTIONS)} and, for TensorRT (backend 'tensorrt' or "
                f"'auto'), {', '.join(TENSORRT_OPTIONS)}"
            )
    dropped = [k for k in trt_opts if name == "onnxruntime" or k not in _OPENVINO_OPTIONS]
    if dropped and name in ("onnxruntime", "openvino"):
        also = f" and {', '.join(_OPENVINO_OPTIONS)}" if name == "openvino" else ""
        raise InvalidInputError(
            f"load_backend() option(s) {', '.join(dropped)} are TensorRT's (backend 'tensorrt' "
            f"or 'auto'); backend {name!r} takes {', '.join(_COMMON_OPTIONS)}{also}"
        )
    cpu = device is not None and str(device).strip().lower() in _CPU_NAMES
    trt_only = [k for k in trt_opts if k not in _OPENVINO_OPTIONS]
    if name == "auto" and cpu and providers is None and trt_only:
        raise InvalidInputError(
            f"backend 'auto' on device='CPU' tries no TensorRT engine, so the TensorRT "
            f"option(s) {', '.join(trt_only)} would be dropped: leave them out, or leave out "
            "device='CPU' (auto then tries TensorRT on CUDA device 0 first)"
        )
    if providers is None:
        return
    if name in ("openvino", "tensorrt"):
        where = (
            "device='CPU' | 'GPU' | 'NPU' picks the OpenVINO device" if name == "openvino"
            else "device=N picks the CUDA device"
        )  # fmt: skip
        raise InvalidInputError(
            f"providers= are ONNX Runtime execution providers; backend {name!r} takes none "
            f"({where}); use backend 'onnxruntime' (or 'auto') to pass providers"
        )
    if name == "auto" and trt_opts:
        raise InvalidInputError(
            f"backend 'auto' with providers= runs ONNX Runtime on those providers and tries no "
            f"TensorRT engine, so the TensorRT option(s) {', '.join(trt_opts)} would be "
            "dropped: pass providers or the TensorRT options, not both"
        )
    if name == "auto" and device is not None and str(device).strip().lower() not in _CPU_NAMES:
        raise InvalidInputError(
            f"backend 'auto' with providers= runs ONNX Runtime on those providers, which "
            f"take no device={device!r}: name the CUDA device in the provider's options, "
            "providers=[('CUDAExecutionProvider', {'device_id': N}), 'CPUExecutionProvider']"
        )


def _openvino_device(device: str | int | None) -> str:
    """The OpenVINO device name of ``device`` (None: ``"CPU"``), upper-cased as OpenVINO
    spells it (``"cpu"`` -> ``"CPU"``, ``"gpu.1"`` -> ``"GPU.1"``).

    Raises:
        InvalidInputError: a number: OpenVINO devices have names, CUDA has indices.
    """
    if device is None:
        return "CPU"
    text = str(device).strip()
    if isinstance(device, int) or is_digits(text) or not text:
        raise InvalidInputError(
            f"OpenVINO takes a device name, got device={device!r}: 'CPU' (default), 'GPU', "
            "'GPU.1', 'NPU' or 'AUTO' (a number is a CUDA device index: --backend tensorrt "
            "--device N)"
        )
    return text.upper()


def _check_device(
    name: str, precision: str, device: str | int | None, model_path: str | os.PathLike[str] = ""
) -> None:
    """Refuse a ``device`` the chosen backend would otherwise drop without a word."""
    if device is None:
        return
    if name == "openvino":
        device = _openvino_device(device)
    text = str(device).strip()
    if name == "onnxruntime" and text.lower() not in _CPU_NAMES:
        raise InvalidInputError(
            f"--backend onnxruntime takes no device (got {device!r}): it runs on the execution "
            "providers it is given (providers=[...]; onnxruntime-gpu for CUDA). For a CUDA "
            "device use --backend tensorrt --device N; for an Intel GPU / NPU --backend "
            "openvino --device GPU|NPU --precision fp32|fp16|int8"
        )
    is_ir = str(model_path).lower().endswith(".xml")
    if name == "openvino" and precision == "auto" and text.upper() != "CPU" and is_ir:
        raise InvalidInputError(
            f"{model_path} is an OpenVINO IR: an OpenVINO IR runs in its own precision, INT8 "
            f"(wds-edge quantize --format openvino); for --device {text} name it: --precision "
            "int8"
        )
    if name == "openvino" and precision == "auto" and text.upper() != "CPU":
        raise InvalidInputError(
            f"--backend openvino --precision auto probes the CPU only; for --device {text} "
            "name the precision: --precision fp32, fp16 (GPU / NPU) or int8"
        )
    if name == "auto" and text.lower() not in _CPU_NAMES and not is_digits(text):
        raise InvalidInputError(
            f"--backend auto picks TensorRT on a CUDA device (--device 0, 1, ...) or the CPU "
            f"(--device CPU), got --device {text}; for an Intel GPU / NPU use --backend "
            "openvino --device GPU|NPU --precision fp32|fp16|int8"
        )


def _check_onnxruntime_precision(model_path: str | os.PathLike[str], precision: str) -> None:
    """ONNX Runtime runs the model as exported: refuse a precision it would not run.

    ``auto`` / ``fp32`` run any model (a Q/DQ one in INT8, as exported); ``int8`` only a Q/DQ
    model (:func:`~wds_edge.runtime.quantized.model_precision`); BF16 / FP16 never.
    """
    if precision in ("auto", "fp32"):
        return
    from wds_edge.runtime.quantized import model_precision

    if precision == "int8" and model_precision(model_path) == "int8":
        return
    int8 = (
        f"{model_path} is not a Q/DQ INT8 model; make one with `wds-edge quantize --format qdq "
        f"--onnx {model_path} --calib CALIB_DIR --held-out HELD_OUT_DIR --out MODEL_int8.onnx` "
        "and pass that with --model (or use --backend openvino / tensorrt --precision int8)"
        if precision == "int8"
        else "for FP16 use --backend openvino (Intel GPU / NPU, CPUs with AMX-FP16) or "
        "--backend tensorrt (NVIDIA GPU)"
        if precision == "fp16"
        else "for BF16 use --backend openvino (CPUs with AVX512_BF16 / AMX) or --backend "
        "auto, which runs it there (TensorRT has no BF16)"
    )  # fmt: skip
    raise InvalidInputError(
        f"--backend onnxruntime runs the model as exported and has no --precision {precision}: "
        f"use --precision fp32 (or auto); {int8}"
    )


#: Precisions TensorRT builds; ``auto`` tries them in this order (FP32 needs no gate).
_TRT_AUTO_CHAIN = ("fp16", "fp32")
#: ... and for a Q/DQ INT8 model, which TensorRT builds only as INT8 (its scales in the graph).
_TRT_QDQ_CHAIN = ("int8",)


def _try_tensorrt(
    model_path: str | os.PathLike[str], precision: str, next_choice: str, **trt_opts: Any
) -> Backend | None:
    """``auto``'s first choice: a TensorRT backend, or None (reasons logged) when it cannot run.

    ``precision="auto"`` tries FP16 (gated on ``gate_crops``, else the calibration crops,
    else the SDK's synthetic skin crops) and then FP32, which needs no gate; for a Q/DQ
    model INT8 (gated on ``gate_crops``, else the synthetic crops), and an engine file as it
    was built. An explicit FP32 / FP16 / INT8 is tried alone; BF16 is not a TensorRT
    precision and skips TensorRT.
    """
    if not _tensorrt_usable():
        return None
    if precision not in ("auto", "fp32", "fp16", "int8"):
        logger.info("TensorRT does not run %s; trying %s", precision.upper(), next_choice)
        return None
    if precision != "auto" or not str(model_path).lower().endswith(".onnx"):
        chain: tuple[str, ...] = (precision,)  # an engine file runs in its own precision
    else:
        from wds_edge.runtime.quantized import model_precision

        chain = _TRT_QDQ_CHAIN if model_precision(model_path) == "int8" else _TRT_AUTO_CHAIN
    if trt_opts.get("gate_crops") is None and trt_opts.get("calibration") is None:
        trt_opts = {**trt_opts, "gate_crops": "synthetic"}
    for i, prec in enumerate(chain):
        try:
            return _load_tensorrt(model_path, prec, **trt_opts)
        except (
            BackendError, MissingDependencyError, ModelError, OSError, OutputError, RuntimeError,
        ) as exc:  # fmt: skip
            # BackendUnavailableError (a BackendError): no GPU, nothing to gate with, ...;
            # ModelError: the gate failed; BackendError: the build failed; OutputError: the
            # engine cache cannot be written.
            then = f"TensorRT {chain[i + 1].upper()}" if i + 1 < len(chain) else next_choice
            what = "engine" if prec == "auto" else prec.upper()
            logger.warning("TensorRT %s unavailable (%s); trying %s", what, exc, then)
    return None


def _cpu_auto(
    model_path: str | os.PathLike[str],
    precision: str,
    num_threads: int | None,
    backends: tuple[str, ...] = (),
    *,
    spin_wait: bool = True,
) -> Backend:
    """The probed (cached) fastest gated CPU backend, restricted to ``precision`` unless auto."""
    from wds_edge.runtime.auto import decide_cpu_backend, load_candidate

    wanted = () if precision in ("auto", "fp16") else (precision,)
    if precision == "int8":
        from wds_edge.runtime.quantized import model_precision

        if model_precision(model_path) == "int8":
            wanted = ()  # a Q/DQ model: every CPU candidate runs its INT8 graph
    decision = decide_cpu_backend(
        model_path, num_threads=num_threads, backends=backends, precisions=wanted
    )
    backend = load_candidate(
        model_path, f"{decision.backend}:{decision.precision}", num_threads, spin_wait=spin_wait
    )
    backend.auto_decision = decision  # type: ignore[attr-defined]
    return backend


def _check_gpu_ep_precision(
    model_path: str | os.PathLike[str], precision: str, provider: str
) -> None:
    """``auto``'s GPU fallback runs the model as exported, FP32 (INT8 for a Q/DQ model):
    refuse BF16, and INT8 of a model that is not Q/DQ, which it would drop without a word.
    (FP16, TensorRT's precision, stands for "the GPU" as on a CPU it stands for "any".)"""
    if precision not in ("bf16", "int8"):
        return
    from wds_edge.runtime.quantized import model_precision

    if precision == "int8" and model_precision(model_path) == "int8":
        return
    qdq = (
        ", or make a Q/DQ INT8 model, which ONNX Runtime runs on the GPU (`wds-edge quantize "
        f"--format qdq --onnx {model_path} ...`)"
        if precision == "int8" else ""
    )  # fmt: skip
    raise InvalidInputError(
        f"--precision {precision}: with no TensorRT {precision.upper()} engine here (see the "
        f"log), auto runs ONNX Runtime on the GPU ({provider}), which runs the model as "
        f"exported (FP32, or INT8 for a Q/DQ model), not {precision.upper()}; run it on the CPU "
        f"(--device CPU) or with --backend openvino{qdq}, or leave out --precision"
    )


def _openvino_ir(
    model_path: str | os.PathLike[str],
    name: str,
    precision: str,
    device: str | int | None,
    num_threads: int | None,
) -> Backend:
    """An OpenVINO IR ``.xml`` (the INT8 model ``wds-edge quantize --format openvino`` writes):
    only OpenVINO reads it, in the precision it was made in (``auto``: INT8), with no probe
    (it is the one candidate); ``auto`` runs it on the CPU (its devices are CUDA indices)."""
    if name == "onnxruntime":
        raise InvalidInputError(
            f"{model_path} is an OpenVINO IR (.xml), which only OpenVINO runs: use --backend "
            "openvino (or auto) --precision int8, or pass the .onnx it was made from"
        )
    from wds_edge.runtime.openvino import OpenVinoBackend  # lazy: imports openvino

    if name == "auto":
        logger.info("auto: %s is an OpenVINO IR: OpenVINO on the CPU", model_path)
        device = None
    return OpenVinoBackend(
        model_path, precision="int8" if precision == "auto" else precision,
        device=_openvino_device(device), num_threads=num_threads,
    )  # fmt: skip


def _openvino_gated(
    model_path: str | os.PathLike[str],
    precision: str,
    device: str,
    num_threads: int | None,
    *,
    allow_accuracy_loss: bool = False,
) -> Backend:
    """OpenVINO in the precision asked for; BF16 / FP16 on the CPU gated as ``auto`` gates
    them (:func:`~wds_edge.runtime.auto.gate_cpu_candidate`: its cached decision, else a
    probe of a few seconds, cached), and refused when they fail
    (:class:`~wds_edge.errors.AccuracyGateError`) unless ``allow_accuracy_loss``. The probe
    runs on the CPU, so is gated whatever executes on the CPU only (``CPU``, and a composite
    ``AUTO`` / ``AUTO:CPU`` / ``HETERO:CPU`` whose compiled model's ``EXECUTION_DEVICES`` are
    all the CPU); another device's BF16 / FP16 runs with a warning that it is not gated."""
    from wds_edge.runtime.openvino import OpenVinoBackend  # lazy: imports openvino

    backend = OpenVinoBackend(
        model_path, precision=precision, device=device, num_threads=num_threads
    )
    if precision not in ("bf16", "fp16"):
        return backend
    executes = list(getattr(backend, "execution_devices", []) or [device])
    on_cpu = device == "CPU" or all(d.split(".")[0] == "CPU" for d in executes)
    if not on_cpu:
        if not allow_accuracy_loss:
            logger.warning(
                "%s: OpenVINO %s %s is not gated: the accuracy gate auto uses probes the CPU "
                "only; compare its masks with --precision fp32's on held-out kiosk crops "
                "before deploying it",
                model_path, device, precision.upper(),
            )  # fmt: skip
        return backend
    from wds_edge.runtime.auto import gate_cpu_candidate

    try:
        backend.auto_decision = gate_cpu_candidate(  # type: ignore[attr-defined]
            model_path, f"openvino:{precision}", num_threads=num_threads,
            allow_accuracy_loss=allow_accuracy_loss,
        )  # fmt: skip
    except BaseException:
        backend.close()
        raise
    return backend


def _onnxruntime_on_gpu(
    model_path: str | os.PathLike[str],
    gpu_eps: list[str],
    index: int,
    num_threads: int | None,
    spin_wait: bool,
) -> Backend:
    """``auto``'s fallback on a GPU: ONNX Runtime on this build's GPU execution providers, the
    CUDA one on CUDA device ``index`` (not always GPU 0), then the CPU. A GPU provider that
    cannot start is a warning and the CPU, as when ONNX Runtime picks its providers itself."""
    from wds_edge.runtime.onnxruntime import OnnxRuntimeBackend

    providers: list[str | tuple[str, dict[str, Any]]] = [
        (ep, {"device_id": index}) if ep == "CUDAExecutionProvider" else ep for ep in gpu_eps
    ]
    try:
        return OnnxRuntimeBackend(
            model_path, providers=[*providers, "CPUExecutionProvider"],
            num_threads=num_threads, spin_wait=spin_wait,
        )  # fmt: skip
    except BackendError as exc:
        logger.warning("%s; running ONNX Runtime on the CPU", exc)
    return OnnxRuntimeBackend(
        model_path, providers=["CPUExecutionProvider"], num_threads=num_threads,
        spin_wait=spin_wait,
    )  # fmt: skip


def load_backend(
    model_path: str | os.PathLike[str],
    backend: str = "auto",
    *,
    precision: str = "auto",
    num_threads: int | None = None,
    providers: Sequence[str | tuple[str, dict[str, Any]]] | None = None,
    device: str | int | None = None,
    spin_wait: bool = True,
    **trt_opts: Any,
) -> Backend:
    """Load ``model_path`` with the named backend (see the module docstring for ``auto``).

    Args:
        model_path: an ``.onnx`` file exported by ``wds-edge export``; for ``tensorrt`` /
            ``auto`` also a TensorRT engine, for ``openvino`` / ``auto`` the INT8 OpenVINO IR
            ``.xml`` of ``wds-edge quantize --format openvino`` (run by OpenVINO, ``auto``
            precision: INT8).
        backend: one of :data:`BACKEND_NAMES`.
        precision: one of :data:`PRECISION_NAMES`. TensorRT: ``fp32`` / ``fp16`` / ``int8``
            (``auto``: fp16; int8 for a Q/DQ model; an engine file's own precision, and an
            engine asked for another one is refused). OpenVINO: ``fp32`` / ``bf16`` /
            ``fp16`` / ``int8`` (refused when the device cannot run it natively; ``auto``:
            the probed fastest gated one, FP32 unless a reduced precision is >= 10 % faster;
            BF16 / FP16 on the CPU are gated as ``auto``
            gates them, on its cached decision, and refused when they fail).
            ``auto`` backend on a CPU: ``auto`` (or ``fp16``, a GPU precision) lets the
            probe pick any precision; ``fp32`` / ``bf16`` / ``int8`` restrict it. ONNX
            Runtime runs the model as exported: ``auto`` / ``fp32``, or ``int8`` for a Q/DQ
            model (``wds-edge quantize --format qdq``), which every backend reports as
            ``int8``; other precisions are refused.
        num_threads: CPU inference threads, a whole number >= 1 (``None``: all cores;
            TensorRT runs on the GPU and has none to set).
        providers: ONNX Runtime execution providers (``None``: best available), for
            ``onnxruntime``, and for ``auto``, which then runs ONNX Runtime on them (no
            TensorRT engine, no CPU probe). Refused by ``openvino`` / ``tensorrt``.
        device: where the model runs. OpenVINO: a device name, ``"CPU"`` (None: CPU), or
            ``"GPU"`` / ``"GPU.1"`` / ``"NPU"`` / ``"AUTO"`` on Intel iGPU / NPU kiosks (in
            any case: ``"cpu"`` is ``"CPU"``; a number is refused). TensorRT: the CUDA device
            index (``0``, ``1``, ... or its string; None: 0). ``auto``: a CUDA index (its
            TensorRT engine, else ONNX Runtime's CUDA execution provider, run on that GPU) or
            ``"CPU"``.
        spin_wait: ONNX Runtime's idle threads spin (its default); ``False`` where backends
            are timed against each other in one process (benchmarks).
        **trt_opts: TensorRT's options (:data:`TENSORRT_OPTIONS`: ``cache_dir``,
            ``calibration``, ``gate_crops``, ``reference_onnx``, ``workspace_gib``,
            ``allow_accuracy_loss``), passed to
            :func:`~wds_edge.runtime.tensorrt.provision.provision_engine` by ``tensorrt``
            and by ``auto`` when it tries TensorRT; refused by ``onnxruntime`` /
            ``openvino`` and by ``auto`` with ``device="CPU"``, which tries no TensorRT
            (but ``openvino`` takes ``allow_accuracy_loss``: a BF16 / FP16 model that fails
            the gate runs, with a warning), an unknown name by every backend.

    Returns:
        A loaded :class:`Backend`; close it (or use ``with``) when done.

    Raises:
        InvalidInputError: unknown backend name (the message lists the valid ones), a
            precision the backend does not run (ONNX Runtime: BF16 / FP16, INT8 of a model
            that is not Q/DQ; ``auto`` on ONNX Runtime's GPU provider: BF16, that INT8), an
            unknown option name (the message names the likely one), an option or device the
            backend would drop, or ``num_threads`` that is not a whole number >= 1.
        ModelError: missing file, or a model whose metadata the runtime cannot meet;
            :class:`~wds_edge.errors.AccuracyGateError`: a new TensorRT FP16 / INT8 engine,
            or an OpenVINO BF16 / FP16 on the CPU, that failed its accuracy gate (OpenVINO:
            also one the gate's probe crops cannot check, "not gated").
        MissingDependencyError / BackendError: the named backend cannot run here
            (``auto`` with a TensorRT engine file where TensorRT cannot run it).
    """
    name = str(backend).strip().lower()
    if name not in BACKEND_NAMES:
        raise InvalidInputError(
            f"unknown backend {backend!r}; choose one of {', '.join(BACKEND_NAMES)} "
            f"(available here: {', '.join(available_backends()) or 'none'})"
        )
    require_model_file(model_path, RUNTIME_HINT)
    prec = str(precision).strip().lower()
    if prec not in PRECISION_NAMES:
        raise InvalidInputError(
            f"unknown precision {precision!r}; choose one of {', '.join(PRECISION_NAMES)}"
        )
    _check_options(name, trt_opts, providers, device)
    num_threads = check_num_threads(num_threads)
    _check_device(name, prec, device, model_path)
    if str(model_path).lower().endswith(".xml") and name != "tensorrt":
        return _openvino_ir(model_path, name, prec, device, num_threads)
    if name == "onnxruntime":
        _check_onnxruntime_precision(model_path, prec)
    if name == "tensorrt":
        return _load_tensorrt(model_path, prec, device=_cuda_index(device), **trt_opts)
    if name == "openvino":
        if prec == "auto":
            return _cpu_auto(model_path, prec, num_threads, backends=("openvino",),
                             spin_wait=spin_wait)  # fmt: skip
        return _openvino_gated(
            model_path, prec, _openvino_device(device), num_threads,
            allow_accuracy_loss=bool(trt_opts.get("allow_accuracy_loss", False)),
        )  # fmt: skip
    from wds_edge.runtime.onnxruntime import OnnxRuntimeBackend, default_providers

    if name == "auto":
        cpu_only = device is not None and str(device).strip().lower() in _CPU_NAMES
        gpu_eps = [p for p in default_providers() if p != "CPUExecutionProvider"]
        use_gpu_ep = providers is None and bool(gpu_eps) and not cpu_only
        onnx = str(model_path).lower().endswith(".onnx")
        if providers is not None:
            logger.info("auto with providers=%s: ONNX Runtime on them, TensorRT skipped", providers)
        elif cpu_only:
            logger.info("auto on --device CPU: TensorRT and GPU execution providers skipped")
        else:
            then = (
                f"ONNX Runtime on the GPU ({gpu_eps[0]})" if use_gpu_ep
                else "the CPU (the probed fastest gated CPU backend)" if onnx
                else "ONNX Runtime"
            )  # fmt: skip
            trt = _try_tensorrt(
                model_path, prec, then, device=_cuda_index(device, strict=False), **trt_opts
            )
            if trt is not None:
                return trt
        if str(model_path).lower().endswith(_ENGINE_SUFFIXES):  # only TensorRT reads one
            why = (
                "TensorRT could not run it here (see the warnings above)" if _tensorrt_usable()
                else "TensorRT is not installed here"
            )  # fmt: skip
            raise BackendError(
                f"{model_path} is a TensorRT engine: it needs TensorRT (and an NVIDIA GPU), and "
                f"{why}; on this machine run the .onnx it was built from (--model MODEL.onnx)"
            )
        if onnx and providers is None and not use_gpu_ep:
            if device is not None and not cpu_only:
                logger.warning(
                    "--device %s names a CUDA device, but neither TensorRT nor a CUDA execution "
                    "provider can run here: auto runs on the CPU (--device CPU says so "
                    "explicitly)",
                    device,
                )
            return _cpu_auto(model_path, prec, num_threads, spin_wait=spin_wait)
        if use_gpu_ep:
            _check_gpu_ep_precision(model_path, prec, gpu_eps[0])
            return _onnxruntime_on_gpu(
                model_path, gpu_eps, _cuda_index(device, strict=False), num_threads, spin_wait
            )
        if cpu_only and providers is None:
            providers = ["CPUExecutionProvider"]
    return OnnxRuntimeBackend(
        model_path, providers=providers, num_threads=num_threads, spin_wait=spin_wait
    )
