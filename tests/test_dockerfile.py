"""Dockerfile.jetson: what can be checked without a Docker engine.

* the file parses: every instruction is a known Dockerfile instruction with arguments,
  line continuations are closed, JSON-form ENTRYPOINT / CMD / VOLUME are valid JSON;
* the files it COPYs exist, the entrypoint script is valid bash;
* it never installs an OpenCV wheel (JetPack's GStreamer-enabled cv2 must stay);
* (slow, network) every Python requirement it pip-installs resolves to a wheel for
  aarch64 / CPython 3.10 (JetPack 6: glibc 2.35, so manylinux_2_17 ... manylinux_2_35).
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCKERFILE = ROOT / "Dockerfile.jetson"
INSTRUCTIONS = {
    "FROM", "RUN", "CMD", "LABEL", "EXPOSE", "ENV", "ADD", "COPY", "ENTRYPOINT", "VOLUME",
    "USER", "WORKDIR", "ARG", "ONBUILD", "STOPSIGNAL", "HEALTHCHECK", "SHELL",
}  # fmt: skip
#: JetPack 6 = Ubuntu 22.04 (glibc 2.35): any manylinux tag up to 2_35 installs.
AARCH64_PLATFORMS = ["manylinux2014_aarch64"] + [f"manylinux_2_{v}_aarch64" for v in range(17, 36)]


def parse_dockerfile(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs; joins backslash continuations, drops comments."""
    out: list[tuple[str, str]] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if pending and line.startswith("#"):
            continue  # comment lines inside a continuation are ignored by Docker too
        if line.endswith("\\"):
            pending += line[:-1].rstrip() + " "
            continue
        full = (pending + line).strip()
        pending = ""
        word, _, args = full.partition(" ")
        out.append((word.upper(), args.strip()))
    if pending:
        raise ValueError(f"unterminated line continuation: {pending[:60]!r}")
    return out


def _instructions() -> list[tuple[str, str]]:
    return parse_dockerfile(DOCKERFILE.read_text())


def test_shell_split_respects_quotes() -> None:
    assert _shell_commands('a "x; y" && pip install -r f.txt; b') == [
        ["a", "x; y"],
        ["pip", "install", "-r", "f.txt"],
        ["b"],
    ]


def test_parser_on_a_known_example() -> None:
    text = 'FROM a:b\n# c\nRUN x \\\n  && y\nCMD ["p", "q"]\n'
    assert parse_dockerfile(text) == [("FROM", "a:b"), ("RUN", "x && y"), ("CMD", '["p", "q"]')]
    with pytest.raises(ValueError):
        parse_dockerfile("RUN a \\\n")


def test_dockerfile_is_well_formed() -> None:
    instructions = _instructions()
    names = [name for name, _ in instructions]
    assert set(names) <= INSTRUCTIONS, set(names) - INSTRUCTIONS
    assert all(args for _, args in instructions)
    assert names.index("FROM") <= 1 and names[0] in ("ARG", "FROM")
    base = next(args for name, args in instructions if name == "FROM")
    assert base.startswith("nvcr.io/nvidia/l4t-jetpack:")
    tag = next(args for name, args in instructions if name == "ARG" and "L4T_TAG" in args)
    assert re.fullmatch(r"L4T_TAG=r36\.\d+\.\d+", tag)  # JetPack 6 (TensorRT 10.x)
    for name, args in instructions:
        if name in ("ENTRYPOINT", "CMD", "VOLUME"):
            assert isinstance(json.loads(args), list)


def test_copied_files_exist_and_entrypoint_is_valid_bash() -> None:
    for name, args in _instructions():
        if name == "COPY":
            *sources, _dest = shlex.split(args)
            for src in sources:
                if src.startswith("--"):
                    continue
                if src == "README.md" and not (ROOT / src).exists():
                    pytest.skip("README.md is not written yet (pyproject.toml needs it)")
                assert (ROOT / src).exists(), f"COPY source {src} missing"
    bash = shutil.which("bash")
    if bash:
        subprocess.run([bash, "-n", str(ROOT / "docker" / "entrypoint.sh")], check=True)


def _pip_requirements() -> list[str]:
    """Every requirement the Dockerfile pip-installs (inline or via -r files)."""
    reqs: list[str] = []
    for name, args in _instructions():
        if name != "RUN":
            continue
        for words in _shell_commands(args):
            if "pip" not in words or "install" not in words:
                continue
            words = words[words.index("install") + 1 :]
            i = 0
            while i < len(words):
                word = words[i]
                if word == "-r":
                    reqs += _requirement_file(ROOT / words[i + 1])
                    i += 2
                    continue
                if not word.startswith("-") and word != ".":
                    reqs.append(word)
                i += 1
    return reqs


def _shell_commands(script: str) -> list[list[str]]:
    """Split a RUN line into simple commands (at &&, ||, ;, |), quotes respected."""
    lexer = shlex.shlex(script, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    commands: list[list[str]] = [[]]
    for token in lexer:
        if token in ("&&", "||", ";", "|"):
            commands.append([])
        else:
            commands[-1].append(token)
    return [c for c in commands if c]


def _requirement_file(path: Path) -> list[str]:
    lines = (line.split("#")[0].strip() for line in path.read_text().splitlines())
    return [line for line in lines if line]


def test_no_opencv_wheel_is_installed() -> None:
    reqs = _pip_requirements()
    assert reqs, "found no pip requirements in the Dockerfile"
    assert not [r for r in reqs if r.lower().startswith("opencv")]
    text = DOCKERFILE.read_text()
    assert "--no-deps -r docker/requirements-jetson-nodeps.txt" in text  # mediapipe
    assert "--system-site-packages" in text  # JetPack's tensorrt and cv2 stay visible


@pytest.mark.slow
@pytest.mark.parametrize("requirement", _pip_requirements())
def test_requirement_resolves_for_aarch64_py310(requirement: str, tmp_path: Path) -> None:
    if requirement.startswith("pip"):
        pytest.skip("pip itself is always available")
    platforms = [arg for p in AARCH64_PLATFORMS for arg in ("--platform", p)]
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "download", "--only-binary=:all:", *platforms,
         "--python-version", "3.10", "--no-deps", "-q", "-d", str(tmp_path), requirement],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    if proc.returncode != 0 and re.search(
        r"(Connection|NewConnectionError|Temporary failure|Network is unreachable)", proc.stderr
    ):
        pytest.skip(f"PyPI is unreachable: {proc.stderr.strip().splitlines()[-1]}")
    assert proc.returncode == 0, proc.stderr
    wheels = list(tmp_path.glob("*.whl"))
    assert len(wheels) == 1
    assert re.search(r"(none-any|aarch64)", wheels[0].name), wheels[0].name


def test_build_refuses_tensorrt_8_and_checks_the_csi_plugin() -> None:
    runs = " ".join(args for name, args in _instructions() if name == "RUN")
    assert "int(tensorrt.__version__.split('.')[0]) >= 10" in runs  # r36.2 / r36.3 ship 8.6
    assert "gst-inspect-1.0 nvarguscamerasrc" in runs  # csi:// needs it
    text = DOCKERFILE.read_text()
    assert '"default-runtime": "nvidia"' in text  # the build imports TensorRT


def test_jetson_cuda_python_is_pinned_to_jetpack_cuda_12_6() -> None:
    reqs = _requirement_file(ROOT / "docker" / "requirements-jetson.txt")
    assert [r for r in reqs if r.startswith("cuda-python")] == ["cuda-python>=12.6,<12.7"]


def test_trt_extras_pick_cuda_12_by_default_and_offer_cuda_13() -> None:
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+

    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]
    assert extras["trt"] == ["tensorrt-cu12>=10,<11", "cuda-python>=12,<13"]
    assert extras["trt-cu13"] == ["tensorrt-cu13>=10.13,<11", "cuda-python>=13,<14"]


def _entrypoint(
    tmp_path: Path,
    args: Sequence[str],
    env: dict[str, str] | None = None,
    *,
    then: str = "",
    script: str | None = None,
    timeout: float | None = None,
) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    """``docker/entrypoint.sh ARGS`` under bash with a stub ``wds-edge`` first on PATH, the
    model ``M`` and an engine cache under ``tmp_path`` (``env`` added / overriding). The stub
    appends its arguments to ``tmp_path/calls.txt`` instead of running, then runs the shell
    lines ``then``; ``script`` replaces the whole stub (it must write that file itself).
    Returns the run and the recorded calls."""
    bash = shutil.which("bash")
    if bash is None:
        pytest.skip("no bash")
    log = tmp_path / "calls.txt"
    log.touch()
    stub = tmp_path / "bin" / "wds-edge"
    stub.parent.mkdir()
    stub.write_text(script if script is not None else f'#!/bin/sh\necho "$*" >> {log}\n{then}')
    stub.chmod(0o755)
    env = {"PATH": f"{stub.parent}:/usr/bin:/bin", "WDS_MODEL": "M",
           "WDS_EDGE_ENGINE_CACHE": str(tmp_path / "cache"), **(env or {})}  # fmt: skip
    done = subprocess.run([bash, str(ROOT / "docker" / "entrypoint.sh"), *args], env=env,
                          capture_output=True, text=True, timeout=timeout)  # fmt: skip
    return done, log.read_text().splitlines()


def _fp16_exits(code: int) -> str:
    """Stub lines (``then``) that make its fp16 build-engine exit ``code``."""
    return f'case "$*" in build-engine*"--precision fp16"*) exit {code};; esac\n'


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["analyze", "x.jpg"], "analyze --model M --backend tensorrt --precision int8 x.jpg"),
        (["demo", "--source", "0"],
         "demo --model M --backend tensorrt --precision int8 --source 0"),
        (["bench", "model", "--runs", "5"],
         "bench model --model M --backend tensorrt --precision int8 --runs 5"),
        (["serve", "--source", "0"],
         "serve --model M --backend tensorrt --precision int8 --source 0"),
        (["bench", "pipeline", "--source", "c.mp4"],
         "bench pipeline --model M --backend tensorrt --precision int8 --source c.mp4"),
    ],
)  # fmt: skip
def test_entrypoint_passes_wds_precision_to_the_command(
    tmp_path: Path, args: list[str], expected: str
) -> None:
    env = {"WDS_PRECISION": "int8", "WDS_CALIB": "/calib"}
    done, (build, run) = _entrypoint(tmp_path, args, env)
    assert done.returncode == 0, done.stderr
    assert build == (
        f"build-engine --onnx M --cache-dir {tmp_path}/cache --calib /calib "
        "--held-out synthetic --precision int8"
    )
    assert run == expected


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["analyze", "x.jpg"], "analyze --model M --backend tensorrt --precision fp32 x.jpg"),
        # serve too: its own `auto` would retry the FP16 engine on every start
        (["serve", "--source", "0"],
         "serve --model M --backend tensorrt --precision fp32 --source 0"),
    ],
)  # fmt: skip
def test_entrypoint_gates_fp16_and_falls_back_to_fp32(
    tmp_path: Path, args: list[str], expected: str
) -> None:
    """Issue 22 item 5: no --allow-accuracy-loss; an FP16 engine that fails its gate is
    replaced by FP32, and the command runs on what was built."""
    # the FP16 build fails (its gate), the rest succeeds
    done, (fp16, fp32, run) = _entrypoint(
        tmp_path, args, {"WDS_HELD_OUT": "/held"}, then=_fp16_exits(1)
    )
    assert done.returncode == 0, done.stderr
    assert fp16.endswith("--held-out /held --precision fp16") and "allow-accuracy" not in fp16
    assert fp32.endswith("--precision fp32") and "using FP32" in done.stderr
    assert run == expected


def _run_entrypoint(
    tmp_path: Path, env: dict[str, str], fp16_exit: int = 0
) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    """:func:`_entrypoint` with ``demo --source 0``; the stub's fp16 build-engine exits
    ``fp16_exit``."""
    return _entrypoint(tmp_path, ["demo", "--source", "0"], env, then=_fp16_exits(fp16_exit))


def test_entrypoint_takes_wds_precision_in_any_case(tmp_path: Path) -> None:
    done, calls = _run_entrypoint(tmp_path, {"WDS_PRECISION": "FP16"})
    assert done.returncode == 0, done.stderr
    build, run = calls
    assert build.endswith("--held-out synthetic --precision fp16")
    assert run == "demo --model M --backend tensorrt --precision fp16 --source 0"


@pytest.mark.parametrize("precision", ["fp61", "bf16", "auto"])
def test_entrypoint_refuses_an_unknown_wds_precision(tmp_path: Path, precision: str) -> None:
    """A typo stops the container with exit 2 and says what is expected, instead of an FP32
    kiosk that looks like it started as asked."""
    done, calls = _run_entrypoint(tmp_path, {"WDS_PRECISION": precision})
    assert done.returncode == 2, done.stderr
    assert f"WDS_PRECISION={precision} is not" in done.stderr
    assert "fp32, fp16 or int8" in done.stderr
    assert calls == [] and not (tmp_path / "cache").exists()


def test_entrypoint_stops_on_a_build_engine_usage_error(tmp_path: Path) -> None:
    """build-engine exit 2 (bad usage, an unusable model) is not a failed gate: no FP32
    fallback, the container exits 2."""
    done, calls = _run_entrypoint(tmp_path, {"WDS_PRECISION": "fp16"}, fp16_exit=2)
    assert done.returncode == 2
    assert len(calls) == 1 and calls[0].endswith("--precision fp16")
    assert "using FP32" not in done.stderr and "exit 2" in done.stderr


def test_jetson_image_installs_the_service_extra() -> None:
    """`wds-edge serve` in the image: the service extra's requirements, pinned the same."""
    match = re.search(r"^service = (\[.*\])$", (ROOT / "pyproject.toml").read_text(), re.M)
    assert match, "pyproject.toml has no one-line service extra"
    service = json.loads(match.group(1))
    assert service, "the service extra is empty"
    reqs = _requirement_file(ROOT / "docker" / "requirements-jetson.txt")
    missing = [r for r in service if r not in reqs]
    assert not missing, f"docker/requirements-jetson.txt lacks {missing}"


@pytest.mark.parametrize(
    "args",
    [["--help"], ["models", "path"], ["bench", "compare", "--widths", "8,16"], ["bench"],
     ["demo", "--help"], ["serve", "--source", "0", "--help"], ["version"]],
)  # fmt: skip
def test_entrypoint_builds_no_engine_for_commands_that_do_not_run_it(
    tmp_path: Path, args: list[str]
) -> None:
    """Only demo, analyze, serve and bench model|pipeline wait for the engine build; the
    others (and --help anywhere) run at once, as given."""
    done, calls = _entrypoint(tmp_path, args)
    assert done.returncode == 0, done.stderr
    assert calls == [" ".join(args)]
    assert "preparing the TensorRT" not in done.stdout and not (tmp_path / "cache").exists()


def _entrypoint_on_the_real_cli(
    tmp_path: Path, env: dict[str, str], args: tuple[str, ...] = ("demo", "--source", "0"),
    **knobs: object,
) -> tuple[subprocess.CompletedProcess[str], list[str]]:  # fmt: skip
    """The entrypoint with the real ``wds-edge build-engine`` on the TensorRT stand-in
    (``tests/wds_edge/runtime/fake_tensorrt.py``, ``knobs`` its FakeState fields) and the
    committed small model; the command it then runs is recorded, not run. Returns the run
    and every wds-edge call (build-engine ones too)."""
    log = tmp_path / "calls.txt"
    runtime_tests = ROOT / "tests" / "wds_edge" / "runtime"
    script = (
        f"#!{sys.executable}\n"
        "import json, sys\n"
        f"with open({str(log)!r}, 'a') as f:\n"
        "    f.write(' '.join(sys.argv[1:]) + '\\n')\n"
        "if sys.argv[1:2] == ['build-engine']:\n"
        f"    sys.path.insert(0, {str(runtime_tests)!r})\n"
        "    import pytest, fake_tensorrt\n"
        f"    fake_tensorrt.install(pytest.MonkeyPatch(), **json.loads({json.dumps(knobs)!r}))\n"
        "    from wds_edge.cli import main\n"
        "    main(sys.argv[1:])\n"
    )
    import os

    model = ROOT / "tests" / "fixtures" / "wds_b4_128_dyn.onnx"
    env = {"WDS_MODEL": str(model), "XDG_CACHE_HOME": str(tmp_path / "xdg"),
           "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
           **env}  # fmt: skip
    return _entrypoint(tmp_path, args, env, script=script, timeout=600)


@pytest.mark.parametrize(("folder", "kind"), [("WDS_HELD_OUT", "missing"), ("WDS_CALIB", "empty")])
def test_entrypoint_stops_on_a_folder_that_is_not_a_calibration_folder(
    tmp_path: Path, folder: str, kind: str
) -> None:
    """A mistyped or empty WDS_HELD_OUT / WDS_CALIB is a configuration error: build-engine
    exits 2 before building, and the container stops instead of quietly running FP32."""
    path = tmp_path / kind
    if kind == "empty":
        path.mkdir()
    done, calls = _entrypoint_on_the_real_cli(tmp_path, {folder: str(path)})
    assert done.returncode == 2, done.stderr
    option = "--held-out" if folder == "WDS_HELD_OUT" else "--calib"
    assert f"{option}: {path} is not a calibration folder" in " ".join(done.stderr.split())
    assert "using FP32" not in done.stderr and "Traceback" not in done.stderr
    assert len(calls) == 1 and calls[0].startswith("build-engine")  # no FP32, no demo
    assert not list((tmp_path / "cache").glob("*.engine"))


@pytest.mark.parametrize(
    ("knobs", "why"),
    [({}, "not gated on the synthetic crops"),  # the untrained model marks every pixel
     ({"fast_fp16": False}, "has no fast FP16")],
)  # fmt: skip
def test_entrypoint_falls_back_to_fp32_when_fp16_cannot_be_built_or_gated(
    tmp_path: Path, knobs: dict[str, object], why: str
) -> None:
    """An FP16 engine this device cannot build or gate is build-engine exit 1: the
    container builds FP32 and runs on it (it used to stop: exit 2)."""
    done, calls = _entrypoint_on_the_real_cli(tmp_path, {}, **knobs)
    assert done.returncode == 0, done.stderr
    assert why in " ".join(done.stderr.split()) and "using FP32" in done.stderr
    fp16, fp32, run = calls
    assert fp16.endswith("--precision fp16") and fp32.endswith("--precision fp32")
    assert run.startswith("demo --model ") and run.endswith("--precision fp32 --source 0")
    (engine,) = (tmp_path / "cache").glob("*.engine")
    assert engine.name.endswith("-fp32.engine")


@pytest.mark.parametrize(
    "args",
    [["analyze", "x.jpg", "--backend", "onnxruntime"], ["analyze", "x.jpg", "-b", "openvino"],
     ["demo", "--precision=fp32"], ["serve", "-p", "fp16"], ["demo", "-m", "/models/b.onnx"],
     ["bench", "model", "--model=/m.onnx"], ["serve", "--source", "0", "--backend=auto"]],
)  # fmt: skip
def test_entrypoint_skips_the_engine_when_the_arguments_choose_the_model_or_backend(
    tmp_path: Path, args: list[str]
) -> None:
    """The user's own --backend / --model / --precision would replace the injected ones
    (the last one wins): no engine is built for nothing, the command runs as given."""
    done, calls = _entrypoint(tmp_path, args)
    assert done.returncode == 0, done.stderr
    assert calls == [" ".join(args)]
    assert "engine step" in done.stderr and "skipped" in done.stderr
    assert not (tmp_path / "cache").exists()


@pytest.mark.parametrize(
    "args",
    [["analyze", "--", "-mnotes.jpg"], ["analyze", "--", "-m", "x.jpg"],
     ["analyze", "--", "--backend", "x.jpg"], ["serve", "--allowed-host", "-m.local"],
     ["serve", "--allowed-host", "-b.lan"]],
)  # fmt: skip
def test_entrypoint_builds_the_engine_when_only_a_value_or_file_looks_like_an_option(
    tmp_path: Path, args: list[str]
) -> None:
    """Only the exact options choose the model / backend / precision, and nothing after
    `--` (file names): an option value or a file name starting with -m / -b / -p used to
    skip the engine step, so the command ran without the TensorRT engine."""
    done, calls = _entrypoint(tmp_path, args)
    assert done.returncode == 0, done.stderr
    assert "skipped" not in done.stderr
    build, run = calls
    assert build.startswith("build-engine --onnx M ")
    assert run == f"{args[0]} --model M --backend tensorrt --precision fp16 {' '.join(args[1:])}"


def test_entrypoint_runs_help_only_before_the_double_dash(tmp_path: Path) -> None:
    """`analyze -- --help` analyses a file named --help on the engine, not the help."""
    done, calls = _entrypoint(tmp_path, ["analyze", "--", "--help"])
    assert done.returncode == 0, done.stderr
    assert calls[0].startswith("build-engine ")
    assert calls[1] == "analyze --model M --backend tensorrt --precision fp16 -- --help"
