"""Q/DQ quantization: what stays float32, the read-back of the kept nodes' types, the FP32
source recorded for the gate, and the call to ModelOpt (issue 22, items 2, 6, 10, 16).

ModelOpt cannot be installed in the test environment (it brings CUDA wheels); its route
was run for real in a separate venv (benchmarks/RESULTS.md, issue 22). Here a recording
stand-in checks the arguments against ModelOpt's documented defaults, and the read-back
is tested on a hand-made graph converted to FP16 the way ModelOpt's default does it.
"""

from __future__ import annotations

import importlib.machinery
import json
import re
import sys
import types
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper
from onnx_graphs import export_tiny_variants, scaled_head_model

from wds_edge.errors import ModelError
from wds_edge.io import sha256_file
from wds_edge.model.metadata import ModelMetadata
from wds_edge.runtime.probe_inputs import synthetic_skin_crops
from wds_edge_calibration.dataset import write_calibration_set
from wds_edge_calibration.qdq import check_fp32_nodes, fp32_nodes, quantize_qdq

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "wds_b4_128_dyn.onnx"


@pytest.fixture(scope="module")
def calib(tmp_path_factory: pytest.TempPathFactory) -> Any:
    return write_calibration_set(
        synthetic_skin_crops(128, 4), tmp_path_factory.mktemp("c") / "calib", source="synthetic",
        size_px=128, preprocessing_path="synthetic", people=["a"],
    )  # fmt: skip


def _graph(dtype: int) -> onnx.ModelProto:
    """RGB -> /preprocess/Div -> /head1/Conv -> /Sigmoid, computing in ``dtype`` (casts at
    the boundary as ModelOpt's FP16 conversion inserts them)."""
    weight = helper.make_tensor(
        "w",
        dtype,
        [1, 3, 1, 1],
        np.ones(3, np.float16 if dtype == TensorProto.FLOAT16 else np.float32).tolist(),
    )
    nodes = [
        helper.make_node("Cast", ["image"], ["x"], name="image_cast", to=dtype),
        helper.make_node("Div", ["x", "x"], ["t"], name="/preprocess/Div"),
        helper.make_node("Conv", ["t", "w"], ["logit"], name="/head1/Conv"),
        helper.make_node("Sigmoid", ["logit"], ["p"], name="/Sigmoid"),
        helper.make_node("Cast", ["p"], ["wrinkle_prob"], name="out_cast", to=TensorProto.FLOAT),
    ]
    graph = helper.make_graph(
        nodes, "g",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 3, 8, 8])],
        [helper.make_tensor_value_info("wrinkle_prob", TensorProto.FLOAT, [1, 1, 8, 8])],
        [weight],
    )  # fmt: skip
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def test_read_back_refuses_kept_nodes_converted_to_fp16() -> None:
    keep = ["/preprocess/Div", "/head1/Conv", "/Sigmoid"]
    assert check_fp32_nodes(_graph(TensorProto.FLOAT), keep)["tensor_types"] == ["FLOAT"]
    with pytest.raises(ModelError, match=r"FLOAT16.*high_precision_dtype='fp32'"):
        check_fp32_nodes(_graph(TensorProto.FLOAT16), keep)
    with pytest.raises(ModelError, match="none of the nodes"):
        check_fp32_nodes(_graph(TensorProto.FLOAT), ["/renamed/Div"])


def test_first_conv_head_and_last_decoder_block_stay_fp32() -> None:
    keep = set(fp32_nodes(onnx.load(str(FIXTURE))))
    assert {"/inc/inc.0/Conv", "/head1/Conv", "/Sigmoid", "/preprocess/Div"} <= keep
    assert {"/up4/Concat_2", "/up4/conv/conv.0/Conv", "/up4/conv/conv.3/Conv"} <= keep  # last block
    assert not any(name.startswith(("/up3/", "/down")) for name in keep)
    bare = set(fp32_nodes(onnx.load(str(FIXTURE)), keep_first_conv=False, keep_last_block=False))
    assert "/inc/inc.0/Conv" not in bare and "/up4/conv/conv.0/Conv" not in bare


def test_onnxruntime_route_records_source_and_checked_types(calib: Any, tmp_path: Path) -> None:
    out = quantize_qdq(FIXTURE, calib, tmp_path / "q.onnx", use_modelopt=False, max_crops=3)
    model = onnx.load(str(out))
    info = json.loads({p.key: p.value for p in model.metadata_props}["quantization"])
    assert info["source_sha256"] == sha256_file(FIXTURE)
    check = info["fp32_nodes_check"]
    assert check["checked"] + len(check["missing"]) == len(info["fp32_nodes"])
    assert all("/preprocess/Constant" in name for name in check["missing"])  # folded
    assert check["tensor_types"] == ["FLOAT", "INT64"]
    assert info["calibration"]["max_crops"] == 3
    producers = {o: n for n in model.graph.node for o in n.output}
    first_conv = next(n for n in model.graph.node if n.name == "/inc/inc.0/Conv")
    assert producers[first_conv.input[0]].op_type != "DequantizeLinear"


def _recording_modelopt(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """A stand-in for ``modelopt.onnx.quantization`` with the documented signature and
    defaults; it records the call and quantizes with ONNX Runtime (exclusions applied with
    ``re.match`` as ModelOpt does)."""
    calls: dict[str, Any] = {}

    def quantize(
        onnx_path: str, quantize_mode: str = "int8", calibration_data: Any = None,
        calibration_method: str | None = None, calibration_data_reader: Any = None,
        nodes_to_exclude: list[str] | None = None, output_path: str | None = None,
        high_precision_dtype: str = "fp16", **kwargs: Any,
    ) -> None:  # fmt: skip
        from onnxruntime import quantization as q

        names = [n.name for n in onnx.load(onnx_path).graph.node]
        excluded = [n for n in names if any(re.match(p, n) for p in nodes_to_exclude or [])]
        calls.update(high_precision_dtype=high_precision_dtype, excluded=excluded,
                     array=calibration_data is not None, kwargs=kwargs,
                     calibration_method=calibration_method)  # fmt: skip
        q.quantize_static(
            onnx_path, output_path, calibration_data_reader, quant_format=q.QuantFormat.QDQ,
            nodes_to_exclude=excluded, extra_options={"ActivationSymmetric": True},
        )  # fmt: skip

    package = types.ModuleType("modelopt")
    package.__path__ = []
    package.__spec__ = importlib.machinery.ModuleSpec("modelopt", None)  # find_spec finds it
    sub = types.ModuleType("modelopt.onnx")
    sub.__path__ = []
    mq = types.ModuleType("modelopt.onnx.quantization")
    mq.quantize = quantize
    for name, module in (("modelopt", package), ("modelopt.onnx", sub),
                         ("modelopt.onnx.quantization", mq)):  # fmt: skip
        monkeypatch.setitem(sys.modules, name, module)
    return calls


def test_modelopt_is_told_fp32_exact_names_and_streams_the_crops(
    calib: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = _recording_modelopt(monkeypatch)
    out = quantize_qdq(FIXTURE, calib, tmp_path / "q.onnx", use_modelopt=True)
    assert calls["high_precision_dtype"] == "fp32"  # ModelOpt's default is "fp16"
    assert sorted(calls["excluded"]) == fp32_nodes(onnx.load(str(FIXTURE)))
    assert not calls["array"]  # crops streamed through a reader, not one array
    info = json.loads({p.key: p.value for p in onnx.load(str(out)).metadata_props}["quantization"])
    assert info["tool"] == "nvidia-modelopt" and info["fp32_nodes_check"]["missing"] == []


@pytest.mark.usefixtures("untrained_model_gate")  # it marks every pixel
def test_quantize_cli_gates_on_the_held_out_crops(
    calib: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from typer.testing import CliRunner

    from wds_edge.cli import app
    from wds_edge.runtime.probe_inputs import synthetic_skin_crops

    held = write_calibration_set(
        synthetic_skin_crops(128, 3, seed=77), tmp_path / "held", source="synthetic",
        size_px=128, preprocessing_path="synthetic", people=["c"],
    )  # fmt: skip
    args = ["quantize", "--onnx", str(FIXTURE), "--calib", str(calib.path),
            "--out", str(tmp_path / "q.onnx"), "--json"]  # fmt: skip
    result = CliRunner().invoke(app, [*args, "--held-out", str(held.path)])
    assert result.exit_code == 0, result.output
    assert '"images": 3' in result.output and "optimistic" not in caplog.text
    result = CliRunner().invoke(app, args)
    assert '"images": 4' in result.output and "optimistic" in caplog.text


def test_quantize_cli_exits_1_when_the_gate_fails(
    calib: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    """A failed INT8 gate is exit 1 (a result that did not pass, like build-engine's), not
    the usage / unusable-model exit 2; nothing is written."""
    from wds_edge.cli import main

    monkeypatch.setattr("wds_edge.runtime.gate.GATE_MIN_MEAN_IOU", 1.01)  # no model meets it
    out = tmp_path / "q.onnx"
    with pytest.raises(SystemExit) as ended:
        main(["quantize", "--onnx", str(FIXTURE), "--calib", str(calib.path), "--out", str(out)])
    err = " ".join(capsys.readouterr().err.split())
    assert ended.value.code == 1, err
    assert "INT8 accuracy gate failed" in err and not out.exists()


@pytest.mark.usefixtures("untrained_model_gate")  # it marks every pixel
@pytest.mark.parametrize("bar", [None, 1.01])  # the gate passes / fails (no model meets 1.01)
def test_quantize_records_the_gate_in_the_model_and_the_runtime_warns_when_it_failed(
    bar: float | None, calib: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    """Defect: a Q/DQ model kept with --allow-accuracy-loss after a failed gate ran silently
    on the kiosk. The gate's record goes into its quantization metadata (the OpenVINO IR's
    shape), and every backend that loads a failed one warns; auto runs it (it was named)."""
    import logging

    from typer.testing import CliRunner

    from wds_edge.cli import app
    from wds_edge.runtime import load_backend
    from wds_edge.runtime.gate import GateResult, gate_record
    from wds_edge.runtime.probe_inputs import synthetic_skin_crops

    if bar is not None:
        monkeypatch.setattr("wds_edge.runtime.gate.GATE_MIN_MEAN_IOU", bar)
    held = write_calibration_set(
        synthetic_skin_crops(128, 3, seed=78), tmp_path / "held", source="synthetic",
        size_px=128, preprocessing_path="synthetic", people=["b"],
    )  # fmt: skip
    out = tmp_path / "q.onnx"
    result = CliRunner().invoke(app, [
        "quantize", "--onnx", str(FIXTURE), "--calib", str(calib.path), "--out", str(out),
        "--held-out", str(held.path), "--allow-accuracy-loss",
    ])  # fmt: skip
    assert result.exit_code == 0, result.output
    info = json.loads({p.key: p.value for p in onnx.load(str(out)).metadata_props}["quantization"])
    record = info["gate"]
    blank = GateResult("int8", 1, 1.0, 1.0, 0.0, 0.0, 0.0, 0.98, True)
    assert set(record) == set(gate_record(blank, measured_on="", crops_sha256=""))
    assert record["passed"] is (bar is None) and record["images"] == 3
    assert record["held_out"] and record["held_out_sha256"] == held.data_sha256
    assert record["held_out_people"] == ["b"] and record["measured_on"] == "onnxruntime CPU"
    monkeypatch.undo()  # the runtime reads the recorded verdict, not today's bar
    with caplog.at_level(logging.WARNING, logger="wds_edge.runtime"):
        with load_backend(out, "onnxruntime") as ort_backend:
            assert ort_backend.precision == "int8"
        with load_backend(out, "auto", device="CPU") as auto_backend:
            assert auto_backend.precision == "int8"  # named explicitly: it runs
    failed = f"{out}: this INT8 model did not pass its accuracy gate when it was made"
    assert (failed in caplog.text) is (bar is not None), caplog.text
    assert "accuracy-gate record" not in caplog.text


def test_quantize_refuses_crops_of_another_size_before_it_starts(
    calib: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The size check came after "step 1/2: calibrating and quantizing ..." (minutes on a
    kiosk-size model); the held-out crops were only checked after quantizing."""
    from wds_edge.cli import main
    from wds_edge.runtime.probe_inputs import synthetic_skin_crops

    small = write_calibration_set(
        synthetic_skin_crops(64, 2), tmp_path / "c64", source="synthetic", size_px=64,
        preprocessing_path="synthetic",
    )  # fmt: skip
    out = tmp_path / "q.onnx"
    for flags in (["--calib", str(small.path)],
                  ["--calib", str(calib.path), "--held-out", str(small.path)]):  # fmt: skip
        with pytest.raises(SystemExit) as ended:
            main(["quantize", "--onnx", str(FIXTURE), "--out", str(out), *flags])
        captured = capsys.readouterr()
        err = " ".join(captured.err.split())
        assert ended.value.code == 2 and "crops are 64 px" in err and "--size 128" in err, err
        assert "step 1/2" not in captured.out and not out.exists()


@pytest.mark.parametrize("method", ["entropy", "percentile"])
def test_histogram_methods_collect_a_bounded_number_of_crops_per_call(
    method: str, calib: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Defect: ONNX Runtime's histogram calibrators keep every output of every crop a
    collect_data call sees (6 crops of the bundled model: 4.3 GB), and the whole set went
    through one call. Each call now sees HISTOGRAM_CROPS_PER_CALL crops; all are seen."""
    from onnxruntime.quantization.calibrate import HistogramCalibrater

    from wds_edge_calibration.qdq import HISTOGRAM_CROPS_PER_CALL

    seen: list[int] = []
    collect = HistogramCalibrater.collect_data

    def counting_collect(self: Any, reader: Any) -> None:
        class Counting:
            def get_next(self) -> Any:
                batch = reader.get_next()
                seen[-1] += batch is not None
                return batch

        seen.append(0)
        collect(self, Counting())  # the real collector, on what the reader hands out

    monkeypatch.setattr(HistogramCalibrater, "collect_data", counting_collect)
    quantize_qdq(FIXTURE, calib, tmp_path / "q.onnx", use_modelopt=False, method=method)  # type: ignore[arg-type]
    assert sum(seen) == len(calib) and max(seen) <= HISTOGRAM_CROPS_PER_CALL, seen


@pytest.mark.usefixtures("untrained_model_gate")  # it marks every pixel
def test_modelopt_runs_the_method_asked_for_and_records_it(
    calib: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    """Defect: with ModelOpt installed --method was ignored (always ModelOpt's "max") but
    recorded as asked, and the status line said ONNX Runtime runs the model. minmax runs as
    ModelOpt's max, entropy as its entropy, percentile (ModelOpt has none) is refused, exit 2,
    before anything is written; the model records what ran."""
    from wds_edge.cli import main

    calls = _recording_modelopt(monkeypatch)  # installed: the CLI takes it
    for method, ran in (("minmax", "max"), ("entropy", "entropy")):
        out = tmp_path / f"{method}.onnx"
        with pytest.raises(SystemExit) as ended:
            main(["quantize", "--onnx", str(FIXTURE), "--calib", str(calib.path),
                  "--out", str(out), "--method", method])  # fmt: skip
        err = " ".join(capsys.readouterr().err.split())
        assert ended.value.code == 0, err
        assert calls["calibration_method"] == ran
        props = {p.key: p.value for p in onnx.load(str(out)).metadata_props}
        info = json.loads(props["quantization"])
        assert (info["tool"], info["method"], info["tool_method"]) == (
            "nvidia-modelopt",
            method,
            ran,
        )
        assert "NVIDIA ModelOpt runs the FP32 model" in err and "ONNX Runtime runs" not in err
        assert f"({method}: ModelOpt's {ran})" in err
    calls.clear()
    out = tmp_path / "percentile.onnx"
    with pytest.raises(SystemExit) as ended:
        main(["quantize", "--onnx", str(FIXTURE), "--calib", str(calib.path), "--out", str(out),
              "--method", "percentile"])  # fmt: skip
    err = " ".join(capsys.readouterr().err.split())
    assert ended.value.code == 2 and "NVIDIA ModelOpt is installed" in err, err
    assert "--method minmax" in err and not calls and not out.exists()
    info = json.loads(
        {p.key: p.value for p in onnx.load(str(quantize_qdq(
            FIXTURE, calib, tmp_path / "ort.onnx", use_modelopt=False, method="percentile",
        ))).metadata_props}["quantization"]
    )  # fmt: skip
    assert (info["method"], info["tool_method"]) == ("percentile", "Percentile")


@pytest.mark.parametrize("fmt", ["qdq", "openvino"])
def test_quantize_refuses_a_fixed_batch_model_before_it_starts(
    fmt: str, calib: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Defect: a model exported with --batch 2 ended both formats in a traceback (ONNX
    Runtime: 'Got: 1 Expected: 2'; OpenVINO: its reshape to one crop). Refused up front,
    exit 2, saying to re-export with --batch 1 or dynamic; nothing written."""
    from wds_edge.cli import main
    from wds_edge.runtime.probe_inputs import synthetic_skin_crops

    if fmt == "openvino":
        pytest.importorskip("nncf")
    model = onnx.load(str(FIXTURE))
    for value in (model.graph.input[0], model.graph.output[0]):
        value.type.tensor_type.shape.dim[0].dim_value = 2  # as export --batch 2 writes it
    next(p for p in model.metadata_props if p.key == "input_shape").value = "[2, 3, 128, 128]"
    fixed = tmp_path / "b2.onnx"
    onnx.save(model, str(fixed))
    held = write_calibration_set(
        synthetic_skin_crops(128, 2, seed=5), tmp_path / "held", source="synthetic",
        size_px=128, preprocessing_path="synthetic", people=["z"],
    )  # fmt: skip
    out = tmp_path / ("q.onnx" if fmt == "qdq" else "q.xml")
    with pytest.raises(SystemExit) as ended:
        main(["quantize", "--onnx", str(fixed), "--calib", str(calib.path), "--format", fmt,
              "--held-out", str(held.path), "--out", str(out)])  # fmt: skip
    err = " ".join(capsys.readouterr().err.split())
    assert ended.value.code == 2, err
    assert "takes a fixed batch of 2 images" in err and "--batch 1" in err and "dynamic" in err
    assert "Traceback" not in err and not out.exists()


def test_quantize_compares_grey_input_with_the_models(
    calib: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    """Defect: `calibrate --grey-input` was not recorded, so quantize could not tell that a
    colour model was calibrated on grey faces it never segments. The manifest records it;
    grey faces for a colour model are refused (exit 2, both formats), a set without them
    for a model that takes them is warned about; a manifest without it is not checked."""
    from wds_edge.cli import main
    from wds_edge.runtime.probe_inputs import synthetic_skin_crops
    from wds_edge_calibration.qdq import check_grey_input

    def crop_set(name: str, grey: bool | None, seed: int) -> Any:
        return write_calibration_set(
            synthetic_skin_crops(128, 2, seed=seed), tmp_path / name, source="synthetic",
            size_px=128, preprocessing_path="synthetic", people=[name],
            grey_input_supported=grey,
        )  # fmt: skip

    grey, colour = crop_set("grey", True, 1), crop_set("colour", False, 2)
    assert json.loads((grey.path / "manifest.json").read_text())["grey_input_supported"]
    assert "grey_input_supported" not in json.loads((calib.path / "manifest.json").read_text())
    for fmt, calib_, held in (("qdq", grey, colour), ("qdq", colour, grey),
                              ("openvino", grey, colour)):  # fmt: skip
        flags = ["--calib", calib_.path, "--held-out", held.path]
        out = tmp_path / ("q.onnx" if fmt == "qdq" else "q.xml")
        with pytest.raises(SystemExit) as ended:
            main(["quantize", "--onnx", str(FIXTURE), "--format", fmt, "--out", str(out),
                  *map(str, flags)])  # fmt: skip
        captured = capsys.readouterr()
        err = " ".join(captured.err.split())
        assert ended.value.code == 2 and "made with `wds-edge calibrate --grey-input`" in err, err
        assert "colour model" in err and "step 1/2" not in captured.out + err
        assert not out.exists()
    metadata = ModelMetadata.from_props(
        {p.key: p.value for p in onnx.load(str(FIXTURE)).metadata_props}
    ).model_copy(update={"grey_input_supported": True})
    check_grey_input(metadata, grey, "calibration")  # agrees: nothing said
    check_grey_input(metadata, calib, "calibration")  # not recorded: not checked
    assert "grey" not in caplog.text
    check_grey_input(metadata, colour, "calibration")
    assert "made without --grey-input" in caplog.text


def test_quantize_qdq_out_must_be_onnx(
    calib: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Defect: `quantize --format qdq --out m.xml` wrote an ONNX model named .xml, which
    the runtime then tried to load as an OpenVINO IR; the openvino route already refused an
    --out that is not .xml. Refused (exit 2) before anything starts."""
    from wds_edge.cli import main

    for name in ("m.xml", "m.int8"):
        out = tmp_path / name
        with pytest.raises(SystemExit) as ended:
            main(["quantize", "--onnx", str(FIXTURE), "--calib", str(calib.path),
                  "--out", str(out)])  # fmt: skip
        captured = capsys.readouterr()
        err = " ".join(captured.err.split())
        assert ended.value.code == 2 and "--out must be a Q/DQ .onnx path" in err, err
        assert "step 1/2" not in captured.out + err and not out.exists()


#: Exports whose first convolution does not read the [R, G, B, T] Concat itself, or whose
#: head convolution does not feed the Sigmoid itself: (WrinkleUNet arguments, export
#: options), and the nodes kept in float32 besides the first / head convolution.
EXPORTS = {
    "space_to_depth": (
        {"stem": "space_to_depth"}, {},
        {"/Reshape", "/Transpose", "/Reshape_1", "/DepthToSpace", "/Sigmoid"},
    ),
    "centred": ({"input_norm": "centred"}, {}, {"/Sub", "/Sigmoid"}),
    "texture_outside": ({}, {"texture_in_graph": False}, {"/Sigmoid"}),
    "s2d_centred_outside": (
        {"stem": "space_to_depth", "input_norm": "centred"}, {"texture_in_graph": False},
        {"/Sub", "/Mul", "/Reshape", "/Transpose", "/Reshape_1", "/DepthToSpace", "/Sigmoid"},
    ),
}  # fmt: skip
FIRST_CONV, HEAD_CONV = "/inc/inc.0/Conv", "/head1/Conv"


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One untrained base-4, 64 px network per export of :data:`EXPORTS`."""
    kinds = {kind: (arch, options) for kind, (arch, options, _) in EXPORTS.items()}
    return export_tiny_variants(tmp_path_factory.mktemp("exports"), kinds)


@pytest.mark.parametrize("kind", list(EXPORTS))
def test_first_and_head_convs_stay_fp32_through_layout_and_scaling_nodes(
    exported: dict[str, Path], kind: str, tmp_path: Path
) -> None:
    """Defect: the first conv was kept only when it read the texture Concat itself (centred
    models' Sub, space_to_depth stems' reshapes between, and a texture-outside model has no
    Concat at all), and the head walk stopped at a space_to_depth model's DepthToSpace:
    those convolutions ran INT8. Read back from the quantized graph, not from the names."""
    source = exported[kind]
    kept = set(fp32_nodes(onnx.load(str(source))))
    assert {FIRST_CONV, HEAD_CONV, *EXPORTS[kind][2]} <= kept
    assert {"/up4/conv/conv.0/Conv", "/up4/conv/conv.3/Conv"} <= kept  # the last block
    assert not any(name.startswith(("/down", "/inc/inc.3")) for name in kept)

    crops = synthetic_skin_crops(64, 2)
    calib = write_calibration_set(crops, tmp_path / "calib", source="synthetic", size_px=64,
                                  preprocessing_path="synthetic")  # fmt: skip
    model = onnx.load(str(quantize_qdq(source, calib, tmp_path / "q.onnx", use_modelopt=False)))
    producer = {o: n for n in model.graph.node for o in n.output}
    consumers: dict[str, list[Any]] = {}
    for node in model.graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)

    def quantized(tensor: str) -> bool:  # a DequantizeLinear of a quantized activation
        dq = producer.get(tensor)
        if dq is None or dq.op_type != "DequantizeLinear":
            return False
        q = producer.get(dq.input[0])  # None: an initializer (weights)
        return q is not None and q.op_type == "QuantizeLinear"

    by_name = {n.name: n for n in model.graph.node}
    assert any(n.op_type == "QuantizeLinear" for n in model.graph.node)  # it is INT8
    for name in (FIRST_CONV, HEAD_CONV):
        assert not any(quantized(i) for i in by_name[name].input), f"{name} reads INT8"
    # the logits reach the output in float32 (through DepthToSpace where there is one)
    tensor = by_name[HEAD_CONV].output[0]
    while tensor not in {o.name for o in model.graph.output}:
        (node,) = consumers[tensor]
        assert node.op_type != "QuantizeLinear", f"the logits are quantized before {tensor}"
        tensor = node.output[0]


def test_head_walk_follows_scalings_by_constants_but_not_joins() -> None:
    """The head conv is found through a Mul / Add by a constant (an initializer or a Constant
    node), not through an Add of two computed tensors (a skip join)."""

    kept = fp32_nodes(scaled_head_model(join=False), keep_last_block=False)
    assert {"/inc/Conv", "/head1/Conv", "/Mul", "/Add", "/Sigmoid"} <= set(kept)
    joined = fp32_nodes(scaled_head_model(join=True), keep_first_conv=False, keep_last_block=False)
    assert joined == ["/Sigmoid"]
