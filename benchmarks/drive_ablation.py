"""DRIVE ablation: the same U-Net trained with plain / ds / wds losses, over several seeds.

For each seed the 20 DRIVE training images are split into 16 training and 4 validation
images (the split depends on the seed, so three seeds = three different validation
sets); every mode of a seed trains from the same initialisation on the same split. Each
run is scored on its 4 validation images (whole images, pooled over the field of view,
threshold 0.5) twice: with the best-on-validation checkpoint (``best``) and with the
last-epoch checkpoint (``last``, not selected on anything). With ``--tta-flip`` both are
also scored with a horizontal-flip test-time average. There is no separate test set (the
DRIVE test split is not in ../shared): these are validation figures; ``best`` is selected
on the same 4 images it is scored on, ``last`` is not.

Augmentation: the ``paper`` profile (Section 4: scale, shift, rotation, brightness, colour,
flip) unless ``--augment`` says otherwise; never the kiosk-camera effects (grey, JPEG, white
balance ... make no sense for retina images). ``--recipe`` starts from another recipe
(:mod:`wds_edge_train.recipes`). Every run records its full resolved configuration (with the git
commit and library versions) in ``results.json``.

Resumable: an invocation skips runs that already finished (their scores are taken from
``results.json``) and continues interrupted ones from their ``last.pt``, so a long queue can
be stopped and restarted, across sessions, with the same command. A finished run is kept only
when it was trained with the settings asked (its own recorded configuration, the 584 padding;
the same data: layout, number of images, file names and content, wherever the folder lies;
``--tta-flip`` only adds the TTA scores it lacks): one of other settings is refused before
anything trains, unless ``--force-retrain`` trains it again. The table's title and
``results.json``'s ``settings`` say what the runs share; a setting in which they differ gets
a column.

Usage::

    # reduced: a 2-core CPU (base 16, 256 px crops)
    python benchmarks/drive_ablation.py --reduced --seeds 0,1,2 --epochs 50
    python benchmarks/drive_ablation.py --reduced --seeds 0 --modes ds,wds --dice two-class
    # the paper's configuration (base 64, 200 epochs, AMP) on an NVIDIA GPU
    python benchmarks/drive_ablation.py --device cuda --seeds 0,1,2
    # aggregate any number of result files into the mean / std / paired-difference table
    python benchmarks/drive_summary.py OUT1/results.json OUT2/results.json

Prints one table and writes ``OUT/results.json`` (default OUT: runs/drive_ablation).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from drive_summary import SHOWN, run_settings, varying  # noqa: E402

#: reduced: fits a shared 2-core CPU; full: the paper (Adam 0.01 -> 1e-6 cosine, batch 4).
CONFIGS = {
    "reduced": {"base_channels": 16, "crop_size": 256, "epochs": 25, "batch_size": 4},
    # DRIVE is 565 x 584: 576 px crops cover almost the whole image (11 reflected columns).
    "full": {"base_channels": 64, "crop_size": 576, "epochs": 200, "batch_size": 4},
}
MODES = ("plain", "ds", "wds")
#: The paper zero-pads DRIVE's 584 x 565 images horizontally to 584 x 584 (Section 5.1).
PAPER_SIDE_PX = 584


def pad_drive_to_square(src: Path, dst: Path, side_px: int = PAPER_SIDE_PX) -> Path:
    """Copy a DRIVE folder with every image, label and FOV zero-padded to ``side_px``.

    The padding is split left / right (and top / bottom) as evenly as possible; the FOV is
    zero in the padding, so the loss and the metrics never see it. Written as PNG in the
    DRIVE layout (``images/NN_training.png`` ...), so :func:`wds_edge_train.data.discover_samples`
    reads it like the original.
    """
    import cv2
    import numpy as np

    from wds_edge_train.data import discover_samples, load_sample

    _, samples = discover_samples(src)
    for sub in ("images", "1st_manual", "mask"):
        (dst / sub).mkdir(parents=True, exist_ok=True)
    for sample in samples:
        s = load_sample(sample)
        h, w = s.mask.shape
        top, left = (side_px - h) // 2, (side_px - w) // 2
        pads = ((top, side_px - h - top), (left, side_px - w - left))
        fov = s.fov if s.fov is not None else np.ones_like(s.mask)
        image = np.pad(s.image_rgb, (*pads, (0, 0)))
        cv2.imwrite(str(dst / "images" / f"{s.stem}_training.png"), image[:, :, ::-1])
        for sub, name, m in (("1st_manual", "manual1", s.mask), ("mask", "training_mask", fov)):
            cv2.imwrite(
                str(dst / sub / f"{s.stem}_{name}.png"), np.pad(m, pads).astype("uint8") * 255
            )
    return dst


def score_run(run: Path, data: Path, device: str, tta_flip: bool) -> dict[str, Any]:
    """Validation metrics of ``best.pt`` and ``last.pt`` of a finished run (and with TTA)."""
    from wds_edge_train.checkpoint import load_checkpoint
    from wds_edge_train.data import discover_samples, load_sample
    from wds_edge_train.evaluate import evaluate_samples

    out: dict[str, Any] = {}
    for name in ("best", "last"):
        ckpt = load_checkpoint(run / f"{name}.pt", map_location=device)
        wanted = set(ckpt.raw["extra"]["splits"]["val"])
        _, samples = discover_samples(data)
        loaded = [load_sample(s) for s in samples if s.stem in wanted]
        out[name] = {**evaluate_samples(ckpt.model, loaded, device)["pooled"], "epoch": ckpt.epoch}
        if tta_flip:
            res = evaluate_samples(ckpt.model, loaded, device, tta_flip=True)
            out[f"{name}_tta_flip"] = {**res["pooled"], "epoch": ckpt.epoch}
    return out


def settings_difference(asked: dict[str, Any], run: dict[str, Any]) -> list[str]:
    """How the settings ``asked`` (:func:`drive_summary.run_settings` of the run this
    invocation would train) differ from those of the finished ``run``, one line each."""
    if not run.get("config"):
        return ["the run did not record its configuration (an older drive_ablation.py)"]
    have = run_settings(run)
    return [
        f"{k}: run has {have.get(k)!r}, asked {v!r}"
        for k, v in asked.items()
        if have.get(k) != v and k != "data_content"  # the data: data_difference
    ]


#: The parts of a run's ``config["data"]`` that say which images it trained on (its path
#: does not: a moved copy of the same files is the same data) and how a message names them.
DATA_IDENTITY = {
    "layout": "layout", "n_images": "number of images", "files_sha256": "file names",
    "content_sha256": "file content",
}  # fmt: skip


def data_difference(asked: dict[str, Any], run: dict[str, Any]) -> list[str]:
    """How the data ``asked`` (:func:`wds_edge_train.loop.data_identity` of the folder this
    invocation trains on) differs from the data the finished ``run`` trained on: its layout,
    number of images, file names or content (not its path); one line, or none."""
    have = (run.get("config") or {}).get("data")
    if not isinstance(have, dict) or not isinstance(have.get("content_sha256"), dict):
        return [
            "data: the run did not record its data's content digests (an older training "
            "loop), so whether it trained on these images cannot be checked"
        ]
    differ = [what for k, what in DATA_IDENTITY.items() if have.get(k) != asked.get(k)]
    if not differ:
        return []
    return [
        f"data: the run trained on {have.get('path')} ({have.get('n_images')} images), asked "
        f"{asked['path']} ({asked['n_images']} images): other {', '.join(differ)}"
    ]


def describe_runs(runs: list[dict[str, Any]]) -> tuple[dict[str, Any], list[str]]:
    """The settings the ``runs`` share (named ones: :data:`drive_summary.SHOWN` and the Dice)
    and the names of those in which they differ (a table gives those a column each)."""
    settings = [{**run_settings(r), "dice": r["dice"]} for r in runs]
    differ = varying(settings)
    names = [*SHOWN, "dice"]
    common = {k: settings[0].get(k) for k in names if settings and k not in differ}
    return common, [k for k in names if k in differ]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    default_data = Path(os.environ.get("WDS_EDGE_SHARED", REPO.parent / "shared"))
    parser.add_argument("--data", type=Path, default=default_data / "data/DRIVE/training")
    parser.add_argument("--out", type=Path, default=REPO / "runs" / "drive_ablation")
    parser.add_argument("--reduced", action="store_true", help="CPU configuration")
    parser.add_argument("--modes", default=",".join(MODES), help="comma-separated loss modes")
    parser.add_argument("--dice", default="binary", choices=("binary", "two-class"))
    parser.add_argument("--epochs", type=int, help="override the configuration's epochs")
    parser.add_argument("--base", type=int, help="override the U-Net width")
    parser.add_argument("--crop-size", type=int, help="override the crop size")
    parser.add_argument("--batch-size", type=int, help="override the batch size")
    parser.add_argument("--seeds", default="0", help="comma-separated seeds (= splits)")
    parser.add_argument("--pad-584", action="store_true", help="zero-pad to 584 x 584 (paper)")
    parser.add_argument("--tta-flip", action="store_true", help="also score with flip TTA")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--recipe", default="project", help="project | paper | official")
    parser.add_argument(
        "--augment", default="paper", help="none | official | paper (default) | kiosk"
    )
    parser.add_argument("--amp", action=argparse.BooleanOptionalAction, default=None,
                        help="mixed precision on CUDA (default: the recipe's)")  # fmt: skip
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (shared CPU)")
    parser.add_argument(
        "--force-retrain", action="store_true",
        help="train again the runs of --out that finished with other settings than these "
        "(their results are replaced); without it such a run is refused",
    )  # fmt: skip
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)

    import torch
    from rich.console import Console
    from rich.table import Table

    from wds_edge.bench.environment import LoadWatch, environment_report, format_environment
    from wds_edge.errors import InvalidInputError
    from wds_edge_train.config import resolve_augment
    from wds_edge_train.loop import TrainConfig, data_identity, resolve_device, train

    env, load = environment_report(), LoadWatch()
    torch.set_num_threads(args.threads)
    name = "reduced" if args.reduced else "full"
    cfg = dict(CONFIGS[name])
    for key, value in (("epochs", args.epochs), ("base_channels", args.base),
                       ("crop_size", args.crop_size), ("batch_size", args.batch_size)):  # fmt: skip
        if value is not None:
            cfg[key] = value
    data = args.out / "drive584" if args.pad_584 else args.data
    device = str(resolve_device(args.device))
    console = Console()
    results_path = args.out / "results.json"
    runs: list[dict[str, Any]] = []
    if results_path.is_file():  # a resumed queue: keep what earlier invocations finished
        runs = json.loads(results_path.read_text()).get("runs", [])
    overrides = {"augment": args.augment} | ({} if args.amp is None else {"amp": args.amp})
    # The images the runs train on: a finished run is kept only when it trained on the same
    # (layout, count, names, content). --pad-584 pads into a staging folder first, which
    # replaces OUT/drive584 once nothing is refused.
    staging = args.out / "drive584.new"
    if args.pad_584:
        shutil.rmtree(staging, ignore_errors=True)
        pad_drive_to_square(args.data, staging)
    asked_data = data_identity(staging if args.pad_584 else data)
    if args.pad_584:  # what a message names (the path is not compared)
        asked_data["path"] = f"{args.data} padded to {PAPER_SIDE_PX} px"

    # the plan: every (seed, mode) with its configuration; a finished run of other settings
    # is refused before anything trains (it used to be kept, and its row titled with these)
    plan = []
    refused = []
    for seed in (int(s) for s in args.seeds.split(",")):
        for mode in args.modes.split(","):
            run = (
                args.out
                / f"seed{seed}"
                / (mode if args.dice == "binary" else f"{mode}-{args.dice}")
            )
            config = TrainConfig.from_recipe(
                args.recipe, data=str(data), out=str(run), loss=mode, dice=args.dice, seed=seed,
                split_seed=seed, val_count=4, device=args.device, tensorboard=False,
                **overrides, **cfg,
            )  # fmt: skip
            resolved = dataclasses.asdict(config)
            resolved["augment"] = resolve_augment(config.augment, "drive", data)
            asked = run_settings(
                {"config": resolved, "augment": resolved["augment"], "pad_584": args.pad_584}
            )
            key = (seed, mode, args.dice)
            done = [r for r in runs if (r["seed"], r["mode"], r["dice"]) == key]
            finished = bool(done) and (run / "metrics.json").is_file()
            differ = (
                settings_difference(asked, done[0]) + data_difference(asked_data, done[0])
                if finished
                else []
            )
            if differ and not args.force_retrain:
                refused.append(f"seed {seed} {mode} ({args.dice}): " + "; ".join(differ))
            plan.append((seed, mode, run, config, finished and not differ, bool(differ)))
    if refused:
        shutil.rmtree(staging, ignore_errors=True)
        parser.error(
            f"{args.out} holds finished runs made with other settings than asked: "
            + " | ".join(refused)
            + ". Pass a new --out to keep both, or --force-retrain to train these again "
            "(their results are replaced)"
        )
    if args.pad_584:
        shutil.rmtree(data, ignore_errors=True)
        staging.rename(data)
    t_start = time.perf_counter()
    for seed, mode, run, config, reuse, retrain in plan:
        key = (seed, mode, args.dice)
        if reuse:
            (old,) = [r for r in runs if (r["seed"], r["mode"], r["dice"]) == key]
            if args.tta_flip and "best_tta_flip" not in old:  # scored without TTA before
                old.update(score_run(run, data, device, tta_flip=True))
                console.print(f"seed {seed} {mode} ({args.dice}): finished earlier, TTA scored")
            else:
                console.print(f"seed {seed} {mode} ({args.dice}): finished earlier, kept")
            continue
        runs = [r for r in runs if (r["seed"], r["mode"], r["dice"]) != key]
        resume = (run / "last.pt").is_file() and not retrain
        if run.exists() and not resume:
            shutil.rmtree(run)  # nothing to continue from, or other settings (--force-retrain)
        t0 = time.perf_counter()
        what = "resuming" if resume else "training"
        console.print(f"[bold]seed {seed} {mode} ({args.dice})[/]: {what} {cfg} ...")
        try:
            res = train(config, resume=resume)
        except InvalidInputError as exc:  # an interrupted run of other settings
            if not (resume and args.force_retrain):
                parser.error(f"{exc} (or --force-retrain to start it again)")
            shutil.rmtree(run)
            resume = False
            res = train(config, resume=False)
        wall_s = time.perf_counter() - t0
        scores = score_run(run, data, device, args.tta_flip)
        run_config = json.loads((run / "config.json").read_text())
        runs.append({
            "seed": seed, "mode": mode, "dice": args.dice, "best_epoch": res.best_epoch,
            "augment": run_config["augment"], "recipe": run_config["recipe"],
            "pad_584": args.pad_584,
            "wall_s": round(wall_s, 1),
            "train_s": round(sum(float(r["time_s"]) for r in res.log), 1),
            "resumed": resume, "val_images": res.metrics["val_images"], **scores,
            "loadavg_end": list(os.getloadavg()), "config": run_config,
        })  # fmt: skip
        console.print(
            f"  done in {wall_s / 60:.1f} min, best epoch {res.best_epoch}, JSI best "
            f"{scores['best']['jsi']:.4f} / last {scores['last']['jsi']:.4f}"
        )
        _write(results_path, runs, name, args, device, env, load, t_start, torch.__version__)
    load.stop()
    _write(results_path, runs, name, args, device, env, load, t_start, torch.__version__)

    common, columns = describe_runs(runs)
    title = ", ".join(f"{k} {v}" for k, v in common.items())
    table = Table(title=f"DRIVE ablation ({title}), 4 val images, FOV")
    for col in ("seed", "loss", *columns, "JSI best", "JSI last", "acc", "sens", "spec",
                "best ep", "min"):  # fmt: skip
        table.add_column(col, justify="right")
    for r in runs:
        b = r["best"]
        settings = {**run_settings(r), "dice": r["dice"]}
        table.add_row(
            str(r["seed"]), r["mode"], *(str(settings.get(k)) for k in columns),
            f"{b['jsi']:.4f}", f"{r['last']['jsi']:.4f}",
            *(f"{b[k]:.4f}" for k in ("accuracy", "sensitivity", "specificity")),
            str(r["best_epoch"]), f"{r['wall_s'] / 60:.1f}",
        )  # fmt: skip
    console.print(table)
    console.print(f"# {format_environment(env, load)}")
    if load.warning():
        console.print(f"# warning: {load.warning()}")
    console.print(f"wrote {args.out / 'results.json'}")
    return 0


def _write(
    path: Path, runs: list[dict[str, Any]], name: str, args: argparse.Namespace, device: str,
    env: dict[str, Any], load: Any, t_start: float, torch_version: str,
) -> None:  # fmt: skip
    """``results.json``: the runs, and what they share (from the runs themselves: a resumed
    queue may hold runs of earlier invocations), the machine and the load."""
    from wds_edge.io import write_json_atomic

    common, mixed = describe_runs(runs)
    summary = {
        "config": name,  # this invocation's base configuration (CONFIGS)
        "settings": {k: common[k] for k in ("base_channels", "crop_size", "epochs", "batch_size")
                     if k in common},
        "dice": common.get("dice"), "pad_584": common.get("pad_584"),
        "recipe": common.get("recipe"), "augment": common.get("augment"), "mixed": mixed,
        "device": device, "threads": args.threads, "torch": torch_version,
        "machine": env["cpu"]["model"], "cpus": os.cpu_count(), "environment": env,
        "load": load.to_dict(),
        "wall_s": round(time.perf_counter() - t_start, 1), "runs": runs,
    }  # fmt: skip
    write_json_atomic(path, summary)  # after every run


if __name__ == "__main__":
    raise SystemExit(main())
