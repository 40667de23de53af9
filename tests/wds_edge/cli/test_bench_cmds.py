"""`wds-edge bench`: refusals that come before anything is timed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from wds_edge.cli import app
from wds_edge.errors import InvalidInputError, OutputError

REPO = Path(__file__).resolve().parents[3]


def test_openvino_int8_without_an_int8_file_says_how_to_make_one(
    onnx_model_path: Path, tmp_path: Path
) -> None:
    """No INT8 file ships: the entry is refused in bench compare's terms (it used to end in
    the runtime's "use --precision", an option bench compare does not have)."""
    args = ["bench", "compare", "--source", str(tmp_path), "--backends",
            "onnxruntime:fp32,openvino:int8", "--models", str(onnx_model_path),
            "--out", str(tmp_path / "b")]  # fmt: skip
    result = CliRunner().invoke(app, args)
    assert isinstance(result.exception, InvalidInputError), result.output
    message = str(result.exception)
    assert "leave openvino:int8 out of --backends" in message
    assert "wds-edge quantize --format openvino" in message and "--precision" not in message
    assert not (tmp_path / "b").exists()


def _wds_edge(*args: str) -> subprocess.CompletedProcess[str]:
    """The installed command line as a user runs it (exit codes from the CLI's policy)."""
    cmd = [sys.executable, "-m", "wds_edge.cli", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=300, cwd=REPO)


def test_bench_model_json_naming_a_folder_is_refused_before_timing(
    onnx_model_path: Path, tmp_path: Path
) -> None:
    """It used to time the model, then end in an IsADirectoryError traceback (exit 1)."""
    folder = tmp_path / "reports"
    folder.mkdir()
    proc = _wds_edge("bench", "model", "--model", str(onnx_model_path), "--backend",
                     "onnxruntime", "--quick", "--json-out", str(folder))  # fmt: skip
    assert proc.returncode == 2, proc.stderr[-2000:]
    err = " ".join(proc.stderr.split())
    assert f"cannot write the JSON report (--json-out) to {folder}: it is a folder" in err
    assert "Traceback" not in err
    assert "wds-edge bench model" not in proc.stdout  # refused before anything was timed
    assert list(folder.iterdir()) == []


def test_bench_pipeline_unwritable_outputs_are_refused_before_the_run(
    onnx_model_path: Path, landmarker_path: Path, video_path: Path, tmp_path: Path
) -> None:
    """--json-out under /proc (no folder can be made there): one line before the frames are
    run, not after the whole benchmark; a --csv-out folder likewise."""
    base = ["bench", "pipeline", "--source", str(video_path), "--model", str(onnx_model_path),
            "--landmarker", str(landmarker_path), "--backend", "onnxruntime",
            "--quick"]  # fmt: skip
    proc = _wds_edge(*base, "--json-out", "/proc/nope/r.json")
    assert proc.returncode == 2, proc.stderr[-2000:]
    err = " ".join(proc.stderr.split())
    assert "cannot write the JSON report (--json-out) to /proc/nope" in err
    assert "wds-edge bench pipeline" not in proc.stdout  # refused before the run
    proc = _wds_edge(*base, "--json-out", str(tmp_path / "ok.json"), "--csv-out", str(tmp_path))
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "cannot write the CSV rows (--csv-out)" in " ".join(proc.stderr.split())
    assert "wds-edge bench pipeline" not in proc.stdout
    assert list(tmp_path.iterdir()) == []  # the good --json-out was not written either


def test_bench_compare_backend_entries_refuse_an_unwritable_out_before_timing(
    monkeypatch: pytest.MonkeyPatch, onnx_model_path: Path, tmp_path: Path
) -> None:
    """The BACKEND:PRECISION path never checked --out: it timed every entry, then failed
    writing compare.json (the widths path checked it first)."""
    import wds_edge.bench.backend_compare as backend_compare

    timed: list[object] = []
    monkeypatch.setattr(backend_compare, "compare_backends", lambda *a, **k: timed.append(a))
    taken = tmp_path / "taken"
    taken.write_text("not a folder")
    args = ["bench", "compare", "--source", str(tmp_path), "--backends", "onnxruntime:fp32",
            "--models", str(onnx_model_path), "--out", str(taken)]  # fmt: skip
    result = CliRunner().invoke(app, args)
    assert timed == [], "timed before --out was checked"
    assert isinstance(result.exception, OutputError), result.output
    assert f"cannot write the compare report to {taken}: it is a file" in str(result.exception)


@pytest.mark.parametrize(
    ("widths", "extra"), [("abc", ()), ("8,abc", ("--quick",)), ("0", ()), ("8.5", ())]
)
def test_bench_compare_bad_widths_are_a_usage_error(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    widths: str,
    extra: tuple[str, ...],
) -> None:
    """--widths abc ended in a ValueError traceback (exit 1); with --quick a bad value was
    silently replaced by 8 and the run went on."""
    from fault_helpers import run_cli

    import wds_edge.bench.compare as compare

    timed: list[object] = []
    monkeypatch.setattr(compare, "bench_compare", lambda *a, **k: timed.append(a))
    out = tmp_path / "c"
    code, _, err = run_cli(capsys, "bench", "compare", "--source", tmp_path, "--widths", widths,
                           *extra, "--out", out)  # fmt: skip
    assert code == 2, err
    assert "--widths takes comma-separated base widths" in err and repr(widths) in err
    assert "Traceback" not in err
    assert timed == [] and not out.exists()


@pytest.mark.parametrize("command", ["model", "pipeline"])
@pytest.mark.parametrize(
    ("option", "value"),
    [("--json", "--quick"), ("--json-out", "--quick"), ("--csv", "-q"), ("--csv-out", "--quick")],
)
def test_report_file_options_never_swallow_another_option(
    command: str,
    option: str,
    value: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`--json` is an on/off flag on every other command; here the file options are
    --json-out / --csv-out, and the old --json PATH / --csv PATH refuse a value that is an
    option: `bench model --json --quick` used to write a file named --quick after the full
    (not quick) benchmark."""
    from fault_helpers import run_cli

    monkeypatch.chdir(tmp_path)  # where a file named --quick would land
    source = ["--source", "clip.mp4"] if command == "pipeline" else []
    code, out, err = run_cli(capsys, "bench", command, *source, option, value)
    assert code == 2, err
    name = option.lstrip("-").removesuffix("-out")
    kind = "JSON report" if name == "json" else "CSV rows"
    assert f"{option} takes the file to write the {kind} to, got '{value}'" in err
    assert f"e.g. --{name}-out bench.{name}" in err and "Traceback" not in err
    assert "wds-edge bench" not in out and list(tmp_path.iterdir()) == []  # nothing ran


def test_report_file_options_old_names_still_write_files(
    onnx_model_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--json PATH / --csv PATH (the names before --json-out / --csv-out, used by
    benchmarks/run_cpu_suite.sh) still write the files; hidden from --help, and never
    together with the new name."""
    import json

    from fault_helpers import run_cli

    report, rows = tmp_path / "r.json", tmp_path / "r.csv"
    base = ["bench", "model", "--model", onnx_model_path, "--backend", "onnxruntime",
            "--warmup", 0, "--runs", 1]  # fmt: skip
    code, _, err = run_cli(capsys, *base, "--json", report, "--csv", rows)
    assert code == 0, err
    assert json.loads(report.read_text())["kind"] == "model" and rows.read_text()

    code, _, err = run_cli(capsys, *base, "--json", report, "--json-out", tmp_path / "b.json")
    assert code == 2 and "--json is the old name of --json-out" in err, err
    assert not (tmp_path / "b.json").exists()

    help_text = CliRunner().invoke(app, ["bench", "model", "--help"]).output
    assert "--json-out" in help_text and "--csv-out" in help_text
    assert "--json " not in help_text and "--csv " not in help_text


FIXTURE = REPO / "tests" / "fixtures" / "wds_b4_128_dyn.onnx"  # base 4, 128 px


def test_bench_compare_models_sets_the_size_and_names_its_rows(
    faces_dir: Path, landmarker_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Defects: --size defaulted to 640 whatever the --models file took (a 128 px file failed
    inside the timing loop, after the --widths exports), and a --models row was named
    b<its width>, like the --widths export of that width: two rows 'b4 onnxruntime fp32'."""
    pytest.importorskip("torch", reason="the --widths export needs torch")
    import csv

    from fault_helpers import run_cli

    source = tmp_path / "faces"
    source.mkdir()
    (source / "biden2.jpg").symlink_to(faces_dir / "biden2.jpg")
    out = tmp_path / "cmp"
    code, _, err = run_cli(capsys, "bench", "compare", "--source", source, "--models", FIXTURE,
                           "--widths", "4", "--no-e2e", "--no-torch", "--runs", 1,
                           "--warmup", 0, "--max-frames", 1, "--landmarker", landmarker_path,
                           "--out", out)  # fmt: skip
    assert code == 0, err
    with (out / "compare.csv").open() as handle:
        rows = [r for r in csv.DictReader(handle) if r.get("config")]
    names = [r["config"] for r in rows]
    assert names == ["b4 onnxruntime fp32", "wds_b4_128_dyn onnxruntime fp32"], names
    import onnx  # the --widths export was made at the file's 128 px, not at 640

    (export,) = (out / "models").glob("*.onnx")
    dims = onnx.load(str(export)).graph.input[0].type.tensor_type.shape.dim
    assert [d.dim_value for d in dims][-2:] == [128, 128]


def test_bench_compare_models_of_another_size_are_refused_before_anything(
    onnx_model_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    """A --models file that does not take --size (or files of two sizes): exit 2 with the
    --size to pass, before the --widths exports, the timing and the --out folder."""
    from fault_helpers import run_cli

    import wds_edge.bench.compare as compare

    timed: list[object] = []
    monkeypatch.setattr(compare, "bench_compare", lambda *a, **k: timed.append(a))
    out = tmp_path / "cmp"
    base = ["bench", "compare", "--source", tmp_path, "--widths", "8", "--out", out]
    code, _, err = run_cli(capsys, *base, "--models", FIXTURE, "--size", 256)
    assert code == 2 and f"--models {FIXTURE} takes 128 px input, but --size is 256" in err
    assert "pass --size 128" in err
    code, _, err = run_cli(capsys, *base, "--models", f"{FIXTURE},{onnx_model_path}")
    assert code == 2 and "take different input sizes (wds_b4_128_dyn.onnx: 128 px" in err, err
    code, _, err = run_cli(capsys, *base, "--models", tmp_path / "gone.onnx")
    assert code == 2 and "gone.onnx: no such file" in err, err
    assert timed == [] and not out.exists()


def _compare_fixture_on_openvino(
    tmp_path: Path, faces_dir: Path, landmarker_path: Path, capsys, *options: object
) -> tuple[int, str, list[dict[str, str]]]:
    """`bench compare` of the fixture model on one photo, OpenVINO FP32 and BF16 (skipped on
    a CPU without native BF16): exit code, stderr, the CSV's configuration rows."""
    pytest.importorskip("openvino")
    import csv

    from fault_helpers import run_cli

    from wds_edge.runtime.openvino import native_precisions

    if "bf16" not in native_precisions():
        pytest.skip("this CPU runs no BF16 natively")
    source = tmp_path / "faces"
    source.mkdir()
    (source / "biden2.jpg").symlink_to(faces_dir / "biden2.jpg")
    out = tmp_path / "cmp"
    code, _, err = run_cli(capsys, "bench", "compare", "--source", source, "--models", FIXTURE,
                           "--precisions", "fp32,bf16", "--widths", "", "--no-torch",
                           "--runs", 1, "--warmup", 0, "--max-frames", 1, "--threads", 1,
                           "--landmarker", landmarker_path, "--out", out, *options)  # fmt: skip
    if code != 0:
        return code, err, []
    with (out / "compare.csv").open() as handle:
        return code, err, [r for r in csv.DictReader(handle) if r.get("config")]


def test_bench_compare_runs_openvino_in_every_precision_listed(
    faces_dir: Path, landmarker_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Defect: --backends openvino --precisions fp32,bf16 timed OpenVINO FP32 only, silently
    (--precisions were TensorRT's); ONNX Runtime still runs the file once, as exported."""
    code, err, rows = _compare_fixture_on_openvino(
        tmp_path, faces_dir, landmarker_path, capsys, "--backends", "onnxruntime,openvino",
        "--no-e2e",
    )  # fmt: skip
    assert code == 0, err
    configs = [(r["backend"], r["precision"]) for r in rows]
    assert configs == [("onnxruntime", "fp32"), ("openvino", "fp32"), ("openvino", "bf16")]


def test_bench_compare_times_the_frames_of_an_ungated_openvino_bf16_too(
    faces_dir: Path, landmarker_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Defect: the model row of an OpenVINO BF16 that fails (or cannot pass) the accuracy
    gate was timed (allow_accuracy_loss), but the end-to-end step's analyzer loaded it
    without, so the run ended in the gate's refusal (exit 1) after the timing, its --out
    holding no report. The frames are timed on what the model row timed. (The fixture
    marks every pixel: "not gated".)"""
    code, err, rows = _compare_fixture_on_openvino(
        tmp_path, faces_dir, landmarker_path, capsys, "--backends", "openvino"
    )
    assert code == 0, err
    timed = [(r["precision"], r["e2e_p50_ms"]) for r in rows]
    assert [p for p, _ in timed] == ["fp32", "bf16"] and all(ms for _, ms in timed), timed


def test_bench_compare_refuses_an_openvino_precision_this_cpu_lacks_before_anything(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """OpenVINO refuses a precision the CPU does not run natively; bench compare says so
    before the other configurations are timed. (A CPU without BF16 stands in: this one may
    run every precision.)"""
    pytest.importorskip("openvino")
    from fault_helpers import run_cli

    import wds_edge.runtime.openvino as openvino_backend

    monkeypatch.setattr(openvino_backend, "native_precisions", lambda *a, **k: ["fp32", "int8"])
    out = tmp_path / "cmp"
    code, _, err = run_cli(capsys, "bench", "compare", "--source", tmp_path, "--models", FIXTURE,
                           "--backends", "onnxruntime,openvino", "--precisions", "fp32,bf16",
                           "--widths", "", "--out", out)  # fmt: skip
    assert code == 2, err
    assert (
        "--precisions bf16: OpenVINO runs every precision listed, and this CPU runs fp32, "
        "int8 natively, not bf16" in err
    )
    assert not out.exists()
    help_text = " ".join(CliRunner().invoke(app, ["bench", "compare", "--help"]).output.split())
    assert "OpenVINO runs each file in every one listed" in help_text.replace("│ ", "")


@pytest.mark.parametrize(
    ("models", "widths", "expected"),
    [
        ("", "8", "the --widths exports (8, made by this run) never have"),
        ("{fixture}", "", "needs an INT8 OpenVINO model next to {fixture} "
                          "(wds_b4_128_dyn.int8.xml), and there is none"),
    ],
)  # fmt: skip
def test_bench_compare_refuses_openvino_int8_without_an_int8_model_before_anything(
    models: str, widths: str, expected: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Defect: --backends openvino --precisions fp32,int8 was accepted and refused only after
    the FP32 configurations were timed (and the --widths exported), --out made: OpenVINO INT8
    needs the INT8 IR `wds-edge quantize --format openvino` writes beside the FP32 model,
    which an export never has. Refused first, as openvino:int8 entries are."""
    pytest.importorskip("openvino")
    from fault_helpers import run_cli

    import wds_edge.runtime.openvino as openvino_backend

    if "int8" not in openvino_backend.native_precisions():
        pytest.skip("this CPU runs no INT8 natively")
    out = tmp_path / "cmp"
    code, _, err = run_cli(capsys, "bench", "compare", "--source", tmp_path / "nonexist.mp4",
                           "--backends", "openvino", "--precisions", "fp32,int8",
                           "--models", models.format(fixture=FIXTURE), "--widths", widths,
                           "--out", out)  # fmt: skip
    message = " ".join(err.split())
    assert code == 2, err
    assert expected.format(fixture=FIXTURE) in message, err
    assert "leave int8 out of --precisions, or openvino out of --backends" in message
    assert not out.exists()
    # a file with its INT8 IR beside it is taken (an empty stand-in: only its name is checked)
    from wds_edge.bench.compare import check_compare_options

    model = tmp_path / "m.onnx"
    model.write_bytes(FIXTURE.read_bytes())
    (tmp_path / "m.int8.xml").touch()
    check_compare_options([model], [], ["openvino"], ["fp32", "int8"])


@pytest.mark.parametrize("backends", ["onnxruntime", "onnxruntime:fp32"])
def test_bench_compare_a_missing_source_is_a_usage_error(
    backends: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Defect: --source nonexist/ (meant as a folder) was 'video file nonexist/ does not
    exist', exit 1, after --out had been created (left empty)."""
    from fault_helpers import run_cli

    out = tmp_path / "cmp"
    code, _, err = run_cli(capsys, "bench", "compare", "--source", tmp_path / "nonexist/",
                           "--backends", backends, "--models", FIXTURE, "--widths", "",
                           "--out", out)  # fmt: skip
    assert code == 2, err
    assert f"no such file or folder: {tmp_path / 'nonexist'}" in err
    assert "(expected a video file, an image, a folder of images or a glob)" in err
    assert not out.exists()


def test_bench_pipeline_a_missing_source_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Defect: exit 1 ("video file nope.mp4 does not exist"), as for a file that cannot be
    read; it is a usage error like bench compare's, and nothing is written."""
    from fault_helpers import run_cli

    report = tmp_path / "reports" / "p.json"
    code, out, err = run_cli(capsys, "bench", "pipeline", "--source", tmp_path / "nope.mp4",
                             "--quick", "--json-out", report)  # fmt: skip
    assert code == 2, err
    assert f"no such file or folder: {tmp_path / 'nope.mp4'}" in err and "Traceback" not in err
    assert "wds-edge bench pipeline" not in out and not (tmp_path / "reports").exists()


@pytest.mark.parametrize(
    ("backends", "models", "expected"),
    [
        ("onnxruntime:fp17", FIXTURE,
         "backend entry 'onnxruntime:fp17': unknown precision 'fp17'; choose one of auto, fp32"),
        ("onnxrt:fp32,openvino:bf16", FIXTURE,
         "backend entry 'onnxrt:fp32': unknown backend 'onnxrt'; choose one of auto, "
         "onnxruntime, openvino, tensorrt"),
        ("openvino:bf16", FIXTURE, "list one FP32 entry (e.g. onnxruntime:fp32)"),
        ("onnxruntime:fp32", "{tmp}/gone.onnx",
         "{tmp}/gone.onnx: no such model file; pass an .onnx exported with `wds-edge export` "
         "to --models, or leave --models out to compare the bundled model"),
    ],
)  # fmt: skip
def test_bench_compare_bad_backend_entries_or_models_are_refused_before_out(
    backends: str, models: object, expected: str, monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    """Defects: these left an empty --out behind; a precision was never checked (fp17 was
    told "list one FP32 entry"), and a missing --models file said "omit --model", an option
    bench compare does not have."""
    from fault_helpers import run_cli

    import wds_edge.bench.backend_compare as backend_compare

    timed: list[object] = []
    monkeypatch.setattr(backend_compare, "compare_backends", lambda *a, **k: timed.append(a))
    out = tmp_path / "cmp"
    code, _, err = run_cli(capsys, "bench", "compare", "--source", tmp_path, "--backends",
                           backends, "--models", str(models).format(tmp=tmp_path),
                           "--out", out)  # fmt: skip
    assert code == 2, err
    assert expected.format(tmp=tmp_path) in err and "--model " not in err
    assert timed == [] and not out.exists()


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        (("--backends", "onnxruntime,openvno", "--models", FIXTURE),
         "--backends: unknown 'openvno'; choose from auto, onnxruntime, openvino, tensorrt"),
        (("--precisions", "fp32,fp17", "--models", FIXTURE),
         "--precisions: unknown 'fp17'; choose from auto, fp32, fp16, bf16, int8"),
        (("--backends", ",", "--models", FIXTURE), "--backends names none"),
        (("--widths", ""), "nothing to compare: pass --models FILE.onnx"),
    ],
)  # fmt: skip
def test_bench_compare_bad_names_and_nothing_to_compare_are_refused_first(
    extra: tuple[object, ...], expected: str, monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    """Defects: a misspelled --backends name was refused only after the exports and the
    first configurations had been timed, and "nothing to compare" after --out was made."""
    from fault_helpers import run_cli

    from wds_edge.bench import compare
    from wds_edge.bench.compare import bench_compare

    called: list[object] = []

    def recording(*args: object, **kwargs: object) -> object:
        called.append(args)
        return bench_compare(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(compare, "bench_compare", recording)
    out = tmp_path / "cmp"
    code, _, err = run_cli(capsys, "bench", "compare", "--source", tmp_path, "--widths", "",
                           *extra, "--out", out)  # fmt: skip
    assert code == 2, err
    assert expected in err and "Traceback" not in err
    assert called == [] and not out.exists()
    with pytest.raises(InvalidInputError, match="unknown 'openvno'"):  # the library alike
        bench_compare(tmp_path, models=[FIXTURE], widths=(), backends=["openvno"])


@pytest.mark.parametrize(
    ("extra", "named"),
    [
        (("--widths", "8,16"), "--widths"),
        (("--size", "256"), "--size"),
        (("--precisions", "fp16"), "--precisions"),
        (("--size", "320", "--precisions", "fp32"), "--size, --precisions"),
    ],
)
def test_bench_compare_backend_entries_refuse_the_width_options_they_would_ignore(
    extra: tuple[str, ...], named: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    """Defect: BACKEND:PRECISION entries silently ignored --widths, --size and --precisions
    (the table looked like an answer to them)."""
    from fault_helpers import run_cli

    import wds_edge.bench.backend_compare as backend_compare

    timed: list[object] = []
    monkeypatch.setattr(backend_compare, "compare_backends", lambda *a, **k: timed.append(a))
    out = tmp_path / "cmp"
    code, _, err = run_cli(capsys, "bench", "compare", "--source", tmp_path, "--backends",
                           "onnxruntime:fp32,openvino:bf16", *extra, "--out", out)  # fmt: skip
    assert code == 2, err
    assert f"{named} do" in err and "not apply to BACKEND:PRECISION entries" in err
    assert timed == [] and not out.exists()


def test_bench_compare_backend_entries_accept_what_they_do_anyway(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """--no-torch and --no-e2e (RESULTS.md's command has --no-torch) and --widths '' describe
    the entries' own run: accepted, the entries are timed."""
    import wds_edge.bench.backend_compare as backend_compare

    class Timed(Exception):
        pass

    def stand_in(*args: object, **kwargs: object) -> None:
        raise Timed

    monkeypatch.setattr(backend_compare, "compare_backends", stand_in)
    args = ["bench", "compare", "--source", str(tmp_path), "--backends", "onnxruntime:fp32",
            "--no-torch", "--no-e2e", "--widths", "", "--out", str(tmp_path / "cmp")]  # fmt: skip
    result = CliRunner().invoke(app, args)
    assert isinstance(result.exception, Timed), result.output
