"""Finding and fetching the MediaPipe FaceLandmarker model file.

The model (``face_landmarker.task``, float16 v1, 478 landmarks) is not shipped
inside the wheel. It is found in this order (first match wins):

1. an explicit path (``--landmarker PATH`` / ``FaceLandmarkerOptions.model_path``);
2. the environment variable ``WDS_EDGE_FACE_LANDMARKER``;
3. the user cache folder, :func:`user_model_dir` ``/face_landmarker.task``, where
   ``wds-edge models fetch`` puts it.

A kiosk without internet gets the file once (``wds-edge models fetch`` on a
connected machine, then copy it) and points the environment variable at it.
"""

from __future__ import annotations

import hashlib
import http.client
import logging
import os
import re
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

from wds_edge.errors import InvalidInputError, ModelError
from wds_edge.io import atomic_write, ensure_writable_dir, sha256_file
from wds_edge.progress import ProgressCallback

__all__ = [
    "FACE_LANDMARKER_URL",
    "FACE_LANDMARKER_SHA256",
    "FACE_LANDMARKER_SIZE_BYTES",
    "FACE_LANDMARKER_FILENAME",
    "FACE_LANDMARKER_ENV",
    "user_model_dir",
    "resolve_face_landmarker",
    "fetch_face_landmarker",
    "model_locations",
]

logger = logging.getLogger(__name__)

FACE_LANDMARKER_URL = (
    "https://storage.googleapis.com/mediapipe-models/face_landmarker/face_landmarker/"
    "float16/1/face_landmarker.task"
)
FACE_LANDMARKER_SHA256 = "64184e229b263107bc2b804c6625db1341ff2bb731874b0bcc2fe6544e0bc9ff"
#: Size of the canonical file: a file of this size is taken to be the canonical model and
#: must have its sha256 (checked once per process, see :func:`_check_model_file`).
FACE_LANDMARKER_SIZE_BYTES = 3_758_596
FACE_LANDMARKER_FILENAME = "face_landmarker.task"
FACE_LANDMARKER_ENV = "WDS_EDGE_FACE_LANDMARKER"

#: A ``.task`` file is a zip archive (TFLite models + metadata); the canonical file has
#: two padding bytes before the first local header, so look near the start.
_ZIP_MAGIC = b"PK\x03\x04"
_CHUNK_BYTES = 1 << 16
#: A sha256 digest in hex, as `sha256sum` prints it.
SHA256_HEX = re.compile(r"[0-9a-fA-F]{64}")
#: Files whose contents were verified in this process: resolved path -> "size:mtime_ns".
_verified: dict[Path, str] = {}


def user_model_dir() -> Path:
    """The per-user cache folder for downloaded models (``<user cache>/wds-edge/models``).

    Linux: ``~/.cache/wds-edge/models`` (honours ``$XDG_CACHE_HOME``).
    """
    import platformdirs

    return Path(platformdirs.user_cache_dir("wds-edge")) / "models"


def _how_to_get_it() -> str:
    return (
        f"Get the FaceLandmarker model one of these ways: run `wds-edge models fetch` "
        f"(downloads {FACE_LANDMARKER_URL} into {user_model_dir()} and checks its sha256); "
        f"or, offline, copy face_landmarker.task from a connected machine and set "
        f"{FACE_LANDMARKER_ENV}=/path/to/face_landmarker.task; or pass the file explicitly "
        f"(--landmarker PATH on the command line, FaceLandmarkerOptions(model_path=...) in code)"
    )


def _check_model_file(path: Path, origin: str) -> Path:
    """Sanity checks of a found model file (exists, is a file, is an intact .task zip).

    The canonical model (recognised by its size) must have its known sha256; any other
    (custom) model must be a zip whose members pass their CRC check. The contents are
    read once per process per file (cached by path, size and modification time).
    """
    if not path.exists():
        raise ModelError(
            f"FaceLandmarker model {path} (from {origin}) does not exist. " + _how_to_get_it()
        )
    if not path.is_file():
        raise ModelError(
            f"FaceLandmarker model {path} (from {origin}) is not a file. " + _how_to_get_it()
        )
    stat = path.stat()
    size = stat.st_size
    with path.open("rb") as handle:
        head = handle.read(64)
    if size == 0 or _ZIP_MAGIC not in head:
        raise ModelError(
            f"FaceLandmarker model {path} (from {origin}) is not a MediaPipe .task file "
            f"({size} bytes, no zip header near its start): it is corrupt or truncated. "
            + _how_to_get_it()
        )
    if path.name == FACE_LANDMARKER_FILENAME and size != FACE_LANDMARKER_SIZE_BYTES:
        # Other (custom) landmarker models are allowed; only warn for the canonical name.
        logger.warning(
            "%s is %d bytes; the canonical float16 v1 model is %d bytes (sha256 %s)",
            path,
            size,
            FACE_LANDMARKER_SIZE_BYTES,
            FACE_LANDMARKER_SHA256,
        )
    key = path.resolve()
    stamp = f"{size}:{stat.st_mtime_ns}"
    if _verified.get(key) != stamp:  # hashing once per process is enough
        _check_contents(path, origin, size)
        _verified[key] = stamp
    return path


def _check_contents(path: Path, origin: str, size: int) -> None:
    """The canonical model's sha256, or any other model's zip CRCs; ModelError if damaged."""
    refetch = (
        "Re-fetch it with `wds-edge models fetch` (checks the sha256), or copy a good "
        "face_landmarker.task from another machine"
    )
    if size == FACE_LANDMARKER_SIZE_BYTES:
        got = sha256_file(path)
        if got != FACE_LANDMARKER_SHA256:
            raise ModelError(
                f"FaceLandmarker model {path} (from {origin}) has the size of the canonical "
                f"face_landmarker.task but sha256 {got}, expected {FACE_LANDMARKER_SHA256}: "
                f"the file is damaged. {refetch}"
            )
        return
    try:
        with zipfile.ZipFile(path) as archive:
            bad_member = archive.testzip()
    except (
        zipfile.BadZipFile,
        OSError,
        EOFError,
        ValueError,
        RuntimeError,
        NotImplementedError,
    ) as exc:
        raise ModelError(
            f"FaceLandmarker model {path} (from {origin}) is not a readable .task (zip) "
            f"archive ({exc}): it is corrupt or truncated. {refetch}"
        ) from exc
    if bad_member is not None:
        raise ModelError(
            f"FaceLandmarker model {path} (from {origin}) is damaged: its member "
            f"{bad_member!r} fails the zip CRC check. {refetch}"
        )


def model_locations(path: str | os.PathLike[str] | None = None) -> list[tuple[str, Path | None]]:
    """The candidate locations in resolution order, as ``(origin, path or None)`` pairs."""
    env = os.environ.get(FACE_LANDMARKER_ENV)
    return [
        ("explicit path", Path(path).expanduser() if path is not None else None),
        (f"${FACE_LANDMARKER_ENV}", Path(env).expanduser() if env else None),
        ("user cache", user_model_dir() / FACE_LANDMARKER_FILENAME),
    ]


def resolve_face_landmarker(path: str | os.PathLike[str] | None = None) -> Path:
    """Find the FaceLandmarker model: explicit path > ``$WDS_EDGE_FACE_LANDMARKER`` > user cache.

    An explicit path or the environment variable must point at a usable file (a
    wrong one is an error, never silently skipped); the cache is used only when
    neither is given.

    Returns:
        The absolute path of the model file.

    Raises:
        ModelError: the chosen file is missing or not a ``.task`` archive, or no
            model is found anywhere; the message says how to get one.
    """
    for origin, candidate in model_locations(path):
        if candidate is None:
            continue
        if origin == "user cache" and not candidate.exists():
            break
        return _check_model_file(candidate, origin).resolve()
    raise ModelError(
        f"No FaceLandmarker model found (no explicit path, ${FACE_LANDMARKER_ENV} unset, "
        f"nothing at {user_model_dir() / FACE_LANDMARKER_FILENAME}). " + _how_to_get_it()
    )


def fetch_face_landmarker(
    dest_dir: str | os.PathLike[str] | None = None,
    url: str = FACE_LANDMARKER_URL,
    sha256: str = FACE_LANDMARKER_SHA256,
    progress: ProgressCallback | None = None,
    timeout_s: float = 30.0,
) -> Path:
    """Download the FaceLandmarker model, verify its sha256 and move it into place atomically.

    The bytes go to a temporary file in ``dest_dir``; only a file whose sha256
    matches is renamed to ``dest_dir/face_landmarker.task``. On any failure
    nothing is left behind and an existing good file is untouched.

    Args:
        dest_dir: target folder; default :func:`user_model_dir`.
        url: ``https://``, ``http://`` or ``file://`` address of the model.
        sha256: expected hex digest (64 hex digits, either case).
        progress: called as ``progress(bytes_done, bytes_total_or_None, "")`` while downloading.
        timeout_s: socket timeout of the download.

    Returns:
        The path of the verified model file.

    Raises:
        InvalidInputError: ``sha256`` is not a sha256 digest (checked before the download).
        ModelError: the download failed (offline, HTTP error, a response cut short or not
            HTTP at all) or the checksum differs.
        OutputError: ``dest_dir`` cannot be written (a file, under a file, read-only, full).
    """
    if not (isinstance(sha256, str) and SHA256_HEX.fullmatch(sha256)):
        raise InvalidInputError(
            f"sha256 must be a sha256 digest, 64 hex digits (0-9, a-f), got {sha256!r}: copy "
            "the whole digest (e.g. from `sha256sum FILE`)"
        )
    dest = Path(dest_dir).expanduser() if dest_dir is not None else user_model_dir()
    ensure_writable_dir(
        dest, what="FaceLandmarker model", min_free_bytes=FACE_LANDMARKER_SIZE_BYTES
    )
    target = dest / FACE_LANDMARKER_FILENAME
    digest = hashlib.sha256()
    # atomic_write: a failed download or a checksum mismatch (raised inside the block)
    # removes the temporary file and leaves an existing model untouched.
    with atomic_write(target, "wb") as out:
        try:
            with urllib.request.urlopen(url, timeout=timeout_s) as response:
                length = response.headers.get("Content-Length")
                total = int(length) if length and length.isdigit() else None
                done = 0
                for chunk in iter(lambda: response.read(_CHUNK_BYTES), b""):
                    out.write(chunk)
                    digest.update(chunk)
                    done += len(chunk)
                    if progress is not None:
                        progress(done, total, "")
        # http.client.HTTPException: a chunked body that stops (IncompleteRead), or
        # something other than an HTTP server answering (BadStatusLine).
        except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError) as exc:
            raise ModelError(
                f"Could not download the FaceLandmarker model from {url} ({exc}). If this "
                f"machine is offline, download {FACE_LANDMARKER_URL} on a connected "
                f"machine, copy it here and set "
                f"{FACE_LANDMARKER_ENV}=/path/to/face_landmarker.task (or copy it to {target})"
            ) from exc
        got = digest.hexdigest()
        if got != sha256.lower():
            raise ModelError(
                f"The file downloaded from {url} has sha256 {got}, expected {sha256}: "
                f"it is corrupt, truncated or a different model; nothing was saved. "
                f"Retry `wds-edge models fetch`, or check the URL"
            )
    logger.info("saved FaceLandmarker model %s (sha256 %s)", target, sha256)
    return target
