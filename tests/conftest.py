"""Shared fixtures and marker handling.

Reference data is read in place from ``../shared`` (or ``$WDS_EDGE_SHARED``); tests
that need it skip with a clear reason when it is absent. Markers:

* ``gpu``: skipped unless CUDA PyTorch sees a GPU.
* ``trt``: skipped unless TensorRT imports and cuda-python sees a GPU (no torch needed:
  the Jetson image has none).
* ``slow``: skipped unless ``--runslow`` is given (``scripts/test.sh`` gives it).
* ``display``: skipped unless ``Xvfb`` and ``xdotool`` are on PATH.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]


def shared_root() -> Path:
    return Path(os.environ.get("WDS_EDGE_SHARED", REPO_ROOT.parent / "shared")).resolve()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--runslow", action="store_true", help="run tests marked slow")


def _cuda_available() -> bool:
    if importlib.util.find_spec("torch") is None:
        return False
    import torch

    return bool(torch.cuda.is_available())


def _cuda_python_gpu() -> bool:
    """cuda-python (either module layout) reports at least one CUDA device."""
    for name in ("cuda.bindings.runtime", "cuda.cudart"):
        try:
            rt = importlib.import_module(name)
        except ImportError:
            continue
        err, count = rt.cudaGetDeviceCount()
        return err == rt.cudaError_t.cudaSuccess and bool(count)
    return False


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    runslow = config.getoption("--runslow") or os.environ.get("WDS_EDGE_RUN_SLOW") == "1"
    has_trt = importlib.util.find_spec("tensorrt") is not None
    has_xvfb = shutil.which("Xvfb") is not None and shutil.which("xdotool") is not None
    cuda: bool | None = None
    trt_gpu: bool | None = None
    for item in items:
        if "slow" in item.keywords and not runslow:
            item.add_marker(pytest.mark.skip(reason="slow test: pass --runslow to run it"))
        if "gpu" in item.keywords:
            if cuda is None:
                cuda = _cuda_available()
            if not cuda:
                item.add_marker(pytest.mark.skip(reason="needs an NVIDIA GPU with CUDA PyTorch"))
        if "trt" in item.keywords:
            if not has_trt:
                reason = "needs TensorRT (pip install '.[trt]'; JetPack on a Jetson)"
                item.add_marker(pytest.mark.skip(reason=reason))
                continue
            if trt_gpu is None:
                trt_gpu = _cuda_python_gpu()
            if not trt_gpu:
                reason = "needs an NVIDIA GPU visible to cuda-python (pip install cuda-python)"
                item.add_marker(pytest.mark.skip(reason=reason))
        if "display" in item.keywords and not has_xvfb:
            reason = "needs Xvfb and xdotool (apt-get install xvfb xdotool)"
            item.add_marker(pytest.mark.skip(reason=reason))


def _shared_path(*parts: str) -> Path:
    path = shared_root().joinpath(*parts)
    if not path.exists():
        pytest.skip(f"reference data {path} is absent (set WDS_EDGE_SHARED to the shared/ folder)")
    return path


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    return _shared_path()


@pytest.fixture(scope="session")
def faces_dir() -> Path:
    return _shared_path("data", "faces")


@pytest.fixture(scope="session")
def drive_dir() -> Path:
    return _shared_path("data", "DRIVE", "training")


@pytest.fixture(scope="session")
def drive_small(drive_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """DRIVE layout (symlinks, read in place) with 3 of the 20 images: 2 train + 1 validation
    with --val-count 1 (the training and export tests share it; nothing writes into it)."""
    root = tmp_path_factory.mktemp("drive_small")
    for sub in ("images", "1st_manual", "mask"):
        (root / sub).mkdir()
    for n in (21, 22, 23):
        for sub, name in (
            ("images", f"{n}_training.tif"),
            ("1st_manual", f"{n}_manual1.gif"),
            ("mask", f"{n}_training_mask.gif"),
        ):
            (root / sub / name).symlink_to(drive_dir / sub / name)
    return root


@pytest.fixture(scope="session")
def video_path() -> Path:
    return _shared_path("data", "video", "portrait_motion_720p.mp4")


@pytest.fixture(scope="session")
def landmarker_path() -> Path:
    return _shared_path("models", "face_landmarker.task")


# -- real face crops through the kiosk path and a small trained model (export, calibration) --

#: Training size of the proxy model (small: the suite runs on 2 CPU cores).
PROXY_TRAIN_PX = 128


@pytest.fixture(scope="session")
def face_photos(faces_dir: Path) -> list[Path]:
    return sorted(p for p in faces_dir.iterdir() if p.suffix.lower() in (".jpg", ".png"))


@pytest.fixture(scope="session")
def kiosk_crops_128(face_photos: list[Path], landmarker_path: Path) -> list[tuple[str, np.ndarray]]:
    """(label, uint8 RGB 128x128 crop) of every face, through landmarks -> Table 1 crop."""
    from wds_edge_calibration.crops import face_crops_from_images

    return list(face_crops_from_images(face_photos, 128, landmarker_path=landmarker_path))


@pytest.fixture(scope="session")
def proxy_model(  # noqa: ANN201 - a torch module
    kiosk_crops_128: list[tuple[str, np.ndarray]],
    pytestconfig: pytest.Config,
    tmp_path_factory: pytest.TempPathFactory,
):
    """A base-8 WrinkleUNet trained for 40 steps to reproduce Eq. 1 texture-threshold masks.

    Confident, structured output (unlike random weights, whose probabilities sit near
    0.5 and make mask comparisons meaningless). See wds_edge_export.proxy_model. The weights
    are cached in pytest's cache folder, keyed by the crops and the training settings.
    """
    pytest.importorskip("torch", reason="training the proxy model needs torch")
    from wds_edge_export.proxy_model import train_texture_proxy

    return train_texture_proxy(
        [c for _, c in kiosk_crops_128[:6]],
        base_channels=8,
        steps=40,
        # -p no:cacheprovider (the full-suite command) has no cache: train it once per session
        cache_dir=pytestconfig.cache.mkdir("wds_proxy_model")
        if getattr(pytestconfig, "cache", None) is not None
        else tmp_path_factory.mktemp("wds_proxy_model"),
    )


@pytest.fixture
def untrained_model_gate(monkeypatch: pytest.MonkeyPatch) -> None:
    """Let the accuracy gate judge the untrained test models by their IoU alone.

    The committed fixture (``tests/fixtures/wds_b4_128_dyn.onnx``) and the models exported
    from an untrained ``WrinkleUNet`` output ~0.6 everywhere: they mark every pixel as a
    wrinkle, so the gate calls them "not gated"
    (:data:`wds_edge.runtime.gate.MAX_REFERENCE_WRINKLE_FRACTION`). Tests of what happens
    around a gate (records, engines, auto, reports) lift that upper bound, so the IoU bars
    decide as they do for a trained model; the bound itself is pinned in
    ``tests/wds_edge/runtime/test_gate.py`` and the quantize CLI tests.
    """
    monkeypatch.setattr("wds_edge.runtime.gate.MAX_REFERENCE_WRINKLE_FRACTION", 1.0)
