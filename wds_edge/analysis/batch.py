"""Analysing many files: input expansion, per-file results and atomic outputs.

This is what ``wds-edge analyze`` and ``sdk_examples/batch_folder.py`` run. An image is
analysed as one frame; a video file (:data:`~wds_edge.analysis.video.VIDEO_SUFFIXES`) as
one capture, the kiosk session over its frames, giving ONE fused result
(:func:`~wds_edge.analysis.video.analyze_video`). A file that cannot be read or analysed
(any error, decoder errors and too-large images included) gets an error outcome and the
batch goes on; nothing is written for it, and every file that is written is written
atomically, a result's JSON and images as one unit (a full disk leaves none of them, not an
overlay without its JSON).

In an output folder, each input's files (``<stem>.json``, ``<stem>_overlay.png``,
``<stem>_mask.png``) replace those an earlier run left for that stem, and the ones this
run does not write for it (an input that failed now, an overlay or mask not asked for or
not drawn) are removed. Files of stems this run has no input for (an earlier run's other
inputs) are left as they are. The stems are given in input order, failed
inputs included, so a rerun of the same inputs names them the same. The output folder may
not be a folder that a folder or glob input reads (:func:`check_output_folder`): a rerun
would take the overlays and masks written there for photos. Files named one by one are read
as named, wherever the output goes (``cd photos; analyze a.jpg --out .`` is fine), and a
file of this run's inputs is never written over: an input whose JSON, overlay or mask would
replace another input (``same/a.jpg same/a_overlay.png --out same``, a link into the output
folder) gets an error outcome naming the clash.
"""

from __future__ import annotations

import glob
import json
import logging
import os
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wds_edge.analysis.analyzer import WrinkleAnalyzer
from wds_edge.analysis.final import FinalResult
from wds_edge.analysis.result import FrameResult
from wds_edge.analysis.session import SessionConfig
from wds_edge.analysis.video import analyze_video, is_video_file
from wds_edge.capture.rotate import check_rotation, rotate_image
from wds_edge.errors import InvalidInputError, OutputError, WdsEdgeError
from wds_edge.io import encode_image, read_image, write_files_atomic

__all__ = [
    "IMAGE_SUFFIXES",
    "InputOutcome",
    "expand_inputs",
    "analyze_inputs",
    "check_output_folder",
]

logger = logging.getLogger(__name__)

#: File suffixes picked up from folders (globs and explicit files may name any file).
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")
_GLOB_CHARS = set("*?[")


@dataclass
class InputOutcome:
    """The outcome for one input.

    Attributes:
        input: the file (or the pattern that matched nothing).
        result: the analysis (a video's: the fused result's reference frame), or ``None``
            when the file could not be analysed.
        final: a video's fused :class:`FinalResult` (``None`` for images).
        error: why it could not be analysed (``None`` on success).
        json_path / overlay_path / mask_path: files written (``None`` when no output
            folder was given; ``mask_path`` also when the model did not run).
    """

    input: str
    result: FrameResult | None = None
    final: FinalResult | None = None
    error: str | None = None
    json_path: Path | None = None
    overlay_path: Path | None = None
    mask_path: Path | None = None

    @property
    def failed(self) -> bool:
        return self.error is not None

    def to_dict(self, include_arrays: bool = False) -> dict[str, Any]:
        """One JSON-ready object: ``input`` plus the result's keys, or ``status: "error"``."""
        if self.final is not None:
            data = {"input": self.input, **self.final.to_dict(include_arrays)}
        elif self.result is None:
            return {"input": self.input, "status": "error", "error": self.error}
        else:
            data = {"input": self.input, **self.result.to_dict(include_arrays)}
        if self.json_path is not None:
            data["json_path"] = str(self.json_path)
        if self.overlay_path is not None:
            data["overlay_path"] = str(self.overlay_path)
        if self.mask_path is not None:
            data["mask_path"] = str(self.mask_path)
        return data


def expand_inputs(inputs: Iterable[str | os.PathLike[str]]) -> list[str]:
    """Expand files, folders (their image files, sorted, not recursive) and globs.

    A glob that matches nothing, a missing path and a folder without image files are
    kept as they are, so the batch reports them as errors instead of skipping them
    silently.
    """
    paths: list[str] = []
    for item in inputs:
        text = os.fspath(item)
        if Path(text).is_dir():
            try:
                found = sorted(
                    str(p) for p in Path(text).iterdir() if p.suffix.lower() in IMAGE_SUFFIXES
                )
            except OSError:  # unreadable: analyze_inputs reports it for the folder
                found = []
            paths.extend(found or [text])
        elif _GLOB_CHARS & set(text) and not Path(text).exists():
            matches = sorted(p for p in glob.glob(text, recursive=True) if Path(p).is_file())
            paths.extend(matches or [text])
        else:
            paths.append(text)
    return paths


def _glob_folder(pattern: str) -> tuple[Path, bool]:
    """The folder a glob reads from and whether it reads its subfolders too (a ``**`` or a
    wildcard before the file name)."""
    parts = Path(pattern).parts
    first = next(i for i, part in enumerate(parts) if _GLOB_CHARS & set(part))
    return Path(*parts[:first]) if first else Path("."), first < len(parts) - 1


def check_output_folder(
    inputs: Iterable[str | os.PathLike[str]],
    out_dir: str | os.PathLike[str],
    option: str | None = None,
) -> None:
    """Refuse an output folder the inputs are read from.

    A folder input is read without its subfolders, so ``--out photos/results`` beside
    ``photos`` is fine, ``--out photos`` is not: its rerun would analyse the
    ``<stem>_overlay.png`` / ``<stem>_mask.png`` written there as photos, and write more of
    them each time. The same holds for the folder a glob reads (its subfolders too when the
    glob has ``**`` or a wildcard in a folder name). Files named one by one are read as
    named, wherever the output goes: an input whose results would replace another input
    gets an error outcome from :func:`analyze_inputs` instead (nothing is written for it).

    Args:
        inputs: the inputs as given (files, folders, globs).
        out_dir: the output folder.
        option: how the caller's user names the output folder (``"--out DIR"``, an
            argument's name), added to the advice; ``None``: not named.

    Raises:
        InvalidInputError: ``out_dir`` is such a folder (the message names the input).
    """
    out = Path(out_dir).resolve()
    for item in inputs:
        text = os.fspath(item)
        if Path(text).is_dir():
            folder, below = Path(text), False
        elif _GLOB_CHARS & set(text) and not Path(text).exists():
            folder, below = _glob_folder(text)
        else:  # a file named one by one: read as named (analyze_inputs guards each one)
            continue
        read = folder.resolve()
        if out == read or (below and read in out.parents):
            where = "is" if out == read else "is inside"
            raise InvalidInputError(
                f"the output folder {os.fspath(out_dir)} {where} the folder the input "
                f"{text} is read from: a rerun would analyse the overlays and masks written "
                "there as photos; write the results to a folder of their own"
                + (f" ({option})" if option else "")
            )


def _output_names(stem: str) -> tuple[str, str, str]:
    """The files an input with this stem may have in an output folder: its JSON, overlay
    and mask."""
    return f"{stem}.json", f"{stem}_overlay.png", f"{stem}_mask.png"


def _remove_stale(out: Path, stem: str, keep: Iterable[Path], inputs: set[Path]) -> None:
    """Remove the files of ``stem`` in ``out`` that this run did not write (``keep``): an
    earlier run's, which no longer describe this input. An input file is never removed.

    Raises:
        OutputError: one of them cannot be removed.
    """
    kept = {Path(k) for k in keep}
    for name in _output_names(stem):
        path = out / name
        if path in kept or path.resolve() in inputs:
            continue
        try:
            path.unlink()
        except FileNotFoundError:
            continue
        except OSError as exc:
            raise OutputError(
                f"{path}: cannot remove this file of an earlier run ({exc.strerror or exc}); "
                "it no longer describes its input: remove it, or check the folder's permissions"
            ) from None


def _folder_error(path: str) -> str:
    try:
        with os.scandir(path) as entries:
            next(entries, None)
    except OSError as exc:
        return f"{path}: cannot read the folder ({exc.strerror or exc}); check its permissions"
    return (
        f"{path}: the folder holds no image files ({', '.join(IMAGE_SUFFIXES)}); "
        "check the path, or pass the files or a glob"
    )


def _unique_stem(path: str, used: set[str]) -> str:
    stem = Path(path).stem or "image"
    candidate, n = stem, 2
    while candidate in used:  # a/x.jpg and b/x.png must not overwrite each other
        candidate, n = f"{stem}_{n}", n + 1
    used.add(candidate)
    return candidate


def analyze_inputs(
    analyzer: WrinkleAnalyzer,
    inputs: Iterable[str | os.PathLike[str]],
    out_dir: str | os.PathLike[str] | None = None,
    *,
    write_overlay: bool = True,
    include_arrays: bool = False,
    write_mask: bool = False,
    session: SessionConfig | None = None,
    rotate: int = 0,
) -> Iterator[InputOutcome]:
    """Analyse every input file, yielding one :class:`InputOutcome` per file as it is done.

    Args:
        analyzer: an open :class:`WrinkleAnalyzer` (IMAGE mode: each file is a still;
            VIDEO mode suits inputs that are all videos).
        inputs: files, folders and globs (:func:`expand_inputs`).
        out_dir: when given, ``<out_dir>/<stem>.json`` and ``<out_dir>/<stem>_overlay.png``
            are written (atomically) for every analysed file, and the files an earlier run
            left for one of this run's stems that this run does not write are removed (see
            the module docstring; other stems' files stay). A folder the inputs are read
            from is refused (:func:`check_output_folder`, an ``InvalidInputError`` at the
            first ``next``).
        write_overlay: also write the overlay PNG.
        include_arrays: put landmarks and the mask (base64 PNG) into the JSON files.
        write_mask: also write ``<out_dir>/<stem>_mask.png``: uint8 0 / 255, the input's
            own size (:meth:`FrameResult.frame_mask`), for files the model ran on.
        session: the capture settings of video inputs (``None``: the kiosk defaults; e.g.
            ``SessionConfig(expression="raise_brows")``); photos are scored as they are. A
            video is read whole unless ``max_frames`` is set (:func:`analyze_video`).
        rotate: degrees clockwise every photo and every video frame is turned by before it
            is analysed (0, 90, 180, 270; a photo's EXIF orientation is applied first): a
            camera mounted on its side or upside down. The overlay, the mask and the
            landmarks are then those of the turned image.

    A video's overlay is drawn on its reference frame's face crop (the fused mask, the
    counted regions); its mask PNG is the fused mask in that frame's size.
    """
    from wds_edge.analysis.overlay import draw_overlay  # lazy: only needed when writing

    rotate = check_rotation(rotate)  # at the first next, before any input
    inputs = list(inputs)
    out = Path(out_dir) if out_dir is not None else None
    if out is not None:
        check_output_folder(inputs, out)
    used: set[str] = set()
    paths = expand_inputs(inputs)
    read = {Path(p).resolve() for p in paths} if out is not None else set()
    for path in paths:
        outcome = InputOutcome(input=path)
        if Path(path).is_dir():
            outcome.error = _folder_error(path)
            yield outcome
            continue
        # every file gets its stem, failed or not: a rerun names them the same
        stem = _unique_stem(path, used) if out is not None else None
        try:
            _analyze_one(
                analyzer, outcome, out, stem, read, write_overlay, write_mask, include_arrays,
                draw_overlay, session, rotate,
            )  # fmt: skip
        except WdsEdgeError as exc:
            outcome.result, outcome.json_path, outcome.overlay_path = None, None, None
            outcome.final = None
            outcome.mask_path = None
            outcome.error = str(exc)
        except Exception as exc:  # a batch always goes on: one odd file must not stop it
            logger.debug("analysing %s failed", path, exc_info=True)
            outcome.result, outcome.json_path, outcome.overlay_path = None, None, None
            outcome.final = None
            outcome.mask_path = None
            outcome.error = f"{path}: analysis failed ({type(exc).__name__}: {exc})"
        if outcome.failed and out is not None and stem is not None:
            try:  # an earlier run's result must not stand for an input that fails now
                _remove_stale(out, stem, (), read)
            except WdsEdgeError as exc:
                if str(exc) not in str(outcome.error):  # not the error it failed with
                    outcome.error = f"{outcome.error}; {exc}"
        yield outcome


def _analyze_one(
    analyzer: WrinkleAnalyzer,
    outcome: InputOutcome,
    out: Path | None,
    stem: str | None,
    read: set[Path],
    write_overlay: bool,
    write_mask: bool,
    include_arrays: bool,
    draw_overlay: Any,
    session: SessionConfig | None = None,
    rotate: int = 0,
) -> None:
    image = None
    if out is not None and stem is not None:
        _check_no_input_replaced(outcome.input, out, stem, read, write_overlay, write_mask)
    if is_video_file(outcome.input):
        outcome.final = analyze_video(analyzer, outcome.input, session, rotate=rotate)
        result = outcome.final.result
        outcome.result = result
    else:
        start = time.perf_counter()
        image = rotate_image(read_image(outcome.input), rotate)
        decode_ms = (time.perf_counter() - start) * 1000.0
        result = analyzer.analyze(image)
        result.timings_ms = {"decode": decode_ms, **result.timings_ms}
        result.timings_ms["total"] += decode_ms
        outcome.result = result
    if out is not None and stem is not None:
        files: dict[Path, bytes] = {}
        overlay = _overlay(image, result, draw_overlay) if write_overlay else None
        if overlay is not None:
            outcome.overlay_path = out / f"{stem}_overlay.png"
            files[outcome.overlay_path] = encode_image(overlay, ".png")
        mask = result.frame_mask() if write_mask and result is not None else None
        if mask is not None:
            outcome.mask_path = out / f"{stem}_mask.png"
            files[outcome.mask_path] = encode_image(mask, ".png")
        outcome.json_path = out / f"{stem}.json"
        text = json.dumps(outcome.to_dict(include_arrays), indent=2, ensure_ascii=False) + "\n"
        files[outcome.json_path] = text.encode("utf-8")
        write_files_atomic(files)  # all of a result's files, or none of them
        _remove_stale(out, stem, files, read)  # an earlier run's overlay / mask of this stem


def _check_no_input_replaced(
    path: str, out: Path, stem: str, read: set[Path], write_overlay: bool, write_mask: bool
) -> None:
    """Refuse to write this input's results where they would replace a file that is an input
    of this run (a link into the output folder, a name the folder check cannot see).

    Raises:
        OutputError: naming the clash; nothing of this input is written.
    """
    json_name, overlay_name, mask_name = _output_names(stem)
    names = [json_name]
    names += [overlay_name] if write_overlay else []
    names += [mask_name] if write_mask else []
    for name in names:
        target = out / name
        if target.resolve() in read:
            raise OutputError(
                f"{path}: its result {target} would replace that file, an input of this run; "
                "nothing was written for it: write the results to a folder of their own"
            )


def _overlay(image: Any, result: FrameResult | None, draw_overlay: Any) -> Any:
    """The frame's overlay; a video's (no frame kept): its reference crop's, or None."""
    if image is not None and result is not None:
        return draw_overlay(image, result)
    if result is None or result.face_crop is None:
        return None
    from wds_edge.analysis.overlay import draw_crop_overlay

    crop_bgr = result.face_crop.crop_rgb[:, :, ::-1].copy()
    return draw_crop_overlay(crop_bgr, result)
