"""The demo's recordings on a disk that fills mid-run, a read-only folder or a name that is a
folder: an OutputError in one line (exit 2), never a raw OSError, no file moved into place
that does not play, no earlier recording replaced, no temporary left behind. Real ENOSPC
and EROFS come from small tmpfs mounts (``tiny_tmpfs``: root only, else skipped)."""

from __future__ import annotations

import errno
import glob
import hashlib
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from wds_edge.analysis.analyzer import AnalyzerConfig
from wds_edge.demo.app import DemoConfig, run_demo
from wds_edge.demo.outputs import DemoRecorder, count_video_frames
from wds_edge.errors import OutputError
from wds_edge.io import TEMP_PREFIX

REPO = Path(__file__).resolve().parents[3]


def _fill(folder: Path) -> None:
    """Take every free byte of ``folder``'s file system (a file of zeros, up to ENOSPC)."""
    fd = os.open(folder / "filler", os.O_WRONLY | os.O_CREAT)
    try:
        while True:
            os.write(fd, b"\0" * 65536)
    except OSError as exc:
        assert exc.errno == errno.ENOSPC
    try:
        while True:  # the last few bytes too
            os.write(fd, b"\0")
    except OSError:
        pass
    finally:
        os.close(fd)


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _temporaries(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(TEMP_PREFIX))


def _clip_frames(video_path: Path, n: int) -> list[np.ndarray]:
    cap = cv2.VideoCapture(str(video_path))
    frames = [cap.read()[1] for _ in range(n)]
    cap.release()
    return frames


def _older_recording(path: Path) -> str:
    """A small good recording already at ``path`` (a run's output must never replace it
    with a broken file); returns its sha256."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 10.0, (160, 120))
    for level in range(0, 250, 50):
        writer.write(np.full((120, 160, 3), level, np.uint8))
    writer.release()
    assert count_video_frames(path) == 5
    return _sha(path)


def _record(recorder: DemoRecorder, frames: list[np.ndarray], fill_at: int, folder: Path) -> None:
    """Write ``frames`` and close, filling the disk before frame ``fill_at`` (None: after the
    last frame, before close); a failure drops the outputs, as the demo's loop does."""
    try:
        for i, frame in enumerate(frames):
            if i == fill_at:
                _fill(folder)
            recorder.write(frame, {"frame": i, "pad": "x" * 400})
        if fill_at is None:
            _fill(folder)
        recorder.close()
    finally:
        recorder.close(keep=False)  # idempotent: nothing left to do after a close


@pytest.mark.parametrize("fill_at", [3, None], ids=["mid-run", "before-close"])
def test_a_recording_the_disk_cannot_hold_is_an_output_error_not_a_broken_file(
    fill_at: int | None, tmp_path: Path, tiny_tmpfs, video_path: Path
) -> None:
    """FFmpeg printed "Failed to write frame", the release could not write the index (moov
    atom not found), and the unplayable file replaced the older good recording; the summary
    said video_frames 25. The failed write (or the file that does not play) is caught, and
    the run's JSON lines (on another disk) are dropped with it."""
    tiny = tiny_tmpfs("tiny", "size=1300k")
    video, jsonl = tiny / "out.mp4", tmp_path / "out.jsonl"
    older = _older_recording(video)
    jsonl.write_text('{"frame": 0}\n')
    recorder = DemoRecorder(video, jsonl, fps=10.0)
    with pytest.raises(OutputError, match=f"cannot write the video to {video}: no space left"):
        _record(recorder, _clip_frames(video_path, 25), fill_at, tiny)
    assert _sha(video) == older  # the older recording is still there, unchanged
    assert sorted(p.name for p in tiny.iterdir()) == ["filler", "out.mp4"]
    assert jsonl.read_text() == '{"frame": 0}\n'
    assert _temporaries(tmp_path) == []


@pytest.mark.parametrize("fill_at", [3, None], ids=["mid-run", "before-close"])
def test_json_lines_the_disk_cannot_hold_are_an_output_error(
    fill_at: int | None, tiny_tmpfs
) -> None:
    """A raw OSError (Errno 28) came out of write() or close()'s flush, and the .wdstmp
    file stayed."""
    tiny = tiny_tmpfs("tiny", "size=256k")
    jsonl = tiny / "out.jsonl"
    jsonl.write_text('{"frame": 0}\n')
    frame = np.zeros((8, 8, 3), np.uint8)
    recorder = DemoRecorder(None, jsonl)
    frames = [frame] * (1000 if fill_at is not None else 3)  # 450 kB of lines: > the disk
    with pytest.raises(OutputError, match=f"cannot write the JSON lines to {jsonl}: no space"):
        _record(recorder, frames, fill_at, tiny)
    assert jsonl.read_text() == '{"frame": 0}\n'
    assert sorted(p.name for p in tiny.iterdir()) == ["filler", "out.jsonl"]


@pytest.mark.parametrize("output", ["record", "jsonl"])
def test_cli_a_disk_that_fills_mid_run_is_one_line_exit_2(
    output: str, tmp_path: Path, tiny_tmpfs, video_path: Path, landmarker_path: Path,
    onnx_model_fixed_batch: Path,
) -> None:  # fmt: skip
    """The real command, the disk filled once the temporary has grown (the reviewer's
    fill.py): --record ended with "wrote video" and exit 0 for a file that does not play;
    --jsonl with an OSError traceback (exit 1) and the temporary left."""
    tiny = tiny_tmpfs("tiny", "size=1300k")
    target = tiny / ("out.mp4" if output == "record" else "out.jsonl")
    older = _older_recording(target) if output == "record" else None
    summary = tmp_path / "s.json"
    trigger = 200_000 if output == "record" else 8_000
    cmd = [
        sys.executable, "-m", "wds_edge.cli", "demo", "--source", str(video_path),
        "--model", str(onnx_model_fixed_batch), "--landmarker", str(landmarker_path),
        "--backend", "onnxruntime", "--headless", "--sync", "--max-frames", "60",
        f"--{output}", str(target), "--summary-json", str(summary),
    ]  # fmt: skip
    filled = threading.Event()

    def fill_when_grown(proc: subprocess.Popen) -> None:
        while proc.poll() is None and not filled.is_set():
            for name in glob.glob(str(tiny / f"{TEMP_PREFIX}*")):
                with_size = os.path.getsize(name) if os.path.exists(name) else 0
                if with_size >= trigger:
                    _fill(tiny)
                    filled.set()
                    return
            time.sleep(0.02)

    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO
    )
    watcher = threading.Thread(target=fill_when_grown, args=(proc,))
    watcher.start()
    try:
        _out, err = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            proc.kill()
        watcher.join()
    assert filled.is_set(), "the temporary never grew to the trigger: " + err[-1500:]
    lines = [line for line in err.splitlines() if "WARN" not in line and "FFmpeg" not in line]
    what = "video" if output == "record" else "JSON lines"
    assert proc.returncode == 2, err[-2000:]
    assert "Traceback" not in err and "wrote video" not in err
    assert sum("error:" in line for line in lines) == 1
    assert f"error: cannot write the {what} to {target}: no space left" in " ".join(err.split())
    assert not summary.exists()
    assert _temporaries(tiny) == []
    if older is not None:
        assert _sha(target) == older
    else:
        assert not target.exists()


def _config(tmp_path: Path, video_path: Path, **outputs: object) -> DemoConfig:
    """A config whose model does not exist: an output refused first never gets to it."""
    return DemoConfig(
        source=str(video_path),
        analyzer=AnalyzerConfig(model_path=str(tmp_path / "missing.onnx"), backend="onnxruntime"),
        headless=True,
        **outputs,
    )


@pytest.mark.parametrize("field", ["jsonl_path", "record_path", "screenshot_path"])
def test_run_demo_refuses_a_read_only_output_before_the_model_loads(
    field: str, tmp_path: Path, tiny_tmpfs, video_path: Path
) -> None:
    """run_demo raised a raw OSError (EROFS) after the model had loaded (jsonl_path), or an
    OSError of the unlink of a temporary that was never made (record_path)."""
    read_only = tiny_tmpfs("ro", "size=64k,ro")
    name = {"jsonl_path": "o.jsonl", "record_path": "o.mp4", "screenshot_path": "s.png"}[field]
    with pytest.raises(OutputError, match="the file system is read-only") as refused:
        run_demo(_config(tmp_path, video_path, **{field: read_only / name}))
    assert f"to {read_only}: " in str(refused.value)  # the folder that cannot take it
    assert "missing.onnx" not in str(refused.value)


def test_run_demo_refuses_a_jsonl_path_that_is_a_folder_before_the_model_loads(
    tmp_path: Path, video_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An IsADirectoryError came after the whole run, and a .wdstmp file stayed in cwd."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "records").mkdir()
    with pytest.raises(OutputError, match="records: it is a folder"):
        run_demo(_config(tmp_path, video_path, jsonl_path=Path("records")))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["records"]
    assert list((tmp_path / "records").iterdir()) == []


def test_a_writer_that_cannot_open_on_a_read_only_folder_is_an_output_error(tiny_tmpfs) -> None:
    """The recorder's own check (a folder that turned read-only after the run's start): the
    unlink of the temporary that was never made raised EROFS over the OutputError."""
    read_only = tiny_tmpfs("ro", "size=64k,ro")
    recorder = DemoRecorder(read_only / "o.mp4", None, fps=10.0)
    with pytest.raises(OutputError, match="cannot write the video to"):
        recorder.write(np.zeros((120, 160, 3), np.uint8), {"frame": 0})
    assert recorder.close(keep=False) == {}


def test_json_lines_whose_name_became_a_folder_are_an_output_error_and_leave_nothing(
    tmp_path: Path,
) -> None:
    jsonl = tmp_path / "run.jsonl"
    recorder = DemoRecorder(None, jsonl)
    recorder.write(np.zeros((8, 8, 3), np.uint8), {"frame": 0})
    jsonl.mkdir()  # a folder took the name meanwhile
    with pytest.raises(OutputError, match=f"cannot write the JSON lines to {jsonl}: it is a"):
        recorder.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.jsonl"]
