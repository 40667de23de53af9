"""`wds-edge bench model|pipeline|compare`: latency figures that decide hardware and precision.

Thin: each command parses options, calls one function of :mod:`wds_edge.bench`, prints
a rich table with the environment as caption and optionally writes JSON / CSV / PNG.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from wds_edge._checks import is_digits
from wds_edge.cli.console import plain
from wds_edge.cli.options import DEVICE_HELP, PRECISION_AUTO_HELP, PRECISION_HELP

_MODEL_HELP = (
    "ONNX model (exported with `wds-edge export`) or TensorRT-ready ONNX. "
    "Omit to use the bundled default model."
)


def _console() -> Any:
    from wds_edge.cli.console import make_console

    return make_console()


def _default_model() -> Path:
    from wds_edge.model.bundled import default_model_path

    return default_model_path()


#: How --quick works in every bench command: it changes the defaults only; an option given
#: on the command line keeps its value (larger or smaller than the --quick one).
_QUICK_RULE = "Options given explicitly keep their values."


def _pick(given: Any, default: Any, quick_default: Any, quick: bool) -> Any:
    """An option's value: as given on the command line, else the --quick or normal default."""
    if given is not None:
        return given
    return quick_default if quick else default


#: ``--json-out PATH`` / ``--csv-out PATH``: the report files of bench model and pipeline.
#: Everywhere else ``--json`` is an on/off flag (print JSON), so the file options are named
#: apart; ``--json PATH`` / ``--csv PATH``, their old names, still work (hidden from --help),
#: but never take a value that starts with '-' (``--json --quick`` would write a file named
#: --quick and run the full benchmark).
_JSON_OUT_HELP = "Also write the report as JSON to PATH."
_OLD_NAME_HELP = "Old name of --{}-out PATH (a file, never an option)."
_WHAT = {"json": "JSON report", "csv": "CSV rows"}


def _output_path(new: Path | None, old: Path | None, name: str) -> Path | None:
    """The file of ``--NAME-out`` (or its old spelling ``--NAME``), refused in one line when
    both are given or the value looks like an option (``--json --quick``)."""
    from wds_edge.errors import InvalidInputError

    if new is not None and old is not None:
        raise InvalidInputError(
            f"--{name} is the old name of --{name}-out: give --{name}-out PATH only"
        )
    given, flag = (new, f"--{name}-out") if new is not None else (old, f"--{name}")
    if given is not None and str(given).startswith("-"):
        raise InvalidInputError(
            f"{flag} takes the file to write the {_WHAT[name]} to, got {str(given)!r}, which "
            f"is an option: give the file, e.g. --{name}-out bench.{name} (a file named "
            f"{given}: ./{given})"
        )
    return given


def _check_outputs(json_path: Path | None, csv_path: Path | None) -> None:
    """Fail in one line before the benchmark runs when --json-out / --csv-out cannot be
    written (a folder, a read-only or missing place), not after minutes of timing."""
    from wds_edge.io import ensure_writable_file

    if json_path is not None:
        ensure_writable_file(json_path, f"{_WHAT['json']} (--json-out)")
    if csv_path is not None:
        ensure_writable_file(csv_path, f"{_WHAT['csv']} (--csv-out)")


def _write_outputs(
    report: dict[str, Any],
    rows: list[dict[str, Any]],
    json_path: Path | None,
    csv_path: Path | None,
) -> None:
    from wds_edge.bench.report import write_report_json, write_rows_csv

    console = _console()
    if json_path is not None:
        console.print(f"wrote {write_report_json(json_path, report)}", markup=False)
    if csv_path is not None:
        console.print(f"wrote {write_rows_csv(csv_path, rows, report)}", markup=False)


def bench_model_cmd(
    model: Path | None = typer.Option(None, "--model", "-m", help=_MODEL_HELP),
    backend: str = typer.Option("auto", help="auto | onnxruntime | openvino | tensorrt."),
    precision: str = typer.Option(
        "auto",
        help="auto | fp32 | fp16 | bf16 | int8: TensorRT builds it, OpenVINO runs it (refused "
        "when not native); onnxruntime runs the file as is (fp32, or int8 for a Q/DQ model); "
        f"{PRECISION_AUTO_HELP}.",
    ),
    device: str | None = typer.Option(None, "--device", help=DEVICE_HELP),
    batch: int = typer.Option(1, min=1, help="Images per inference call (model needs that batch)."),
    warmup: int | None = typer.Option(
        None, min=0, help="Untimed calls before timing (default 10; --quick: 1)."
    ),
    runs: int | None = typer.Option(None, min=1, help="Timed calls (default 100; --quick: 5)."),
    threads: int | None = typer.Option(None, min=1, help="CPU inference threads."),
    quick: bool = typer.Option(
        False, "--quick", help=f"Short CI mode: defaults of 1 warm-up, 5 runs. {_QUICK_RULE}"
    ),
    json_path: Path | None = typer.Option(None, "--json-out", help=_JSON_OUT_HELP),
    csv_path: Path | None = typer.Option(
        None, "--csv-out", help="Also write the row as CSV (with CPU and load) to PATH."
    ),
    json_old: Path | None = typer.Option(
        None, "--json", hidden=True, help=_OLD_NAME_HELP.format("json")
    ),
    csv_old: Path | None = typer.Option(
        None, "--csv", hidden=True, help=_OLD_NAME_HELP.format("csv")
    ),
) -> None:
    """Time one model on one backend: min/p50/p90/p99/max, img/s, achieved GFLOP/s."""
    from wds_edge.bench.environment import environment_report, format_environment
    from wds_edge.bench.model_bench import benchmark_model
    from wds_edge.bench.report import rows_table
    from wds_edge.cli.bench_output import LoadWatch, print_load
    from wds_edge.cli.console import progress_bar

    json_path = _output_path(json_path, json_old, "json")
    csv_path = _output_path(csv_path, csv_old, "csv")
    _check_outputs(json_path, csv_path)
    warmup, runs = _pick(warmup, 10, 1, quick), _pick(runs, 100, 5, quick)
    model_path = model or _default_model()
    env = environment_report()
    load = LoadWatch()
    with progress_bar(f"timing {model_path.name}", total=runs) as update:
        result = benchmark_model(
            model_path,
            backend=backend,
            precision=precision,
            batch=batch,
            warmup=warmup,
            runs=runs,
            num_threads=threads,
            device=device,
            on_run=update,
        )
    load.stop()
    row = result.row()
    console = _console()
    caption = format_environment(env, load)
    console.print(rows_table([row], title="wds-edge bench model", caption=caption))
    if result.breakdown:
        console.print(rows_table([result.breakdown], title="GPU transfer / compute split"))
    elif result.backend != "tensorrt":
        console.print(
            "[dim]host-to-device / compute / device-to-host split: only measured on the TensorRT "
            "backend (CPU inference has no transfers).[/]"
        )
    print_load(console, load)
    _write_outputs(
        {
            "kind": "model",
            "environment": env,
            "load_average": load.to_dict(),
            "result": result.to_dict(),
        },  # fmt: skip
        [row],
        json_path,
        csv_path,
    )


def bench_pipeline_cmd(
    source: str = typer.Option(
        ..., "--source", "-s", help="A video file or a folder of images (the kiosk clip)."
    ),
    model: Path | None = typer.Option(None, "--model", "-m", help=_MODEL_HELP),
    backend: str = typer.Option("auto", help="auto | onnxruntime | openvino | tensorrt."),
    precision: str = typer.Option(
        "auto",
        help=PRECISION_HELP,
    ),
    device: str | None = typer.Option(None, "--device", help=DEVICE_HELP),
    landmarker: Path | None = typer.Option(None, help="face_landmarker.task (default: search)."),
    threads: int | None = typer.Option(
        None, min=1, help="Inference threads of a mode that does not name its own."
    ),
    modes: str = typer.Option(
        "serial,two-stage",
        help="Comma-separated: serial, two-stage, each optionally :THREADS (two-stage:1), "
        "run interleaved on the same frames.",
    ),
    chunk: int | None = typer.Option(
        None, min=1, help="Frames per interleaving chunk (default 30; --quick: 10)."
    ),
    max_frames: int | None = typer.Option(
        None, min=1, help="Stop after N frames (default: the whole source; --quick: 20)."
    ),
    quick: bool = typer.Option(
        False,
        "--quick",
        help=f"Short CI mode: defaults of 20 frames in chunks of 10. {_QUICK_RULE}",
    ),
    json_path: Path | None = typer.Option(None, "--json-out", help=_JSON_OUT_HELP),
    csv_path: Path | None = typer.Option(
        None,
        "--csv-out",
        help="Also write one row per mode (threads, FPS, each stage's p50 / p90) as CSV "
        "(with CPU and load) to PATH.",
    ),
    json_old: Path | None = typer.Option(
        None, "--json", hidden=True, help=_OLD_NAME_HELP.format("json")
    ),
    csv_old: Path | None = typer.Option(
        None, "--csv", hidden=True, help=_OLD_NAME_HELP.format("csv")
    ),
) -> None:
    """Serial vs two-stage pipeline, interleaved: FPS, face FPS (segmented frames / the wall
    time spent on them, each frame's share being the time from the previous frame's output to
    its own) and per-stage p50 / p90."""
    from wds_edge.bench.environment import environment_report, format_environment
    from wds_edge.bench.pipeline_bench import bench_pipeline
    from wds_edge.bench.report import rows_table
    from wds_edge.capture.sources import require_local_source
    from wds_edge.cli.bench_output import LoadWatch, print_load
    from wds_edge.cli.console import progress_bar

    json_path = _output_path(json_path, json_old, "json")
    csv_path = _output_path(csv_path, csv_old, "csv")
    require_local_source(source)  # exit 2 (was 1: "video file ... does not exist")
    _check_outputs(json_path, csv_path)
    max_frames, chunk = _pick(max_frames, None, 20, quick), _pick(chunk, 30, 10, quick)
    env = environment_report()
    load = LoadWatch()
    with progress_bar(f"pipeline on {Path(source).name or source}", total=max_frames) as update:
        result = bench_pipeline(
            source,
            model_path=model,
            backend=backend,
            precision=precision,
            device=device,
            landmarker_path=landmarker,
            num_threads=threads,
            modes=_split(modes),
            chunk_frames=chunk,
            max_frames=max_frames,
            on_frame=update,
        )
    load.stop()
    console = _console()
    title = (
        f"wds-edge bench pipeline: {result.frames} frames ({result.status_counts}), "
        f"{plain(Path(result.model).name)} on {result.backend} {result.precision}, interleaved "
        f"in chunks of {result.chunk_frames}"
    )
    summary = [m.summary_row() for m in result.modes]
    console.print(
        rows_table(
            summary,
            title=title,
            caption="face FPS: segmented frames / the wall time from each one's previous "
            "frame's output to its own (frames without a usable face left out)",
        )
    )
    caption = format_environment(env, load)
    console.print(rows_table(result.rows(), title="stage ms (p50 / p90)", caption=caption))
    console.print(
        f"[dim]decode (once per frame, before the modes): p50 {result.decode.p50_ms:.1f} ms[/]"
    )
    for m in result.modes:
        if m.waits_ms:
            waits = ", ".join(f"{k} {v / 1000:.1f} s" for k, v in m.waits_ms.items())
            console.print(
                f"{m.label} waits over {m.wall_s:.1f} s: {waits}", style="dim", markup=False
            )
    print_load(console, load)
    _write_outputs(
        {
            "kind": "pipeline",
            "environment": env,
            "load_average": load.to_dict(),
            "result": result.to_dict(),
        },  # fmt: skip
        result.csv_rows(),
        json_path,
        csv_path,
    )


def _split(text: str | None) -> list[str]:
    return [t.strip() for t in (text or "").split(",") if t.strip()]


def _parse_widths(text: str) -> list[int]:
    """``--widths``: comma-separated base widths (positive whole numbers; '' for none)."""
    from wds_edge.errors import InvalidInputError

    widths = []
    for item in _split(text):
        value = int(item) if is_digits(item) else 0
        if value < 1:
            raise InvalidInputError(
                f"--widths takes comma-separated base widths, whole numbers of at least 1 such "
                f"as 8,16,32 ('' for none), got {item!r} in {text!r}: pass e.g. --widths 8,16"
            )
        widths.append(value)
    return widths


def _eager_baseline() -> Any:
    """The desktop PyTorch-eager baseline (``wds_edge_export.eager_baseline``), or None without
    torch."""
    try:
        from wds_edge_export import eager_baseline
    except ImportError:
        return None  # bench_compare notes the skip
    return eager_baseline


def bench_compare_cmd(
    source: str = typer.Option(
        ...,
        "--source",
        "-s",
        help="Video or image folder the frames and face crops come from (e.g. a clip from the "
        "kiosk's camera).",
    ),
    models: str | None = typer.Option(
        None,
        help="Comma-separated .onnx files to include (e.g. an INT8 Q/DQ export); their rows "
        "are named by file name (the --widths exports' rows: b<width>).",
    ),
    widths: str | None = typer.Option(
        None,
        help="Comma-separated base widths to export untrained (needs torch) ('' none; "
        "default 8,16,32; --quick: 8).",
    ),
    backends: str = typer.Option(
        "onnxruntime",
        help="Comma-separated: onnxruntime,openvino,tensorrt (x --precisions x --widths), or "
        "BACKEND:PRECISION entries (onnxruntime:fp32,openvino:bf16,...): one model (--models, "
        "default the bundled one) at its own input size, interleaved, with mask IoU vs the "
        "FP32 entry; model latency only (--no-e2e, --no-torch implied; --widths, --size and "
        "--precisions are refused).",
    ),
    threads: int | None = typer.Option(None, min=1, help="CPU inference threads."),
    precisions: str | None = typer.Option(
        None,
        help="Comma-separated precisions (default fp32): TensorRT builds and OpenVINO runs "
        "each file in every one listed (OpenVINO: those this CPU runs natively, e.g. "
        "fp32,bf16 on AMX / AVX512_BF16; int8 only for --models files with their INT8 "
        "model, from `wds-edge quantize`, not --widths); ONNX Runtime runs each file once, "
        "as exported "
        "(fp32, or int8 for a Q/DQ model).",
    ),
    size: int | None = typer.Option(
        None,
        min=32,
        help="Square model input size in pixels of the --widths exports and the face crops "
        "(default: the first --models file's, else 640; --quick: 256); every --models file "
        "must take it.",
    ),
    landmarker: Path | None = typer.Option(None, help="face_landmarker.task (default: search)."),
    max_frames: int | None = typer.Option(
        None, min=1, help="Frames read from --source (default 60; --quick: 8)."
    ),
    runs: int | None = typer.Option(
        None, min=1, help="Timed calls per configuration (default 30; --quick: 3)."
    ),
    warmup: int | None = typer.Option(
        None, min=0, help="Untimed calls per configuration (default 3; --quick: 1)."
    ),
    no_e2e: bool = typer.Option(False, "--no-e2e", help="Model latency only (faster)."),
    no_torch: bool = typer.Option(False, "--no-torch", help="Leave out the PyTorch-eager rows."),
    quick: bool = typer.Option(
        False,
        "--quick",
        help="Short CI mode: defaults of width 8 at 256 px, 8 frames, 1 warm-up, 3 runs "
        f"(BACKEND:PRECISION entries: 8 frames, 1 warm-up, 3 runs). {_QUICK_RULE}",
    ),
    out: Path = typer.Option(
        Path("bench_compare"), "--out", help="Folder for compare.json, compare.csv, compare.png."
    ),
) -> None:
    """Backends x precisions x widths side by side, with speedups over PyTorch eager FP32."""
    from wds_edge.bench.compare import bench_compare
    from wds_edge.bench.environment import environment_report, format_environment
    from wds_edge.bench.model_bench import threads_label
    from wds_edge.bench.report import rows_table, write_bar_plot, write_report_json, write_rows_csv

    max_frames = _pick(max_frames, 60, 8, quick)
    runs, warmup = _pick(runs, 30, 3, quick), _pick(warmup, 3, 1, quick)
    if ":" in backends:
        # --widths '' (no exports) is what the entries do; any width would be ignored
        _refuse_width_options(
            widths=widths if _split(widths) else None, size=size, precisions=precisions
        )
        _compare_backend_specs(
            source, _split(backends), _split(models), landmarker, max_frames, runs, warmup,
            threads, out,
        )  # fmt: skip
        return
    width_list = _parse_widths(_pick(widths, "8,16,32", "8", quick))  # refused in one line
    from wds_edge.bench.compare import check_compare_options, compare_size
    from wds_edge.capture.sources import require_local_source
    from wds_edge.cli.bench_output import LoadWatch, StepPrinter, compact_rows, print_load
    from wds_edge.io import ensure_writable_dir

    # the inputs first (exit 2, nothing made), then --out, then minutes of exports and timing
    precision_list = _split(precisions if precisions is not None else "fp32")
    check_compare_options(_split(models), width_list, _split(backends), precision_list)
    require_local_source(source)
    size = compare_size(_split(models), size, default=_pick(None, 640, 256, quick))
    ensure_writable_dir(out, "compare report")  # before the timing, not after it

    env = environment_report()
    console = _console()
    n_models = len(width_list) + len(_split(models))
    per_model = sum(1 if b.lower() == "onnxruntime" else len(precision_list)
                    for b in _split(backends))  # fmt: skip
    steps = StepPrinter(console, n_models * (per_model + (0 if no_torch else 1)))
    load = LoadWatch()
    with console.status("comparing ...") as status:
        result = bench_compare(
            source,
            models=_split(models),
            widths=width_list,
            backends=_split(backends),
            precisions=precision_list,
            size_px=size,
            model_dir=out / "models",
            landmarker_path=landmarker,
            max_frames=max_frames,
            runs=runs,
            warmup=warmup,
            e2e=not no_e2e,
            torch_baseline=not no_torch,
            on_step=lambda label: (steps(f"timing {label}"), status.update(f"timing {label} ...")),
            # the width exports need torch too; --no-torch only leaves out the eager rows
            baseline=_eager_baseline(),
            num_threads=threads,
        )
    load.stop()
    rows = [r.row() for r in result.rows]
    console.print(
        rows_table(
            compact_rows(rows),
            title=f"wds-edge bench compare ({size}x{size}, {result.frames} frames, "
            f"{result.crops} face crops, threads {threads_label(threads)}; p50; all columns "
            "in compare.csv)",
            caption=format_environment(env, load),
        )
    )
    for note in result.notes:
        console.print(f"note: {note}", style="dim", markup=False)
    print_load(console, load)
    report = {"kind": "compare", "environment": env, "load_average": load.to_dict(),
              **result.to_dict()}  # fmt: skip
    console.print(f"wrote {write_report_json(out / 'compare.json', report)}", markup=False)
    console.print(f"wrote {write_rows_csv(out / 'compare.csv', rows, report)}", markup=False)
    use_e2e = all(r.e2e_ms is not None for r in result.rows)
    values = [(r.e2e_ms if use_e2e else r.model_ms).p50_ms for r in result.rows]  # type: ignore[union-attr]
    bands = [
        (
            (r.e2e_ms if use_e2e else r.model_ms).min_ms,  # type: ignore[union-attr]
            (r.e2e_ms if use_e2e else r.model_ms).p90_ms,
        )
        for r in result.rows
    ]  # type: ignore[union-attr]
    plot = write_bar_plot(
        out / "compare.png",
        [r.label for r in result.rows],
        values,
        errors=bands,
        title=f"{'frame -> scores' if use_e2e else 'model'} latency, p50 (whiskers min..p90), "
        f"{size}px",
        ylabel="ms",
        reference=40.0,
        reference_label="25 FPS",
    )
    console.print(
        f"wrote {plot}" if plot else "plot skipped: matplotlib is not installed", markup=False
    )


def _refuse_width_options(**given: Any) -> None:
    """BACKEND:PRECISION entries time one model at its own input size and the precisions
    they name: --widths, --size and --precisions, which shape the width comparison, would
    be ignored there, so one given is refused (--no-e2e and --no-torch describe what the
    entries do anyway and are accepted)."""
    from wds_edge.errors import InvalidInputError

    named = [f"--{name}" for name, value in given.items() if value is not None]
    if named:
        raise InvalidInputError(
            f"{', '.join(named)} {'does' if len(named) == 1 else 'do'} not apply to "
            "BACKEND:PRECISION entries, which time one model (--models, default the bundled "
            "one) at its own input size and the precisions they name: leave "
            f"{' and '.join(named)} out, or compare widths with backends without ':' "
            "(e.g. --backends onnxruntime,tensorrt --precisions fp16)"
        )


def _check_int8_entries(specs: list[str], model: str | None) -> None:
    """An ``openvino:int8`` entry needs an INT8 model: an IR (``.xml``) or the INT8 IR made
    on site next to the FP32 model (none ships): say so in bench compare's own terms before
    anything is timed. A Q/DQ INT8 ``.onnx`` is refused before this, by
    :func:`~wds_edge.bench.backend_compare.check_fp32_reference` (it has no FP32 reference)."""
    if not any(s.strip().lower() == "openvino:int8" for s in specs):
        return
    from wds_edge.errors import InvalidInputError
    from wds_edge.model.bundled import default_model_path
    from wds_edge.runtime.openvino import int8_model_path

    path = Path(model) if model else default_model_path()
    if path.suffix.lower() == ".xml" or int8_model_path(path).is_file():
        return
    ir_name = int8_model_path(path).name
    raise InvalidInputError(
        f"openvino:int8 needs an INT8 OpenVINO model next to {path} ({ir_name}), and none "
        "ships with wds-edge: leave openvino:int8 out of --backends, or make one on this "
        "machine with `wds-edge quantize --format openvino --onnx MODEL.onnx --calib CALIB_DIR "
        "--held-out HELD_OUT_DIR` and compare that model (--models MODEL.onnx)"
    )


def _compare_backend_specs(
    source: str,
    specs: list[str],
    models: list[str],
    landmarker: Path | None,
    max_frames: int,
    runs: int,
    warmup: int,
    threads: int | None,
    out: Path,
) -> None:
    from wds_edge.bench.backend_compare import (
        MODELS_HINT,
        check_fp32_reference,
        compare_backends,
        parse_backend_specs,
    )
    from wds_edge.bench.environment import environment_report, format_environment
    from wds_edge.bench.model_bench import threads_label
    from wds_edge.bench.report import rows_table, write_bar_plot, write_report_json, write_rows_csv
    from wds_edge.model.bundled import default_model_path
    from wds_edge.model.files import require_model_file

    # the inputs first (exit 2, nothing made), then --out, then the timing
    parse_backend_specs(specs)  # names, precisions, the FP32 reference
    if len(models) > 1:
        from wds_edge.errors import InvalidInputError

        raise InvalidInputError("BACKEND:PRECISION entries compare one model: pass one --models")
    if models:
        require_model_file(models[0], MODELS_HINT)
    check_fp32_reference(models[0] if models else default_model_path())  # no Q/DQ INT8 file
    _check_int8_entries(specs, models[0] if models else None)
    from wds_edge.capture.sources import require_local_source
    from wds_edge.cli.bench_output import LoadWatch, print_load
    from wds_edge.io import ensure_writable_dir

    require_local_source(source)
    ensure_writable_dir(out, "compare report")  # before the timing, as the widths path does

    env = environment_report()
    console = _console()
    load = LoadWatch()
    with console.status("comparing ...") as status:
        result = compare_backends(
            source, specs, model_path=models[0] if models else None, landmarker_path=landmarker,
            max_frames=max_frames, rounds=runs, warmup=warmup, num_threads=threads,
            on_step=lambda label: status.update(f"{label} ..."),
        )  # fmt: skip
    load.stop()
    rows = [r.row() for r in result.rows]
    title = (
        f"wds-edge bench compare: {plain(Path(result.model).name)}, {result.crops} face crops, "
        f"threads {threads_label(threads)}"
    )
    console.print(rows_table(rows, title=title, caption=format_environment(env, load)))
    for note in result.notes:
        console.print(f"note: {note}", style="dim", markup=False)
    print_load(console, load)
    report = {"kind": "compare-backends", "environment": env, "load_average": load.to_dict(),
              **result.to_dict()}  # fmt: skip
    console.print(f"wrote {write_report_json(out / 'compare.json', report)}", markup=False)
    console.print(f"wrote {write_rows_csv(out / 'compare.csv', rows, report)}", markup=False)
    plot = write_bar_plot(
        out / "compare.png",
        [f"{r.label}\nIoU {r.mean_iou:.3f}" for r in result.rows],
        [r.model_ms.p50_ms for r in result.rows],
        errors=[(r.model_ms.min_ms, r.model_ms.p90_ms) for r in result.rows],
        title="model latency p50 (whiskers min..p90), interleaved; mean mask IoU vs "
        f"{result.reference}",
        ylabel="ms",
        reference=40.0,
        reference_label="25 FPS",
    )
    console.print(
        f"wrote {plot}" if plot else "plot skipped: matplotlib is not installed", markup=False
    )


def register(app: typer.Typer) -> None:
    """Add the `bench` command group to `app`."""
    bench = typer.Typer(
        help="Latency benchmarks: one model, the whole pipeline, or a comparison table.",
        no_args_is_help=True,
    )
    bench.command("model")(bench_model_cmd)
    bench.command("pipeline")(bench_pipeline_cmd)
    bench.command("compare")(bench_compare_cmd)
    from wds_edge.cli.repeat_cmds import bench_repeatability_cmd

    bench.command("repeatability")(bench_repeatability_cmd)
    app.add_typer(bench, name="bench")
