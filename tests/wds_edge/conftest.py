"""Fixtures for the SDK tests: small real ONNX models exported from an untrained WrinkleUNet.

Untrained weights are enough for plumbing tests (shapes, metadata, timings, JSON);
the exporter is the real one (``export.export_model``), so the metadata contract is
the one kiosks meet.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from video_clips import write_clip

#: Input size of the test models: small, so the whole suite stays fast on 2 CPU cores.
TEST_MODEL_SIZE_PX = 256


#: The committed base-4, 128 px, dynamic-batch model (no torch needed).
_SMALL_ONNX = Path(__file__).resolve().parents[1] / "fixtures" / "wds_b4_128_dyn.onnx"


def _export(out_path: Path, batch: object) -> Path:
    torch = pytest.importorskip("torch", reason="exporting the test model needs torch")
    pytest.importorskip("onnx", reason="exporting the test model needs onnx")
    from wds_edge_export import export_model
    from wds_edge_train.model import WrinkleUNet

    torch.manual_seed(0)
    model = WrinkleUNet(base_channels=8)
    export_model(model, out_path, input_size_px=TEST_MODEL_SIZE_PX, batch=batch)
    return out_path


@pytest.fixture(scope="session")
def onnx_model_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A dynamic-batch base-8 model with 256 px input and full wds-edge metadata."""
    return _export(tmp_path_factory.mktemp("models") / "wds_b8_256_dyn.onnx", "dynamic")


@pytest.fixture(scope="session")
def onnx_model_fixed_batch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same network exported with a fixed batch of 1."""
    return _export(tmp_path_factory.mktemp("models") / "wds_b8_256_b1.onnx", 1)


@pytest.fixture(scope="session")
def biden_bgr(faces_dir: Path) -> np.ndarray:
    """The close-up face photo with visible wrinkles, uint8 BGR."""
    from wds_edge.io import read_image

    return read_image(faces_dir / "biden2.jpg")


def rewrite_metadata(src: Path, dst: Path, **changes: str | None) -> Path:
    """Copy an ONNX model, changing metadata_props entries (``None`` deletes one).

    ``drop_all=...`` in ``changes`` removes every entry.
    """
    import onnx

    proto = onnx.load(str(src))
    props = {p.key: p.value for p in proto.metadata_props}
    if "drop_all" in changes:
        props = {}
        changes.pop("drop_all")
    for key, value in changes.items():
        if value is None:
            props.pop(key, None)
        else:
            props[key] = value
    del proto.metadata_props[:]
    for key, value in props.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.save(proto, str(dst))
    return dst


@pytest.fixture(scope="session")
def metadata_rewriter():  # noqa: ANN201 - returns rewrite_metadata
    """:func:`rewrite_metadata` as a fixture (tests cannot import conftest modules)."""
    return rewrite_metadata


@pytest.fixture(scope="module")
def analyzer(onnx_model_path: Path, landmarker_path: Path):  # noqa: ANN201 - WrinkleAnalyzer
    """An IMAGE-mode analyzer on CPU ONNX Runtime with the test model (one per test module)."""
    from wds_edge.analysis.analyzer import WrinkleAnalyzer

    with WrinkleAnalyzer(
        model_path=str(onnx_model_path),
        landmarker_path=str(landmarker_path),
        backend="onnxruntime",
        num_threads=1,
    ) as instance:
        yield instance


@pytest.fixture(scope="module")
def biden_result(analyzer, biden_bgr: np.ndarray):  # noqa: ANN001, ANN201 - FrameResult
    """The full analysis of biden2.jpg."""
    return analyzer.analyze(biden_bgr)


#: Frames of the kiosk clip that :func:`rotated_clip` holds (a face in every one).
ROTATED_CLIP_FRAMES = 12


@pytest.fixture(scope="session")
def rotated_clip(video_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The kiosk clip's first frames turned 90 degrees clockwise with ``cv2.rotate`` and
    written as an mp4v MP4: what a camera lying on its side records (``rotate=270`` turns
    it back)."""
    import cv2

    cap = cv2.VideoCapture(str(video_path))
    frames = []
    while len(frames) < ROTATED_CLIP_FRAMES:
        ok, frame = cap.read()
        assert ok, f"{video_path} has fewer than {ROTATED_CLIP_FRAMES} frames"
        frames.append(cv2.rotate(frame, cv2.ROTATE_90_CLOCKWISE))
    cap.release()
    path = tmp_path_factory.mktemp("rotated") / "portrait_motion_rot90.mp4"
    return write_clip(path, frames, "mp4v")


@pytest.fixture
def tiny_tmpfs(tmp_path: Path):  # noqa: ANN201 - yields a mount factory
    """Mount small tmpfs file systems (read-only, full, or filled mid-run: real ENOSPC and
    EROFS); skipped where mount is refused (not root). Unmounted after the test."""
    mounts: list[Path] = []

    def make(name: str, options: str) -> Path:
        point = tmp_path / name
        point.mkdir()
        run = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(point)],
            capture_output=True, text=True,
        )  # fmt: skip
        if run.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here ({run.stderr.strip()}): needs root")
        mounts.append(point)
        return point

    yield make
    for point in mounts:
        subprocess.run(["umount", "-l", str(point)], capture_output=True)


@pytest.fixture
def xvfb_display() -> object:
    """A real virtual X display (Xvfb on a free display number, no TCP) for as long as the
    test runs: its DISPLAY value, e.g. ``":5"``."""
    if shutil.which("Xvfb") is None:
        pytest.skip("needs Xvfb (apt-get install xvfb)")
    read_fd, write_fd = os.pipe()
    xvfb = subprocess.Popen(
        ["Xvfb", "-displayfd", str(write_fd), "-nolisten", "tcp", "-screen", "0", "320x240x24"],
        pass_fds=(write_fd,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    os.close(write_fd)
    try:
        with os.fdopen(read_fd) as chosen:  # Xvfb writes the number once it listens
            number = chosen.readline().strip()
        if not number:
            pytest.fail("Xvfb did not start (no display number on -displayfd)")
        yield f":{number}"
    finally:
        xvfb.terminate()
        xvfb.wait(timeout=10)


@pytest.fixture(scope="session")
def qdq_onnx(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The small model quantized to Q/DQ INT8 (ONNX Runtime route, synthetic crops), as
    ``quantize_qdq`` writes it: no gate record (the API call gates nothing)."""
    from wds_edge.runtime.probe_inputs import synthetic_skin_crops
    from wds_edge_calibration.dataset import write_calibration_set
    from wds_edge_calibration.qdq import quantize_qdq

    tmp = tmp_path_factory.mktemp("qdq")
    calib = write_calibration_set(
        synthetic_skin_crops(128, 2), tmp / "calib", source="synthetic", size_px=128,
        preprocessing_path="synthetic",
    )  # fmt: skip
    return quantize_qdq(_SMALL_ONNX, calib, tmp / "m_int8.onnx", use_modelopt=False)
