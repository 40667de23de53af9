"""The issue-24 selection rule as code: golden values by hand, never from the code itself."""

from __future__ import annotations

from pathlib import Path

import pytest

from wds_edge.errors import InvalidInputError
from wds_edge_train.placement import FaceMeasure
from wds_edge_train.selection import read_ages, rule_verdict, spearman_rho, width_choice


def test_spearman_by_hand() -> None:
    # ranks 1 2 3 4 vs 1 3 2 4: sum d^2 = 2 -> 1 - 6 * 2 / (4 * 15) = 0.8
    assert spearman_rho([30, 40, 50, 60], [0.1, 0.3, 0.2, 0.4]) == pytest.approx(0.8)
    assert spearman_rho([30, 40, 50], [3, 2, 1]) == pytest.approx(-1.0)
    with pytest.raises(InvalidInputError):
        spearman_rho([1, 2], [1, 2])


AGES = {"a.jpg": 34, "b.jpg": 44, "c.jpg": 60, "d.jpg": 70, "e.jpg": 80}  # 70: "70 and over"


def _faces(scores: dict[str, float], inside: int = 90, off: int = 5) -> list[FaceMeasure]:
    out = []
    for photo, score in scores.items():
        out.append(FaceMeasure(photo, "colour", "ok", 100, inside, off, score))
        out.append(FaceMeasure(photo, "grey", "needs_colour_camera"))  # refused: fine
        out.append(FaceMeasure(photo, "cool", "ok", 100, inside, off, score * 0.8))
    return out


def test_a_model_that_tracks_age_passes() -> None:
    # scores rise with age except c < b: ranks 1 3 2 4 5 -> sum d^2 = 2, rho = 1 - 12/120 = 0.9
    # old (70, 80): (0.030 + 0.040) / 2 = 0.035; young (34, 44): (0.010 + 0.020) / 2 = 0.015
    v = rule_verdict(_faces({"a.jpg": 0.010, "b.jpg": 0.020, "c.jpg": 0.015, "d.jpg": 0.030,
                             "e.jpg": 0.040}), AGES)  # fmt: skip
    assert v["rho"] == pytest.approx(0.9)
    assert v["old_young_ratio"] == pytest.approx(0.035 / 0.015)
    assert v["inside"] == pytest.approx(0.9) and v["off"] == pytest.approx(0.05)
    assert v["passes"] and v["n_old"] == 2 and v["n_young"] == 2


def test_each_condition_can_fail_alone() -> None:
    base = {"a.jpg": 0.010, "b.jpg": 0.020, "c.jpg": 0.015, "d.jpg": 0.030, "e.jpg": 0.040}
    flat = rule_verdict(_faces({**base, "d.jpg": 0.005, "e.jpg": 0.009}), AGES)
    assert not flat["age"] and not flat["older_vs_younger"] and not flat["passes"]
    # ratio (0.021 + 0.022) / 2 / 0.015 = 1.43 < 1.5, while the ranks still rise (rho 0.9)
    weak = rule_verdict(_faces({**base, "d.jpg": 0.021, "e.jpg": 0.022}), AGES)
    assert weak["age"] and not weak["older_vs_younger"]
    lids = rule_verdict(_faces(base, inside=79, off=5), AGES)
    assert not lids["placement"] and lids["age"] and not lids["passes"]
    off = rule_verdict(_faces(base, inside=90, off=11), AGES)
    assert not off["placement"]
    zero = _faces(base)
    zero[2] = FaceMeasure("a.jpg", "cool", "ok", 0, 0, 0, 0.0)  # a silent zero on cool input
    silent = rule_verdict(zero, AGES)
    assert silent["cool_failing"] == ["a.jpg"] and not silent["cool"] and silent["grey"]


def test_faces_the_analyzer_refuses_are_left_out_up_to_three() -> None:
    ms = _faces({"a.jpg": 0.010, "b.jpg": 0.020, "c.jpg": 0.015, "d.jpg": 0.030, "e.jpg": 0.04})
    ms[0] = FaceMeasure("a.jpg", "colour", "face_too_small")
    v = rule_verdict(ms, AGES)
    assert v["left_out"] == ["a.jpg"] and v["applicable"] and v["n_young"] == 1
    ages = {**AGES, **{f"x{i}.jpg": 50 for i in range(3)}}
    ms += [FaceMeasure(f"x{i}.jpg", "colour", "no_face") for i in range(3)]
    assert not rule_verdict(ms, ages)["applicable"]
    with pytest.raises(InvalidInputError, match="no age"):
        rule_verdict(ms, AGES)


def test_width_choice_margins() -> None:
    b16 = {"passes": True, "rho": 0.70, "old_young_ratio": 2.0, "inside": 0.90}
    assert (
        width_choice({**b16, "rho": 0.61, "old_young_ratio": 1.71, "inside": 0.86}, b16) == "base8"
    )
    assert width_choice({**b16, "rho": 0.59}, b16) == "base16"
    assert width_choice({**b16, "old_young_ratio": 1.69}, b16) == "base16"
    assert width_choice({**b16, "inside": 0.84}, b16) == "base16"
    assert width_choice({**b16, "passes": False}, b16) == "base16"
    assert width_choice(b16, {**b16, "passes": False}) == "base8"
    assert width_choice({**b16, "passes": False}, {**b16, "passes": False}) == "none"
    assert width_choice(None, None) == "none"


def test_read_ages(tmp_path: Path) -> None:
    (tmp_path / "ages.csv").write_text("file,age_years,gender\na.jpg,34,M\nb.jpg,85,F\n")
    assert read_ages(tmp_path / "ages.csv") == {"a.jpg": 34.0, "b.jpg": 85.0}
    (tmp_path / "bad.csv").write_text("name,age\n")
    with pytest.raises(InvalidInputError, match="file,age_years"):
        read_ages(tmp_path / "bad.csv")
