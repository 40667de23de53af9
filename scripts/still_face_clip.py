"""A still face at the kiosk, made from a still photo: a clip for `bench repeatability`.

Issue 21 asks for repeatability "on a still face", and the only clip here pans, zooms, rolls
and darkens. This writes what a camera would record of a person who holds still: the photo on
a 30 FPS frame, moved a little (a person standing still sways and tilts), with the camera's own
per-frame changes (auto-exposure flicker, sensor noise) and a real video codec on top: Motion
JPEG in an .avi (what a USB webcam sends at 720p), at JPEG quality ``--quality`` (90; OpenCV's
own MJPEG writer, which honours it) or, ``--quality ffmpeg``, at the FFmpeg MJPEG encoder's
default (OpenCV's default writer ignores a quality: about JPEG quality 50, 37.5 dB PSNR on a
portrait; the first still-face figures in RESULTS.md were made so); or mp4v in an .mp4 (a
recorded clip; a lossy inter-frame codec whose artefacts change from frame to frame).
It is a simulation, named as such wherever its figures are quoted: it has no expression change,
no blinking and no change of light direction, so it measures the floor that sensor, codec,
landmark jitter and resampling set, under the motion stated below, not a person.

Every effect is drawn from a seeded Ornstein-Uhlenbeck process (a random walk pulled back to
zero: slow drift, no runaway), fixed before any figure was looked at:

=============================  ==============  ============
effect                         sd              time constant
=============================  ==============  ============
translation x, y (frame px)    ``--sway`` px    1.0 s
roll                           0.2 x sway deg   1.5 s
scale                          0.2 x sway %     2.0 s
exposure gain                  0.5 %            2.0 s
=============================  ==============  ============

``--sway 0`` is a camera on a tripod pointed at a printed photo (noise and codec only). Sensor
noise is Poisson-Gaussian: sd = sqrt(0.05 * I + 2^2) grey levels at level I, new every frame.
The moved frame is resampled with a Lanczos (8 x 8) kernel: bilinear resampling would blur the
fine lines by an amount that changes with the sub-pixel shift, a variation no camera makes.

    python scripts/still_face_clip.py --photo ../shared/data/faces/biden2.jpg \
        --out runs/still/biden2.avi [--seconds 10 --fps 30 --size 1280x720 --sway 2 --seed 0 \
        --quality 90]
    wds-edge bench repeatability --source runs/still/biden2.avi --out runs/still/biden2_rep

The video is written beside ``--out`` under a temporary name and moved into place when whole.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from wds_edge.io import temporary_path  # noqa: E402

#: (sd multiplier of --sway, time constant in seconds) per motion parameter.
MOTION = {"x": (1.0, 1.0), "y": (1.0, 1.0), "roll_deg": (0.2, 1.5), "scale_pct": (0.2, 2.0)}
#: Exposure flicker: sd of the gain (fraction) and its time constant (s).
GAIN_SD, GAIN_TAU_S = 0.005, 2.0
#: Sensor noise: variance = SHOT * level + READ ** 2 (grey levels).
SHOT, READ = 0.05, 2.0
#: The container per output suffix and its codec.
CODECS = {".avi": "MJPG", ".mp4": "mp4v"}
#: ``--quality`` of an .avi: a JPEG quality, or this for the FFmpeg encoder's own default.
FFMPEG_QUALITY = "ffmpeg"


@dataclass(frozen=True)
class ClipSpec:
    seconds: float = 10.0
    fps: float = 30.0
    width: int = 1280
    height: int = 720
    sway_px: float = 2.0
    seed: int = 0
    quality: int | str = 90  # JPEG quality of an .avi, or FFMPEG_QUALITY

    @property
    def frames(self) -> int:
        return max(1, round(self.seconds * self.fps))


def ou_series(rng: np.random.Generator, n: int, sd: float, tau_s: float, fps: float) -> np.ndarray:
    """``n`` samples of a stationary Ornstein-Uhlenbeck process with this sd and time constant."""
    if sd == 0.0:
        return np.zeros(n)
    a = math.exp(-1.0 / (tau_s * fps))  # one frame's pull back to zero
    out = np.empty(n)
    out[0] = rng.normal(0.0, sd)
    step_sd = sd * math.sqrt(1.0 - a * a)  # keeps the variance at sd^2
    for i in range(1, n):
        out[i] = a * out[i - 1] + rng.normal(0.0, step_sd)
    return out


def place_photo(photo: np.ndarray, width: int, height: int) -> tuple[np.ndarray, float]:
    """The photo scaled to fit the frame's height (or width), centred on its border colour."""
    h, w = photo.shape[:2]
    scale = min(height / h, width / w)
    scaled = cv2.resize(photo, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA)
    border = np.concatenate([photo[0], photo[-1], photo[:, 0], photo[:, -1]]).mean(axis=0)
    canvas = np.empty((height, width, 3), np.float32)
    canvas[:] = border
    y0, x0 = (height - scaled.shape[0]) // 2, (width - scaled.shape[1]) // 2
    canvas[y0 : y0 + scaled.shape[0], x0 : x0 + scaled.shape[1]] = scaled
    return canvas, scale


def render_frames(photo: np.ndarray, spec: ClipSpec):  # noqa: ANN201 (a generator of uint8 BGR)
    """Yield the clip's frames (uint8 BGR), each moved, exposed and noised as documented."""
    rng = np.random.default_rng(spec.seed)
    n = spec.frames
    motion = {
        k: ou_series(rng, n, mult * spec.sway_px, tau, spec.fps)
        for k, (mult, tau) in MOTION.items()
    }
    gain = 1.0 + ou_series(rng, n, GAIN_SD, GAIN_TAU_S, spec.fps)
    canvas, _ = place_photo(photo.astype(np.float32), spec.width, spec.height)
    centre = (spec.width / 2.0, spec.height / 2.0)
    for i in range(n):
        m = cv2.getRotationMatrix2D(
            centre, motion["roll_deg"][i], 1.0 + motion["scale_pct"][i] / 100.0
        )
        m[:, 2] += (motion["x"][i], motion["y"][i])
        moved = cv2.warpAffine(
            canvas,
            m,
            (spec.width, spec.height),
            flags=cv2.INTER_LANCZOS4,
            borderMode=cv2.BORDER_REPLICATE,
        )
        level = np.clip(moved * gain[i], 0.0, 255.0)
        noisy = level + rng.standard_normal(level.shape, np.float32) * np.sqrt(
            SHOT * level + READ * READ
        )
        yield np.clip(np.rint(noisy), 0, 255).astype(np.uint8)


def _writer(path: Path, suffix: str, spec: ClipSpec) -> cv2.VideoWriter:
    """An opened writer for ``path`` whose codec really runs at ``spec.quality``."""
    fourcc, size = cv2.VideoWriter_fourcc(*CODECS[suffix]), (spec.width, spec.height)
    if suffix == ".avi" and spec.quality != FFMPEG_QUALITY:
        # OpenCV's own MJPEG writer: the FFmpeg one ignores VIDEOWRITER_PROP_QUALITY
        writer = cv2.VideoWriter(str(path), cv2.CAP_OPENCV_MJPEG, fourcc, spec.fps, size)
        if writer.isOpened() and not writer.set(cv2.VIDEOWRITER_PROP_QUALITY, spec.quality):
            writer.release()
            raise ValueError(f"OpenCV's MJPEG writer does not take quality {spec.quality}")
    else:
        writer = cv2.VideoWriter(str(path), fourcc, spec.fps, size)
    if not writer.isOpened():
        raise ValueError(f"OpenCV cannot open a {CODECS[suffix]} writer for {path.name}")
    return writer


def write_clip(photo_path: Path, out: Path, spec: ClipSpec) -> int:
    """Write the clip to ``out`` (.avi: MJPEG, .mp4: mp4v) atomically; returns its frames.

    Raises:
        ValueError: an unreadable photo, another suffix, a quality for an .mp4, or a codec
            OpenCV cannot open (nothing is written).
    """
    photo = cv2.imread(str(photo_path), cv2.IMREAD_COLOR)
    if photo is None:
        raise ValueError(f"cannot read {photo_path} as an image (expected a face photo)")
    suffix = out.suffix.lower()
    if suffix not in CODECS:
        raise ValueError(f"--out must end in .avi (MJPEG) or .mp4 (mp4v), got {out.name}")
    if suffix == ".mp4" and spec.quality != ClipSpec.quality:
        raise ValueError("--quality sets the MJPEG of an .avi; mp4v has its own")
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = temporary_path(out, suffix)
    writer = _writer(partial, suffix, spec)
    frames = 0
    try:
        for frame in render_frames(photo, spec):
            writer.write(frame)
            frames += 1
        writer.release()
        os.replace(partial, out)
    except BaseException:
        writer.release()
        with contextlib.suppress(FileNotFoundError):
            partial.unlink()
        raise
    return frames


def _quality(text: str) -> int | str:
    if text == FFMPEG_QUALITY:
        return text
    if not text.isdigit() or not 1 <= int(text) <= 100:
        raise argparse.ArgumentTypeError(f"a JPEG quality 1-100 or {FFMPEG_QUALITY}, got {text!r}")
    return int(text)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--photo", type=Path, required=True, help="A photo of one face.")
    ap.add_argument("--out", type=Path, required=True, help="The clip: .avi (MJPEG) or .mp4.")
    ap.add_argument(
        "--quality",
        type=_quality,
        default=ClipSpec.quality,
        help=f"JPEG quality of an .avi (1-100), or {FFMPEG_QUALITY}: the FFmpeg encoder's default.",
    )
    ap.add_argument("--seconds", type=float, default=ClipSpec.seconds)
    ap.add_argument("--fps", type=float, default=ClipSpec.fps)
    ap.add_argument("--size", default="1280x720", help="WIDTHxHEIGHT of the frames.")
    ap.add_argument("--sway", type=float, default=ClipSpec.sway_px, help="Translation sd, px.")
    ap.add_argument("--seed", type=int, default=ClipSpec.seed)
    args = ap.parse_args(argv)
    try:
        width, height = (int(v) for v in args.size.lower().split("x"))
    except ValueError:
        ap.error(f"--size must be WIDTHxHEIGHT, e.g. 1280x720; got {args.size!r}")
    if width < 64 or height < 64 or width % 2 or height % 2:
        ap.error(f"--size must be even and at least 64x64, got {args.size}")
    numbers = (args.seconds, args.fps, args.sway)
    if not all(map(math.isfinite, numbers)) or min(args.seconds, args.fps) <= 0 or args.sway < 0:
        ap.error(f"--seconds and --fps must be > 0 and --sway >= 0 (finite), got {numbers}")
    spec = ClipSpec(args.seconds, args.fps, width, height, args.sway, args.seed, args.quality)
    try:
        n = write_clip(args.photo, args.out, spec)
    except ValueError as exc:
        ap.error(str(exc))
    print(
        f"wrote {args.out}: {n} frames, {width}x{height} at {args.fps:g} FPS, sway {args.sway:g} px"
    )


if __name__ == "__main__":
    main()
