"""Rough annotations as annotation teams deliver them, rasterized to binary masks.

Three formats, found in one folder and matched to images by name:

* **mask images** (``.png``, ``.jpg``, ``.bmp``, ``.tif``, ``.gif``, ``.webp``): matched by
  file stem (``face01.png`` <-> ``face01.jpg``; a ``_mask`` / ``_rough`` / ``_label`` /
  ``_gt`` suffix on the annotation's stem is allowed, never stripped from a photo's: an
  annotation named exactly as a photo, ``anna_gt.png`` for ``anna_gt.jpg``, is that photo's).
  Inside = value > 127 (or > 0 for 0/1 masks), any colour channel; on a transparent
  canvas with one colour, the alpha channel. The photos being labelled are never their own
  masks (``--rough`` may be the photo folder, where LabelMe saves its JSON), and an image
  that looks like a photo (mostly mid grey) or is mostly foreground (dark strokes on white)
  is refused.
* **LabelMe JSON**: one file per image; ``imagePath`` names the image (else the JSON's
  stem). ``shapes`` of ``shape_type`` polygon / rectangle (filled) and linestrip / line /
  polyline (drawn with a stroke width); ``point`` / ``points`` are ignored; other shapes
  (``circle``, ``mask``, ...) are left out with a warning recorded for the image, its other
  shapes kept.
* **CVAT XML** ("CVAT for images 1.1" export): ``<image name=... width=... height=...>``
  holding ``<polyline points="x1,y1;x2,y2;...">``, ``<polygon>`` and ``<box>``; other
  shapes (``<ellipse>``, ``<mask>``, ``<skeleton>``, ``<cuboid>``) are left out with a
  warning recorded for their image, the image's other shapes kept.

Coordinates are image pixels (x right, y down). Lines are drawn with OpenCV at sub-pixel
precision with a round-capped stroke of ``stroke_width_px``; polygons are filled and
their outline drawn with the same stroke, so a thin polygon is never lost.
"""

from __future__ import annotations

import json
import logging
import math
import re
import xml.etree.ElementTree as ET
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from wds_edge.errors import DataError, InvalidInputError
from wds_edge_train.data import INVERTED_FRACTION, MASK_EXTENSIONS, open_label_image

__all__ = [
    "MASK_EXTENSIONS",
    "DEFAULT_STROKE_WIDTH_PX",
    "Shape",
    "VectorAnnotation",
    "RoughAnnotation",
    "read_mask_image",
    "read_labelme",
    "read_cvat_xml",
    "rasterize_shapes",
    "index_rough_annotations",
    "rough_mask",
]

logger = logging.getLogger(__name__)

#: Stroke width of polyline annotations: wide enough to cover a wrinkle and a margin of
#: skin on both sides at 600-1200 px face sizes, narrow enough to stay a *rough* mask.
DEFAULT_STROKE_WIDTH_PX = 7
_STEM_SUFFIXES = re.compile(r"[_\-.](mask|rough|label|gt)$", re.IGNORECASE)
_LINE_KINDS = {"linestrip": "polyline", "line": "polyline", "polyline": "polyline"}
_FILLED_KINDS = {"polygon": "polygon", "rectangle": "rectangle"}
_IGNORED_KINDS = {"point", "points"}
_SUBPIXEL_BITS = 4
#: A rough-mask image with more than this fraction of its pixels in mid grey
#: (:data:`_MID_GREY`) is a photo, not a mask: a mask is dark background and bright strokes,
#: whose JPEG / anti-aliased edges are a thin seam of grey (LabelMe saves its JSON beside
#: the photo, so ``--rough`` can be the photo folder itself).
_PHOTO_MID_GREY_FRACTION = 0.25
_MID_GREY = (32, 223)


@dataclass(frozen=True)
class Shape:
    """One vector annotation: ``kind`` polyline / polygon / rectangle, ``points_xy`` (N, 2)."""

    kind: str
    points_xy: np.ndarray


@dataclass
class VectorAnnotation:
    """Vector shapes of one image from a LabelMe or CVAT file."""

    image_name: str
    source: Path
    shapes: list[Shape]
    width_px: int | None = None
    height_px: int | None = None
    #: Shapes left out of ``shapes`` and why (a CVAT ``<ellipse>``, a LabelMe ``circle``, ...).
    warnings: list[str] = field(default_factory=list)
    #: The kinds of those shapes (``ellipse``, ``circle``, ...), one per warning.
    left_out: list[str] = field(default_factory=list)


@dataclass
class RoughAnnotation:
    """Everything in the rough-annotation folder that belongs to one image (by stem)."""

    key: str
    mask_paths: list[Path] = field(default_factory=list)
    vectors: list[VectorAnnotation] = field(default_factory=list)

    def sources(self) -> list[str]:
        return [p.name for p in self.mask_paths] + [v.source.name for v in self.vectors]

    def warnings(self) -> list[str]:
        """What the annotation files of this image hold that is not in its rough mask."""
        return [w for v in self.vectors for w in v.warnings]

    def left_out_kinds(self) -> list[str]:
        """The kinds of the shapes left out of its rough mask, sorted, each once."""
        return sorted({kind for v in self.vectors for kind in v.left_out})


def _key(name: str, photo_stems: Collection[str] = ()) -> str:
    """Match key of an annotation name (or of the image an annotation names): the file
    stem, folders and Windows paths stripped, a ``_mask`` / ``_rough`` / ``_label`` /
    ``_gt`` suffix removed, unless the stem is one of ``photo_stems`` (the photos being
    labelled, whose names keep such an ending: ``anna_gt.png`` is the annotation of
    ``anna_gt.jpg`` when that photo exists, else of ``anna.jpg``)."""
    base = re.split(r"[\\/]", name)[-1]
    stem = Path(base).stem
    return stem if stem in photo_stems else _STEM_SUFFIXES.sub("", stem)


def read_mask_image(path: str | Path) -> np.ndarray:
    """Read a rough-annotation mask image as bool HxW (inside = brighter than 127 in any
    channel; for 0/1 masks, non-zero). Strokes drawn only in the alpha channel of a
    transparent image are read from the alpha (:func:`wds_edge_train.data.open_label_image`).

    Raises:
        DataError: unreadable or corrupt file, an image whose colour and alpha both vary, a
            photo (mostly mid-grey pixels) or an image that is mostly foreground (an
            inverted mask: dark strokes on a white canvas).
    """
    image = open_label_image(path)
    m = np.asarray(image if image.mode == "L" else image.convert("RGB"))
    if m.ndim == 3:
        m = m.max(axis=2)
    if m.size:
        lo, hi = _MID_GREY
        mid = float(np.count_nonzero((m >= lo) & (m <= hi))) / m.size
        if mid > _PHOTO_MID_GREY_FRACTION:
            raise DataError(
                f"{path}: looks like a photo, not a rough mask ({100 * mid:.0f} % of its pixels "
                "are mid grey); a rough mask has bright strokes on a black background. Keep "
                "only masks, LabelMe JSON and CVAT XML in --rough (the photos go in --images)"
            )
    fg = m > (0 if int(m.max(initial=0)) <= 1 else 127)
    if fg.size and float(fg.mean()) >= INVERTED_FRACTION:
        raise DataError(
            f"{path}: {100 * float(fg.mean()):.0f} % of the rough mask is foreground; a rough "
            "mask has bright strokes on a black background (invert a mask drawn dark on white)"
        )
    return fg


def _points(raw: object, source: Path, what: str) -> np.ndarray:
    try:
        pts = np.asarray(raw, dtype=np.float64).reshape(-1, 2)
    except (TypeError, ValueError) as exc:
        raise DataError(
            f"{source}: {what} has malformed points ({exc}); expected [[x, y], ...]"
        ) from exc
    if not np.isfinite(pts).all():
        raise DataError(f"{source}: {what} has non-finite coordinates")
    return pts


def _size_px(value: object, source: Path, what: str) -> int | None:
    """An image side declared by an annotation file: a positive whole number of pixels
    (``300``, ``"300"``, ``300.0``), or None when absent (empty, 0)."""
    if value is None or value == "" or value == 0:
        return None
    try:
        number = float(str(value).strip()) if not isinstance(value, bool) else math.nan
    except ValueError:
        number = math.nan
    if not (math.isfinite(number) and number > 0 and number.is_integer()):
        raise DataError(
            f"{source}: {what} is {value!r}, not a whole number of pixels; write it as a plain "
            "number (e.g. 640), or remove it"
        )
    return int(number)


def read_labelme(path: str | Path) -> VectorAnnotation:
    """Parse a LabelMe JSON file.

    Shapes whose ``shape_type`` cannot be rasterized (``circle``, ``mask``, ...) are left
    out, each with a warning in :attr:`VectorAnnotation.warnings` (``left out <mask> ...``,
    as :func:`read_cvat_xml` writes them); ``point`` / ``points`` are ignored quietly.

    Raises:
        DataError: not JSON, no ``shapes`` list, malformed points, or an ``imageWidth`` /
            ``imageHeight`` that is not a whole number of pixels.
    """
    p = Path(path)
    try:
        doc = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataError(f"{p}: cannot read LabelMe JSON ({exc})") from exc
    if not isinstance(doc, dict) or not isinstance(doc.get("shapes"), list):
        raise DataError(f"{p}: not a LabelMe file (expected an object with a 'shapes' list)")
    shapes: list[Shape] = []
    warnings: list[str] = []
    left_out: list[str] = []
    for i, item in enumerate(doc["shapes"]):
        if not isinstance(item, dict):
            raise DataError(f"{p}: shapes[{i}] is not an object")
        kind = str(item.get("shape_type") or "polygon").lower()
        what = f"shapes[{i}] ({kind})"
        if kind in _IGNORED_KINDS:
            logger.info("%s: ignoring %s", p, what)
            continue
        if kind not in _LINE_KINDS and kind not in _FILLED_KINDS:
            supported = ", ".join(sorted({*_LINE_KINDS, *_FILLED_KINDS}))
            warning = (
                f"{p.name}: left out <{kind}> shapes[{i}]: it cannot be rasterized "
                f"(supported: {supported})"
            )
            logger.warning("%s", warning)
            warnings.append(warning)
            left_out.append(kind)
            continue
        shapes.append(
            Shape(
                _LINE_KINDS.get(kind) or _FILLED_KINDS[kind], _points(item.get("points"), p, what)
            )
        )
    name = doc.get("imagePath") or p.name
    return VectorAnnotation(
        image_name=str(name),
        source=p,
        shapes=shapes,
        width_px=_size_px(doc.get("imageWidth"), p, "imageWidth"),
        height_px=_size_px(doc.get("imageHeight"), p, "imageHeight"),
        warnings=warnings,
        left_out=left_out,
    )


def _cvat_points(text: str | None, source: Path, what: str) -> np.ndarray:
    if not text:
        raise DataError(f"{source}: {what} has no points attribute")
    try:
        pairs = [tuple(float(v) for v in pt.split(",")) for pt in text.strip().split(";") if pt]
    except ValueError as exc:
        raise DataError(f"{source}: {what} has malformed points '{text[:40]}' ({exc})") from exc
    return _points(pairs, source, what)


def read_cvat_xml(path: str | Path) -> list[VectorAnnotation]:
    """Parse a "CVAT for images 1.1" XML export: one :class:`VectorAnnotation` per ``<image>``.

    Shapes that cannot be rasterized (``<ellipse>``, ``<mask>``, ``<skeleton>``,
    ``<cuboid>``) are left out, each with a warning in its image's
    :attr:`VectorAnnotation.warnings` (``<points>`` and ``<tag>`` are ignored quietly).

    Raises:
        DataError: not XML, no ``<image>`` elements (e.g. a "CVAT for video" export),
            malformed points, or a width / height that is not a whole number of pixels.
    """
    p = Path(path)
    try:
        root = ET.parse(p).getroot()
    except (OSError, ET.ParseError) as exc:
        raise DataError(f"{p}: cannot read CVAT XML ({exc})") from exc
    images = root.findall(".//image")
    if not images:
        raise DataError(
            f"{p}: no <image> elements; export the task as 'CVAT for images 1.1' (not video)"
        )
    out = []
    for el in images:
        name = el.get("name")
        if not name:
            raise DataError(f"{p}: an <image> element has no name attribute")
        shapes: list[Shape] = []
        warnings: list[str] = []
        left_out: list[str] = []
        for child in el:
            what = f"<{child.tag}> of image {name}"
            if child.tag in ("polyline", "polygon"):
                shapes.append(Shape(child.tag, _cvat_points(child.get("points"), p, what)))
            elif child.tag == "box":
                try:
                    x0, y0, x1, y1 = (float(child.get(k, "")) for k in ("xtl", "ytl", "xbr", "ybr"))
                except ValueError as exc:
                    raise DataError(f"{p}: {what} lacks xtl/ytl/xbr/ybr") from exc
                shapes.append(Shape("rectangle", np.array([[x0, y0], [x1, y1]])))
            elif child.tag in ("points", "tag"):
                logger.info("%s: ignoring %s", p, what)
            else:
                warning = (
                    f"{p.name}: left out {what}: it cannot be rasterized (supported: polyline, "
                    "polygon, box)"
                )
                logger.warning("%s", warning)
                warnings.append(warning)
                left_out.append(child.tag)
        w = _size_px(el.get("width"), p, f"the width of image {name}")
        h = _size_px(el.get("height"), p, f"the height of image {name}")
        out.append(VectorAnnotation(name, p, shapes, w, h, warnings, left_out))
    return out


def rasterize_shapes(
    shapes: Iterable[Shape],
    shape_hw: tuple[int, int],
    stroke_width_px: int = DEFAULT_STROKE_WIDTH_PX,
) -> np.ndarray:
    """Draw vector shapes into a bool HxW mask.

    Lines: the 1 px centre line (sub-pixel end points, 8-connected) widened to every pixel
    within ``(stroke_width_px - 1) / 2`` (exact Euclidean distance) of it, so a stroke is
    ``stroke_width_px`` pixels across with round caps (odd widths are exact; an even
    width draws like the odd width below it on the pixel grid). (OpenCV's own thick lines come out
    about 2 px wider than asked.) Polygons and rectangles are filled, and their outline
    is drawn with the same stroke.
    """
    if stroke_width_px < 1:
        raise InvalidInputError(f"stroke_width_px must be >= 1, got {stroke_width_px}")
    filled = np.zeros(shape_hw, dtype=np.uint8)
    centre = np.zeros(shape_hw, dtype=np.uint8)
    scale = 1 << _SUBPIXEL_BITS
    for shape in shapes:
        pts = shape.points_xy
        if shape.kind == "rectangle" and len(pts) >= 2:
            (x0, y0), (x1, y1) = pts.min(axis=0), pts.max(axis=0)
            pts = np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]])
        fixed = np.rint(pts * scale).astype(np.int32).reshape(-1, 1, 2)
        closed = shape.kind != "polyline"
        if closed and len(pts) >= 3:
            cv2.fillPoly(filled, [fixed], 255, lineType=cv2.LINE_8, shift=_SUBPIXEL_BITS)
        if len(pts) == 1:
            x, y = np.rint(pts[0]).astype(int)
            if 0 <= y < shape_hw[0] and 0 <= x < shape_hw[1]:
                centre[y, x] = 255
        elif len(pts) >= 2:
            cv2.polylines(centre, [fixed], closed, 255, 1, cv2.LINE_8, _SUBPIXEL_BITS)
    if stroke_width_px > 1 and centre.any():
        distance = cv2.distanceTransform(
            np.where(centre > 0, 0, 255).astype(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_PRECISE
        )
        stroke = distance <= (stroke_width_px - 1) / 2.0 + 1e-6
    else:
        stroke = centre > 0
    return stroke | (filled > 0)


def index_rough_annotations(
    rough_dir: str | Path,
    exclude: Iterable[str | Path] = (),
    photo_stems: Collection[str] = (),
) -> tuple[dict[str, RoughAnnotation], dict[str, str]]:
    """Index a rough-annotation folder (not recursive) by image key (file stem).

    Args:
        rough_dir: the folder.
        exclude: files that are not annotations: the photos being labelled, when the
            rough folder is the photo folder (LabelMe saves ``face01.json`` beside
            ``face01.jpg``; the photo must not count as its own rough mask).
        photo_stems: the stems of the photos being labelled: an annotation named as one
            of them belongs to it, whatever ending the name has (:func:`_key`).

    Returns:
        ``(annotations, problems)``: annotations by key, and for files that could not be
        parsed ``{key of the file's name: message}`` (so a broken JSON is reported against
        its image; messages of files with the same key joined by ``"; "``).

    Raises:
        InvalidInputError: the folder does not exist.
    """
    root = Path(rough_dir)
    if not root.is_dir():
        raise InvalidInputError(f"{root}: rough-annotation folder not found; pass --rough DIR")
    skip = {Path(p).resolve() for p in exclude}
    index: dict[str, RoughAnnotation] = {}
    problems: dict[str, str] = {}
    for path in sorted(root.iterdir()):
        if path.name.startswith(".") or not path.is_file() or path.resolve() in skip:
            continue
        ext = path.suffix.lower()
        try:
            if ext in MASK_EXTENSIONS:
                key = _key(path.name, photo_stems)
                index.setdefault(key, RoughAnnotation(key)).mask_paths.append(path)
            elif ext == ".json":
                ann = read_labelme(path)
                key = _key(ann.image_name, photo_stems)
                index.setdefault(key, RoughAnnotation(key)).vectors.append(ann)
            elif ext == ".xml":
                for ann in read_cvat_xml(path):
                    key = _key(ann.image_name, photo_stems)
                    index.setdefault(key, RoughAnnotation(key)).vectors.append(ann)
        except DataError as exc:
            key = _key(path.name, photo_stems)
            problems[key] = f"{problems[key]}; {exc}" if key in problems else str(exc)
    return index, problems


def rough_mask(
    annotation: RoughAnnotation,
    shape_hw: tuple[int, int],
    stroke_width_px: int = DEFAULT_STROKE_WIDTH_PX,
) -> np.ndarray:
    """Union of all rough annotations of one image as bool HxW.

    Raises:
        DataError: a mask image or declared annotation size differs from ``shape_hw``,
            or the union is empty, or a mask image cannot be read.
    """
    h, w = shape_hw
    out = np.zeros(shape_hw, dtype=bool)
    for path in annotation.mask_paths:
        m = read_mask_image(path)
        if m.shape != (h, w):
            raise DataError(
                f"{path}: rough mask is {m.shape[1]}x{m.shape[0]} but the image is {w}x{h}; "
                "rough masks must be drawn on the full-size image"
            )
        out |= m
    for ann in annotation.vectors:
        if (ann.width_px, ann.height_px) not in ((None, None), (w, h)):
            raise DataError(
                f"{ann.source}: annotations for {ann.image_name} were made on a "
                f"{ann.width_px}x{ann.height_px} image but the image is {w}x{h}; "
                "annotate the full-size image (or rescale the export)"
            )
        out |= rasterize_shapes(ann.shapes, shape_hw, stroke_width_px)
    if not out.any():
        raise DataError(
            f"the rough annotation of '{annotation.key}' ({', '.join(annotation.sources())}) "
            "is empty; draw at least one stroke over a wrinkle"
        )
    return out
