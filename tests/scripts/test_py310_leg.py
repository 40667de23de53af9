"""scripts/test.sh's Python 3.10 leg: which interpreter it takes, when it skips, and that a
failing leg fails the run while the whole suite still runs.

The script runs for real from a copy in a scratch repository whose setup.sh, venvs and
interpreters are recorders (shell scripts): nothing is installed.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TEST_SH = ROOT / "scripts" / "test.sh"
BASH = shutil.which("bash")

pytestmark = pytest.mark.skipif(BASH is None, reason="needs bash")


def _fake(path: Path, body: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(0o755)
    return path


def _recorder(path: Path, log: Path, code: int = 0) -> Path:
    """A program that appends its name and arguments to ``log`` and exits ``code``."""
    return _fake(path, f'echo "{path.parent.parent.name}/{path.name} $*" >> "{log}"; exit {code}')


def _repo(tmp_path: Path, *, suite_code: int = 0, sdk_setup_code: int = 0) -> tuple[Path, Path]:
    """A scratch checkout: the real scripts/test.sh, recorders for the rest; (repo, log)."""
    repo, log = tmp_path / "repo", tmp_path / "calls.txt"
    (repo / "scripts").mkdir(parents=True)
    shutil.copy(TEST_SH, repo / "scripts" / "test.sh")
    # setup.sh: `dev` passes; `sdk-test` (the 3.10 leg) exits sdk_setup_code
    record = f'echo "setup.sh $* venv=$WDS_EDGE_VENV python=$PYTHON" >> "{log}"'
    _fake(
        repo / "scripts" / "setup.sh",
        f'{record}\n[ "$1" = sdk-test ] && exit {sdk_setup_code}; exit 0',
    )
    _recorder(repo / ".venv" / "bin" / "lint-imports", log)
    _recorder(repo / ".venv" / "bin" / "python", log, suite_code)
    _recorder(repo / ".venv310" / "bin" / "python", log)
    return repo, log


def _run(repo: Path, tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    base = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path / "home"),
            "WDS_EDGE_SHARED": str(tmp_path / "no_shared")}  # fmt: skip
    return subprocess.run([BASH, str(repo / "scripts" / "test.sh"), *args], capture_output=True,
                          text=True, timeout=60, env={**base, **env})  # fmt: skip


def _find(tmp_path: Path, path_dir: Path | None = None) -> str:
    env = {"PATH": f"{path_dir}:/usr/bin:/bin" if path_dir else "/usr/bin:/bin",
           "HOME": str(tmp_path / "home")}  # fmt: skip
    run = subprocess.run([BASH, "-c", f'source "{TEST_SH}"; find_python310'], capture_output=True,
                         text=True, timeout=30, env=env)  # fmt: skip
    assert run.returncode == 0, run.stderr
    return run.stdout.strip()


def test_pyenv_newest_310_is_taken_when_python310_on_path_does_not_run(tmp_path: Path) -> None:
    """A pyenv shim of a version that is not installed fails: pyenv's 3.10.13 is taken, the
    newest by version (3.10.9 sorts after it as text)."""
    versions = tmp_path / "home" / ".pyenv" / "versions"
    for v in ("3.10.9", "3.10.13", "3.11.7"):
        _fake(versions / v / "bin" / ("python" + v[:4]), "exit 0")
    shims = tmp_path / "shims"
    _fake(shims / "python3.10", "echo 'pyenv: python3.10: command not found' >&2; exit 127")
    assert _find(tmp_path, shims) == str(versions / "3.10.13" / "bin" / "python3.10")
    _fake(shims / "python3.10", "exit 0")  # one that runs comes first
    assert _find(tmp_path, shims) == str(shims / "python3.10")


def test_is_python310_asks_the_interpreter(tmp_path: Path) -> None:
    real_310 = sorted((Path.home() / ".pyenv" / "versions").glob("3.10.*/bin/python3.10"))
    not_310 = shutil.which("python3.11") or shutil.which("python3.12")
    for py, want in ((real_310[-1] if real_310 else None, 0), (not_310, 1)):
        if py is None:
            continue
        run = subprocess.run([BASH, "-c", f'source "{TEST_SH}"; is_python310 "{py}"'],
                             capture_output=True, text=True, timeout=60)  # fmt: skip
        assert run.returncode == want, (py, run.stderr)


def test_no_python310_skips_the_leg_with_a_message_and_runs_the_suite(tmp_path: Path) -> None:
    repo, log = _repo(tmp_path, suite_code=3)
    run = _run(repo, tmp_path, "-k", "x")
    assert run.returncode == 3, run.stderr  # the suite's own exit status
    assert "Python 3.10 leg SKIPPED: no Python 3.10" in run.stdout
    assert "WDS_EDGE_PY310" in run.stdout
    calls = log.read_text().splitlines()
    assert ".venv/python -m pytest --runslow -k x" in calls
    assert not any("sdk-test" in c or ".venv310" in c for c in calls), calls


def test_wds_edge_py310_skip_and_a_wrong_interpreter(tmp_path: Path) -> None:
    repo, log = _repo(tmp_path)
    run = _run(repo, tmp_path, WDS_EDGE_PY310="skip")
    assert run.returncode == 0 and "Python 3.10 leg skipped (WDS_EDGE_PY310=skip)" in run.stdout
    not_310 = _fake(tmp_path / "py311", "exit 1")
    run = _run(repo, tmp_path, WDS_EDGE_PY310=str(not_310))
    assert run.returncode == 2, run.stderr
    assert f"WDS_EDGE_PY310={not_310} is not a Python 3.10 interpreter" in run.stderr
    assert ".venv/python -m pytest --runslow" in log.read_text().splitlines()  # it still ran


def test_the_leg_runs_the_sdk_tests_in_venv310_before_the_suite(tmp_path: Path) -> None:
    repo, log = _repo(tmp_path)
    py = _fake(tmp_path / "python3.10", "exit 0")
    run = _run(repo, tmp_path, "tests/x.py", WDS_EDGE_PY310=str(py))
    assert run.returncode == 0, run.stderr
    calls = log.read_text().splitlines()
    sdk = calls.index(f"setup.sh sdk-test venv=.venv310 python={py}")
    leg = next(i for i, c in enumerate(calls) if c.startswith(".venv310/python -m pytest -q"))
    suite = calls.index(".venv/python -m pytest --runslow tests/x.py")
    assert calls[0].startswith("setup.sh dev venv=") and sdk < leg < suite
    assert "tests/wds_edge" in calls[leg] and "--runslow" not in calls[leg]
    assert "analyze check is skipped" in run.stdout  # WDS_EDGE_SHARED has no photo
    assert "Python 3.10 leg passed" in run.stdout


def test_a_failing_leg_fails_the_run_after_the_suite(tmp_path: Path) -> None:
    repo, log = _repo(tmp_path, sdk_setup_code=1)
    py = _fake(tmp_path / "python3.10", "exit 0")
    run = _run(repo, tmp_path, WDS_EDGE_PY310=str(py))
    assert run.returncode == 1
    assert "FAILED: the Python 3.10 leg" in run.stderr
    assert ".venv/python -m pytest --runslow" in log.read_text().splitlines()  # it still ran
