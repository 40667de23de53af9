"""`wds-edge export` checks its options before it exports or writes anything: bad values are
one-line exit-2 errors (not tracebacks), --annotate refuses the export-only options and keeps
the file's threshold, an existing Triton version is refused before --out is replaced."""

from __future__ import annotations

from pathlib import Path

import onnx
import pytest
from fault_helpers import run_cli

pytest.importorskip("torch", reason="wds-edge export needs torch")

SIZE = 64


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An untrained base-8 checkpoint trained (as far as its config says) on 64 px crops."""
    import torch

    from wds_edge_train.checkpoint import save_checkpoint
    from wds_edge_train.model import WrinkleUNet

    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("ckpt") / "c.pt"
    config = {"loss": "wds", "face_crop_px": SIZE}
    return save_checkpoint(path, model=WrinkleUNet(4, 8), config=config, metrics={}, epoch=1)


def _props(path: Path) -> dict[str, str]:
    return {p.key: p.value for p in onnx.load(str(path)).metadata_props}


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--batch", "abc"], "batch must be '1', 'dynamic' or a positive whole number"),
        (["--batch", "0"], "batch must be"),
        (["--parity-images", "nodir"], "--parity-images nodir does not exist"),
        (["--parity-images", "FILE"], "is not a folder"),
        (["--opset", "30"], "opsets 11 to 20"),
        (["--opset", "10"], "opsets 11 to 20"),
        (["--exporter", "dynamo", "--opset", "17"], "opsets 18 to 23"),
        (["--exporter", "jit"], "--exporter must be one of"),
        (["--threshold", "1.5"], "--threshold must be between 0 and 1"),
        (["--size", "100"], "--size 100 is not a positive multiple of 16"),
        (["--size", "0", "--allow-scale-mismatch"], "--size 0 is not a positive multiple of 16"),
    ],
)
def test_bad_export_options_are_one_line_errors(
    flags: list[str], message: str, checkpoint: Path, tmp_path: Path,
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """Defect: --batch abc (int()), --parity-images naming nothing or a file (iterdir), an
    opset the exporter cannot write (torch's errors) ended in tracebacks, after the
    checkpoint was loaded."""
    monkeypatch.chdir(tmp_path)
    flags = [str(checkpoint) if f == "FILE" else f for f in flags]
    out = tmp_path / "m.onnx"
    code, stdout, err = run_cli(capsys, "export", "--checkpoint", checkpoint, "--out", out, *flags)
    assert code == 2, (stdout, err)
    assert message in err and "Traceback" not in err
    assert not out.exists()


def test_annotate_refuses_what_it_cannot_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Defect: a missing file (FileNotFoundError) and a file that is not ONNX (protobuf
    DecodeError) ended in tracebacks."""
    text = tmp_path / "text.onnx"
    text.write_text("hello, not a model")
    out = tmp_path / "out.onnx"
    for source, message in ((tmp_path / "missing.onnx", "no such model file"),
                            (text, "cannot read it as an ONNX model")):  # fmt: skip
        code, _, err = run_cli(capsys, "export", "--annotate", source, "--out", out)
        assert code == 2 and message in err, err
        assert not out.exists()


def _bare_onnx(path: Path) -> Path:
    """A 1x1 conv RGB -> one channel, no wds-edge metadata."""
    import warnings

    import torch

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # the tracer, on purpose
        torch.onnx.export(
            torch.nn.Conv2d(3, 1, 1), (torch.zeros(1, 3, 32, 32),), str(path), dynamo=False,
            input_names=["rgb"], output_names=["p"],
        )  # fmt: skip
    return path


def test_annotate_keeps_the_threshold_and_refuses_export_only_options(
    checkpoint: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Defect: --annotate reset a model's threshold to 0.5 (the --threshold default was
    always passed), silently ignored --triton, --texture-outside, --size, --batch, --opset
    and --checkpoint (even a missing one), and wrote an architecture (base 16, leaky_relu)
    it cannot know."""
    bare = _bare_onnx(tmp_path / "bare.onnx")
    first = tmp_path / "a.onnx"
    code, _, err = run_cli(capsys, "export", "--annotate", bare, "--out", first,
                           "--threshold", "0.3")  # fmt: skip
    assert code == 0, err
    props = _props(first)
    assert props["threshold"] == "0.3"
    assert "architecture" not in props  # no base width or activation made up
    second = tmp_path / "b.onnx"
    code, _, err = run_cli(capsys, "export", "--annotate", first, "--out", second)
    assert code == 0, err
    assert _props(second)["threshold"] == "0.3"  # not reset to the option's default
    assert "architecture" not in _props(second)

    for flags in (["--triton", tmp_path / "triton"], ["--texture-outside"], ["--size", "32"],
                  ["--batch", "dynamic"], ["--opset", "13"], ["--checkpoint", "missing.pt"],
                  ["--no-parity"], ["--exporter", "dynamo"]):  # fmt: skip
        out = tmp_path / "c.onnx"
        code, _, err = run_cli(capsys, "export", "--annotate", first, "--out", out, *flags)
        assert code == 2, (flags, err)
        assert "--annotate writes metadata onto an existing ONNX file" in err
        assert str(flags[0]) in err and not out.exists()
        assert not (tmp_path / "triton").exists()


def test_export_and_annotate_stamp_the_model_name_and_version(
    checkpoint: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Defect: every export was 'wds-unet 0.0.0' (export had no way to name it), so results
    of different models could not be told apart by name (`wds-edge compare`)."""
    out = tmp_path / "m.onnx"
    code, _, err = run_cli(capsys, "export", "--checkpoint", checkpoint, "--out", out,
                           "--no-parity", "--model-name", "kiosk-unet",
                           "--model-version", "1.1.0")  # fmt: skip
    assert code == 0, err
    props = _props(out)
    assert (props["model_name"], props["model_version"]) == ("kiosk-unet", "1.1.0")
    renamed = tmp_path / "r.onnx"
    code, _, err = run_cli(capsys, "export", "--annotate", out, "--out", renamed,
                           "--model-version", "1.1.1")  # fmt: skip
    assert code == 0, err
    props = _props(renamed)
    assert (props["model_name"], props["model_version"]) == ("kiosk-unet", "1.1.1")
    for flags in (["--model-name", " "], ["--model-version", "1.0 "]):
        code, _, err = run_cli(capsys, "export", "--annotate", out, "--out", tmp_path / "x.onnx",
                               *flags)  # fmt: skip
        assert code == 2 and f"{flags[0]} must be a non-empty name" in err, err
        assert not (tmp_path / "x.onnx").exists()


def test_an_existing_triton_version_is_refused_before_out_is_replaced(
    checkpoint: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Defect: the refusal came from write_triton_repository after --out had been
    replaced, so the ONNX file and the Triton repository held different models."""
    out = tmp_path / "m.onnx"
    out.write_bytes(b"the previous model")
    triton = tmp_path / "triton"
    version = triton / "wds-unet" / "1" / "model.onnx"
    version.parent.mkdir(parents=True)
    version.write_bytes(b"the served model")
    code, _, err = run_cli(capsys, "export", "--checkpoint", checkpoint, "--out", out,
                           "--no-parity", "--triton", triton)  # fmt: skip
    assert code == 2 and "exists; pass --force" in err, err
    assert out.read_bytes() == b"the previous model"
    assert version.read_bytes() == b"the served model"
    code, _, err = run_cli(capsys, "export", "--checkpoint", checkpoint, "--out", out,
                           "--no-parity", "--triton", triton, "--force")  # fmt: skip
    assert code == 0, err
    assert version.read_bytes() == out.read_bytes() != b"the previous model"


def test_a_fixed_batch_export_passes_its_parity_check(
    proxy_model, face_photos, landmarker_path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:  # fmt: skip
    """Defect: --batch 4 (allowed by --help) fed the parity check one crop: an ONNX
    Runtime traceback. Every row of the batch is compared now."""
    from wds_edge_export.onnx_export import read_metadata
    from wds_edge_train.checkpoint import save_checkpoint

    ckpt = save_checkpoint(tmp_path / "p.pt", model=proxy_model, metrics={}, epoch=1,
                           config={"loss": "wds", "face_crop_px": 128})  # fmt: skip
    photos = tmp_path / "photos"
    photos.mkdir()
    (photos / face_photos[1].name).symlink_to(face_photos[1])
    out = tmp_path / "m.onnx"
    code, stdout, err = run_cli(capsys, "export", "--checkpoint", ckpt, "--out", out,
                                "--batch", "4", "--parity-images", photos,
                                "--landmarker", landmarker_path)  # fmt: skip
    assert code == 0, err
    md = read_metadata(out)
    assert md.input_shape[0] == 4
    assert md.parity["batch_rows"] == 4 and md.parity["masks_identical"]
    assert md.parity["nonfinite_values"] == {"pytorch": 0, "onnxruntime": 0}


def test_the_default_parity_photos_are_found_from_the_checkout_not_the_current_folder(
    checkpoint: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch, landmarker_path: Path,
) -> None:  # fmt: skip
    """README / MODEL_CARD's `export --checkpoint runs/mine/best.pt --out mine.onnx`, run from
    a project folder (its runs/ and labels/), failed with "no face photos for the parity
    report": the default shared/data/faces was looked up beside the current folder, not
    beside the checkout (where tests and scripts find it)."""
    checkout = Path(__file__).resolve().parents[3]
    faces = checkout.parent / "shared" / "data" / "faces"
    if not faces.is_dir():
        pytest.skip(f"no reference data beside the checkout ({faces})")
    monkeypatch.delenv("WDS_EDGE_SHARED", raising=False)
    project = tmp_path / "project"
    project.mkdir()
    monkeypatch.chdir(project)  # ../shared does not exist from here
    out = project / "mine.onnx"
    code, stdout, err = run_cli(capsys, "export", "--checkpoint", checkpoint, "--out", out,
                                "--no-simplify", "--landmarker", landmarker_path)  # fmt: skip
    assert code == 0, err
    assert "parity: PyTorch FP32 vs ONNX Runtime" in stdout and out.is_file()

    # still none there: the error says where it looked and what to pass
    monkeypatch.setenv("WDS_EDGE_SHARED", str(tmp_path / "elsewhere"))
    code, _, err = run_cli(capsys, "export", "--checkpoint", checkpoint, "--out", out)
    err = " ".join(err.split())
    assert code == 2, err
    assert f"no face photos (.jpg, .jpeg, .png) for the parity report in {tmp_path}" in err
    assert "--parity-images DIR" in err and "--no-parity" in err


def test_grey_input_marks_a_kiosk_augmented_model_and_refuses_others(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """No command could mark a model as grey-input: export always wrote
    grey_input_supported false and --annotate took no such option, yet `calibrate
    --grey-input` needs such a model and `train --augment kiosk` trains with grey input.
    --grey-input sets it for a checkpoint trained with the kiosk profile (also a pre-profile
    one: augment true), refuses any other before anything is written, and --annotate sets
    it on the caller's word."""
    import torch

    from wds_edge.model.metadata import ModelMetadata
    from wds_edge_train.checkpoint import save_checkpoint
    from wds_edge_train.model import WrinkleUNet

    def ckpt(name: str, **config: object) -> Path:
        torch.manual_seed(0)
        config = {"loss": "wds", "face_crop_px": SIZE, **config}
        return save_checkpoint(tmp_path / f"{name}.pt", model=WrinkleUNet(4, 8), config=config,
                               metrics={}, epoch=1)  # fmt: skip

    def grey(path: Path) -> bool:
        return ModelMetadata.from_props(_props(path)).grey_input_supported

    for name, augment in (("kiosk", "kiosk"), ("legacy", True)):
        out = tmp_path / f"{name}.onnx"
        code, _, err = run_cli(capsys, "export", "--checkpoint", ckpt(name, augment=augment),
                               "--out", out, "--no-parity", "--grey-input")  # fmt: skip
        assert code == 0, err
        assert grey(out)
    plain = tmp_path / "plain.onnx"
    code, _, err = run_cli(capsys, "export", "--checkpoint", ckpt("k2", augment="kiosk"),
                           "--out", plain, "--no-parity")  # fmt: skip
    assert code == 0 and not grey(plain), err  # only when asked for

    for name, config, said in (("paper", {"augment": "paper"}, "with --augment paper"),
                               ("old", {}, "does not record its augmentation")):  # fmt: skip
        out = tmp_path / f"{name}.onnx"
        code, _, err = run_cli(capsys, "export", "--checkpoint", ckpt(name, **config),
                               "--out", out, "--no-parity", "--grey-input")  # fmt: skip
        err = " ".join(err.split())
        assert code == 2, err
        assert said in err and "--augment kiosk" in err and "needs_colour_camera" in err
        assert not out.exists()

    marked = tmp_path / "marked.onnx"
    code, _, err = run_cli(capsys, "export", "--annotate", plain, "--out", marked,
                           "--grey-input")  # fmt: skip
    assert code == 0, err
    assert grey(marked) and not grey(plain)
    again = tmp_path / "again.onnx"  # a later --annotate without it keeps the file's own
    code, _, err = run_cli(capsys, "export", "--annotate", marked, "--out", again)
    assert code == 0 and grey(again), err


def test_annotate_without_out_rewrites_the_file_in_place(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Defect: `export --annotate M.onnx` without --out wrote ./model.onnx (the export's
    --out default), replacing any model.onnx there, and left M.onnx unannotated; the README
    reads it as in place."""
    monkeypatch.chdir(tmp_path)
    bystander = tmp_path / "model.onnx"
    bystander.write_bytes(b"another model")
    bare = _bare_onnx(tmp_path / "bare.onnx")
    code, _, err = run_cli(capsys, "export", "--annotate", bare, "--model-version", "2.0.0")
    assert code == 0, err
    assert _props(bare)["model_version"] == "2.0.0"
    assert bystander.read_bytes() == b"another model"


def test_out_may_not_be_the_checkpoint_or_the_bundled_default(
    checkpoint: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Defect: `-c victim.pt -o victim.pt` replaced the checkpoint with its ONNX, and an --out
    that is the bundled default model (also --annotate of it in place) broke it: its
    manifest's sha256 no longer matched. Both are refused before any work; --annotate of a
    file onto itself is annotating in place."""
    import shutil

    from wds_edge.io import sha256_file
    from wds_edge.model.bundled import default_model_path

    victim = shutil.copy(checkpoint, tmp_path / "victim.pt")
    before = sha256_file(victim)
    code, _, err = run_cli(capsys, "export", "-c", victim, "-o", victim, "--no-parity")
    assert code == 2 and f"--out {victim} is the checkpoint" in err, err
    assert sha256_file(victim) == before

    bundled = default_model_path()
    link = tmp_path / "default.onnx"  # the bundled file by another name (replaced, not it)
    link.symlink_to(bundled)
    for args, flag in ((["-c", checkpoint, "-o", link, "--no-parity"], "--out"),
                       (["--annotate", link], "--annotate"),
                       (["--annotate", link, "-o", link], "--out")):  # fmt: skip
        code, _, err = run_cli(capsys, "export", *args, "--model-version", "9.9.9")
        assert code == 2, (args, err)
        assert f"{flag} {link} is the bundled default model" in err
        assert "write_manifest" in err
        assert link.is_symlink()
    assert default_model_path() == bundled  # still matches its manifest

    own = _bare_onnx(tmp_path / "own.onnx")  # annotating a file onto itself: in place
    code, _, err = run_cli(capsys, "export", "--annotate", own, "-o", own)
    assert code == 0 and _props(own)["producer"] == "wds-edge", err


def test_no_parity_refuses_the_parity_options_and_a_missing_landmarker_is_found_first(
    checkpoint: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Defect: --no-parity silently ignored --parity-images and --landmarker, and a missing
    landmarker was found only by the parity report, after the whole export. Now the first is
    refused and the landmarker is looked up before the checkpoint is even loaded (the
    missing checkpoint below is never reached)."""
    photos = tmp_path / "photos"
    photos.mkdir()
    out = tmp_path / "m.onnx"
    for flags in (["--parity-images", photos], ["--landmarker", tmp_path / "lm.task"],
                  ["--parity-images", photos, "--landmarker", tmp_path / "lm.task"]):  # fmt: skip
        code, _, err = run_cli(capsys, "export", "-c", checkpoint, "-o", out, "--no-parity",
                               *flags)  # fmt: skip
        assert code == 2, (flags, err)
        assert "--no-parity skips the parity report" in err and str(flags[0]) in err
        assert not out.exists()

    (photos / "face.jpg").write_bytes(b"")  # never read: the landmarker is refused first
    missing = tmp_path / "missing.task"
    code, _, err = run_cli(capsys, "export", "-c", tmp_path / "missing.pt", "-o", out,
                           "--parity-images", photos, "--landmarker", missing)  # fmt: skip
    assert code == 2 and str(missing) in err and "missing.pt" not in err, err
    assert not out.exists()


def test_a_size_the_network_cannot_take_is_named_as_size_before_the_scale_check(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    """Defect: --size 100 was refused as a scale mismatch (a multiple of 16 would be too),
    and with --allow-scale-mismatch only after the export started, in words of the library
    (input_size_px); a space_to_depth checkpoint's --size 48 (a multiple of 16, not of 32)
    was first warned about as a scale change. The multiple of 16 is checked before the
    checkpoint is loaded (the missing one is never reached), the stem's 32 once it is, before
    the scale check."""
    import torch

    from wds_edge_train.checkpoint import save_checkpoint
    from wds_edge_train.model import WrinkleUNet

    out = tmp_path / "m.onnx"
    code, _, err = run_cli(capsys, "export", "-c", tmp_path / "missing.pt", "-o", out,
                           "--no-parity", "--size", "100")  # fmt: skip
    assert code == 2 and "--size 100 is not a positive multiple of 16" in err, err
    assert "use e.g. --size 96 or 112" in err and "missing.pt" not in err

    torch.manual_seed(0)
    stem = save_checkpoint(tmp_path / "stem.pt", model=WrinkleUNet(4, 8, stem="space_to_depth"),
                           config={"loss": "wds", "face_crop_px": SIZE}, metrics={},
                           epoch=1)  # fmt: skip
    code, _, err = run_cli(capsys, "export", "-c", stem, "-o", out, "--no-parity", "--size", "48",
                           "--allow-scale-mismatch")  # fmt: skip
    assert code == 2, err
    assert "--size 48 is not a positive multiple of 32 (the space_to_depth stem" in err
    assert "use e.g. --size 32 or 64" in err and "input_size_px" not in err
    assert "--allow-scale-mismatch" not in caplog.text  # no scale warning for a refused size
    assert not out.exists()
