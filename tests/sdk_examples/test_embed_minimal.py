"""embed_minimal.py: a dozen lines that analyse a photo."""

from __future__ import annotations

from pathlib import Path

from wds_edge.perception.regions import REGION_NAMES

EXAMPLE = Path(__file__).resolve().parents[2] / "sdk_examples" / "embed_minimal.py"


def test_is_about_a_dozen_lines_of_code() -> None:
    source = EXAMPLE.read_text().split('"""')[2]  # after the module docstring
    code = [line for line in source.splitlines() if line.strip() and not line.startswith("#")]
    assert len(code) <= 12  # ten, and the two of its error line


def test_prints_scores_for_a_real_face(
    example_runner,
    example_model: Path,
    example_env: dict,
    faces_dir: Path,  # noqa: ANN001
) -> None:
    proc = example_runner(
        "embed_minimal.py", [str(faces_dir / "biden2.jpg"), str(example_model)], example_env
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = proc.stdout
    assert "status: ok" in out
    for region in ("overall", *REGION_NAMES):
        assert region in out


def test_no_argument_prints_the_usage(example_runner, example_env: dict) -> None:  # noqa: ANN001
    proc = example_runner("embed_minimal.py", [], example_env)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert (
        proc.stderr.strip() == "Usage: python sdk_examples/embed_minimal.py FACE.jpg [MODEL.onnx]"
    )


def test_a_missing_photo_prints_one_error_line(
    example_runner,
    example_env: dict,
    tmp_path: Path,  # noqa: ANN001
) -> None:
    """Like the other examples: what to fix in one `error:` line, no traceback."""
    photo = tmp_path / "no_such_face.jpg"
    proc = example_runner("embed_minimal.py", [str(photo)], example_env)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert proc.stderr.strip() == f"error: {photo}: no such file; check the path"
    assert proc.stdout == ""
