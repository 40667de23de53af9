"""`wds-edge bench repeatability` and `wds-edge compare`: how much scores move for one still
person, and whether a before / after difference is more than that."""

from __future__ import annotations

import json
from pathlib import Path

import typer

_COMPARE_HELP = """Compare two results of one person (before / after): per-region change and
its minimal detectable change.

BEFORE and AFTER are result JSON files (`wds-edge analyze ... --out DIR` writes one per
input; a video's is one fused capture; a saved `GET /v1/capture` response of `wds-edge
serve` compares its capture's final result). MDC95 = q * sqrt(SEM_before^2 + SEM_after^2),
where SEM is the repeatability of that kind of result (fused capture or single photo)
measured by `wds-edge bench repeatability` (--repeatability FILE; default: the figures
measured on the kiosk clip with the bundled model) and q is 1.96, or for a fused capture
t(0.975, df) of the session sd's degrees of freedom (its sessions less one: 2 for the
default figures, t = 4.303; a note says so). Changes below MDC95 are marked
"within noise"; a region whose whole area was excluded in either result (area_px 0) is
"not measured". Both results must come from one model (name, version, input size,
threshold and model file sha256; backends and precisions may differ) and score the same
regions. Exit code 0, 2 for results that cannot be compared (or a malformed
--repeatability report).

Example: wds-edge compare before/clip.json after/clip.json --repeatability rep/repeatability.json
"""


def bench_repeatability_cmd(
    ctx: typer.Context,
    source: str = typer.Option(
        ..., "--source", "-s", help="A video of ONE person (or a folder / glob of their frames)."
    ),
    sessions: int = typer.Option(3, min=2, help="Consecutive parts, one capture each."),
    model: Path | None = typer.Option(None, "--model", "-m", help="wds-edge .onnx model."),
    backend: str = typer.Option("onnxruntime", help="auto | onnxruntime | openvino | tensorrt."),
    precision: str = typer.Option(
        "fp32",
        help="auto | fp32 | fp16 | bf16 | int8 (onnxruntime: fp32, or int8 for a Q/DQ model "
        "from `wds-edge quantize`).",
    ),
    landmarker: Path | None = typer.Option(None, "--landmarker", help="face_landmarker.task."),
    threads: int | None = typer.Option(None, min=1, help="CPU inference threads."),
    frames_needed: int = typer.Option(60, min=1, help="Good frames per capture window."),
    frames_fused: int = typer.Option(10, min=1, help="Sharpest frames fused per capture."),
    out: Path = typer.Option(
        Path("bench_repeatability"), "--out", help="Folder for repeatability.json and .png."
    ),
) -> None:
    """Split a clip of one person into sessions: per-region CV of per-frame scores and the
    spread of fused session scores (table, JSON, plot)."""
    from wds_edge.analysis.analyzer import WrinkleAnalyzer
    from wds_edge.analysis.session import SessionConfig
    from wds_edge.bench.environment import environment_report, format_environment
    from wds_edge.bench.repeatability import (
        bench_repeatability,
        check_repeatability_inputs,
        write_repeatability_plot,
    )
    from wds_edge.bench.report import rows_table, write_report_json
    from wds_edge.cli.bench_output import LoadWatch, print_load
    from wds_edge.cli.console import make_console, plain, progress_bar
    from wds_edge.cli.outputs import claim_output_dir
    from wds_edge.model.files import RUNTIME_HINT, require_model_file

    # the inputs first (exit 2, no --out made): the source, the settings, the model file
    config = SessionConfig(frames_needed=frames_needed, frames_fused=frames_fused)
    check_repeatability_inputs(source, sessions, config)
    if model is not None:
        require_model_file(model, RUNTIME_HINT)
    # what fails later (the landmarker, a clip with too few usable frames) leaves no empty
    # --out behind
    claim_output_dir(ctx, out, "repeatability report")
    console = make_console()
    env = environment_report()
    load = LoadWatch()
    analyzer = WrinkleAnalyzer(
        model_path=str(model) if model is not None else None,
        backend=backend,
        precision=precision,
        landmarker_path=str(landmarker) if landmarker is not None else None,
        num_threads=threads,
        video_mode=True,
    )
    with analyzer, progress_bar("sessions", total=None, console=console) as update:
        report = bench_repeatability(
            analyzer, source, sessions, config, progress=lambda d, t: update(d, t, "")
        )
    load.stop()
    rows = [
        {
            "region": name,
            "per-frame CV %": round(100 * r["frame_cv"], 1),
            "fused sessions mean %": round(100 * r["session_mean"], 3),
            "fused spread %": round(100 * r["session_spread"], 1),
            "fused CV %": round(100 * r["session_cv"], 1),
            "median-of-5 before, spread %": round(100 * r["legacy_spread"], 1),
        }
        for name, r in report.regions.items()
    ]
    caption = format_environment(env, load)
    console.print(rows_table(rows, title=f"repeatability: {plain(source)}", caption=caption))
    running = report.running
    worst = running["max_window_cv"]
    per_second = (
        "n/a (fewer good frames than one second)"
        if worst is None
        else f"at most {100 * worst:.1f} % over any second"
    )
    console.print(
        f"running fused score ({int(running['window'])} frames): CV {100 * running['cv']:.1f} % "
        f"over the clip, {per_second}"
    )
    print_load(console, load)
    data = {"environment": env, "load_average": load.to_dict(), **report.to_dict()}
    console.print(f"wrote {write_report_json(out / 'repeatability.json', data)}", markup=False)
    plot = write_repeatability_plot(report, out / "repeatability.png")
    console.print(
        f"wrote {plot}" if plot else "plot skipped: matplotlib is not installed", markup=False
    )


def compare_cmd(
    before: Path = typer.Argument(..., help="The earlier result JSON."),
    after: Path = typer.Argument(..., help="The later result JSON."),
    repeatability: Path | None = typer.Option(
        None, "--repeatability", help="A `bench repeatability` report (repeatability.json)."
    ),
    json_out: bool = typer.Option(False, "--json", help="Print the comparison as JSON."),
) -> None:
    from wds_edge.analysis.compare import compare_results, load_result
    from wds_edge.cli.console import make_console, plain

    rep = load_result(repeatability, "repeatability") if repeatability is not None else None
    comparison = compare_results(load_result(before), load_result(after), rep)
    if json_out:
        typer.echo(json.dumps(comparison.to_dict(), ensure_ascii=False))
        return
    from rich.table import Table

    noise = (
        f"measured repeatability file {repeatability} ({comparison.repeatability_source})"
        if repeatability is not None
        else f"{comparison.repeatability_source}; measure your own camera and lighting with "
        "`wds-edge bench repeatability --source CLIP --out DIR` and pass --repeatability"
    )
    legend = (
        "before / after: wrinkle ratio, the % of the region's skin marked as wrinkle. "
        "change and MDC95 in points: percentage points of that ratio (4.00 % -> 5.00 % is "
        "+1.00). MDC95: the minimal detectable change at 95 % confidence, the smallest change "
        "the measurement's own noise does not explain; a smaller change is 'within noise'. "
        f"Noise figures: {noise}."
    )
    table = Table(
        title=f"{plain(before.name)} -> {plain(after.name)}",
        caption=plain(legend),
        caption_justify="left",
    )
    for column in ("region", "before %", "after %", "change (points)", "MDC95 (points)", ""):
        table.add_column(column)

    def points(value: float | None, form: str = ".2f") -> str:
        return "n/a" if value is None else f"{100 * value:{form}}"

    for c in comparison.changes:
        colour = "bold" if c.verdict in ("increase", "decrease") else "dim"
        table.add_row(
            plain(c.region), points(c.before), points(c.after), points(c.change, "+.2f"),
            points(c.mdc95), f"[{colour}]{c.verdict}[/]",
        )  # fmt: skip
    console = make_console()
    console.print(table)
    for note in comparison.notes:
        console.print(f"note: {note}", style="yellow", markup=False)


def register(app: typer.Typer) -> None:
    """Add `compare` to `app` (`bench repeatability` is added by the bench group)."""
    app.command("compare", help=_COMPARE_HELP)(compare_cmd)
