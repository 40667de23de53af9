"""`wds-edge` commands: export, calibrate, quantize, build-engine.

``export`` needs torch (desktop); ``calibrate`` and ``quantize`` need no torch;
``build-engine`` runs on the kiosk and needs TensorRT 10 and an NVIDIA GPU. Heavy
imports happen inside the command bodies.
"""

from __future__ import annotations

import importlib.util
import json
import os
import time
from pathlib import Path
from typing import Any

import typer

from wds_edge.cli.console import plain
from wds_edge.cli.options import check_threshold, given_on_command_line
from wds_edge.errors import InvalidInputError


def _console() -> Any:
    from wds_edge.cli.console import make_console

    return make_console()


#: The checkout this package runs from (wds_edge/cli/export_cmds.py -> the repository root).
_CHECKOUT = Path(__file__).resolve().parents[2]


def _default_parity_folder() -> Path:
    """Where the parity report's face photos are by default: ``$WDS_EDGE_SHARED/data/faces``,
    else ``shared/data/faces`` beside the checkout (the rule of scripts/_common.shared_root
    and the tests), found from this package's location, not from the current folder: export
    runs from a project folder of runs and labels anywhere."""
    root = Path(os.environ.get("WDS_EDGE_SHARED") or _CHECKOUT.parent / "shared")
    return root / "data" / "faces"


def _default_parity_images() -> list[Path]:
    """Face photos for the parity report in :func:`_default_parity_folder` ([] if none)."""
    faces = _default_parity_folder()
    suffixes = (".jpg", ".jpeg", ".png")
    return (
        sorted(p for p in faces.glob("*") if p.suffix.lower() in suffixes) if faces.is_dir() else []
    )


def _print_parity(console: Any, parity: dict[str, Any]) -> None:
    from rich.table import Table

    table = Table(title="parity: PyTorch FP32 vs ONNX Runtime (kiosk face crops)")
    for col in ("crop", "max |diff|", "mask IoU", "identical mask"):
        table.add_column(col)
    for row in parity["per_image"]:
        table.add_row(
            plain(row["label"]), f"{row['max_abs_diff']:.2e}", f"{row['mask_iou']:.4f}",
            str(row["masks_identical"]),
        )  # fmt: skip
    console.print(table)
    console.print(
        f"max |diff| {parity['max_abs_diff']:.2e}, min mask IoU {parity['min_mask_iou']:.4f} "
        f"at threshold {parity['threshold']} over {parity['images']} crops"
    )


def _print_scale(console: Any, metadata: Any, whole_photos: bool = False) -> None:
    """Say which face-crop scale the model was exported at, loudly where it is not the
    trained one (``whole_photos``: the training labels were whole photos, not face crops)."""
    size = metadata.input_size_hw[0]
    face_px = metadata.training.get("face_crop_px")
    if face_px is None and whole_photos:
        data = metadata.training.get("data") or {}
        console.print(
            f"[yellow]warning:[/] the labels in {plain(data.get('path'))} are whole photos "
            "('wds-edge label --rough' without --crop-faces); the kiosk feeds face crops, so it "
            f"shows the model faces at another scale than it learned (exported at {size} px). "
            "Label with --crop-faces and train again"
        )
    elif face_px is None:
        console.print(
            f"[yellow]note:[/] the checkpoint does not record the face-crop size of its "
            f"training labels (not 'wds-edge label' face crops: other data, 'label --rough' "
            f"of whole photos without --crop-faces, or trained by an older wds-edge): "
            f"exported at {size} px; pass the labels' --crop-size as --size if it differs"
        )
    elif face_px != size:
        console.print(
            f"[yellow]warning:[/] input {size} px, but the model was trained on {face_px} px "
            f"face crops: the kiosk shows it faces at {size / face_px:.2f}x the scale it "
            "learned (--allow-scale-mismatch)"
        )
    else:
        console.print(f"input {size} px = the {face_px} px face crops the model was trained on")


#: ``export`` options that only an export uses (``--annotate`` refuses them: it writes
#: metadata onto a graph that exists, it exports nothing).
_EXPORT_ONLY = {
    "checkpoint": "--checkpoint",
    "size": "--size",
    "allow_scale_mismatch": "--allow-scale-mismatch",
    "opset": "--opset",
    "batch": "--batch",
    "exporter": "--exporter",
    "simplify": "--simplify/--no-simplify",
    "texture_in_graph": "--texture-in-graph/--texture-outside",
    "parity_images": "--parity-images",
    "no_parity": "--no-parity",
    "landmarker": "--landmarker",
    "triton": "--triton",
    "force": "--force",
}


#: ``export`` options of the parity report (``--no-parity`` refuses them: they would be ignored).
_PARITY_ONLY = {"parity_images": "--parity-images", "landmarker": "--landmarker"}


def _parity_photos(parity_images: Path | None) -> list[Path]:
    """The face photos of the parity report (--parity-images DIR, else the default folder)."""
    if parity_images is None:
        images = _default_parity_images()
    elif not parity_images.is_dir():
        state = "is not a folder" if parity_images.exists() else "does not exist"
        raise InvalidInputError(
            f"--parity-images {parity_images} {state}: pass a folder of face photos "
            "(.jpg, .jpeg, .png), or --no-parity to skip the parity report"
        )
    else:
        images = sorted(
            p for p in parity_images.iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png")
        )
    if not images:
        where = parity_images if parity_images is not None else _default_parity_folder()
        default = (
            "" if parity_images is not None
            else " (the default: $WDS_EDGE_SHARED/data/faces, else ../shared/data/faces beside "
            "the wds-edge checkout)"
        )  # fmt: skip
        raise InvalidInputError(
            f"no face photos (.jpg, .jpeg, .png) for the parity report in {where}{default}: "
            "pass --parity-images DIR (face photos kept out of training) or --no-parity"
        )
    return images


def _refuse_overwriting_inputs(
    out: Path, checkpoint: Path | None = None, flag: str = "--out"
) -> None:
    """Refuse an --out that is the checkpoint exported from, or the bundled default model
    (its manifest would no longer match it), before any work starts. ``--annotate M.onnx
    --out M.onnx`` is allowed: that is annotating in place (``flag`` names the option that
    gave ``out``).

    Raises:
        InvalidInputError: what --out is, and what to pass instead.
    """
    from wds_edge.errors import ModelError
    from wds_edge.io import same_file
    from wds_edge.model.bundled import default_model_path

    if not out.exists():
        return
    if checkpoint is not None and same_file(out, checkpoint):
        raise InvalidInputError(
            f"--out {out} is the checkpoint --checkpoint: the ONNX file would replace the "
            "checkpoint it is exported from; pass another --out"
        )
    try:
        bundled = default_model_path()
    except ModelError:  # no bundled model, or one already damaged: nothing to protect
        return
    if same_file(out, bundled):
        raise InvalidInputError(
            f"{flag} {out} is the bundled default model {bundled}: changing it breaks its "
            "manifest (default_model.json beside it), so every use of the default model would "
            "be refused by its sha256 check. Write another --out; to install a model as the "
            'new default, copy it over that file and then record it with `python -c "from '
            "wds_edge.model.bundled import write_manifest; write_manifest('"
            f"{bundled}', 'my model')\"` (MODEL_CARD.md)"
        )


def _export(
    ctx: typer.Context,
    checkpoint: Path | None = typer.Option(
        None, "--checkpoint", "-c", help="Training checkpoint (wds-edge train) to export."
    ),
    out: Path | None = typer.Option(
        None,
        "--out",
        "-o",
        help="ONNX file to write (default: model.onnx; with --annotate: the annotated file "
        "itself, in place).",
    ),
    size: int | None = typer.Option(
        None,
        "--size",
        help="Square input size in pixels (a multiple of 16; of 32 for a checkpoint trained "
        "with --stem space_to_depth): the size the kiosk crops faces "
        "at. Default: the face-crop size the checkpoint was trained on (wds-edge label "
        "--crop-size, recorded by wds-edge train), 640 where unknown. A different size is "
        "refused unless --allow-scale-mismatch is given.",
    ),
    allow_scale_mismatch: bool = typer.Option(
        False,
        "--allow-scale-mismatch",
        help="Export at a --size other than the trained face-crop size: the kiosk then shows "
        "the model faces at a scale it did not learn (its scores shift).",
    ),
    opset: int | None = typer.Option(
        None,
        "--opset",
        help="ONNX opset: 11-20 with torchscript (default 17, what TensorRT 10 takes), 18-23 "
        "with dynamo (default 18). The metadata records the opset the file declares. `wds-edge "
        "quantize --format qdq` needs >= 13 (its per-channel INT8 weights).",
    ),
    batch: str = typer.Option(
        "1", "--batch", help="'1', 'dynamic' or a fixed batch size (a whole number >= 1)."
    ),
    exporter: str = typer.Option(
        "torchscript",
        "--exporter",
        help="torchscript (default: the tracer, classic ops) or dynamo (torch.export; needs "
        "onnxscript, opset >= 18). Both write one self-contained file; the metadata records "
        "which one ran.",
    ),
    simplify: bool = typer.Option(
        True, "--simplify/--no-simplify", help="Simplify with onnxsim (onnxslim fallback)."
    ),
    texture_in_graph: bool = typer.Option(
        True,
        "--texture-in-graph/--texture-outside",
        help="Compute the Eq. 1 texture map inside the graph (input RGB 0-255) or on the host.",
    ),
    threshold: float | None = typer.Option(
        None,
        "--threshold",
        help="Mask threshold stored in metadata (default: the checkpoint config's threshold, "
        "0.5 unless the run set another through the training API, TrainConfig.threshold; "
        "with --annotate: the file's own, 0.5 where it has none).",
    ),
    parity_images: Path | None = typer.Option(
        None,
        "--parity-images",
        help="Folder of face photos for the parity report (default: $WDS_EDGE_SHARED/data/"
        "faces, else ../shared/data/faces beside the wds-edge checkout).",
    ),
    no_parity: bool = typer.Option(
        False,
        "--no-parity",
        help="Skip the parity report (then --parity-images and --landmarker are refused).",
    ),
    landmarker: Path | None = typer.Option(
        None,
        "--landmarker",
        help="face_landmarker.task for the parity crops (default: where `wds-edge models "
        "path` finds it); checked before anything is exported.",
    ),
    triton: Path | None = typer.Option(
        None,
        "--triton",
        help="Also write a Triton model repository into this folder (an existing version "
        "is refused before anything is exported, unless --force).",
    ),
    model_name: str | None = typer.Option(
        None,
        "--model-name",
        help="model_name stored in metadata (default 'wds-unet'; with --annotate: the file's "
        "own). Results carry it, and `wds-edge compare` refuses results of different names.",
    ),
    model_version: str | None = typer.Option(
        None,
        "--model-version",
        help="model_version stored in metadata (default '0.0.0'; with --annotate: the file's "
        "own): give each trained model its own, so results say which one scored them.",
    ),
    grey_input: bool = typer.Option(
        False,
        "--grey-input",
        help="Mark the model as trained for grey (mono / IR camera) faces (metadata "
        "grey_input_supported): the analyzer then segments grey faces instead of giving them "
        "the status needs_colour_camera, and `wds-edge calibrate --grey-input` collects grey "
        "crops for it. Refused unless the checkpoint was trained with --augment kiosk (its "
        "camera effects include a grey sensor); with --annotate it marks the file as given.",
    ),
    annotate: Path | None = typer.Option(
        None,
        "--annotate",
        help="Add wds-edge metadata to this existing ONNX file (in place, or written to --out) "
        "and exit; takes only --out, --threshold, --model-name, --model-version and "
        "--grey-input.",
    ),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing Triton version."),
) -> None:
    """Export a checkpoint to one self-contained ONNX file with metadata and a parity report."""
    console = _console()
    check_threshold(
        threshold,
        "omit it for the checkpoint's training threshold (with --annotate: the file's own)",
    )
    fields: dict[str, Any] = {} if threshold is None else {"threshold": threshold}
    for flag, key, value in (
        ("--model-name", "model_name", model_name),
        ("--model-version", "model_version", model_version),
    ):
        if value is not None:
            if not value.strip() or value != value.strip():
                raise InvalidInputError(
                    f"{flag} must be a non-empty name without leading or trailing spaces, got "
                    f"{value!r}"
                )
            fields[key] = value
    if annotate is not None:
        if grey_input:  # what the caller says of the file: there is no checkpoint to ask
            fields["grey_input_supported"] = True
        refused = given_on_command_line(ctx, _EXPORT_ONLY)
        if refused:
            raise InvalidInputError(
                f"--annotate writes metadata onto an existing ONNX file and exports nothing: "
                f"{', '.join(refused)} would be ignored; leave them out (--annotate takes "
                "--out, --threshold, --model-name, --model-version and --grey-input) or export "
                "a checkpoint with --checkpoint"
            )
        from wds_edge.io import ensure_writable_file
        from wds_edge_export.onnx_export import annotate_onnx

        target = annotate if out is None else out  # no --out: the file itself, in place
        _refuse_overwriting_inputs(target, flag="--out" if out is not None else "--annotate")
        ensure_writable_file(target, "model")
        md = annotate_onnx(annotate, target, fields=fields)
        console.print(
            f"annotated {annotate} -> {target}: input {md.input_name} {md.input_shape}",
            markup=False,
        )
        return
    if checkpoint is None:
        raise InvalidInputError("pass --checkpoint CKPT (or --annotate MODEL.onnx)")
    if out is None:
        out = Path("model.onnx")
    _refuse_overwriting_inputs(out, checkpoint)
    from wds_edge.io import ensure_writable_dir, ensure_writable_file
    from wds_edge_export.onnx_export import (
        DEFAULT_OPSETS,
        EXPORTERS,
        check_opset,
        check_size_px,
        export_checkpoint,
        parse_batch,
    )

    # every option checked before anything is loaded, exported or written
    if exporter not in EXPORTERS:
        raise InvalidInputError(
            f"--exporter must be one of {', '.join(EXPORTERS)}, got {exporter!r}"
        )
    opset = check_opset(DEFAULT_OPSETS[exporter] if opset is None else opset, exporter)
    batch_value = parse_batch(batch)
    if size is not None:  # a multiple of 16; of 32 for a space_to_depth checkpoint, once loaded
        check_size_px(size)
    if no_parity:
        ignored = given_on_command_line(ctx, _PARITY_ONLY)
        if ignored:
            options, verb, them = (
                (ignored[0], "configures", "it") if len(ignored) == 1
                else (" and ".join(ignored), "configure", "them")
            )  # fmt: skip
            raise InvalidInputError(
                f"--no-parity skips the parity report, and {options} only {verb} it: leave "
                f"{them} out, or drop --no-parity to run the report"
            )
    ensure_writable_file(out, "model", min_free_bytes=64 << 20)
    if triton is not None:
        from wds_edge_export.triton import triton_model_path

        ensure_writable_dir(triton, "Triton model repository")
        # refused here, not after --out was replaced: the two would then disagree
        triton_model_path(triton, model_name, overwrite=force)  # the folder it will write
    images = [] if no_parity else _parity_photos(parity_images)
    if images:  # a missing face landmarker: refused now, not after the whole export
        from wds_edge.perception.landmarker_model import resolve_face_landmarker

        landmarker = resolve_face_landmarker(landmarker)
    with console.status("exporting..."):
        report = export_checkpoint(
            checkpoint, out, parity_images=images, landmarker_path=landmarker, input_size_px=size,
            opset=opset, batch=batch_value, texture_in_graph=texture_in_graph, simplify=simplify,
            exporter=exporter, allow_scale_mismatch=allow_scale_mismatch, metadata_extra=fields,
            grey_input=grey_input,
        )  # fmt: skip
    from wds_edge_export.onnx_export import trained_on_whole_photos

    _print_scale(console, report.metadata, trained_on_whole_photos(report.metadata.training))
    arch = report.metadata.architecture
    console.print(
        f"wrote {report.path} ({report.size_bytes / 1e6:.1f} MB, "
        f"sha256 {report.onnx_sha256[:12]}), "
        f"input {report.metadata.input_shape}, {arch.parameters:,} parameters, "
        f"{arch.gflops} GFLOPs",
        markup=False,
    )
    if report.parity:
        _print_parity(console, report.parity)
    if triton is not None:
        from wds_edge_export.triton import write_triton_repository

        model_dir = write_triton_repository(report.path, triton, overwrite=force)
        console.print(f"Triton model repository: {model_dir}", markup=False)


def _calibrate(
    ctx: typer.Context,
    source: str = typer.Option(
        ..., "--source", "-s", help="Folder of face photos, a video file or a camera (0, csi://0)."
    ),
    out: Path = typer.Option(..., "--out", "-o", help="Calibration folder to create."),
    count: int = typer.Option(500, "--count", help="Face crops to collect (>= 300 recommended)."),
    size: int = typer.Option(
        640,
        "--size",
        help="Crop size = the model's input size in pixels (`wds-edge export` prints it: the "
        "labels' --crop-size); quantize and build-engine refuse crops of another size.",
    ),
    stride: int = typer.Option(1, "--stride", help="Video: use every n-th frame."),
    landmarker: Path | None = typer.Option(None, "--landmarker", help="face_landmarker.task."),
    force: bool = typer.Option(False, "--force", help="Replace an existing calibration folder."),
    person: list[str] | None = typer.Option(
        None,
        "--person",
        metavar="NAME",
        help="Who every crop of --source shows (a name or id; repeat it for a source that "
        "shows several people). Recorded in the manifest: `wds-edge quantize` refuses a "
        "--held-out set that shares a person with --calib. Default: a video file's frames are "
        "one unnamed person identified by the video's content, so quantize refuses only the "
        "same video on both sides and warns about anything else (give --person to have two "
        "videos or photos of one person refused); photos and cameras name nobody.",
    ),
    people_csv: Path | None = typer.Option(
        None,
        "--people-csv",
        help="A folder of photos of several people: a CSV of photo,person rows (the photo as "
        "its path relative to the CSV's folder, or its file name or stem when no other photo "
        "shares it; a row per person in a group photo) naming who each photo shows; every "
        "photo needs a row.",
    ),
    grey_input: bool = typer.Option(
        False,
        "--grey-input",
        help="Keep grey (monochrome / IR camera) faces: for a model whose metadata says "
        "grey_input_supported (trained with --augment kiosk and exported with `wds-edge "
        "export --grey-input`); by default they are refused, as the analyzer refuses them for "
        "a colour model (needs_colour_camera). Recorded in the manifest: `wds-edge quantize` "
        "refuses such crops for a colour model.",
    ),
) -> None:
    """Collect INT8 calibration crops through the kiosk's capture -> landmarks -> crop path,
    recording who they show (--person / --people-csv; a video file: one unnamed person).
    A video that ends before its frame count (a truncated file) keeps the crops of the
    frames before the cut and exits 1."""
    from wds_edge.capture.sources import require_local_source
    from wds_edge.cli.console import make_console, progress_bar
    from wds_edge.cli.outputs import claim_output_dir
    from wds_edge_calibration.build import build_calibration_set
    from wds_edge_calibration.dataset import MIN_RECOMMENDED_CROPS

    console = _console()
    require_local_source(source)  # a missing --source: exit 2, before any folder is made
    # before collecting, not after; the folders it makes go again if the run fails
    claim_output_dir(ctx, out.parent, "calibration folder")
    rejected: dict[str, int] = {}
    truncated: dict[str, int | None] = {}
    with progress_bar("crops", total=count, transient=False) as update:
        calib = build_calibration_set(
            source, out, count=count, size_px=size, frame_stride=stride,
            landmarker_path=landmarker, overwrite=force,
            progress=update, rejected=rejected, people=person or (), people_csv=people_csv,
            grey_input_supported=grey_input, truncated=truncated,
        )  # fmt: skip
    console.print(f"wrote {len(calib)} crops ({size} px) to {calib.path}", markup=False)
    who = calib.manifest.people
    if calib.manifest.people_derived:
        console.print(
            f"recorded as one unnamed person, {plain(who[0])} (the video's content): `wds-edge "
            "quantize` refuses a held-out set of this same video and only warns about others "
            "(--person NAME names who it shows; the same name on two sets is one person)"
        )
    elif who:
        console.print(f"people recorded: {', '.join(who)}", markup=False)
    else:
        console.print(
            "[yellow]note:[/] the crops name nobody (--person NAME or --people-csv FILE "
            "records who they show), so `wds-edge quantize` cannot check that a held-out set "
            "shows other people: it warns, and refuses to pair them with a set whose people "
            "were named"
        )
    if rejected:
        skipped = ", ".join(f"{n} {status}" for status, n in sorted(rejected.items()))
        console.print(f"skipped faces the kiosk would refuse (quality / colour checks): {skipped}")
    if len(calib) < MIN_RECOMMENDED_CROPS:
        console.print(
            f"[yellow]warning:[/] only {len(calib)} crops; at least {MIN_RECOMMENDED_CROPS} "
            "are recommended for stable INT8 ranges (more photos, a longer video, --stride 1)"
        )
    if truncated:
        make_console(stderr=True).print(
            f"[red]the video ended early ({truncated['frames_read']} of "
            f"{truncated['expected_frames']} frames decoded): the file is truncated or was cut "
            "while it was read; the crops of the frames before the cut are written[/]"
        )
        raise typer.Exit(1)


def _quantize(
    onnx: Path = typer.Option(
        ...,
        "--onnx",
        help="FP32 wds-edge ONNX model, exported with --batch 1 or dynamic (--format qdq: with "
        "--opset 13 or newer). An INT8 model (one quantize wrote) is refused: pass its FP32 "
        "source.",
    ),
    calib: Path = typer.Option(..., "--calib", help="Calibration folder (wds-edge calibrate)."),
    out: Path | None = typer.Option(
        None,
        "--out",
        "-o",
        help="File to write: the Q/DQ .onnx (required for --format qdq; it must end in .onnx) "
        "or the OpenVINO .xml "
        "(default: <model>.int8.xml next to the model, where the runtime looks for it); never "
        "the --onnx model itself.",
    ),
    fmt: str = typer.Option(
        "qdq", "--format", help="qdq (ONNX Q/DQ: TensorRT, ONNX Runtime) or openvino (NNCF IR)."
    ),
    held_out: Path | None = typer.Option(
        None,
        "--held-out",
        help="Calibration-format folder of OTHER kiosk crops for the accuracy gate: no crop and "
        "no person of --calib, as `wds-edge calibrate` recorded them. People named with "
        "--person / --people-csv are checked strictly: a shared name is refused, and so is a "
        "pair where only one set names people. A video calibrated without --person is one "
        "unnamed person identified by the video's content: the same video on both sides is "
        "refused, anything else about it only warned, as are sets that name nobody. Required "
        "for --format openvino; qdq without it gates on the calibration crops, optimistic.",
    ),
    method: str | None = typer.Option(
        None,
        "--method",
        help="qdq only: minmax (default), entropy or percentile. Where NVIDIA ModelOpt is "
        "installed it quantizes, with minmax run as its max, entropy as its entropy, and "
        "percentile refused (ModelOpt has none).",
    ),
    target_device: str | None = typer.Option(
        None,
        "--target-device",
        help="openvino only: the device the IR is for (CPU (default), GPU, NPU, ANY).",
    ),
    gate: bool = typer.Option(
        True,
        "--gate/--no-gate",
        help="qdq: check INT8 vs FP32 on the crops (--no-gate: the runtime warns on the model). "
        "The OpenVINO IR is always gated.",
    ),
    allow_accuracy_loss: bool = typer.Option(
        False,
        "--allow-accuracy-loss",
        help="Keep the model even if the INT8 gate fails, or cannot check it (not gated: the "
        "FP32 model marks almost no pixel, or almost every pixel, of the crops as wrinkles).",
    ),
    json_out: bool = typer.Option(
        False,
        "--json",
        help="Print the accuracy gate's figures as JSON on stdout (default: one line), also "
        "when it fails or is not gated (exit 1); the status lines go to stderr.",
    ),
) -> None:
    """Write an INT8 model: explicit Q/DQ ONNX, or an NNCF OpenVINO IR gated on held-out crops.

    Quantization takes minutes on a CPU: each phase is announced with its size, and the
    accuracy gate shows a progress bar. Status lines go to stderr, the gate's verdict (or
    its JSON) to stdout, also when the gate refuses the model."""
    from wds_edge.cli.console import make_console
    from wds_edge_calibration.dataset import load_calibration_set

    if fmt not in ("qdq", "openvino"):
        raise InvalidInputError(f"--format must be qdq or openvino, got {fmt!r}")
    if fmt == "openvino" and not gate:
        raise InvalidInputError(
            "--no-gate is for --format qdq: the OpenVINO IR is always gated on --held-out "
            "crops (keep a model that fails it with --allow-accuracy-loss)"
        )
    format_only = {"--method": (method, "qdq"), "--target-device": (target_device, "openvino")}
    for name, (given, only) in format_only.items():
        if given is not None and fmt != only:
            raise InvalidInputError(
                f"{name} is for --format {only}; --format {fmt} does not use it: leave it out"
            )
    method = method or "minmax"
    target_device = target_device or "CPU"
    if fmt == "openvino" and held_out is None:
        raise InvalidInputError(
            "--format openvino needs --held-out DIR: crops the gate compares INT8 with FP32 on, "
            "not the calibration crops (wds-edge calibrate --source OTHER_SOURCE --out DIR)"
        )
    if fmt == "qdq" and out is None:
        raise InvalidInputError("--format qdq needs --out FILE.onnx")
    from wds_edge_calibration.qdq import check_fp32_source, check_qdq_opset, read_onnx_model

    if fmt == "openvino":  # nncf missing, a wrong device name: said before the model
        from wds_edge_calibration.openvino_int8 import check_openvino_options

        check_openvino_options(target_device)
    check_fp32_source(onnx)  # an INT8 --onnx: refused before the crops are read
    if fmt == "qdq":
        check_qdq_opset(read_onnx_model(onnx, external_data=False), onnx)
    console = make_console(stderr=True)  # status; stdout carries the verdict / JSON only
    from wds_edge.errors import AccuracyGateError, DataError

    option = "--calib"
    try:  # a folder that is missing or not a calibration folder: usage (exit 2), as build-engine
        crops = load_calibration_set(calib)
        option = "--held-out"
        held = None if held_out is None else load_calibration_set(held_out)
    except DataError as exc:
        raise InvalidInputError(f"{option}: {exc}") from exc

    try:
        if fmt == "openvino":
            _quantize_openvino(
                onnx, crops, held, out, allow_accuracy_loss, target_device, console, json_out
            )
            return
        assert out is not None
        path, result = _quantize_qdq(onnx, crops, held, out, method, gate, allow_accuracy_loss,
                                     console)  # fmt: skip
    except AccuracyGateError as exc:
        if exc.gate is not None:  # the verdict (or its JSON) on stdout, as when it passes
            _print_gate(exc.gate, json_out)
        raise
    if result is not None:
        _print_gate(result, json_out)
    console.print(f"wrote {path}", markup=False)


def _quantize_qdq(
    onnx: Path,
    crops: Any,
    held: Any,
    out: Path,
    method: str,
    gate: bool,
    allow_accuracy_loss: bool,
    console: Any,
) -> tuple[Path, Any]:
    """:func:`~wds_edge_calibration.qdq.quantize_qdq_gated`, its phases shown on ``console``:
    the quantizing step announced with its size (no progress inside it), a bar over the
    gate."""
    import contextlib

    from wds_edge.cli.console import progress_bar
    from wds_edge_calibration.qdq import MODELOPT_METHODS, quantize_qdq_gated, uses_modelopt

    if uses_modelopt() and method in MODELOPT_METHODS:  # (percentile: refused by the call)
        tool, how = "NVIDIA ModelOpt", f"{method}: ModelOpt's {MODELOPT_METHODS[method]}"
    else:
        tool, how = "ONNX Runtime", method
    stack = contextlib.ExitStack()
    state: dict[str, Any] = {"phase": None, "bar": None, "started": time.monotonic()}

    def step_one_done() -> None:
        console.print(f"step 1/2 done in {time.monotonic() - state['started']:.0f} s")

    def on_progress(done: int, total: int | None, phase: str = "") -> None:
        if phase != state["phase"]:
            stack.close()  # the previous phase's spinner
            if phase == "quantizing":
                console.print(
                    f"step 1/2: calibrating and quantizing on {len(crops)} crops ({how}); "
                    f"{tool} runs the FP32 model on each of them: minutes on a CPU, no "
                    "progress inside this step"
                )
                state["started"] = time.monotonic()
                stack.enter_context(console.status("quantizing ..."))
            elif phase == "gating":
                step_one_done()
                state["bar"] = stack.enter_context(progress_bar(
                    "step 2/2: accuracy gate, INT8 vs FP32", total=total, console=console
                ))  # fmt: skip
            state["phase"] = phase
        if state["bar"] is not None:
            state["bar"](done)

    with stack:
        path, result = quantize_qdq_gated(
            onnx, crops, out, held_out=held, method=method, gate=gate,  # type: ignore[arg-type]
            allow_accuracy_loss=allow_accuracy_loss, progress=on_progress,
        )  # fmt: skip
    if not gate:
        step_one_done()
    return path, result


def _nvidia_gpu_present() -> bool:
    """An NVIDIA driver's device nodes (x86 / dGPU) or a Jetson's, without importing CUDA."""
    import glob

    jetson = Path("/etc/nv_tegra_release").exists() or Path("/dev/nvhost-ctrl-gpu").exists()
    return jetson or bool(glob.glob("/dev/nvidia[0-9]*")) or Path("/dev/dxg").exists()


def _print_gate(result: Any, json_out: bool) -> None:
    """The gate's verdict on stdout: one line, or its figures as JSON with ``--json``."""
    if json_out:
        typer.echo(json.dumps(result.to_dict(), indent=2))
        return
    colour = {"passed": "green", "not gated": "yellow"}.get(result.verdict, "red")
    _console().print(f"[{colour}]{plain(result.reason)}[/]", highlight=False)


def _quantize_openvino(
    onnx: Path,
    crops: Any,
    held: Any,
    out: Path | None,
    allow_accuracy_loss: bool,
    target_device: str,
    console: Any,
    json_out: bool,
) -> None:
    import contextlib
    import sys

    from wds_edge_calibration.openvino_int8 import quantize_openvino_int8

    with (
        # NNCF draws its own progress bars on stdout: stdout holds the verdict / JSON only
        contextlib.redirect_stdout(sys.stderr),
        console.status("NNCF post-training quantization ...") as status,
    ):
        path, result = quantize_openvino_int8(
            onnx, crops, held, out, allow_accuracy_loss=allow_accuracy_loss,
            target_device=target_device, progress=lambda phase: status.update(f"{phase} ..."),
        )  # fmt: skip
    _print_gate(result, json_out)
    console.print(f"wrote {path} (+ {path.with_suffix('.bin').name})", markup=False)


def _build_engine(
    onnx: Path = typer.Option(..., "--onnx", help="wds-edge ONNX model (wds-edge export)."),
    precision: str = typer.Option(
        "fp16",
        "--precision",
        "-p",
        help="fp32, fp16 or int8 (a Q/DQ ONNX from `wds-edge quantize --format qdq`: int8 only).",
    ),
    calib: Path | None = typer.Option(
        None, "--calib", help="Calibration folder: INT8 scales (and the FP16 accuracy gate)."
    ),
    held_out: str | None = typer.Option(
        None,
        "--held-out",
        help="Crops the FP16/INT8 engine is gated on against FP32: a calibration-format folder "
        "of OTHER kiosk crops than --calib, or 'synthetic' (the SDK's synthetic skin crops). "
        "INT8: no crop and no named person of --calib (or of the calibration folder a Q/DQ "
        "--onnx was quantized on), checked as `wds-edge quantize --held-out` checks them.",
    ),
    fp32_onnx: Path | None = typer.Option(
        None,
        "--fp32-onnx",
        help="Q/DQ --onnx: the FP32 model it was quantized from (the gate's "
        "reference; default: the one its metadata names, next to it).",
    ),
    workspace: float = typer.Option(
        2.0, "--workspace", help="TensorRT workspace limit in GiB (a number above 0)."
    ),
    out: Path | None = typer.Option(
        None,
        "--out",
        "-o",
        help="Engine path ending in .engine, .plan or .trt (default: the engine cache, named "
        "by model/GPU).",
    ),
    cache_dir: Path | None = typer.Option(None, "--cache-dir", help="Engine cache folder."),
    allow_accuracy_loss: bool = typer.Option(
        False, "--allow-accuracy-loss", help="Keep an engine that fails the accuracy gate."
    ),
    rebuild: bool = typer.Option(False, "--rebuild", help="Ignore a valid cached engine."),
    device: int = typer.Option(0, "--device", help="CUDA device index."),
) -> None:
    """Build (or reuse) a TensorRT engine for this GPU, with an accuracy gate vs FP32.

    Exit codes: 0 the engine is there (built, or reused from the cache); 1 this engine
    could not be built or kept on this device: the TensorRT build failed, the GPU lacks
    the precision, a layer pinned to FP32 runs in another precision, or the accuracy gate
    failed, was not gated or cannot be run (a build in another precision may still work:
    the Jetson image then builds FP32); 2 usage or configuration: a bad option value, an
    --onnx, --calib, --held-out or --out that cannot be used, no TensorRT or GPU here
    (checked before anything is built).
    """
    from wds_edge.cli.console import rich_progress
    from wds_edge.runtime.tensorrt.provision import check_build_request, ensure_engine

    check_build_request(onnx, precision, out=out, workspace_gib=workspace)
    if importlib.util.find_spec("tensorrt") is None and not _nvidia_gpu_present():
        from wds_edge._deps import install_hint
        from wds_edge.errors import BackendUnavailableError

        raise BackendUnavailableError(  # the cause first: installing TensorRT would not help
            "this machine has no NVIDIA GPU (no /dev/nvidia*, not a Jetson): a TensorRT engine "
            "is built on the GPU that will run it. On this CPU, `wds-edge analyze` / `serve` "
            "with --backend auto use ONNX Runtime or OpenVINO, no engine needed. On a kiosk "
            f"with an NVIDIA GPU, install TensorRT first: {install_hint('tensorrt')}"
        )
    if out is not None:
        from wds_edge.io import ensure_writable_file

        ensure_writable_file(out, "engine", min_free_bytes=64 << 20)
    _check_tensorrt_here(device)
    calibration, gate_crops = _engine_crops(calib, held_out, onnx, precision)
    console = _console()
    try:
        with rich_progress(transient=False, count=False) as bar:
            tasks: dict[str, Any] = {}

            def on_progress(phase: str, step: int, total: int) -> None:
                if phase not in tasks:
                    tasks[phase] = bar.add_task(phase, total=total or None, info="")
                bar.update(tasks[phase], completed=step)

            info = ensure_engine(
                onnx, precision, calibration=calibration, gate_crops=gate_crops,
                reference_onnx=fp32_onnx, workspace_gib=workspace, out=out,
                cache_dir=cache_dir, allow_accuracy_loss=allow_accuracy_loss, rebuild=rebuild,
                device=device, progress=on_progress,
            )  # fmt: skip
    except Exception as exc:
        if not _engine_not_kept(exc):
            raise
        from rich.markup import escape

        from wds_edge.cli.console import make_console

        # one line like every error (wds_edge.cli.errors), with build-engine's own exit code
        make_console(stderr=True).print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False)
        raise typer.Exit(1) from exc
    verb = f"built in {info.build_s:.0f} s" if info.built else "reused (cache hit)"
    console.print(f"{info.path} {verb}; sidecar {info.sidecar_path}", markup=False)
    if info.gate is not None:
        console.print(json.dumps(info.gate.to_dict(), indent=2))


def _engine_crops(
    calib: Path | None, held_out: str | None, onnx: Path, precision: str
) -> tuple[Any, Any]:
    """(INT8 calibration, gate crops) of build-engine's --calib / --held-out, loaded (and
    re-hashed) before anything is built. A folder that is missing or not a calibration folder
    is a usage error (exit 2), not an engine that failed (exit 1: the Jetson image would fall
    back to FP32 instead of saying the folder is wrong). INT8 held-out crops of a Q/DQ
    --onnx are checked against the calibration set its metadata names, as `wds-edge
    quantize` checks them (a shared crop or person: exit 2); against --calib the engine
    builder checks them (plan_gate, through the calibration's check_held_out)."""
    from wds_edge.errors import DataError

    calibration: Any = None
    gate_crops: Any = held_out
    option = "--calib"
    try:
        if calib is not None:
            # the CLI (the top layer) wires the calibration package into the SDK's builder
            from wds_edge_calibration.trt_calibrator import tensorrt_calibration

            calibration = tensorrt_calibration(calib)
        option = "--held-out"
        if held_out is not None and held_out != "synthetic":
            from wds_edge_calibration.dataset import load_calibration_set

            gate_crops = load_calibration_set(held_out)
    except DataError as exc:
        raise InvalidInputError(f"{option}: {exc}") from exc
    if precision == "int8" and held_out is not None and held_out != "synthetic":
        from wds_edge_calibration.qdq import check_held_out_of_qdq

        check_held_out_of_qdq(onnx, gate_crops)
    return calibration, gate_crops


def _check_tensorrt_here(device: int) -> None:
    """TensorRT 10+ imports and CUDA device ``device`` exists (exit 2 when not: building in
    another precision would not help)."""
    from wds_edge.runtime.tensorrt.cuda import device_info
    from wds_edge.runtime.tensorrt.module import tensorrt_module

    tensorrt_module()
    device_info(device)


def _engine_not_kept(exc: BaseException) -> bool:
    """Does ``exc`` say that this engine cannot be built or kept on this device (exit 1),
    rather than that the command was used wrongly (exit 2)? The TensorRT build failed or
    this GPU lacks the precision (BackendError, BackendUnavailableError), the gate failed
    (AccuracyGateError), was not gated or cannot be run (BackendUnavailableError), or a
    pinned layer does not run FP32 (PrecisionCheckError)."""
    from wds_edge.errors import AccuracyGateError, BackendError
    from wds_edge.runtime.tensorrt.precision import PrecisionCheckError

    return isinstance(exc, (BackendError, AccuracyGateError, PrecisionCheckError))


def register(app: typer.Typer) -> None:
    """Add this module's commands to `app`."""
    app.command("export")(_export)
    app.command("calibrate")(_calibrate)
    app.command("quantize")(_quantize)
    app.command("build-engine")(_build_engine)
