"""Which layers must stay out of INT8: per-layer sensitivity of an NNCF INT8 model, measured.

Input: an INT8 IR quantized with *only* the Eq. 1 texture kept in FP32
(``quantize_openvino_int8(..., keep_first_conv=False, keep_head=False, keep_last_block=False,
allow_accuracy_loss=True)``), its FP32 ``.onnx``, and a folder of validation crops of the
*calibration* people (never the held-out people the gate uses: choosing the kept layers on
the gate's crops would tune the gate). In the IR, weights are stored INT8 (per output
channel) and every quantized activation passes a ``FakeQuantize``. The script groups the
activation quantizers by the convolution they feed and measures mask IoU vs FP32 (ONNX
Runtime) on the validation crops, each configuration compiled as the backend compiles INT8
(``INFERENCE_PRECISION_HINT=f32``):

* all quantizers (the INT8 model as made) and none (INT8 weights only);
* each convolution's input quantizers alone ("only"): that layer's own damage;
* all but that convolution's ("all but"): what keeping it in FP32 gains;
* then greedily, the most damaging first: keep layers in FP32 until the mean IoU reaches
  ``--target`` (default 0.985, a margin above the gate's 0.98).

It prints the table and the ``--keep-layers`` option to give ``scripts/make_bundled_int8.py``.

    python scripts/int8_sensitivity.py --onnx M.onnx --int8 full.int8.xml --val CALIB_DIR \\
        [--count 16] [--target 0.985] [--json F]
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from cpu_limits import cpu_line  # noqa: E402

from wds_edge.errors import OutputError  # noqa: E402
from wds_edge.io import ensure_writable_file, write_json_atomic  # noqa: E402
from wds_edge.model.metrics import mask_iou  # noqa: E402
from wds_edge.model.preprocessing import model_input  # noqa: E402
from wds_edge.runtime.onnxruntime import OnnxRuntimeBackend  # noqa: E402
from wds_edge_calibration.dataset import load_calibration_set  # noqa: E402

#: Ops an activation passes unchanged in scale on its way to a convolution.
_PASS_THROUGH = {"MaxPool", "Concat", "Interpolate", "Pad", "Reshape", "Transpose"}


def keep_layers_line(layers: list[str]) -> str:
    """The ``--keep-layers ...`` option of ``scripts/make_bundled_int8.py`` for ``layers``."""
    return "--keep-layers " + " ".join(shlex.quote(layer) for layer in sorted(layers))


def conv_layer(name: str) -> str:
    return name.removesuffix("/WithoutBiases")


def quantizer_groups(model: Any) -> dict[str, list[str]]:
    """Activation FakeQuantize names by the convolution(s) they feed (joined by ' + ')."""
    groups: dict[str, list[str]] = {}
    for op in model.get_ordered_ops():
        if op.get_type_name() != "FakeQuantize":
            continue
        convs, stack = set(), [op]
        while stack:
            node = stack.pop()
            for target in node.output(0).get_target_inputs():
                user = target.get_node()
                if user.get_type_name() == "Convolution":
                    convs.add(conv_layer(user.get_friendly_name()))
                elif user.get_type_name() in {*_PASS_THROUGH, "FakeQuantize"}:
                    stack.append(user)
        key = " + ".join(sorted(convs)) or "(no convolution)"
        groups.setdefault(key, []).append(op.get_friendly_name())
    return groups


def fp32_weights(core: Any, onnx: Path) -> dict[str, np.ndarray]:
    """The FP32 weights of every convolution of the ONNX model, by layer name."""
    weights = {}
    for op in core.read_model(str(onnx)).get_ordered_ops():
        if op.get_type_name() == "Convolution":
            source = op.input_value(1).get_node()
            if source.get_type_name() == "Constant":
                weights[conv_layer(op.get_friendly_name())] = source.get_data().copy()
    return weights


def evaluate(
    core: Any,
    ir: Path,
    restore: set[str],
    restore_weights: set[str],
    groups: dict[str, list[str]],
    weights: dict[str, np.ndarray],
    inputs: list[np.ndarray],
    refs: list[np.ndarray],
    threshold: float,
) -> tuple[float, float]:
    """(mean, worst) mask IoU vs the references with the input quantizers of the layers in
    ``restore`` removed and the INT8 weights of those in ``restore_weights`` replaced by the
    FP32 ones."""
    from wds_edge.runtime.openvino_graph import _opset

    ops = _opset()
    model = core.read_model(str(ir))
    bypass = {fq for layer in restore for fq in groups.get(layer, [])}
    for op in model.get_ordered_ops():
        if op.get_type_name() == "FakeQuantize" and op.get_friendly_name() in bypass:
            op.output(0).replace(op.input_value(0))
        layer = conv_layer(op.get_friendly_name())
        if op.get_type_name() == "Convolution" and layer in restore_weights and layer in weights:
            op.input(1).replace_source_output(ops.constant(weights[layer]).output(0))
    model.reshape([1, *inputs[0].shape[1:]])
    compiled = core.compile_model(model, "CPU", {"INFERENCE_PRECISION_HINT": "f32",
                                                 "PERFORMANCE_HINT": "LATENCY"})  # fmt: skip
    request = compiled.create_infer_request()
    ious = []
    for x, ref in zip(inputs, refs, strict=True):
        out = np.array(request.infer({0: x})[0]).reshape(ref.shape)
        ious.append(mask_iou(out >= threshold, ref >= threshold))
    return float(np.mean(ious)), float(np.min(ious))


def main(argv: list[str] | None = None) -> None:
    import openvino as ov

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--onnx", type=Path, required=True)
    ap.add_argument("--int8", type=Path, required=True, help="INT8 IR, only the texture kept")
    ap.add_argument("--val", type=Path, required=True, help="crops of the calibration people")
    ap.add_argument("--count", type=int, default=16, help="validation crops (evenly spread)")
    ap.add_argument("--target", type=float, default=0.985)
    ap.add_argument(
        "--order",
        default="",
        help="comma-separated layers, most damaging first (a previous run's "
        "table): skip the per-layer rows and only run the greedy search",
    )
    ap.add_argument("--json", type=Path)
    args = ap.parse_args(argv)
    for option, path in (("--onnx", args.onnx), ("--int8", args.int8)):
        if not path.is_file():
            ap.error(f"{option} {path}: no such file")
    if not args.val.is_dir():
        ap.error(f"--val {args.val}: no such folder (a calibration-format crop folder)")
    if args.json is not None:
        try:
            ensure_writable_file(args.json, "JSON report")  # before the long search
        except OutputError as exc:
            ap.error(str(exc))
    t_start = time.time()
    print(f"CPU: {cpu_line()}; load {os.getloadavg()[0]:.1f}")
    val = load_calibration_set(args.val)
    picks = np.linspace(0, len(val) - 1, min(args.count, len(val))).round().astype(int)
    with OnnxRuntimeBackend(args.onnx, providers=["CPUExecutionProvider"]) as ref:
        meta = ref.metadata
        inputs = [model_input(val.crop(int(i)), meta.preprocessing) for i in picks]
        refs = [ref.infer(x)[0, 0] for x in inputs]
    print(f"validation: {len(inputs)} crops of {', '.join(val.manifest.people) or '?'}")
    core = ov.Core()
    int8_model = core.read_model(str(args.int8))
    weights = fp32_weights(core, args.onnx)
    # a layer = a convolution with INT8 weights, and the activation quantizers feeding it
    groups = {
        conv_layer(op.get_friendly_name()): []
        for op in int8_model.get_ordered_ops()
        if op.get_type_name() == "Convolution"
        and op.input_value(1).get_node().get_type_name() != "Constant"  # INT8 weights
    }
    for key, names in quantizer_groups(int8_model).items():
        for layer in key.split(" + "):  # a quantizer shared by several layers: each owns it
            groups.setdefault(layer, []).extend(names)
    everything = set(groups)
    shared = {k: v for k, v in quantizer_groups(int8_model).items() if " + " in k}
    for key, names in shared.items():
        print(f"quantizers shared by {key}: {len(names)} (each layer's row removes them)")
    rows: dict[str, Any] = {}

    def run(label: str, restore: set[str], weights_too: bool = True) -> tuple[float, float]:
        mean, worst = evaluate(
            core, args.int8, restore, restore if weights_too else set(), groups, weights,
            inputs, refs, meta.threshold,
        )  # fmt: skip
        print(f"| {label} | {mean:.4f} | {worst:.4f} |", flush=True)
        return mean, worst

    print("\n| configuration | mean IoU | worst IoU |\n|---|---|---|")
    rows["all quantized"] = run("every layer INT8 (the model as made)", set())
    rows["weights only"] = run("INT8 weights, FP32 activations", everything, weights_too=False)
    rows["activations only"] = evaluate(
        core, args.int8, set(), everything, groups, weights, inputs, refs, meta.threshold
    )
    print(f"| INT8 activations, FP32 weights | {rows['activations only'][0]:.4f} | "
          f"{rows['activations only'][1]:.4f} |", flush=True)  # fmt: skip
    only: dict[str, tuple[float, float]] = {}
    all_but: dict[str, tuple[float, float]] = {}
    base = rows["all quantized"][0]
    if args.order:
        ranked = [layer.strip() for layer in args.order.split(",") if layer.strip()]
        unknown = [layer for layer in ranked if layer not in groups]
        if unknown:
            raise SystemExit(f"--order names unknown layers {unknown}; known: {sorted(groups)}")
    else:
        for layer in groups:
            only[layer] = run(f"only {layer} INT8", everything - {layer})
        for layer in groups:
            all_but[layer] = run(f"all but {layer} INT8", {layer})
        ranked = sorted(groups, key=lambda g: only[g][0])  # most damaging first
        print("\n| layer (weights + input quantizers) | IoU loss alone | IoU gain when kept FP32 |")
        print("|---|---|---|")
        for layer in ranked:
            print(f"| {layer} | {1 - only[layer][0]:.4f} | {all_but[layer][0] - base:+.4f} |")
    kept: list[str] = []
    greedy = []
    mean = base
    for layer in ranked:
        if mean >= args.target:
            break
        kept.append(layer)
        mean, worst = run(f"keep FP32: {', '.join(kept)}", set(kept))
        greedy.append({"kept": list(kept), "mean_iou": mean, "worst_iou": worst})
    layers = sorted(kept)
    print(f"\n{keep_layers_line(layers)}")
    print(f"took {time.time() - t_start:.0f} s; load {os.getloadavg()[0]:.1f}")
    if args.json:
        report = {"cpu": cpu_line(), "crops": len(inputs), "people": val.manifest.people,
                  "rows": rows, "only": only, "all_but": all_but, "greedy": greedy,
                  "keep_layers": layers}  # fmt: skip
        write_json_atomic(args.json, report)


if __name__ == "__main__":
    main()
