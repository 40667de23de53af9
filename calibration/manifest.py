"""``manifest.json`` of a calibration folder as a pydantic model.

Format 1 (written since the first release) is what :class:`CalibrationManifest` writes and
reads; files from older builds that lack the descriptive fields still load (only ``count``,
``size_px`` and ``data_sha256`` are required), and unknown fields are kept.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from wds_edge.errors import DataError

__all__ = ["MANIFEST_FORMAT", "CalibrationManifest"]

MANIFEST_FORMAT = 1


class CalibrationManifest(BaseModel):
    """What a calibration folder holds and how its crops were made.

    Attributes:
        format: manifest format version (1).
        source: the folder / video / camera the crops came from.
        count: number of crops in ``crops/``.
        size_px: crop side in pixels (the model's input size).
        color_order: channel order of the stored crops (``"RGB"``).
        storage: how the crops are stored.
        preprocessing: the SDK functions that made the crops (the kiosk's crop path).
        data_sha256: sha256 over the crop files' bytes (64 hex digits).
        wds_edge_version: SDK version that wrote the folder.
        created_at: ISO 8601 UTC time of writing.
        people: who the crops show (ids such as a bioguide id), when the builder knew
            (:mod:`wds_edge_calibration.people`); empty: unknown, and a people split cannot be
            checked.
    """

    model_config = ConfigDict(extra="allow", frozen=True)

    format: int = MANIFEST_FORMAT
    source: str = ""
    count: int = Field(ge=0)
    size_px: int = Field(ge=1)
    color_order: str = "RGB"
    storage: str = "crops/NNNNNN.png, uint8 RGB before model preprocessing"
    preprocessing: str = ""
    data_sha256: str = Field(min_length=64, max_length=64)
    wds_edge_version: str | None = None
    created_at: str | None = None
    people: list[str] = Field(default_factory=list)

    @classmethod
    def read(cls, path: str | Path) -> CalibrationManifest:
        """Parse ``manifest.json``.

        Raises:
            DataError: not JSON, or a required field (``count``, ``size_px``,
                ``data_sha256``) missing or invalid; the message says to re-create the folder.
        """
        path = Path(path)
        try:
            data: Any = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise DataError(f"{path} is not valid JSON: {exc}") from exc
        if not isinstance(data, dict):
            raise DataError(f"{path} must hold a JSON object; re-create the calibration folder")
        for key in ("count", "size_px", "data_sha256"):
            if key not in data:
                raise DataError(f"{path} lacks '{key}'; re-create the calibration folder")
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
            )
            raise DataError(f"{path}: {problems}; re-create the calibration folder") from exc

    def to_json(self) -> dict[str, Any]:
        """The JSON object written to ``manifest.json``: format 1's keys, plus ``people`` only
        when the builder knew who the crops show (a set without it reads exactly as before)."""
        return self.model_dump(mode="json", exclude={"people"} if not self.people else None)
