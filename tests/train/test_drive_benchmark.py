"""The DRIVE benchmark helpers: 584 x 584 zero padding and the seed summary (no training)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from repo_scripts import load_script

from wds_edge_train.data import discover_samples, load_sample

REPO = Path(__file__).resolve().parents[2]


def _module(name: str):  # noqa: ANN202 - a module object
    return load_script(f"benchmarks/{name}.py", register=True)


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


def test_by_config_rows_are_differences_to_the_first_file(tmp_path: Path) -> None:
    summary_mod = _module("drive_summary")

    def result(jsi_best: float, jsi_last: float, base: int, epochs: int, pad: bool) -> dict:
        def score(jsi: float) -> dict:
            return {"jsi": jsi, "accuracy": 0.9, "sensitivity": 0.8, "specificity": 0.95}

        run = {"seed": 0, "mode": "wds", "dice": "binary", "best_epoch": 7, "wall_s": 120.0,
               "best": score(jsi_best), "last": score(jsi_last)}  # fmt: skip
        settings = {"base_channels": base, "crop_size": 256, "epochs": epochs, "batch_size": 4}
        return {"settings": settings, "pad_584": pad, "runs": [run]}

    ref, pad = tmp_path / "ref" / "results.json", tmp_path / "pad" / "results.json"
    for path, data in ((ref, result(0.60, 0.58, 16, 100, False)),
                       (pad, result(0.63, 0.57, 16, 100, True))):  # fmt: skip
        path.parent.mkdir()
        path.write_text(json.dumps(data))
    rows = summary_mod.config_rows([ref, pad])
    assert [r["pad_584"] for r in rows] == [False, True]
    assert rows[0]["delta"] == {"best": 0.0, "last": 0.0}
    assert rows[1]["delta"]["best"] == pytest.approx(0.03)
    assert rows[1]["delta"]["last"] == pytest.approx(-0.01)
    table = summary_mod.config_markdown(rows)
    # 120 s over 100 epochs = 1.2 s per epoch, 2.0 min; the reference row carries no difference
    assert "| ref | 16 | 256 | 100 | no | ? | binary/wds | 0 | 0.6000 | 0.5800 | - | - |" in table
    pad_row = (
        "| pad | 16 | 256 | 100 | yes | ? | binary/wds | 0 | 0.6300 (+0.0300) | 0.5700 (-0.0100)"
    )
    assert pad_row in table
    assert table.rstrip().endswith("| 7 | 2.0 | 1.2 |")


def test_runs_of_different_augmentation_are_never_pooled_or_paired(tmp_path: Path) -> None:
    summary_mod = _module("drive_summary")

    def run(mode: str, seed: int, jsi: float, augment: str | None) -> dict:
        score = {"jsi": jsi, "accuracy": 0.9, "sensitivity": 0.8, "specificity": 0.95}
        r = {"seed": seed, "mode": mode, "dice": "binary", "best_epoch": 5, "wall_s": 60.0,
             "best": score, "last": score}  # fmt: skip
        return r if augment is None else {**r, "augment": augment}

    paper, kiosk, old = tmp_path / "p.json", tmp_path / "k.json", tmp_path / "o.json"
    paper.write_text(
        json.dumps({"runs": [run("wds", 0, 0.70, "paper"), run("ds", 0, 0.60, "paper")]})
    )
    kiosk.write_text(
        json.dumps({"runs": [run("wds", 0, 0.50, "kiosk"), run("ds", 0, 0.65, "kiosk")]})
    )
    old.write_text(json.dumps({"runs": [run("wds", 1, 0.40, None)]}))
    out = summary_mod.summarize([paper, kiosk, old], {str(old): "paper"})
    assert out["modes"]["binary/wds [paper]"]["best"]["values"] == pytest.approx([0.70, 0.40])
    assert out["modes"]["binary/wds [kiosk]"]["best"]["values"] == pytest.approx([0.50])
    assert out["paired"]["binary/wds-ds [paper]"]["best"]["values"] == pytest.approx([0.10])
    assert out["paired"]["binary/wds-ds [kiosk]"]["best"]["values"] == pytest.approx([-0.15])
    rows = summary_mod.config_rows([paper, kiosk])
    assert [r["augment"] for r in rows] == ["paper", "paper", "kiosk", "kiosk"]
