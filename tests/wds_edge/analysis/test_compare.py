"""Before / after comparison with a minimal detectable change (issue 21). Golden values by
hand: MDC95 = 1.96 * sqrt(SEM_b^2 + SEM_a^2), SEM = max(cv * level, sd)."""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from wds_edge.analysis.compare import DEFAULT_REPEATABILITY, compare_results, load_result
from wds_edge.cli import app
from wds_edge.errors import InvalidInputError

MODEL = {
    "name": "wds-unet-starter",
    "version": "1.0.0",
    "threshold": 0.5,
    "input_size_px": 640,
    "sha256": "1d" * 32,
}
REPEATABILITY = {
    "source": "hand-made",
    "regions": {
        "overall": {"session_sd": 0.001, "session_cv": 0.02, "frame_sd": 0.003, "frame_cv": 0.06},
        "glabella": {"session_sd": 0.004, "session_cv": 0.1, "frame_sd": 0.01, "frame_cv": 0.2},
    },
}


def _result(overall: float, glabella: float, fused: bool = True, **extra: object) -> dict:
    scores = {"overall": {"wrinkle_ratio": overall}, "glabella": {"wrinkle_ratio": glabella}}
    data = {"status": "ok", "scores": scores, "model": MODEL, **extra}
    if fused:
        data = {**data, "fused": True, "frame": {"model": MODEL}}
    return data


def test_mdc_of_fused_results_by_hand() -> None:
    comparison = compare_results(_result(0.050, 0.040), _result(0.052, 0.060), REPEATABILITY)
    overall, glabella = comparison.changes
    # overall: level 0.051, SEM = max(0.02 * 0.051, 0.001) = 0.00102 for both results.
    assert overall.mdc95 == pytest.approx(1.96 * math.sqrt(2) * 0.00102)
    assert overall.change == pytest.approx(0.002) and overall.verdict == "within noise"
    # glabella: level 0.05, SEM = max(0.1 * 0.05, 0.004) = 0.005: MDC95 0.01386 < 0.02.
    assert glabella.mdc95 == pytest.approx(1.96 * math.sqrt(2) * 0.005)
    assert glabella.verdict == "increase"
    worse = compare_results(_result(0.050, 0.060), _result(0.056, 0.040), REPEATABILITY)
    assert [c.verdict for c in worse.changes] == ["increase", "decrease"]


def test_single_photos_are_judged_by_the_per_frame_noise() -> None:
    before, after = _result(0.050, 0.04, fused=False), _result(0.056, 0.04, fused=False)
    overall = compare_results(before, after, REPEATABILITY).changes[0]
    # level 0.053: SEM = max(0.06 * 0.053, 0.003) = 0.00318; MDC95 = 0.008815 > 0.006.
    assert overall.mdc95 == pytest.approx(1.96 * math.sqrt(2) * 0.00318)
    assert overall.verdict == "within noise"  # the same change a fused capture would show


def test_a_result_with_a_wide_spread_of_its_own_frames_is_noisier() -> None:
    spread = {"overall": {"sd": 0.01}, "glabella": {"sd": 0.0}}
    before = _result(0.050, 0.04, per_frame_spread=spread, frames_used=4)
    overall = compare_results(before, _result(0.056, 0.04), REPEATABILITY).changes[0]
    # before's own standard error 0.01 / sqrt(4) = 0.005 beats 0.00106; after keeps 0.00106.
    assert overall.mdc95 == pytest.approx(1.96 * math.sqrt(0.005**2 + 0.00106**2))
    assert overall.verdict == "within noise"


def test_results_that_cannot_be_compared_are_refused() -> None:
    with pytest.raises(InvalidInputError, match="no_face"):
        compare_results({"status": "no_face", "scores": {}}, _result(0.05, 0.04), REPEATABILITY)
    other = _result(0.05, 0.04)
    other["frame"] = {"model": {**MODEL, "version": "2.0.0"}}
    with pytest.raises(InvalidInputError, match="different models"):
        compare_results(_result(0.05, 0.04), other, REPEATABILITY)
    with pytest.raises(InvalidInputError, match="bench repeatability"):
        compare_results(_result(0.05, 0.04), _result(0.05, 0.04), {"regions": {}})
    raised = _result(0.09, 0.04, capture="raise_brows")
    with pytest.raises(InvalidInputError, match="neutral capture and after a raise_brows"):
        compare_results(_result(0.05, 0.04), raised, REPEATABILITY)
    # a photo or an older result without "capture" is a neutral one; two dynamic captures compare
    assert compare_results(_result(0.05, 0.04), _result(0.05, 0.04, capture="neutral"))
    assert compare_results(raised, _result(0.05, 0.04, capture="raise_brows"), REPEATABILITY)
    note = compare_results(
        _result(0.05, 0.04, warnings=["not_neutral"]), _result(0.05, 0.04), REPEATABILITY
    ).notes
    assert note == ["the before face was not neutral: expression deepens lines"]


def test_a_raise_brows_capture_without_raised_brows_is_noted() -> None:
    """A raise_brows capture warns brows_not_raised (not not_neutral) when it had to fuse
    frames without raised brows: that used to pass without a note."""
    before = _result(0.05, 0.04, capture="raise_brows", warnings=["brows_not_raised"])
    after = _result(0.05, 0.04, capture="raise_brows", warnings=[])
    assert compare_results(before, after, REPEATABILITY).notes == [
        "the before capture fused frames without raised brows: its forehead lines show less"
    ]
    # the other kind's warning says nothing about this kind of capture
    odd = _result(0.05, 0.04, capture="raise_brows", warnings=["not_neutral"])
    assert compare_results(after, odd, REPEATABILITY).notes == []
    with pytest.raises(InvalidInputError, match="warnings are not a list of names"):
        compare_results(after, {**after, "warnings": "brows_not_raised"}, REPEATABILITY)
    frown = _result(0.05, 0.04, capture="frown")
    with pytest.raises(InvalidInputError, match="'frown' captures, not a kind wds-edge makes"):
        compare_results(frown, frown, REPEATABILITY)


def test_a_capture_against_a_photo_is_refused_and_a_one_frame_capture_is_a_photo() -> None:
    with pytest.raises(InvalidInputError, match="a fused capture and after a single photo"):
        compare_results(_result(0.050, 0.04), _result(0.056, 0.04, fused=False), REPEATABILITY)
    one_frame = _result(0.050, 0.04, frames_used=1)
    overall = compare_results(one_frame, _result(0.056, 0.04), REPEATABILITY).changes[0]
    # before: the per-frame SEM max(0.06 * 0.053, 0.003) = 0.00318; after: 0.00106
    assert overall.mdc95 == pytest.approx(1.96 * math.sqrt(0.00318**2 + 0.00106**2))


def test_no_change_is_within_noise_even_without_a_noise_figure() -> None:
    rep = {"source": "x", "regions": {"overall": REPEATABILITY["regions"]["overall"]}}
    comparison = compare_results(_result(0.05, 0.0), _result(0.06, 0.0), rep)
    glabella = comparison.changes[1]
    assert glabella.mdc95 == 0.0 and glabella.verdict == "within noise"
    assert comparison.notes == [
        "no repeatability figures for glabella: only the results' own frame spread sets "
        "their minimal detectable change"
    ]


@pytest.mark.parametrize(
    "score", ["x", None, 5, {}, {"wrinkle_ratio": "0.1"}, {"wrinkle_ratio": 2}]
)
def test_a_score_that_is_not_a_ratio_is_refused(score: object) -> None:
    bad = _result(0.05, 0.04)
    bad["scores"]["glabella"] = score
    with pytest.raises(InvalidInputError, match="'glabella' has no wrinkle_ratio in"):
        compare_results(_result(0.05, 0.04), bad, REPEATABILITY)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"frames_used": "3"}, "frames_used is not a whole number of frames \\(got '3'\\)"),
        ({"frames_used": 2.5}, "frames_used is not a whole number"),
        ({"frames_used": True}, "frames_used is not a whole number"),
        ({"frames_used": 3, "per_frame_spread": [1]}, "per_frame_spread is not a region table"),
        (
            {"frames_used": 3, "per_frame_spread": {"overall": [0.1]}},
            "per_frame_spread for 'overall' has no sd",
        ),
        (
            {"frames_used": 3, "per_frame_spread": {"overall": {"sd": "0.1"}}},
            "per_frame_spread for 'overall' has no sd >= 0",
        ),
    ],
)
def test_a_frame_count_or_spread_of_the_wrong_form_is_refused(extra: dict, message: str) -> None:
    """A hand-edited or foreign file: a spread that is a list ended in AttributeError, a
    frames_used given as text was read as a number."""
    bad = _result(0.05, 0.04, **extra)
    with pytest.raises(InvalidInputError, match="the after result's " + message):
        compare_results(_result(0.05, 0.04), bad, REPEATABILITY)


def test_the_default_repeatability_covers_every_region() -> None:
    from wds_edge.perception.regions import REGION_NAMES

    assert set(DEFAULT_REPEATABILITY["regions"]) == {"overall", *REGION_NAMES}
    for stats in DEFAULT_REPEATABILITY["regions"].values():
        assert stats["session_sd"] > 0 and stats["frame_sd"] > 0


def test_compare_command(tmp_path: Path) -> None:
    before, after, rep = tmp_path / "b.json", tmp_path / "a.json", tmp_path / "rep.json"
    before.write_text(json.dumps(_result(0.050, 0.040)))
    after.write_text(json.dumps(_result(0.052, 0.060)))
    rep.write_text(json.dumps(REPEATABILITY))
    args = ["compare", str(before), str(after), "--repeatability", str(rep), "--json"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert [r["verdict"] for r in data["regions"]] == ["within noise", "increase"]
    table = CliRunner().invoke(
        app, ["compare", str(before), str(after), "--repeatability", str(rep)]
    )
    assert table.exit_code == 0 and "within noise" in table.stdout
    lines = tmp_path / "lines.json"
    lines.write_text(json.dumps(_result(0.05, 0.04)) + "\n" + json.dumps(_result(0.05, 0.04)))
    with pytest.raises(InvalidInputError, match="2 lines"):
        load_result(lines)
    image = tmp_path / "overlay.png"
    image.write_bytes(b"\x89PNG\r\n\x1a\n\xff\xfe" + bytes(range(256)))
    with pytest.raises(InvalidInputError, match="binary data"):
        load_result(image)
    # the console-script entry point turns the error into a message and exit code 2
    run = subprocess.run(
        [sys.executable, "-m", "wds_edge.cli", "compare", str(image), str(after)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert run.returncode == 2 and "binary data" in run.stderr, run.stderr


def test_results_of_different_model_files_or_input_sizes_are_refused() -> None:
    """Defect: only name, version and threshold were compared, and every user export is
    'wds-unet 0.0.0': results of two different models, or of a 128 px and a 640 px model,
    were compared as a change of the skin."""
    other_file = _result(0.06, 0.04)
    other_file["frame"] = {"model": {**MODEL, "sha256": "e9" * 32}}
    with pytest.raises(InvalidInputError, match="model file sha256 1d1d1d1d1d1d... / e9e9e9"):
        compare_results(_result(0.05, 0.04), other_file, REPEATABILITY)
    small = _result(0.06, 0.04)
    small["frame"] = {"model": {**MODEL, "input_size_px": 128}}
    with pytest.raises(InvalidInputError, match="input_size_px 640 / 128"):
        compare_results(_result(0.05, 0.04), small, REPEATABILITY)
    # another backend / precision of the same file compares; so does a Q/DQ INT8 model of it
    bf16 = _result(0.05, 0.04)
    bf16["frame"] = {"model": {**MODEL, "backend": "openvino", "precision": "bf16"}}
    int8 = _result(0.05, 0.04)
    int8["frame"] = {"model": {**MODEL, "sha256": "ab" * 32, "source_sha256": MODEL["sha256"]}}
    for after in (bf16, int8):
        assert compare_results(_result(0.05, 0.04), after, REPEATABILITY).notes == []


def test_results_without_a_model_sha256_compare_on_what_they_have() -> None:
    """Results written before the model's sha256 was recorded still compare, with a note."""
    old = {k: v for k, v in MODEL.items() if k != "sha256"}
    before = _result(0.05, 0.04)
    before["frame"] = {"model": {**old, "path": "/m/a.onnx"}}
    after = _result(0.05, 0.04)
    after["frame"] = {"model": {**old, "path": "/m/b.onnx"}}
    assert compare_results(before, after, REPEATABILITY).notes == [
        "the before and after results do not record the model file's sha256 (written by an "
        "earlier wds-edge): the models were compared by name, version, input size and "
        "threshold only; their model files differ in path (/m/a.onnx / /m/b.onnx): check "
        "they are the same model"
    ]
    note = compare_results(before, _result(0.05, 0.04), REPEATABILITY).notes
    assert note[0].startswith("the before result does not record the model file's sha256")


def test_results_of_different_regions_are_refused() -> None:
    """Defect: a region missing from one result was dropped without a word, and 'overall'
    was compared across the two region sets."""
    fewer = _result(0.05, 0.04)
    del fewer["scores"]["glabella"]
    more = _result(0.05, 0.04)
    more["scores"]["forehead"] = {"wrinkle_ratio": 0.01}
    with pytest.raises(InvalidInputError, match="only the before result scores glabella"):
        compare_results(_result(0.05, 0.04), fewer, REPEATABILITY)
    with pytest.raises(InvalidInputError, match="only the after result scores forehead"):
        compare_results(_result(0.05, 0.04), more, REPEATABILITY)


def test_a_region_without_area_is_not_measured(tmp_path: Path) -> None:
    """Defect: a region whose whole area was excluded (area_px 0, ratio 0 by definition)
    was compared as a measured 0 % ('decrease')."""
    before = _result(0.05, 0.04)
    before["scores"]["glabella"]["area_px"] = 8952
    before["scores"]["overall"]["area_px"] = 90000
    after = _result(0.05, 0.0)
    after["scores"]["glabella"]["area_px"] = 0
    comparison = compare_results(before, after, REPEATABILITY)
    overall, glabella = comparison.changes
    assert overall.verdict == "within noise"
    assert glabella.verdict == "not measured" and glabella.change is None
    assert glabella.to_dict() == {
        "region": "glabella", "before": 0.04, "after": None, "change": None,
        "relative_change": None, "mdc95": None, "verdict": "not measured",
    }  # fmt: skip
    assert comparison.notes == [
        "not measured: glabella (after): the region's whole area was excluded (area_px 0: "
        "hidden by hair, glasses or a hand, or out of the crop), so it has no score to compare"
    ]
    files = [tmp_path / "b.json", tmp_path / "a.json"]
    for path, data in zip(files, (before, after), strict=True):
        path.write_text(json.dumps(data))
    table = CliRunner().invoke(app, ["compare", *map(str, files)])
    assert table.exit_code == 0, table.output
    assert "n/a" in table.stdout and "not measured" in table.stdout
    bad = _result(0.05, 0.04)
    bad["scores"]["glabella"]["area_px"] = -1
    with pytest.raises(InvalidInputError, match="area_px of 'glabella' is not a pixel count"):
        compare_results(before, bad, REPEATABILITY)


@pytest.mark.parametrize(
    ("report", "message"),
    [
        ({"regions": ["overall"]}, "regions are not a table of regions"),
        ({"regions": {"overall": [0.1]}}, "'overall' is not a table of frame_sd"),
        ({"regions": {"overall": {"frame_sd": None, "frame_cv": 0.1}}}, "frame_sd of 'overall'"),
        ({"regions": {"overall": None}}, "'overall' is not a table of frame_sd"),
        ({"regions": {"overall": {"frame_cv": 0.1}}}, None),
        ({"regions": {"overall": {"frame_sd": "0.01"}}}, "frame_sd of 'overall' is not a number"),
        ({"regions": {"overall": {"frame_cv": -5}}}, "frame_cv of 'overall' is not a number >= 0"),
        ({"regions": {"overall": {"session_sd": float("nan")}}}, "session_sd of 'overall'"),
        ({"regions": {"overall": {"session_cv": True}}}, "session_cv of 'overall'"),
        ({"regions": {"overall": {}}, "model": "m"}, "report's model is not a table"),
    ],
)
def test_a_malformed_repeatability_report_is_refused(
    report: dict, message: str | None, tmp_path: Path
) -> None:
    """Defect: such a report ended in a TypeError / AttributeError traceback."""
    before, after = _result(0.05, 0.04, fused=False), _result(0.05, 0.04, fused=False)
    if message is None:  # a figure left out counts as none
        assert compare_results(before, after, report).changes[0].mdc95 > 0
        return
    with pytest.raises(InvalidInputError, match=message):
        compare_results(before, after, report)
    # the command: one line, exit 2
    paths = [tmp_path / n for n in ("b.json", "a.json", "rep.json")]
    for path, data in zip(paths, (before, after, report), strict=True):
        path.write_text(json.dumps(data))
    run = CliRunner().invoke(
        app, ["compare", *map(str, paths[:2]), "--repeatability", str(paths[2])]
    )
    assert run.exit_code != 0 and isinstance(run.exception, InvalidInputError)


def test_what_is_not_a_result_is_named_for_what_it_is(tmp_path: Path) -> None:
    """Defect: a saved `GET /v1/capture` response read as "status 'ok' and no scores", a
    bench report as "status None and no scores", an empty file as "0 lines: JSON lines"."""
    final = _result(0.05, 0.04)
    envelope = {"status": "ok", "capture": {"id": 1, "state": "done", "final": final}}
    # the envelope holds one result, its capture's final: that one is compared
    assert compare_results(envelope, final, REPEATABILITY).changes[0].verdict == "within noise"
    running = {"status": "ok", "capture": {"state": "collecting", "status": "ok", "final": None}}
    with pytest.raises(InvalidInputError, match=r"GET /v1/capture.*'collecting'.*'done'"):
        compare_results(running, final, REPEATABILITY)
    bench = {"kind": "model", "environment": {}, "result": {}}
    with pytest.raises(InvalidInputError, match="'model' report .*not an analysis result"):
        compare_results(final, bench, REPEATABILITY)
    with pytest.raises(InvalidInputError, match=r"not a wds-edge result \(no status / scores\)"):
        compare_results({"regions": {}}, final, REPEATABILITY)
    with pytest.raises(InvalidInputError, match="is a list, not a result"):
        compare_results([final], final, REPEATABILITY)
    empty = tmp_path / "empty.json"
    empty.write_text(" \n")
    with pytest.raises(InvalidInputError, match="empty file"):
        load_result(empty)
    # the command: the envelope compares, the others exit 2 with the message
    files = {n: tmp_path / f"{n}.json" for n in ("envelope", "final", "bench")}
    for name, data in (("envelope", envelope), ("final", final), ("bench", bench)):
        files[name].write_text(json.dumps(data))
    run = CliRunner().invoke(app, ["compare", str(files["envelope"]), str(files["final"])])
    assert run.exit_code == 0, run.output
    run = CliRunner().invoke(app, ["compare", str(files["bench"]), str(files["final"])])
    assert isinstance(run.exception, InvalidInputError) and "report" in str(run.exception)


def test_result_objects_compare_as_their_dicts(biden_result: object) -> None:
    """Defect: compare_results(FrameResult, FrameResult) ended in AttributeError ('get')."""
    comparison = compare_results(biden_result, biden_result.to_dict())  # type: ignore[attr-defined]
    assert comparison.changes and all(c.change == 0 for c in comparison.changes)
    assert {c.verdict for c in comparison.changes} == {"within noise"}


def test_the_table_says_what_points_and_mdc95_are(tmp_path: Path) -> None:
    """Defect: "points" and "MDC95" had no legend; the caption cited "(issue 21)"."""
    files = [tmp_path / "b.json", tmp_path / "a.json", tmp_path / "rep.json"]
    for path, data in zip(
        files, (_result(0.05, 0.04), _result(0.05, 0.06), REPEATABILITY), strict=True
    ):
        path.write_text(json.dumps(data))
    for args, noise in (
        ([], "built-in default: measured on one clip"),
        (["--repeatability", str(files[2])], f"measured repeatability file {files[2]}"),
    ):
        run = CliRunner().invoke(app, ["compare", *map(str, files[:2]), *args], terminal_width=400)
        assert run.exit_code == 0, run.output
        text = " ".join(run.stdout.split())
        assert "percentage points of that ratio" in text
        assert "minimal detectable change at 95 % confidence" in text
        assert noise in text and "issue" not in text.lower()


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16", "utf-16-be", "utf-32"])
def test_a_result_saved_with_a_byte_order_mark_or_as_utf16_is_read(
    encoding: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Defect: Notepad's UTF-8 with BOM or UTF-16 file was refused as "binary data: an
    overlay image?"; json reads UTF-8, -16 and -32 by their first bytes."""
    from fault_helpers import run_cli

    before, after, rep = tmp_path / "b.json", tmp_path / "a.json", tmp_path / "rep.json"
    before.write_text(json.dumps(_result(0.050, 0.040)), encoding=encoding)
    after.write_text(json.dumps(_result(0.052, 0.060)), encoding="utf-8")
    rep.write_text(json.dumps(REPEATABILITY), encoding=encoding)
    assert load_result(before) == _result(0.050, 0.040)
    code, out, err = run_cli(capsys, "compare", before, after, "--repeatability", rep, "--json")
    assert code == 0, err
    assert [r["verdict"] for r in json.loads(out)["regions"]] == ["within noise", "increase"]


def test_a_repeatability_file_of_the_wrong_kind_gets_advice_about_repeatability_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Defect: `--repeatability rep/repeatability.png` was told to pass the .json that
    `analyze --out` writes, and compare_results(a, b, "rep/repeatability.json") said the
    report was not a JSON object: the SDK takes the report's path too."""
    from fault_helpers import run_cli

    before, after = tmp_path / "b.json", tmp_path / "a.json"
    before.write_text(json.dumps(_result(0.050, 0.040)))
    after.write_text(json.dumps(_result(0.052, 0.060)))
    (tmp_path / "rep").mkdir()
    rep, plot = tmp_path / "rep" / "repeatability.json", tmp_path / "rep" / "repeatability.png"
    rep.write_text(json.dumps(REPEATABILITY))
    plot.write_bytes(b"\x89PNG\r\n\x1a\n\xff\xfe" + bytes(range(256)))
    by_path = compare_results(_result(0.050, 0.040), _result(0.052, 0.060), str(rep))
    by_dict = compare_results(_result(0.050, 0.040), _result(0.052, 0.060), REPEATABILITY)
    assert by_path.to_dict() == by_dict.to_dict()
    assert compare_results(_result(0.05, 0.04), _result(0.05, 0.04), rep).changes
    code, _, err = run_cli(capsys, "compare", before, after, "--repeatability", plot)
    assert code == 2
    assert "is not a repeatability report (binary data: its plot repeatability.png?)" in err
    assert "pass the repeatability.json that `wds-edge bench repeatability --out DIR`" in err
    assert "analyze" not in err
    for text, message in (("", "empty file, not a repeatability report"), ("[1]", "JSON array")):
        plot.write_text(text)
        with pytest.raises(InvalidInputError, match=message):
            compare_results(_result(0.05, 0.04), _result(0.05, 0.04), plot)


HUGE = 10**400


@pytest.mark.parametrize(
    ("before", "rep", "message"),
    [
        (_result(HUGE, 0.04), None, "score for 'overall' has no wrinkle_ratio in \\[0, 1\\]"),
        (_result(0.05, 0.04, frames_used=HUGE), None, "frames_used is not a whole number"),
        (
            _result(0.05, 0.04, frames_used=5, per_frame_spread={"overall": {"sd": HUGE}}),
            None,
            "per_frame_spread for 'overall' has no sd >= 0",
        ),
        (
            _result(0.05, 0.04),
            {"regions": {"overall": {"frame_sd": HUGE}}},
            "frame_sd of 'overall' is not a number >= 0",
        ),
    ],
)
def test_numbers_too_large_for_a_float_are_refused_not_a_traceback(
    before: dict, rep: dict | None, message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Defect: a hand-edited 10 ** 400 ended in OverflowError (exit 1, a traceback)."""
    from fault_helpers import run_cli

    with pytest.raises(InvalidInputError, match=message):
        compare_results(before, _result(0.05, 0.04), rep or REPEATABILITY)
    files = [tmp_path / n for n in ("b.json", "a.json", "rep.json")]
    for path, data in zip(files, (before, _result(0.05, 0.04), rep or REPEATABILITY), strict=True):
        path.write_text(json.dumps(data))
    code, _, err = run_cli(capsys, "compare", *files[:2], "--repeatability", files[2])
    assert code == 2 and re.search(message, err), err


@pytest.mark.skipif(
    not hasattr(sys, "get_int_max_str_digits"), reason="Python reads whole numbers of any length"
)
def test_a_number_of_more_digits_than_python_reads_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Defect: json.loads raised ValueError (the int digits limit): a traceback, exit 1."""
    from fault_helpers import run_cli

    text = json.dumps(_result(0.05, 0.04, frames_used=7)).replace('"frames_used": 7', "")
    huge = tmp_path / "huge.json"
    huge.write_text(text.replace("{", '{"frames_used": ' + "9" * 5000 + ",", 1))
    after = tmp_path / "a.json"
    after.write_text(json.dumps(_result(0.05, 0.04)))
    with pytest.raises(InvalidInputError, match="holds a whole number of more than \\d+ digits"):
        load_result(huge)
    code, _, err = run_cli(capsys, "compare", after, after, "--repeatability", huge)
    assert code == 2 and "not a repeatability report wds-edge wrote" in err, err


def _capture_dict(overall: float, kind: str) -> dict:
    """The JSON of a fused capture of 5 frames, as `wds-edge analyze clip.mp4` writes it."""
    from wds_edge.analysis.final import FinalResult
    from wds_edge.analysis.result import FrameResult, RegionScore
    from wds_edge.perception.quality import FrameStatus

    scores = {
        "overall": RegionScore(10_000, round(overall * 10_000), overall, 9, 400.0),
        "glabella": RegionScore(2_000, 80, 0.04, 2, 50.0),
    }
    frame = FrameResult(FrameStatus.OK, "", (720, 1280), scores=scores, model=MODEL, segmented=True)
    spread = {"overall": {"mean": overall, "sd": 0.004, "cv": 0.08, "min": 0.04, "max": 0.06}}
    final = FinalResult("ok", frame, scores, 5, 60, True, spread=spread, capture=kind)
    return json.loads(json.dumps(final.to_dict()))


def test_a_capture_rebuilt_with_from_dict_compares_as_a_capture_of_its_kind() -> None:
    """Defect: FrameResult.from_dict of a capture's JSON gave its reference frame, which
    compare judged as a single photo: an MDC95 2.4x too large, raise_brows accepted against
    neutral, and the capture refused against its own dict (a capture against a photo)."""
    from wds_edge.analysis.final import FinalResult
    from wds_edge.analysis.result import FrameResult

    neutral, brows = _capture_dict(0.05, "neutral"), _capture_dict(0.05, "raise_brows")
    rebuilt = FinalResult.from_dict(neutral)
    assert (
        compare_results(rebuilt, neutral).to_dict() == compare_results(neutral, neutral).to_dict()
    )
    assert (
        compare_results(rebuilt, rebuilt).to_dict() == compare_results(neutral, neutral).to_dict()
    )
    with pytest.raises(InvalidInputError, match="a neutral capture and after a raise_brows one"):
        compare_results(rebuilt, FinalResult.from_dict(brows))
    with pytest.raises(InvalidInputError, match="rebuild it with FinalResult.from_dict"):
        FrameResult.from_dict(neutral)


def _short_capture(analyzer, face, blur: float) -> dict:  # noqa: ANN001
    """A real capture that fused 3 of the 5 frames it asked for (the rest were empty)."""
    import cv2
    import numpy as np

    from wds_edge.analysis.session import KioskSession

    session = KioskSession(analyzer, frames_needed=5, frames_fused=5, max_frames=5)
    for dx in range(3):
        moved = cv2.warpAffine(face, np.float32([[1, 0, 2 * dx], [0, 1, 0]]), face.shape[1::-1])
        session.feed(cv2.GaussianBlur(moved, (0, 0), blur) if blur else moved)
    for _ in range(2):
        session.feed(np.full((480, 640, 3), 90, np.uint8))
    final = session.final_result()
    assert final.ok and final.frames_used == 3 and not final.complete
    return final.to_dict()


def test_an_incomplete_capture_is_judged_by_the_per_frame_noise(analyzer, faces_dir: Path) -> None:  # noqa: ANN001
    """Captures that fused 3 of 10 frames were judged by the noise of complete 10-frame
    fusions and called noise a change (26 % of comparisons instead of ~5 %): an incomplete
    capture gets the per-frame noise, and the comparison says so."""
    from wds_edge.io import read_image

    face = read_image(faces_dir / "ffhq_00016.png")
    before, after = _short_capture(analyzer, face, 0.0), _short_capture(analyzer, face, 0.8)
    comparison = compare_results(before, after)
    assert any("before capture fused 3 frames" in n for n in comparison.notes)
    assert any("after capture fused 3 frames" in n for n in comparison.notes)
    for change in comparison.changes:
        if change.mdc95 is None:
            continue
        noise = DEFAULT_REPEATABILITY["regions"][change.region]
        level = (change.before + change.after) / 2
        sems = [
            max(
                noise["frame_cv"] * level,
                noise["frame_sd"],
                r["per_frame_spread"][change.region]["sd"] / math.sqrt(3),
            )
            for r in (before, after)
        ]
        assert change.mdc95 == pytest.approx(1.96 * math.hypot(*sems), rel=1e-9), change
    # complete, and the session noise measured on 3-frame fusions: the session noise
    at_three = {**DEFAULT_REPEATABILITY, "session_config": {"frames_fused": 3}}
    complete = compare_results(
        {**before, "complete": True}, {**after, "complete": True}, repeatability=at_three
    )
    assert complete.changes[0].mdc95 < comparison.changes[0].mdc95  # the session noise
    assert not any("fused 3 frames" in n for n in complete.notes)


def test_a_complete_capture_of_fewer_frames_than_the_noise_was_measured_on_is_judged_by_frame(
    analyzer,  # noqa: ANN001
    faces_dir: Path,
) -> None:
    """A complete capture that fused 2 frames (frames_fused 2) was judged by the noise of
    10-frame fusions because it was complete (32 % false changes of overall on the kiosk
    clip): what counts is the frames it fused against the frames the session noise was
    measured at (the report's session_config.frames_fused: 10 for the built-in figures)."""
    import cv2
    import numpy as np

    from wds_edge.analysis.session import KioskSession
    from wds_edge.io import read_image

    assert DEFAULT_REPEATABILITY["session_config"]["frames_fused"] == 10
    face = read_image(faces_dir / "ffhq_00016.png")
    results = []
    for dx in (0, 3):
        session = KioskSession(analyzer, frames_needed=2, frames_fused=2, max_frames=2)
        for k in range(2):
            shift = np.float32([[1, 0, dx + k], [0, 1, 0]])
            session.feed(cv2.warpAffine(face, shift, face.shape[1::-1]))
        final = session.final_result()
        assert final.ok and final.complete and final.frames_used == 2
        results.append(final.to_dict())
    comparison = compare_results(*results)
    for name in ("before", "after"):
        assert any(
            f"the {name} capture fused 2 frames, fewer than the 10 the session noise was "
            "measured at" in n
            for n in comparison.notes
        ), comparison.notes
    at_two = compare_results(
        *results, repeatability={**DEFAULT_REPEATABILITY, "session_config": {"frames_fused": 2}}
    )
    assert not any("fused 2 frames" in n for n in at_two.notes), at_two.notes
    overall = [c for c in (comparison, at_two) for c in c.changes if c.region == "overall"]
    assert overall[1].mdc95 < overall[0].mdc95  # the session noise (at 2) is the smaller


def test_a_cut_off_result_is_told_as_cut_off_not_as_json_lines(tmp_path: Path) -> None:
    """Defect: an indented result cut off part-way was "not one JSON result (N lines: JSON
    lines of several inputs?)"; only lines that are each JSON are JSON lines."""
    text = json.dumps(_result(0.05, 0.04), indent=2)
    cut = tmp_path / "cut.json"
    cut.write_text(text[: len(text) // 2])
    with pytest.raises(InvalidInputError) as caught:
        load_result(cut)
    message = str(caught.value)
    assert "not valid JSON (cut off?) at line " in message and "JSON lines" not in message
    assert "pass the .json that `wds-edge analyze --out DIR` writes" in message
    lines = tmp_path / "lines.json"
    lines.write_text(json.dumps(_result(0.05, 0.04)) + "\n" + json.dumps(_result(0.06, 0.04)))
    with pytest.raises(InvalidInputError, match="2 lines, each JSON on its own: JSON lines of"):
        load_result(lines)
    with pytest.raises(InvalidInputError, match="not valid JSON .cut off.. at line 1"):
        load_result(cut, "repeatability")


def test_two_results_run_together_are_told_as_several_values(tmp_path: Path) -> None:
    """Defect: a complete file holding two indented results one after the other (`cat a.json
    b.json > both.json`) was "not valid JSON (cut off?) ... (Extra data)"."""
    both = tmp_path / "both.json"
    both.write_text(
        json.dumps(_result(0.05, 0.04), indent=2) + "\n" + json.dumps(_result(0.06, 0.04), indent=2)
    )
    with pytest.raises(InvalidInputError) as caught:
        load_result(both)
    message = str(caught.value)
    assert "holds more than one JSON value (several results in one file?)" in message
    assert "cut off" not in message and "Extra data" not in message
    assert "pass the .json that `wds-edge analyze --out DIR` writes" in message


def test_the_session_noise_of_few_sessions_widens_the_mdc_by_a_t_quantile() -> None:
    """The built-in session sd is the sd of 3 sessions (2 degrees of freedom): with the
    normal 1.96 the right under-eye's MDC95 was 0.41 points while non-overlapping sessions
    of the same still face ranged 10.15-11.80 % (20 % false changes). The MDC95 of captures
    judged by the session noise uses t(0.975, df) and the comparison says the df."""
    assert DEFAULT_REPEATABILITY["session_df"] == 2
    before = {**_result(0.1138, 0.14), "complete": True, "frames_used": 10}
    after = {**_result(0.1015, 0.14), "complete": True, "frames_used": 10}
    regions = {
        "overall": DEFAULT_REPEATABILITY["regions"]["right_under_eye"],
        "glabella": DEFAULT_REPEATABILITY["regions"]["glabella"],
    }
    rep = {**DEFAULT_REPEATABILITY, "regions": regions}
    comparison = compare_results(before, after, rep)
    change = comparison.changes[0]
    sem = max(0.0130 * (0.1138 + 0.1015) / 2, 0.00148)
    assert change.mdc95 == pytest.approx(4.303 * math.sqrt(2) * sem, rel=1e-6)
    assert any(
        "3 sessions (2 degrees of freedom)" in n and "t = 4.303" in n for n in comparison.notes
    )
    # a report of 6 sessions: 5 degrees of freedom
    six = {**rep, "sessions": [{}] * 6}
    del six["session_df"]
    change = compare_results(before, after, six).changes[0]
    assert change.mdc95 == pytest.approx(2.571 * math.sqrt(2) * sem, rel=1e-6)
    # photos are judged by the per-frame noise (many frames): the normal quantile stays
    photo = compare_results(_result(0.11, 0.14, fused=False), _result(0.1, 0.14, fused=False), rep)
    assert not any("degrees of freedom" in n for n in photo.notes)
