"""ONNX Runtime backend: the embedded default (CPU; CUDA / TensorRT execution providers if present).

The model's contract comes from its ONNX ``metadata_props`` (read back through
``InferenceSession.get_modelmeta().custom_metadata_map``) and is checked twice: the
metadata must be one this runtime supports (:meth:`ModelMetadata.check_supported`),
and the graph's actual input / output names and shapes must agree with it. A model
that fails either check is refused with a :class:`ModelError` saying how to fix it.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from wds_edge._deps import require
from wds_edge.errors import BackendError, InvalidInputError, ModelError
from wds_edge.model.files import RUNTIME_HINT, require_model_file
from wds_edge.model.metadata import ModelMetadata
from wds_edge.runtime.base import (
    Backend,
    GraphTensor,
    check_fixed_batch,
    check_graph,
    check_num_threads,
    validate_batch,
)
from wds_edge.runtime.quantized import model_precision, warn_unless_qdq_gated

__all__ = ["OnnxRuntimeBackend", "default_providers", "PROVIDER_PREFERENCE"]

logger = logging.getLogger(__name__)

#: Execution providers in the order ``auto`` prefers them (fastest first). ONNX Runtime's
#: TensorRT EP is not among them: without its engine cache it rebuilds every engine at each
#: start (minutes on a Jetson), and wds-edge's own TensorRT backend (gated, cached) is the
#: TensorRT path; asked for by name, it gets its engine and timing caches (below).
PROVIDER_PREFERENCE = (
    "CUDAExecutionProvider",
    "CPUExecutionProvider",
)
_TRT_EP = "TensorrtExecutionProvider"

_DEVICE_NAMES = {
    "TensorrtExecutionProvider": "GPU (ONNX Runtime TensorRT EP)",
    "CUDAExecutionProvider": "GPU (ONNX Runtime CUDA EP)",
    "CPUExecutionProvider": "CPU",
}


def default_providers() -> list[str]:
    """The execution providers this ONNX Runtime build offers, in :data:`PROVIDER_PREFERENCE`."""
    ort = require("onnxruntime", "running ONNX models")
    available = set(ort.get_available_providers())
    return [p for p in PROVIDER_PREFERENCE if p in available] or ["CPUExecutionProvider"]


def _with_caches(provider: str | tuple[str, dict[str, Any]]) -> str | tuple[str, dict[str, Any]]:
    """The TensorRT EP named without options gets its engine and timing caches."""
    if provider != _TRT_EP:
        return provider
    import platformdirs

    folder = Path(platformdirs.user_cache_dir("wds-edge")) / "ort-tensorrt"
    folder.mkdir(parents=True, exist_ok=True)
    return (_TRT_EP, {
        "trt_engine_cache_enable": "True", "trt_engine_cache_path": str(folder),
        "trt_timing_cache_enable": "True", "trt_timing_cache_path": str(folder),
    })  # fmt: skip


def _name(provider: str | tuple[str, dict[str, Any]]) -> str:
    return provider[0] if isinstance(provider, tuple) else provider


#: ONNX Runtime's names of the element types :func:`check_graph` knows.
_DTYPES = {"tensor(float)": "float32"}


def _shape(dims: Any) -> tuple[int, ...]:
    """A shape as :class:`GraphTensor` holds it: ONNX Runtime reports a dynamic dimension as
    a string or None, -1 here."""
    return tuple(int(v) if isinstance(v, (int, np.integer)) and int(v) > 0 else -1 for v in dims)


class OnnxRuntimeBackend(Backend):
    """Run a wds-edge ONNX model with ONNX Runtime, as exported: ``precision`` is ``"fp32"``,
    or ``"int8"`` for a Q/DQ model (``wds-edge quantize --format qdq``;
    :func:`~wds_edge.runtime.quantized.model_precision`).

    Args:
        model_path: ``.onnx`` file exported by ``wds-edge export`` (it carries metadata).
        providers: execution providers, e.g. ``["CPUExecutionProvider"]``; ``None`` picks
            CUDA when this build has it, then CPU (:func:`default_providers`). Entries may be
            ``(name, options)`` tuples as ONNX Runtime accepts them; a bare
            ``"TensorrtExecutionProvider"`` gets its engine and timing caches in the user
            cache. A provider that ONNX Runtime cannot start is an error when named here
            (a warning, and the CPU, when ``None`` chose it).
        num_threads: intra-op threads; ``None`` lets ONNX Runtime use all cores.
        spin_wait: let idle intra-op threads spin (ONNX Runtime's default: lowest latency for
            a backend alone). ``False`` (``session.intra_op.allow_spinning = 0``) where
            backends are timed against each other: spinning threads keep the cores busy
            after a call and slow down whatever runs next.

    Raises:
        ModelError: the file is missing or not ONNX, carries no / unsupported wds-edge
            metadata, or its graph does not match its metadata.
        MissingDependencyError: onnxruntime is not installed.
    """

    name = "onnxruntime"

    def __init__(
        self,
        model_path: str | os.PathLike[str],
        *,
        providers: Sequence[str | tuple[str, dict[str, Any]]] | None = None,
        num_threads: int | None = None,
        spin_wait: bool = True,
    ) -> None:
        ort = require("onnxruntime", "running ONNX models")
        self.model_path = Path(model_path)
        self._session: Any = None
        source = str(self.model_path)
        require_model_file(self.model_path, RUNTIME_HINT)
        num_threads = check_num_threads(num_threads)
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3  # warnings about unused initializers are noise here
        if num_threads is not None:
            options.intra_op_num_threads = int(num_threads)
            options.inter_op_num_threads = 1
        if not spin_wait:
            options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.spin_wait = spin_wait
        chosen = [_with_caches(p) for p in providers] if providers is not None else (
            default_providers()
        )  # fmt: skip
        offered = ort.get_available_providers()
        unknown = [p for p in chosen if _name(p) not in offered]
        if unknown or not chosen:
            # ORT itself would print a warning and silently fall back to the CPU.
            raise BackendError(
                f"ONNX Runtime execution providers {unknown or chosen} are not available in this "
                f"build (it offers {offered}); install onnxruntime-gpu for CUDA/TensorRT, or pass "
                "providers=None"
            )
        try:
            self._session = ort.InferenceSession(source, sess_options=options, providers=chosen)
        except Exception as exc:  # ORT raises its own Fail/InvalidProtobuf/... classes
            text = str(exc)
            if "provider" in text.lower() and providers is not None:
                raise BackendError(
                    f"{source}: ONNX Runtime cannot use providers {chosen}: {text}. "
                    f"This build offers {ort.get_available_providers()}"
                ) from exc
            raise ModelError(
                f"{source}: ONNX Runtime cannot load the file as a model ({text.splitlines()[0]}); "
                "the file is corrupt or not ONNX - export it again with `wds-edge export`"
            ) from exc
        props = dict(self._session.get_modelmeta().custom_metadata_map)
        #: every ``metadata_props`` entry of the file (e.g. ``quantization`` of a Q/DQ model)
        self.metadata_props = props
        self.metadata = ModelMetadata.from_props(props, source=source)
        self.metadata.check_supported(source)
        self._graph_fixed_batch = check_graph(
            self.metadata, source,
            [GraphTensor(i.name, _shape(i.shape), _DTYPES.get(i.type, i.type))
             for i in self._session.get_inputs()],
            [GraphTensor(o.name, _shape(o.shape)) for o in self._session.get_outputs()],
        )  # fmt: skip
        #: ``"int8"`` for a Q/DQ model (it runs as exported: INT8), else ``"fp32"``
        self.precision = model_precision(self.model_path, props)
        if self.precision == "int8":  # a failed or missing gate record: a warning
            warn_unless_qdq_gated(source, props)
        active = self._session.get_providers()
        lost = [_name(p) for p in chosen if _name(p) not in active]
        if lost:  # ONNX Runtime only warns (on stdout) when a provider fails to load
            message = (
                f"ONNX Runtime could not start {lost} for {source} (missing CUDA / cuDNN / "
                f"TensorRT libraries?) and runs on {active}"
            )
            if providers is not None:
                self._session = None
                raise BackendError(message + "; fix the install or pass other providers")
            logger.warning("%s", message)
        if active and active[0] != "CPUExecutionProvider":
            # at run time, a failing GPU provider must raise, not re-run on the CPU unseen
            self._session.disable_fallback()
        self.providers = list(active)
        self.device = _DEVICE_NAMES.get(active[0], active[0]) if active else "CPU"
        logger.info("loaded %s on %s (providers %s)", source, self.device, active)

    @property
    def fixed_batch(self) -> int | None:
        """The batch size the graph insists on, or ``None`` for a dynamic batch."""
        return self._graph_fixed_batch

    def infer(self, batch_nchw: np.ndarray) -> np.ndarray:
        """Run the model on float32 ``(N, C, H, W)``; return float32 ``(N, 1, H, W)`` in [0, 1].

        A graph exported with a fixed batch of 1 is run once per image when N > 1; one of a
        fixed batch N > 1 takes exactly N images (:func:`check_fixed_batch`). Safe to
        call from several threads (ONNX Runtime's ``InferenceSession.run`` is).

        Raises:
            InvalidInputError: wrong dtype or shape (the message gives the expected one).
            BackendError: the session is closed or ONNX Runtime failed.
        """
        session = self._session  # one read: close() on another thread cannot pull it away
        if session is None:
            raise BackendError("this OnnxRuntimeBackend is closed; load the model again")
        batch = validate_batch(self.metadata, batch_nchw)
        feed_name = self.metadata.input_name
        out_name = self.metadata.output_name
        fixed = self.fixed_batch
        try:
            check_fixed_batch(fixed, len(batch))
            if fixed is not None and fixed != len(batch):  # a fixed batch of 1
                parts = [
                    session.run([out_name], {feed_name: batch[i : i + 1]})[0]
                    for i in range(len(batch))
                ]
                out = np.concatenate(parts, axis=0)
            else:
                out = session.run([out_name], {feed_name: batch})[0]
        except InvalidInputError:
            raise
        except Exception as exc:
            raise BackendError(f"ONNX Runtime failed to run {self.model_path}: {exc}") from exc
        out = np.asarray(out, dtype=np.float32)
        if out.ndim == 3:
            out = out[:, None]
        return out

    def close(self) -> None:
        """Release the ONNX Runtime session (idempotent)."""
        self._session = None

    def __repr__(self) -> str:
        return f"OnnxRuntimeBackend({str(self.model_path)!r}, device={self.device!r})"
