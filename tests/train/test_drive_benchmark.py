"""The DRIVE benchmark helpers: 584 x 584 zero padding and the seed summary (no training)."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import pytest

from train.data import discover_samples, load_sample

REPO = Path(__file__).resolve().parents[2]


def _module(name: str):  # noqa: ANN202 - a module object
    spec = importlib.util.spec_from_file_location(name, REPO / "benchmarks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def test_pad_584_is_zero_padding_with_fov_zero_outside(drive_dir: Path, tmp_path: Path) -> None:
    bench = _module("drive_ablation")
    src = tmp_path / "src"
    for sub, name in (("images", "21_training.tif"), ("1st_manual", "21_manual1.gif"),
                      ("mask", "21_training_mask.gif")):  # fmt: skip
        (src / sub).mkdir(parents=True)
        (src / sub / name).symlink_to(drive_dir / sub / name)
    out = bench.pad_drive_to_square(src, tmp_path / "pad")
    (orig,) = [load_sample(s) for s in discover_samples(src)[1]]
    (padded,) = [load_sample(s) for s in discover_samples(out)[1]]
    assert orig.mask.shape == (584, 565) and padded.mask.shape == (584, 584)
    # 19 columns: 9 on the left, 10 on the right, all zero; the image itself unchanged
    assert not padded.image_rgb[:, :9].any() and not padded.image_rgb[:, -10:].any()
    np.testing.assert_array_equal(padded.image_rgb[:, 9:-10], orig.image_rgb)
    np.testing.assert_array_equal(padded.mask[:, 9:-10], orig.mask)
    np.testing.assert_array_equal(padded.fov[:, 9:-10], orig.fov)
    assert not padded.fov[:, :9].any() and not padded.fov[:, -10:].any()


def test_summary_means_and_paired_differences(tmp_path: Path) -> None:
    summary_mod = _module("drive_summary")
    jsi = {("plain", 0): 0.60, ("ds", 0): 0.62, ("wds", 0): 0.65,
           ("plain", 1): 0.50, ("ds", 1): 0.55, ("wds", 1): 0.54}  # fmt: skip

    def run(mode: str, seed: int) -> dict:
        score = {"jsi": jsi[mode, seed], "accuracy": 0.9, "sensitivity": 0.8, "specificity": 0.95}
        return {"seed": seed, "mode": mode, "dice": "binary", "best_epoch": 5, "wall_s": 60.0,
                "best": score, "last": {**score, "jsi": jsi[mode, seed] - 0.01}}  # fmt: skip

    a = tmp_path / "a.json"
    b = tmp_path / "b.json"
    a.write_text(json.dumps({"runs": [run(m, s) for s in (0, 1) for m in ("plain", "wds")]}))
    b.write_text(json.dumps({"runs": [run("ds", s) for s in (0, 1)]}))
    out = summary_mod.summarize([a, b])
    wds = out["modes"]["binary/wds"]["best"]
    assert wds["mean"] == pytest.approx(0.595) and wds["std"] == pytest.approx(0.0777817, abs=1e-6)
    # per seed: wds - ds = +0.03, -0.01 -> mean +0.01, std sqrt(0.0008) = 0.028284
    pair = out["paired"]["binary/wds-ds"]["best"]
    assert pair["values"] == pytest.approx([0.03, -0.01])
    assert pair["mean"] == pytest.approx(0.01) and pair["std"] == pytest.approx(0.0282843, abs=1e-6)
    assert out["paired"]["binary/wds-plain"]["last"]["values"] == pytest.approx([0.05, 0.04])
    assert "| binary/wds-ds | 0,1 |" in summary_mod.markdown(out)
