"""`wds-edge label`, `label-agreement` and `baseline` (desktop; need the train extra).

Exit codes: 0 all files done, 1 some files failed (listed in the summary), 2 usage error.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import typer

from wds_edge.progress import ProgressCallback

__all__ = ["register"]

THRESHOLD_HELP = (
    "Adaptive threshold of the masked texture (Eq. 2). gaussian (default) = the paper's "
    "official code's threshold rule: OpenCV Gaussian adaptive threshold, block 11, C = 1, on "
    "the inverted masked texture, here of the texture as the paper's Eq. 1 defines it. Labels "
    "are close to the official code's, not identical: its texture is computed in uint8 "
    "arithmetic, whose wrap-around shifts it by about 2 grey levels. bradley = Bradley-Roth "
    "integral-image threshold, window = width / 8, t = 15 %: what the paper's text cites "
    "(stricter: keeps only pixels 15 % darker than their surroundings)."
)

MASK_THRESHOLD_HELP = (
    "Binarize non-binary (e.g. JPEG) label masks at this grey value (0-254); labels are read "
    "as 'wds-edge train' and 'eval' read them (mostly-white labels inverted)."
)

_LABEL_PARAGRAPHS = (
    "Turn photos into wrinkle ground truth (paper Sec. 3.3, semi-automatic labeling).",
    "With --rough DIR, each photo's rough annotation (strokes drawn over the wrinkles) is read "
    "from DIR: a mask image with the photo's stem (face01.png for face01.jpg), a LabelMe JSON "
    "(polygon / linestrip / line shapes) or a CVAT XML export (polyline / polygon / box); lines "
    "are drawn --stroke-width px wide. DIR may be the photo folder itself (LabelMe saves "
    "face01.json beside face01.jpg): the photos are not read as masks. Labels keep the "
    "photo's size; with --crop-faces the photo and its strokes are cut to the kiosk's face "
    "crop first (what the paper labels, and what the kiosk feeds the model), and photos the "
    "quality gates refuse are skipped.",
    "With --auto, no annotation is needed: face landmarks give the forehead, glabella, "
    "crow's-feet and under-eye regions of the kiosk face crop, and a ridge filter picks the "
    "strongest dark lines there as the rough mask. These are WEAK labels (good enough to "
    "bootstrap a model, not to measure one). OUT/images holds the face crops the model sees.",
    "Output: OUT/images/<stem>.png, OUT/masks/<stem>.png (0/255), OUT/fov/<stem>.png (--auto: "
    "face skin), OUT/previews/<stem>.jpg (photo | label in green, rough mask in cyan), "
    "OUT/landmarks/<stem>.json (--auto, --crop-faces), OUT/labels.json (written when the run "
    'starts and as it goes; "complete": false until it ends, so an interrupted run\'s folder '
    "still says what it holds). Train on it: wds-edge train --data OUT",
    "--auto applies the kiosk's quality gates (as `wds-edge analyze`): photos with no "
    "face, a face too small, turned away, too dark / bright, too blurry, grey "
    "(needs_colour_camera) or with a colour cast are skipped and reported, not labelled "
    "(e.g. the no-face frames `wds-edge frames` keeps).",
    "Exit code: 0 all labelled or skipped by the quality gates, 1 some files failed (see "
    "the summary), 2 usage error (bad options, an --out that cannot be written).",
    "Examples:",
    "wds-edge label --images photos/ --rough strokes/ --out labels/ --crop-faces",
    "wds-edge label --images photos/ --auto --out weak/ --landmarker face_landmarker.task",
)
LABEL_HELP = "\n\n".join(_LABEL_PARAGRAPHS)


@contextmanager
def _progress(description: str) -> Iterator[ProgressCallback]:
    from wds_edge.cli.console import progress_bar

    with progress_bar(description, transient=False) as update:
        yield update


def _label(
    ctx: typer.Context,
    images: Path = typer.Option(
        ...,
        "--images",
        help="Folder of photos (JPEG, PNG, BMP, TIFF, WebP); not one of the folders the run "
        "writes in --out (images/, masks/, ...).",
    ),
    out: Path = typer.Option(..., "--out", help="Output folder (created); see the layout above."),
    rough: Path = typer.Option(
        None, "--rough", help="Folder of rough annotations: mask images, LabelMe JSON, CVAT XML."
    ),
    auto: bool = typer.Option(
        False, "--auto", help="No annotations: weak labels from landmarks + a ridge filter."
    ),
    threshold: str = typer.Option("gaussian", "--threshold", help=THRESHOLD_HELP),
    force: bool = typer.Option(
        False,
        "--force",
        help="Overwrite labels already in --out, and remove the files an earlier run wrote "
        "there for photos that are not in --images: --out then holds exactly this run's "
        "labels (those labels.json lists).",
    ),
    landmarker: Path = typer.Option(
        None,
        "--landmarker",
        help=(
            "FaceLandmarker .task model for --auto and --crop-faces (default: "
            "$WDS_EDGE_FACE_LANDMARKER or the model cache; see 'wds-edge models fetch')."
        ),
    ),
    crop_size: int = typer.Option(
        640,
        "--crop-size",
        min=32,
        help="--auto and --crop-faces: side of the square face crop in px, a multiple of 16: "
        "the face scale a model trained on the labels learns, and so its input size "
        "('wds-edge export' uses it). --auto needs at least 192: smaller crops have over "
        "0.8 mm of face per pixel, too coarse for the ridge filter to find wrinkles (at 128 px "
        "most faces fail).",
    ),
    crop_faces: bool = typer.Option(
        False,
        "--crop-faces",
        help="--rough: label the kiosk's face crop of each photo (landmarks, quality gates, "
        "--crop-size) instead of the whole photo, as the paper does before making its ground "
        "truth: the model then learns wrinkles at the scale the kiosk shows them. Writes "
        "landmarks/ (for train --region-balance).",
    ),
    stroke_width: int = typer.Option(
        7,
        "--stroke-width",
        min=1,
        help="--rough: width in px (>= 1) of LabelMe / CVAT polylines when rasterized.",
    ),
    auto_version: int = typer.Option(
        2,
        "--auto-version",
        help=(
            "--auto: 2 = exclusion zones (lids, brows, hairline, outline, glasses) + "
            "orientation priors + depth floor (default); 1 = the first generation."
        ),
    ),
) -> None:
    from rich.markup import escape
    from rich.table import Table

    from wds_edge.cli.console import make_console
    from wds_edge.errors import InvalidInputError

    if (rough is None) == (not auto):
        raise InvalidInputError(
            "pass exactly one of --rough DIR or --auto (see wds-edge label --help)"
        )
    if crop_faces and auto:
        raise InvalidInputError("--crop-faces is for --rough; --auto always labels face crops")
    _refuse_ignored_options(ctx, auto=auto, crop_faces=crop_faces)
    if auto:
        from wds_edge_train.labeling.auto import check_crop_size_px

        check_crop_size_px(crop_size)  # before the output folder is claimed
    from wds_edge_train.labeling.runner import (
        WEAK_LABEL_NOTE,
        LabelOptions,
        check_input_folders,
        label_folder,
    )
    from wds_edge_train.labeling.thresholding import parse_threshold

    opts = LabelOptions(
        threshold=parse_threshold(threshold), stroke_width_px=stroke_width, crop_size_px=crop_size,
        landmarker_path=landmarker, force=force, auto_version=auto_version, crop_faces=crop_faces,
    )  # fmt: skip
    from wds_edge.cli.outputs import claim_output_dir

    check_input_folders(out, images=images, rough=rough)
    claim_output_dir(ctx, out, "labels")  # before the work, not after it
    console = make_console()
    if auto:
        console.print(f"[bold yellow]{WEAK_LABEL_NOTE}[/]")
    with _progress("labeling") as update:
        summary = label_folder(
            images, out, rough_dir=rough, auto=auto, options=opts, progress=update
        )
    table = Table(
        title=f"wds-edge label -> {escape(str(out))} ({summary.mode}, threshold "
        f"{opts.threshold.value})"
    )
    columns = ("image", "status", "photo size", "label size", "rough px", "label px", "label %",
               "note")  # fmt: skip
    for col in columns:
        table.add_column(col, justify="right" if "px" in col or "%" in col else "left")
    for item in summary.items:
        note = item.message  # an ok item's: what its annotation files held but it lacks
        if item.status == "ok" and "label_fraction_of_face" in item.stats:
            note = "; ".join(
                [f"{100 * item.stats['label_fraction_of_face']:.2f} % of face"]
                + ([item.message] if item.message else [])
            )
        table.add_row(  # names and messages as text: "[b]" in them is not Rich markup
            escape(item.image), _STATUS_MARKUP.get(item.status, item.status),
            _size(item.photo_width_px, item.photo_height_px), _size(item.width_px, item.height_px),
            str(item.rough_px), str(item.label_px), f"{100 * item.label_fraction:.2f}",
            escape(note),
        )  # fmt: skip
    console.print(table)
    for message in summary.annotation_problems.values():
        console.print(
            f"rough annotation not read: {message}", style="yellow", markup=False, highlight=False
        )
    colour = "green" if summary.n_failed == 0 else "red"
    console.print(
        f"[{colour}]{summary.n_ok} labelled, {summary.n_failed} failed[/]"
        + (f", {summary.n_skipped} skipped (quality gates)" if summary.n_skipped else "")
        + f" of {len(summary.items)} "
        f"in {summary.seconds:.1f} s; summary: {escape(str(out / 'labels.json'))}"
        + ("  [bold yellow](weak labels)[/]" if summary.weak_labels else "")
    )
    if summary.n_failed:
        raise typer.Exit(1)


def _refuse_ignored_options(ctx: typer.Context, *, auto: bool, crop_faces: bool) -> None:
    """Refuse options given on the command line that this mode would ignore (and still
    record in labels.json); the defaults are not looked at."""
    from wds_edge.cli.options import given_on_command_line
    from wds_edge.errors import InvalidInputError

    if auto and (flags := given_on_command_line(ctx, {"stroke_width": "--stroke-width"})):
        raise InvalidInputError(
            f"{flags[0]} is for --rough (the width LabelMe / CVAT lines are drawn at); --auto "
            "finds its rough mask itself: leave it out"
        )
    if not auto and (flags := given_on_command_line(ctx, {"auto_version": "--auto-version"})):
        raise InvalidInputError(f"{flags[0]} is for --auto; leave it out with --rough")
    face_only = {"crop_size": "--crop-size", "landmarker": "--landmarker"}
    if not auto and not crop_faces and (flags := given_on_command_line(ctx, face_only)):
        given = " and ".join(flags)
        raise InvalidInputError(
            f"{given} {'are' if len(flags) > 1 else 'is'} for face crops: --rough labels the "
            "whole photo unless --crop-faces is given; add --crop-faces to label the kiosk's "
            f"face crop, or leave {given} out"
        )


_STATUS_MARKUP = {"ok": "[green]ok[/]", "skipped": "[yellow]skipped[/]", "failed": "[red]failed[/]"}


def _size(width: int, height: int) -> str:
    """``WxH``, or ``-`` where there is none (an unreadable photo, no label written)."""
    return f"{width}x{height}" if width and height else "-"


def _num(v: float) -> str:
    return "n/a" if math.isnan(v) else f"{v:.4f}"


def _label_agreement(
    label_dirs: list[Path] = typer.Argument(
        ...,
        help=(
            "Two or more label folders (binary masks matched by file name, or 'wds-edge label' "
            "outputs)."
        ),
    ),
    json_out: bool = typer.Option(False, "--json", help="Print one JSON object instead of tables."),
    semi_auto: bool = typer.Option(
        False,
        "--semi-auto",
        help=(
            "Also build semi-automatic labels from each set (used as rough annotations) and "
            "compare those (paper Table 5). Needs --images."
        ),
    ),
    images: Path = typer.Option(
        None, "--images", help="The photos the labels belong to (for --semi-auto)."
    ),
    threshold: str = typer.Option("gaussian", "--threshold", help=THRESHOLD_HELP),
    mask_threshold: int = typer.Option(
        None, "--mask-threshold", min=0, max=254, help=MASK_THRESHOLD_HELP
    ),
) -> None:
    """Pairwise Pearson correlation between label sets (paper Table 5).

    For each pair of folders: the mean over shared images of the per-image Pearson r of \
the two binary label maps, and the pooled r over all their pixels; then the mean over \
pairs. Exit code 1 when some label files could not be used (listed), 2 on usage errors.
    """
    from rich.table import Table

    from wds_edge.cli.console import make_console, plain
    from wds_edge_train.agreement import label_agreement

    if json_out:
        report = label_agreement(
            label_dirs, images_dir=images, semi_auto=semi_auto, threshold=threshold,
            mask_threshold=mask_threshold,
        )  # fmt: skip
        typer.echo(json.dumps(report.to_json()))
    else:
        with _progress("reading labels") as update:
            report = label_agreement(
                label_dirs,
                images_dir=images,
                semi_auto=semi_auto,
                threshold=threshold,
                mask_threshold=mask_threshold,
                progress=update,
            )
        table = Table(title="label agreement (Pearson r)")
        for col in ("set A", "set B", "images", "raw mean r", "raw pooled r"):
            table.add_column(col, justify="left" if col.startswith("set") else "right")
        if report.semi_auto is not None:
            table.add_column("semi-auto mean r", justify="right")
            table.add_column("semi-auto pooled r", justify="right")
        for i, p in enumerate(report.raw):
            row = [
                plain(p.set_a),
                plain(p.set_b),
                str(p.n_images),
                _num(p.mean_r),
                _num(p.pooled_r),
            ]
            if report.semi_auto is not None:
                s = report.semi_auto[i]
                row += [_num(s.mean_r), _num(s.pooled_r)]
            table.add_row(*row)
        avg = ["average", "", "", _num(report.mean_raw), ""]
        if report.semi_auto is not None:
            avg += [_num(report.mean_semi_auto), ""]
        table.add_row(*avg, style="bold")
        console = make_console()
        console.print(table)
        for name, msg in report.problems.items():
            console.print(f"[red]skipped[/] {plain(name)}: {plain(msg)}", highlight=False)
    if report.problems:
        raise typer.Exit(1)


def _baseline(
    method: str = typer.Option(
        ...,
        "--method",
        help=(
            "hessian (Frangi vesselness of dark ridges) or gabor (12-orientation Gabor bank, "
            "max response)."
        ),
    ),
    images: Path = typer.Option(
        ..., "--images", help="Photos (or a 'wds-edge label' output folder / its images/)."
    ),
    masks: Path = typer.Option(
        ...,
        "--masks",
        help=(
            "Binary labels matched by file stem (or a 'wds-edge label' output folder / its masks/)."
        ),
    ),
    regions: str = typer.Option(
        None,
        "--regions",
        help=(
            "Areas to measure: forehead,eyes (landmark areas, the paper's fair protocol), "
            "forehead, eyes, or none (whole image / fov). Default: the fov when the labels "
            "have a fov/ folder, else forehead,eyes. 'wds-edge eval --regions' scores a "
            "U-Net on the same areas."
        ),
    ),
    json_out: bool = typer.Option(
        False,
        "--json",
        help=(
            "Print one JSON object (jsi, accuracy, sensitivity, specificity, per_area, ...) "
            "like 'wds-edge eval --regions ... --json'."
        ),
    ),
    landmarker: Path = typer.Option(
        None, "--landmarker", help="FaceLandmarker .task model for the landmark areas."
    ),
    mask_threshold: int = typer.Option(
        None, "--mask-threshold", min=0, max=254, help=MASK_THRESHOLD_HELP
    ),
) -> None:
    """Score a classic wrinkle detector (paper Table 3) on the areas 'eval --regions' scores.

    Fair protocol: the filter only sees forehead / eye-area crops with everything else \
filled black, and is scored only inside them; its response is thresholded with Otsu. \
Prints JSI, accuracy, sensitivity, specificity pooled over all pixels and as a per-image \
mean, and pooled in each area. The U-Net on the same images and areas: wds-edge eval \
--checkpoint best.pt --data heldout/ --regions forehead,eyes (a label folder the run did \
not train on). Exit code 1 when some images could not be scored (listed), 2 on usage \
errors.
    """
    from wds_edge.cli.console import make_console, plain
    from wds_edge.cli.train_cmds import print_metric_tables
    from wds_edge_train.baselines import evaluate_baseline

    kwargs: dict[str, Any] = {
        "regions": regions, "landmarker_path": landmarker, "mask_threshold": mask_threshold,
    }  # fmt: skip
    if json_out:
        report = evaluate_baseline(images, masks, method, **kwargs)
        typer.echo(json.dumps(report.to_json()))
        raise typer.Exit(1 if report.problems else 0)
    with _progress(f"baseline {method}") as update:
        report = evaluate_baseline(images, masks, method, progress=update, **kwargs)
    title = (
        f"{report.method} baseline on {plain(masks)} ({len(report.images)} images, areas: "
        f"{report.areas})"
    )
    console = make_console()
    print_metric_tables(console, title, report.pooled, report.per_image_mean, report.per_area)
    for stem, msg in report.problems.items():
        console.print(f"[red]skipped[/] {plain(stem)}: {plain(msg)}", highlight=False)
    if report.problems:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add `label`, `label-agreement` and `baseline` to `app`."""
    app.command("label", help=LABEL_HELP)(_label)
    app.command("label-agreement")(_label_agreement)
    app.command("baseline")(_baseline)
