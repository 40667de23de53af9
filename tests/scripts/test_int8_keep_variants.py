"""scripts/int8_keep_variants.py: --name defaults to the model's stem (RESULTS.md showed the
commands without it, which argparse refused), and a model already staged in --out/NAME/ is
quantized again without copying it onto itself (shutil.SameFileError)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from repo_scripts import load_script

pytest.importorskip("openvino", reason="the script writes OpenVINO INT8 IRs")
pytest.importorskip("nncf", reason="OpenVINO INT8 quantization")

FIXTURE_ONNX = Path(__file__).resolve().parents[1] / "fixtures" / "wds_b4_128_dyn.onnx"


def test_keep_variants_name_defaults_to_the_stem_and_a_staged_model_is_not_copied(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from wds_edge.runtime.probe_inputs import synthetic_skin_crops
    from wds_edge_calibration.dataset import write_calibration_set

    sets = tmp_path / "sets"
    for sub, seed in (("calib", 1), ("held", 2)):
        write_calibration_set(
            synthetic_skin_crops(128, 2, seed=seed), sets / sub, source="synthetic", size_px=128,
            preprocessing_path="synthetic",
        )  # fmt: skip
    script = load_script("scripts/int8_keep_variants.py")
    out = tmp_path / "models"
    script.main(["--onnx", str(FIXTURE_ONNX), "--sets", str(sets), "--variant", "all",
                 "--out", str(out)])  # fmt: skip
    staged = out / FIXTURE_ONNX.stem / FIXTURE_ONNX.name
    first = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert first["model"] == str(staged) and Path(first["ir"]).is_file()
    # the second variant of the model staged by the first: no SameFileError
    script.main(["--onnx", str(staged), "--sets", str(sets), "--variant", "cli",
                 "--out", str(out), "--name", FIXTURE_ONNX.stem])  # fmt: skip
    second = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert second["model"] == str(staged) and second["variant"] == "cli"
    assert staged.read_bytes() == FIXTURE_ONNX.read_bytes()
