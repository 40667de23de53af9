"""The INT8 representative set on disk: uint8 RGB face crops plus a manifest.

Layout of a calibration folder::

    CALIB_DIR/
      manifest.json        source, count, size_px, sha256 of the crops, wds-edge version,
                           preprocessing path, created_at
      crops/000000.png     uint8 RGB S x S face crops (stored as lossless PNG)
      ...

Crops are stored *before* model preprocessing (texture map / scaling), so one set
serves models with the texture inside or outside the graph: :meth:`CalibrationSet.batches`
applies :func:`wds_edge.model.preprocessing.model_input` for the model at hand, the same
function the kiosk uses.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import logging
import os
import shutil
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from wds_edge._version import __version__
from wds_edge.errors import DataError, InvalidInputError
from wds_edge.io import (
    read_image,
    temporary_dir,
    temporary_path,
    write_image_atomic,
    write_json_atomic,
)
from wds_edge.model.preprocessing import Preprocessing, model_input
from wds_edge.progress import ProgressCallback
from wds_edge_calibration.manifest import PEOPLE_GIVEN, CalibrationManifest

__all__ = [
    "MANIFEST_NAME",
    "MIN_RECOMMENDED_CROPS",
    "CalibrationSet",
    "check_out_dir",
    "write_calibration_set",
    "load_calibration_set",
]

logger = logging.getLogger(__name__)

MANIFEST_NAME = "manifest.json"
#: Below this many crops INT8 ranges are estimated from too little data (warning).
MIN_RECOMMENDED_CROPS = 300


@dataclass
class CalibrationSet:
    """A loaded calibration folder.

    Attributes:
        path: the folder.
        manifest: the parsed ``manifest.json``
            (:class:`~wds_edge_calibration.manifest.CalibrationManifest`).
        crop_paths: the crop files in order.
    """

    path: Path
    manifest: CalibrationManifest
    crop_paths: list[Path]
    _verified: bool = field(default=False, init=False, repr=False, compare=False)

    @property
    def size_px(self) -> int:
        return self.manifest.size_px

    @property
    def data_sha256(self) -> str:
        """sha256 of the crops' bytes: changes whenever any crop changes.

        It keys TensorRT's calibration cache and the engine cache and names the crops in
        gate records, so it is only handed out for crops that match it: a crop edited
        after ``wds-edge calibrate`` must not reuse scales or a gate measured on the old
        ones. :func:`load_calibration_set` checks that when it loads the folder; a set
        loaded with ``verify=False`` is checked here, on first use.

        Raises:
            DataError: the crops changed since the manifest was written.
        """
        if not self._verified:
            self.verify()
        return self.manifest.data_sha256

    def verify(self) -> None:
        """Re-hash the crops and compare with the manifest (once; later calls are free).

        Raises:
            DataError: the crops changed since the manifest was written.
        """
        if self._verified:
            return
        if _hash_files(self.crop_paths) != self.manifest.data_sha256:
            raise DataError(
                f"{self.path}: crops changed since the manifest was written (their sha256 "
                "differs from manifest.json's data_sha256); re-create the folder with "
                "`wds-edge calibrate --force`"
            )
        self._verified = True

    def __len__(self) -> int:
        return len(self.crop_paths)

    def crop(self, index: int) -> np.ndarray:
        """Crop ``index`` as uint8 RGB (S, S, 3)."""
        return cv2.cvtColor(read_image(self.crop_paths[index]), cv2.COLOR_BGR2RGB)

    def crops(self, limit: int | None = None) -> Iterator[np.ndarray]:
        """The crops (uint8 RGB S x S x 3), at most ``limit``."""
        n = len(self) if limit is None else min(limit, len(self))
        for i in range(n):
            yield self.crop(i)

    def batches(
        self,
        preprocessing: Preprocessing | str,
        batch_size: int = 1,
        limit: int | None = None,
    ) -> Iterator[np.ndarray]:
        """Model inputs, float32 NCHW (``batch_size`` crops each; the last may be smaller)."""
        if batch_size < 1:
            raise InvalidInputError(f"batch_size must be positive, got {batch_size}")
        pending: list[np.ndarray] = []
        for crop in self.crops(limit):
            pending.append(model_input(crop, preprocessing)[0])
            if len(pending) == batch_size:
                yield np.stack(pending)
                pending = []
        if pending:
            yield np.stack(pending)


def _hash_files(paths: Iterable[Path]) -> str:
    digest = hashlib.sha256()
    for path in paths:
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _is_calibration_folder(folder: Path) -> bool:
    """Holds what :func:`write_calibration_set` writes and nothing else: ``manifest.json``
    and ``crops/`` of ``NNNNNN.png`` files."""
    names = {p.name for p in folder.iterdir()}
    crops = folder / "crops"
    if MANIFEST_NAME not in names or not names <= {MANIFEST_NAME, "crops"}:
        return False
    if not (folder / MANIFEST_NAME).is_file() or (crops.exists() and not crops.is_dir()):
        return False
    return not crops.exists() or all(
        p.is_file() and p.suffix == ".png" and p.stem.isdigit() for p in crops.iterdir()
    )


def check_out_dir(
    out_dir: str | Path, *, overwrite: bool, sources: Iterable[str | Path] = ()
) -> None:
    """Refuse an output folder that :func:`write_calibration_set` must not write.

    Args:
        out_dir: the calibration folder to create (or replace).
        overwrite: an existing calibration folder may be replaced.
        sources: the photos / folders / videos the crops come from; the output may be none
            of them, nor inside or above one (a source that is not a path - a camera
            index, a URL - is skipped).

    Raises:
        InvalidInputError: ``out_dir`` is a file, is or holds or lies in a source, is not
            empty (without ``overwrite``), or (with ``overwrite``) is a folder that is not a
            calibration folder: only ``manifest.json`` and ``crops/`` are ever replaced.
    """
    out = Path(out_dir)
    for source in sources:
        src = Path(source)
        if not src.exists():
            continue
        a, b = out.resolve(), src.resolve()
        if a == b:
            where = "is"
        elif a in b.parents:
            where = "holds"
        elif b in a.parents:
            where = "lies inside"
        else:
            continue
        raise InvalidInputError(
            f"the calibration folder {out} (--out) {where} the source {source}; write "
            "the crops to a new folder beside the photos / video (e.g. --out calib/)"
        )
    if out.exists() and not out.is_dir():
        raise InvalidInputError(
            f"the calibration folder {out} (--out) exists and is not a folder; name a new "
            "folder for the crops (e.g. --out calib/)"
        )
    if not out.exists() or not any(out.iterdir()):
        return
    if not overwrite:
        raise InvalidInputError(
            f"{out} already exists and is not empty; choose another folder, or replace it "
            "with `wds-edge calibrate --force` (overwrite=True from Python)"
        )
    if not _is_calibration_folder(out):
        raise InvalidInputError(
            f"{out} is not a calibration folder (it holds more than manifest.json and "
            "crops/NNNNNN.png), so --force does not replace it; choose a new folder for --out"
        )


def write_calibration_set(
    crops_rgb: Iterable[np.ndarray],
    out_dir: str | Path,
    *,
    source: str,
    size_px: int,
    preprocessing_path: str,
    count: int | None = None,
    overwrite: bool = False,
    progress: ProgressCallback | None = None,
    people: list[str] | None = None,
    people_of: Callable[[], list[str]] | None = None,
    people_source: str = PEOPLE_GIVEN,
    grey_input_supported: bool | None = None,
) -> CalibrationSet:
    """Store face crops as a calibration folder (written to a temp folder, then renamed).

    Args:
        crops_rgb: uint8 RGB ``size_px`` x ``size_px`` x 3 crops.
        out_dir: the folder to create.
        source: where the crops came from (recorded in the manifest).
        size_px: crop size S.
        preprocessing_path: how the crops were made (recorded in the manifest).
        count: stop after this many crops (None: all).
        overwrite: replace an existing calibration folder (one that holds only
            ``manifest.json`` and ``crops/``; any other folder is refused).
        progress: called as ``progress(crops_written, count_or_None, "")``.
        people: who the crops show (recorded in the manifest; :mod:`wds_edge_calibration.people`).
        people_of: called after the crops are consumed, returns who they show (for a
            builder that learns it while producing the crops); overrides ``people``.
        people_source: where the people came from (recorded with them):
            :data:`~wds_edge_calibration.manifest.PEOPLE_GIVEN` (named) or
            :data:`~wds_edge_calibration.manifest.PEOPLE_FROM_VIDEO` (a video file's
            content id, :func:`wds_edge_calibration.build.build_calibration_set`).
        grey_input_supported: whether grey faces were kept (recorded in the manifest, and
            compared with the model's metadata by ``wds-edge quantize``); None: not recorded.

    Raises:
        InvalidInputError: ``out_dir`` is a file, exists (without ``overwrite``), is not a
            calibration folder (with ``overwrite``; :func:`check_out_dir`), or a crop has
            the wrong shape / dtype.
        DataError: no crop at all.
    """
    out = Path(out_dir)
    check_out_dir(out, overwrite=overwrite)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary_dir(out)  # the umask's mode, as a plain mkdir would give
    try:
        (tmp / "crops").mkdir()
        paths: list[Path] = []
        for crop in crops_rgb:
            if crop.shape != (size_px, size_px, 3) or crop.dtype != np.uint8:
                raise InvalidInputError(
                    f"calibration crop must be uint8 {size_px}x{size_px}x3 RGB, "
                    f"got {crop.dtype} {crop.shape}"
                )
            path = tmp / "crops" / f"{len(paths):06d}.png"
            write_image_atomic(path, cv2.cvtColor(crop, cv2.COLOR_RGB2BGR))
            paths.append(path)
            if progress is not None:
                progress(len(paths), count, "")
            if count is not None and len(paths) >= count:
                break
        if not paths:
            raise DataError(f"no face crops came out of {source}; is there a face in it?")
        if len(paths) < MIN_RECOMMENDED_CROPS:
            logger.warning(
                "only %d calibration crops (at least %d recommended): INT8 ranges may be "
                "poorly estimated; add images or a longer video",
                len(paths),
                MIN_RECOMMENDED_CROPS,
            )
        who = sorted(set(people_of() if people_of is not None else people or []))
        manifest = CalibrationManifest(
            source=source,
            count=len(paths),
            size_px=size_px,
            preprocessing=preprocessing_path,
            data_sha256=_hash_files(paths),
            wds_edge_version=__version__,
            created_at=_dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            people=who,
            people_source=people_source if who else None,
            grey_input_supported=grey_input_supported,
        )
        write_json_atomic(tmp / MANIFEST_NAME, manifest.to_json())
        check_out_dir(out, overwrite=overwrite)  # again: minutes may have passed
        _replace_dir(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    calib = load_calibration_set(out, verify=False)
    calib._verified = True  # its hash was just taken from these very files
    return calib


def _replace_dir(new: Path, out: Path) -> None:
    """Rename ``new`` to ``out``; an existing ``out`` is moved aside first and removed only
    once the new folder is in place (put back if the rename fails)."""
    if not out.exists():
        os.replace(new, out)
        return
    old = temporary_path(out, suffix=".old")
    os.replace(out, old)
    try:
        os.replace(new, out)
    except BaseException:
        os.replace(old, out)
        raise
    shutil.rmtree(old, ignore_errors=True)


def load_calibration_set(calib_dir: str | Path, *, verify: bool = True) -> CalibrationSet:
    """Open a calibration folder written by :func:`write_calibration_set`.

    Args:
        calib_dir: the folder.
        verify: re-hash the crops and compare with the manifest now (about 0.5 s for 500
            640 px crops, 310 MB, from the page cache on a 2-core CPU; 1.1 s from disk),
            so a folder whose crops were edited is refused before minutes of calibration.
            ``False`` defers the check to the first use of
            :attr:`CalibrationSet.data_sha256`, which every calibration cache key, engine
            cache key and gate record reads.

    Raises:
        DataError: no manifest, crops missing, or (``verify``) a hash mismatch.
    """
    path = Path(calib_dir)
    manifest_path = path / MANIFEST_NAME
    if not manifest_path.is_file():
        raise DataError(
            f"{path} is not a calibration folder (no {MANIFEST_NAME}); "
            "create one with `wds-edge calibrate --source DIR|VIDEO --out CALIB_DIR`"
        )
    manifest = CalibrationManifest.read(manifest_path)
    crop_paths = sorted((path / "crops").glob("*.png"))
    if len(crop_paths) != manifest.count:
        raise DataError(
            f"{path}: manifest lists {manifest.count} crops, found {len(crop_paths)} in crops/"
        )
    calib = CalibrationSet(path=path, manifest=manifest, crop_paths=crop_paths)
    if verify:
        calib.verify()
    return calib
