"""benchmarks/drive_summary.py groups, pairs and lists runs by each run's own configuration:
a later file's run of the same (dice, mode, augment, seed) replaced an earlier one whatever its
settings, paired differences joined runs of other configurations, and --by-config showed the
file-level settings instead of the run's."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from repo_scripts import load_script

from wds_edge.errors import InvalidInputError


def _summary():  # noqa: ANN202 - a module
    return load_script("benchmarks/drive_summary.py", register=True)


def _run(mode: str, seed: int, jsi: float, epochs: int, base: int = 16) -> dict:
    score = {"jsi": jsi, "accuracy": 0.9, "sensitivity": 0.8, "specificity": 0.95}
    config = {"base_channels": base, "crop_size": 256, "epochs": epochs, "batch_size": 4,
              "recipe": "project", "augment": "paper", "lr": 0.01, "seed": seed, "loss": mode,
              "out": f"runs/x/seed{seed}/{mode}", "device": "cpu"}  # fmt: skip
    return {"seed": seed, "mode": mode, "dice": "binary", "best_epoch": 5, "wall_s": 60.0,
            "augment": "paper", "recipe": "project", "pad_584": False, "best": score,
            "last": score, "config": config}  # fmt: skip


def _file(path: Path, runs: list[dict], epochs: int = 25) -> Path:
    settings = {"base_channels": 16, "crop_size": 256, "epochs": epochs, "batch_size": 4}
    path.write_text(json.dumps({"settings": settings, "augment": "paper", "runs": runs}))
    return path


def test_runs_of_other_epochs_are_neither_replaced_nor_paired(tmp_path: Path) -> None:
    summary = _summary()
    # one file (its settings say 25 epochs) holding wds at 25 and ds at 50 epochs, a second
    # file with wds at 50 epochs: same (dice, mode, augment, seed) as the first file's wds
    a = _file(tmp_path / "a.json", [_run("wds", 0, 0.60, 25), _run("ds", 0, 0.70, 50)])
    b = _file(tmp_path / "b.json", [_run("wds", 0, 0.65, 50)])
    out = summary.summarize([a, b])
    assert set(out["modes"]) == {
        "binary/wds [paper, epochs=25]", "binary/wds [paper, epochs=50]",
        "binary/ds [paper, epochs=50]",
    }  # fmt: skip
    assert out["modes"]["binary/wds [paper, epochs=25]"]["best"]["values"] == [0.60]
    assert out["modes"]["binary/wds [paper, epochs=50]"]["best"]["values"] == [0.65]
    # wds - ds only between the 50-epoch runs (the 25-epoch wds has no ds partner)
    assert list(out["paired"]) == ["binary/wds-ds [paper, epochs=50]"]
    assert out["paired"]["binary/wds-ds [paper, epochs=50]"]["best"]["values"] == [
        pytest.approx(-0.05)
    ]


def test_the_same_run_twice_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    summary = _summary()
    a = _file(tmp_path / "a.json", [_run("wds", 0, 0.60, 25)])
    b = _file(tmp_path / "b.json", [_run("wds", 0, 0.61, 25)])  # another run, same settings
    with pytest.raises(InvalidInputError, match="both hold seed 0 of binary/wds"):
        summary.summarize([a, b])
    with pytest.raises(SystemExit) as exc:
        summary.main([str(a), str(a)])
    assert exc.value.code == 2 and "both hold seed 0" in capsys.readouterr().err


def test_by_config_shows_each_runs_own_settings(tmp_path: Path) -> None:
    summary = _summary()
    # the file says base 16 / 25 epochs (its last invocation); this run had base 8, 50 epochs
    a = _file(tmp_path / "a.json", [_run("wds", 0, 0.60, 50, base=8)], epochs=25)
    (row,) = summary.config_rows([a])
    assert (row["base"], row["epochs"], row["crop"]) == (8, 50, 256)
    assert f"| {tmp_path.name} | 8 | 256 | 50 | no | paper |" in summary.config_markdown([row])


def test_runs_on_other_data_are_not_paired_and_say_why(tmp_path: Path) -> None:
    """A wds run trained on other images (another data.content_sha256) than the ds run of
    its seed was paired with it: data is not a setting (NOT_SETTINGS), so WDS - DS mixed
    two data sets."""

    def on(run: dict, masks: str) -> dict:
        run["config"]["data"] = {"path": f"/data/{masks}", "layout": "drive", "n_images": 6,
                                 "files_sha256": "f" * 64,
                                 "content_sha256": {"images": masks, "masks": masks}}  # fmt: skip
        return run

    a = _file(tmp_path / "a.json", [on(_run("ds", 0, 0.70, 25), "A"),
                                    on(_run("wds", 0, 0.72, 25), "A"),
                                    on(_run("ds", 1, 0.70, 25), "A")])  # fmt: skip
    b = _file(tmp_path / "b.json", [on(_run("wds", 1, 0.75, 25), "B")])
    summary = _summary().summarize([a, b])
    (pair,) = [v for k, v in summary["paired"].items() if "wds-ds" in k]
    assert pair["seeds"] == [0]  # seed 1's wds trained on other data: not paired
    (why,) = [line for line in summary["unpaired"] if "seed 1" in line]
    assert "binary/wds" in why and "data_content" in why and "other data" in why
    assert str(b) in why and str(a) in why
    assert any("data_content" in k for k in summary["modes"])  # the groups say it too
