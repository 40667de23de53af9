"""`wds-edge serve --rotate`: the setting is kept in the service config and the camera
stream's frames are turned by it (a camera mounted on its side)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import cv2
import pytest
from pydantic import ValidationError


def test_the_service_camera_is_turned(
    service_config: Any, rotated_clip: Path, onnx_model_path: Path, landmarker_path: Path
) -> None:
    from wds_edge.service.engine import ServiceEngine

    config = service_config(
        model_path=onnx_model_path,
        landmarker_path=landmarker_path,
        source=str(rotated_clip),
        rotate=270,
    )
    assert config.rotate == 270
    cap = cv2.VideoCapture(str(rotated_clip))
    sideways = (int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT)), int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)))
    cap.release()
    engine = ServiceEngine(config)
    try:
        assert engine.live is not None
        snapshot = engine.live.wait_newer(0, timeout_s=60)
        assert snapshot is not None
        # upright: the recorded (height, width) swapped back
        assert snapshot.frame_bgr.shape[:2] == (sideways[1], sideways[0])
        assert engine.health()["camera"]["rotate"] == 270
    finally:
        engine.close()


def test_a_bad_rotate_is_refused_by_the_config(service_config: Any) -> None:
    with pytest.raises(ValidationError, match="rotate must be one of 0, 90, 180, 270"):
        service_config(rotate=45)
