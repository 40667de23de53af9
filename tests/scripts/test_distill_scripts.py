"""The issue-25 distillation scripts: teacher labels of real photos (the bundled model through
the kiosk path) and the rule's conditions, checked against hand-computed values."""

from __future__ import annotations

import json
import math
from pathlib import Path
from types import ModuleType

import cv2
import numpy as np
import pytest
from repo_scripts import load_script

REPO = Path(__file__).resolve().parents[2]


def _script(name: str) -> ModuleType:
    return load_script(f"scripts/{name}.py")


check = _script("distill_check")


def _row(name: str, t: float, s: float, iou: float) -> dict:
    return {
        "face": name,
        "status": "ok",
        "iou": iou,
        "teacher": {"overall": t},
        "student": {"overall": s},
    }


def test_limits_are_the_rules_numbers() -> None:
    # 1.96 x sqrt 2 x DEFAULT_REPEATABILITY's per-frame sd (0.00316) and CV (0.0573)
    max_abs, max_bias = check.MAX_ABS_DIFF, check.MAX_REL_BIAS
    assert max_abs == pytest.approx(1.96 * math.sqrt(2) * 0.00316)
    assert max_abs == pytest.approx(0.008759, abs=1e-6)
    assert max_bias == pytest.approx(0.15883, abs=1e-5)
    assert (check.MIN_MEAN_IOU, check.MIN_RHO) == (0.431, 0.9)


def test_conditions_by_hand() -> None:
    rows = [
        _row("a", 0.010, 0.011, 0.50),
        _row("b", 0.020, 0.019, 0.40),
        _row("c", 0.030, 0.032, 0.45),
        _row("d", 0.040, 0.041, 0.47),
        {"face": "e", "status": "face_too_small"},  # not scored: left out of 1-4
    ]
    c = check.conditions(rows)
    assert c["1_mean_iou"]["value"] == pytest.approx(0.455)  # (0.50 + 0.40 + 0.45 + 0.47) / 4
    assert c["2_max_abs_overall_diff"]["value"] == pytest.approx(0.002)
    assert c["3_mean_ratio"]["value"] == pytest.approx(0.103 / 0.100)
    assert c["4_spearman_rho"]["value"] == pytest.approx(1.0)
    assert all(v["met"] for v in c.values())
    # swap two students' scores: b and c change places (rho = 1 - 6 * 2 / (4 * 15) = 0.8)
    rows[1]["student"]["overall"], rows[2]["student"]["overall"] = 0.032, 0.019
    c = check.conditions(rows)
    assert c["4_spearman_rho"]["value"] == pytest.approx(0.8)
    assert not c["4_spearman_rho"]["met"]
    assert c["2_max_abs_overall_diff"]["value"] == pytest.approx(0.012)  # c: 0.030 -> 0.019
    assert not c["2_max_abs_overall_diff"]["met"]


def test_a_biased_student_fails_condition_3() -> None:
    rows = [_row(str(i), t, 0.8 * t, 0.5) for i, t in enumerate((0.010, 0.015, 0.020))]
    c = check.conditions(rows)
    assert c["3_mean_ratio"]["value"] == pytest.approx(0.8) and not c["3_mean_ratio"]["met"]
    assert c["2_max_abs_overall_diff"]["met"]  # 0.004 <= 0.0088: only the bias shows it


def test_teacher_labels_of_a_real_photo_and_its_views(
    tmp_path: Path, faces_dir: Path, landmarker_path: Path
) -> None:
    make = _script("make_distill_data")
    out = tmp_path / "data"
    photo = faces_dir / "biden2.jpg"
    assert make.main(
        ["--out", str(out), "--images", str(photo), "--landmarker", str(landmarker_path),
         "--views", "2", "--seed", "3"]
    ) == 0  # fmt: skip
    names = sorted(p.name for p in (out / "images").iterdir())
    assert names == ["biden2__v00.png", "biden2__v01.png"]
    summary = json.loads((out / "teacher.json").read_text())
    assert summary["threshold"] == 0.5 and summary["views"] == 2 and summary["seed"] == 3
    assert summary["teacher"]["model"]["version"] == "1.0.0"
    # view 0 is the kiosk crop as the analyzer segments it: same mask as analyze()
    from wds_edge.analysis.analyzer import WrinkleAnalyzer
    from wds_edge.io import read_image

    with WrinkleAnalyzer(
        backend="onnxruntime", precision="fp32", landmarker_path=str(landmarker_path)
    ) as analyzer:
        result = analyzer.analyze(read_image(photo))
    mask0 = cv2.imread(str(out / "masks" / "biden2__v00.png"), cv2.IMREAD_GRAYSCALE) > 0
    assert result.wrinkle_mask is not None and mask0.any()
    assert np.array_equal(mask0, result.wrinkle_mask)
    crop0 = cv2.imread(str(out / "images" / "biden2__v00.png"))
    assert np.array_equal(cv2.cvtColor(crop0, cv2.COLOR_BGR2RGB), result.face_crop.crop_rgb)
    prob0 = cv2.imread(str(out / "probs" / "biden2__v00.png"), cv2.IMREAD_UNCHANGED)
    assert prob0.dtype == np.uint16
    assert np.abs(prob0 / 65535.0 - result.wrinkle_prob).max() < 1e-4
    # view 1 is augmented and labelled afresh: another image, another mask
    crop1 = cv2.imread(str(out / "images" / "biden2__v01.png"))
    mask1 = cv2.imread(str(out / "masks" / "biden2__v01.png"), cv2.IMREAD_GRAYSCALE) > 0
    assert not np.array_equal(crop1, crop0) and mask1.any()
    assert not np.array_equal(mask1, mask0)
    with pytest.raises(SystemExit):  # an existing, non-empty folder is refused
        make.main(["--out", str(out), "--images", str(photo)])
