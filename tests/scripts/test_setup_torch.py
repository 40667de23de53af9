"""scripts/setup.sh dev: which torch build it installs, without installing anything.

The script is sourced (its functions only) in bash; pip and the venv's python are
recorders, the GPU check answers as asked, and the PyTorch CPU index is a real local HTTP
server (reachable) or a closed loopback port (unreachable, as on a machine without the
internet). PyPI serves the CUDA build of torch on Linux x86-64 (gigabytes of nvidia-*
wheels): on a machine without a GPU the CPU build must come from the CPU index, and a CUDA
build that lands anyway is named in a warning.
"""

from __future__ import annotations

import functools
import http.server
import shlex
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SETUP = ROOT / "scripts" / "setup.sh"
BASH = shutil.which("bash")

pytestmark = pytest.mark.skipif(BASH is None, reason="needs bash")


def test_setup_script_parses() -> None:
    run = subprocess.run([BASH, "-n", str(SETUP)], capture_output=True, text=True, timeout=30)
    assert run.returncode == 0, run.stderr


@pytest.fixture()
def cpu_index(tmp_path: Path) -> Iterator[str]:
    """A real HTTP server with an index page at <url>/torch/ (what the probe asks for)."""
    root = tmp_path / "index"
    (root / "whl" / "cpu" / "torch").mkdir(parents=True)
    (root / "whl" / "cpu" / "torch" / "index.html").write_text("<a>torch-2.13.0+cpu</a>")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *a, **k: None  # type: ignore[attr-defined]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/whl/cpu"
    finally:
        server.shutdown()
        server.server_close()


def _closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/whl/cpu"  # nothing listens there now: refused


def _install_torch(
    tmp_path: Path, *, gpu: bool, cuda: str, env: dict[str, str]
) -> tuple[subprocess.CompletedProcess[str], list[str], float]:
    """Run setup.sh's install_torch; (the run, pip's arguments, seconds)."""
    calls = tmp_path / "pip_calls.txt"
    fake_pip = tmp_path / "fake_pip"
    fake_pip.write_text(f'#!/bin/sh\necho "$*" >> {shlex.quote(str(calls))}\n')
    fake_py = tmp_path / "fake_venv_python"  # what `import torch` reports as torch.version.cuda
    fake_py.write_text(f"#!/bin/sh\necho {shlex.quote(cuda)}\n")
    for script in (fake_pip, fake_py):
        script.chmod(0o755)
    script = (
        f"source {shlex.quote(str(SETUP))}\n"
        f"has_nvidia_gpu() {{ {'true' if gpu else 'false'}; }}\n"
        f"PIP=({shlex.quote(str(fake_pip))})\n"
        f"VENV_PY={shlex.quote(str(fake_py))}\n"
        "install_torch\n"
    )
    clean = {k: v for k, v in env.items() if v}
    base = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "PYTHON": shutil.which("python3")}
    started = time.monotonic()
    run = subprocess.run([BASH, "-c", script], capture_output=True, text=True, timeout=60,
                         env={**base, **clean}, cwd=tmp_path)  # fmt: skip
    seconds = time.monotonic() - started
    pip_args = calls.read_text().splitlines() if calls.exists() else []
    return run, pip_args, seconds


def test_no_gpu_and_the_cpu_index_answers_installs_the_cpu_build_from_it(
    tmp_path: Path, cpu_index: str
) -> None:
    run, pip, _ = _install_torch(tmp_path, gpu=False, cuda="",
                                 env={"WDS_EDGE_TORCH_CPU_INDEX": cpu_index})  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert pip == [f"torch==2.13.0 --index-url {cpu_index}"]
    assert f"installing the CPU build of torch==2.13.0 from {cpu_index}" in run.stdout
    assert "warning" not in run.stderr


@pytest.mark.parametrize("cuda", ["", "12.8"], ids=["cpu-wheel-found", "cuda-wheel-landed"])
def test_no_gpu_and_no_cpu_index_installs_from_the_configured_indexes_and_checks_the_build(
    tmp_path: Path, cuda: str
) -> None:
    """Offline (this machine: the CPU index does not resolve; pip's find-links holds the CPU
    wheel): torch from the configured indexes, quickly; a CUDA build that came from them is
    named, with how to get the CPU build (WDS_EDGE_TORCH_INDEX)."""
    unreachable = _closed_port_url()
    run, pip, seconds = _install_torch(tmp_path, gpu=False, cuda=cuda,
                                       env={"WDS_EDGE_TORCH_CPU_INDEX": unreachable})  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert pip == ["torch==2.13.0"]  # no --index-url: pip's own configuration
    out = " ".join(run.stdout.split())
    assert f"the PyTorch CPU index ({unreachable}) cannot be reached" in out
    assert seconds < 15  # the probe gives up within its 5 s
    err = " ".join(run.stderr.split())
    if cuda:
        assert "warning: the torch installed is a CUDA 12.8 build" in err
        assert "without an NVIDIA GPU" in err and "WDS_EDGE_TORCH_INDEX=" in err
    else:
        assert "warning" not in err


def test_torch_index_given_is_used_as_is_without_a_probe(tmp_path: Path) -> None:
    index = "http://mirror.invalid/whl/cpu"
    run, pip, _ = _install_torch(tmp_path, gpu=False, cuda="", env={
        "WDS_EDGE_TORCH_INDEX": index, "WDS_EDGE_TORCH_CPU_INDEX": _closed_port_url(),
        "WDS_EDGE_TORCH_VERSION": "2.9.1"})  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert pip == [f"torch==2.9.1 --index-url {index}"]
    assert "cannot be reached" not in run.stdout


def test_gpu_machine_gets_the_cuda_build_and_no_warning(tmp_path: Path) -> None:
    run, pip, _ = _install_torch(tmp_path, gpu=True, cuda="12.8",
                                 env={"WDS_EDGE_TORCH_CPU_INDEX": _closed_port_url()})  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert pip == ["torch"]
    assert "installing the CUDA build of torch" in run.stdout and "warning" not in run.stderr
