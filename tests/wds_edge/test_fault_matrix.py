"""The kiosk's bad-input and fault matrix (issue 13): one row per case, each built from
real files at test time, each asserting the exit code, the message, and that nothing
was lost or half-written.

Commands run in-process through :func:`wds_edge.cli.main` (the console-script entry
point, with its error handler and exit-code policy: 0 done, 1 an input failed, 2 usage).
"""

from __future__ import annotations

import io
import json
import os
import shutil
import struct
import subprocess
import sys
import time
import zlib
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from wds_edge.cli import main
from wds_edge.io import TEMP_PREFIX, read_image, write_json_atomic

# -- helpers ------------------------------------------------------------------------------


def run_cli(capsys: pytest.CaptureFixture[str], *argv: object) -> tuple[int, str, str]:
    """Run ``wds-edge ARGV`` in-process; (exit code, stdout, stderr one-line-joined)."""
    try:
        main([str(a) for a in argv])
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0) if not isinstance(exc.code, str) else 2
    out, err = capsys.readouterr()
    return code, out, " ".join(err.split())


def leftovers(folder: Path) -> list[Path]:
    """Temporary / partial files anywhere under ``folder``."""
    return [p for p in folder.rglob("*") if p.name.startswith((TEMP_PREFIX, ".")) and p.is_file()]


def png_bomb(width: int, height: int) -> bytes:
    """A PNG whose header declares width x height RGB but whose IDAT holds a few bytes."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\0" * 4096))
        + chunk(b"IEND", b"")
    )


def exif_rotated_jpeg(image_bgr: np.ndarray) -> bytes:
    """The photo stored lying on its side with EXIF orientation 6 ("rotate 90 CW to view"),
    as a phone held upright writes it."""
    lying = cv2.rotate(image_bgr, cv2.ROTATE_90_COUNTERCLOCKWISE)
    pil = Image.fromarray(cv2.cvtColor(lying, cv2.COLOR_BGR2RGB))
    exif = pil.getexif()
    exif[0x0112] = 6
    buf = io.BytesIO()
    pil.save(buf, "JPEG", quality=92, exif=exif)
    return buf.getvalue()


@pytest.fixture(scope="module")
def portrait_bgr(faces_dir: Path) -> np.ndarray:
    """biden2.jpg cropped to a portrait (non-square), so a wrong rotation changes the shape."""
    image = read_image(faces_dir / "biden2.jpg")
    return np.ascontiguousarray(image[:, 150:-150])


@pytest.fixture
def tiny_tmpfs(tmp_path: Path):  # noqa: ANN201 - yields a mount factory
    """Mount small tmpfs file systems (read-only or full); skipped where mount is refused."""
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


# -- 1. one `analyze` batch holding every bad image: each file gets its own outcome ------


BATCH_ROWS: list[tuple[str, str, Callable[[dict], bool]]] = [
    # (file, what the JSON line must say, check)
    ("a_grey.png", "grey photo: asks for a colour camera, not 'ok'",
     lambda d: d["status"] == "needs_colour_camera" and d["colour"] == "grey"),
    ("b_bomb_40000x30000.png", "PNG bomb refused from its header",
     lambda d: d["status"] == "error" and "40000x30000 pixels is more than" in d["error"]),
    ("c_big_20000x15000.png", "oversized PNG refused from its header",
     lambda d: d["status"] == "error" and "20000x15000" in d["error"]),
    ("d_trailer.jpg", "JPEG with bytes after the end marker is analysed",
     lambda d: d["status"] == "ok" and d["colour"] == "colour"),
    ("e_exif6.jpg", "EXIF orientation 6 applied: upright, not 'turned_away'",
     lambda d: d["status"] == "ok"),
    ("f_truncated.jpg", "really truncated JPEG is refused as truncated",
     lambda d: d["status"] == "error" and "truncated" in d["error"]),
    ("g_not_an_image.png", "text file named .png",
     lambda d: d["status"] == "error" and "cannot decode" in d["error"]),
    ("h_last_good.jpg", "the batch went on to the last file",
     lambda d: d["status"] == "ok"),
]  # fmt: skip


@pytest.fixture(scope="module")
def batch_run(
    faces_dir: Path,
    portrait_bgr: np.ndarray,
    onnx_model_path: Path,
    landmarker_path: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> dict:
    folder = tmp_path_factory.mktemp("batch_in")
    jpeg = (faces_dir / "biden2.jpg").read_bytes()
    cv2.imwrite(str(folder / "a_grey.png"), cv2.cvtColor(portrait_bgr, cv2.COLOR_BGR2GRAY))
    (folder / "b_bomb_40000x30000.png").write_bytes(png_bomb(40000, 30000))
    (folder / "c_big_20000x15000.png").write_bytes(png_bomb(20000, 15000))
    (folder / "d_trailer.jpg").write_bytes(jpeg + b"MotionPhoto_Data" + os.urandom(20000))
    (folder / "e_exif6.jpg").write_bytes(exif_rotated_jpeg(portrait_bgr))
    (folder / "f_truncated.jpg").write_bytes(jpeg[: len(jpeg) * 2 // 3])
    (folder / "g_not_an_image.png").write_text("hello, not a picture\n")
    (folder / "h_last_good.jpg").write_bytes(jpeg)
    out = tmp_path_factory.mktemp("batch_out")
    args = ["analyze", folder, "--json", "--out", out, "--model", onnx_model_path,
            "--landmarker", landmarker_path, "--backend", "onnxruntime"]  # fmt: skip
    proc = subprocess.run(
        [sys.executable, "-m", "wds_edge.cli", *map(str, args)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    lines = {Path(d["input"]).name: d for d in map(json.loads, proc.stdout.splitlines())}
    return {"code": proc.returncode, "stderr": proc.stderr, "lines": lines, "out": out}


@pytest.mark.parametrize(("name", "why", "check"), BATCH_ROWS, ids=[r[0] for r in BATCH_ROWS])
def test_analyze_batch_row(batch_run: dict, name: str, why: str, check: Callable) -> None:
    assert batch_run["code"] == 1, batch_run["stderr"][-2000:]  # some inputs failed
    assert "Traceback" not in batch_run["stderr"]
    line = batch_run["lines"][name]
    assert check(line), (why, line)
    stem = Path(name).stem
    written = (batch_run["out"] / f"{stem}.json").exists()
    assert written == (line["status"] != "error")  # nothing written for a failed file
    assert not leftovers(batch_run["out"])


def test_exif_orientation_gives_the_upright_frame(batch_run: dict, portrait_bgr) -> None:
    assert batch_run["lines"]["e_exif6.jpg"]["frame_shape"] == list(portrait_bgr.shape[:2])


def test_header_size_check_costs_no_memory(tmp_path: Path) -> None:
    """The 20000 x 15000 PNG is refused before decoding: the process stays small."""
    path = tmp_path / "big.png"
    path.write_bytes(png_bomb(20000, 15000))
    code = (
        "import resource, sys\n"
        "from wds_edge.io import read_image\n"
        "from wds_edge.errors import InvalidInputError\n"
        "before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "try:\n    read_image(sys.argv[1])\nexcept InvalidInputError as e:\n    print(e)\n"
        "print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) // 1024)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code, str(path)], capture_output=True, text=True, timeout=60
    )
    message, grown_mb = proc.stdout.strip().splitlines()
    assert "is more than the 200,000,000 accepted" in message
    assert int(grown_mb) < 50, f"reading the header grew the process by {grown_mb} MB"


def test_rgb_array_with_explicit_colour_order_matches_bgr(analyzer, biden_bgr) -> None:
    rgb = np.ascontiguousarray(biden_bgr[:, :, ::-1])
    a = analyzer.analyze(biden_bgr)
    b = analyzer.analyze(rgb, colour_order="rgb")
    assert a.status.value == b.status.value == "ok"
    assert a.scores["overall"].wrinkle_px == b.scores["overall"].wrinkle_px
    grey3 = cv2.cvtColor(cv2.cvtColor(biden_bgr, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR)
    assert analyzer.analyze(grey3).status.value == "needs_colour_camera"
    with pytest.raises(ValueError, match="colour_order must be one of bgr, rgb"):
        analyzer.analyze(biden_bgr, colour_order="yuv")


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


def test_demo_on_a_video_truncated_while_read_exits_1(
    capsys, tmp_path: Path, video_path: Path, onnx_model_path, landmarker_path
) -> None:
    capture = cv2.VideoCapture(str(video_path))
    clip = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(clip), cv2.VideoWriter_fourcc(*"MJPG"), 30, (320, 180))
    for _ in range(40):
        ok, frame = capture.read()
        assert ok
        writer.write(cv2.resize(frame, (320, 180)))
    writer.release()
    capture.release()
    data = clip.read_bytes()
    clip.write_bytes(data[: len(data) // 2])  # the copy was cut off: the header says 40 frames
    jsonl = tmp_path / "frames.jsonl"
    code, _, err = run_cli(capsys, "demo", "--source", clip, "--headless", "--jsonl", jsonl,
                           "--model", onnx_model_path, "--landmarker", landmarker_path,
                           "--backend", "onnxruntime", "--sync")  # fmt: skip
    assert code == 1 and "the video ended early" in err and "of 40 frames" in err, err
    records = jsonl.read_text().splitlines()  # what was read is kept, complete
    assert 0 < len(records) < 40 and all(json.loads(r)["frame"] >= 0 for r in records)
    assert not leftovers(tmp_path)


def test_export_failing_parity_keeps_the_good_model(capsys, tmp_path: Path, faces_dir) -> None:
    torch = pytest.importorskip("torch")
    from train.checkpoint import save_checkpoint
    from train.model import WrinkleUNet

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
    from calibration.dataset import write_calibration_set
    from export.onnx_export import export_model
    from wds_edge.runtime.onnxruntime import OnnxRuntimeBackend

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
    code, out, err = run_cli(capsys, "calibrate", "--source", photos, "--out",
                             tmp_path / "calib", "--size", "64", "--count", "10",
                             "--landmarker", landmarker_path)  # fmt: skip
    assert code == 0, (out, err)
    assert "wrote 1 crops" in out and "2 too_blurry" in " ".join(out.split())


def test_eval_defaults_to_the_validation_split(capsys, tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    from train.checkpoint import save_checkpoint
    from train.model import WrinkleUNet

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
    assert "training images included" not in err
    code, out, err = run_cli(capsys, "eval", "--checkpoint", ckpt, "--data", data, "--json",
                             "--split", "all", "--device", "cpu")  # fmt: skip
    assert code == 0 and json.loads(out)["n_images"] == 5 and "training images" in err


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
