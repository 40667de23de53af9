"""People-split crop sets (issue 25): the gate must measure people the model was not
calibrated on, so the sets name their people and a shared person is refused."""

from __future__ import annotations

import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest

from wds_edge.errors import InvalidInputError
from wds_edge.io import read_image
from wds_edge_calibration.dataset import load_calibration_set, write_calibration_set
from wds_edge_calibration.people import (
    LIGHT_VARIANTS,
    SCALE_VARIANTS,
    PeopleSource,
    build_people_set,
    check_people_split,
    photo_variants,
)

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "wds_b4_128_dyn.onnx"


def test_a_person_in_both_sets_is_refused_by_name() -> None:
    check_people_split(["obama", "K000391"], ["B001260", "grace_hopper"])  # disjoint: fine
    with pytest.raises(InvalidInputError, match="obama"):
        check_people_split(["obama", "biden"], ["grace_hopper", "obama"])
    with pytest.raises(InvalidInputError, match="name their people"):
        check_people_split(["obama"], [])


def test_quantize_refuses_sets_that_share_a_person(tmp_path: Path) -> None:
    pytest.importorskip("nncf", reason="OpenVINO INT8 needs nncf")
    from wds_edge_calibration.openvino_int8 import quantize_openvino_int8

    model = tmp_path / "m.onnx"
    shutil.copy(FIXTURE, model)
    rng = np.random.default_rng(3)
    crops = [rng.integers(0, 256, (128, 128, 3), dtype=np.uint8) for _ in range(4)]
    kw = {"source": "s", "size_px": 128, "preprocessing_path": "s"}
    calib = write_calibration_set(crops[:2], tmp_path / "c", people=["biden", "obama"], **kw)
    held = write_calibration_set(crops[2:], tmp_path / "h", people=["obama"], **kw)
    assert load_calibration_set(tmp_path / "h").manifest.people == ["obama"]  # read back
    with pytest.raises(InvalidInputError, match="calibrated on \\(obama\\)"):
        quantize_openvino_int8(model, calib, held, allow_accuracy_loss=True)
    assert not (tmp_path / "m.int8.xml").exists()


def test_photo_variants_by_hand() -> None:
    grey = np.full((40, 60, 3), 128, np.uint8)
    grey[:, :30, 0] = 10  # left half differs in blue: shows the mirror
    variants = dict(photo_variants(grey, scales=(1.0, 0.5), lights=("as_is", "dark", "flat")))
    assert len(variants) == 2 * 3 * 2
    assert np.array_equal(variants["s1-as_is"], grey)
    assert np.array_equal(variants["s1-as_is-m"], grey[:, ::-1])
    # dark: 255 * (128 / 255) ** 1.6 = 84.7 -> 85; flat: 128 + 0.6 * (128 - 128) = 128,
    # and 128 + 0.6 * (10 - 128) = 57.2 -> 57
    assert variants["s1-dark"][0, 40, 1] == 85
    assert variants["s1-flat"][0, 40, 1] == 128 and variants["s1-flat"][0, 0, 0] == 57
    assert variants["s0.5-as_is"].shape == (20, 30, 3)
    assert len(list(photo_variants(grey))) == len(SCALE_VARIANTS) * len(LIGHT_VARIANTS) * 2
    with pytest.raises(InvalidInputError, match="light must be one of"):
        list(photo_variants(grey, lights=("sunset",)))


def test_a_set_records_only_the_people_whose_faces_passed(
    faces_dir: Path, landmarker_path: Path, tmp_path: Path
) -> None:
    blank = tmp_path / "wall.png"
    cv2.imwrite(str(blank), np.full((400, 400, 3), 200, np.uint8))  # no face in it
    sources = [PeopleSource(faces_dir / "biden2.jpg", ("biden",)), PeopleSource(blank, ("nobody",))]
    made = build_people_set(sources, tmp_path / "set", size_px=128, augment=False,
                            landmarker_path=landmarker_path)  # fmt: skip
    assert len(made) == 1 and made.manifest.people == ["biden"]
    with pytest.raises(InvalidInputError, match="name the people"):
        PeopleSource(blank, ())


def test_one_name_is_one_person_not_its_letters(tmp_path: Path) -> None:
    """PeopleSource(path, "biden") kept the string, so the people split compared letters:
    "obama" and "biden" shared "b" and were refused as the same person."""
    photo = tmp_path / "face.jpg"
    biden, obama = PeopleSource(photo, "biden"), PeopleSource(photo, ["obama", "O000167"])
    assert biden.people == ("biden",) and obama.people == ("obama", "O000167")
    check_people_split(biden.people, obama.people)  # different people: fine
    with pytest.raises(InvalidInputError, match="calibrated on \\(biden\\)"):
        check_people_split(biden.people, PeopleSource(photo, "biden").people)
    with pytest.raises(InvalidInputError, match="a name or a tuple / list of names"):
        PeopleSource(photo, None)  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="name the people"):
        PeopleSource(photo, " ")


def test_people_crops_skip_grey_faces_as_the_analyzer_does(
    faces_dir: Path, landmarker_path: Path, tmp_path: Path
) -> None:
    from wds_edge_calibration.people import people_crops

    grey = tmp_path / "grey.png"
    image = read_image(faces_dir / "biden2.jpg")
    cv2.imwrite(str(grey), cv2.cvtColor(image, cv2.COLOR_BGR2GRAY))
    rejected: dict[str, int] = {}
    sources = [PeopleSource(grey, "biden")]
    found = list(people_crops(sources, 128, augment=False, landmarker_path=landmarker_path,
                              rejected=rejected))  # fmt: skip
    assert found == [] and rejected == {"needs_colour_camera": 1}


def test_check_held_out_trusts_given_names_and_matches_derived_ids_by_video(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Names given are checked strictly; a person derived from a video file (its content
    id, ``people_source`` "video file") refuses only the same video on the other side and
    otherwise warns; a manifest without ``people_source`` (older sets) reads as names
    given."""
    import json
    import logging

    from wds_edge_calibration.manifest import PEOPLE_FROM_VIDEO
    from wds_edge_calibration.qdq import check_held_out

    rng = np.random.default_rng(5)
    kw = {"source": "s.avi", "size_px": 32, "preprocessing_path": "s"}

    def crops(name: str, people: list[str], **extra: str):  # one crop of its own
        crop = [rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)]
        return write_calibration_set(crop, tmp_path / name, people=people, **kw, **extra)

    video = {"people_source": PEOPLE_FROM_VIDEO}
    va, va_again = crops("va", ["video:aa"], **video), crops("va2", ["video:aa"], **video)
    vb, nobody, anna = crops("vb", ["video:bb"], **video), crops("n", []), crops("a", ["anna"])
    assert va.manifest.people_derived and not anna.manifest.people_derived
    assert anna.manifest.people_source == "given" and nobody.manifest.people_source is None
    with pytest.raises(InvalidInputError, match="from the same video as the calibration"):
        check_held_out(va, va_again)
    for calib, held in ((va, vb), (va, nobody), (nobody, va), (va, anna), (anna, vb)):
        caplog.clear()
        with caplog.at_level(logging.WARNING):
            check_held_out(calib, held)
        assert "cannot tell whether the held-out crops show people" in caplog.text
    # an older manifest: people without people_source are names given, checked strictly
    manifest = tmp_path / "a" / "manifest.json"
    data = json.loads(manifest.read_text())
    del data["people_source"]
    manifest.write_text(json.dumps(data))
    older = load_calibration_set(tmp_path / "a")
    assert older.manifest.people == ["anna"] and not older.manifest.people_derived
    with pytest.raises(InvalidInputError, match="calibrated on \\(anna\\)"):
        check_held_out(crops("a2", ["anna"]), older)
    with pytest.raises(InvalidInputError, match="name their people"):
        check_held_out(older, nobody)
