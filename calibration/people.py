"""Calibration and held-out crops of *named people*, so an INT8 gate measures other faces.

An INT8 model calibrated on one face and gated on the same face passes a gate that says
nothing about the next customer (``benchmarks/RESULTS.md``, issue 12: calibrated on one
person's clip, the gate on other people's photos failed at 0.95 mean IoU). So every crop
set built here records *who* is in it (``CalibrationManifest.people``), and
:func:`check_people_split` refuses a calibration / held-out pair that shares a person.

A source is a photo or a video with the people in it (:class:`PeopleSource`). Photos can be
augmented before the kiosk's own crop (:func:`photo_variants`: scale, light, mirror), which
gives more crops of the same people - never more people. Every crop goes through the
kiosk's path (MediaPipe landmarks on the analyzer's downscaled frame ->
:func:`wds_edge.perception.crop.kiosk_crop`), the kiosk's quality gates and its colour checks
(perception's locate step, :mod:`wds_edge.perception.locate`): only faces the kiosk would
segment are kept.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from wds_edge.errors import InvalidInputError
from wds_edge.io import read_csv_pairs, read_image, sha256_file
from wds_edge.progress import ProgressCallback
from wds_edge_calibration.crops import (
    IMAGE_SUFFIXES,
    PREPROCESSING_PATH,
    _kiosk_face,
    iter_face_crops,
)
from wds_edge_calibration.dataset import CalibrationSet, check_out_dir, write_calibration_set
from wds_edge_calibration.manifest import VIDEO_PERSON_PREFIX

__all__ = [
    "LIGHT_VARIANTS",
    "SCALE_VARIANTS",
    "PeopleSource",
    "build_people_set",
    "check_people_split",
    "people_crops",
    "person_names",
    "photo_variants",
    "read_people_csv",
    "video_person_id",
]

logger = logging.getLogger(__name__)

#: Photo scale factors: below 1 a smaller face (a camera further away, a lower-resolution
#: crop); 1.5 enlarges (bicubic) small portraits whose eye distance is under the kiosk's
#: 60 px minimum, as a lower-resolution camera closer to the face would show them.
SCALE_VARIANTS = (1.0, 1.5, 0.75, 0.5)
#: Light variants: name -> (gamma, contrast, BGR gains, noise sigma), applied as
#: ``255 * ((I/255) ** gamma)``, then ``128 + contrast * (I - 128)``, then per-channel gains
#: (white balance), then Gaussian sensor noise (seeded): a darker and a brighter exposure, a
#: flat (hazy) image, warm and cool light, a noisy camera.
LIGHT_VARIANTS: dict[str, tuple[float, float, tuple[float, float, float], float]] = {
    "as_is": (1.0, 1.0, (1.0, 1.0, 1.0), 0.0),
    "dark": (1.6, 1.0, (1.0, 1.0, 1.0), 0.0),
    "bright": (0.65, 1.0, (1.0, 1.0, 1.0), 0.0),
    "flat": (1.0, 0.6, (1.0, 1.0, 1.0), 0.0),
    "warm": (1.0, 1.0, (0.85, 1.0, 1.1), 0.0),
    "noisy": (1.0, 1.0, (1.0, 1.0, 1.0), 6.0),
}


@dataclass(frozen=True)
class PeopleSource:
    """A photo or a video and the people in it.

    Attributes:
        path: an image file or a video file.
        people: who is in it (stable ids: a bioguide id, a name); at least one. One name
            may be given as a string (kept as a 1-tuple); a list is kept as a tuple.
        frame_stride: video only: use every n-th frame.
        max_crops: video only: stop after this many crops (None: all).
    """

    path: Path
    people: tuple[str, ...]
    frame_stride: int = 1
    max_crops: int | None = None

    def __post_init__(self) -> None:
        people = self.people
        if isinstance(people, str):  # one name, not its letters
            people = (people,)
        elif isinstance(people, (list, tuple)):
            people = tuple(people)
        else:
            raise InvalidInputError(
                f"{self.path}: people must be a name or a tuple / list of names, got "
                f"{type(people).__name__} {people!r}"
            )
        if not people or any(not str(p).strip() for p in people):
            raise InvalidInputError(f"{self.path}: name the people in it (got {self.people!r})")
        object.__setattr__(self, "people", people)

    @property
    def is_photo(self) -> bool:
        return Path(self.path).suffix.lower() in IMAGE_SUFFIXES


def check_people_split(calibration_people: Iterable[str], held_out_people: Iterable[str]) -> None:
    """Refuse a held-out set that shares a person with the calibration set.

    Raises:
        InvalidInputError: a person is in both (named), or a list is empty.
    """
    calib, held = set(calibration_people), set(held_out_people)
    if not calib or not held:
        raise InvalidInputError(
            "the calibration and held-out sets must each name their people (got "
            f"{sorted(calib)} and {sorted(held)}); make the set that names nobody again with "
            "`wds-edge calibrate --person NAME` (every crop shows NAME) or `--people-csv "
            "FILE` (photo,person rows), or build it with wds_edge_calibration.people"
        )
    shared = sorted(calib & held)
    if shared:
        raise InvalidInputError(
            f"the held-out crops show people the model was calibrated on ({', '.join(shared)}): "
            "an INT8 gate must measure other people's faces; move them to one side"
        )


def person_names(names: Iterable[str], option: str = "--person") -> tuple[str, ...]:
    """The names given for one source, stripped; refused when one is blank.

    Raises:
        InvalidInputError: a blank name (the message names ``option``).
    """
    out = tuple(str(n).strip() for n in names)
    if any(not n for n in out):
        raise InvalidInputError(
            f"{option} takes a person's name or id (e.g. {option} anna), got a blank one"
        )
    return tuple(dict.fromkeys(out))


def video_person_id(path: str | Path) -> str:
    """The id of the one person a video file's frames are taken to show when nobody named
    them: ``video:`` and the first 16 hex digits of the file's sha256. Two such ids are
    equal only for the same video (whatever its name or folder); two videos of one person
    have two ids, so only names given (``--person``) can say that.

    Raises:
        InvalidInputError: the file cannot be read.
    """
    try:
        digest = sha256_file(path)
    except OSError as exc:
        raise InvalidInputError(
            f"cannot read the video file {path} ({exc}); check the path and its permissions"
        ) from exc
    return f"{VIDEO_PERSON_PREFIX}{digest[:16]}"


def read_people_csv(path: str | Path, images: Sequence[Path]) -> dict[Path, tuple[str, ...]]:
    """Who each photo shows, from a CSV of ``photo,person`` rows (``--people-csv``).

    Args:
        path: the CSV: a row per photo and person in it (a group photo has a row for each
            of its people); the photo as its path (relative to the CSV's folder, or as
            written: relative to the current folder, or absolute), its file name or its
            stem; a ``photo,person`` header row allowed; rows of photos that are not in
            ``images`` are ignored. A file name or stem that several photos of ``images``
            share (``anna/01.jpg``, ``ben/01.jpg`` of a glob) is refused: write their paths.
        images: the photos of the calibration source; each must have a row.

    Returns:
        Photo (as in ``images``) -> the people in it, for every one of ``images``.

    Raises:
        InvalidInputError: the file cannot be read, a row is not ``photo,person``, a row
            names a photo by a file name or stem several photos share, or a photo of
            ``images`` has no row (every crop must be someone's).
    """
    path = Path(path)
    images = list(images)
    by_path: dict[Path, Path] = {}
    by_name: dict[str, list[Path]] = {}
    for image in images:
        by_path.setdefault(image.resolve(), image)
        for key in dict.fromkeys((image.name, image.stem)):
            by_name.setdefault(key, []).append(image)
    mapping: dict[Path, tuple[str, ...]] = {}
    for photo, person in read_csv_pairs(path, "--people-csv", "photo,person"):
        image = _csv_photo(path, photo, by_path, by_name)
        if image is not None:  # else a photo that is not in this source
            mapping[image] = tuple(dict.fromkeys((*mapping.get(image, ()), person)))
    missing = [p for p in images if p not in mapping]
    if missing:
        shown = ", ".join(_shown(p, by_name) for p in missing[:5])
        shown += ", ..." if len(missing) > 5 else ""
        raise InvalidInputError(
            f"--people-csv {path} does not name the person of {len(missing)} photo(s) of the "
            f"source ({shown}); add a 'photo,person' row for each"
        )
    return {p: mapping[p] for p in images}


def _csv_photo(
    csv_path: Path, photo: str, by_path: dict[Path, Path], by_name: dict[str, list[Path]]
) -> Path | None:
    """The photo of the source a ``--people-csv`` cell names (a path relative to the CSV's
    folder or as written, else a file name or stem), None when it names none of them.

    Raises:
        InvalidInputError: a file name or stem that several photos share.
    """
    for candidate in (csv_path.parent / photo, Path(photo)):
        found = by_path.get(candidate.resolve())
        if found is not None:
            return found
    named = by_name.get(photo) or by_name.get(Path(photo).name) or []
    if len(named) > 1:
        listed = ", ".join(str(p) for p in named[:5]) + (", ..." if len(named) > 5 else "")
        raise InvalidInputError(
            f"--people-csv {csv_path}: {photo!r} names {len(named)} photos of the source "
            f"({listed}); write each one's path instead (relative to the CSV's folder "
            f"{csv_path.parent}, or absolute)"
        )
    return named[0] if named else None


def _shown(image: Path, by_name: dict[str, list[Path]]) -> str:
    """A photo in a message: its file name, or its path when other photos share the name."""
    return image.name if len(by_name.get(image.name, ())) == 1 else str(image)


def photo_variants(
    image_bgr: np.ndarray,
    scales: Sequence[float] = SCALE_VARIANTS,
    lights: Sequence[str] = tuple(LIGHT_VARIANTS),
    mirror: bool = True,
) -> Iterator[tuple[str, np.ndarray]]:
    """Augmented copies of a photo: every scale x light (x mirrored), the original first.

    Small photos shrunk by a scale give faces the kiosk's gates refuse as too small; those
    variants are dropped later by :func:`people_crops`, not here.

    Args:
        image_bgr: uint8 (H, W, 3) BGR photo.
        scales: factors in (0, 2] (:data:`SCALE_VARIANTS`): the photo is shrunk (INTER_AREA)
            or enlarged (INTER_CUBIC).
        lights: names in :data:`LIGHT_VARIANTS`.
        mirror: also yield each variant flipped left-right.

    Yields:
        ``("s0.75-dark-m", uint8 BGR image)`` (``-m``: mirrored).

    Raises:
        InvalidInputError: a scale outside (0, 2] or an unknown light name.
    """
    for name in lights:
        if name not in LIGHT_VARIANTS:
            known = ", ".join(LIGHT_VARIANTS)
            raise InvalidInputError(f"light must be one of {known}, got {name!r}")
    for scale in scales:
        if not 0.0 < scale <= 2.0:
            raise InvalidInputError(f"scales must be in (0, 2], got {scale}")
        h, w = image_bgr.shape[:2]
        size = (max(1, round(w * scale)), max(1, round(h * scale)))
        how = cv2.INTER_AREA if scale < 1.0 else cv2.INTER_CUBIC
        scaled = image_bgr if scale == 1.0 else cv2.resize(image_bgr, size, interpolation=how)
        for name in lights:
            lit = _relight(scaled, name)
            for flipped in (False, True) if mirror else (False,):
                label = f"s{scale:g}-{name}" + ("-m" if flipped else "")
                yield label, (cv2.flip(lit, 1) if flipped else lit)


def _relight(image_bgr: np.ndarray, name: str) -> np.ndarray:
    gamma, contrast, gains, sigma = LIGHT_VARIANTS[name]
    lut = 255.0 * (np.arange(256, dtype=np.float64) / 255.0) ** gamma
    lut = 128.0 + contrast * (lut - 128.0)
    out = np.stack(
        [np.clip(lut * g, 0, 255).round().astype(np.uint8)[image_bgr[..., c]]
         for c, g in enumerate(gains)], axis=-1,
    )  # fmt: skip
    if sigma > 0:  # seeded by the image size: the same photo gets the same noise every run
        rng = np.random.default_rng(image_bgr.shape[0] * 100_003 + image_bgr.shape[1])
        noisy = out.astype(np.float32) + rng.normal(0.0, sigma, out.shape).astype(np.float32)
        out = np.clip(noisy, 0, 255).round().astype(np.uint8)
    return out


def _photo_crops(
    source: PeopleSource,
    size_px: int,
    augment: bool,
    landmarker: object,
    rejected: dict[str, int],
    grey_input_supported: bool,
) -> Iterator[tuple[str, np.ndarray]]:
    from wds_edge.perception.locate import detect_faces
    from wds_edge.perception.quality import QualityConfig

    gates = QualityConfig()
    try:
        image_bgr = read_image(source.path)
    except InvalidInputError as exc:  # as a folder's unreadable photo: the others still count
        logger.warning("skipping %s: %s", source.path, exc)
        return
    variants = photo_variants(image_bgr) if augment else iter([("s1-as_is", image_bgr)])
    for label, variant_bgr in variants:
        faces = detect_faces(landmarker.detect, variant_bgr)  # type: ignore[attr-defined]
        for i, face in enumerate(faces):
            status, crop = _kiosk_face(variant_bgr, face, size_px, gates, grey_input_supported)
            if crop is None:
                rejected[status] = rejected.get(status, 0) + 1
                continue
            yield f"{Path(source.path).name}:{label}#{i}", crop


def people_crops(
    sources: Sequence[PeopleSource],
    size_px: int,
    *,
    augment: bool = True,
    landmarker_path: str | Path | None = None,
    rejected: dict[str, int] | None = None,
    grey_input_supported: bool = False,
) -> Iterator[tuple[PeopleSource, str, np.ndarray]]:
    """Kiosk crops of every source (photos augmented when ``augment``; videos as they are).

    Only faces the kiosk's analyzer would segment are kept (its quality gates and colour
    checks, as :func:`wds_edge_calibration.crops.iter_face_crops`); ``rejected`` counts the
    others by status; ``grey_input_supported`` keeps grey faces (a model that takes them).
    A photo that cannot be read is skipped with a warning, as a folder's photos are.

    Yields:
        ``(source, label, uint8 RGB size_px x size_px x 3 crop)``.
    """
    from wds_edge.perception.landmarks import FaceLandmarker, FaceLandmarkerOptions

    counts: dict[str, int] = {} if rejected is None else rejected
    photos = [s for s in sources if s.is_photo]
    if photos:
        options = FaceLandmarkerOptions(model_path=landmarker_path, mode="image", max_faces=4)
        with FaceLandmarker(options) as landmarker:
            for source in photos:
                for label, crop in _photo_crops(
                    source, size_px, augment, landmarker, counts, grey_input_supported
                ):
                    yield source, label, crop
    for source in (s for s in sources if not s.is_photo):
        crops = iter_face_crops(
            source.path, size_px, landmarker_path=landmarker_path,
            frame_stride=source.frame_stride, rejected=counts,
            grey_input_supported=grey_input_supported,
        )  # fmt: skip
        for n, (label, crop) in enumerate(crops):
            if source.max_crops is not None and n >= source.max_crops:
                break
            yield source, f"{Path(source.path).name}:{label}", crop
    if counts:
        logger.info("faces skipped by the kiosk's quality and colour checks: %s", counts)


def build_people_set(
    sources: Sequence[PeopleSource],
    out_dir: str | Path,
    *,
    size_px: int = 640,
    augment: bool = True,
    landmarker_path: str | Path | None = None,
    overwrite: bool = False,
    progress: ProgressCallback | None = None,
    grey_input_supported: bool = False,
) -> CalibrationSet:
    """A calibration folder of ``sources``' crops whose manifest names their people.

    Raises:
        InvalidInputError: no sources, a source that does not exist, or an ``out_dir`` that
            may not be written (:func:`wds_edge_calibration.dataset.check_out_dir`).
        DataError: no face passed the kiosk's gates.
    """
    if not sources:
        raise InvalidInputError("build_people_set needs at least one PeopleSource")
    for source in sources:
        if not Path(source.path).is_file():
            raise InvalidInputError(f"{source.path}: no such photo or video")
    check_out_dir(out_dir, overwrite=overwrite, sources=[s.path for s in sources])
    seen: list[PeopleSource] = []

    def crops() -> Iterator[np.ndarray]:
        for source, _, crop in people_crops(
            sources, size_px, augment=augment, landmarker_path=landmarker_path,
            grey_input_supported=grey_input_supported,
        ):  # fmt: skip
            if source not in seen:
                seen.append(source)
            yield crop

    # people are recorded after the crops are written: only sources that gave a crop count
    result = write_calibration_set(
        crops(),
        out_dir,
        source="; ".join(Path(s.path).name for s in sources),
        size_px=size_px,
        preprocessing_path=PREPROCESSING_PATH + (" (photos augmented: scale, light, mirror)"
                                                 if augment else ""),
        overwrite=overwrite,
        progress=progress,
        people_of=lambda: sorted({p for s in seen for p in s.people}),
        grey_input_supported=grey_input_supported,
    )  # fmt: skip
    missing = [str(s.path) for s in sources if s not in seen]
    if missing:
        logger.warning("no face of %s passed the kiosk's gates: left out", ", ".join(missing))
    return result
