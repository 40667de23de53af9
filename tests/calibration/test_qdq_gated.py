"""quantize_qdq_gated: the whole Q/DQ route as one library call (quantize, gate, record,
replace), its inputs checked before minutes of work: held-out crops that are not held out,
a missing or corrupt model, an --out that is the FP32 model."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import onnx
import pytest

from wds_edge.errors import InvalidInputError, ModelError
from wds_edge.io import sha256_file
from wds_edge_calibration.dataset import CalibrationSet, write_calibration_set
from wds_edge_calibration.qdq import quantize_qdq_gated

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "wds_b4_128_dyn.onnx"


def _crops(path: Path, seed: int, people: list[str] | None, count: int = 3) -> CalibrationSet:
    from wds_edge.runtime.probe_inputs import synthetic_skin_crops

    return write_calibration_set(
        synthetic_skin_crops(128, count, seed=seed), path, source="synthetic", size_px=128,
        preprocessing_path="synthetic", people=people,
    )  # fmt: skip


@pytest.fixture(scope="module")
def sets(tmp_path_factory: pytest.TempPathFactory) -> dict[str, CalibrationSet]:
    root = tmp_path_factory.mktemp("gated")
    return {
        "calib": _crops(root / "calib", 1, ["a"], count=4),
        "held": _crops(root / "held", 2, ["b"]),
        "same_person": _crops(root / "same_person", 3, ["a", "c"]),
        "nobody": _crops(root / "nobody", 4, None),
    }


def _info(path: Path) -> dict[str, Any]:
    props = {p.key: p.value for p in onnx.load(str(path)).metadata_props}
    return json.loads(props["quantization"])


def test_one_call_quantizes_gates_and_records(sets: dict[str, CalibrationSet], tmp_path: Path):
    progress: list[tuple[int, int | None, str]] = []
    out = tmp_path / "q.onnx"
    path, result = quantize_qdq_gated(
        FIXTURE, sets["calib"], out, held_out=sets["held"], allow_accuracy_loss=True,
        progress=lambda done, total, info="": progress.append((done, total, info)),
    )  # fmt: skip
    assert path == out and result is not None and result.images == 3
    record = _info(out)["gate"]
    assert record["held_out"] and record["held_out_people"] == ["b"]
    assert progress[0] == (0, None, "quantizing") and progress[-1] == (3, 3, "gating")
    # ungated: written without a record (the runtime warns when it loads it)
    path, result = quantize_qdq_gated(FIXTURE, sets["calib"], tmp_path / "u.onnx", gate=False)
    assert result is None and "gate" not in _info(path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["q.onnx", "u.onnx"]


@pytest.mark.parametrize(
    ("held", "message"),
    [
        ("calib", "held-out crops are also calibration crops"),
        ("same_person", r"show people the model was calibrated on \(a\)"),
        ("nobody", "must each name their people"),
    ],
)
def test_held_out_crops_that_are_not_held_out_are_refused(
    held: str, message: str, sets: dict[str, CalibrationSet], tmp_path: Path
) -> None:
    """Defect: the Q/DQ route checked neither crop overlap nor the people split (as the
    OpenVINO route and build-engine do), yet recorded ``held_out: true``."""
    out = tmp_path / "q.onnx"
    with pytest.raises(InvalidInputError, match=message):
        quantize_qdq_gated(FIXTURE, sets["calib"], out, held_out=sets[held])
    assert not out.exists()


def test_a_missing_or_corrupt_model_is_a_model_error(
    sets: dict[str, CalibrationSet], tmp_path: Path
) -> None:
    """Defect: FileNotFoundError / protobuf DecodeError tracebacks."""
    text = tmp_path / "text.onnx"
    text.write_text("not a model")
    for model, message in ((tmp_path / "missing.onnx", "no such model file"),
                           (text, "cannot read it as an ONNX model")):  # fmt: skip
        with pytest.raises(ModelError, match=message):
            quantize_qdq_gated(model, sets["calib"], tmp_path / "q.onnx")
    assert not (tmp_path / "q.onnx").exists()


def test_out_may_not_be_the_fp32_model(sets: dict[str, CalibrationSet], tmp_path: Path) -> None:
    """Defect: --out equal to --onnx overwrote the FP32 model the gate compares with."""
    fp32 = tmp_path / "m.onnx"
    fp32.write_bytes(FIXTURE.read_bytes())
    before = sha256_file(fp32)
    for out in (fp32, tmp_path / "." / "m.onnx"):
        with pytest.raises(InvalidInputError, match="is the FP32 model --onnx"):
            quantize_qdq_gated(fp32, sets["calib"], out)
    assert sha256_file(fp32) == before
