"""The benchmarks print (and their JSON holds) the CPU model and the load beside their figures
(the project rule, wds_edge.bench.environment): decode_paths.py, soak_demo.py, service_load.py
and scripts/core_scaling_probe.py gave the load without the CPU, or neither. Real runs, short."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from repo_scripts import load_script

from wds_edge.bench.environment import environment_report

CPU = f"CPU {environment_report()['cpu']['model']} ("


def test_decode_paths(faces_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    script = load_script("benchmarks/decode_paths.py")
    assert script.main([str(faces_dir / "biden2.jpg"), "--runs", "2"]) == 0
    out = capsys.readouterr().out
    assert CPU in out and "load average" in out and "cv2.imdecode" in out


def test_soak_demo(
    video_path: Path, landmarker_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    script = load_script("benchmarks/soak_demo.py")
    out_json = tmp_path / "soak.json"
    assert script.main(["--source", str(video_path), "--duration-s", "2", "--interval-s", "1",
                        "--backend", "onnxruntime", "--landmarker", str(landmarker_path),
                        "--out", str(out_json)]) == 0  # fmt: skip
    summary = json.loads(out_json.read_text())
    assert summary["environment"]["cpu"]["model"] == environment_report()["cpu"]["model"]
    assert summary["load"]["after"] is not None
    assert CPU in capsys.readouterr().out


def test_service_load(
    faces_dir: Path, landmarker_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    script = load_script("benchmarks/service_load.py")
    assert script.main(["--photo", str(faces_dir / "biden2.jpg"), "--landmarker",
                        str(landmarker_path), "--sequential", "1", "--clients", "1",
                        "--per-client", "1", "--side", "480"]) == 0  # fmt: skip
    captured = capsys.readouterr()
    report = json.loads(captured.out)  # stdout stays one JSON object
    assert report["environment"]["cpu"]["model"] == environment_report()["cpu"]["model"]
    assert report["load"]["before"] is not None and report["errors"] == 0
    assert CPU in captured.err


def test_core_scaling_probe(capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("torch")
    script = load_script("scripts/core_scaling_probe.py")
    script.main(["--size", "64"])
    out = capsys.readouterr().out
    assert out.startswith(f"# {CPU}") and "BF16 GEMM 64^3" in out
