"""scripts/still_face_clip.py: the simulated still-face clip that issue 21's repeatability
figures on a still face come from. Its motion must have the documented sd and time constant
(an OU step that does not keep the variance would make "sway 2 px" a different clip), a sway
of 0 must not move the face, the noise must have the documented Poisson-Gaussian sd, and the
clip must decode as the stated number of frames with a real face found in it."""

from __future__ import annotations

import math
from pathlib import Path

import cv2
import numpy as np
import pytest
from repo_scripts import load_script


@pytest.fixture(scope="module")
def clip_script():  # noqa: ANN201 - a module
    return load_script("scripts/still_face_clip.py", register=True)


def test_ou_series_has_the_stated_sd_and_time_constant(clip_script) -> None:
    rng = np.random.default_rng(1)
    fps, tau, sd = 30.0, 1.0, 2.0
    x = clip_script.ou_series(rng, 200_000, sd, tau, fps)
    assert x.std() == pytest.approx(sd, rel=0.03)
    lag1 = np.corrcoef(x[:-1], x[1:])[0, 1]
    assert lag1 == pytest.approx(math.exp(-1.0 / (tau * fps)), abs=0.002)  # 0.9672
    assert not clip_script.ou_series(rng, 10, 0.0, tau, fps).any()


def test_sway_zero_keeps_the_face_still_and_the_noise_as_documented(
    clip_script, faces_dir: Path
) -> None:
    photo = cv2.imread(str(faces_dir / "obama.jpg"))
    spec = clip_script.ClipSpec(seconds=0.2, fps=30, width=320, height=240, sway_px=0.0, seed=3)
    frames = np.stack(list(clip_script.render_frames(photo, spec))).astype(np.float64)
    assert frames.shape == (6, 240, 320, 3)
    placed, scale = clip_script.place_photo(photo.astype(np.float32), 320, 240)
    assert scale == pytest.approx(240 / photo.shape[0])
    # no motion: each frame is the placed photo x a gain near 1, plus zero-mean noise
    mean = frames.mean(axis=0)
    mid = (placed > 30) & (placed < 220)  # away from clipping
    assert np.median(mean[mid] / placed[mid]) == pytest.approx(1.0, abs=0.02)
    # noise sd at level I: sqrt(0.05 I + 4), measured frame to frame (gain differences removed)
    diff = frames[1] / frames[1][mid].mean() - frames[0] / frames[0][mid].mean()
    level = placed[mid]
    expected = np.sqrt(0.05 * level + 4.0) / level.mean()
    assert diff[mid].std() == pytest.approx(math.sqrt(2) * np.sqrt((expected**2).mean()), rel=0.1)


@pytest.mark.parametrize("suffix", [".avi", ".mp4"])
def test_written_clip_decodes_with_a_face_in_every_frame(
    clip_script, faces_dir: Path, tmp_path: Path, landmarker_path: Path, suffix: str
) -> None:
    from wds_edge.perception.landmarks import FaceLandmarker, FaceLandmarkerOptions

    out = tmp_path / f"still{suffix}"
    spec = clip_script.ClipSpec(seconds=0.3, fps=10, width=640, height=360, sway_px=2.0)
    assert clip_script.write_clip(faces_dir / "obama.jpg", out, spec) == 3
    assert [p.name for p in tmp_path.iterdir()] == [out.name]  # no temporary left
    cap = cv2.VideoCapture(str(out))
    frames = []
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        frames.append(frame)
    cap.release()
    assert len(frames) == 3 and frames[0].shape == (360, 640, 3)
    with FaceLandmarker(FaceLandmarkerOptions(model_path=str(landmarker_path), mode="image")) as lm:
        assert all(len(lm.detect(cv2.cvtColor(f, cv2.COLOR_BGR2RGB))) == 1 for f in frames)


def test_bad_photo_and_suffix_are_refused_before_anything_is_written(
    clip_script, tmp_path: Path, faces_dir: Path
) -> None:
    not_image = tmp_path / "notes.txt"
    not_image.write_text("hello")
    with pytest.raises(ValueError, match="cannot read .* as an image"):
        clip_script.write_clip(not_image, tmp_path / "a.mp4", clip_script.ClipSpec())
    with pytest.raises(ValueError, match="must end in .avi .* or .mp4"):
        clip_script.write_clip(faces_dir / "obama.jpg", tmp_path / "a.mkv", clip_script.ClipSpec())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


def test_the_avi_is_written_at_the_quality_asked(
    clip_script, faces_dir: Path, tmp_path: Path
) -> None:
    # OpenCV's default (FFmpeg) writer ignores VIDEOWRITER_PROP_QUALITY: a "q90" clip came out
    # at the encoder's default, about JPEG quality 50
    def written(quality: int | str) -> tuple[int, float]:
        spec = clip_script.ClipSpec(seconds=0.1, fps=10, width=640, height=360, quality=quality)
        out = tmp_path / f"q{quality}.avi"
        clip_script.write_clip(faces_dir / "obama.jpg", out, spec)
        ok, frame = cv2.VideoCapture(str(out)).read()
        assert ok
        clean = next(clip_script.render_frames(cv2.imread(str(faces_dir / "obama.jpg")), spec))
        return out.stat().st_size, cv2.PSNR(frame, clean)

    size90, psnr90 = written(90)
    size30, psnr30 = written(30)
    assert size90 > 1.8 * size30 and psnr90 > psnr30 + 1.0
    assert written("ffmpeg")[0] < size90


@pytest.mark.parametrize(
    "given",
    [
        {"--seconds": "nan"},
        {"--sway": "nan"},
        {"--fps": "inf"},
        {"--quality": "101"},
        {"--out": "c.mkv"},
        {"--quality": "50", "--out": "c.mp4"},
        {"--photo": "missing.jpg"},
    ],
)
def test_bad_arguments_exit_2_and_write_nothing(
    clip_script, faces_dir: Path, tmp_path: Path, given: dict[str, str], capsys
) -> None:
    options = {"--photo": str(faces_dir / "obama.jpg"), "--out": "c.avi", "--seconds": "0.1"}
    options.update(given)
    options["--out"] = str(tmp_path / options["--out"])
    with pytest.raises(SystemExit) as exit_info:
        clip_script.main([v for option in options.items() for v in option])
    assert exit_info.value.code == 2
    assert "error:" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []
