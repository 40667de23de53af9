"""The TensorRT calibration cache and its key (pure Python; no TensorRT needed).

TensorRT's entropy calibrator can skip the calibration passes when it is handed the
scales it wrote last time. Those scales are only valid for the same data, the same
model and the same TensorRT, so the cache file carries a key:

    key = sha256(calibration data sha256 | model sha256 | TensorRT version [| max_crops])

stored in ``<cache>.key`` beside the raw cache bytes. A cache whose key differs is
ignored (and overwritten after the next calibration), never used.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

from wds_edge.io import write_bytes_atomic, write_text_atomic

__all__ = ["calibration_cache_key", "CalibrationCache"]

logger = logging.getLogger(__name__)


def calibration_cache_key(
    data_sha256: str, model_sha256: str, trt_version: str, max_crops: int | None = None
) -> str:
    """Hex key that changes when the calibration data, the number of crops used, the model
    or TensorRT changes."""
    if not (data_sha256 and model_sha256 and trt_version):
        raise ValueError("calibration cache key needs data hash, model hash and TensorRT version")
    text = f"{data_sha256}|{model_sha256}|{trt_version}"
    if max_crops is not None:
        text += f"|max_crops={int(max_crops)}"
    return hashlib.sha256(text.encode()).hexdigest()


class CalibrationCache:
    """A calibration cache file guarded by a key file.

    Args:
        path: the cache file (``.calib``); the key goes to ``path + ".key"``.
        key: :func:`calibration_cache_key` of the current data / model / TensorRT.
    """

    def __init__(self, path: str | Path, key: str) -> None:
        self.path = Path(path)
        self.key_path = self.path.with_name(self.path.name + ".key")
        self.key = key

    def read(self) -> bytes | None:
        """The cached bytes if present and made for this key, else None."""
        if not self.path.is_file() or not self.key_path.is_file():
            return None
        stored = self.key_path.read_text().strip()
        if stored != self.key:
            logger.info(
                "calibration cache %s is stale (data, model or TensorRT changed)", self.path
            )
            return None
        return self.path.read_bytes()

    def write(self, data: bytes) -> None:
        """Store the bytes, then the key (a crash in between leaves a stale, ignored cache)."""
        self.key_path.unlink(missing_ok=True)
        write_bytes_atomic(self.path, bytes(data))
        write_text_atomic(self.key_path, self.key + "\n")
