"""Bad arguments to the scripts: one line and exit 2 before any work, not a traceback (or a
silently wrong run, or a report that fails to be written after minutes of measuring)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from repo_scripts import REPO, load_script

SMALL_ONNX = REPO / "tests" / "fixtures" / "wds_b4_128_dyn.onnx"


@pytest.fixture(autouse=True)
def _scripts_on_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(REPO / "scripts"))  # as `python scripts/x.py` has it


def _exit_2(name: str, argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    """stderr of a run that must exit 2 before it starts (before its "CPU:" line)."""
    with pytest.raises(SystemExit) as exc:
        load_script(f"scripts/{name}.py").main(argv)
    captured = capsys.readouterr()
    assert exc.value.code == 2
    assert "CPU:" not in captured.out
    return captured.err


@pytest.fixture
def a_file(tmp_path: Path) -> Path:
    """A plain file: a path 'under' it cannot be written."""
    path = tmp_path / "file"
    path.write_text("x")
    return path


def test_distill_check(faces_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    err = _exit_2("distill_check", ["--student", str(SMALL_ONNX), "--images",
                                    str(tmp_path / "none")], capsys)  # fmt: skip
    assert "--images" in err and "no such folder" in err
    # a missing landmarker: the SDK's error in one line, exit 2 (it was a traceback)
    script = load_script("scripts/distill_check.py")
    rc = script.main(["--student", str(SMALL_ONNX), "--images", str(faces_dir),
                      "--landmarker", str(tmp_path / "missing.task")])  # fmt: skip
    err = capsys.readouterr().err
    assert rc == 2 and err.startswith("error: ") and "missing.task" in err
    assert "Traceback" not in err


def test_compare_models(faces_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    photo = str(faces_dir / "biden2.jpg")
    err = _exit_2("compare_models", ["--model", str(SMALL_ONNX), "--photos", photo,
                                     "--ages", photo, "--out", "x"], capsys)  # fmt: skip
    assert "expected NAME=path.onnx" in err


@pytest.mark.parametrize(
    ("config", "says"),
    [
        ("ort-fp32=onnx:fp32:{m}", "backend 'onnx' is not one of onnxruntime, openvino"),
        ("{m}", "expected LABEL=BACKEND:PRECISION:PATH"),
        ("ov=openvino:int4:{m}", "openvino takes precision fp32 / bf16 / fp16 / int8"),
        ("ort=onnxruntime:fp32:/no/such.onnx", "/no/such.onnx: no such file"),
    ],
)
def test_bench_int8_people_configs(
    config: str, says: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = config.format(m=SMALL_ONNX)
    err = _exit_2("bench_int8_people", ["--held-out", str(tmp_path), "--config", spec], capsys)
    assert says in err


def test_zone_weight_check(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    labels = tmp_path / "labels"
    (labels / "images").mkdir(parents=True)  # no zones/
    err = _exit_2("zone_weight_check", [str(tmp_path / "run"), "--labels", str(labels)], capsys)
    assert "has no zones/" in err
    (labels / "zones").mkdir()
    err = _exit_2("zone_weight_check", [str(tmp_path / "run"), "--labels", str(labels)], capsys)
    assert "not a finished training run (no best.pt, folds.json, metrics.json)" in err


@pytest.mark.parametrize(
    ("name", "argv"),
    [
        ("cpu_limits", ["--reps", "1"]),
        (
            "bench_int8_people",
            ["--held-out", "{tmp}", "--config", "ort=onnxruntime:fp32:{m}"],
        ),  # fmt: skip
        ("int8_sensitivity", ["--onnx", "{m}", "--int8", "{m}", "--val", "{tmp}"]),
        ("profile_openvino", ["--model", "{m}", "--runs", "1", "--rounds", "1"]),
    ],
)
def test_a_json_report_that_cannot_be_written_is_refused_first(
    name: str, argv: list[str], a_file: Path, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    args = [a.format(tmp=tmp_path, m=SMALL_ONNX) for a in argv]
    err = _exit_2(name, [*args, "--json", str(a_file / "r.json")], capsys)
    assert "cannot write the JSON report" in err


def test_profile_openvino_writes_its_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report = tmp_path / "out" / "prof.json"
    load_script("scripts/profile_openvino.py").main(
        ["--model", str(SMALL_ONNX), "--runs", "1", "--rounds", "1", "--precisions", "fp32",
         "--skip-settings", "--json", str(report)]
    )  # fmt: skip
    data = json.loads(report.read_text())
    assert data["input_shape"] == [1, 3, 128, 128] and "profile_fp32, texture in host" in data
    assert [p.name for p in report.parent.iterdir()] == ["prof.json"]  # no temporary left


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--rounds", "0"], "--rounds must be >= 1, got 0"),
        (["--precision", "fp17"], "--precision must be one of fp32, bf16, fp16, int8, got 'fp17'"),
    ],
)
def test_models_speed_ab_rounds_and_precision(
    argv: list[str], expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """--rounds 0 ended in a StatisticsError traceback after loading every model, an unknown
    --precision in the backend's InvalidInputError traceback."""
    pytest.importorskip("openvino")
    err = _exit_2("models_speed_ab", ["--model", f"a={SMALL_ONNX}", *argv], capsys)
    assert expected in err and "Traceback" not in err
