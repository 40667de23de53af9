"""Reading images robustly and writing files atomically.

Every file wds-edge writes (JSON results, overlays, labels, checkpoints, models,
engines) goes through :func:`atomic_write`: the bytes land in a temporary file in
the same folder, are fsynced, and are moved over the target only once complete
(then the folder is fsynced too), so a crash, Ctrl-C or power cut never leaves a
half-written file under the target's name. Temporary files are named
``.wdstmp-<pid>-<name>-<random>.tmp`` (a long name cut short so that this stays a valid
file name: :func:`temporary_name`); ones left by a killed process are removed by the next
write into that folder (:func:`remove_stale_temporaries`).

Before a command starts long work it calls :func:`ensure_writable_dir` /
:func:`ensure_writable_file` on its outputs, so a read-only, full or misnamed
destination fails in one line at the start, not after the work.

Images are read with Pillow: the format is decided from the bytes (only JPEG, PNG, BMP,
TIFF, WebP and GIF are decoded), the size comes from the header and is checked against
``max_pixels`` *before* the pixels are decoded (decompression bombs cost nothing),
the decoder itself reports truncation (bytes after a JPEG's end marker, as phones and
vendors append, are fine), and EXIF orientation is applied. A FIFO or device named like
an image is refused, not read.
"""

from __future__ import annotations

import contextlib
import csv
import errno
import hashlib
import json
import logging
import os
import re
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import cv2
import numpy as np

from wds_edge._image_read import (
    DECODED_FORMATS,
    MAX_IMAGE_PIXELS,
    _to_bgr_uint8,  # noqa: F401 - used by the analyzer
    decode_image,
    image_size_from_header,
    read_image,
    sniff_image_format,
)
from wds_edge.errors import InvalidInputError, OutputError

__all__ = [
    "same_file",
    "atomic_write",
    "write_bytes_atomic",
    "write_text_atomic",
    "write_json_atomic",
    "write_image_atomic",
    "write_files_atomic",
    "encode_image",
    "TEMP_PREFIX",
    "temporary_name",
    "temporary_path",
    "temporary_dir",
    "fsync_dir",
    "remove_stale_temporaries",
    "ensure_writable_dir",
    "ensure_writable_file",
    "output_error",
    "read_image",
    "decode_image",
    "image_size_from_header",
    "sniff_image_format",
    "DECODED_FORMATS",
    "MAX_IMAGE_PIXELS",
    "sha256_file",
    "read_csv_pairs",
]

logger = logging.getLogger(__name__)

#: Prefix of every temporary file wds-edge writes (atomic writes, demo recordings).
TEMP_PREFIX = ".wdstmp-"
_TEMP_RE = re.compile(r"^\.wdstmp-(\d+)-")
#: The longest file name (bytes) Linux file systems take (NAME_MAX of ext4, XFS, btrfs).
_NAME_MAX_BYTES = 255
#: Random characters :func:`tempfile.mkstemp` puts between its prefix and suffix.
_MKSTEMP_RANDOM_CHARS = 8
#: A temporary file of a process that no longer runs is removed once it is this old.
_ORPHAN_AGE_S = 60.0
#: Any temporary file this old is removed (a process on another host, or pid reuse).
_ANCIENT_AGE_S = 24 * 3600.0
_cleaned_dirs: set[str] = set()
_cleaned_lock = threading.Lock()


def same_file(a: str | os.PathLike[str], b: str | os.PathLike[str]) -> bool:
    """``a`` and ``b`` name one file: the same path once resolved (``..``, symlinks, also
    ones to a file not made yet), or, both existing, the same file (a hard link)."""
    a, b = Path(a), Path(b)
    try:
        if a.resolve() == b.resolve():
            return True
    except (OSError, RuntimeError):  # a symlink loop: compare what exists
        pass
    try:
        return os.path.samefile(a, b)
    except OSError:  # one of them does not exist (yet)
        return False


def _read_umask() -> int:
    # os.umask can only be read by setting it; do that once, at import, not per write:
    # a set-and-restore while other threads create files would hand them umask 0.
    umask = os.umask(0o022)
    os.umask(umask)
    return umask


_UMASK = _read_umask()


def _target_mode(target: Path) -> int:
    try:
        return target.stat().st_mode & 0o7777
    except FileNotFoundError:
        return 0o666 & ~_UMASK


def sha256_file(path: str | os.PathLike[str]) -> str:
    """Hex sha256 of a file's bytes, read in 1 MiB blocks (models, engines, downloads)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# -- temporary files and output checks ---------------------------------------------------


def _pid_running(pid: int) -> bool:
    if pid == os.getpid() or os.name != "posix":
        return True  # (os.kill(pid, 0) would terminate the process on Windows)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # exists (another user's) or cannot tell: keep its files
    return True


def remove_stale_temporaries(folder: str | os.PathLike[str], *, force: bool = False) -> list[Path]:
    """Remove wds-edge temporary files that a killed process left in ``folder``.

    A ``.wdstmp-<pid>-...`` file is stale when its process no longer runs and it is
    older than a minute, or when it is older than a day (whoever wrote it). Each
    folder is scanned once per process unless ``force``.

    Returns:
        The files removed (missing folders and unreadable entries are ignored).
    """
    key = os.path.abspath(os.fspath(folder))
    with _cleaned_lock:
        if key in _cleaned_dirs and not force:
            return []
        _cleaned_dirs.add(key)
    removed: list[Path] = []
    try:
        entries = list(os.scandir(key))
    except OSError:
        return removed
    now = time.time()
    for entry in entries:
        match = _TEMP_RE.match(entry.name)
        if match is None:
            continue
        try:
            age_s = now - entry.stat(follow_symlinks=False).st_mtime
            orphan = not _pid_running(int(match.group(1))) and age_s > _ORPHAN_AGE_S
            if orphan or age_s > _ANCIENT_AGE_S:
                os.unlink(entry.path)
                removed.append(Path(entry.path))
        except OSError:
            continue
    if removed:
        logger.info("removed %d stale temporary file(s) in %s", len(removed), key)
    return removed


def temporary_name(name: str, tail: str = "", *, reserve: int = 0) -> str:
    """``.wdstmp-<pid>-<name><tail>``: the temporary beside a file called ``name``.

    ``name`` is cut short (whole characters, by their UTF-8 bytes) so that the temporary's
    name, with ``reserve`` more bytes its maker appends (``mkstemp``'s random letters and
    suffix), stays within 255 bytes: a valid long target name (a 233-byte Chinese one)
    must not make its temporary "File name too long". The start of the name is kept, so
    the temporary is still recognisable, and a cut name ends in ``~`` + 8 hex digits of the
    whole name's hash, so two targets that share their first 230-odd bytes (``<stem>.json``
    and ``<stem>_mask.png``) still get different temporaries.
    """
    head = f"{TEMP_PREFIX}{os.getpid()}-"
    room = _NAME_MAX_BYTES - reserve - len(os.fsencode(head + tail))
    encoded = os.fsencode(name)
    if len(encoded) > room:
        digest = "~" + hashlib.sha256(encoded).hexdigest()[:8]
        kept, used = [], len(digest)
        for char in name:
            used += len(os.fsencode(char))
            if used > room:
                break
            kept.append(char)
        name = "".join(kept) + digest
    return f"{head}{name}{tail}"


def temporary_path(target: str | os.PathLike[str], suffix: str = ".tmp") -> Path:
    """A fresh temporary path beside ``target`` with the wds-edge prefix (not created).

    For writers that need a path rather than a handle (video writers, exporters):
    write there, check, then ``os.replace`` it over ``target``. ``suffix`` lets the
    writer see the real extension (``.mp4``, ``.onnx``).
    """
    target = Path(target)
    remove_stale_temporaries(target.parent)
    token = os.urandom(4).hex()
    return target.with_name(temporary_name(target.name, f"-{token}{suffix}"))


def temporary_dir(target: str | os.PathLike[str]) -> Path:
    """A fresh, empty folder beside ``target`` (created), to fill and then rename over it.

    It gets the mode a plain ``mkdir`` gives (0777 less the umask), not the 0700 of
    :func:`tempfile.mkdtemp`: after the rename it *is* the output folder, readable by whom
    the user's other outputs are. Named ``.<name>.<random>``; the caller removes it on failure.
    """
    target = Path(target)
    folder = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    os.chmod(folder, 0o777 & ~_UMASK)
    return folder


def fsync_dir(folder: str | os.PathLike[str]) -> None:
    """fsync a folder so a rename in it survives a power cut (no-op where unsupported)."""
    if os.name != "posix":
        return
    try:
        fd = os.open(os.fspath(folder), os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


_FIXES = {
    errno.EROFS: "the file system is read-only",
    errno.EACCES: "permission denied",
    errno.EPERM: "permission denied",
    errno.ENOSPC: "no space left on the device",
    errno.EDQUOT: "the disk quota is exceeded",
    errno.ENOTDIR: "a part of the path is a file, not a folder",
    errno.EEXIST: "a part of the path is a file, not a folder",
    errno.EISDIR: "it is a folder, not a file",
}
#: The fix where the general one (a writable folder with free space) does not fit.
_FIX_FOR = {errno.EISDIR: "pass a file name (e.g. a file inside that folder) and run again"}
_GENERAL_FIX = "choose a writable folder with free space (or free some space) and run again"


def output_error(path: str | os.PathLike[str], what: str, exc: OSError) -> OutputError:
    """The one-line :class:`OutputError` for an ``OSError`` met writing ``what`` to ``path``:
    the reason in words (read-only, full, a folder, ...) and the fix."""
    reason = _FIXES.get(exc.errno or 0, exc.strerror or str(exc))
    fix = _FIX_FOR.get(exc.errno or 0, _GENERAL_FIX)
    return OutputError(f"cannot write the {what} to {path}: {reason}; {fix}")


def ensure_writable_dir(
    path: str | os.PathLike[str], what: str = "output", min_free_bytes: int = 1 << 20
) -> Path:
    """Make sure ``path`` is (or can become) a folder this process can write files in.

    Creates the folder (and its parents), writes and removes a probe file in it, checks
    that at least ``min_free_bytes`` are free, and removes stale temporaries. Call it
    before long work, so a bad destination fails at once, in one line.

    Raises:
        OutputError: the path is under a file, read-only, not permitted or full; the
            message names the path, the reason and the fix.
    """
    folder = Path(path)
    if folder.exists() and not folder.is_dir():
        raise OutputError(
            f"cannot write the {what} to {folder}: it is a file, not a folder; "
            "pass a folder path (or remove the file)"
        )
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=f"{TEMP_PREFIX}{os.getpid()}-probe-", dir=folder)
        try:
            os.write(fd, b"\0")
            os.fsync(fd)
        finally:
            os.close(fd)
            with contextlib.suppress(OSError):
                os.unlink(probe)
        stats = os.statvfs(folder) if hasattr(os, "statvfs") else None
    except OSError as exc:
        raise output_error(folder, what, exc) from None
    if stats is not None and stats.f_bavail * stats.f_frsize < min_free_bytes:
        raise output_error(folder, what, OSError(errno.ENOSPC, "no space left"))
    remove_stale_temporaries(folder)
    return folder


def ensure_writable_file(
    path: str | os.PathLike[str], what: str = "output file", min_free_bytes: int = 1 << 20
) -> Path:
    """:func:`ensure_writable_dir` for the folder of the file ``path``, and ``path``
    itself must not be a folder.

    Raises:
        OutputError: see :func:`ensure_writable_dir`.
    """
    target = Path(path)
    if target.is_dir():
        raise OutputError(f"cannot write the {what} to {target}: it is a folder; pass a file name")
    ensure_writable_dir(target.parent, what, min_free_bytes)
    return target


def _mkstemp_prefix(name: str) -> str:
    """``mkstemp``'s prefix for a temporary of ``name`` with the suffix ``.tmp``."""
    return temporary_name(name, "-", reserve=_MKSTEMP_RANDOM_CHARS + len(".tmp"))


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike[str], mode: str = "wb") -> Iterator[IO[Any]]:
    """Open a temporary file beside ``path``; on success move it over ``path``.

    On an exception the temporary file is removed and ``path`` is untouched. The file
    is fsynced before the rename and the folder after it. Parent folders are created.
    The file gets the mode a plain ``open()`` would give it (0666 less the umask; an
    existing target keeps its mode), not ``mkstemp``'s 0600.

    Raises:
        OutputError: the folder cannot be created or written (read-only, full, ...).
    """
    target = Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        remove_stale_temporaries(target.parent)
        fd, tmp_name = tempfile.mkstemp(
            prefix=_mkstemp_prefix(target.name), suffix=".tmp", dir=target.parent
        )
    except OSError as exc:
        raise output_error(target, "file", exc) from None
    try:
        with os.fdopen(fd, mode) as handle:
            yield handle
            handle.flush()
            os.fchmod(handle.fileno(), _target_mode(target))
            os.fsync(handle.fileno())
        os.replace(tmp_name, target)
        fsync_dir(target.parent)
    except BaseException as exc:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
        if isinstance(exc, OSError) and exc.errno in _FIXES:
            raise output_error(target, "file", exc) from None
        raise


def write_bytes_atomic(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically and return the path."""
    with atomic_write(path, "wb") as handle:
        handle.write(data)
    return Path(path)


def write_text_atomic(path: str | os.PathLike[str], text: str) -> Path:
    """Write UTF-8 ``text`` to ``path`` atomically and return the path."""
    return write_bytes_atomic(path, text.encode("utf-8"))


def write_json_atomic(path: str | os.PathLike[str], obj: Any, indent: int = 2) -> Path:
    """Serialize ``obj`` as JSON (UTF-8, trailing newline) to ``path`` atomically."""
    return write_text_atomic(path, json.dumps(obj, indent=indent, ensure_ascii=False) + "\n")


def encode_image(image: np.ndarray, ext: str, name: str | os.PathLike[str] = "") -> bytes:
    """Encode ``image`` (uint8 HxW or HxWx3 BGR, or HxWx4 BGRA) as ``ext`` (``.png``,
    ``.jpg``, ``.bmp``, ``.tif``).

    Raises:
        InvalidInputError: no encoder for ``ext`` or this array.
    """
    try:
        ok, buf = cv2.imencode(ext, image)
    except cv2.error:  # OpenCV raises for an extension it has no encoder for
        ok = False
    if not ok:
        raise InvalidInputError(
            f"cannot encode an image of shape {image.shape} and dtype {image.dtype} as '{ext}' "
            f"for {name}; use .png or .jpg and a uint8 image"
        )
    return buf.tobytes()


def write_image_atomic(path: str | os.PathLike[str], image: np.ndarray) -> Path:
    """Encode ``image`` (uint8 HxW or HxWx3 BGR, or HxWx4 BGRA) by the file extension of
    ``path`` (.png, .jpg, .bmp, .tif) and write it atomically."""
    ext = Path(path).suffix.lower() or ".png"
    return write_bytes_atomic(path, encode_image(image, ext, path))


def write_files_atomic(files: dict[Path, bytes]) -> list[Path]:
    """Write several files as one unit (a result's JSON and its images).

    Every file is first written completely to a temporary beside its target and fsynced;
    only when all of them are complete are they renamed over their targets. When any
    write fails (the disk fills between two files) every temporary is removed and no
    target is touched, so a result never appears without its other files. When a rename
    fails half-way (a target that is a folder), the targets already replaced get their
    previous files back (kept as hard links until the unit is complete).

    Returns:
        The targets, in order.

    Raises:
        OutputError: a folder cannot be written (read-only, full, ...).
    """
    pending: list[tuple[str, Path]] = []
    done: list[Path] = []
    previous: dict[Path, str] = {}  # target -> hard link to the file it replaces
    current = Path(next(iter(files), "."))  # the file being written or moved (for the error)
    try:
        for target, data in files.items():
            target = current = Path(target)
            target.parent.mkdir(parents=True, exist_ok=True)
            remove_stale_temporaries(target.parent)
            fd, tmp_name = tempfile.mkstemp(
                prefix=_mkstemp_prefix(target.name), suffix=".tmp", dir=target.parent
            )
            pending.append((tmp_name, target))
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fchmod(handle.fileno(), _target_mode(target))
                os.fsync(handle.fileno())
        for tmp_name, target in pending:
            current = target
            if target.is_file():
                previous[target] = _keep_previous(target)
            os.replace(tmp_name, target)
            done.append(target)
        for folder in {target.parent for _, target in pending}:
            fsync_dir(folder)
    except BaseException as exc:
        for tmp_name, _ in pending:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp_name)
        for target in done:  # a rename failed half-way: put the unit's old files back
            with contextlib.suppress(FileNotFoundError):
                if previous.get(target):
                    os.replace(previous.pop(target), target)
                else:
                    os.unlink(target)
        for kept in previous.values():
            with contextlib.suppress(FileNotFoundError):
                if kept:
                    os.unlink(kept)
        if isinstance(exc, OSError):
            raise output_error(current, "file", exc) from None
        raise
    for kept in previous.values():
        with contextlib.suppress(FileNotFoundError):
            if kept:
                os.unlink(kept)
    return [Path(t) for t in files]


def _keep_previous(target: Path) -> str:
    """A hard link to ``target`` beside it (``""`` where the file system has none: the old
    file then cannot be put back, as before)."""
    name = os.path.join(target.parent, temporary_name(target.name, "-old.tmp"))
    with contextlib.suppress(FileNotFoundError):
        os.unlink(name)
    try:
        os.link(target, name)
    except OSError:
        return ""
    return name


#: First-column words of a header row :func:`read_csv_pairs` skips.
CSV_FILE_HEADERS = frozenset({"image", "file", "photo", "name", "stem"})


def read_csv_pairs(
    path: str | os.PathLike[str], option: str, columns: str
) -> list[tuple[str, str]]:
    """The ``file,value`` rows of a small CSV a command option names (``--groups``,
    ``--people-csv``): blank rows dropped, cells stripped, a header row skipped.

    Args:
        path: the CSV (UTF-8, a byte-order mark allowed).
        option: the option's name, for the messages.
        columns: what the two columns are, e.g. ``"image,group"``.

    Raises:
        InvalidInputError: the file cannot be read, or a row lacks either cell.
    """
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInputError(
            f"{option} {path}: cannot read it ({exc}); give a CSV file of {columns} rows"
        ) from exc
    reader = csv.reader(text.splitlines())
    # each row with the file's line number it starts on (messages name the line an editor
    # shows, blank rows and the header counted)
    rows = []
    line = 1
    for cells in reader:
        row = [c.strip() for c in cells]
        if any(row):
            rows.append((line, row))
        line = reader.line_num + 1
    if rows and rows[0][1][0].lower() in CSV_FILE_HEADERS:
        rows = rows[1:]
    pairs = []
    for n, row in rows:
        if len(row) < 2 or not row[0] or not row[1]:
            raise InvalidInputError(
                f"{option} {path}: line {n} {row!r} is not '{columns}' (e.g. "
                f"'anna_01.jpg,anna'; the {columns.split(',')[0]} as file name or stem)"
            )
        pairs.append((row[0], row[1]))
    return pairs
