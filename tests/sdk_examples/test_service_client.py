"""service_client.py against a real `wds-edge serve` process (the clip as its camera)."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("uvicorn", reason="needs the service extra")
pytest.importorskip("websockets", reason="needs the service extra")


@pytest.fixture()
def served(example_model: Path, example_env: dict, video_path: Path, tmp_path: Path):  # noqa: ANN201
    """`wds-edge serve` on a free port; stopped with SIGTERM, which must exit 0."""
    log = (tmp_path / "serve.log").open("w+")  # a file, not a pipe: a full pipe would block it
    proc = subprocess.Popen(
        [
            sys.executable, "-m", "wds_edge.cli", "-v", "serve", "--port", "0",
            "--model", str(example_model), "--backend", "onnxruntime", "--threads", "1",
            "--source", str(video_path),
        ],
        stdout=subprocess.PIPE, stderr=log, text=True, env=example_env,
    )  # fmt: skip
    try:
        deadline, line = time.monotonic() + 90, ""
        while time.monotonic() < deadline and "listening on" not in line:
            line = proc.stdout.readline()
            if not line and proc.poll() is not None:
                pytest.fail(f"wds-edge serve exited: {(tmp_path / 'serve.log').read_text()}")
        assert "listening on http://127.0.0.1:" in line
        yield proc, line.split("listening on ")[1].split()[0], tmp_path / "serve.log"
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=5)
            log.close()


def test_service_client(served, example_runner, example_env: dict, faces_dir: Path) -> None:  # noqa: ANN001
    proc, url, log = served
    photo = faces_dir / "biden2.jpg"
    run = example_runner(
        "service_client.py",
        [str(photo), "--url", url, "--seconds", "4", "--capture", "--expression", "raise_brows"],
        example_env,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    lines = run.stdout.splitlines()
    assert lines[0] == f"{photo}: ok (hold still)"
    assert any(line.strip().startswith("overall") and line.endswith("%") for line in lines)
    assert any(line.startswith("frame ") for line in lines)
    assert int(lines[-2].split()[1]) >= 1  # "stream: N results"
    assert lines[-1].startswith("capture 1 (raise_brows): ") and "good frames, overall" in lines[-1]
    assert lines[-1].endswith("(brows_not_raised)")  # the clip's face never raises its brows

    bad = example_runner("service_client.py", [__file__, "--url", url], example_env)
    assert bad.returncode == 1 and "error 400" in bad.stderr

    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 0  # clean shutdown: camera and model closed
    err = log.read_text()
    assert "service engine closed (camera and backend released)" in err
    assert "stopped: camera and model closed" in err
