"""Every bench CSV row (--csv-out; compare: compare.csv) names the CPU and the load around
the run, the values its JSON report holds (a CSV row read alone used to say nothing of the
machine or how busy it was)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from wds_edge.cli import app


@pytest.mark.parametrize("command", ["model", "pipeline", "compare", "compare-backends"])
def test_every_csv_row_names_the_cpu_and_load_of_its_report(
    command: str,
    onnx_model_fixed_batch: Path,
    video_path: Path,
    landmarker_path: Path,
    tmp_path: Path,
) -> None:
    model, out = str(onnx_model_fixed_batch), tmp_path / "out"
    json_path, csv_path = out / "compare.json", out / "compare.csv"
    clip = ["--source", str(video_path), "--landmarker", str(landmarker_path)]
    small = ["--models", model, "--max-frames", "2", "--runs", "1", "--warmup", "0"]
    args = {
        "model": ["model", "--model", model, "--backend", "onnxruntime", "--runs", "2",
                  "--warmup", "0", "--json-out", str(json_path), "--csv-out", str(csv_path)],
        "pipeline": ["pipeline", *clip, "--model", model, "--backend", "onnxruntime",
                     "--modes", "serial", "--max-frames", "2", "--chunk", "2",
                     "--json-out", str(json_path), "--csv-out", str(csv_path)],
        "compare": ["compare", *clip, *small, "--widths", "", "--size", "256", "--no-e2e",
                    "--no-torch", "--out", str(out)],
        "compare-backends": ["compare", *clip, *small, "--backends", "onnxruntime:fp32",
                             "--out", str(out)],
    }[command]  # fmt: skip
    result = CliRunner().invoke(app, ["bench", *args])
    assert result.exit_code == 0, result.output
    report = json.loads(json_path.read_text())
    rows = list(csv.DictReader(csv_path.open()))
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
