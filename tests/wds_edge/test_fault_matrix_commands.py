"""The kiosk's bad-input and fault matrix (issue 13), part 2: command faults. One row per case,
each built from real files at test time, each asserting the exit code, the message, and
that nothing was lost or half-written.

Commands run in-process through :func:`wds_edge.cli.main` (the console-script entry
point, with its error handler and exit-code policy: 0 done, 1 an input failed, 2 usage).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
from fault_helpers import leftovers, run_cli, truncated_avi

from wds_edge.io import TEMP_PREFIX, write_json_atomic

# -- 2. command faults: exit code, one-line message, nothing lost --------------------------


def _outputs_under_a_file(tmp: Path, models: dict[str, Path]) -> dict[str, list[object]]:
    blocker = tmp / "a_file"
    blocker.write_text("I am a file\n")
    bad = blocker / "sub"
    m, lm, video = models["model"], models["landmarker"], models["video"]
    return {
        "analyze": ["analyze", models["photo"], "--out", bad, "--model", m, "--landmarker", lm],
        "label": ["label", "--images", models["photos"], "--auto", "--out", bad],
        "frames": ["frames", video, "--out", bad, "--every", "100"],
        "calibrate": ["calibrate", "--source", models["photos"], "--out", bad / "calib"],
        "demo": ["demo", "--source", video, "--headless", "--jsonl", bad / "x.jsonl"],
        "train": ["train", "--data", models["photos"], "--out", bad],
        "export": ["export", "--checkpoint", tmp / "none.pt", "--out", bad / "m.onnx"],
    }


@pytest.mark.parametrize(
    "command", ["analyze", "label", "frames", "calibrate", "demo", "train", "export"]
)
def test_output_under_a_file_fails_first_in_one_line(
    command: str, capsys, tmp_path: Path, onnx_model_path, landmarker_path, faces_dir, video_path
) -> None:
    photos = tmp_path / "photos"
    photos.mkdir()
    shutil.copy(faces_dir / "biden2.jpg", photos / "biden2.jpg")
    models = {"model": onnx_model_path, "landmarker": landmarker_path, "video": video_path,
              "photo": photos / "biden2.jpg", "photos": photos}  # fmt: skip
    argv = _outputs_under_a_file(tmp_path, models)[command]
    start = time.perf_counter()
    code, out, err = run_cli(capsys, *argv)
    assert code == 2, (out, err)
    assert "a part of the path is a file, not a folder" in err and "a_file" in err, err
    assert "Traceback" not in err and err.count("error:") == 1
    assert time.perf_counter() - start < 20.0  # refused before the work, not after it
    assert (tmp_path / "a_file").read_text() == "I am a file\n"


def test_read_only_and_full_output_folders(capsys, tmp_path: Path, tiny_tmpfs, faces_dir) -> None:
    read_only = tiny_tmpfs("ro", "size=1m,ro")
    full = tiny_tmpfs("full", "size=64k")
    with pytest.raises(OSError):
        (full / "filler").write_bytes(os.urandom(1 << 20))  # fill it up
    for folder, reason in ((read_only, "read-only"), (full, "no space left")):
        code, _, err = run_cli(capsys, "analyze", faces_dir / "biden2.jpg", "--out", folder / "r")
        assert code == 2 and reason in err and str(folder / "r") in err, err
        code, _, err = run_cli(capsys, "frames", faces_dir / "x.mp4", "--out", folder)
        assert code == 2 and reason in err, err


def test_analyze_folder_without_images_is_an_input_failure(
    capsys, tmp_path: Path, onnx_model_path, landmarker_path
) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "notes.txt").write_text("no photos here\n")
    code, out, err = run_cli(capsys, "analyze", empty, "--json", "--model", onnx_model_path,
                             "--landmarker", landmarker_path)  # fmt: skip
    assert code == 1, err
    (line,) = [json.loads(t) for t in out.splitlines()]
    assert line["status"] == "error" and "holds no image files" in line["error"]
    assert "1 of 1 inputs could not be analysed" in err


def test_demo_threshold_zero_is_refused_in_our_words(capsys, video_path: Path) -> None:
    code, out, err = run_cli(capsys, "demo", "--source", video_path, "--threshold", "0",
                             "--headless", "--jsonl", "x.jsonl")  # fmt: skip
    assert code == 2
    assert "--threshold must be between 0 and 1, exclusive (got 0.0)" in err
    assert "pydantic" not in (out + err).lower() and "http" not in err
    from wds_edge.analysis.analyzer import WrinkleAnalyzer

    with pytest.raises(ValueError) as info:
        WrinkleAnalyzer(threshold=0.0)
    text = str(info.value)
    assert text == "invalid analyzer settings: threshold = 0.0: must be greater than 0"


@pytest.mark.parametrize("pace", ["--no-realtime", "--realtime"])
def test_demo_on_a_video_truncated_while_read_exits_1(
    capsys, tmp_path: Path, video_path: Path, onnx_model_path, landmarker_path, pace: str
) -> None:
    """Every frame in order, or played like a camera (the threaded grabber): either way a
    copy cut off half-way (the header says 40 frames) is reported and exits 1."""
    clip = truncated_avi(video_path, tmp_path / "clip.avi", frames=40)
    jsonl = tmp_path / "frames.jsonl"
    code, _, err = run_cli(capsys, "demo", "--source", clip, "--headless", "--jsonl", jsonl,
                           "--model", onnx_model_path, "--landmarker", landmarker_path,
                           "--backend", "onnxruntime", "--sync", pace)  # fmt: skip
    assert code == 1 and "the video ended early" in err and "of 40 frames" in err, err
    records = jsonl.read_text().splitlines()  # what was read is kept, complete
    assert 0 < len(records) < 40 and all(json.loads(r)["frame"] >= 0 for r in records)
    assert not leftovers(tmp_path)


def test_export_failing_parity_keeps_the_good_model(capsys, tmp_path: Path, faces_dir) -> None:
    torch = pytest.importorskip("torch")
    from wds_edge_train.checkpoint import save_checkpoint
    from wds_edge_train.model import WrinkleUNet

    torch.manual_seed(0)
    ckpt = save_checkpoint(
        tmp_path / "c.pt", model=WrinkleUNet(base_channels=8), config={"base_channels": 8},
        metrics={}, epoch=1,
    )  # fmt: skip
    good = tmp_path / "model.onnx"
    good.write_bytes(b"the good model the kiosk runs today")
    photos = tmp_path / "photos"
    photos.mkdir()
    shutil.copy(faces_dir / "biden2.jpg", photos / "biden2.jpg")
    code, _, err = run_cli(capsys, "export", "--checkpoint", ckpt, "--out", good, "--size", "64",
                           "--parity-images", photos, "--landmarker", tmp_path / "missing.task",
                           "--no-simplify")  # fmt: skip
    assert code == 2 and "missing.task" in err, err
    assert good.read_bytes() == b"the good model the kiosk runs today"
    assert not leftovers(tmp_path)


def test_quantize_replaces_the_model_only_when_the_new_one_is_done(
    capsys, tmp_path: Path, proxy_model, kiosk_crops_128
) -> None:
    pytest.importorskip("onnx")
    from wds_edge.runtime.onnxruntime import OnnxRuntimeBackend
    from wds_edge_calibration.dataset import write_calibration_set
    from wds_edge_export.onnx_export import export_model

    fp32 = tmp_path / "m.onnx"
    export_model(proxy_model, fp32, input_size_px=128)
    crops = [c for _, c in kiosk_crops_128[:4]]
    good = write_calibration_set(crops, tmp_path / "calib", source="faces", size_px=128,
                                 preprocessing_path="kiosk")  # fmt: skip
    small = [c[:64, :64].copy() for c in crops[:2]]
    wrong = write_calibration_set(small, tmp_path / "c64", source="faces", size_px=64,
                                  preprocessing_path="kiosk")  # fmt: skip
    out = tmp_path / "deployed.int8.onnx"
    out.write_bytes(b"the INT8 model the kiosk runs today")
    code, _, err = run_cli(capsys, "quantize", "--onnx", fp32, "--calib", wrong.path, "--out", out)
    assert code == 2 and "--size 128" in err, err
    assert out.read_bytes() == b"the INT8 model the kiosk runs today"
    code, _, err = run_cli(capsys, "quantize", "--onnx", fp32, "--calib", good.path, "--out", out,
                           "--no-gate")  # fmt: skip
    assert code == 0, err
    with OnnxRuntimeBackend(out, providers=["CPUExecutionProvider"]) as backend:
        assert backend.metadata.input_size_hw == (128, 128)
    assert not leftovers(tmp_path)


def test_frames_then_label_then_calibrate_skip_blurred_and_faceless_frames(
    capsys, tmp_path: Path, video_path: Path, landmarker_path: Path
) -> None:
    photos = tmp_path / "photos"
    # frame 60 sharp; 185 and 200 blurred (frames 180-209); 215 and 230 without a face
    for start, stop, every in ((60, 61, 1), (185, 240, 15)):
        code, out, err = run_cli(capsys, "frames", video_path, "--out", tmp_path / f"f{start}",
                                 "--start", start, "--stop", stop, "--every", every,
                                 "--format", "jpg")  # fmt: skip
        assert code == 0, (out, err)
        for frame in (tmp_path / f"f{start}").iterdir():
            photos.mkdir(exist_ok=True)
            frame.rename(photos / frame.name)
    assert len(list(photos.iterdir())) == 5
    code, out, err = run_cli(capsys, "label", "--images", photos, "--auto", "--out",
                             tmp_path / "labels", "--crop-size", "256",
                             "--landmarker", landmarker_path)  # fmt: skip
    assert code == 0, (out, err)  # skipped on purpose is not a failure (set -e scripts)
    doc = json.loads((tmp_path / "labels" / "labels.json").read_text())
    status = {i["stem"][-3:]: (i["status"], i["stats"].get("quality_status")) for i in doc["items"]}
    assert status["060"] == ("ok", None)
    assert status["185"] == status["200"] == ("skipped", "too_blurry")
    assert status["215"] == status["230"] == ("skipped", "no_face")
    assert sorted(p.stem[-3:] for p in (tmp_path / "labels" / "masks").iterdir()) == ["060"]
    # the gates measure the crop at the model's size, as the analyzer does: a 64 px crop,
    # enlarged to the 256 px sharpness measure, would not show the blur
    code, out, err = run_cli(capsys, "calibrate", "--source", photos, "--out",
                             tmp_path / "calib", "--size", "256", "--count", "10",
                             "--landmarker", landmarker_path)  # fmt: skip
    assert code == 0, (out, err)
    assert "wrote 1 crops" in out and "2 too_blurry" in " ".join(out.split())


def test_eval_defaults_to_the_validation_split(capsys, tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    from wds_edge_train.checkpoint import save_checkpoint
    from wds_edge_train.model import WrinkleUNet

    data = tmp_path / "data"
    rng = np.random.default_rng(0)
    for sub in ("images", "masks"):
        (data / sub).mkdir(parents=True)
    stems = [f"s{i}" for i in range(5)]
    for stem in stems:
        cv2.imwrite(
            str(data / "images" / f"{stem}.png"), rng.integers(0, 255, (32, 32, 3), np.uint8)
        )
        cv2.imwrite(
            str(data / "masks" / f"{stem}.png"), (rng.random((32, 32)) > 0.9).astype(np.uint8) * 255
        )
    torch.manual_seed(0)
    splits = {"train": stems[:3], "val": stems[3:], "test": []}
    ckpt = save_checkpoint(tmp_path / "best.pt", model=WrinkleUNet(base_channels=8),
                           config={"base_channels": 8}, metrics={}, epoch=1,
                           extra={"splits": splits})  # fmt: skip
    code, out, err = run_cli(capsys, "eval", "--checkpoint", ckpt, "--data", data, "--json",
                             "--device", "cpu")  # fmt: skip
    assert code == 0, err
    result = json.loads(out)
    assert result["split"] == "val" and sorted(result["images"]) == ["s3", "s4"]
    assert "optimistic" not in err
    code, out, err = run_cli(capsys, "eval", "--checkpoint", ckpt, "--data", data, "--json",
                             "--split", "all", "--device", "cpu")  # fmt: skip
    assert code == 0 and json.loads(out)["n_images"] == 5
    assert json.loads(out)["trained_on"] == ["s0", "s1", "s2"]
    assert "3 of them are the run's training images (s0, s1, s2)" in err and "optimistic" in err
    # held-out images (in no split of the run): every image is scored, nothing to warn about
    held_out = tmp_path / "held_out"
    for sub in ("images", "masks"):
        (held_out / sub).mkdir(parents=True)
        shutil.copy(data / sub / "s0.png", held_out / sub / "h0.png")
    code, out, err = run_cli(capsys, "eval", "--checkpoint", ckpt, "--data", held_out, "--json",
                             "--split", "all", "--device", "cpu")  # fmt: skip
    assert code == 0 and json.loads(out)["trained_on"] == [] and "optimistic" not in err


def test_kill_9_during_an_atomic_write_leaves_nothing_after_the_next_run(tmp_path: Path) -> None:
    target = tmp_path / "last.pt"
    writer = (
        "import sys, time\n"
        "from wds_edge.io import atomic_write\n"
        "with atomic_write(sys.argv[1]) as f:\n"
        "    f.write(b'x' * 100000); f.flush(); print('writing', flush=True); time.sleep(60)\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", writer, str(target)], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "writing"
    proc.kill()  # SIGKILL: no cleanup runs
    proc.wait(timeout=30)
    (orphan,) = [p for p in tmp_path.iterdir() if p.name.startswith(TEMP_PREFIX)]
    assert f"{TEMP_PREFIX}{proc.pid}-last.pt-" in orphan.name and not target.exists()
    old = time.time() - 120
    os.utime(orphan, (old, old))  # a minute later: the next run finds it
    live = tmp_path / f"{TEMP_PREFIX}{os.getpid()}-other.json-abc.tmp"
    live.write_bytes(b"being written by a live process")
    os.utime(live, (old, old))
    write_json_atomic(tmp_path / "metrics.json", {"epoch": 1})
    assert not orphan.exists() and live.exists()  # only the dead writer's file goes
    assert json.loads((tmp_path / "metrics.json").read_text()) == {"epoch": 1}


@pytest.mark.parametrize("opt_out", [True, False])
def test_setup_says_before_it_runs_apt_and_can_be_told_not_to(
    tmp_path: Path, opt_out: bool
) -> None:
    """scripts/setup.sh dev -> scripts/display_deps.sh, as root on a machine without Xvfb.

    apt-get is replaced by a recorder (a test must not install system packages); PATH
    holds nothing else but ``id`` and ``sleep``, so Xvfb and xdotool are missing.
    """
    if os.geteuid() != 0:
        pytest.skip("the apt path is only taken as root")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("id", "sleep"):
        (bin_dir / tool).symlink_to(shutil.which(tool))
    calls = tmp_path / "apt_calls.txt"
    (bin_dir / "apt-get").write_text(f'#!/bin/sh\necho "$*" >> {calls}\n')
    (bin_dir / "apt-get").chmod(0o755)
    env = {"PATH": str(bin_dir), "WDS_EDGE_APT_DELAY_S": "0"}
    if opt_out:
        env["WDS_EDGE_NO_APT"] = "1"
    script = Path(__file__).resolve().parents[2] / "scripts" / "display_deps.sh"
    run = subprocess.run([shutil.which("bash"), str(script)], env=env, capture_output=True,
                         text=True, timeout=30)  # fmt: skip
    assert run.returncode == 0, run.stderr
    if opt_out:
        assert not calls.exists() and "display tests will be skipped" in run.stdout
    else:
        assert "installing the system packages xvfb and xdotool" in run.stdout
        assert "WDS_EDGE_NO_APT=1" in run.stdout
        assert calls.read_text().splitlines() == ["update -qq", "install -y -qq xvfb xdotool"]
