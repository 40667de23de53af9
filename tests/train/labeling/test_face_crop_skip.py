"""The label skip note names what the refusing gate measured (issue 23 item 9): a face too
small is told by its eye distance, not by a sharpness that passed."""

from __future__ import annotations

from wds_edge.perception.quality import QualityConfig
from wds_edge_train.labeling.face_crop import skip_detail

MEASURED = {"n_faces": 1.0, "eye_distance_px": 31.4, "yaw_deg": 3.0, "pitch_deg": -2.0,
            "roll_deg": 1.0, "brightness": 120.0, "sharpness": 48.2}  # fmt: skip


def test_each_gate_names_its_own_measure() -> None:
    quality = QualityConfig(min_eye_distance_px=40, min_sharpness=15)
    small = skip_detail("face_too_small", MEASURED, quality)
    assert small == " (eye distance 31 px, needs >= 40)"
    assert skip_detail("too_blurry", {**MEASURED, "sharpness": 9.06}, quality) == (
        " (sharpness 9.1, needs >= 15)"
    )
    assert skip_detail("turned_away", MEASURED, quality) == " (yaw 3, pitch -2, roll 1 deg)"
    assert skip_detail("too_dark", MEASURED, quality) == " (brightness 120)"
    assert skip_detail("no_face", {"n_faces": 0.0}, quality) == ""


def test_a_colour_cast_names_the_skin_colour() -> None:
    measured = {**MEASURED, "skin_red_over_blue": 0.912, "skin_red_over_green": 1.104,
                "skin_chroma_spread": 0.0831}  # fmt: skip
    assert skip_detail("colour_cast", measured, QualityConfig()) == (
        " (skin red / blue 0.91, red / green 1.10, chroma spread 0.083)"
    )
    assert skip_detail("needs_colour_camera", MEASURED, QualityConfig()) == ""
