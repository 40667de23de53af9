"""The CPU scripts that print the load also say when the machine was busy (issue 25 item 5):
cpu_limits.py, core_scaling_probe.py, models_speed_ab.py and profile_openvino.py printed the
load average but never warned, as the benchmarks' LoadWatch does. Real short runs; only the
load average is set (a busy machine cannot be made on demand)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from repo_scripts import REPO, load_script

SMALL_ONNX = REPO / "tests" / "fixtures" / "wds_b4_128_dyn.onnx"
WARNING = "# warning: the machine was busy: load average 64.0 before"


@pytest.fixture
def busy(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(REPO / "scripts"))  # as `python scripts/x.py` has it
    monkeypatch.setattr(os, "getloadavg", lambda: (64.0, 64.0, 64.0))


def test_cpu_limits_warns_on_a_busy_machine(
    busy: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    if not Path("/proc/cpuinfo").is_file():
        pytest.skip("x86 Linux kernels")
    out_json = tmp_path / "limits.json"
    load_script("scripts/cpu_limits.py").main(["--reps", "1", "--json", str(out_json)])
    assert WARNING in capsys.readouterr().out
    assert json.loads(out_json.read_text())["load_average"]["busy"] is True


def test_core_scaling_probe_warns_on_a_busy_machine(
    busy: None, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("torch")
    load_script("scripts/core_scaling_probe.py").main(["--size", "64"])
    assert WARNING in capsys.readouterr().out


def test_openvino_scripts_warn_on_a_busy_machine(
    busy: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("openvino")
    load_script("scripts/models_speed_ab.py").main(
        ["--model", f"a={SMALL_ONNX}", "--precision", "fp32", "--rounds", "1"]
    )
    assert WARNING in capsys.readouterr().out
    out_json = tmp_path / "profile.json"
    load_script("scripts/profile_openvino.py").main(
        ["--model", str(SMALL_ONNX), "--runs", "1", "--top", "1", "--precisions", "fp32",
         "--skip-settings", "--json", str(out_json)]
    )  # fmt: skip
    assert WARNING in capsys.readouterr().out
    assert json.loads(out_json.read_text())["load_average"]["busy"] is True


def test_models_speed_ab_refuses_a_name_given_twice(
    busy: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Two --model entries of one NAME: the second replaced the first's row silently (and the
    first backend was never closed)."""
    pytest.importorskip("openvino")
    other = tmp_path / "other.onnx"
    other.write_bytes(SMALL_ONNX.read_bytes())
    with pytest.raises(SystemExit) as exc:
        load_script("scripts/models_speed_ab.py").main(
            ["--model", f"a={SMALL_ONNX}", "--model", f"a={other}", "--precision", "fp32",
             "--rounds", "1"]
        )  # fmt: skip
    assert exc.value.code == 2
    captured = capsys.readouterr()
    assert "the name 'a' is given twice" in captured.err and "CPU:" not in captured.out
