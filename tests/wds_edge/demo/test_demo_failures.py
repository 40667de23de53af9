"""The demo when an output fails: a recording OpenCV cannot open, a snapshot folder that cannot
be written, no display for the window, ``--headless`` with only a screenshot."""

from __future__ import annotations

import json
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
from fault_helpers import leftovers, run_cli

from wds_edge.analysis.analyzer import AnalyzerConfig, WrinkleAnalyzer
from wds_edge.demo.config import DemoConfig
from wds_edge.demo.loop import DemoLoop
from wds_edge.demo.outputs import DemoRecorder
from wds_edge.errors import InvalidInputError, OutputError


def _wide_folder(tmp_path: Path) -> Path:
    """A folder with one 8200 x 300 frame: wider than MPEG-4 (mp4v) can encode."""
    folder = tmp_path / "wide"
    folder.mkdir()
    cv2.imwrite(str(folder / "pano.jpg"), np.full((300, 8200, 3), 128, np.uint8))
    return folder


def _analyzer_config(model: Path, landmarker: Path) -> AnalyzerConfig:
    return AnalyzerConfig(
        model_path=str(model), landmarker_path=str(landmarker), backend="onnxruntime"
    )


def test_a_writer_that_cannot_open_raises_and_leaves_nothing(tmp_path: Path) -> None:
    video, jsonl = tmp_path / "wide.mp4", tmp_path / "wide.jsonl"
    recorder = DemoRecorder(video, jsonl, fps=10.0)
    with pytest.raises(OutputError, match="8200x300 frames"):
        recorder.write(np.zeros((300, 8200, 3), np.uint8), {"frame": 0})
    assert recorder.close(keep=False) == {}  # no FileNotFoundError for a video never begun
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_a_failed_recording_closes_everything_and_keeps_no_outputs(
    tmp_path: Path, landmarker_path: Path, onnx_model_fixed_batch: Path
) -> None:
    out = tmp_path / "out"
    config = DemoConfig(
        source=str(_wide_folder(tmp_path)),
        analyzer=_analyzer_config(onnx_model_fixed_batch, landmarker_path),
        headless=True,
        record_path=out / "wide.mp4",
        jsonl_path=out / "wide.jsonl",
        sync=True,
    )
    loop = DemoLoop(config)
    with pytest.raises(OutputError, match="cannot write the video to"):
        loop.run()
    # the error above is the run's own, not a FileNotFoundError of closing the recorder
    assert not list(out.iterdir())  # no .wdstmp-*.jsonl, no empty wide.jsonl
    with pytest.raises(InvalidInputError, match="closed"):
        loop.analyzer.backend  # noqa: B018 - the analyzer was closed
    assert loop.source._closed


def test_a_recorder_that_fails_to_close_still_lets_the_source_and_analyzer_close(
    tmp_path: Path, landmarker_path: Path, onnx_model_fixed_batch: Path, video_path: Path
) -> None:
    jsonl = tmp_path / "run.jsonl"
    config = DemoConfig(
        source=str(video_path),
        analyzer=_analyzer_config(onnx_model_fixed_batch, landmarker_path),
        headless=True,
        jsonl_path=jsonl,
        max_frames=2,
        sync=True,
    )
    loop = DemoLoop(config)
    jsonl.mkdir()  # the JSON lines cannot be moved into place: a folder took the name
    with pytest.raises(OutputError, match=f"cannot write the JSON lines to {jsonl}: it is a"):
        loop.run()  # not a raw IsADirectoryError
    with pytest.raises(InvalidInputError, match="closed"):
        loop.analyzer.backend  # noqa: B018 - closed after the recorder failed
    assert loop.source._closed
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.jsonl"]  # no .wdstmp-* left
    assert list(jsonl.iterdir()) == []


def test_an_interrupt_while_closing_still_closes_everything_then_goes_up(
    tmp_path: Path, landmarker_path: Path, onnx_model_fixed_batch: Path, video_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """A KeyboardInterrupt out of the first closing step (the pipeline's thread join) skipped
    every other one: close() caught only Exception, so the recordings stayed .wdstmp-* files
    and the source and the analyzer were never closed."""
    jsonl = tmp_path / "run.jsonl"
    config = DemoConfig(
        source=str(video_path), analyzer=_analyzer_config(onnx_model_fixed_batch, landmarker_path),
        headless=True, jsonl_path=jsonl, sync=True,
    )  # fmt: skip
    loop = DemoLoop(config)
    try:
        assert loop.step() and loop.step()
    except BaseException:
        loop.close(failed=True)
        raise
    close_pipeline = loop.pipeline.close

    def interrupted(*args: object, **kwargs: object) -> None:
        close_pipeline(*args, **kwargs)
        raise KeyboardInterrupt  # what a second Ctrl-C raised inside the join

    monkeypatch.setattr(loop.pipeline, "close", interrupted)
    with pytest.raises(KeyboardInterrupt):
        loop.close()
    assert [json.loads(line)["frame"] for line in jsonl.read_text().splitlines()] == [0, 1]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.jsonl"]  # no .wdstmp-*
    assert loop.source._closed
    with pytest.raises(InvalidInputError, match="closed"):
        loop.analyzer.backend  # noqa: B018 - closed after the interrupt


def test_cli_a_recording_that_cannot_be_written_is_one_line_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], landmarker_path: Path,
    onnx_model_fixed_batch: Path,
) -> None:  # fmt: skip
    out = tmp_path / "out"
    code, _out, err = run_cli(
        capsys, "demo", "--source", _wide_folder(tmp_path), "--model", onnx_model_fixed_batch,
        "--landmarker", landmarker_path, "--backend", "onnxruntime", "--headless", "--sync",
        "--record", out / "wide.mp4", "--jsonl", out / "wide.jsonl",
    )  # fmt: skip
    assert code == 2, err
    assert "error: cannot write the video to" in err and ".avi (MJPG)" in err
    assert "Traceback" not in err and "FileNotFoundError" not in err
    assert not leftovers(out) and not (out / "wide.jsonl").exists()


def test_a_snapshot_that_cannot_be_saved_is_a_warning_not_the_end_of_the_run(
    tmp_path: Path, landmarker_path: Path, onnx_model_fixed_batch: Path, video_path: Path,
    biden_bgr: np.ndarray,
) -> None:  # fmt: skip
    """The s key's handler (the window only calls it) with a --snapshot-dir that became a
    file: a warning in the summary and on the banner; the run goes on to its end."""
    blocked = tmp_path / "snaps"
    blocked.write_text("a file, not a folder")
    cfg = _analyzer_config(onnx_model_fixed_batch, landmarker_path)
    with WrinkleAnalyzer(cfg) as analyzer:
        shown = analyzer.analyze(biden_bgr)
    config = DemoConfig(
        source=str(video_path), analyzer=cfg, headless=True, max_frames=3, sync=True,
        snapshot_dir=blocked,
    )  # fmt: skip
    loop = DemoLoop(config)
    try:
        assert loop.snapshot(biden_bgr, biden_bgr.copy(), shown, {"frame": 0}) is False
        assert loop.summary.snapshots == []
        assert len(loop.summary.warnings) == 1
        assert loop.summary.warnings[0].startswith("snapshot not saved: cannot write")
        assert str(blocked) in loop.summary.warnings[0]
        # a writable folder again: the next s saves all three files
        loop.config.snapshot_dir = tmp_path / "good"
        assert loop.snapshot(biden_bgr, biden_bgr.copy(), shown, {"frame": 1}) is True
        saved = Path(loop.summary.snapshots[0])
        assert json.loads(saved.read_text())["record"] == {"frame": 1}
        assert len(list((tmp_path / "good").iterdir())) == 3
    except BaseException:
        loop.close(failed=True)
        raise
    summary = loop.run()
    assert summary.frames == 3 and len(summary.warnings) == 1
    # the notice replaced the prompt's banner: red text (the prompt is green or orange)
    canvas = loop.canvas
    assert canvas is not None
    bar = canvas[-60:].astype(int)
    red_text = (bar[..., 2] > 200) & (bar[..., 1] < 120) & (bar[..., 0] < 120)
    assert red_text.sum() > 50


def test_cli_an_unwritable_snapshot_dir_is_refused_before_the_model_loads(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
    video_path: Path, xvfb_display: str,
) -> None:  # fmt: skip
    monkeypatch.setenv("DISPLAY", xvfb_display)  # the window check passes; nothing opens before
    blocked = tmp_path / "notadir.txt"
    blocked.write_text("x")
    code, _out, err = run_cli(
        capsys, "demo", "--source", video_path, "--model", tmp_path / "missing.onnx",
        "--snapshot-dir", blocked,
    )  # fmt: skip
    assert code == 2, err
    assert f"cannot write the snapshots (--snapshot-dir) to {blocked}" in err
    assert "missing.onnx" not in err  # the folder was checked first


def test_cli_an_unused_default_snapshot_dir_is_not_left_behind(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
    video_path: Path, xvfb_display: str,
) -> None:  # fmt: skip
    monkeypatch.setenv("DISPLAY", xvfb_display)
    snaps = tmp_path / "snaps" / "inner"
    code, _out, _err = run_cli(
        capsys, "demo", "--source", video_path, "--model", tmp_path / "missing.onnx",
        "--snapshot-dir", snaps,
    )  # fmt: skip
    assert code == 2  # the missing model, after the folder was checked (and made)
    assert not (tmp_path / "snaps").exists()  # made for the check, removed again: empty


def test_cli_no_display_is_a_usage_error_before_anything_loads(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
    video_path: Path,
) -> None:  # fmt: skip
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    code, _out, err = run_cli(
        capsys, "demo", "--source", video_path, "--model", tmp_path / "missing.onnx",
        "--snapshot-dir", tmp_path / "snaps",
    )  # fmt: skip
    assert code == 2, err
    assert "--headless" in err and "missing.onnx" not in err
    assert not (tmp_path / "snaps").exists()


def test_cli_headless_with_only_a_screenshot_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], landmarker_path: Path,
    onnx_model_fixed_batch: Path, video_path: Path,
) -> None:  # fmt: skip
    shot = tmp_path / "s.png"
    code, _out, err = run_cli(
        capsys, "demo", "--source", video_path, "--model", onnx_model_fixed_batch,
        "--landmarker", landmarker_path, "--backend", "onnxruntime", "--headless", "--sync",
        "--screenshot", shot, "--screenshot-after", "2", "--max-frames", "2",
    )  # fmt: skip
    assert code == 0, err
    assert cv2.imread(str(shot)).shape == (720, 1280, 3)


def test_cli_headless_without_any_output_names_every_output(
    capsys: pytest.CaptureFixture[str], video_path: Path
) -> None:
    code, _out, err = run_cli(capsys, "demo", "--source", video_path, "--headless")
    assert code == 2
    assert "--headless shows nothing" in err
    assert all(o in err for o in ("--record", "--jsonl", "--screenshot", "--summary-json"))


def test_a_capture_whose_fusion_fails_ends_and_the_next_one_runs(
    landmarker_path: Path, onnx_model_fixed_batch: Path, video_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """Fusing a finished capture raised (a backend's transient failure): the capture used to
    stay running for ever ("hold still...", space / b refused) and the failure was not
    counted. It ends, is counted, warned about and shown in the banner; the next one runs."""
    from wds_edge.analysis.session import KioskSession, SessionConfig
    from wds_edge.demo.loop import CAPTURE_FAILED_NOTICE, NOTICE_SHOWN_S

    config = DemoConfig(
        source=str(video_path), analyzer=_analyzer_config(onnx_model_fixed_batch, landmarker_path),
        headless=True, max_frames=40, sync=True,
    )  # fmt: skip
    records: list[dict] = []
    loop = DemoLoop(config, on_frame=records.append)
    try:
        segment = loop.analyzer.segment
        failures = [RuntimeError("transient backend failure")]

        def flaky(image: object, located: object, **kwargs: object) -> object:
            if kwargs.get("score", True) and failures:  # the capture's fusion
                raise failures.pop()
            return segment(image, located, **kwargs)

        monkeypatch.setattr(loop.analyzer, "segment", flaky)
        capture = SessionConfig(frames_needed=3, frames_fused=1, max_frames=5)
        first = loop.session = KioskSession(loop.analyzer, capture)  # what space starts
        for _ in range(10):
            assert loop.step()
            if loop.session is None:
                break
        assert loop.session is None and first.done  # ended: space / b can start a new one
        assert not failures and loop.summary.errors == 1
        assert loop.summary.session_result is None
        [warning] = loop.summary.warnings
        assert "capture failed" in warning and "transient backend failure" in warning
        assert "press space" in warning
        assert records[-1]["error"].endswith("RuntimeError: transient backend failure")
        text, until = loop.notice  # type: ignore[misc]
        assert text == CAPTURE_FAILED_NOTICE
        assert 0 < until - time.monotonic() <= NOTICE_SHOWN_S
        second = loop.session = KioskSession(loop.analyzer, capture)
        for _ in range(10):
            assert loop.step()
            if loop.session is None:
                break
        assert loop.session is None and second.done
        assert loop.summary.session_result is not None
        assert loop.summary.session_result["frames_used"] == 1
        assert loop.summary.errors == 1 and len(loop.summary.warnings) == 1
    except BaseException:
        loop.close(failed=True)
        raise
    loop.close()


def test_cli_a_display_nobody_answers_is_a_usage_error_before_anything_loads(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
    video_path: Path, xvfb_display: str,
) -> None:  # fmt: skip
    """A stale DISPLAY (an SSH session that ended) made the first imshow abort the process
    (exit 134) after the model had loaded; now it is refused first, like no DISPLAY."""
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    number = int(xvfb_display[1:])
    for stale in (f":{number + 1000}", f"127.0.0.1:{number + 1000}.0"):
        monkeypatch.setenv("DISPLAY", stale)
        code, _out, err = run_cli(
            capsys, "demo", "--source", video_path, "--model", tmp_path / "missing.onnx"
        )
        assert code == 2, err
        assert f"no display answers at DISPLAY={stale}" in err and "--headless" in err
        assert "missing.onnx" not in err
    # the live display next to it passes the check (and the missing model is then reported)
    monkeypatch.setenv("DISPLAY", xvfb_display)
    code, _out, err = run_cli(
        capsys, "demo", "--source", video_path, "--model", tmp_path / "missing.onnx"
    )
    assert code == 2 and "missing.onnx" in err and "no display" not in err, err


def test_display_forms_are_read_as_libxcb_reads_them(
    monkeypatch: pytest.MonkeyPatch, xvfb_display: str
) -> None:
    """unix/HOST:N is the local socket whatever the host; HOST/unix:N names an unknown
    protocol, where xcb fails (the demo aborted with 134 after the check let it pass)."""
    from wds_edge.demo.ui import check_can_open_window

    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    number = xvfb_display[1:]
    for works in (xvfb_display, f"{xvfb_display}.0", f"unix:{number}", f"unix/:{number}",
                  f"unix/localhost:{number}"):  # fmt: skip
        monkeypatch.setenv("DISPLAY", works)
        check_can_open_window()
    for fails in (f"localhost/unix:{number}", f"tcp/:{number}"):  # no TCP: -nolisten tcp
        monkeypatch.setenv("DISPLAY", fails)
        with pytest.raises(InvalidInputError, match="no display answers"):
            check_can_open_window()


def test_a_wayland_display_alone_is_refused_when_qt_has_only_xcb(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The pip OpenCV's Qt ships only the xcb platform plugin: a live Wayland socket passed
    the check and the first window aborted the process (no Qt platform plugin)."""
    import socket

    from wds_edge.demo.ui import check_can_open_window, highgui_backend

    platforms = Path(cv2.__file__).parent / "qt" / "plugins" / "platforms"
    if not (highgui_backend() or "").upper().startswith("QT") or not platforms.is_dir():
        pytest.skip("needs an OpenCV wheel with its own Qt platform plugins")
    if any(p.name.startswith("libqwayland") for p in platforms.iterdir()):
        pytest.skip("this OpenCV's Qt can draw on Wayland")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(tmp_path / "wayland-9"))
    listener.listen(1)
    try:
        monkeypatch.delenv("DISPLAY", raising=False)
        monkeypatch.delenv("QT_QPA_PLATFORM_PLUGIN_PATH", raising=False)
        monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
        monkeypatch.setenv("WAYLAND_DISPLAY", "wayland-9")
        with pytest.raises(InvalidInputError, match="only a Wayland display is set"):
            check_can_open_window()
        monkeypatch.setenv("QT_QPA_PLATFORM_PLUGIN_PATH", str(tmp_path))  # one with wayland
        (tmp_path / "libqwayland-egl.so").write_bytes(b"")
        check_can_open_window()
    finally:
        listener.close()
