"""Rebuild the bundled model's OpenVINO INT8 IR, gated on other people's faces (issue 25).

Whatever FP32 model ``wds_edge/model/weights/default_model.json`` names is quantized with
NNCF (:func:`wds_edge_calibration.openvino_int8.quantize_openvino_int8`) on kiosk crops
(:mod:`wds_edge_calibration.people`: MediaPipe landmarks -> the kiosk's crop and quality gates;
photos augmented by scale, light and mirror) of the CALIBRATION people below, and gated
against ONNX Runtime FP32 on crops of the HELD-OUT people, who are other people. Kept in
FP32: the Eq. 1 texture subgraph, and the layers ``scripts/int8_sensitivity.py`` measured
as needing it (:data:`KEEP`; ``--keep-layers`` replaces its list of layers, e.g. with the
line ``scripts/int8_sensitivity.py`` prints). The IR is written next to the FP32 model
(``<model>.int8.xml`` / ``.bin``, where ``auto`` looks) and the manifest gets an ``int8``
entry: the FP32 sha256 it was made from, what was asked to stay FP32 (``keep``) and what did
(``kept_fp32_layers``), the gate figures, the people on each side.

Rerunnable: a bundled INT8 made from another FP32 file (stale) is replaced; when the new
model fails the gate, nothing is written and a stale INT8 and its entry are removed
(``auto`` would ignore it anyway). ``--check`` only verifies the bundled INT8 and exits 1
when it is stale or damaged.

People (``../shared/data``): calibration = faces/{astronaut (Eileen Collins), biden, biden2,
obama, obama3, obama_and_biden}, every 3rd frame of video/portrait_motion_720p.mp4 (made from
biden2) and faces_pd/{K000391, L000583, E000235, M001211, N000190, B000668, H000273};
held out = faces_pd/{B001260, B001291, grace_hopper, D000216, W000808, H000874}.
faces/obama2.jpg is left out (the same person as obama*.jpg); faces/ffhq_* are never used
(licence); 11 faces_pd portraits are reserved for another issue's held-out selection and
never read here (:data:`NEVER_USE`).

    python scripts/make_bundled_int8.py [--shared ../shared] [--work DIR] [--check] \
        [--keep-layers /inc/inc.3/Conv /up1/conv/conv.0/Conv ...]
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from _common import shared_root  # noqa: E402

from wds_edge.errors import InvalidInputError, ModelError  # noqa: E402
from wds_edge.io import sha256_file  # noqa: E402
from wds_edge.model.bundled import (  # noqa: E402
    bundled_int8_problems,
    default_model_path,
    read_manifest,
    write_manifest,
)
from wds_edge.model.texture_graph import onnx_texture_subgraph  # noqa: E402
from wds_edge.runtime.openvino import int8_model_path, read_ir_info  # noqa: E402
from wds_edge_calibration.people import PeopleSource, build_people_set  # noqa: E402

#: faces/ photo -> the people in it.
FACES = {
    "astronaut.png": ("eileen_collins",),
    "biden.jpg": ("biden",),
    "biden2.jpg": ("biden",),
    "obama.jpg": ("obama",),
    "obama3.jpg": ("obama",),
    "obama_and_biden.jpg": ("obama", "biden"),
}
CALIBRATION_PD = ("K000391", "L000583", "E000235", "M001211", "N000190", "B000668", "H000273")
HELD_OUT_PD = ("B001260", "B001291", "grace_hopper", "D000216", "W000808", "H000874")
#: The held-out faces of another issue's pre-registered selection rule: never read here.
NEVER_USE = frozenset({"C001131", "M001199", "S001218", "B000740", "C001066", "Z000018",
                       "H001072", "B001285", "B001301", "D000096", "W000187"})  # fmt: skip
VIDEO = ("video/portrait_motion_720p.mp4", ("biden",))
#: Layers kept out of INT8 besides the texture subgraph: the first conv, the head, the last
#: decoder block and the layers scripts/int8_sensitivity.py ranked most damaging, added until
#: the mean IoU on calibration people's crops stopped improving (issue 25's first pass; its
#: sensitivity figures were not recorded). 12 of the 19 convolutions. Even so the bundled
#: 1.0.0 fails the gate on the held-out people (mean IoU 0.945: benchmarks/RESULTS.md, issue 25).
KEEP: dict[str, object] = {
    "keep_first_conv": True,
    "keep_head": True,
    "keep_last_block": True,
    "keep_layers": (
        "/inc/inc.3/Conv",
        "/down1/down1.1/down1.1.3/Conv",
        "/down2/down2.1/down2.1.3/Conv",
        "/down3/down3.1/down3.1.3/Conv",
        "/down4/down4.1/down4.1.3/Conv",
        "/up1/conv/conv.0/Conv",
        "/up2/conv/conv.3/Conv",
        "/up3/conv/conv.0/Conv",
        "/up3/conv/conv.3/Conv",
    ),
}


def sources(shared: Path) -> tuple[list[PeopleSource], list[PeopleSource]]:
    data = shared / "data"
    calib = [PeopleSource(data / "faces" / name, people) for name, people in FACES.items()]
    calib += [PeopleSource(data / "faces_pd" / f"{p}.jpg", (p,)) for p in CALIBRATION_PD]
    calib.append(PeopleSource(data / VIDEO[0], VIDEO[1], frame_stride=3, max_crops=60))
    held = [PeopleSource(data / "faces_pd" / f"{p}.jpg", (p,)) for p in HELD_OUT_PD]
    for source in calib + held:
        if Path(source.path).stem in NEVER_USE or Path(source.path).stem.startswith("ffhq"):
            raise SystemExit(f"{source.path} must never be used here")
    return calib, held


def keep_settings(keep_layers: list[str] | None = None) -> dict[str, Any]:
    """:data:`KEEP`, its ``keep_layers`` replaced by ``keep_layers`` when given."""
    keep = dict(KEEP)
    if keep_layers is not None:
        keep["keep_layers"] = tuple(keep_layers)
    return keep


def check_keep_layers(model: Path, keep_layers: tuple[str, ...]) -> None:
    """Refuse a layer the model does not have (before the crops are built: minutes).

    Raises:
        InvalidInputError: a name that is no node of the model; the message lists its
            convolutions.
    """
    import openvino as ov

    from wds_edge_calibration.openvino_int8 import _named_nodes

    _named_nodes(ov.Core().read_model(str(model)), keep_layers)


def check(models_dir: Path | None = None) -> int:
    problems = bundled_int8_problems(models_dir)
    for problem in problems:
        print(f"bundled INT8: {problem}")
    if not problems:
        entry = read_manifest(models_dir).get("int8")
        print("bundled INT8: none" if entry is None else f"bundled INT8 {entry['file']}: sound")
    return 1 if problems else 0


def _drop_int8(model: Path) -> None:
    manifest = read_manifest(model.parent)
    ir = int8_model_path(model)
    for path in (ir, ir.with_suffix(".bin")):
        path.unlink(missing_ok=True)
    extra = {k: v for k, v in manifest.items() if k not in ("file", "sha256", "size_bytes",
                                                           "description", "int8")}  # fmt: skip
    write_manifest(model, manifest["description"], extra)


def build(shared: Path, work: Path, landmarker: Path, keep: dict[str, Any] | None = None) -> int:
    from wds_edge_calibration.openvino_int8 import quantize_openvino_int8

    keep = KEEP if keep is None else keep
    model = default_model_path()
    manifest = read_manifest(model.parent)
    calib_sources, held_sources = sources(shared)
    calib = build_people_set(calib_sources, work / "calib", landmarker_path=landmarker,
                             overwrite=True)  # fmt: skip
    held = build_people_set(held_sources, work / "held", landmarker_path=landmarker,
                            overwrite=True)  # fmt: skip
    print(f"calibration: {len(calib)} crops of {', '.join(calib.manifest.people)}")
    print(f"held out: {len(held)} crops of {', '.join(held.manifest.people)}")
    staged = work / "int8" / int8_model_path(model).name
    staged.parent.mkdir(parents=True, exist_ok=True)
    try:
        path, gate = quantize_openvino_int8(model, calib, held, staged, target_device="CPU",
                                            **keep)  # fmt: skip
    except ModelError as exc:
        print(f"INT8 refused: {exc}")
        if manifest.get("int8") is not None and bundled_int8_problems(model.parent):
            print("removing the stale bundled INT8 and its manifest entry")
            _drop_int8(model)
        return 1
    import openvino as ov

    info = read_ir_info(ov.Core().read_model(str(path)))
    target = int8_model_path(model)
    # .bin first: a reader that finds the new .xml also finds its weights
    shutil.copy(path.with_suffix(".bin"), target.with_suffix(".bin.tmp"))
    os.replace(target.with_suffix(".bin.tmp"), target.with_suffix(".bin"))
    shutil.copy(path, target.with_suffix(".xml.tmp"))
    os.replace(target.with_suffix(".xml.tmp"), target)
    import json

    calibration = json.loads(info["calibration"])
    import onnx

    sub = onnx_texture_subgraph(onnx.load(str(model), load_external_data=False).graph)
    texture = set(sub.nodes) if sub is not None else set()  # Eq. 1 runs FP32 on every route
    entry = {
        "file": target.name,
        "weights_file": target.with_suffix(".bin").name,
        "sha256": sha256_file(target),
        "weights_sha256": sha256_file(target.with_suffix(".bin")),
        "source_sha256": info["source_sha256"],
        "keep": {k: list(v) if isinstance(v, tuple) else v for k, v in keep.items()},
        "kept_fp32_layers": sorted(
            {
                n.removesuffix("/WithoutBiases")
                for n in calibration["kept_higher"]
                if n.removesuffix("/WithoutBiases") not in texture
            }
        ),  # fmt: skip
        "calibration_people": calib.manifest.people,
        "held_out_people": held.manifest.people,
        "calibration_crops": len(calib),
        "held_out_crops": len(held),
        "gate": json.loads(info["gate"]),
        "made_by": "scripts/make_bundled_int8.py",
    }
    extra = {k: v for k, v in manifest.items() if k not in ("file", "sha256", "size_bytes",
                                                           "description", "int8")}  # fmt: skip
    write_manifest(model, manifest["description"], {**extra, "int8": entry})
    print(f"wrote {target} and its manifest entry: {gate.reason}")
    return check()


def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--shared",
        type=Path,
        default=shared_root(),
        help="the reference data (default: $WDS_EDGE_SHARED, else ../shared)",
    )
    ap.add_argument("--work", type=Path, default=None, help="crop folders (default: a temp dir)")
    ap.add_argument("--check", action="store_true", help="only verify the bundled INT8")
    ap.add_argument("--keep-layers", nargs="+", default=None, metavar="LAYER",
                    help="ONNX layers kept out of INT8 besides the first conv, the head, the last "
                    "block and the texture (replaces KEEP's list of issue 25; "
                    "scripts/int8_sensitivity.py prints such a list)")  # fmt: skip
    return ap


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    ap = _parser()
    args = ap.parse_args(argv)
    if args.check:
        return check()
    keep = keep_settings(args.keep_layers)
    try:
        check_keep_layers(default_model_path(), keep["keep_layers"])
    except InvalidInputError as exc:
        ap.error(f"--keep-layers: {exc}")
    landmarker = args.shared / "models" / "face_landmarker.task"
    if args.work is not None:
        return build(args.shared, args.work, landmarker, keep)
    with tempfile.TemporaryDirectory(prefix="wds-int8-") as tmp:
        return build(args.shared, Path(tmp), landmarker, keep)


if __name__ == "__main__":
    sys.exit(main())
