"""An explicit OpenVINO BF16 / FP16 on the CPU is gated as ``auto`` gates it (DESIGN: every
reduced-precision model is gated against FP32 masks before it is used): the probe's row of
its cached decision, refused when it fails, not probed again on the next start."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("openvino", reason="the gate compares OpenVINO with ONNX Runtime")

from wds_edge.errors import AccuracyGateError, InvalidInputError  # noqa: E402
from wds_edge.runtime import auto, load_backend  # noqa: E402
from wds_edge.runtime.openvino import native_precisions  # noqa: E402

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "wds_b4_128_dyn.onnx"


def _reduced() -> list[str]:
    reduced = [p for p in ("bf16", "fp16") if p in native_precisions()]
    if not reduced:
        pytest.skip("this CPU runs neither BF16 nor FP16 natively")
    return reduced


@pytest.fixture
def probes(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[list[str]]:
    """The candidates of every probe that runs (the real probe, counted), in a user cache of
    this test's own (no decision of another test)."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    runs: list[list[str]] = []
    real = auto._probe

    def counted(path, candidates, num_threads):  # noqa: ANN001, ANN202
        runs.append(list(candidates))
        return real(path, candidates, num_threads)

    monkeypatch.setattr(auto, "_probe", counted)
    return runs


def test_a_reduced_precision_that_fails_the_gate_is_refused(
    probes: list[list[str]], caplog: pytest.LogCaptureFixture
) -> None:
    """The committed untrained model marks every pixel of the probe crops: the gate cannot
    check BF16 / FP16 ("not gated"), and an explicit one is refused as ``auto`` leaves it
    out; it loaded and ran with no gate and no warning."""
    for precision in _reduced():
        with pytest.raises(AccuracyGateError) as caught:
            load_backend(FIXTURE, "openvino", precision=precision, num_threads=1)
        text = str(caught.value)
        assert f"--backend openvino --precision {precision} did not pass the accuracy" in text
        assert "not gated: the FP32 model marks 1.00000 of the pixels" in text
        assert "Use --precision fp32, or --precision auto" in text
        assert "allow_accuracy_loss=True" in text
    # one probe, the one auto would run (every candidate), and its cached decision answers
    # the other precision and the next start
    assert len(probes) == 1 and probes[0] == auto.cpu_candidates(FIXTURE)
    with pytest.raises(AccuracyGateError):
        load_backend(FIXTURE, "openvino", precision=_reduced()[0], num_threads=1)
    assert len(probes) == 1
    # allow_accuracy_loss keeps it, with the gate's reason in a warning
    with (
        caplog.at_level("WARNING"),
        load_backend(
            FIXTURE, "openvino", precision=_reduced()[0], num_threads=1, allow_accuracy_loss=True
        ) as backend,
    ):
        assert backend.precision == _reduced()[0]
    assert "kept because accuracy loss was allowed" in caplog.text
    assert len(probes) == 1
    # FP32 needs no gate
    with load_backend(FIXTURE, "openvino", precision="fp32", num_threads=1) as backend:
        assert backend.precision == "fp32"


@pytest.mark.slow  # the probe of the 640 px model: ~20 s on 2 cores
def test_the_bundled_model_in_bf16_passes_and_is_not_probed_again(
    bundled_model: Path, probes: list[list[str]]
) -> None:
    if "bf16" not in native_precisions():
        pytest.skip("this CPU runs no BF16 natively")
    with load_backend(bundled_model, "openvino", precision="bf16", num_threads=1) as backend:
        first = backend.auto_decision  # type: ignore[attr-defined]
        assert backend.precision == "bf16" and not first.cached
        assert (first.backend, first.precision) == ("openvino", "bf16")
        row = next(r for r in first.rows if (r.backend, r.precision) == ("openvino", "bf16"))
        assert row.passed and row.mean_iou >= 0.98
    with load_backend(bundled_model, "openvino", precision="bf16", num_threads=1) as backend:
        assert backend.auto_decision.cached  # type: ignore[attr-defined]
    # the decision is auto's own (same key, same file): --precision auto reads it too
    with load_backend(bundled_model, "openvino", precision="auto", num_threads=1) as backend:
        assert backend.auto_decision.cached  # type: ignore[attr-defined]
    assert len(probes) == 1


def test_only_allow_accuracy_loss_of_the_tensorrt_options_goes_to_openvino() -> None:
    with pytest.raises(InvalidInputError, match="option.s. gate_crops are TensorRT's"):
        load_backend(FIXTURE, "openvino", precision="fp32", gate_crops="synthetic")
    with pytest.raises(InvalidInputError, match="option.s. allow_accuracy_loss are TensorRT's"):
        load_backend(FIXTURE, "onnxruntime", allow_accuracy_loss=True)


def test_the_cli_exits_1_naming_the_fix(capsys: pytest.CaptureFixture[str]) -> None:
    from fault_helpers import run_cli

    precision = _reduced()[0]
    code, _, err = run_cli(capsys, "bench", "model", "--model", FIXTURE, "--backend",
                           "openvino", "--precision", precision, "--runs", 1, "--warmup", 0,
                           "--threads", 1)  # fmt: skip
    assert code == 1, err
    assert f"--precision {precision} did not pass the accuracy gate" in err
    assert "Use --precision fp32" in err


@pytest.mark.parametrize("device", ["AUTO", "AUTO:CPU", "HETERO:CPU"])
def test_a_composite_device_that_runs_on_the_cpu_is_gated_as_the_cpu(
    probes: list[list[str]], caplog: pytest.LogCaptureFixture, device: str
) -> None:
    """auto's probe runs on the CPU, and so does a composite device whose compiled model
    executes on the CPU only (EXECUTION_DEVICES): its BF16 / FP16 is gated as the CPU's and
    refused when it fails (it ran with only a "not gated" warning)."""
    precision = _reduced()[0]
    with pytest.raises(AccuracyGateError, match=f"--precision {precision} did not pass"):
        load_backend(FIXTURE, "openvino", precision=precision, device=device, num_threads=1)
    assert len(probes) == 1
    with (
        caplog.at_level("WARNING"),
        load_backend(
            FIXTURE, "openvino", precision=precision, device=device, num_threads=1,
            allow_accuracy_loss=True,
        ) as backend,
    ):  # fmt: skip
        assert backend.precision == precision and backend.execution_devices == ["CPU"]
    assert "kept because accuracy loss was allowed" in caplog.text
    assert "is not gated" not in caplog.text
    assert len(probes) == 1  # the cached decision answered
