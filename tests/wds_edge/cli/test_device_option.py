"""--device on demo, bench model and bench pipeline (as on analyze): the value reaches the
backend, which runs on a device this machine has (OpenVINO CPU) and refuses one it lacks in
one line (exit 2). serve's --device: tests/wds_edge/cli/test_serve_cmds.py."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fault_helpers import run_cli

pytest.importorskip("openvino", reason="--device CPU / NOPE is checked on OpenVINO")

OPENVINO_FP32 = ("--backend", "openvino", "--precision", "fp32")


def _command(name: str, model: Path, landmarker: Path, video: Path, tmp: Path) -> list[object]:
    """The shortest real run of each command (a few frames, one timed call)."""
    if name == "bench model":
        return ["bench", "model", "--model", model, "--warmup", 0, "--runs", 1]
    if name == "bench pipeline":
        return ["bench", "pipeline", "--source", video, "--model", model, "--landmarker",
                landmarker, "--modes", "serial", "--max-frames", 2, "--chunk", 2]  # fmt: skip
    return ["demo", "--source", video, "--model", model, "--landmarker", landmarker,
            "--headless", "--jsonl", tmp / "run.jsonl", "--max-frames", 2, "--sync"]  # fmt: skip


COMMANDS = ["bench model", "bench pipeline", "demo"]


@pytest.mark.parametrize("name", COMMANDS)
def test_device_reaches_the_backend(
    name: str,
    onnx_model_path: Path,
    landmarker_path: Path,
    video_path: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    args = _command(name, onnx_model_path, landmarker_path, video_path, tmp_path)
    code, out, err = run_cli(capsys, *args, *OPENVINO_FP32, "--device", "NOPE")
    assert code == 2, err
    assert "OpenVINO has no device 'NOPE' here" in err and "--device CPU" in err
    assert "Traceback" not in err and not (tmp_path / "run.jsonl").exists()

    report = tmp_path / "report.json"
    extra = ["--json-out", report] if name.startswith("bench") else []
    code, out, err = run_cli(capsys, *args, *OPENVINO_FP32, "--device", "CPU", *extra)
    assert code == 0, err
    if extra:  # the report names where the model ran
        result = json.loads(report.read_text())["result"]
        assert "OpenVINO CPU FP32" in result["device"], result["device"]


@pytest.mark.parametrize("name", COMMANDS)
def test_device_help_is_the_one_of_analyze(name: str) -> None:
    from typer.testing import CliRunner

    from wds_edge.cli import app
    from wds_edge.cli.options import DEVICE_HELP

    def help_of(*argv: str) -> str:
        result = CliRunner().invoke(app, [*argv, "--help"])
        assert result.exit_code == 0, result.output
        return " ".join(result.output.replace("│", " ").split())

    assert " ".join(DEVICE_HELP.split()) in help_of("analyze")
    assert "--device" in help_of(*name.split())
    assert " ".join(DEVICE_HELP.split()) in help_of(*name.split())
