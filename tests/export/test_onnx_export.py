"""Export: single-file ONNX, metadata round trip, parity on kiosk face crops, annotate, GFLOPs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from onnx import TensorProto, helper

from wds_edge.bench.model_bench import conv_macs
from wds_edge.errors import InvalidInputError, ModelError
from wds_edge.model.metadata import ModelMetadata
from wds_edge.model.preprocessing import Preprocessing
from wds_edge_export.onnx_export import annotate_onnx, export_model, read_metadata
from wds_edge_export.parity import parity_on_crops
from wds_edge_train.model import WrinkleUNet

EXPORT_PX = 128


@pytest.mark.parametrize("texture_in_graph", [True, False])
def test_parity_on_kiosk_face_crops(
    proxy_model, kiosk_crops_128, tmp_path: Path, texture_in_graph: bool
) -> None:
    out = tmp_path / "m.onnx"
    md = export_model(proxy_model, out, input_size_px=EXPORT_PX, texture_in_graph=texture_in_graph)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.onnx"]  # one file, no external data
    crops = kiosk_crops_128 if texture_in_graph else kiosk_crops_128[:3]
    report = parity_on_crops(proxy_model, out, crops, md)
    assert report["images"] == len(crops) >= 3
    assert report["max_abs_diff"] <= 1e-4
    assert report["masks_identical"]
    # the masks are not trivially empty: the comparison means something
    with torch.no_grad():
        from wds_edge.model.preprocessing import model_input

        x = torch.from_numpy(model_input(kiosk_crops_128[2][1], "texture_in_graph"))
        from wds_edge_export.onnx_export import InferenceGraph

        frac = float((InferenceGraph(proxy_model).eval()(x) >= 0.5).float().mean())
    assert 0.005 < frac < 0.5


def test_dynamo_exporter_gives_the_same_single_file_model(
    proxy_model, kiosk_crops_128, tmp_path: Path
) -> None:
    out = tmp_path / "m.onnx"
    md = export_model(proxy_model, out, input_size_px=EXPORT_PX, batch="dynamic", exporter="dynamo")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.onnx"]
    assert md.dynamic_batch
    report = parity_on_crops(proxy_model, out, kiosk_crops_128[:4], md)
    assert report["max_abs_diff"] <= 1e-4
    assert report["masks_identical"]
    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    batch = np.zeros((2, 3, EXPORT_PX, EXPORT_PX), np.float32)
    assert session.run(None, {"image": batch})[0].shape == (2, 1, EXPORT_PX, EXPORT_PX)


def test_unknown_exporter_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match="exporter must be one of"):
        export_model(WrinkleUNet(base_channels=8), tmp_path / "m.onnx", exporter="jit")


def test_metadata_round_trip_through_onnxruntime(tmp_path: Path) -> None:
    model = WrinkleUNet(base_channels=8)
    out = tmp_path / "m.onnx"
    written = export_model(
        model,
        out,
        input_size_px=64,
        batch="dynamic",
        metadata_extra={"threshold": 0.4, "model_name": "test-net"},
        training_summary={"data": "DRIVE", "fold": 2, "metrics": {"val": {"jsi": 0.5}}},
    )
    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    props = session.get_modelmeta().custom_metadata_map
    back = ModelMetadata.from_props(props)
    assert back == written == read_metadata(out)
    assert back.input_shape == [-1, 3, 64, 64]
    assert back.threshold == 0.4 and back.training["fold"] == 2
    assert back.preprocessing is Preprocessing.TEXTURE_IN_GRAPH
    assert back.architecture.base_channels == 8
    assert back.architecture.parameters == sum(p.numel() for p in model.parameters())
    assert not any(k.startswith("onnxsim.") for k in props)
    inputs, outputs = session.get_inputs(), session.get_outputs()
    assert [i.name for i in inputs] == ["image"] and [o.name for o in outputs] == ["wrinkle_prob"]
    y = session.run(None, {"image": np.full((3, 3, 64, 64), 128, np.float32)})[0]
    assert y.shape == (3, 1, 64, 64) and y.min() >= 0 and y.max() <= 1


def test_model_mode_is_restored_and_bad_arguments_rejected(tmp_path: Path) -> None:
    model = WrinkleUNet(base_channels=8).train()
    export_model(model, tmp_path / "a.onnx", input_size_px=32, simplify=False)
    assert model.training
    with pytest.raises(InvalidInputError, match="multiple of 16"):
        export_model(model, tmp_path / "b.onnx", input_size_px=100)
    with pytest.raises(InvalidInputError, match="batch"):
        export_model(model, tmp_path / "b.onnx", input_size_px=32, batch="many")
    assert not (tmp_path / "b.onnx").exists()


def test_conv_macs_matches_hand_count() -> None:
    # one 3x3 conv, 4 -> 8 channels, on 1x4x10x10 with padding 1:
    # MACs = out elements (8 * 10 * 10) x (4 * 3 * 3) = 800 * 36 = 28,800
    w = helper.make_tensor("w", TensorProto.FLOAT, [8, 4, 3, 3], np.zeros(288, np.float32))
    node = helper.make_node("Conv", ["x", "w"], ["y"], pads=[1, 1, 1, 1])
    graph = helper.make_graph(
        [node],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4, 10, 10])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        [w],
    )
    assert conv_macs(helper.make_model(graph)) == 28_800


def test_gflops_of_base16_matches_design_card(tmp_path: Path) -> None:
    # DESIGN.md: base 16 is about 32 GFLOPs at 640 px (2 x MACs convention).
    md = export_model(WrinkleUNet(base_channels=16), tmp_path / "m.onnx", input_size_px=640)
    assert 30.0 < md.architecture.gflops < 34.0


def test_gflops_of_a_fixed_batch_are_per_image(tmp_path: Path) -> None:
    """Defect: --batch 3 recorded 3x the per-image GFLOPs its definition names."""
    torch.manual_seed(0)
    model = WrinkleUNet(base_channels=8)
    one, three = (
        export_model(model, tmp_path / f"b{n}.onnx", input_size_px=32, batch=n).architecture
        for n in (1, 3)
    )
    assert three.gflops == one.gflops > 0
    assert three.gflops_definition == "2 x conv MACs per image, counted from the ONNX graph"


def test_annotate_adds_metadata_to_a_bare_onnx(tmp_path: Path) -> None:
    bare = tmp_path / "bare.onnx"
    x = torch.zeros(1, 3, 32, 32)
    torch.onnx.export(
        torch.nn.Conv2d(3, 1, 1), (x,), str(bare), dynamo=False, input_names=["rgb"],
        output_names=["p"],
    )  # fmt: skip
    with pytest.raises(ModelError, match="--annotate"):
        ModelMetadata.from_props(
            {p.key: p.value for p in onnx.load(str(bare)).metadata_props}, source=str(bare)
        )
    md = annotate_onnx(bare, tmp_path / "annotated.onnx", fields={"threshold": 0.3})
    assert (md.input_name, md.output_name, md.input_shape) == ("rgb", "p", [1, 3, 32, 32])
    assert read_metadata(tmp_path / "annotated.onnx").threshold == 0.3


def _traced(path: Path, module: torch.nn.Module, dynamic: bool = False) -> Path:
    import warnings

    axes = {"rgb": {0: "n", 2: "h", 3: "w"}, "p": {0: "n", 2: "h", 3: "w"}} if dynamic else None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # the tracer, on purpose
        torch.onnx.export(
            module, (torch.zeros(1, 3, 32, 32),), str(path), dynamo=False, input_names=["rgb"],
            output_names=["p"], dynamic_axes=axes,
        )  # fmt: skip
    return path


@pytest.mark.parametrize(
    ("module", "dynamic", "message"),
    [
        (torch.nn.Conv2d(3, 2, 1), False, r"output 'p' is \[1, 2, 32, 32\], expected N x 1"),
        (torch.nn.Conv2d(3, 1, 1, stride=2), False,
         "output 'p' is 16 x 16 pixels, but the input is 32 x 32"),
        (torch.nn.Conv2d(3, 1, 1), True, "re-export at a fixed square size"),
    ],
    ids=["two_channels", "half_resolution", "dynamic_height_width"],
)  # fmt: skip
def test_annotate_refuses_a_graph_the_runtime_would_refuse(
    tmp_path: Path, module: torch.nn.Module, dynamic: bool, message: str
) -> None:
    """Defect: annotate wrote metadata onto a two-channel output, a half-resolution output
    and a dynamic height / width input; the first two then failed on load (or, half-res,
    on every frame with a region-mask shape error), the last with 'input size -1x-1 is not
    a square'. It runs the runtime's graph check (check_graph) first, and writes nothing."""
    source = _traced(tmp_path / "foreign.onnx", module, dynamic)
    before = source.read_bytes()
    out = tmp_path / "annotated.onnx"
    with pytest.raises(ModelError, match=message):
        annotate_onnx(source, out)
    with pytest.raises(ModelError, match=message):
        annotate_onnx(source)  # in place
    assert not out.exists() and source.read_bytes() == before


def test_annotate_checks_an_output_declared_without_a_shape(tmp_path: Path) -> None:
    """The output's size is inferred where the file does not declare it."""
    w = helper.make_tensor("w", TensorProto.FLOAT, [1, 3, 1, 1], np.zeros(3, np.float32))
    graph = helper.make_graph(
        [helper.make_node("Conv", ["x", "w"], ["y"], strides=[2, 2])], "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 32, 32])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], [w],
    )  # fmt: skip
    source = tmp_path / "shapeless.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), source)
    with pytest.raises(ModelError, match="output 'y' is 16 x 16 pixels"):
        annotate_onnx(source, tmp_path / "annotated.onnx")


@pytest.mark.parametrize(
    ("exporter", "opset"), [("dynamo", None), ("dynamo", 19), ("torchscript", 13)]
)
def test_metadata_records_the_exporter_and_the_opset_in_the_file(
    tmp_path: Path, exporter: str, opset: int | None
) -> None:
    """Defect: --exporter dynamo wrote opset max(opset, 18) while the metadata said 17, and
    which exporter ran was not recorded."""
    out = tmp_path / "m.onnx"
    md = export_model(WrinkleUNet(base_channels=8), out, input_size_px=32, exporter=exporter,
                      opset=opset, simplify=False)  # fmt: skip
    declared = next(
        o.version for o in onnx.load(str(out)).opset_import if o.domain in ("", "ai.onnx")
    )
    assert declared == (opset or {"dynamo": 18, "torchscript": 17}[exporter])
    arch = read_metadata(out).architecture.model_dump()
    assert arch["opset"] == declared and arch["exporter"] == exporter
    assert md.architecture.model_dump()["opset"] == declared
