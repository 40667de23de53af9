"""The batch labeling run behind ``wds-edge label``: a folder of photos -> a training folder.

Output ("generic layout", read by ``wds-edge train --data``)::

    OUT/images/<stem>.png     RGB image the label belongs to (the face crop with --auto)
    OUT/masks/<stem>.png      binary ground truth, 0 / 255
    OUT/fov/<stem>.png        where the label is valid (--auto: face skin + regions), 0 / 255
    OUT/previews/<stem>.jpg   photo | overlay (label green, rough mask cyan) for eyeballing
    OUT/landmarks/<stem>.json --auto: the 478 face landmarks in crop pixels + the crop
                              transform (tight face crops defeat a second face detection)
    OUT/zones/<stem>.png      --auto v2: lid margins, brows, hairline, outline, nostrils, lips,
                              glasses, hair (never labelled; `train --zone-weight` hard negatives)
    OUT/labels.json           per-file status, counts, options (+ "weak_labels": true for --auto)

Every file is written atomically; the mask of an image is written last (and removed first)
and a failed image leaves none of its outputs behind. ``labels.json`` is written when the
run starts (``"complete": false``), rewritten as it goes and when it ends or is
interrupted, so a folder of face crops always says so (``train`` and ``export`` read the
crop size from it). A bad file is reported in the summary
and skipped. With ``force``, the outputs an earlier run wrote for photos that are not in this
run are removed: OUT then holds exactly the labels that ``labels.json`` lists.
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from wds_edge.errors import DataError, InvalidInputError, WdsEdgeError
from wds_edge.io import fsync_dir, read_image, write_image_atomic, write_json_atomic
from wds_edge.progress import ProgressCallback
from wds_edge_train.augment import check_crop_size
from wds_edge_train.labeling.annotations import (
    DEFAULT_STROKE_WIDTH_PX,
    MASK_EXTENSIONS,
    RoughAnnotation,
    index_rough_annotations,
    rough_mask,
)
from wds_edge_train.labeling.labeled import ImageSkipped, LabeledImage
from wds_edge_train.labeling.preview import label_preview
from wds_edge_train.labeling.thresholding import (
    DEFAULT_THRESHOLD,
    ThresholdMethod,
    parse_threshold,
    semi_automatic_label,
)

__all__ = [
    "IMAGE_EXTENSIONS",
    "OUTPUT_FOLDERS",
    "SUMMARY_NAME",
    "WEAK_LABEL_NOTE",
    "LabelOptions",
    "LabeledImage",
    "LabelItem",
    "ImageSkipped",
    "LabelRunSummary",
    "check_input_folders",
    "list_images",
    "label_folder",
    "labelled_face_crop_px",
]

logger = logging.getLogger(__name__)

IMAGE_EXTENSIONS = MASK_EXTENSIONS
OUTPUT_FOLDERS = ("images", "masks", "fov", "previews", "landmarks", "zones")
#: (folder, suffix) of the file each output folder holds per stem, in writing order: the mask
#: comes last, so a stem with a mask has all its other outputs.
_OUTPUT_FILES = (
    ("images", ".png"),
    ("fov", ".png"),
    ("previews", ".jpg"),
    ("landmarks", ".json"),
    ("zones", ".png"),
    ("masks", ".png"),
)
SUMMARY_NAME = "labels.json"
#: A running label run rewrites labels.json at most this often (seconds), after an image.
SUMMARY_EVERY_S = 5.0
WEAK_LABEL_NOTE = (
    "WEAK LABELS: made automatically from face landmarks and a ridge filter, without a "
    "human rough annotation. Good enough to bootstrap a model; not a substitute for "
    "annotated ground truth when measuring accuracy."
)

ProgressFn = ProgressCallback  # the SDK-wide type; this name kept for importers


@dataclass
class LabelOptions:
    """Options of a labeling run (see ``wds-edge label --help``)."""

    threshold: ThresholdMethod = DEFAULT_THRESHOLD
    stroke_width_px: int = DEFAULT_STROKE_WIDTH_PX
    crop_size_px: int = 640
    landmarker_path: Path | None = None
    force: bool = False
    #: --auto: 2 = zones + orientation priors + depth floor (default), 1 = first generation.
    auto_version: int = 2
    #: --rough: label the kiosk's face crop of each photo (``crop_size_px``, quality gates)
    #: instead of the whole photo, as the paper does (Section 4.1).
    crop_faces: bool = False

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Raise :class:`InvalidInputError` on options no photo can be labelled with (before
        a run claims its output folder: a stroke width < 1 draws nothing, and every photo
        would fail alone with the same message), or whose labels no model can be exported
        for (a crop size that is not a multiple of 16)."""
        width = self.stroke_width_px
        if isinstance(width, bool) or not isinstance(width, int) or width < 1:
            raise InvalidInputError(
                f"--stroke-width must be a whole number of pixels >= 1, got {width!r} "
                f"(default {DEFAULT_STROKE_WIDTH_PX})"
            )
        size = self.crop_size_px
        if isinstance(size, bool) or not isinstance(size, int):
            raise InvalidInputError(f"--crop-size must be a whole number of pixels, got {size!r}")
        try:  # the face crop is the trained model's input size: export needs a multiple of 16
            check_crop_size(size)
        except InvalidInputError as exc:
            raise InvalidInputError(
                f"--crop-size {size}: {exc}. The face crop side is the input size of a model "
                "trained on the labels, which 'wds-edge export' refuses otherwise"
            ) from None

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["threshold"] = ThresholdMethod(self.threshold).value
        d["landmarker_path"] = str(self.landmarker_path) if self.landmarker_path else None
        return d


@dataclass
class LabelItem:
    """Outcome for one input file."""

    image: str
    stem: str
    status: str  # "ok" | "skipped" (refused by the quality gates, on purpose) | "failed"
    message: str = ""
    #: The label's (and its image's) size: the face crop with --auto / --crop-faces, the
    #: photo's otherwise; 0 where no label was made.
    width_px: int = 0
    height_px: int = 0
    rough_px: int = 0
    label_px: int = 0
    stats: dict[str, Any] = field(default_factory=dict)
    #: The photo's size as read (0 where it could not be read).
    photo_width_px: int = 0
    photo_height_px: int = 0

    @property
    def label_fraction(self) -> float:
        return self.label_px / max(1, self.width_px * self.height_px)


@dataclass
class LabelRunSummary:
    """What a labeling run did; :meth:`to_json` is written to ``OUT/labels.json``."""

    out_dir: Path
    mode: str  # "rough" | "auto"
    options: LabelOptions
    items: list[LabelItem]
    seconds: float = 0.0
    #: Rough-annotation files that could not be read and name no image of the run (a
    #: broken CVAT XML holds every image's strokes), by file key: message.
    annotation_problems: dict[str, str] = field(default_factory=dict)
    #: False while the run is going (``labels.json`` is written when it starts and as it
    #: goes) and in the summary of a run that was interrupted: ``items`` lists the photos
    #: done before it stopped.
    complete: bool = True

    @property
    def weak_labels(self) -> bool:
        return self.mode == "auto"

    @property
    def n_ok(self) -> int:
        return sum(i.status == "ok" for i in self.items)

    @property
    def n_failed(self) -> int:
        return sum(i.status == "failed" for i in self.items)

    @property
    def n_skipped(self) -> int:
        return sum(i.status == "skipped" for i in self.items)

    def to_json(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "mode": self.mode,
            "complete": self.complete,
            "weak_labels": self.weak_labels,
            "options": self.options.to_json(),
            "counts": {
                "total": len(self.items),
                "ok": self.n_ok,
                "skipped": self.n_skipped,
                "failed": self.n_failed,
            },
            "seconds": round(self.seconds, 2),
            "annotation_problems": dict(self.annotation_problems),
            "items": [
                {**asdict(i), "label_fraction": round(i.label_fraction, 6)} for i in self.items
            ],
        }
        if self.weak_labels:
            doc["note"] = WEAK_LABEL_NOTE
        return doc


def labelled_face_crop_px(data_dir: str | Path) -> int | None:
    """The side in px of the face crops a ``wds-edge label`` output folder holds, or None.

    ``--auto`` and ``--rough --crop-faces`` label the kiosk's face crop of each photo at
    ``--crop-size``: the scale (pixels per millimetre of face) a model trained on them
    learns, and so the input size the kiosk must crop faces at. ``labels.json`` records it
    (``options.crop_size_px``). None where that is unknown: no ``labels.json`` (DRIVE,
    other people's data) or ``--rough`` labels of whole photos.

    Raises:
        DataError: a ``labels.json`` that is not a readable JSON object, or whose crop size
            is not a positive integer.
    """
    path = Path(data_dir) / SUMMARY_NAME
    if not path.is_file():
        return None
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataError(
            f"{path}: unreadable ({exc}); it should be the summary 'wds-edge label' wrote: "
            "label the photos again, or remove the file if the folder holds other labels"
        ) from exc
    options = doc.get("options") if isinstance(doc, dict) else None
    if not isinstance(options, dict):
        return None
    if doc.get("complete") is False:
        logger.warning(
            "%s: the labeling run did not finish (interrupted, or still running): the folder "
            "holds only the labels of the photos it got to; run 'wds-edge label' again with "
            "--force to label them all",
            path,
        )
    if doc.get("mode") != "auto" and not options.get("crop_faces"):
        return None  # --rough of whole photos: each label keeps its photo's own scale
    size = options.get("crop_size_px")
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        raise DataError(
            f"{path}: options.crop_size_px is {size!r}, expected the face crop side in px "
            "(a positive integer); label the photos again with 'wds-edge label --crop-size N'"
        )
    return size


def list_images(images_dir: str | Path) -> list[Path]:
    """Image files (by extension, not recursive, sorted) of a folder.

    Raises:
        InvalidInputError: the folder is missing or holds no image.
    """
    root = Path(images_dir)
    if not root.is_dir():
        raise InvalidInputError(f"{root}: image folder not found; pass --images DIR")
    files = [
        p
        for p in sorted(root.iterdir())
        if p.is_file() and not p.name.startswith(".") and p.suffix.lower() in IMAGE_EXTENSIONS
    ]
    if not files:
        raise InvalidInputError(f"{root}: no images ({', '.join(IMAGE_EXTENSIONS)}) in the folder")
    return files


def _outputs(out_dir: Path, stem: str) -> list[Path]:
    return [out_dir / folder / f"{stem}{suffix}" for folder, suffix in _OUTPUT_FILES]


def check_input_folders(out_dir: str | Path, **inputs: str | Path | None) -> None:
    """Refuse an input folder the run writes into: one of OUT's output folders or a folder
    inside one (``--force`` removes and rewrites their files: the photos themselves), and
    ``--rough OUT`` (``labels.json`` is written there and would be read as an annotation).

    Args:
        out_dir: the output folder.
        inputs: option name (``images``, ``rough``) -> folder, None when not given.

    Raises:
        InvalidInputError: such a folder.
    """
    out = Path(out_dir).resolve()
    for option, folder in inputs.items():
        if folder is None:
            continue
        path = Path(folder).resolve()
        inside = next((f for f in OUTPUT_FOLDERS if path.is_relative_to(out / f)), None)
        if inside is None and not (option == "rough" and path == out):
            continue
        what = f"OUT/{inside}, where the run writes its {inside}" if inside else "OUT itself"
        raise InvalidInputError(
            f"--{option} {folder} is {what} (--out {out_dir}): the run would overwrite or, with "
            f"--force, remove its own input files; keep the --{option} files in a folder outside "
            f"--out's {', '.join(OUTPUT_FOLDERS)} folders, or choose another --out"
        )


def _check_overwrite(out_dir: Path, stems: list[str], force: bool) -> None:
    existing = [p for s in stems for p in _outputs(out_dir, s) if p.exists()]
    if (out_dir / SUMMARY_NAME).exists():
        existing.append(out_dir / SUMMARY_NAME)
    if existing and not force:
        raise InvalidInputError(
            f"{out_dir} already holds labels ({len(existing)} files would be overwritten, e.g. "
            f"{existing[0]}); pass --force to overwrite them, or choose another --out"
        )


def _remove_outputs(out_dir: Path, stem: str) -> None:
    for p in reversed(_outputs(out_dir, stem)):  # the mask first
        p.unlink(missing_ok=True)


def _remove_stale_outputs(out_dir: Path, stems: set[str]) -> list[Path]:
    """Remove the outputs (files named as this module writes them) of stems that are not
    in this run, masks first; other files are left alone. Returns the removed files."""
    removed: list[Path] = []
    for folder, suffix in reversed(_OUTPUT_FILES):
        if not (out_dir / folder).is_dir():
            continue
        for p in sorted((out_dir / folder).iterdir()):
            if p.suffix == suffix and p.stem not in stems and p.is_file():
                p.unlink()
                removed.append(p)
    if removed:
        names = sorted({p.stem for p in removed})
        logger.warning(
            "%s: removed %d file(s) of %d photo(s) not in this run (--force): %s%s",
            out_dir, len(removed), len(names), ", ".join(names[:5]),
            ", ..." if len(names) > 5 else "",
        )  # fmt: skip
    return removed


def _write(out_dir: Path, stem: str, result: LabeledImage, title: str) -> None:
    """Write a stem's outputs, its mask last. An earlier run's mask (``--force``) is removed
    first, and the removal made durable, so a kill or power cut while the others are being
    replaced never leaves the new image beside the old label: a stem with a mask has all of
    its outputs, one without is not a sample (``train`` names the image)."""
    paths = _outputs(out_dir, stem)
    with contextlib.suppress(FileNotFoundError):
        paths[5].unlink()
        fsync_dir(paths[5].parent)
    try:
        write_image_atomic(paths[0], cv2.cvtColor(result.image_rgb, cv2.COLOR_RGB2BGR))
        if result.fov is not None:
            write_image_atomic(paths[1], result.fov.astype(np.uint8) * 255)
        else:
            paths[1].unlink(missing_ok=True)
        preview = result.preview_bgr
        if preview is None:
            preview = label_preview(
                result.image_rgb, result.label, result.rough, result.fov, title=title
            )
        write_image_atomic(paths[2], preview)
        if result.landmarks is not None:
            write_json_atomic(paths[3], result.landmarks, indent=0)
        else:
            paths[3].unlink(missing_ok=True)
        if result.zones is not None:
            write_image_atomic(paths[4], result.zones.astype(np.uint8) * 255)
        else:
            paths[4].unlink(missing_ok=True)
        write_image_atomic(paths[5], result.label.astype(np.uint8) * 255)
    except BaseException:
        _remove_outputs(out_dir, stem)
        raise


def _orphans_note(orphans: dict[str, str], shown: int = 2) -> str:
    """What a photo without a rough annotation is told of the files that could not be read
    and name no photo (``""`` when there are none)."""
    if not orphans:
        return ""
    messages = list(orphans.values())
    more = f"; and {len(messages) - shown} more" if len(messages) > shown else ""
    return "annotation files that could not be read: " + "; ".join(messages[:shown]) + more


def _label_with_rough(
    image_rgb: np.ndarray, rough: np.ndarray, threshold: ThresholdMethod
) -> LabeledImage:
    label = semi_automatic_label(image_rgb, rough, threshold)
    return LabeledImage(image_rgb, label, rough)


def label_folder(
    images_dir: str | Path,
    out_dir: str | Path,
    *,
    rough_dir: str | Path | None = None,
    auto: bool = False,
    options: LabelOptions | None = None,
    progress: ProgressFn | None = None,
) -> LabelRunSummary:
    """Label every image of ``images_dir`` from rough annotations or automatically.

    Args:
        images_dir: folder of photos (PNG, JPEG, BMP, TIFF, GIF, WebP).
        out_dir: output folder (layout in the module docstring).
        rough_dir: folder of rough annotations (mask images, LabelMe JSON, CVAT XML).
        auto: make weak labels from face landmarks + a ridge filter instead (face crops).
        options: threshold, stroke width, crop size, landmarker model, force (overwrite
            the outputs in ``out_dir`` and remove those of photos not in ``images_dir``).
        progress: called as ``progress(done, total, file_name)`` after each image.

    Returns:
        The run summary (also written to ``OUT/labels.json``). Failed files are in it
        with ``status="failed"`` and a message; photos the kiosk's quality gates refuse
        (``--auto``: no face, too small, turned away, too dark, too blurry, a grey face, a
        colour cast) with
        ``status="skipped"``; neither stops the run.

    Raises:
        InvalidInputError: neither / both of ``rough_dir`` and ``auto``, a missing folder,
            no images, an input folder the run writes into (``OUT/images``, ``OUT/masks``,
            ...; ``rough_dir`` = ``OUT``), or outputs that exist without ``options.force``.
    """
    opts = options or LabelOptions()
    opts.validate()
    opts.threshold = parse_threshold(opts.threshold)
    if (rough_dir is None) == (not auto):
        raise InvalidInputError("pass exactly one of --rough DIR or --auto")
    out = Path(out_dir)
    check_input_folders(out, images=images_dir, rough=rough_dir)
    images = list_images(images_dir)
    # A photo's outputs are named by its file stem, as it is (a _gt / _mask ending is part
    # of a photo's name; only annotation names lose it: annotations._key).
    stems = [p.stem for p in images]
    _check_overwrite(out, sorted(set(stems)), opts.force)
    rough_index, rough_problems = (
        ({}, {})
        if rough_dir is None
        else index_rough_annotations(rough_dir, exclude=images, photo_stems=set(stems))
    )
    # files that name no image (annotations.xml): their problem may be why images lack one
    orphans = {k: v for k, v in rough_problems.items() if k not in set(stems)}
    for message in orphans.values():
        logger.warning("rough annotation not read: %s", message)

    auto_labeler = None
    cropper = None
    if rough_dir is not None and opts.crop_faces:
        from wds_edge_train.labeling.face_crop import FaceCropper

        cropper = FaceCropper(opts.crop_size_px, opts.landmarker_path)
    if auto:
        if opts.auto_version == 2:
            from wds_edge_train.labeling.auto_v2 import AutoLabelerV2 as AutoLabeler
        elif opts.auto_version == 1:
            from wds_edge_train.labeling.auto import AutoLabeler  # type: ignore[assignment]
        else:
            raise InvalidInputError(f"--auto-version must be 1 or 2, got {opts.auto_version}")

        auto_labeler = AutoLabeler(
            crop_size_px=opts.crop_size_px,
            landmarker_path=opts.landmarker_path,
            threshold=opts.threshold,
        )
    items: list[LabelItem] = []
    summary = LabelRunSummary(
        out, "auto" if auto else "rough", opts, items, annotation_problems=orphans, complete=False
    )
    seen: set[str] = set()
    start = time.perf_counter()
    try:
        if opts.force:  # after the set-up checks: a usage error removes nothing
            _remove_stale_outputs(out, set(stems))
        # labels.json first: an interrupted run's folder still says what it holds (face
        # crops of --crop-size px: train and export read the scale from it)
        last_written = _write_summary(summary, start)
        for n, (path, stem) in enumerate(zip(images, stems, strict=True), start=1):
            item = LabelItem(image=path.name, stem=stem, status="failed")
            try:
                if stem in seen:
                    raise InvalidInputError(
                        f"another image has the stem '{stem}'; rename one (outputs are <stem>.png)"
                    )
                seen.add(stem)
                image_rgb = cv2.cvtColor(read_image(path), cv2.COLOR_BGR2RGB)
                item.photo_height_px, item.photo_width_px = image_rgb.shape[:2]
                if auto_labeler is not None:
                    result = auto_labeler.label(image_rgb)
                else:
                    if stem not in rough_index:
                        why = rough_problems.get(stem, "") or _orphans_note(orphans)
                        raise InvalidInputError(
                            f"no rough annotation for {path.name} in {rough_dir} "
                            f"(expected {stem}.png, a LabelMe JSON or a CVAT XML naming it)"
                            + (f": {why}" if why else "")
                        )
                    annotation = rough_index[stem]
                    # recorded first: labels.json keeps them for a photo that fails too
                    if warnings := annotation.warnings():
                        item.stats["annotation_warnings"] = warnings
                    drawn = annotation.mask_paths or any(v.shapes for v in annotation.vectors)
                    if warnings and not drawn:
                        raise DataError(_only_unsupported_shapes(path.name, annotation))
                    rough = rough_mask(annotation, image_rgb.shape[:2], opts.stroke_width_px)
                    landmarks = None
                    if cropper is not None:
                        image_rgb, rough, landmarks, crop_stats = cropper.crop(image_rgb, rough)
                        item.stats.update(crop_stats)
                        if not rough.any():  # rough_mask refuses an empty annotation
                            raise InvalidInputError(
                                f"{path.name}: the rough annotation lies outside the kiosk's "
                                "face crop of the largest face in the photo "
                                f"({crop_stats['faces_found']} found; --crop-faces labels that "
                                "crop only); draw the strokes on that face, or label the whole "
                                "photo without --crop-faces"
                            )
                    result = _label_with_rough(image_rgb, rough, opts.threshold)
                    result.landmarks = landmarks
                    item.stats["sources"] = annotation.sources()
                    if warnings:
                        item.message = "; ".join(warnings)
                item.height_px, item.width_px = result.label.shape
                item.rough_px = int(np.count_nonzero(result.rough))
                item.label_px = int(np.count_nonzero(result.label))
                item.stats.update(result.stats)
                if item.label_px == 0:
                    raise InvalidInputError(
                        f"{path.name}: the threshold left no wrinkle pixel inside the rough "
                        "annotation; check that the strokes lie on the wrinkles"
                    )
                _write(out, stem, result, title=path.name)
                item.status = "ok"
            except ImageSkipped as exc:
                item.status, item.message = "skipped", str(exc)
                item.stats["quality_status"] = exc.status
                logger.info("%s: %s", path, exc)
                if opts.force and stem not in stems[: n - 1]:
                    _remove_outputs(out, stem)
            except (WdsEdgeError, OSError, cv2.error) as exc:
                item.message = str(exc)
                left_out = item.stats.get("annotation_warnings", [])
                if left_out and "left out" not in item.message:  # noted on ok photos too
                    item.message += "; " + "; ".join(left_out)
                item.width_px = item.height_px = 0  # no label written
                logger.warning("%s: failed: %s", path, exc)
                if opts.force and stem not in stems[: n - 1]:
                    _remove_outputs(out, stem)  # no stale label from an earlier run
            items.append(item)
            if time.perf_counter() - last_written >= SUMMARY_EVERY_S:
                last_written = _write_summary(summary, start)
            if progress is not None:
                progress(n, len(images), path.name)
    except BaseException:  # interrupted (Ctrl-C) or broken: say what was done
        with contextlib.suppress(OSError, WdsEdgeError):
            _write_summary(summary, start)
        raise
    finally:
        if auto_labeler is not None:
            auto_labeler.close()
        if cropper is not None:
            cropper.close()
    summary.complete = True
    _write_summary(summary, start)
    return summary


def _only_unsupported_shapes(image_name: str, annotation: RoughAnnotation) -> str:
    """Why an image whose annotation files hold only shapes that were left out (a CVAT
    ``<ellipse>``, ...) has no rough annotation (rough_mask would only call it empty)."""
    tags = annotation.left_out_kinds()
    return (
        f"{image_name}: the rough annotation ({', '.join(annotation.sources())}) is empty: its "
        f"only shapes ({', '.join(tags) or 'unknown'}) were left out as unsupported; draw "
        "polylines, polygons or boxes over the wrinkles"
    )


def _write_summary(summary: LabelRunSummary, start: float) -> float:
    """Write ``OUT/labels.json`` (atomically) as the run stands; returns the time it did."""
    now = time.perf_counter()
    summary.seconds = now - start
    write_json_atomic(summary.out_dir / SUMMARY_NAME, summary.to_json())
    return now
