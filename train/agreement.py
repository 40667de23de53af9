"""Label agreement between annotators (paper Table 5): Pearson correlation of label maps.

Two binary label maps of the same image are compared by the Pearson correlation
coefficient of their pixel values (the issue's "Eq. 8"; for 0/1 maps it equals the phi
coefficient)::

    r = sum((a - mean(a)) * (b - mean(b))) / sqrt(sum((a - mean(a))^2) * sum((b - mean(b))^2))

A pair of label sets (folders) is summarised by the mean of the per-image ``r`` over the
images both sets label, and by the pooled ``r`` over all their pixels. ``r`` is undefined
when a map is constant (e.g. empty): identical maps count as ``r = 1``, otherwise the image
is left out of the mean and counted in ``n_undefined``.

With ``semi_auto`` each set's labels are also used as rough annotations (Eq. 2 + adaptive
threshold on the image) and the agreement of those semi-automatic labels is reported
beside the raw one, as in the paper.
"""

from __future__ import annotations

import itertools
import logging
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from wds_edge.errors import DataError, InvalidInputError, WdsEdgeError
from wds_edge.io import read_image
from wds_edge.progress import ProgressCallback
from wds_edge_train.data import MASK_EXTENSIONS, files_by_name, read_mask
from wds_edge_train.labeling.annotations import _key
from wds_edge_train.labeling.thresholding import (
    DEFAULT_THRESHOLD,
    ThresholdMethod,
    parse_threshold,
    semi_automatic_label,
)

__all__ = [
    "pearson_correlation",
    "PairAgreement",
    "AgreementReport",
    "label_files",
    "label_agreement",
]

logger = logging.getLogger(__name__)


def pearson_correlation(a: np.ndarray, b: np.ndarray) -> float:
    """Pearson correlation coefficient of two same-shape arrays (flattened), in [-1, 1].

    Returns 1.0 for identical arrays and NaN when either array is constant otherwise.

    Raises:
        InvalidInputError: the shapes differ or the arrays are empty.
    """
    x = np.asarray(a, dtype=np.float64).ravel()
    y = np.asarray(b, dtype=np.float64).ravel()
    if np.shape(a) != np.shape(b):
        raise InvalidInputError(
            f"label maps must have the same shape, got {np.shape(a)} and {np.shape(b)}"
        )
    if x.size == 0:
        raise InvalidInputError("cannot correlate empty label maps")
    if np.array_equal(x, y):
        return 1.0
    dx = x - x.mean()
    dy = y - y.mean()
    den = math.sqrt(float(dx @ dx) * float(dy @ dy))
    if den == 0.0:
        return float("nan")
    return float(np.clip(float(dx @ dy) / den, -1.0, 1.0))


@dataclass
class PairAgreement:
    """Agreement of two label sets over the images both label."""

    set_a: str
    set_b: str
    per_image: dict[str, float] = field(default_factory=dict)
    pooled_r: float = float("nan")

    @property
    def n_images(self) -> int:
        return len(self.per_image)

    @property
    def n_undefined(self) -> int:
        return sum(math.isnan(v) for v in self.per_image.values())

    @property
    def mean_r(self) -> float:
        vals = [v for v in self.per_image.values() if not math.isnan(v)]
        return float(np.mean(vals)) if vals else float("nan")

    def to_json(self) -> dict[str, Any]:
        def num(v: float) -> float | None:
            return None if math.isnan(v) else round(v, 6)

        return {
            "set_a": self.set_a,
            "set_b": self.set_b,
            "n_images": self.n_images,
            "n_undefined": self.n_undefined,
            "mean_r": num(self.mean_r),
            "pooled_r": num(self.pooled_r),
            "per_image": {k: num(v) for k, v in self.per_image.items()},
        }


@dataclass
class AgreementReport:
    """Pairwise agreement of raw (and optionally semi-automatic) label sets."""

    sets: list[str]
    raw: list[PairAgreement]
    semi_auto: list[PairAgreement] | None = None
    threshold: str | None = None
    problems: dict[str, str] = field(default_factory=dict)

    @staticmethod
    def _average(pairs: list[PairAgreement] | None) -> float:
        vals = [p.mean_r for p in pairs or [] if not math.isnan(p.mean_r)]
        return float(np.mean(vals)) if vals else float("nan")

    @property
    def mean_raw(self) -> float:
        return self._average(self.raw)

    @property
    def mean_semi_auto(self) -> float:
        return self._average(self.semi_auto)

    def to_json(self) -> dict[str, Any]:
        def num(v: float) -> float | None:
            return None if math.isnan(v) else round(v, 6)

        doc: dict[str, Any] = {
            "measure": "pearson_r",
            "sets": self.sets,
            "raw": {"mean_r": num(self.mean_raw), "pairs": [p.to_json() for p in self.raw]},
            "problems": self.problems,
        }
        if self.semi_auto is not None:
            doc["semi_auto"] = {
                "threshold": self.threshold,
                "mean_r": num(self.mean_semi_auto),
                "pairs": [p.to_json() for p in self.semi_auto],
            }
        return doc


def label_files(label_dir: str | Path, subfolder: str = "masks") -> dict[str, Path]:
    """Label (or image) files of a set by stem: ``DIR/<subfolder>/*`` when that folder
    exists (``wds-edge label`` output: ``masks``, ``images``), else ``DIR/*``.

    Files are matched by stem without a ``_mask`` / ``_rough`` / ``_label`` / ``_gt`` ending.

    Raises:
        InvalidInputError: a missing folder or one without label images.
        DataError: two files of one name (``q.png`` and ``q_mask.png``, ``q.png`` and ``q.gif``).
    """
    root = Path(label_dir)
    if not root.is_dir():
        raise InvalidInputError(f"{root}: label folder not found")
    folder = root / subfolder if (root / subfolder).is_dir() else root
    files = files_by_name(
        folder,
        MASK_EXTENSIONS,
        key=lambda p: _key(p.name),
        rule="its name without the suffix and a _mask / _rough / _label / _gt ending",
    )
    if not files:
        raise InvalidInputError(f"{folder}: no label images (PNG, GIF, TIFF, BMP, JPEG) found")
    return files


def _pair(
    name_a: str,
    name_b: str,
    maps_a: dict[str, np.ndarray],
    maps_b: dict[str, np.ndarray],
) -> PairAgreement:
    pair = PairAgreement(name_a, name_b)
    common = sorted(set(maps_a) & set(maps_b))
    sums = np.zeros(5)  # n, sum a, sum b, sum ab, (a and b binary: sum a^2 = sum a)
    for stem in common:
        a, b = maps_a[stem], maps_b[stem]
        pair.per_image[stem] = pearson_correlation(a, b)
        sums += (a.size, np.count_nonzero(a), np.count_nonzero(b), np.count_nonzero(a & b), 0)
    n, sa, sb, sab, _ = sums
    if n:
        den = math.sqrt(max(0.0, (n * sa - sa * sa) * (n * sb - sb * sb)))
        pair.pooled_r = (n * sab - sa * sb) / den if den else float("nan")
    return pair


def label_agreement(
    label_dirs: list[str | Path],
    *,
    images_dir: str | Path | None = None,
    semi_auto: bool = False,
    threshold: ThresholdMethod | str = DEFAULT_THRESHOLD,
    mask_threshold: int | None = None,
    progress: ProgressCallback | None = None,
) -> AgreementReport:
    """Pairwise Pearson agreement of two or more label sets matched by file stem.

    Args:
        label_dirs: two or more folders of binary label images (or ``wds-edge label`` outputs).
        images_dir: the photos the labels belong to (needed for ``semi_auto``).
        semi_auto: also compare semi-automatic labels built from each set.
        threshold: threshold of the semi-automatic labels.
        mask_threshold: threshold for non-binary label files. Labels are read by
            :func:`wds_edge_train.data.read_mask`, as ``train`` and ``eval`` read them
            (mostly-foreground labels inverted, non-binary ones refused).
        progress: called as ``progress(done, total, what)``.

    Returns:
        The report; unreadable or size-mismatched labels are skipped and listed in
        ``problems`` (never silently).

    Raises:
        InvalidInputError: fewer than two sets, duplicate names, missing folders, no image
            folder with ``semi_auto``, or no stem shared by any pair.
    """
    if len(label_dirs) < 2:
        raise InvalidInputError("label agreement needs at least two label folders")
    method = parse_threshold(threshold)
    names = [
        Path(d).resolve().name if Path(d).name in ("", ".") else Path(d).name for d in label_dirs
    ]
    if len(set(names)) != len(names):
        names = [str(d) for d in label_dirs]
    files = [label_files(d) for d in label_dirs]
    images: dict[str, Path] = {}
    if semi_auto:
        if images_dir is None:
            raise InvalidInputError("--semi-auto needs the photos: pass --images DIR")
        images = label_files(images_dir, "images")
    problems: dict[str, str] = {}
    raw: list[dict[str, np.ndarray]] = [{} for _ in files]
    semi: list[dict[str, np.ndarray]] = [{} for _ in files]
    total = sum(len(f) for f in files)
    done = 0
    image_cache: dict[str, np.ndarray] = {}
    for i, (name, set_files) in enumerate(zip(names, files, strict=True)):
        for stem, path in set_files.items():
            done += 1
            try:
                label = read_mask(path, mask_threshold)
                shapes = {m.shape for m in (r.get(stem) for r in raw[:i]) if m is not None}
                if shapes and label.shape not in shapes:
                    raise DataError(
                        f"{path}: label size {label.shape} differs from the other "
                        f"sets' {shapes.pop()}"
                    )
                if semi_auto:
                    if stem not in images:
                        raise DataError(f"{path}: no photo named {stem}.* in {images_dir}")
                    if stem not in image_cache:
                        image_cache = {
                            stem: cv2.cvtColor(read_image(images[stem]), cv2.COLOR_BGR2RGB)
                        }
                    image_rgb = image_cache[stem]
                    if image_rgb.shape[:2] != label.shape:
                        raise DataError(
                            f"{path}: label is {label.shape[1]}x{label.shape[0]} but the photo "
                            f"{images[stem].name} is {image_rgb.shape[1]}x{image_rgb.shape[0]}"
                        )
                    semi[i][stem] = (
                        semi_automatic_label(image_rgb, label, method) if label.any() else label
                    )
                raw[i][stem] = label
            except WdsEdgeError as exc:
                problems[f"{name}/{path.name}"] = str(exc)
                logger.warning("skipped %s: %s", path, exc)
            if progress is not None:
                progress(done, total, f"{name}/{path.name}")
    pairs = list(itertools.combinations(range(len(files)), 2))
    raw_pairs = [_pair(names[a], names[b], raw[a], raw[b]) for a, b in pairs]
    if not any(p.n_images for p in raw_pairs):
        raise InvalidInputError(
            "no label file name is shared by any two folders; labels are matched by file stem"
        )
    semi_pairs = (
        [_pair(names[a], names[b], semi[a], semi[b]) for a, b in pairs] if semi_auto else None
    )
    return AgreementReport(
        names, raw_pairs, semi_pairs, method.value if semi_auto else None, problems
    )
