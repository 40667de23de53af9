"""`bench compare --backends onnxruntime:fp32,openvino:bf16,...`: one model, interleaved, with IoU.

Every ``backend:precision`` is loaded once in this process; then each round takes the
next face crop and calls every backend on it in turn (the order reversed every other
round), so background load on a shared machine hits all of them alike. Beside each
latency stands the mask IoU against the reference (the first FP32 entry, normally ONNX
Runtime FP32) on every crop, and the accuracy gate's verdict
(:func:`wds_edge.runtime.gate.accuracy_gate`: mean >= 0.98, worst >= 0.95; "not gated" when
the reference marks almost no pixel or almost every pixel of the crops as wrinkles, where
agreement shows nothing): a speed-up that breaks the masks is visible in the same row.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from wds_edge.bench.model_bench import threads_label
from wds_edge.bench.stats import LatencyStats, summarize_ms
from wds_edge.errors import InvalidInputError
from wds_edge.model.files import require_model_file
from wds_edge.runtime import BACKEND_NAMES, PRECISION_NAMES
from wds_edge.runtime.gate import VERDICT_CELLS

__all__ = [
    "BackendRow",
    "check_fp32_reference",
    "BackendCompareResult",
    "compare_backends",
    "MODELS_HINT",
    "paired_speedup",
    "parse_backend_specs",
]

logger = logging.getLogger(__name__)

#: What to pass instead of a ``--models`` file that is not there (after "no such model file").
MODELS_HINT = (
    "pass an .onnx exported with `wds-edge export` to --models, or leave --models out to "
    "compare the bundled model"
)


def paired_speedup(base_ms: Sequence[float], row_ms: Sequence[float]) -> float:
    """Median over rounds of ``base / row``, each ratio of two calls made back to back.

    A shared machine's slow and fast stretches (issue 25: one AMX VM swung between ~37 and
    ~70 ms per call, minutes at a time) move both calls of a round alike, so the ratio of the
    round holds where the ratio of two p50s need not.

    Raises:
        InvalidInputError: the lists differ in length or are empty.
    """
    if len(base_ms) != len(row_ms) or not base_ms:
        raise InvalidInputError(
            f"paired times need one entry per round on both sides, got {len(base_ms)} and "
            f"{len(row_ms)}"
        )
    return float(np.median([b / r for b, r in zip(base_ms, row_ms, strict=True)]))


def _mask(prob: np.ndarray, threshold: float) -> np.ndarray:
    """A model output as the gate's input: 1 where ``prob >= threshold``, else 0, NaN where
    it is not finite (float16, the output's shape)."""
    mask = (prob >= threshold).astype(np.float16)
    mask[~np.isfinite(prob)] = np.nan
    return mask


def _qdq_refusal(model: Path, loaded: str) -> InvalidInputError:
    """The refusal of an INT8 model as the FP32 reference (``loaded``: what the FP32 entry
    ran)."""
    kind = "a Q/DQ INT8" if model.suffix.lower() == ".onnx" else "an INT8"
    return InvalidInputError(
        f"{model} is {kind} model: every backend runs it in INT8 whatever the entry names "
        f"(the FP32 entry ran as {loaded}), so there is no FP32 reference for the IoU; compare "
        "its FP32 source with the INT8 entry instead (--models SOURCE.onnx --backends "
        "onnxruntime:fp32,openvino:int8, after `wds-edge quantize --format openvino --onnx "
        "SOURCE.onnx ...`), or time both files without IoU (--models SOURCE.onnx,"
        f"{model.name} --backends onnxruntime --widths '')"
    )


def check_fp32_reference(model: str | Path) -> None:
    """Refuse a Q/DQ INT8 ``.onnx`` as the model of BACKEND:PRECISION entries: ONNX Runtime
    and OpenVINO both run it in INT8 whatever precision the entry names, so the "FP32"
    reference would be INT8 and the IoU column would compare INT8 with INT8.

    Raises:
        InvalidInputError: ``model`` is a Q/DQ INT8 ONNX file.
    """
    from wds_edge.runtime.quantized import model_precision

    path = Path(model)
    if path.suffix.lower() == ".onnx" and path.is_file() and model_precision(path) == "int8":
        raise _qdq_refusal(path, "int8")


def parse_backend_specs(specs: Sequence[str]) -> list[tuple[str, str]]:
    """``["onnxruntime:fp32", "openvino:bf16"]`` -> ``[("onnxruntime", "fp32"), ...]``.

    Raises:
        InvalidInputError: an entry without ``:``, a backend not in
            :data:`~wds_edge.runtime.BACKEND_NAMES`, a precision not in
            :data:`~wds_edge.runtime.PRECISION_NAMES`, a duplicate, or no FP32 entry (the
            IoU reference).
    """
    pairs = []
    for spec in specs:
        backend, sep, precision = spec.strip().lower().partition(":")
        if not sep or not backend or not precision:
            raise InvalidInputError(
                f"backend entry {spec!r} must be BACKEND:PRECISION, e.g. openvino:bf16"
            )
        if backend not in BACKEND_NAMES:
            raise InvalidInputError(
                f"backend entry {spec!r}: unknown backend {backend!r}; choose one of "
                f"{', '.join(BACKEND_NAMES)} (e.g. onnxruntime:fp32,openvino:bf16)"
            )
        if precision not in PRECISION_NAMES:
            raise InvalidInputError(
                f"backend entry {spec!r}: unknown precision {precision!r}; choose one of "
                f"{', '.join(PRECISION_NAMES)} (e.g. onnxruntime:fp32,openvino:bf16)"
            )
        if (backend, precision) in pairs:
            raise InvalidInputError(f"{spec!r} is listed twice")
        pairs.append((backend, precision))
    if not pairs:
        raise InvalidInputError("no backends to compare: pass e.g. onnxruntime:fp32,openvino:bf16")
    if not any(p == "fp32" for _, p in pairs):
        raise InvalidInputError("list one FP32 entry (e.g. onnxruntime:fp32): the IoU reference")
    return pairs


@dataclass
class BackendRow:
    """One ``backend:precision``: latency, speed-up over the first entry, IoU vs the reference."""

    label: str
    backend: str
    precision: str
    device: str
    model_ms: LatencyStats
    speedup: float
    mean_iou: float
    min_iou: float
    gate_passed: bool
    #: :func:`paired_speedup` against the first entry (1.0 for the first entry itself)
    paired_speedup: float = 1.0
    #: the gate's verdict: "passed", "failed" or "not gated" (:attr:`GateResult.verdict`)
    gate_verdict: str = ""
    #: CPU inference threads asked for (``--threads``); None: the backend's default
    threads: int | None = None

    def row(self) -> dict[str, Any]:
        return {
            "config": self.label,
            "device": self.device,
            "threads": threads_label(self.threads),
            "p50_ms": round(self.model_ms.p50_ms, 2),
            "p90_ms": round(self.model_ms.p90_ms, 2),
            "mean_ms": round(self.model_ms.mean_ms, 2),
            "speedup": round(self.speedup, 2),
            "paired_speedup": round(self.paired_speedup, 2),
            "mean_iou": round(self.mean_iou, 4),
            "min_iou": round(self.min_iou, 4),
            "gate": VERDICT_CELLS.get(self.gate_verdict)
            or VERDICT_CELLS["passed" if self.gate_passed else "failed"],
        }


@dataclass
class BackendCompareResult:
    model: str
    reference: str
    crops: int
    rounds: int
    rows: list[BackendRow]
    notes: list[str] = field(default_factory=list)
    #: CPU inference threads asked for (``--threads``); None: each backend's default
    threads: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "reference": self.reference,
            "crops": self.crops,
            "rounds": self.rounds,
            "threads": threads_label(self.threads),
            "notes": self.notes,
            "rows": [{**r.row(), "model_ms": r.model_ms.to_dict()} for r in self.rows],
        }


def compare_backends(
    source: str | Path,
    specs: Sequence[str],
    *,
    model_path: str | Path | None = None,
    landmarker_path: str | Path | None = None,
    max_frames: int = 60,
    rounds: int = 30,
    warmup: int = 3,
    num_threads: int | None = None,
    on_step: Callable[[str], None] | None = None,
) -> BackendCompareResult:
    """Time ``specs`` on the face crops of ``source``, interleaved, with mask IoU vs FP32.

    Args:
        source: video or image folder the face crops come from (the kiosk crop path).
        specs: ``backend:precision`` entries; the first FP32 one is the IoU reference and
            the first entry the speed-up baseline.
        model_path: the FP32 ``.onnx`` (``None``: the bundled model); OpenVINO INT8 uses
            the ``.int8.xml`` next to it.
        max_frames: frames read from ``source`` for crops.
        rounds / warmup: timed / untimed rounds (one call of every backend per round).
        num_threads: CPU inference threads for every backend (``None``: all cores).
        on_step: progress callback.

    Raises:
        InvalidInputError: bad specs (:func:`parse_backend_specs`), a ``source`` path that
            does not exist, no face in ``source``, or an INT8 model (a Q/DQ ``.onnx``: its
            FP32 entry would run INT8, :func:`check_fp32_reference`).
        ModelError: no such ``model_path``.
    """
    from wds_edge.bench.compare import _collect
    from wds_edge.capture.sources import require_local_source
    from wds_edge.model.preprocessing import model_input
    from wds_edge.runtime import load_backend
    from wds_edge.runtime.gate import GATE_PRECISIONS, accuracy_gate

    pairs = parse_backend_specs(specs)
    require_local_source(source)
    if rounds < 1 or warmup < 0:
        raise InvalidInputError(f"need rounds >= 1 and warmup >= 0, got {rounds}, {warmup}")
    ref_index = next(i for i, (_, p) in enumerate(pairs) if p == "fp32")  # parse: there is one
    if model_path is None:
        from wds_edge.model.bundled import default_model_path

        model_path = default_model_path()
    model = require_model_file(model_path, MODELS_HINT)
    check_fp32_reference(model)  # before anything is loaded or read
    backends = []
    try:
        for name, precision in pairs:
            if on_step:
                on_step(f"loading {name}:{precision}")
            # interleaved timing: ONNX Runtime's spinning idle threads would slow the next one;
            # an OpenVINO BF16 / FP16 that fails auto's gate (synthetic crops) is compared too:
            # this comparison is the gate on the faces given
            allow = {"allow_accuracy_loss": True} if name == "openvino" else {}
            backends.append(load_backend(model, name, precision=precision,
                                         num_threads=num_threads, spin_wait=False,
                                         **allow))  # fmt: skip
        reference = backends[ref_index]
        if reference.precision != "fp32":  # e.g. an INT8 IR: the model decides, not the entry
            raise _qdq_refusal(model, f"{reference.name}:{reference.precision}")
        ref_label = f"{reference.name}:{reference.precision}"  # what was loaded
        meta = reference.metadata
        size = meta.input_size_hw[0]
        landmarker = None if landmarker_path is None else str(landmarker_path)
        _frames, _located, crops = _collect(source, max_frames, landmarker, model, size)
        inputs = [model_input(c, meta.preprocessing) for c in crops]
        if on_step:
            on_step(f"masks of {len(inputs)} crops")
        # each output kept as its mask (1 / 0, NaN where the output was not finite) in
        # float16: the gate's IoU, wrinkle fractions and NaN count at threshold 0.5 are those
        # of the probabilities at the model's threshold, at an eighth of their memory
        masks = [[_mask(be.infer(x), meta.threshold) for x in inputs] for be in backends]
        times: list[list[float]] = [[] for _ in backends]
        for r in range(warmup + rounds):
            if on_step and r % 5 == 0:
                on_step(f"round {r + 1} of {warmup + rounds}")
            x = inputs[r % len(inputs)]
            order = list(range(len(backends)))
            for i in order if r % 2 == 0 else reversed(order):
                t0 = time.perf_counter()
                backends[i].infer(x)
                if r >= warmup:
                    times[i].append((time.perf_counter() - t0) * 1000.0)
        rows = []
        base = summarize_ms(times[0])
        void = ""
        for i, be in enumerate(backends):
            ref_it, cand_it = iter(masks[ref_index]), iter(masks[i])
            gate = accuracy_gate(
                lambda _x, it=ref_it: next(it), lambda _x, it=cand_it: next(it), inputs,
                precision=be.precision if be.precision in GATE_PRECISIONS else "fp32",
            )  # fmt: skip
            void = void or gate.not_gated
            stats = summarize_ms(times[i])
            rows.append(
                BackendRow(
                    label=f"{be.name}:{be.precision}", backend=be.name, precision=be.precision,
                    device=be.device, model_ms=stats, speedup=base.p50_ms / stats.p50_ms,
                    mean_iou=gate.mean_iou, min_iou=gate.min_iou, gate_passed=gate.passed,
                    paired_speedup=paired_speedup(times[0], times[i]),
                    gate_verdict=gate.verdict, threads=num_threads,
                )
            )  # fmt: skip
    finally:
        for be in backends:
            be.close()
    notes = [
        f"interleaved: {rounds} rounds (+{warmup} warm-up), every backend once per round on the "
        "same crop; speedup = first entry's p50 / row's p50; paired_speedup = median over "
        "rounds of the first entry's time / the row's time in the same round (holds when a "
        "shared machine's speed drifts during the run)",
        f"IoU: thresholded masks vs {ref_label} on all {len(inputs)} face crops",
    ]
    if void:
        notes.append(
            f"gate not gated: {void}; the IoU column shows nothing about precision here - "
            "compare on crops where the model finds wrinkles (other faces, --source), or "
            "check the model"
        )
    return BackendCompareResult(
        str(model), ref_label, len(inputs), rounds, rows, notes, threads=num_threads
    )
