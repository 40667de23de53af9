"""INT8 IRs of one FP32 model with other keep lists, for timing and gate figures (issue 25).

Copies ``--onnx`` into ``--out/<name>/`` (``<name>``: ``--name``, default the file's stem;
no copy when ``--onnx`` already is that file) and quantizes it there with
:func:`wds_edge_calibration.openvino_int8.quantize_openvino_int8` on the calibration and
held-out sets ``scripts/make_bundled_int8.py --work DIR`` built (``DIR/calib``,
``DIR/held``), writing the IR next to the copy (where ``openvino:int8`` looks) even when the
gate fails (``allow_accuracy_loss``: these files are for measuring, never for a kiosk).

* ``all``: every convolution INT8 (only the texture subgraph kept out);
* ``cli``: the ``wds-edge quantize`` default (first conv, head and last decoder block FP32).

    python scripts/int8_keep_variants.py --onnx M.onnx --sets runs/i25_int8 --name b16 \
        --variant all [--out runs/i25_amx/models]

Prints one JSON line: the gate's mean and worst IoU, whether it passed and its verdict
(passed / failed / not gated).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

VARIANTS: dict[str, dict[str, bool]] = {
    "all": {"keep_first_conv": False, "keep_head": False, "keep_last_block": False},
    "cli": {},
}


def staged_model(onnx: Path, out: Path, name: str | None) -> Path:
    """``onnx`` copied to ``out/<name>/`` (``name``: default ``onnx``'s stem), where the IR
    goes next to it; no copy when ``onnx`` already is that file (a second variant of a model
    staged before)."""
    from wds_edge.io import same_file

    work = out / (name or onnx.stem)
    work.mkdir(parents=True, exist_ok=True)
    model = work / onnx.name
    if not same_file(onnx, model):
        shutil.copy(onnx, model)
    return model


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--onnx", type=Path, required=True)
    ap.add_argument("--sets", type=Path, required=True,
                    help="folder with calib/ and held/ (make_bundled_int8.py --work)")  # fmt: skip
    ap.add_argument("--name", default=None,
                    help="subfolder of --out for the copy and its IR (default: the "
                    "--onnx file's stem)")  # fmt: skip
    ap.add_argument("--variant", choices=sorted(VARIANTS), required=True)
    ap.add_argument("--out", type=Path, default=Path("runs/i25_amx/models"))
    args = ap.parse_args(argv)
    if not args.onnx.is_file():
        ap.error(f"--onnx {args.onnx}: no such file")
    from wds_edge_calibration.dataset import load_calibration_set
    from wds_edge_calibration.openvino_int8 import quantize_openvino_int8

    for sub in ("calib", "held"):
        if not (args.sets / sub).is_dir():
            raise SystemExit(f"{args.sets / sub} is missing: run scripts/make_bundled_int8.py "
                             f"--work {args.sets} first")  # fmt: skip
    model = staged_model(args.onnx, args.out, args.name)
    path, gate = quantize_openvino_int8(
        model, load_calibration_set(args.sets / "calib"), load_calibration_set(args.sets / "held"),
        allow_accuracy_loss=True, **VARIANTS[args.variant],
    )  # fmt: skip
    print(json.dumps({"model": str(model), "variant": args.variant, "ir": str(path),
                      "mean_iou": gate.mean_iou, "min_iou": gate.min_iou,
                      "passed": gate.passed, "gate": gate.verdict}))  # fmt: skip


if __name__ == "__main__":
    main()
