"""`bench compare`: backends x precisions x model widths side by side, with ratios.

Every configuration is measured on the same face crops and frames (taken from one
video or image folder):

* ``model_*``: the inference call alone on the face crops;
* ``e2e_*``: frame -> scores: landmarks, quality gates, crop + preprocessing,
  inference, threshold + region scores (what a kiosk pays per analysed frame), on the
  frames with a usable face (the result's ``e2e_frames``); a frame without one stops after
  the landmarks and is left out.

Every row names the CPU inference threads asked for (``threads``: the number, or
``"default"``).

The baseline is "what a user would do without this SDK" (``wds_edge_export.eager_baseline``, passed
in by the CLI as an :class:`EagerBaseline`, since the SDK never imports torch):
the same network in PyTorch eager FP32, rebuilt from the architecture the file's metadata
records (width, stem, input normalisation, activation, output kind), fed by the numpy
texture map, with the same landmarks, crop and scoring around it; its ``gflops`` are its
own (counted on the torch network). ``speedup`` columns divide the p50 of the eager row of
a row's network by the row's p50 (> 1 means faster than PyTorch eager). A file whose
architecture cannot be rebuilt (none recorded, not an ``.onnx``, a network this code
cannot build) gets no eager row: its speed-ups stay empty, with a note. ``speedup_e2e`` is
left empty, with a note, for a ``models`` file: the eager model has seeded weights, so its
masks, and what scoring them costs, are not that file's.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import cv2
import numpy as np

from wds_edge.bench.model_bench import threads_label
from wds_edge.bench.pipeline_bench import iter_bench_frames
from wds_edge.bench.stats import LatencyStats, summarize_ms
from wds_edge.errors import InvalidInputError

__all__ = [
    "CompareRow",
    "CompareResult",
    "EagerBaseline",
    "bench_compare",
    "check_compare_options",
    "compare_size",
]

logger = logging.getLogger(__name__)

TORCH_EAGER = "pytorch-eager"
_NO_BASELINE = (
    "PyTorch-eager baseline skipped: not available (needs torch and the desktop train / "
    "export packages of a source checkout: pip install -e '.[train,export]')"
)


class EagerBaseline(Protocol):
    """The PyTorch-eager baseline as ``bench compare`` uses it
    (``wds_edge_export.eager_baseline``)."""

    def torch_baseline_available(self) -> tuple[bool, str]:
        """(True, "") when it can run, else (False, why)."""
        ...

    def export_width_model(
        self, base_channels: int, size_px: int, out_dir: str | Path, seed: int = 0
    ) -> Path:
        """Export a seeded base-``base_channels`` model to ``out_dir``; the ``.onnx`` path."""
        ...

    def EagerModel(  # noqa: N802 - a class in the module
        self,
        base_channels: int,
        seed: int = 0,
        num_threads: int | None = None,
        architecture: Any = None,
    ) -> Any:
        """A model with ``segment_crop(uint8 RGB S x S) -> float32 S x S probability``, the
        network ``architecture`` (a file's :class:`~wds_edge.model.metadata.ArchitectureInfo`)
        describes, seeded as :meth:`export_width_model` is with the same ``seed`` (None: the
        plain base-``base_channels`` U-Net of that export); ``num_threads``: torch's CPU
        threads (``torch.set_num_threads``; None: torch's default). It has ``base_channels``,
        ``network`` (its constructor arguments: equal for two files of one network) and
        ``gflops(size_px)``; it raises ModelError for an architecture it cannot build."""
        ...


@dataclass
class CompareRow:
    """One configuration's figures."""

    label: str
    width: int | None
    backend: str
    precision: str
    model: str
    gflops: float | None
    model_ms: LatencyStats
    e2e_ms: LatencyStats | None = None
    speedup_model: float | None = None
    speedup_e2e: float | None = None
    #: CPU inference threads asked for (``--threads``); None: each backend's default.
    threads: int | None = None
    #: the PyTorch-eager row of this row's network, which the speed-ups divide (None: none)
    eager: CompareRow | None = field(default=None, repr=False, compare=False)

    def row(self) -> dict[str, Any]:
        e2e = self.e2e_ms
        return {
            "config": self.label,
            "width": self.width,
            "backend": self.backend,
            "precision": self.precision,
            "threads": threads_label(self.threads),
            "gflops": self.gflops,
            "model_p50_ms": round(self.model_ms.p50_ms, 2),
            "model_p90_ms": round(self.model_ms.p90_ms, 2),
            "e2e_p50_ms": None if e2e is None else round(e2e.p50_ms, 2),
            "e2e_p90_ms": None if e2e is None else round(e2e.p90_ms, 2),
            "e2e_fps": None if e2e is None else round(1000.0 / e2e.mean_ms, 2),
            "speedup_model": None if self.speedup_model is None else round(self.speedup_model, 2),
            "speedup_e2e": None if self.speedup_e2e is None else round(self.speedup_e2e, 2),
        }


@dataclass
class CompareResult:
    """The rows, and what they were timed on: ``frames`` read from the source, ``crops``
    (one per frame with a usable face), ``e2e_frames`` (the frames the frame path
    ``e2e_*`` cycles through: those with a usable face; 0 without ``e2e``), ``threads``."""

    rows: list[CompareRow]
    frames: int
    crops: int
    notes: list[str] = field(default_factory=list)
    e2e_frames: int = 0
    threads: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "frames": self.frames,
            "crops": self.crops,
            "e2e_frames": self.e2e_frames,
            "threads": threads_label(self.threads),
            "notes": self.notes,
            "rows": [
                {
                    **r.row(),
                    "model": r.model,
                    "model_ms": r.model_ms.to_dict(),
                    "e2e_ms": None if r.e2e_ms is None else r.e2e_ms.to_dict(),
                }
                for r in self.rows
            ],
        }


def _file_input_size(path: Path) -> int | None:
    """The square input size an ``.onnx`` file's wds-edge metadata declares (None: another
    kind of file, sized when it is loaded).

    Raises:
        InvalidInputError: no such file. ModelError: not an ONNX file, no wds-edge metadata.
    """
    from wds_edge.model.metadata import ModelMetadata
    from wds_edge.runtime.quantized import read_onnx_file_info

    if not path.is_file():
        raise InvalidInputError(
            f"--models {path}: no such file; pass .onnx files exported with `wds-edge export`"
        )
    if path.suffix.lower() != ".onnx":
        return None
    props = read_onnx_file_info(path).metadata_props
    return ModelMetadata.from_props(props, source=str(path)).input_size_hw[0]


def compare_size(models: Sequence[str | Path], size_px: int | None, default: int = 640) -> int:
    """The input size ``bench compare`` times at, checked against every ``--models`` file
    before anything is exported or timed.

    Args:
        models: the ``--models`` files.
        size_px: ``--size`` as given (None: not given).
        default: the size without ``--size`` and without a sized ``--models`` file.

    Returns:
        ``size_px``; else the first ``.onnx`` file's input size; else ``default``.

    Raises:
        InvalidInputError: a missing file, or one whose input is another size (the message
            says which ``--size`` to pass); ModelError: a file without wds-edge metadata.
    """
    sized = [(Path(m), s) for m in models if (s := _file_input_size(Path(m))) is not None]
    if size_px is None:
        size = sized[0][1] if sized else default
        other = next(((p, s) for p, s in sized if s != size), None)
        if other is not None:
            raise InvalidInputError(
                f"the --models files take different input sizes ({sized[0][0].name}: {size} "
                f"px, {other[0].name}: {other[1]} px): every configuration is timed on the "
                "same face crops, so compare files of one input size per run"
            )
        return size
    for path, size in sized:
        if size != size_px:
            raise InvalidInputError(
                f"--models {path} takes {size} px input, but --size is {size_px}: pass --size "
                f"{size} (the --widths exports are made at that size too), or leave --size "
                "out: it defaults to the first --models file's input size"
            )
    return size_px


def check_compare_options(
    models: Sequence[str | Path],
    widths: Sequence[int],
    backends: Sequence[str],
    precisions: Sequence[str],
) -> None:
    """What :func:`bench_compare` refuses before it exports or times anything (``bench
    compare`` checks it before its ``--out`` is made): a backend not in
    :data:`~wds_edge.runtime.BACKEND_NAMES`, a precision not in
    :data:`~wds_edge.runtime.PRECISION_NAMES`, none of either, or neither ``models`` nor
    ``widths``; with OpenVINO, a precision this CPU does not run natively, and INT8 for
    ``widths`` or a model file without its INT8 OpenVINO model.

    Raises:
        InvalidInputError: naming the option (``--backends``, ``--precisions``, ``--models``).
    """
    from wds_edge.runtime import BACKEND_NAMES, PRECISION_NAMES

    for option, given, names, example in (
        ("--backends", backends, BACKEND_NAMES, "onnxruntime,openvino"),
        ("--precisions", precisions, PRECISION_NAMES, "fp32,fp16"),
    ):
        if not given:
            raise InvalidInputError(
                f"{option} names none: pass comma-separated names of {', '.join(names)} "
                f"(e.g. {option} {example})"
            )
        unknown = [g for g in given if str(g).strip().lower() not in names]
        if unknown:
            raise InvalidInputError(
                f"{option}: unknown {', '.join(repr(u) for u in unknown)}; choose from "
                f"{', '.join(names)} (comma-separated, e.g. {option} {example})"
            )
    if not models and not widths:
        raise InvalidInputError(
            "nothing to compare: pass --models FILE.onnx (comma-separated files) and / or "
            "--widths (e.g. --widths 8,16)"
        )
    if any(str(b).strip().lower() == "openvino" for b in backends):
        _check_openvino_precisions(precisions)
        if any(str(p).strip().lower() == "int8" for p in precisions):
            _check_openvino_int8(models, widths)


def _check_openvino_precisions(precisions: Sequence[str]) -> None:
    """OpenVINO runs every ``--precisions`` entry: refuse one this CPU does not run natively
    (OpenVINO would refuse it after the configurations before it had been timed)."""
    from wds_edge.runtime.openvino import native_precisions

    native = native_precisions("CPU")
    for precision in precisions:
        p = str(precision).strip().lower()
        if p != "auto" and p not in native:
            raise InvalidInputError(
                f"--precisions {p}: OpenVINO runs every precision listed, and this CPU runs "
                f"{', '.join(native)} natively, not {p}: leave {p} out of --precisions, or "
                "openvino out of --backends"
            )


def _check_openvino_int8(models: Sequence[str | Path], widths: Sequence[int]) -> None:
    """OpenVINO INT8 runs an INT8 model: an INT8 IR (``.xml``), a Q/DQ ONNX, or the INT8 IR
    ``wds-edge quantize --format openvino`` writes next to an FP32 ``.onnx``. Refuse a file
    without one, and ``--widths`` (fresh FP32 exports never have one), before anything is
    timed (OpenVINO would refuse it after the configurations before it)."""
    from wds_edge.runtime.openvino import int8_model_path
    from wds_edge.runtime.quantized import model_precision

    how = "leave int8 out of --precisions, or openvino out of --backends"
    if widths:
        raise InvalidInputError(
            f"--precisions int8 with --backends openvino: OpenVINO runs INT8 from the INT8 "
            f"model `wds-edge quantize --format openvino` makes next to an FP32 model, which "
            f"the --widths exports ({','.join(str(w) for w in widths)}, made by this run) "
            f"never have: {how}, or compare quantized files alone (--models MODEL.onnx "
            "--widths '')"
        )
    for model in models:
        path = Path(model)
        # a missing file is refused as one (compare_size); an .xml is an IR, INT8 or not
        if path.suffix.lower() != ".onnx" or not path.is_file():
            continue
        if int8_model_path(path).is_file() or model_precision(path) == "int8":  # Q/DQ: INT8
            continue
        raise InvalidInputError(
            f"--precisions int8 with --backends openvino needs an INT8 OpenVINO model next to "
            f"{path} ({int8_model_path(path).name}), and there is none: {how}, or make one "
            f"with `wds-edge quantize --format openvino --onnx {path} --calib CALIB_DIR "
            "--held-out HELD_OUT_DIR`"
        )


def _model_labels(paths: Sequence[Path]) -> dict[Path, str]:
    """Row names of ``--models`` files: the file's stem, its path where two stems are alike
    (a ``--widths`` export's rows are ``b<width>``)."""
    stems = [p.stem for p in paths]
    return {p: p.stem if stems.count(p.stem) == 1 else str(p) for p in paths}


def _eager_model(
    baseline: EagerBaseline | None, path: Path, meta: Any, num_threads: int | None
) -> tuple[Any, str]:
    """(the PyTorch-eager model of ``path``'s network, "") or (None, why it has none): the
    network is rebuilt from the architecture the file's metadata records (``meta``, the
    loaded file's :class:`~wds_edge.model.metadata.ModelMetadata`)."""
    from wds_edge.errors import ModelError
    from wds_edge.runtime.quantized import read_onnx_file_info

    if baseline is None:
        return None, _NO_BASELINE
    if path.suffix.lower() != ".onnx":
        return None, "not an .onnx file, whose recorded architecture PyTorch could rebuild"
    if "architecture" not in read_onnx_file_info(path).metadata_props:
        return None, (
            "its metadata records no architecture (a file annotated with `wds-edge export "
            "--annotate`), so PyTorch cannot rebuild its network; export it from its "
            "checkpoint with `wds-edge export` for one"
        )
    try:
        arch = meta.architecture
        return baseline.EagerModel(arch.base_channels, num_threads=num_threads,
                                   architecture=arch), ""  # fmt: skip
    except ModelError as exc:
        return None, f"PyTorch cannot rebuild its network: {exc}"


def _time_calls(
    fn: Callable[[Any], Any], items: Sequence[Any], runs: int, warmup: int
) -> LatencyStats:
    for i in range(warmup):
        fn(items[i % len(items)])
    times = []
    for i in range(runs):
        t0 = time.perf_counter()
        fn(items[i % len(items)])
        times.append((time.perf_counter() - t0) * 1000.0)
    return summarize_ms(times)


def _collect(
    source: str | Path, max_frames: int, landmarker: str | None, model: Path, size_px: int
) -> tuple[list[np.ndarray], list[Any], list[np.ndarray]]:
    """Frames, their located results (face or not), and the face crops (RGB, size_px)."""
    from wds_edge.analysis.analyzer import WrinkleAnalyzer

    frames, located, crops = [], [], []
    with WrinkleAnalyzer(
        model_path=str(model), backend="onnxruntime", landmarker_path=landmarker, video_mode=False
    ) as analyzer:
        for image, _i, _t, _d in iter_bench_frames(source):
            res = analyzer.locate(image)
            frames.append(image)
            located.append(res)
            if res.crop_transform is not None and res.ok:
                crop = res.crop_transform.crop(image)
                if crop.shape[0] != size_px:
                    crop = cv2.resize(crop, (size_px, size_px), interpolation=cv2.INTER_AREA)
                crops.append(cv2.cvtColor(crop, cv2.COLOR_BGR2RGB))
            if len(frames) >= max_frames:
                break
    if not crops:
        raise InvalidInputError(f"{source}: no usable face in the first {len(frames)} frames")
    return frames, located, crops


def _eager_e2e(
    eager: Any,
    frames: Sequence[np.ndarray],
    analyzer: Any,
    runs: int,
    timed: bool = True,
) -> LatencyStats | None:
    """The PyTorch-eager way per frame: the SDK's landmarks and crop, numpy texture, torch,
    then the analyzer's own threshold and skin-region scoring
    (:meth:`~wds_edge.analysis.analyzer.WrinkleAnalyzer.score_probability`, what
    ``analyze`` runs after its model call), so only the model path differs."""
    times = []
    for i in range(runs):
        image = frames[i % len(frames)]
        t0 = time.perf_counter()
        loc = analyzer.locate(image, None)
        if loc.ok:
            crop = loc.face_crop  # the crop analyze() segments
            analyzer.score_probability(eager.segment_crop(crop.crop_rgb), crop, loc.mm_per_px)
        times.append((time.perf_counter() - t0) * 1000.0)
    return summarize_ms(times) if timed else None  # timed=False: a warm-up (maybe 0 calls)


def _sdk_e2e(
    analyzer: Any, frames: Sequence[np.ndarray], runs: int, timed: bool = True
) -> LatencyStats | None:
    times = []
    for i in range(runs):
        t0 = time.perf_counter()
        analyzer.analyze(frames[i % len(frames)], None)
        times.append((time.perf_counter() - t0) * 1000.0)
    return summarize_ms(times) if timed else None


def bench_compare(
    source: str | Path,
    *,
    models: Sequence[str | Path] = (),
    widths: Sequence[int] = (8, 16, 32),
    backends: Sequence[str] = ("onnxruntime",),
    precisions: Sequence[str] = ("fp32",),
    size_px: int | None = None,
    model_dir: str | Path = ".wds_bench_models",
    landmarker_path: str | Path | None = None,
    max_frames: int = 60,
    runs: int = 30,
    warmup: int = 3,
    e2e: bool = True,
    torch_baseline: bool = True,
    on_step: Callable[[str], None] | None = None,
    baseline: EagerBaseline | None = None,
    num_threads: int | None = None,
) -> CompareResult:
    """Measure every (model, backend, precision) and the PyTorch-eager baseline.

    Args:
        source: video or image folder the frames and face crops come from.
        models: existing ``.onnx`` files to include (e.g. an INT8 Q/DQ model).
        widths: base widths to export (untrained, seeded) at ``size_px`` into ``model_dir``
            (needs torch + onnx; latency does not depend on weight values).
        size_px: the input size of the exports and crops (None: the first ``models`` file's,
            else 640); every ``models`` file must take it (:func:`compare_size`, checked
            before anything is exported). Rows of a ``models`` file are named by its stem,
            those of a ``widths`` export ``b<width>``.
        backends / precisions: combinations to run: TensorRT and OpenVINO (and ``auto``)
            run each file in every one of ``precisions`` (OpenVINO: those this CPU runs
            natively, checked before anything is timed); ONNX Runtime runs each file once,
            as exported (fp32, its row labelled int8 for a Q/DQ graph).
        max_frames: frames read from ``source``; the model runs cycle through their face
            crops, the frame runs (``e2e``) through the frames with a usable face (a frame
            without one stops after the landmarks: it would time no model).
        runs / warmup: timed / untimed calls per configuration.
        e2e: also time frame -> scores per configuration.
        torch_baseline: add PyTorch eager FP32 rows, one per network (skipped with a note
            without torch, or for a file whose architecture cannot be rebuilt).
        on_step: called with a description before each configuration (progress).
        baseline: the PyTorch-eager baseline (the CLI passes ``wds_edge_export.eager_baseline``);
            None: no ``widths`` export and no eager rows (noted in the result).
        num_threads: CPU inference threads of every timed backend (None: the default).

    Raises:
        InvalidInputError: what :func:`check_compare_options` refuses, ``source`` or a
            ``models`` file does not exist, a ``models`` file of another input size, only
            ``widths`` without torch to export them, no face in ``source`` (found before
            any ``widths`` export is made).
    """
    from wds_edge.analysis.analyzer import WrinkleAnalyzer
    from wds_edge.capture.sources import require_local_source
    from wds_edge.model.preprocessing import model_input
    from wds_edge.runtime import load_backend

    # every input checked before minutes of exports and timing
    check_compare_options(models, widths, backends, precisions)
    require_local_source(source)
    size_px = compare_size(models, size_px)
    labels = _model_labels([Path(m) for m in models])
    notes: list[str] = []
    paths: list[tuple[int | None, Path]] = []
    have_torch, why = (
        baseline.torch_baseline_available() if baseline is not None else (False, _NO_BASELINE)
    )
    if not models and not have_torch:  # --widths only, and no torch to export them
        raise InvalidInputError(f"nothing to compare: {why}; pass --models FILE.onnx")
    landmarker = None if landmarker_path is None else str(landmarker_path)
    # the faces before the exports (seconds to minutes, files left in model_dir): a source
    # without a usable face is refused with nothing made. The first --models file locates
    # them, else the bundled model (the crop is the kiosk's; resized to size_px)
    if models:
        locator = Path(models[0])
    else:
        from wds_edge.model.bundled import default_model_path

        locator = default_model_path()
    frames, located, crops = _collect(source, max_frames, landmarker, locator, size_px)
    for width in widths:
        if not have_torch:
            notes.append(f"width {width} not exported: {why}")
            continue
        paths.append((int(width), baseline.export_width_model(int(width), size_px, model_dir)))  # type: ignore[union-attr]
    for m in models:
        paths.append((None, Path(m)))
    # the frame path on the frames whose crops the model runs on (_collect found at least
    # one): a frame without a usable face costs the landmarks only and would pull the
    # frame figures below the model's own
    face_frames = [
        image for image, loc in zip(frames, located, strict=True)
        if loc.ok and loc.crop_transform is not None
    ]  # fmt: skip
    rows: list[CompareRow] = []
    eager_rows: dict[tuple[tuple[str, object], ...], CompareRow] = {}  # network -> eager row
    for width, path in paths:
        first_row = len(rows)
        for backend in backends:
            # ONNX Runtime runs the file as exported (it refuses the others' precisions), once;
            # OpenVINO and TensorRT (and auto) run it in every precision listed
            as_exported = backend.strip().lower() == "onnxruntime"
            # a comparison times what is listed: an OpenVINO BF16 / FP16 that fails the
            # accuracy gate is timed too, with the gate's warning in the log
            allow = {"allow_accuracy_loss": True} if backend.strip().lower() == "openvino" else {}
            for precision in precisions[:1] if as_exported else precisions:
                asked = "auto" if as_exported else precision
                # no ONNX Runtime spin-waiting in timed runs (issue 25 item 5)
                with load_backend(
                    path,
                    backend,
                    precision=asked,
                    num_threads=num_threads,
                    spin_wait=False,
                    **allow,
                ) as be:
                    meta = be.metadata
                    precision_label = be.precision  # int8 for a Q/DQ model
                    w = width if width is not None else meta.architecture.base_channels
                    name = f"b{w}" if width is not None else labels[path]
                    label = f"{name} {be.name} {precision_label}"
                    if on_step:
                        on_step(label)
                    if meta.input_size_hw[0] != size_px:  # a file compare_size could not size
                        raise InvalidInputError(
                            f"--models {path} takes {meta.input_size_hw[0]} px input, but the "
                            f"comparison runs at {size_px} px: pass --size "
                            f"{meta.input_size_hw[0]}, or compare files of one input size"
                        )
                    pre = meta.preprocessing
                    model_ms = _time_calls(
                        lambda c, b=be, p=pre: b.infer(model_input(c, p)), crops, runs, warmup
                    )
                    gflops = meta.architecture.gflops
                e2e_ms = None
                if e2e:
                    with WrinkleAnalyzer(
                        model_path=str(path),
                        backend=backend,
                        precision=asked,
                        landmarker_path=landmarker,
                        num_threads=num_threads,
                        spin_wait=False,
                        **allow,  # what the model row timed, the frames time too
                    ) as analyzer:
                        _sdk_e2e(analyzer, face_frames, warmup, timed=False)
                        e2e_ms = _sdk_e2e(analyzer, face_frames, runs)
                rows.append(
                    CompareRow(
                        label, w, be.name, precision_label, str(path), gflops, model_ms, e2e_ms,
                        threads=num_threads,
                    )
                )  # fmt: skip
        if not (torch_baseline and have_torch):
            continue
        file_rows = rows[first_row:]
        # the timed backends' thread count: torch on every core against ONNX Runtime on
        # --threads 1 would not be like for like
        eager, why_not = _eager_model(baseline, path, meta, num_threads)
        if eager is None:
            notes.append(
                f"{labels.get(path, path.name)}: no PyTorch-eager row and no speed-up over it "
                f"(speedup_model, speedup_e2e): {why_not}"
            )
            continue
        network = tuple(sorted(eager.network.items()))
        base_row = eager_rows.get(network)  # another file of this network was timed
        if base_row is None:
            name = f"b{width}" if width is not None else labels[path]
            label = f"{name} {TORCH_EAGER} fp32"
            if on_step:
                on_step(label)
            model_ms = _time_calls(lambda c, e=eager: e.segment_crop(c), crops, runs, warmup)
            e2e_ms = None
            if e2e:
                with WrinkleAnalyzer(
                    model_path=str(path),
                    backend="onnxruntime",
                    landmarker_path=landmarker,
                    num_threads=num_threads,
                    spin_wait=False,
                ) as analyzer:
                    _eager_e2e(eager, face_frames, analyzer, warmup, timed=False)
                    e2e_ms = _eager_e2e(eager, face_frames, analyzer, runs)
            origin = "" if width is not None else f", the network of {path.name}"
            base_row = CompareRow(
                label,
                eager.base_channels,
                TORCH_EAGER,
                "fp32",
                f"(torch eager, seeded weights{origin})",
                eager.gflops(size_px),  # its own: no texture conv, as it runs here
                model_ms,
                e2e_ms,
                threads=num_threads,
            )
            base_row.eager = base_row
            eager_rows[network] = base_row
            rows.append(base_row)
        for row in file_rows:
            row.eager = base_row
    if torch_baseline and not have_torch:
        notes.append(why)
    seeded = {p for w, p in paths if w is not None}  # the exports the eager model reproduces
    for row in rows:
        base = row.eager
        if base is None:
            continue
        row.speedup_model = base.model_ms.p50_ms / row.model_ms.p50_ms
        if base.e2e_ms is None or row.e2e_ms is None:
            continue
        if row.backend == TORCH_EAGER or Path(row.model) in seeded:
            row.speedup_e2e = base.e2e_ms.p50_ms / row.e2e_ms.p50_ms
        else:
            notes.append(
                f"{row.label} ({Path(row.model).name}): no frame speed-up (speedup_e2e), as the "
                "PyTorch-eager model has the seeded weights of the --widths exports, not this "
                "file's: other masks, so another scoring cost. Its model speed-up compares like "
                "for like (latency does not depend on weight values)"
            )
    notes.append(
        "every timed ONNX Runtime session runs with allow_spinning = 0, so its idle threads "
        "do not take the cores from the configuration timed next"
    )
    notes.append(
        "model_* = host preprocessing for the model's input mode + inference, on face crops "
        "(PyTorch eager: numpy texture map + 4-channel input; SDK: RGB, texture in the graph)"
    )
    if e2e:
        notes.append(
            f"e2e_* (frame ms, FPS, speedup_e2e) = frame -> scores on the {len(face_frames)} "
            f"of {len(frames)} frames with a usable face; the others are left out (they stop "
            "after the landmarks, so they would time no model)"
        )
    return CompareResult(
        rows=rows, frames=len(frames), crops=len(crops), notes=notes,
        e2e_frames=len(face_frames) if e2e else 0, threads=num_threads,
    )  # fmt: skip
