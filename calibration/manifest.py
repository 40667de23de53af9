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

__all__ = [
    "MANIFEST_FORMAT",
    "PEOPLE_FROM_VIDEO",
    "PEOPLE_GIVEN",
    "VIDEO_PERSON_PREFIX",
    "CalibrationManifest",
]

MANIFEST_FORMAT = 1
#: ``people_source`` of crops whose people were named by whoever made the set
#: (``calibrate --person`` / ``--people-csv``, :mod:`wds_edge_calibration.people`): trusted,
#: and checked strictly. A manifest without ``people_source`` (older ones) reads as this.
PEOPLE_GIVEN = "given"
#: ``people_source`` of the frames of one video file that nobody named: ``calibrate`` records
#: them as one person whose id is the video's content (:data:`VIDEO_PERSON_PREFIX` + the
#: start of its sha256), so two such ids match only for the same video. A guess, not a
#: name: two videos of one person have two ids.
PEOPLE_FROM_VIDEO = "video file"
#: How the id of a :data:`PEOPLE_FROM_VIDEO` person starts.
VIDEO_PERSON_PREFIX = "video:"


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
        people_source: where ``people`` came from: :data:`PEOPLE_GIVEN` (named; also when
            absent, as in older manifests) or :data:`PEOPLE_FROM_VIDEO` (one video file's
            frames, nobody named them: ``people`` is the video's content id).
        grey_input_supported: grey faces were kept (``calibrate --grey-input``, for a model
            whose metadata says ``grey_input_supported``) or refused as the analyzer refuses
            them for a colour model (False); None: not recorded (older manifests).
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
    people_source: str | None = None
    grey_input_supported: bool | None = None

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

    @property
    def people_derived(self) -> bool:
        """``people`` is a video file's content id, not names anybody gave
        (:data:`PEOPLE_FROM_VIDEO`)."""
        return bool(self.people) and self.people_source == PEOPLE_FROM_VIDEO

    def to_json(self) -> dict[str, Any]:
        """The JSON object written to ``manifest.json``: format 1's keys, plus ``people`` and
        ``people_source`` only when the builder knew who the crops show (a set without them
        reads exactly as before), and ``grey_input_supported`` when it was recorded."""
        exclude = {"people", "people_source"} if not self.people else set()
        if self.people_source is None:
            exclude.add("people_source")
        if self.grey_input_supported is None:
            exclude.add("grey_input_supported")
        return self.model_dump(mode="json", exclude=exclude or None)
