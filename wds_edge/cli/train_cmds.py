"""`wds-edge train` and `wds-edge eval` (desktop; torch is imported inside the commands)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from wds_edge.errors import InvalidInputError

__all__ = ["register", "TORCHRUN_COMMAND", "print_metric_tables"]

#: Multi-GPU training (DistributedDataParallel): one process per GPU, global batch =
#: --batch-size x GPUs.
TORCHRUN_COMMAND = (
    "torchrun --standalone --nproc_per_node=NUM_GPUS -m wds_edge.cli train "
    "--data DATA --out runs/wds"
)

TRAIN_HELP = f"""Train the wrinkle U-Net (4 deep-supervision heads) on a labelled data set.

DATA is either the generic layout (images/<stem>.png|jpg + masks/<stem>.png, optional
fov/<stem>.png skin masks: what 'wds-edge label' writes; JPEG / WebP masks need
--mask-threshold) or the DRIVE layout
(images/, 1st_manual/, mask/). The run folder gets best.pt (selected on the validation
split), last.pt, config.json, folds.json, log.csv and metrics.json.

Splits (train / validation / test fold) are cut by group, so one person's near-identical
images never land in two of them: the frames 'wds-edge frames' cut from one video
(<video>_f<index>) are one group, any other image its own. Several photos per person:
name the groups with --groups FILE.csv or --group-by REGEX. folds.json lists the groups.
Training needs at least 2 groups (2 videos or people): one to train on, one to select on.

Examples:

  wds-edge train --data labels/ --out runs/wds --base 16 --epochs 200

  wds-edge train --data labels/ --out runs/cv0 --folds 6 --fold 0   (fold 0 = test fold)

  wds-edge train --data labels/ --out runs/wds --resume             (after an interruption)

  wds-edge train --data labels/ --out runs/official --recipe official  (the official code)

Recipes (--recipe) fix the method's choices; any flag given overrides them:
  project (default)  binary Dice, Leaky ReLU, inputs /255, AMP on CUDA, --augment auto
  paper              binary Dice, Leaky ReLU, inputs /255, fp32, --augment paper,
                     WWM fill = mean of the whole map (the paper's text)
  official           two-class Dice, ReLU, inputs (x/255 - 0.5) / 0.25, fp32, seed 43,
                     --augment official
The splits come from --split-seed (default 0), which no recipe sets: every recipe trains
and is tested on the same folds.
The recipe, every resolved setting, the git commit and the library versions are stored in
config.json and in every checkpoint.

Multi-GPU (DDP): {TORCHRUN_COMMAND}
"""


def _train(
    ctx: typer.Context,
    data: Path = typer.Option(..., "--data", help="Data folder (generic or DRIVE layout)."),
    out: Path = typer.Option(
        ...,
        "--out",
        help="Run folder to create: new or empty, apart from --data (or the run to --resume).",
    ),
    recipe: str = typer.Option(
        None, "--recipe", help="project (default) | paper | official: see above."
    ),
    loss: str = typer.Option(
        None,
        "--loss",
        help="wds (paper, default) | ds (unweighted deep supervision) | plain (F1 Dice only).",
    ),
    dice: str = typer.Option(
        None,
        "--dice",
        help="binary (1 channel, sigmoid, wrinkle Dice) | two-class (2 channels, softmax, "
        "mean of background and wrinkle Dice: the reference code's loss). Default: the "
        "recipe's (project, paper: binary; official: two-class).",
    ),
    base: int = typer.Option(
        None,
        "--base",
        help="U-Net width: 64 = paper (17 M params), 32, 16 (1 M, kiosk CPU), 8. Default 64.",
    ),
    stem: str = typer.Option(
        None,
        "--stem",
        help="none (the paper's U-Net; default) | space_to_depth (2x2 pixel blocks -> 16 "
        "channels, the U-Net at half resolution, the F1 logits shuffled back to full size: a "
        "speed variant for CPUs with AMX, see benchmarks/RESULTS.md issue 25; crops a "
        "multiple of 32, and face labels made at a 'wds-edge label --crop-size' that is a "
        "multiple of 32: other labels are refused before the first epoch, as export would "
        "refuse the model).",
    ),
    activation: str = typer.Option(
        None,
        "--activation",
        help="leaky_relu (paper figure) or relu (reference code). Default: the recipe's "
        "(project, paper: leaky_relu; official: relu).",
    ),
    input_norm: str = typer.Option(
        None,
        "--input-norm",
        help="unit ([R,G,B,T]/255 as is) | centred ((x - 0.5) / 0.25 on all four channels: "
        "the reference code). Inside the network, so exports carry it. Default: the "
        "recipe's (project, paper: unit; official: centred).",
    ),
    folds: int = typer.Option(
        None, "--folds", help="Number of cross-validation folds K (paper: 6); needs --fold."
    ),
    fold: int = typer.Option(
        None, "--fold", help="Index 0..K-1 of the TEST fold; validation is carved from the rest."
    ),
    val_fraction: float = typer.Option(
        None,
        "--val-fraction",
        help="Share of training images held out for model selection (default 0.2).",
    ),
    val_count: int = typer.Option(
        None,
        "--val-count",
        help="Number of validation images (overrides --val-fraction); whole groups are taken "
        "until there are at least this many.",
    ),
    groups: Path = typer.Option(
        None,
        "--groups",
        help="CSV of image,group rows (image: file name or stem; group: the person): images "
        "of one group always share a split. For photo sets with several photos per person. "
        "--resume reads the run's file again; pass --groups NEWPATH if it has moved.",
    ),
    group_by: str = typer.Option(
        None,
        "--group-by",
        help="Regular expression on the image name whose first (...) is its group, e.g. "
        "'^(.+)_\\d+$' for anna_01, anna_02. An image it does not match is grouped as "
        "without it (a frame <video>_f<index> with its video, any other image alone); the "
        "frames of one video it matches must all get one group.",
    ),
    epochs: int = typer.Option(None, "--epochs", help="Epochs (default 200)."),
    batch_size: int = typer.Option(
        None, "--batch-size", help="Images per step (per GPU under torchrun; default 4)."
    ),
    crop_size: int = typer.Option(
        None,
        "--crop-size",
        help="Random square crop in px cut from each training image, multiple of 16 and at "
        "least 32 (space_to_depth: of 32, at least 64). Default: the face-crop size of labels "
        "'wds-edge label' wrote (labels.json), at most 640; 640 for other data (DRIVE). On "
        "such labels a crop larger than their face crops is refused (it would be mostly "
        "mirrored padding). Not the face scale: that is the --crop-size the data was labelled "
        "at, recorded in the run and used by 'wds-edge export'. config.json records the crop "
        "used.",
    ),
    lr: float = typer.Option(
        None, "--lr", help="Adam learning rate (default 0.01, cosine-annealed to 1e-6)."
    ),
    weight_decay: float = typer.Option(
        None, "--weight-decay", help="L2 on conv weights (default 1e-4)."
    ),
    seed: int = typer.Option(
        None,
        "--seed",
        help="Seed for init, shuffling, augmentation (default 0; the official recipe: 43). "
        "The splits have their own, --split-seed.",
    ),
    split_seed: int = typer.Option(
        None,
        "--split-seed",
        help="Seed of the train / validation / test split (default 0). No recipe and no --seed "
        "changes it, so their runs share the same folds and compare pairwise.",
    ),
    resume: bool = typer.Option(
        False,
        "--resume",
        help="Continue the run in --out from last.pt: the same settings and data (relabelled "
        "masks or other images under the same names need a new --out). A larger --epochs "
        "extends it; an interrupted run cannot be cut below its own --epochs.",
    ),
    device: str = typer.Option(
        None,
        "--device",
        help="auto (CUDA if present; default) | cpu | cuda | cuda:N | mps (any case). Under "
        "torchrun each process takes the GPU of its LOCAL_RANK (auto / cuda) or the CPU (cpu).",
    ),
    workers: int = typer.Option(None, "--workers", help="DataLoader worker processes (default 0)."),
    augment: str = typer.Option(
        None,
        "--augment",
        help="auto (kiosk for face data written by 'wds-edge label', paper for anything "
        "else, e.g. DRIVE; the project recipe's default; paper / official recipes: paper / "
        "official) | none | official (flip + colour jitter) | paper "
        "(scale, shift, rotation, brightness, colour, flip: Section 4) | kiosk (paper + "
        "kiosk-camera effects: small face, blur, white balance, exposure/gamma, grey, noise, "
        "JPEG).",
    ),
    zone_weight: float = typer.Option(
        None,
        "--zone-weight",
        help="Loss weight of pixels in the data's zones/ masks (lid margins, brows, hairline, "
        "nostrils, lips, outline: written by 'wds-edge label --auto'): 1 = like any pixel "
        "(default), > 1 = a wrinkle predicted there costs that much more, 0 = ignored. Another "
        "value than 1 is refused on data without zones/.",
    ),
    region_balance: bool = typer.Option(
        None,
        "--region-balance/--no-region-balance",
        help="Weight each facial region's pixels so that sparsely labelled regions (the "
        "glabella) count like densely labelled ones (the under-eyes) in the Dice (at most "
        "10x); needs the landmarks/ that 'wds-edge label --auto' writes (default off).",
    ),
    mask_threshold: int = typer.Option(
        None,
        "--mask-threshold",
        min=0,
        max=254,
        help="Binarize non-binary (e.g. JPEG / WebP: masks/<stem>.jpg) masks at this grey "
        "value (0-254): foreground = brighter than it.",
    ),
    amp: bool = typer.Option(
        None,
        "--amp/--no-amp",
        help="Mixed precision on CUDA; ignored on CPU. Default: the recipe's (project: on; "
        "paper, official: off).",
    ),
) -> None:
    from wds_edge.cli.console import make_console

    console = make_console()
    given: dict[str, Any] = {
        "loss": loss, "dice": dice, "base_channels": base, "activation": activation, "folds": folds,
        "fold": fold, "val_fraction": val_fraction, "val_count": val_count, "epochs": epochs,
        "batch_size": batch_size, "crop_size": crop_size, "lr": lr,
        "weight_decay": weight_decay, "seed": seed, "split_seed": split_seed, "device": device,
        "workers": workers,
        "augment": augment, "mask_threshold": mask_threshold, "amp": amp,
        "input_norm": input_norm, "recipe": recipe, "zone_weight": zone_weight,
        "region_balance": region_balance, "stem": stem,
        "groups": None if groups is None else str(groups), "group_by": group_by,
    }  # fmt: skip
    given = {k: v for k, v in given.items() if v is not None}

    from wds_edge._deps import require

    require("torch", "training")
    from wds_edge.cli.outputs import claim_output_dir
    from wds_edge_train.loop import TrainConfig, train

    if resume and (out / "config.json").is_file():
        saved = _saved_run_config(out / "config.json")
        config = _resume_config(out / "config.json", saved, given, data, out)
    else:
        config = TrainConfig.from_recipe(
            given.pop("recipe", "project"), data=str(data), out=str(out), **given
        )
    config.validate()  # bad settings are refused before --out is created
    # Before epoch 1; removed again if the run is refused before it writes anything.
    claim_output_dir(ctx, out, "training run", min_free_bytes=64 << 20)
    _run_with_progress(console, lambda cb: train(config, resume=resume, progress=cb))


def _saved_run_config(path: Path) -> dict[str, Any]:
    """The settings ``--resume`` continues a run with: its ``config.json``, a JSON object.

    Raises:
        InvalidInputError: the file cannot be read or is not such an object (cut off, edited,
            another program's).
    """
    why = None
    try:
        saved = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        why = f"cannot read it: {exc.strerror or exc}"
    except UnicodeDecodeError:
        why = "not UTF-8 text"
    except ValueError as exc:  # json.JSONDecodeError
        why = f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
    else:
        if not isinstance(saved, dict):
            why = f"a JSON {type(saved).__name__}, not an object of settings"
    if why is not None:
        raise InvalidInputError(
            f"{path} is not a wds-edge run config ({why}); --resume reads the run's settings "
            "from it: restore the file (a copy of the run folder, or the settings the run was "
            "started with), or start a new --out"
        )
    return saved


#: What a TrainConfig field's type takes, for a bad value in a resumed run's config.json.
_TYPE_WORDS = {
    "int": "a whole number", "float": "a number", "str": "a string", "bool": "true or false",
}  # fmt: skip


def _resume_config(
    path: Path, saved: dict[str, Any], given: dict[str, Any], data: Path, out: Path
) -> Any:
    """The validated :class:`TrainConfig` ``--resume`` continues with: the run's saved
    settings, the options given on this command line over them.

    Raises:
        InvalidInputError: a setting of ``config.json`` (not overridden here) that is not
            valid, as one line naming the file and the key; an option given that is not
            valid, as the option's own message.
    """
    import dataclasses
    import re

    from wds_edge_train.loop import TrainConfig

    fixed = {"data": str(data), "out": str(out)}
    bad = (InvalidInputError, TypeError, ValueError, KeyError, AttributeError)
    try:
        config = TrainConfig.from_dict({**saved, **given, **fixed})
        config.validate()
        return config
    except bad as exc:
        error: Exception = exc
    # the options given alone: an error there is the user's option, told as such
    TrainConfig.from_dict({**given, **fixed}).validate()
    types = {f.name: str(f.type) for f in dataclasses.fields(TrainConfig)}
    for key, value in saved.items():
        if key not in types or key in given or key in fixed:
            continue
        try:
            TrainConfig.from_dict({key: value, **given, **fixed}).validate()
        except bad as exc:
            if isinstance(exc, InvalidInputError):  # "--loss must be ...": the saved key's
                why = re.sub(r"^--[a-z-]+ ", f"{key} ", str(exc))
            else:
                kinds = [_TYPE_WORDS.get(t.strip(), t.strip()) for t in types[key].split("|")]
                why = "expected " + " or ".join(k if k != "None" else "null" for k in kinds)
            raise InvalidInputError(
                f"{path}: its setting {json.dumps(key)}: {json.dumps(value)} is not valid "
                f"({why}); --resume continues the run with the settings saved there: correct "
                "that value (or remove the key for its default), or start a new --out"
            ) from None
    raise InvalidInputError(  # the saved settings fail together (a crop size and a stem)
        f"{path}: the run's saved settings are not valid together ({error}); --resume "
        "continues the run with them: correct config.json, or start a new --out"
    ) from None


def epoch_table_row(row: dict[str, Any]) -> str:
    """One line per epoch for the console (the full row is in log.csv)."""
    return (
        f"epoch {row['epoch']:>4}  lr {row['lr']:.2e}  train {row['train_loss']:.4f}  "
        f"val {row['val_loss']:.4f}  JSI {row['val_jsi']:.4f}  sens {row['val_sensitivity']:.4f}  "
        f"spec {row['val_specificity']:.4f}  best {row['best_epoch']}"
    )


def _run_with_progress(console: Any, run: Any) -> None:
    import os

    if os.environ.get("RANK", "0") != "0":  # torchrun: only rank 0 reports
        run(None)
        return
    from wds_edge.cli.console import rich_progress

    with rich_progress(console=console, transient=False, count=False, remaining=True) as bar:
        task = bar.add_task("training", total=None, info="")
        state = {"steps": 1}

        def on_progress(event: Any) -> None:
            if event.kind == "start":
                state["steps"] = max(event.steps, 1)
                bar.update(
                    task,
                    total=event.epochs * state["steps"],
                    completed=event.epoch * state["steps"],
                )
            elif event.kind == "step":
                bar.update(
                    task,
                    completed=(event.epoch - 1) * state["steps"] + event.step,
                    description=f"epoch {event.epoch}/{event.epochs}",
                    info=f"loss {event.loss:.4f}",
                )
            elif event.kind == "epoch":
                bar.console.print(epoch_table_row(event.row))
            elif event.kind == "test":
                m = event.metrics["test"]
                bar.console.print(
                    f"test fold: JSI {m['jsi']:.4f}  acc {m['accuracy']:.4f}  "
                    f"sens {m['sensitivity']:.4f}  spec {m['specificity']:.4f}"
                )

        result = run(on_progress)
    console.print(
        f"best epoch {result.best_epoch} (validation JSI {result.metrics['val']['jsi']:.4f}) -> "
        f"{result.best_path}",
        markup=False,
    )
    if result.face_crop_px is not None:
        console.print(
            f"trained on {result.face_crop_px} px face crops: 'wds-edge export' gives the model "
            f"that input size, so the kiosk crops faces at the scale it learned"
        )


def _eval(
    checkpoint: Path = typer.Option(
        ..., "--checkpoint", help="best.pt / last.pt from 'wds-edge train'."
    ),
    data: Path = typer.Option(
        ..., "--data", help="Data folder (generic or DRIVE layout) with masks."
    ),
    json_out: bool = typer.Option(
        False,
        "--json",
        help="Print one JSON object (jsi, accuracy, sensitivity, specificity, ...).",
    ),
    threshold: float = typer.Option(
        0.5, "--threshold", help="Probability threshold for a wrinkle pixel."
    ),
    split: str = typer.Option(
        "auto",
        "--split",
        help="auto (default): the run's validation images; all of them when none of the "
        "folder's images is one of the run's nor shares a video / person with them (a "
        "held-out folder: 'held_out' in the JSON, null when the run's --groups file could "
        "not be read; other frames of a video or photos of a person the run holds are "
        "refused, exit 2); "
        "all, with a warning, when the checkpoint records no split. all: every image, "
        "training images included; train / val / test: the run's images of that split.",
    ),
    device: str = typer.Option(
        "auto", "--device", help="auto (CUDA if present) | cpu | cuda | cuda:N | mps (any case)."
    ),
    mask_threshold: int = typer.Option(
        None,
        "--mask-threshold",
        min=0,
        max=254,
        help="Binarize non-binary masks at this grey value (0-254).",
    ),
    regions: str = typer.Option(
        None,
        "--regions",
        help="Score only inside these areas, as 'wds-edge baseline' scores the classic "
        "filters (paper Table 3): forehead,eyes (landmark areas cut to the fov; the labels' "
        "landmarks/ or detected), forehead, eyes, or none (the fov / whole image as one "
        "area); adds the JSI of each area. Default: the fov / whole image.",
    ),
    landmarker: Path = typer.Option(
        None,
        "--landmarker",
        help="FaceLandmarker .task model for --regions on images without saved landmarks.",
    ),
    allow_scale_mismatch: bool = typer.Option(
        False,
        "--allow-scale-mismatch",
        help="Score labels made at another face-crop size ('wds-edge label --crop-size', "
        "labels.json) than the checkpoint was trained on: refused by default, as the model "
        "would see faces at a scale it did not learn (export refuses that size too).",
    ),
    groups: Path = typer.Option(
        None,
        "--groups",
        help="Where the run's --groups CSV is now, if it has moved (it must give the run's "
        "images the groups it trained with): the held-out check compares the folder's "
        "images with the run's people by it. Without it, a run's CSV that cannot be read "
        "leaves the people uncompared: 'held_out' is null in the JSON.",
    ),
) -> None:
    """Score a checkpoint on whole images: JSI, accuracy, sensitivity, specificity.

    Pooled over all pixels (the paper's protocol) and as a per-image mean, inside the \
field-of-view / skin masks when the data set has them. With --regions, only inside the \
forehead / eye areas, each area also on its own: the U-Net's side of the paper's Table 3 \
(wds-edge baseline --method hessian|gabor gives the filters' side on the same areas). Exit \
code 1 when --regions could not find the areas of some images (listed), 2 on usage errors \
(a folder that is neither the run's --split nor held out, a --groups file not the run's).
    """
    from wds_edge._deps import require
    from wds_edge.cli.console import make_console, plain

    require("torch", "evaluation")
    from wds_edge_train.evaluate import evaluate_checkpoint
    from wds_edge_train.loop import resolve_device

    _check_landmarker_use(regions, landmarker)
    dev = str(resolve_device(device))
    result = evaluate_checkpoint(
        checkpoint,
        data,
        threshold=threshold,
        split=split,
        device=dev,
        mask_threshold=mask_threshold,
        regions=regions,
        landmarker_path=landmarker,
        allow_scale_mismatch=allow_scale_mismatch,
        groups=groups,
    )
    problems = result.get("problems") or {}
    split = result["split"]  # "auto" resolved
    trained_on = result.get("trained_on")
    held_out = result.get("held_out")  # None: scored as held out, the people not compared
    unverified = result.get("held_out_unverified")
    if held_out is not False:
        make_console(stderr=True).print(
            f"none of the {len(result['images'])} images of --data is in the run's data set "
            "(train / val / test): scoring all of them as held-out images"
            + (
                ""
                if held_out
                else "; unverified: the run's people were not compared (see the "
                "warning above), 'held_out' is null"
            ),
            highlight=False,
        )
    akin = result.get("trained_group") or []  # frames of its videos, photos of its people
    if split == "all" and (trained_on != [] or akin):
        reasons = []
        if trained_on:
            names = ", ".join(trained_on[:3]) + (", ..." if len(trained_on) > 3 else "")
            reasons.append(f"{len(trained_on)} of them are the run's training images ({names})")
        if akin:
            names = ", ".join(akin[:3]) + (", ..." if len(akin) > 3 else "")
            reasons.append(
                f"{len(akin)} share a video or person with the run's training images ({names})"
            )
        why = "; ".join(reasons) or (
            "the checkpoint records no split, so training images may be among them"
        )
        make_console(stderr=True).print(
            f"[yellow]warning:[/] scoring every image of --data; {plain(why)}: the figures are "
            "optimistic (use --split val or test)"
        )
    if json_out:
        obj = {**result["pooled"], "per_image_mean": result["per_image_mean"],
               "n_images": len(result["images"]), "images": result["images"],
               "threshold": threshold, "split": split, "checkpoint": str(checkpoint),
               "trained_on": trained_on, "held_out": held_out,
               "held_out_unverified": unverified}  # fmt: skip
        if regions is not None:
            obj.update(areas=result["areas"], per_area=result["per_area"], problems=problems)
        if result.get("warnings"):  # other images under the run's names, no ground truth
            obj["warnings"] = result["warnings"]
        typer.echo(json.dumps(obj))
        raise typer.Exit(1 if problems else 0)
    which = (
        "all, held out" if held_out else "all, held out unverified" if held_out is None else split
    )
    areas = f", areas: {result['areas']}" if regions is not None else ""
    console = make_console()
    print_metric_tables(
        console,
        f"{plain(checkpoint)} on {plain(data)} ({len(result['images'])} images, {which}{areas})",
        result["pooled"],
        result["per_image_mean"],
        result.get("per_area"),
    )
    for stem, msg in problems.items():
        console.print(f"[red]not scored[/] {plain(stem)}: {plain(msg)}", highlight=False)
    if problems:
        raise typer.Exit(1)


def _check_landmarker_use(regions: str | None, landmarker: Path | None) -> None:
    """Refuse ``eval --landmarker`` where no landmark area is scored (it was dropped without
    a word), before the checkpoint and the data load: no ``--regions`` (the fov / whole image),
    or ``--regions none`` (the area code refuses the rest, as for ``baseline``)."""
    if landmarker is None:
        return
    if regions is None or regions.strip().lower() == "none":
        which = "no --regions" if regions is None else "--regions none"
        raise InvalidInputError(
            f"--landmarker finds the forehead / eye areas of --regions, and {which} scores the "
            "fov / whole image: pass --regions forehead,eyes (or forehead / eyes), or leave "
            "out --landmarker"
        )


def print_metric_tables(
    console: Any,
    title: str,
    pooled: dict[str, float],
    per_image_mean: dict[str, float],
    per_area: dict[str, dict[str, float]] | None = None,
) -> None:
    """The tables ``eval`` and ``baseline`` print: the metrics pooled and as a per-image
    mean; with areas, the pooled metrics of each area (paper Table 3's rows)."""
    from rich.table import Table

    from wds_edge.cli.console import plain

    metrics = ("jsi", "accuracy", "sensitivity", "specificity")
    table = Table(title=title)
    table.add_column("metric")
    table.add_column("pooled", justify="right")
    table.add_column("per-image mean", justify="right")
    for k in metrics:
        table.add_row(k, f"{pooled[k]:.4f}", f"{per_image_mean[k]:.4f}")
    console.print(table)
    if per_area:
        by_area = Table(title="pooled in each area")
        by_area.add_column("area")
        for k in metrics:
            by_area.add_column(k, justify="right")
        for name, m in per_area.items():
            by_area.add_row(plain(name), *(f"{m[k]:.4f}" for k in metrics))
        console.print(by_area)


def register(app: typer.Typer) -> None:
    """Add `train` and `eval` to `app`."""
    app.command("train", help=TRAIN_HELP)(_train)
    app.command("eval")(_eval)
