"""`bench model`: latency of one model on one backend (warm-up, then timed runs).

Reports min / p50 / p90 / p99 / max per batch, throughput in images per second and
the achieved GFLOP/s against the model's FLOP count (``2 x conv MACs`` per image,
from the model's metadata, or counted from the ONNX graph when the metadata lacks it).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from wds_edge.bench.stats import LatencyStats, summarize_ms, time_calls_ms
from wds_edge.errors import InvalidInputError
from wds_edge.model.preprocessing import Preprocessing
from wds_edge.progress import ProgressCallback
from wds_edge.runtime.base import Backend

__all__ = [
    "ModelBenchResult",
    "threads_label",
    "bench_backend",
    "benchmark_model",
    "conv_macs",
    "count_onnx_gflops",
    "synthetic_input",
]

logger = logging.getLogger(__name__)


def threads_label(num_threads: int | None) -> int | str:
    """The CPU inference threads a benchmark asked for, as its reports write them: the
    number given (``--threads``), or ``"default"`` (the backend's own choice)."""
    return "default" if num_threads is None else int(num_threads)


@dataclass
class ModelBenchResult:
    """Latency of ``runs`` timed calls of ``backend.infer`` on a ``batch`` of images."""

    model: str
    backend: str
    device: str
    precision: str
    batch: int
    input_size_px: int
    warmup: int
    runs: int
    latency: LatencyStats
    gflops_per_image: float | None
    #: Extra backend-specific timing (TensorRT H2D / compute / D2H, CUDA graphs), if any.
    breakdown: dict[str, Any] = field(default_factory=dict)
    #: CPU inference threads asked for (``--threads``); None: the backend's default.
    threads: int | None = None

    @property
    def throughput_img_s(self) -> float:
        return self.batch * 1000.0 / self.latency.mean_ms

    @property
    def achieved_gflop_s(self) -> float | None:
        if self.gflops_per_image is None:
            return None
        return self.gflops_per_image * self.throughput_img_s

    def to_dict(self) -> dict[str, Any]:
        gflop_s = self.achieved_gflop_s
        return {
            "model": self.model,
            "backend": self.backend,
            "device": self.device,
            "precision": self.precision,
            "batch": self.batch,
            "input_size_px": self.input_size_px,
            "threads": threads_label(self.threads),
            "warmup": self.warmup,
            "runs": self.runs,
            "latency_ms": self.latency.to_dict(),
            "throughput_img_s": round(self.throughput_img_s, 3),
            "gflops_per_image": self.gflops_per_image,
            "achieved_gflop_s": None if gflop_s is None else round(gflop_s, 2),
            "breakdown": self.breakdown,
        }

    def row(self) -> dict[str, Any]:
        """Flat row for tables / CSV."""
        lat = self.latency
        gflop_s = self.achieved_gflop_s
        return {
            "model": Path(self.model).name,
            "backend": self.backend,
            "precision": self.precision,
            "batch": self.batch,
            "size_px": self.input_size_px,
            "threads": threads_label(self.threads),
            "min_ms": round(lat.min_ms, 2),
            "p50_ms": round(lat.p50_ms, 2),
            "p90_ms": round(lat.p90_ms, 2),
            "p99_ms": round(lat.p99_ms, 2),
            "max_ms": round(lat.max_ms, 2),
            "img_per_s": round(self.throughput_img_s, 2),
            "gflops_img": self.gflops_per_image,
            "gflop_per_s": None if gflop_s is None else round(gflop_s, 1),
        }


def conv_macs(model: Any) -> int:
    """Multiply-accumulates of every Conv node of an ``onnx.ModelProto``, per image.

    MACs of a Conv = output elements of one image (C_out x H x W: the batch axis is left
    out, so a fixed batch N counts one image, not N, as a dynamic batch does) x
    (C_in / group) x kH x kW, from the graph's inferred shapes. Counts convolutions only
    (the U-Net's cost is >99 % convolutions; the in-graph texture blur is two 1-D
    convolutions and is counted too). Convolutions whose shapes cannot be inferred are
    skipped with a warning.
    """
    import onnx

    inferred = onnx.shape_inference.infer_shapes(model)
    graph = inferred.graph
    shapes = {
        vi.name: [max(d.dim_value, 1) for d in vi.type.tensor_type.shape.dim]
        for vi in [*graph.value_info, *graph.output, *graph.input]
    }
    weights = {init.name: list(init.dims) for init in graph.initializer}
    for node in graph.node:  # simplifiers sometimes leave weights as Constant nodes
        if node.op_type == "Constant" and node.attribute and node.attribute[0].name == "value":
            weights[node.output[0]] = list(node.attribute[0].t.dims)
    macs = 0
    for node in graph.node:
        if node.op_type != "Conv":
            continue
        w, out = weights.get(node.input[1]), shapes.get(node.output[0])
        if w is None or out is None:
            logger.warning("conv %s: shapes unknown, not counted in GFLOPs", node.name)
            continue
        # out elements of one image (axis 0: the batch) x C_in/group x kH x kW
        macs += int(np.prod(out[1:])) * int(np.prod(w[1:]))
    return macs


def count_onnx_gflops(model_path: str | Path) -> float | None:
    """``2 x`` the multiply-accumulates of every Conv of an ONNX graph, per image, in GFLOPs.

    Needs the ``onnx`` package (desktop extra); returns None when it is absent or the
    file is not ONNX (a TensorRT engine), so callers can report "unknown".
    """
    try:
        import onnx
    except ImportError:
        logger.info("onnx not installed: cannot count FLOPs of %s", model_path)
        return None
    try:
        proto = onnx.load(str(model_path))
    except Exception as exc:  # onnx raises DecodeError / ValidationError / OSError
        logger.info("cannot read %s as ONNX to count FLOPs: %s", model_path, exc)
        return None
    macs = conv_macs(proto)
    return 2 * macs / 1e9 if macs else None


def synthetic_input(backend: Backend, batch: int, seed: int = 0) -> np.ndarray:
    """A random float32 NCHW batch in the model's declared input range.

    Latency of a dense CNN does not depend on pixel values, so noise is a fair input.
    """
    meta = backend.metadata
    n_model, c, h, w = meta.input_shape
    if batch < 1:
        raise InvalidInputError(f"batch must be >= 1, got {batch}")
    if n_model > 0 and batch != n_model:
        raise InvalidInputError(
            f"this model has a fixed batch of {n_model}; pass --batch {n_model} or export it "
            "with a dynamic batch (`wds-edge export --batch dynamic`)"
        )
    hi = 255.0 if meta.preprocessing is Preprocessing.TEXTURE_IN_GRAPH else 1.0
    rng = np.random.default_rng(seed)
    return (rng.random((batch, c, h, w), dtype=np.float32) * hi).astype(np.float32)


def bench_backend(
    backend: Backend,
    *,
    model_label: str,
    precision: str = "fp32",
    batch: int = 1,
    warmup: int = 5,
    runs: int = 50,
    on_run: ProgressCallback | None = None,
    threads: int | None = None,
) -> ModelBenchResult:
    """Time ``backend.infer`` on a synthetic batch.

    Args:
        backend: a loaded backend (not closed here).
        model_label: the model's path or name for the report; its ONNX graph is read
            to count FLOPs when the metadata has no ``architecture.gflops``.
        precision: precision label for the report (the backend was loaded with it).
        batch: images per call.
        warmup: untimed calls first (allocations, kernel selection, caches).
        runs: timed calls (wall clock, ``time.perf_counter``).
        on_run: called as ``on_run(runs_done, runs, "")`` after every timed run.
        threads: the CPU inference threads the backend was loaded with, for the report
            (None: its default).

    Raises:
        InvalidInputError: ``runs < 1``, ``warmup < 0`` or a batch the model cannot take.
    """
    if runs < 1 or warmup < 0:
        raise InvalidInputError(f"need runs >= 1 and warmup >= 0, got runs={runs} warmup={warmup}")
    x = synthetic_input(backend, batch)
    times_ms = time_calls_ms(backend.infer, x, warmup=warmup, runs=runs, on_run=on_run)
    gflops = backend.metadata.architecture.gflops
    if gflops is None and str(model_label).endswith(".onnx"):
        gflops = count_onnx_gflops(model_label)
    breakdown: dict[str, Any] = {}
    profile = getattr(backend, "profile_transfers", None)
    if callable(profile):
        # The TensorRT backend may expose H2D / compute / D2H timing (with and without
        # CUDA graphs); other backends have no such split.
        breakdown = dict(profile(x, runs=min(runs, 50)))
    return ModelBenchResult(
        model=str(model_label),
        backend=backend.name,
        device=backend.device,
        precision=precision,
        batch=batch,
        input_size_px=backend.metadata.input_size_hw[0],
        warmup=warmup,
        runs=runs,
        latency=summarize_ms(times_ms),
        gflops_per_image=gflops,
        breakdown=breakdown,
        threads=threads,
    )


def benchmark_model(
    model_path: str | Path,
    *,
    backend: str = "auto",
    precision: str = "auto",
    batch: int = 1,
    warmup: int = 5,
    runs: int = 50,
    num_threads: int | None = None,
    on_run: ProgressCallback | None = None,
    device: str | int | None = None,
) -> ModelBenchResult:
    """Load ``model_path`` with :func:`wds_edge.runtime.load_backend`, time it, close it.

    ``precision`` is what TensorRT builds or OpenVINO runs (``auto``: see
    :func:`~wds_edge.runtime.load_backend`); ONNX Runtime on the CPU runs the model as
    exported (its report says ``fp32``, or ``int8`` for a Q/DQ model), without spin-waiting
    (``session.intra_op.allow_spinning = 0``). ``device``: as
    :func:`~wds_edge.runtime.load_backend` (an OpenVINO device, a CUDA index; None: default).
    """
    from wds_edge.runtime import load_backend

    # ONNX Runtime without spin-waiting, as in every timed comparison (issue 25): the figure
    # is comparable with bench compare's and the probe's, and its idle threads do not keep
    # the cores busy for whatever the kiosk runs next (landmarks).
    with load_backend(
        model_path, backend, precision=precision, device=device, num_threads=num_threads,
        spin_wait=False,
    ) as be:  # fmt: skip
        return bench_backend(
            be,
            model_label=str(model_path),
            precision=be.precision,  # int8 for a Q/DQ model on any backend
            batch=batch,
            warmup=warmup,
            runs=runs,
            on_run=on_run,
            threads=num_threads,
        )
