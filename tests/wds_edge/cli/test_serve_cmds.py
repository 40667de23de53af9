"""`wds-edge serve`: refusals that happen before anything loads (the server itself:
tests/wds_edge/service and tests/sdk_examples/test_service_client.py)."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from wds_edge.cli import app
from wds_edge.errors import CaptureError, InvalidInputError

REPO_ROOT = Path(__file__).resolve().parents[3]


def test_remote_host_needs_allow_remote() -> None:
    result = CliRunner().invoke(app, ["serve", "--host", "0.0.0.0"])
    assert isinstance(result.exception, InvalidInputError)
    assert "--allow-remote" in str(result.exception)


def test_missing_camera_is_a_clear_error(onnx_model_path: Path, landmarker_path: Path) -> None:
    args = [
        "serve", "--source", str(REPO_ROOT / "no_such_clip.mp4"), "--model", str(onnx_model_path),
        "--landmarker", str(landmarker_path), "--backend", "onnxruntime", "--port", "0",
    ]  # fmt: skip
    result = CliRunner().invoke(app, args)
    assert isinstance(result.exception, CaptureError)
    assert "no_such_clip.mp4" in str(result.exception)


def serve(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "wds_edge.cli", "serve", *args],
        capture_output=True, text=True, timeout=120, cwd=REPO_ROOT,
    )  # fmt: skip


def test_busy_port_is_exit_2_before_the_model_loads() -> None:
    """The port is checked first: with a model that does not exist, the port is what the
    one-line error names (it was exit 3 after loading the model)."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        run = serve("--port", str(port), "--model", "no_such_model.onnx")
    assert run.returncode == 2, run.stderr
    err = " ".join(run.stderr.split())
    assert f"cannot listen on 127.0.0.1:{port}: it is in use" in err, err
    assert "choose another --port" in err and "--host" not in err, err
    assert "Traceback" not in run.stderr and "no_such_model" not in run.stderr


@pytest.mark.parametrize(
    ("host", "words"),
    [
        ("999.1.1.1", "999.1.1.1 is neither an address nor a name this machine can resolve"),
        ("no-such-host.invalid", "is neither an address nor a name this machine can resolve"),
        ("192.0.2.1", "192.0.2.1 is not an address of this machine"),  # TEST-NET-1
        ("2001:db8::1", "2001:db8::1 is not an address of this machine"),  # documentation
    ],
)
def test_a_bad_host_is_told_to_check_the_host_not_the_port(host: str, words: str) -> None:
    """Any bind error used to end in "stop the other program or choose another --port",
    also for an address that does not exist or is not this machine's."""
    args = ("--host", host, "--allow-remote", "--token", "zq7-secret", "--port", "0")
    run = serve(*args, "--model", "no_such_model.onnx")
    assert run.returncode == 2, run.stderr
    err = " ".join(run.stderr.split())
    where = f"[{host}]:0" if ":" in host else f"{host}:0"
    assert f"cannot listen on {where}: " in err and words in err, err
    assert "check --host" in err and "--port" not in err and "in use" not in err, err
    assert "Traceback" not in run.stderr and "no_such_model" not in run.stderr


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--token", ""], "would turn authentication off"),
        (["--source", ""], "the source is empty"),
        (["--host", "0.0.0.0", "--allow-remote"], "needs a --token"),
        (["--host", "0.0.0.0"], "--allow-remote"),
    ],
)
def test_unsafe_or_empty_options_are_refused(args: list[str], words: str) -> None:
    run = serve(*args, "--port", "0", "--model", "no_such_model.onnx")
    assert run.returncode == 2, run.stderr
    assert words in " ".join(run.stderr.split()) and "Traceback" not in run.stderr


@pytest.mark.parametrize("token", [" zq7-secret", "zq7-secret\n", "zq7-secret "])
def test_a_token_with_surrounding_whitespace_is_refused_unshown(token: str) -> None:
    """HTTP strips a header value's surrounding whitespace, so such a token (a trailing
    newline from a file) matched ?token= only: the page's capture and every client got 401.
    The refusal does not print the secret."""
    run = serve("--token", token, "--port", "0", "--model", "no_such_model.onnx")
    assert run.returncode == 2, run.stderr
    err = " ".join(run.stderr.split())
    assert "invalid --token (not shown): the token starts or ends with whitespace" in err, err
    assert "zq7" not in run.stderr and "Traceback" not in run.stderr


@pytest.mark.parametrize("token", ["zq7-sécret", "zq7-tök€n", "zq7\tsecret", "zq7\x7fsecret"])
def test_a_token_that_is_not_printable_ascii_is_refused_unshown(token: str) -> None:
    """A header is read as Latin-1 and the token was compared as UTF-8, so a non-ASCII
    token answered every header client 401 (and a browser's fetch cannot send one); a
    control character cannot be sent in a header at all. Refused before anything loads,
    saying what a token may hold, without printing it."""
    run = serve("--token", token, "--port", "0", "--model", "no_such_model.onnx")
    assert run.returncode == 2, run.stderr
    err = " ".join(run.stderr.split())
    assert "invalid --token (not shown): the token may hold only printable ASCII" in err, err
    assert "zq7" not in run.stderr and "Traceback" not in run.stderr


def test_help_names_the_endpoints() -> None:
    run = subprocess.run(
        [sys.executable, "-m", "wds_edge.cli", "serve", "--help"],
        capture_output=True, text=True, timeout=60, cwd=REPO_ROOT,
    )  # fmt: skip
    assert run.returncode == 0
    for word in ("/healthz", "/v1/analyze", "/v1/stream", "--allow-remote", "--token"):
        assert word in run.stdout
    assert "pip install '.[service]' in the wds-edge checkout" in " ".join(run.stdout.split())


@pytest.mark.parametrize("value", ["1.0", "0", "1.5"])
def test_threshold_range_is_open_as_in_its_help(value: str) -> None:
    """--threshold is in (0, 1), exclusive, like analyze and demo: the help says so and 1.0
    is refused by the option itself (its help said 0<=x<=1 while the service refused 1)."""
    run = serve("--threshold", value, "--port", "0", "--model", "no_such_model.onnx")
    assert run.returncode == 2, run.stderr
    err = " ".join(run.stderr.split())
    assert f"--threshold must be between 0 and 1, exclusive (got {float(value)})" in err, err
    assert "Traceback" not in run.stderr and "no_such_model" not in run.stderr
    output = CliRunner().invoke(app, ["serve", "--help"]).output
    help_text = " ".join(output.replace("│", " ").split())  # the help panel's frame out
    assert "0<=x<=1" not in help_text and "0.0<=x<=1.0" not in help_text
    assert "threshold in (0, 1), exclusive" in help_text


def test_device_reaches_the_backend(onnx_model_path: Path, landmarker_path: Path) -> None:
    """--device (as on analyze) goes through ServiceConfig to the analyzer: OpenVINO refuses a
    device this machine lacks in one line (exit 2) and runs on one it has; an empty one is
    refused before anything loads."""
    pytest.importorskip("openvino", reason="--device CPU / NOPE is checked on OpenVINO")
    from wds_edge.service.config import ServiceConfig
    from wds_edge.service.engine import ServiceEngine

    model = ["--model", str(onnx_model_path), "--landmarker", str(landmarker_path)]
    openvino = ["--backend", "openvino", "--precision", "fp32"]
    run = serve("--port", "0", *model, *openvino, "--device", "NOPE")
    assert run.returncode == 2, run.stderr
    err = " ".join(run.stderr.split())
    assert "OpenVINO has no device 'NOPE' here" in err and "Traceback" not in err

    run = serve("--port", "0", *model, "--device", " ")
    assert run.returncode == 2, run.stderr
    assert "the device is empty" in " ".join(run.stderr.split())

    config = ServiceConfig(
        port=0, model_path=onnx_model_path, landmarker_path=landmarker_path,
        backend="openvino", precision="fp32", device="CPU",
    )  # fmt: skip
    engine = ServiceEngine(config)
    try:
        assert "OpenVINO CPU FP32" in engine.analyzer.model_info["device"]
    finally:
        engine.close()
