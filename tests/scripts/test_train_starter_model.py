"""``scripts/train_starter_model.sh`` end to end at one epoch: the one-command starter recipe
(issue 24's, not the bundled 1.0.0's) must keep working as the CLI changes (its held-out
evaluation once broke when ``eval`` began to default to the validation split, and nothing
noticed)."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "train_starter_model.sh"
BUNDLED = REPO / "wds_edge" / "model" / "weights" / "wds_unet_default.onnx"


def _run(work: Path, shared: Path, **env: str) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if k not in ("INSTALL", "FROM_STEP")}
    full_env = {
        **full_env, "WORK": str(work), "WDS_EDGE_SHARED": str(shared), "EPOCHS": "1",
        "BASE": "8", "PYTHON": sys.executable,
        "WDS_EDGE": f"{sys.executable} -m wds_edge.cli", "OMP_NUM_THREADS": "2", **env,
    }  # fmt: skip
    return subprocess.run(["bash", str(SCRIPT)], env=full_env, capture_output=True, text=True,
                          timeout=900, cwd=REPO)  # fmt: skip


@pytest.mark.slow
def test_one_epoch_recipe_labels_trains_evaluates_and_exports(
    tmp_path: Path, shared_dir: Path
) -> None:
    pytest.importorskip("torch")
    bundled_sha = hashlib.sha256(BUNDLED.read_bytes()).hexdigest()
    work = tmp_path / "starter"
    proc = _run(work, shared_dir)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    # the selection rule's held-out faces (docs/starter_model_selection_rule.md, issue 24) are
    # scored as held out: all eleven that pass the labeler's gates, none of them trained on
    lines = [ln for ln in (work / "heldout_eval.json").read_text().splitlines() if ln.strip()]
    held_out = json.loads(lines[-1])
    rule = ["B000740", "B001285", "B001301", "C001066", "C001131", "D000096", "H001072",
            "M001199", "S001218", "W000187", "Z000018"]  # fmt: skip
    assert held_out["split"] == "all" and held_out["trained_on"] == []
    assert set(held_out["images"]) <= set(rule) and held_out["n_images"] >= 8
    config = json.loads((work / "run" / "config.json").read_text())
    trained = set(json.loads((work / "run" / "folds.json").read_text())["train"])
    assert not trained & set(rule) and not any(s.startswith("ffhq") for s in trained)
    assert config["augment"] == "kiosk" and config["zone_weight"] == 1.0
    assert (work / "train_data" / "zones").is_dir()
    # the landmarks travel with the data (REGION_BALANCE=1 needs them); off by default
    assert (work / "train_data" / "landmarks").is_dir() and config["region_balance"] is False
    import onnx

    meta = {p.key: p.value for p in onnx.load(work / "wds_unet_default.onnx").metadata_props}
    assert meta["model_name"] == "wds-unet-starter" and meta["model_version"] == "2.0.0"
    # INSTALL=0 is the default: the bundled 1.0.0 is not replaced by this recipe's model
    assert hashlib.sha256(BUNDLED.read_bytes()).hexdigest() == bundled_sha
    assert "7/7 install skipped" in proc.stdout
    # a second run into the same folder is refused before it overwrites anything ...
    again = _run(work, shared_dir)
    assert again.returncode == 2 and "FROM_STEP=5" in again.stderr
    # ... and FROM_STEP=5 continues the finished run: evaluation and export only
    resumed = _run(work, shared_dir, FROM_STEP="5")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "(step 4 skipped: FROM_STEP=5)" in resumed.stdout and "5/7 evaluate" in resumed.stdout


def _fake_run(work: Path, *, finished: bool) -> None:
    """A run folder as the training loop leaves it: last.pt and best.pt after epoch 1, and
    metrics.json only once the last epoch ended."""
    (work / "run").mkdir(parents=True)
    for name in ("last.pt", "best.pt", "config.json"):
        (work / "run" / name).write_bytes(b"x")
    if finished:
        (work / "run" / "metrics.json").write_text("{}")


def test_an_interrupted_run_is_not_evaluated_exported_or_installed(
    tmp_path: Path, shared_dir: Path
) -> None:
    """FROM_STEP>=5 only looked for best.pt (there after epoch 1) and the guard advised
    FROM_STEP=5 for any last.pt: a run interrupted after 1 of 200 epochs could be
    evaluated, exported and installed as the bundled model."""
    bundled_sha = hashlib.sha256(BUNDLED.read_bytes()).hexdigest()
    work = tmp_path / "starter"
    _fake_run(work, finished=False)
    for step in ("5", "6", "7"):
        proc = _run(work, shared_dir, FROM_STEP=step, INSTALL="1")
        assert proc.returncode == 2, proc.stdout + proc.stderr
        assert "run/metrics.json" in proc.stderr and "FROM_STEP=4 resumes it" in proc.stderr
    again = _run(work, shared_dir)  # from step 1: the advice is to resume, not to evaluate
    assert again.returncode == 2 and "FROM_STEP=4 resumes it" in again.stderr
    assert "FROM_STEP=5" not in again.stderr
    assert hashlib.sha256(BUNDLED.read_bytes()).hexdigest() == bundled_sha
    # a finished run: step 5 on is allowed, a new training into it is refused
    finished = tmp_path / "finished"
    _fake_run(finished, finished=True)
    proc = _run(finished, shared_dir, FROM_STEP="4")
    assert proc.returncode == 2 and "FROM_STEP=5 to evaluate" in proc.stderr


def test_step_4_resumes_an_interrupted_run(tmp_path: Path, shared_dir: Path) -> None:
    """Step 4 passes --resume to 'wds-edge train' for an interrupted run (last.pt without
    metrics.json), and not for a new one. The CLI is a stand-in that records its arguments
    (the real resume is tests/train/test_loop.py's)."""
    record = tmp_path / "argv.jsonl"
    stand_in = tmp_path / "cli.py"
    stand_in.write_text(
        f"import json, sys\nopen({str(record)!r}, 'a').write(json.dumps(sys.argv[1:]) + '\\n')\n"
    )
    cli = f"{sys.executable} {stand_in}"
    work = tmp_path / "starter"
    _fake_run(work, finished=False)
    proc = _run(work, shared_dir, FROM_STEP="4", TO_STEP="4", WDS_EDGE=cli)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "resuming the interrupted run" in proc.stdout
    new = tmp_path / "new"
    assert _run(new, shared_dir, FROM_STEP="4", TO_STEP="4", WDS_EDGE=cli).returncode == 0
    resumed, fresh = (json.loads(line) for line in record.read_text().splitlines())
    assert resumed[:2] == ["train", "--resume"] and "--resume" not in fresh
