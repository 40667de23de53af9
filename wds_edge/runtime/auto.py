"""``auto`` on a CPU: probe once which backend x precision is fastest *and* passes the gate.

Candidates: ONNX Runtime FP32 (the reference and portable fallback), OpenVINO FP32, and
OpenVINO BF16 / FP16 / INT8 where the CPU runs them natively (INT8 also needs the NNCF
model next to the FP32 one, :func:`wds_edge.runtime.openvino.int8_model_path`, made from
this very FP32 file and recorded as having passed its gate on held-out people's crops,
:func:`wds_edge.runtime.openvino.int8_companion`; a stale or failed one is logged and left
out). Each candidate runs the same :data:`PROBE_IMAGES` (4) deterministic *synthetic* skin
crops (:mod:`wds_edge.runtime.probe_inputs`), interleaved, one call per candidate per image:
every image's mask is compared with ONNX Runtime FP32 by the one accuracy gate
(:mod:`wds_edge.runtime.gate`: mean IoU >= 0.98, worst image >= 0.95); then
:data:`PROBE_TIMED_ROUNDS` more rounds, the order rotated each round, time the candidates;
the first call of each is the warm-up and the median of the others is the latency. ONNX
Runtime runs without spin-waiting here (``allow_spinning = 0``), so that its idle threads
do not slow down the candidate after it. A candidate that cannot load or fails while
running is skipped with the reason. The fastest candidate that passes wins, with one
rule: a reduced precision (BF16 / FP16 / INT8) wins only when it is at least
:data:`REDUCED_PRECISION_MIN_GAIN` faster than the fastest FP32 candidate that passed (it
passed the gate, but its masks are not FP32's: it has to buy real speed).

What the gate sees: those 4 synthetic crops, not faces. The SDK ships no face photos, so
at run time ``auto`` gates OpenVINO BF16 / FP16 on synthetic skin only (where the FP32
masks of the 4 crops cover less than
:data:`~wds_edge.runtime.gate.MIN_REFERENCE_WRINKLE_FRACTION` or more than
:data:`~wds_edge.runtime.gate.MAX_REFERENCE_WRINKLE_FRACTION` of their pixels, the gate's
verdict is "not gated" and only FP32 is allowed). INT8 is the one candidate that also
carries a gate on held-out people's crops: the one its file records from ``wds-edge
quantize``. BF16 against FP32 on held-out faces was measured once, off-line, for the
bundled model: ``benchmarks/RESULTS.md``, "Issue 25 on an AMX Xeon": OpenVINO BF16 on the
21 ``faces_pd`` portraits, mean mask IoU 0.994, worst 0.983 (``wds-edge bench compare
--source FACES_DIR``). Check a model of your own the same way on held-out kiosk crops
(``wds-edge bench compare --source HELD_OUT_DIR --backends
onnxruntime:fp32,openvino:bf16``) before deploying it: ``auto`` does not.

The decision is cached as JSON (an :class:`AutoDecision`) in the user cache, one file
per model and configuration (thread count and candidate set: processes configured
differently keep their own decisions), keyed by the CPU model, the model's sha256 (and its
INT8 companion's), the library versions, the thread count and the candidate set; any
change invalidates it and the next start probes again. A probe takes a few seconds
(compiles go to OpenVINO's model cache).
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import importlib
import importlib.util
import json
import logging
import os
import platform
import statistics
import time
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from wds_edge.errors import AccuracyGateError, BackendError, ModelError, OutputError
from wds_edge.io import sha256_file, write_json_atomic
from wds_edge.runtime.base import Backend

__all__ = [
    "AutoDecision",
    "AutoKey",
    "ProbeRow",
    "auto_cache_path",
    "auto_key",
    "cpu_candidates",
    "decide_cpu_backend",
    "gate_cpu_candidate",
    "load_candidate",
]

logger = logging.getLogger(__name__)

#: Layout version of the cached decision (a new layout re-probes). 3: a Q/DQ INT8 model
#: has no OpenVINO BF16 / FP16 candidate any more (its FP32 layers stay FP32). 4: the gate's
#: "not gated" verdict (an FP32 reference marking almost no or almost every pixel of the
#: probe images passes only FP32): an older decision may have picked BF16 / FP16 / INT8 on
#: a gate that showed nothing. 5: OpenVINO's compiled-model cache keeps each precision hint
#: apart: an older probe may have timed one precision's cached kernels under another's name.
DECISION_FORMAT = 5
#: Synthetic images in the probe's gate (the first call also warms up).
PROBE_IMAGES = 4
#: Further interleaved rounds that only time the candidates.
PROBE_TIMED_ROUNDS = 6
#: OpenVINO precisions the probe tries, each where the CPU runs it natively (and INT8 where
#: a gated INT8 IR sits next to the model).
OPENVINO_PRECISIONS = ("fp32", "bf16", "fp16", "int8")
_REFERENCE = ("onnxruntime", "fp32")
#: A reduced precision wins only when its probe latency is at least this share below the
#: fastest passing FP32 candidate's: FP32 stays unless a reduced precision buys real speed
#: (>= 10 %), so that a near tie is not decided by the probe's noise, labelling the same
#: model FP32 on one start and BF16 / FP16 on the next, with other masks. BF16 on AMX (3x,
#: benchmarks/RESULTS.md, issue 25) clears it by far; an INT8 companion keeps some layers
#: FP32 and must show its own gain (every convolution in INT8 ran 2.6x on VNNI, but fails
#: the gate).
REDUCED_PRECISION_MIN_GAIN = 0.10


class AutoKey(BaseModel):
    """Everything the decision depends on; a cached decision with another key is stale."""

    model_config = ConfigDict(protected_namespaces=())  # model_sha256 (pydantic < 2.10 warns)
    cpu: str
    model_sha256: str
    int8_sha256: str | None = None
    versions: dict[str, str]
    num_threads: int | None = None
    candidates: list[str]


class ProbeRow(BaseModel):
    """One candidate's probe figures."""

    backend: str
    precision: str
    latency_ms: float | None = None
    mean_iou: float | None = None
    min_iou: float | None = None
    passed: bool = False
    reason: str = ""


class AutoDecision(BaseModel):
    """The cached outcome of one probe."""

    format: int = DECISION_FORMAT
    key: AutoKey
    backend: str
    precision: str
    rows: list[ProbeRow] = Field(default_factory=list)
    probe_s: float = 0.0
    probed_at: str = ""
    #: True when this decision was read from the cache (not stored in the file).
    cached: bool = Field(False, exclude=True)


def _cpu_model() -> str:
    """CPU model, family / model / stepping and a hash of the ISA flags (Linux), else platform."""
    fields: dict[str, str] = {}
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            name, _, value = line.partition(":")
            name = name.strip()
            if name in ("model name", "cpu family", "model", "stepping", "flags", "Features"):
                fields.setdefault(name, value.strip())
            if not line.strip() and fields:
                break
    except OSError:
        pass
    flags = fields.pop("flags", fields.pop("Features", ""))
    parts = [fields.get("model name") or platform.processor() or platform.machine()]
    parts += [f"{k} {fields[k]}" for k in ("cpu family", "model", "stepping") if k in fields]
    if flags:
        parts.append("flags " + hashlib.sha256(flags.encode()).hexdigest()[:12])
    return f"{'; '.join(parts)}; {os.cpu_count()} cpus"


#: The module each library of the key imports as: its ``__version__`` is what runs, whichever
#: pip distribution installed it (``onnxruntime-gpu``, ``openvino-nightly``) or none did (a
#: source build), as :func:`wds_edge.runtime.available_backends` finds it by import.
_KEY_MODULES = {
    "wds-edge": "wds_edge", "onnxruntime": "onnxruntime", "openvino": "openvino",
    "numpy": "numpy",
}  # fmt: skip


def _has_module(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def _version(name: str) -> str:
    """The version of the library ``name`` (:data:`_KEY_MODULES`) that imports here, or
    ``"absent"``."""
    module = _KEY_MODULES.get(name, name)
    if not _has_module(module):
        return "absent"
    try:
        return str(importlib.import_module(module).__version__)
    except Exception as exc:  # noqa: BLE001 - a library that fails to import is not there
        logger.debug("auto: %s does not import (%s)", module, exc)
        return "absent"


def _openvino_imports() -> bool:
    """Whether OpenVINO is installed and imports: a package that is found but whose import
    fails (its shared library missing, a broken install) is no candidate (logged), as an
    absent one."""
    if not _has_module("openvino"):
        return False
    try:
        importlib.import_module("openvino")
    except Exception as exc:  # noqa: BLE001 - ImportError, OSError of a broken install
        logger.warning(
            "auto: OpenVINO does not import (%s); it is not considered: reinstall it "
            "(pip install --force-reinstall openvino) to have it compared",
            exc,
        )
        return False
    return True


def cpu_candidates(model_path: str | os.PathLike[str], backends: tuple[str, ...] = ()) -> list[str]:
    """``backend:precision`` names the probe will try for this model on this CPU.

    Args:
        model_path: the FP32 ``.onnx`` model. A Q/DQ INT8 one (``wds-edge quantize --format
            qdq``) gets ONNX Runtime and OpenVINO with its unquantized layers in f32 only
            (both report ``int8``).
        backends: restrict to these backends (``()``: all). The ONNX Runtime FP32 reference
            is always probed (it is what the others are gated against).
    """
    names = ["onnxruntime:fp32"]
    if (not backends or "openvino" in backends) and _openvino_imports():
        from wds_edge.runtime.openvino import int8_companion, native_precisions
        from wds_edge.runtime.quantized import model_precision

        native = native_precisions("CPU")
        if model_precision(model_path) == "int8":  # Q/DQ: every candidate runs its INT8 graph
            return names + (["openvino:fp32"] if "fp32" in native else [])
        for precision in OPENVINO_PRECISIONS:
            if precision not in native:
                continue
            if precision == "int8":
                ir, why = int8_companion(model_path)
                if ir is None:
                    if why:  # a stale or failed INT8 next to the model: say so, run without it
                        logger.warning("auto: INT8 not considered: %s", why)
                    continue
            names.append(f"openvino:{precision}")
    return names


def auto_key(
    model_path: str | os.PathLike[str], candidates: list[str], num_threads: int | None
) -> AutoKey:
    """The :class:`AutoKey` of a model on this machine now."""
    from wds_edge.runtime.openvino import int8_model_path

    int8 = int8_model_path(model_path)
    return AutoKey(
        cpu=_cpu_model(),
        model_sha256=sha256_file(model_path),
        int8_sha256=sha256_file(int8) if "openvino:int8" in candidates else None,
        versions={d: _version(d) for d in ("wds-edge", "onnxruntime", "openvino", "numpy")},
        num_threads=num_threads,
        candidates=candidates,
    )


def auto_cache_path(key: AutoKey, cache_dir: str | os.PathLike[str] | None = None) -> Path:
    """The decision file of a model in one configuration:
    ``<user cache>/wds-edge/auto/<model sha256[:16]>-<sha256 of threads + candidates>[:8].json``.

    What a process chooses (thread count, candidates) names the file; what changes under
    it (versions, CPU, the INT8 companion) is checked inside it, and re-probes.
    """
    if cache_dir is None:
        import platformdirs

        cache_dir = Path(platformdirs.user_cache_dir("wds-edge")) / "auto"
    config = json.dumps({"num_threads": key.num_threads, "candidates": key.candidates})
    config_id = hashlib.sha256(config.encode()).hexdigest()[:8]
    return Path(cache_dir) / f"{key.model_sha256[:16]}-{config_id}.json"


def _read_cached(path: Path, key: AutoKey) -> AutoDecision | None:
    if not path.is_file():
        return None
    try:
        decision = AutoDecision.model_validate(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, ValidationError) as exc:
        logger.warning("%s: unreadable auto decision (%s); probing again", path, exc)
        return None
    if decision.format != DECISION_FORMAT or decision.key != key:
        changed = [
            k for k in AutoKey.model_fields if getattr(decision.key, k) != getattr(key, k)
        ] or ["format"]
        logger.info("auto decision %s is stale (%s changed); probing again", path, changed)
        return None
    decision.cached = True
    return decision


def load_candidate(
    model_path: str | os.PathLike[str],
    name: str,
    num_threads: int | None = None,
    *,
    spin_wait: bool = True,
) -> Backend:
    """Load one ``backend:precision`` candidate (``onnxruntime:fp32``, ``openvino:bf16``, ...).

    ``spin_wait=False``: ONNX Runtime's idle threads do not spin (for timing candidates).
    """
    backend, _, precision = name.partition(":")
    if backend == "onnxruntime":
        from wds_edge.runtime.onnxruntime import OnnxRuntimeBackend

        return OnnxRuntimeBackend(
            model_path, providers=["CPUExecutionProvider"], num_threads=num_threads,
            spin_wait=spin_wait,
        )  # fmt: skip
    from wds_edge.runtime.openvino import OpenVinoBackend

    return OpenVinoBackend(model_path, precision=precision, num_threads=num_threads)


def _probe(model_path: Path, candidates: list[str], num_threads: int | None) -> list[ProbeRow]:
    """Load every candidate, run the probe images interleaved, gate each against the reference,
    then time them in further interleaved rounds."""
    import numpy as np

    from wds_edge.model.preprocessing import model_input
    from wds_edge.runtime.gate import accuracy_gate
    from wds_edge.runtime.probe_inputs import synthetic_skin_crops

    rows: dict[str, ProbeRow] = {}
    loaded: dict[str, Backend] = {}
    ref_name = ":".join(_REFERENCE)

    def drop(name: str, why: str) -> None:
        if name == ref_name:  # the reference's failure is the probe's
            raise BackendError(f"auto: the ONNX Runtime FP32 reference failed: {why}")
        rows[name].reason = why
        loaded.pop(name).close()

    def run(name: str, x: np.ndarray) -> tuple[np.ndarray, float] | None:
        t0 = time.perf_counter()
        try:
            out = loaded[name].infer(x)
        except Exception as exc:  # noqa: BLE001 - any failure drops the candidate, with why
            drop(name, f"failed while running: {type(exc).__name__}: {exc}")
            return None
        return out, (time.perf_counter() - t0) * 1000.0

    try:
        for name in candidates:
            backend, _, precision = name.partition(":")
            rows[name] = ProbeRow(backend=backend, precision=precision)
            if name == ref_name:  # a model the reference refuses is refused, as it is
                loaded[name] = load_candidate(model_path, name, num_threads, spin_wait=False)
                continue
            try:
                loaded[name] = load_candidate(model_path, name, num_threads, spin_wait=False)
            except (
                BackendError, ModelError, ImportError, RuntimeError, OSError, ValueError,
            ) as exc:  # fmt: skip
                # ImportError: an OpenVINO without what a precision needs (2024.x and
                # ``openvino.opset13``); MissingDependencyError is one. ValueError (and
                # InvalidInputError, one): a parameter of the model one backend cannot use.
                # Skip the candidate.
                rows[name].reason = f"not loadable: {type(exc).__name__}: {exc}"
        meta = loaded[ref_name].metadata
        size = meta.input_size_hw[0]
        repeat = getattr(loaded[ref_name], "fixed_batch", None) or 1  # a fixed batch N: N rows
        inputs = [
            np.repeat(model_input(c, meta.preprocessing), repeat, axis=0)
            for c in synthetic_skin_crops(size, PROBE_IMAGES)
        ]
        outputs: dict[str, list[np.ndarray]] = {n: [] for n in loaded}
        times: dict[str, list[float]] = {n: [] for n in loaded}
        for i in range(len(inputs) + PROBE_TIMED_ROUNDS):
            x = inputs[i % len(inputs)]
            names = list(loaded)
            shift = i % len(names)
            for name in names[shift:] + names[:shift]:  # each candidate leads in turn
                if name not in loaded:
                    continue
                result = run(name, x)
                if result is not None:
                    if i < len(inputs):
                        outputs[name].append(result[0])
                    times[name].append(result[1])
        reference = outputs[ref_name]
        for name in loaded:
            row = rows[name]
            row.latency_ms = round(statistics.median(times[name][1:] or times[name]), 2)
            ref_iter, cand_iter = iter(reference), iter(outputs[name])
            gate = accuracy_gate(
                lambda _x, it=ref_iter: next(it),
                lambda _x, it=cand_iter: next(it),
                inputs,
                precision=row.precision,
                threshold=meta.threshold,
            )
            row.mean_iou, row.min_iou = round(gate.mean_iou, 4), round(gate.min_iou, 4)
            row.passed, row.reason = gate.passed, gate.reason
            if gate.not_gated:  # the probe images prove nothing for this model: FP32 only
                row.passed = row.precision == "fp32"
                row.reason = (
                    f"not gated: {gate.not_gated}; reduced precision cannot be checked, FP32 only"
                )
    finally:
        for backend in loaded.values():
            backend.close()
    return list(rows.values())


def _fastest(rows: list[ProbeRow]) -> ProbeRow | None:
    """The winner among ``rows``: the fastest that passed, except that a reduced precision
    must beat the fastest passing FP32 row by :data:`REDUCED_PRECISION_MIN_GAIN` (None: no
    row passed)."""
    ok = [r for r in rows if r.passed and r.latency_ms is not None]
    full = [r for r in ok if r.precision == "fp32"]
    reduced = [r for r in ok if r.precision != "fp32"]
    best_full = min(full, key=lambda r: r.latency_ms or 0.0, default=None)
    best_reduced = min(reduced, key=lambda r: r.latency_ms or 0.0, default=None)
    if best_full is None or best_reduced is None:
        return best_full or best_reduced
    gain = 1.0 - (best_reduced.latency_ms or 0.0) / (best_full.latency_ms or 1.0)
    return best_reduced if gain >= REDUCED_PRECISION_MIN_GAIN else best_full


def _decision(
    path: Path,
    candidates: list[str],
    num_threads: int | None,
    cache_dir: str | os.PathLike[str] | None,
    reprobe: bool,
) -> tuple[AutoDecision, Path]:
    """The cached decision of ``candidates`` on this machine, or a new probe's (written to
    the cache); with the file it lives in."""
    key = auto_key(path, candidates, num_threads)
    file = auto_cache_path(key, cache_dir)
    decision = None if reprobe else _read_cached(file, key)
    if decision is not None:
        return decision, file
    t0 = time.perf_counter()
    rows = _probe(path, candidates, num_threads)
    probe_s = time.perf_counter() - t0
    best = _fastest(rows)
    if best is None:
        raise BackendError(
            "auto: no CPU backend passed: "
            + "; ".join(f"{r.backend}:{r.precision} {r.reason}" for r in rows)
        )
    decision = AutoDecision(
        key=key, backend=best.backend, precision=best.precision, rows=rows,
        probe_s=round(probe_s, 2), probed_at=_dt.datetime.now(_dt.timezone.utc).isoformat(),
    )  # fmt: skip
    try:
        write_json_atomic(file, decision.model_dump(mode="json"))
    except (OSError, OutputError) as exc:  # a read-only cache: probe again next time
        logger.warning("could not cache the auto decision in %s: %s", file, exc)
    for row in rows:
        logger.info("auto probe %s:%s %s ms, %s", row.backend, row.precision,
                    row.latency_ms, row.reason)  # fmt: skip
    return decision, file


def decide_cpu_backend(
    model_path: str | os.PathLike[str],
    *,
    num_threads: int | None = None,
    backends: tuple[str, ...] = (),
    precisions: tuple[str, ...] = (),
    cache_dir: str | os.PathLike[str] | None = None,
    reprobe: bool = False,
) -> AutoDecision:
    """The fastest CPU backend x precision that passes the gate, cached per key.

    Args:
        model_path: FP32 ``.onnx`` model.
        num_threads: inference threads for every candidate (part of the key).
        backends: restrict the winner to these backends (``("openvino",)``); ``()``: any.
        precisions: restrict the winner to these precisions (``("fp32",)``); ``()``: any.
        cache_dir: folder of the decision files (``None``: the user cache).
        reprobe: ignore a cached decision.

    Returns:
        The :class:`AutoDecision` (``cached`` says whether it came from the cache).

    Raises:
        ModelError / BackendError: the ONNX Runtime reference refuses the model (its own
            error), or no allowed candidate passed (the message lists every reason).
    """
    path = Path(model_path)
    candidates = cpu_candidates(path, backends)
    allowed = [
        c
        for c in candidates
        if (not backends or c.split(":")[0] in backends)
        and (not precisions or c.split(":")[1] in precisions)
    ]
    if not allowed:
        raise BackendError(
            f"no CPU candidate matches backends {backends or 'any'} and precisions "
            f"{precisions or 'any'} here (available: {', '.join(candidates)})"
        )
    decision, file = _decision(path, candidates, num_threads, cache_dir, reprobe)
    ok = [
        r for r in decision.rows
        if r.passed and r.latency_ms is not None and f"{r.backend}:{r.precision}" in allowed
    ]  # fmt: skip
    if not ok:
        raise BackendError(
            f"auto: no allowed candidate ({', '.join(allowed)}) passed the gate: "
            + "; ".join(f"{r.backend}:{r.precision} {r.reason}" for r in decision.rows)
        )
    best = _fastest(ok)
    assert best is not None  # ok is not empty
    chosen = decision.model_copy(update={"backend": best.backend, "precision": best.precision})
    logger.info(
        "auto: %s %s (%s ms; %s decision %s)", chosen.backend, chosen.precision, best.latency_ms,
        "cached" if chosen.cached else "new", file,
    )  # fmt: skip
    return chosen


def gate_cpu_candidate(
    model_path: str | os.PathLike[str],
    name: str,
    *,
    num_threads: int | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    allow_accuracy_loss: bool = False,
) -> AutoDecision:
    """Gate one CPU candidate asked for by name (``openvino:bf16`` of ``--backend openvino
    --precision bf16``) by ``auto``'s own gate: its row of the cached decision (the one
    ``--backend openvino --precision auto`` and ``auto`` use: same key, same file), else a
    new probe, which is cached (a second start reads it; no probe).

    Args:
        model_path: the FP32 ``.onnx`` model.
        name: a ``backend:precision`` among :func:`cpu_candidates` of its backend.
        num_threads: inference threads (part of the key, as for :func:`decide_cpu_backend`).
        cache_dir: folder of the decision files (``None``: the user cache).
        allow_accuracy_loss: a candidate that failed, or was not gated, is kept with a warning.

    Returns:
        The decision, its ``backend`` / ``precision`` set to ``name``'s.

    Raises:
        AccuracyGateError: the candidate failed the gate, was not gated (the FP32 model marks
            almost no or almost every pixel of the probe crops) or failed in the probe; the
            message gives its row's reason and names ``--precision fp32`` / ``auto``.
        BackendError: ``name`` is not a candidate on this CPU, or the probe failed.
    """
    path = Path(model_path)
    backend, _, precision = name.partition(":")
    candidates = cpu_candidates(path, (backend,))
    if name not in candidates:
        raise BackendError(
            f"{name} is not a CPU candidate for {path} here (candidates: {', '.join(candidates)})"
        )
    decision, file = _decision(path, candidates, num_threads, cache_dir, False)
    row = next(r for r in decision.rows if f"{r.backend}:{r.precision}" == name)
    chosen = decision.model_copy(update={"backend": backend, "precision": precision})
    if row.passed:
        logger.info("%s: %s passed auto's gate (%s decision %s): %s", path, name,
                    "cached" if decision.cached else "new", file, row.reason)  # fmt: skip
        return chosen
    message = (
        f"{path}: --backend {backend} --precision {precision} did not pass the accuracy gate "
        f"`auto` uses for {precision.upper()} (its masks against ONNX Runtime FP32 on "
        f"{PROBE_IMAGES} synthetic skin crops; decision {file}): {row.reason}"
    )
    if allow_accuracy_loss:
        logger.warning("%s; kept because accuracy loss was allowed", message)
        return chosen
    raise AccuracyGateError(
        f"{message}. Use --precision fp32, or --precision auto (the fastest precision that "
        "passes here); or keep it unchecked with load_backend(..., "
        "allow_accuracy_loss=True)"
    )
