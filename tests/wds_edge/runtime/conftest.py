"""Fixtures for the runtime tests: the committed small ONNX model, the TensorRT stand-in,
calibration folders of real kiosk-sized crops (random pixels, real folder format), real
640 px kiosk crops for the bundled model, and a private user cache."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))  # fake_tensorrt, beside this file

import fake_tensorrt  # noqa: E402

FIXTURE_ONNX = Path(__file__).resolve().parents[2] / "fixtures" / "wds_b4_128_dyn.onnx"


@pytest.fixture(scope="session")
def small_onnx() -> Path:
    """The committed base-4, 128 px, dynamic-batch model (no torch needed)."""
    return FIXTURE_ONNX


@pytest.fixture
def fake_trt(monkeypatch: pytest.MonkeyPatch) -> Callable[..., Any]:
    """``fake_trt(version=..., devices=..., ...)`` installs the stand-in; returns its state."""
    from wds_edge.runtime.tensorrt import logger as trt_logger_module

    monkeypatch.setattr(trt_logger_module, "_instance", {})

    def install(**knobs: Any) -> fake_tensorrt.FakeState:
        state, _, _ = fake_tensorrt.install(monkeypatch, **knobs)
        return state

    return install


@pytest.fixture
def make_calib(tmp_path: Path) -> Callable[[int], Any]:
    """``make_calib(seed)``: a calibration folder of 6 random 128 px crops (CalibrationSet)."""
    from wds_edge_calibration.dataset import write_calibration_set

    made: dict[int, Any] = {}

    def make(seed: int = 0, count: int = 6) -> Any:
        if seed in made:
            from wds_edge_calibration.dataset import load_calibration_set

            return load_calibration_set(made[seed].path)  # same folder, a fresh object
        rng = np.random.default_rng(seed)
        crops = [rng.integers(0, 256, (128, 128, 3), dtype=np.uint8) for _ in range(count)]
        made[seed] = write_calibration_set(
            crops, tmp_path / f"calib{seed}", source="test", size_px=128,
            preprocessing_path="random pixels",
        )  # fmt: skip
        return made[seed]

    return make


@pytest.fixture(autouse=True)
def private_cache(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """Point the user cache (auto decisions, OpenVINO's compiled models) at a temp folder."""
    folder = tmp_path_factory.getbasetemp() / "user_cache"
    monkeypatch.setenv("XDG_CACHE_HOME", str(folder))
    return folder


@pytest.fixture(scope="session")
def bundled_model() -> Path:
    from wds_edge.model.bundled import default_model_path

    return default_model_path()


@pytest.fixture(scope="session")
def kiosk_crops_640(face_photos: list[Path], landmarker_path: Path) -> list[np.ndarray]:
    """uint8 RGB 640 px crops of the close-up photos, through landmarks -> Table 1 crop."""
    from wds_edge_calibration.crops import face_crops_from_images

    close_ups = [
        p for p in face_photos if p.stem in ("biden2", "obama2", "ffhq_00016", "astronaut")
    ]
    return [c for _, c in face_crops_from_images(close_ups, 640, landmarker_path=landmarker_path)]


@pytest.fixture(scope="session")
def fixed_batch2_onnx(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The small network (base 4, 128 px, untrained) exported with a fixed batch of 2, as
    ``wds-edge export --batch 2`` writes it: the 2 is in the graph's shapes, not only in
    its input."""
    torch = pytest.importorskip("torch", reason="exporting the test model needs torch")
    from wds_edge_export import export_model
    from wds_edge_train.model import WrinkleUNet

    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("fixed2") / "wds_b4_128_b2.onnx"
    export_model(WrinkleUNet(base_channels=4), path, input_size_px=128, batch=2)
    return path
