"""Region balance of the training loss (issue 24's follow-up): per-region weights by hand,
and on a face labelled by the real `label --auto` (MediaPipe, the real model)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from wds_edge.errors import DataError, InvalidInputError
from wds_edge.perception.regions import REGION_NAMES
from wds_edge_train.data import LoadedSample, discover_samples, load_sample
from wds_edge_train.dataset import MAX_REGION_WEIGHT, CropDataset, region_id_map, region_weights


def _sample_with_counts(counts: list[int]) -> tuple[LoadedSample, np.ndarray]:
    """A 1-row sample whose region k (1-based) holds ``counts[k-1]`` labelled pixels and as
    many unlabelled ones."""
    ids = np.concatenate([np.full(2 * c, k, np.uint8) for k, c in enumerate(counts, 1)])[None]
    mask = np.concatenate([np.r_[np.ones(c, bool), np.zeros(c, bool)] for c in counts])[None]
    image = np.zeros((*mask.shape, 3), np.uint8)
    return LoadedSample("s", image, mask, None), ids


def test_region_weights_by_hand() -> None:
    # Labelled pixels: forehead 100, glabella 10, the four others 50 -> mean 310 / 6.
    sample, ids = _sample_with_counts([100, 10, 50, 50, 50, 50])
    weights = region_weights([sample], [ids])
    assert list(weights) == list(REGION_NAMES)
    mean = 310 / 6
    assert weights["forehead"] == 1.0  # denser than the mean: not lowered
    assert weights["glabella"] == pytest.approx(mean / 10)
    assert weights["left_under_eye"] == pytest.approx(mean / 50)
    # A region without labels gets the cap while others have labels; nothing labelled: 1.
    sample, ids = _sample_with_counts([100, 0, 50, 50, 50, 50])
    assert region_weights([sample], [ids])["glabella"] == MAX_REGION_WEIGHT
    sample, ids = _sample_with_counts([0, 0, 0, 0, 0, 0])
    assert set(region_weights([sample], [ids]).values()) == {1.0}
    # The cap holds for a very sparse region.
    sample, ids = _sample_with_counts([1000, 1, 1000, 1000, 1000, 1000])
    assert region_weights([sample], [ids])["glabella"] == MAX_REGION_WEIGHT


@pytest.fixture(scope="module")
def labelled(tmp_path_factory: pytest.TempPathFactory, faces_dir: Path, landmarker_path: Path):  # noqa: ANN201
    """obama2 and biden2 through the real `label --auto` (v2): images, masks, zones, landmarks."""
    from wds_edge_train.labeling.runner import LabelOptions, label_folder

    root = tmp_path_factory.mktemp("labelled")
    (root / "photos").mkdir()
    for name in ("biden2.jpg", "obama2.jpg"):
        shutil.copy(faces_dir / name, root / "photos" / name)
    summary = label_folder(
        root / "photos", root / "data", auto=True,
        options=LabelOptions(landmarker_path=landmarker_path),
    )  # fmt: skip
    assert summary.n_ok == 2
    return root / "data"


def test_region_balance_weights_each_region_of_a_labelled_face(labelled: Path) -> None:
    _, samples = discover_samples(labelled)
    loaded = [load_sample(s) for s in samples]
    assert all(s.landmarks is not None and s.landmarks.shape == (478, 2) for s in loaded)
    dataset = CropDataset(loaded, 640, augment="none", seed=0, region_balance=True)
    weights = dataset.region_weights
    assert max(weights.values()) > 1.0 and min(weights.values()) == 1.0
    for index, sample in enumerate(loaded):
        ids = region_id_map(sample)
        for k, name in enumerate(REGION_NAMES, start=1):
            assert (ids == k).sum() > 500, (sample.stem, name)  # every region on the face
        _, _, fov = dataset[index]
        expected = np.ones(ids.shape, np.float32)
        for k, name in enumerate(REGION_NAMES, start=1):
            expected[ids == k] = weights[name]
        if sample.fov is not None:  # the skin mask of `label --auto`: nothing counts outside
            expected *= sample.fov
        np.testing.assert_allclose(fov[0].numpy(), expected, rtol=1e-6)
    # Geometric augmentation moves the weights with the pixels: only these values appear.
    warped = CropDataset(loaded, 320, augment="paper", seed=0, region_balance=True)
    allowed = {0.0, 1.0, *weights.values()}
    for epoch in range(3):
        warped.set_epoch(epoch)
        values = np.unique(warped[0][2].numpy())
        assert all(any(abs(v - a) < 1e-5 for a in allowed) for v in values)
    # Off: the skin mask and the zones' weight only (1 here), as before.
    _, _, plain = CropDataset(loaded, 640, augment="none", seed=0)[0]
    assert set(np.unique(plain.numpy()).tolist()) <= {0.0, 1.0}


def test_region_balance_needs_landmarks_and_landmarks_are_checked(labelled: Path) -> None:
    _, samples = discover_samples(labelled)
    sample = load_sample(samples[0])
    bare = LoadedSample(sample.stem, sample.image_rgb, sample.mask, sample.fov, sample.zones)
    with pytest.raises(InvalidInputError, match="needs the square face crops and landmarks"):
        CropDataset([bare], 320, region_balance=True)
    CropDataset([bare], 320)  # without region balance nothing needs them
    broken = labelled.parent / "broken"
    shutil.copytree(labelled, broken)
    path = broken / "landmarks" / f"{sample.stem}.json"
    path.write_text(json.dumps({"landmarks_crop_px": [[1.0, 2.0]] * 10}))
    _, again = discover_samples(broken)
    with pytest.raises(DataError, match="expected 468 or 478"):
        load_sample(next(s for s in again if s.stem == sample.stem))
    path.write_text("{not json")
    with pytest.raises(DataError, match="not a landmarks file"):
        load_sample(next(s for s in again if s.stem == sample.stem))


def test_train_cli_records_the_region_balance(labelled: Path, tmp_path: Path) -> None:
    """`wds-edge train --region-balance`: one real epoch; the weights and the setting are
    recorded with the run, and data without landmarks is refused with the reason."""
    from typer.testing import CliRunner

    from wds_edge.cli import app

    def train(data: Path, out: Path):  # noqa: ANN202
        return CliRunner().invoke(app, [
            "train", "--data", str(data), "--out", str(out), "--base", "8",
            "--crop-size", "128", "--batch-size", "1", "--val-count", "1", "--epochs", "1",
            "--device", "cpu", "--region-balance",
        ])  # fmt: skip

    result = train(labelled, tmp_path / "run")
    assert result.exit_code == 0, result.output
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["region_balance"] is True
    weights = json.loads((tmp_path / "run" / "region_weights.json").read_text())
    assert list(weights) == list(REGION_NAMES) and min(weights.values()) == 1.0
    bare = tmp_path / "bare"
    shutil.copytree(labelled, bare, ignore=shutil.ignore_patterns("landmarks"))
    result = train(bare, tmp_path / "run2")
    assert isinstance(result.exception, InvalidInputError)
    assert "needs the square face crops and landmarks" in str(result.exception)
    assert not (tmp_path / "run2").exists() or not any((tmp_path / "run2").iterdir())
