"""Every bench CSV row (--csv-out; compare: compare.csv) names the CPU and the load around
the run, the values its JSON report holds (a CSV row read alone used to say nothing of the
machine or how busy it was); and every bench model / compare report names the CPU inference
threads it asked for (--threads, or "default")."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from wds_edge.cli import app


def _run_bench(
    command: str, model: Path, video: Path, landmarker: Path, out: Path, *extra: str
) -> tuple[str, dict, list[dict[str, str]]]:
    """``(printed output, JSON report, CSV rows)`` of a small run of ``command`` on
    ``model`` writing into ``out``, ``extra`` options added."""
    json_path, csv_path = out / "compare.json", out / "compare.csv"
    clip = ["--source", str(video), "--landmarker", str(landmarker)]
    small = ["--models", str(model), "--max-frames", "2", "--runs", "1", "--warmup", "0"]
    args = {
        "model": ["model", "--model", str(model), "--backend", "onnxruntime", "--runs", "2",
                  "--warmup", "0", "--json-out", str(json_path), "--csv-out", str(csv_path)],
        "pipeline": ["pipeline", *clip, "--model", str(model), "--backend", "onnxruntime",
                     "--modes", "serial", "--max-frames", "2", "--chunk", "2",
                     "--json-out", str(json_path), "--csv-out", str(csv_path)],
        "compare": ["compare", *clip, *small, "--widths", "", "--size", "256", "--no-e2e",
                    "--no-torch", "--out", str(out)],
        "compare-backends": ["compare", *clip, *small, "--backends", "onnxruntime:fp32",
                             "--out", str(out)],
    }[command]  # fmt: skip
    result = CliRunner().invoke(app, ["bench", *args, *extra])
    assert result.exit_code == 0, result.output
    with csv_path.open() as handle:
        return result.stdout, json.loads(json_path.read_text()), list(csv.DictReader(handle))


@pytest.mark.parametrize("command", ["model", "pipeline", "compare", "compare-backends"])
def test_every_csv_row_names_the_cpu_and_load_of_its_report(
    command: str,
    onnx_model_fixed_batch: Path,
    video_path: Path,
    landmarker_path: Path,
    tmp_path: Path,
) -> None:
    _, report, rows = _run_bench(
        command, onnx_model_fixed_batch, video_path, landmarker_path, tmp_path / "out"
    )
    assert rows
    load = report["load_average"]
    expected = {
        "cpu_model": report["environment"]["cpu"]["model"],
        "load_before": str(load["before"]),
        "load_after": str(load["after"]),
        "busy": str(load["busy"]),
    }
    for row in rows:
        assert {k: row[k] for k in expected} == expected


# Every bench model / pipeline / compare report names the CPU inference threads it asked for
# (--threads, or "default"): in the JSON, each CSV row and the printed table (a figure
# measured on one thread used to read like one measured on every core).
@pytest.mark.parametrize("command", ["model", "pipeline", "compare", "compare-backends"])
def test_the_threads_asked_for_are_in_every_report(
    command: str,
    onnx_model_fixed_batch: Path,
    video_path: Path,
    landmarker_path: Path,
    tmp_path: Path,
) -> None:
    stdout, report, csv_rows = _run_bench(
        command, onnx_model_fixed_batch, video_path, landmarker_path, tmp_path / "out",
        "--threads", "1",
    )  # fmt: skip
    if command in ("model", "pipeline"):
        rows = [report["result"]] if command == "model" else report["result"]["modes"]
    else:
        rows = report["rows"]
    assert rows and all(r["threads"] == 1 for r in rows)
    if command not in ("model", "pipeline"):
        assert report["threads"] == 1
    assert csv_rows and all(r["threads"] == "1" for r in csv_rows)
    shown = " ".join(stdout.split())
    assert "threads" in shown  # a column (model, entries) or the title (widths table)
    if command == "compare":
        assert "threads 1" in shown


def test_without_threads_the_reports_say_default(
    onnx_model_fixed_batch: Path, tmp_path: Path
) -> None:
    json_path, csv_path = tmp_path / "m.json", tmp_path / "m.csv"
    args = ["bench", "model", "--model", str(onnx_model_fixed_batch), "--backend",
            "onnxruntime", "--runs", "1", "--warmup", "0", "--json-out", str(json_path),
            "--csv-out", str(csv_path)]  # fmt: skip
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert json.loads(json_path.read_text())["result"]["threads"] == "default"
    assert [r["threads"] for r in csv.DictReader(csv_path.open())] == ["default"]


def test_each_pipeline_mode_row_names_the_threads_it_ran_with(
    onnx_model_fixed_batch: Path, video_path: Path, landmarker_path: Path, tmp_path: Path
) -> None:
    """A mode's own :THREADS wins; a mode without one runs with --threads, or the default."""
    _, report, csv_rows = _run_bench(
        "pipeline", onnx_model_fixed_batch, video_path, landmarker_path, tmp_path / "out",
        "--modes", "serial,two-stage:2",  # the later --modes is the one taken
    )  # fmt: skip
    modes = report["result"]["modes"]
    assert [(m["label"], m["threads"]) for m in modes] == [
        ("serial", "default"),
        ("two-stage:2", 2),
    ]
    assert [(r["config"], r["threads"]) for r in csv_rows] == [
        ("serial", "default"),
        ("two-stage:2", "2"),
    ]
    assert all(r["fps"] and r["inference_p50_ms"] for r in csv_rows)
