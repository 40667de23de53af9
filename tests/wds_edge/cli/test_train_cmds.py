"""`wds-edge train` and `eval`: settings they refuse before any work (exit 2, --out not
created), on a small generic-layout folder written here."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from fault_helpers import run_cli

pytest.importorskip("torch")


def write_generic(root: Path, stems: list[str], size: int = 64) -> Path:
    """images/<stem>.png + masks/<stem>.png: grey noise with one dark line per image."""
    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    rng = np.random.default_rng(0)
    for stem in stems:
        image = rng.integers(100, 200, (size, size, 3), dtype=np.uint8)
        mask = np.zeros((size, size), np.uint8)
        y = int(rng.integers(5, size - 5))
        mask[y, 5 : size - 5] = 255
        image[mask > 0] = 40
        cv2.imwrite(str(root / "images" / f"{stem}.png"), image)
        cv2.imwrite(str(root / "masks" / f"{stem}.png"), mask)
    return root


@pytest.fixture()
def data(tmp_path: Path) -> Path:
    return write_generic(tmp_path / "data", [f"p{i}" for i in range(4)])


def _flat(err: str) -> str:
    """stderr without the frame click draws around usage errors."""
    return " ".join(err.replace("│", " ").split())


TINY = ("--base", "4", "--epochs", "1", "--crop-size", "32", "--val-count", "1")


@pytest.mark.parametrize(
    ("option", "value", "says"),
    [
        ("--mask-threshold", "255", "should be less than or equal to 254"),
        ("--mask-threshold", "-1", "should be greater than or equal to 0"),
        ("--lr", "nan", "lr must be a finite number > 0, got nan"),
        ("--lr", "inf", "lr must be a finite number > 0, got inf"),
        ("--weight-decay", "nan", "weight_decay must be a finite number >= 0"),
        ("--device", "GPU", "--device 'GPU' is not a device; use auto"),
        ("--device", "bogus", "cuda:N (the N-th GPU, from 0)"),
        # the U-Net's deepest layer would be 1x1: BatchNorm fails on a batch of one image
        ("--crop-size", "16", "too small for BatchNorm to train on; use --crop-size 32 or more"),
    ],
)
def test_train_refuses_bad_settings_before_writing(
    capsys, data: Path, tmp_path: Path, option: str, value: str, says: str
) -> None:  # noqa: ANN001
    out = tmp_path / "run"
    code, _, err = run_cli(capsys, "train", "--data", data, "--out", out, *TINY, option, value)
    assert code == 2, err
    assert says in _flat(err) and "Traceback" not in err
    assert not out.exists()


def test_train_takes_the_device_in_any_case(capsys, data: Path, tmp_path: Path) -> None:  # noqa: ANN001
    out = tmp_path / "run"
    code, _, err = run_cli(capsys, "train", "--data", data, "--out", out, *TINY, "--device", "CPU")
    assert code == 0, err
    assert (out / "best.pt").is_file()


@pytest.mark.parametrize(
    ("option", "value", "says"),
    [
        ("--mask-threshold", "300", "should be less than or equal to 254"),
        ("--device", "GPU", "--device 'GPU' is not a device"),
        ("--device", "cuda:x", "--device 'cuda:x' is not a device"),
    ],
)
def test_eval_refuses_bad_settings(
    capsys, data: Path, tmp_path: Path, option: str, value: str, says: str
) -> None:  # noqa: ANN001
    run = tmp_path / "run"
    code, _, err = run_cli(capsys, "train", "--data", data, "--out", run, *TINY, "--device", "cpu")
    assert code == 0, err
    code, _, err = run_cli(capsys, "eval", "--checkpoint", run / "best.pt", "--data", data,
                           "--json", option, value)  # fmt: skip
    assert code == 2, err
    assert says in _flat(err) and "Traceback" not in err
