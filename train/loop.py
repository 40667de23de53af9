"""The training loop behind ``wds-edge train``.

Defaults follow the paper / reference code: Adam, lr 0.01 with cosine annealing to 1e-6
over the epochs (stepped once per epoch), L2 weight decay 1e-4 on conv weights only (not
on biases or BatchNorm parameters), batch 4, 640 x 640 crops (on ``wds-edge label`` data:
the face crops' own size when smaller; :func:`wds_edge_train.config.resolve_crop_size`), 200
epochs. Mixed precision (``torch.autocast`` + ``GradScaler``) is used on CUDA only.
Launched by ``torchrun`` (env ``WORLD_SIZE`` > 1) the loop runs DistributedDataParallel:
each process takes ``batch_size`` images per step on the GPU of its ``LOCAL_RANK``
(``device`` ``auto`` / ``cuda``; NCCL) or on the CPU (``cpu``, or ``auto`` without CUDA;
gloo), only rank 0 validates and writes files.

The checkpoint kept as ``best.pt`` is selected on the **validation** split (highest pooled
JSI, ties -> lower validation loss, then the earliest epoch: :func:`improves_on`; a
validation split without any wrinkle pixel is refused, its JSI would read 1.0 for a model
that finds nothing); a test fold (``folds`` / ``fold``) is scored once at the
end with that checkpoint and reported separately. Splits are drawn with ``split_seed`` (not
``seed``, which recipes set: runs of several recipes share their folds) and cut by group
(:mod:`wds_edge_train.folds`: the frames of one video, or the ``groups`` / ``group_by``
people), recorded in ``folds.json``; ``config.json`` keeps a digest of the grouping, which
a resume must match (the ``groups`` file's content, not its path: a moved file is given
anew). Outputs in ``out``: ``best.pt``,
``last.pt``, ``config.json``, ``folds.json``, ``log.csv``, ``metrics.json`` and, when
TensorBoard is installed, ``tb/``. ``metrics.json`` is the finished run's: written at the
end from ``best.pt`` (its validation figures and best epoch, and the test fold scored with
its weights), and removed before a resume trains more epochs, so a run folder holding it
is finished (``benchmarks/drive_ablation.py`` reads it so). ``config.json`` (and every
checkpoint) records
``face_crop_px``: the side of the face crops of a ``wds-edge label`` data folder (its
``labels.json``), i.e. the face scale the model learns and the input size ``wds-edge
export`` gives the kiosk; ``crop_size`` is only the random crop cut from them.
``resume=True`` continues from ``last.pt``: the epoch counter, learning-rate schedule,
optimizer and the random streams continue as if never interrupted; a larger ``epochs`` on
resume extends the run (the cosine schedule is re-drawn for the new horizon from the resumed
epoch on; each ``provenance`` entry records the horizon it trained to). A smaller ``epochs``
than an interrupted run's own horizon is refused: its epochs followed that horizon's cosine,
and the run would pass for a shorter one it does not match. A resume must run the same number
of processes (``world_size``): each takes ``batch_size`` images per step, so another count
changes the effective batch and the steps per epoch. It must also train on the same data: the
run's folder (or a moved copy) holding the same file names with the same content
(``config["data"]``: images, masks, fov, zones and landmarks files, and the ``labels.json``
options, by SHA-256); relabelled masks or other images under the same names are refused
(best.pt's validation JSI would be compared across ground truths): a new ``out`` trains them.
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import io
import json
import logging
import math
import os
import random
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader

from wds_edge.errors import DataError, InvalidInputError, ModelError
from wds_edge.io import fsync_dir, write_json_atomic, write_text_atomic
from wds_edge_train.checkpoint import OutputKindError, load_checkpoint, save_checkpoint
from wds_edge_train.config import (
    DEFAULT_CROP_SIZE,
    TrainConfig,
    TrainProgress,
    TrainResult,
    check_device_name,
    check_face_crop_stem,
    check_training_crop,
    legacy_augment,
    resolve_augment,
    resolve_crop_size,
)
from wds_edge_train.data import (
    LoadedSample,
    Sample,
    content_digests,
    discover_samples,
    load_sample,
    sample_digests,
)
from wds_edge_train.dataset import CropDataset, seed_worker
from wds_edge_train.evaluate import evaluate_samples
from wds_edge_train.folds import (
    grouping_record,
    grouping_rule,
    image_groups,
    make_splits,
    members_of,
)
from wds_edge_train.labeling.runner import labelled_face_crop_px
from wds_edge_train.losses import DeepSupervisionLoss
from wds_edge_train.model import WrinkleUNet, out_channels_for
from wds_edge_train.provenance import run_provenance

__all__ = [
    "TrainConfig", "TrainProgress", "TrainResult", "train", "improves_on", "LOG_COLUMNS",
    "data_identity",
]  # fmt: skip

log = logging.getLogger(__name__)

LOG_COLUMNS = (
    "epoch", "lr", "train_loss", "val_loss", "val_jsi", "val_accuracy",
    "val_sensitivity", "val_specificity", "best_epoch", "time_s",
)  # fmt: skip
#: Fields that may differ between an interrupted run and its resumption.
#: A larger ``epochs`` extends a run: the cosine curve is re-drawn for the new horizon (a
#: smaller one than an interrupted run's horizon is refused in train()).
_RESUME_FREE = {"device", "workers", "tensorboard", "epochs", "provenance"}
#: What runs written before these settings existed did (so they can still be resumed).
_LEGACY_SETTINGS = {
    "recipe": "project", "input_norm": "unit", "zone_weight": 1.0, "region_balance": False,
    "groups": None, "group_by": None,
}  # fmt: skip


def resolve_device(name: str) -> torch.device:
    """``--device`` -> a torch device: ``auto`` is CUDA when available, else the CPU; ``cpu``,
    ``cuda``, ``cuda:N`` and ``mps`` (any case) must exist on this machine.

    Raises:
        InvalidInputError: another name, or a device torch does not see.
    """
    text = check_device_name(name)
    if text == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if text.startswith("cuda"):
        if not torch.cuda.is_available():
            raise InvalidInputError(
                f"--device {name} was asked for but torch sees no CUDA GPU; use cpu"
            )
        count = torch.cuda.device_count()
        if ":" in text and int(text.split(":")[1]) >= count:
            raise InvalidInputError(
                f"--device {name}: torch sees {count} CUDA GPU(s), cuda:0 to cuda:{count - 1}"
            )
    if text == "mps":
        mps = getattr(torch.backends, "mps", None)
        if mps is None or not mps.is_available():
            raise InvalidInputError(
                f"--device {name} was asked for but torch sees no Apple GPU (MPS); use cpu"
            )
    return torch.device(text)


def resolve_distributed_device(name: str, local_rank: int) -> torch.device:
    """``--device`` of one torchrun process (its ``LOCAL_RANK``: ``local_rank``): ``cpu`` is the
    CPU (DDP over gloo); ``cuda`` the GPU of its local rank (NCCL); ``auto`` that GPU when
    torch sees CUDA, else the CPU; ``cuda:N`` only where N is its local rank.

    Raises:
        InvalidInputError: a device this machine lacks (:func:`resolve_device`), ``mps``, a
            ``cuda:N`` of another local rank, or a local rank without a GPU.
    """
    text = check_device_name(name)
    if text == "cpu" or (text == "auto" and not torch.cuda.is_available()):
        return torch.device("cpu")
    if text == "mps":
        raise InvalidInputError(
            f"--device {name}: DistributedDataParallel (torchrun) has no Apple GPU (MPS) "
            "backend; run without torchrun, or pass --device cpu"
        )
    if text != "auto":
        resolve_device(name)  # the GPU(s) must exist
    if ":" in text and int(text.split(":")[1]) != local_rank:
        raise InvalidInputError(
            f"--device {name}: under torchrun each process trains on the GPU of its LOCAL_RANK, "
            f"and this process's is {local_rank} (cuda:{local_rank}), so the processes would "
            "not get one GPU each; pass --device cuda (or auto) and choose the GPUs with "
            "CUDA_VISIBLE_DEVICES"
        )
    count = torch.cuda.device_count()
    if local_rank >= count:
        raise InvalidInputError(
            f"torchrun process of LOCAL_RANK {local_rank} has no GPU of its own: torch sees "
            f"{count} CUDA GPU(s); launch --nproc_per_node={count} or fewer, or pass "
            "--device cpu"
        )
    return torch.device("cuda", local_rank)


def _param_groups(model: torch.nn.Module, weight_decay: float) -> list[dict[str, Any]]:
    # L2 regularisation on conv kernels only: decaying biases and BN gains/shifts hurts.
    decay, no_decay = [], []
    for p in model.parameters():
        if p.requires_grad:
            (no_decay if p.ndim <= 1 else decay).append(p)
    return [
        {"params": decay, "weight_decay": weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]


def _write_csv(path: Path, rows: list[dict[str, Any]]) -> None:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=LOG_COLUMNS, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    write_text_atomic(path, buf.getvalue())


def _seed_all(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


#: What ``content_sha256`` digests (a ``Sample`` field, or the ``labels.json`` options) and
#: how a message names it.
_CONTENT_KINDS = {
    "images": "images", "masks": "masks", "fov": "fov masks", "zones": "zones masks",
    "landmarks": "landmarks", "labels_options": "labels.json options",
}  # fmt: skip


def _data_identity(root: str | Path, layout: str, samples: list[Sample]) -> dict[str, Any]:
    """``config["data"]``: the data folder (resolved absolute path), its layout, its number of
    images, ``files_sha256``, the SHA-256 of its sorted file names (images, masks and the
    optional fov / zones / landmarks files, relative to the folder): a moved copy of the
    same data has the same names, count and layout; and ``content_sha256``, what the files
    hold (:func:`~wds_edge_train.data.content_digests`): relabelled masks, other images or
    labelling options under the same names are other data."""
    base = Path(root)
    names = []
    for s in samples:
        for p in (s.image, s.mask, s.fov, s.zones, s.landmarks):
            if p is not None:
                try:
                    names.append(p.relative_to(base).as_posix())
                except ValueError:  # not under the folder (cannot happen for its layouts)
                    names.append(p.name)
    digest = hashlib.sha256("\n".join(sorted(names)).encode()).hexdigest()
    return {
        "path": str(base.resolve()), "layout": layout, "n_images": len(samples),
        "files_sha256": digest, "content_sha256": content_digests(base, samples),
    }  # fmt: skip


def data_identity(root: str | Path) -> dict[str, Any]:
    """What a run trained on ``root`` records as its ``config["data"]`` (:func:`_data_identity`):
    layout, number of images, file names and content digests (and the resolved path)."""
    layout, samples = discover_samples(root)
    return _data_identity(root, layout, samples)


#: What to do when the data's content changed under its names.
_CONTENT_ADVICE = (
    "restore the files the run trained on: its checkpoints were trained, and best.pt chosen "
    "by validation JSI, on them, and scores on other labels cannot be compared with theirs "
    "(the changed data trains in a new --out)"
)


def _content_difference(saved: dict[str, Any], now: dict[str, Any]) -> str | None:
    """Which kinds of file hold other content than the run's (``"masks, fov masks"``), None
    when none does or the run did not record it."""
    was = saved.get("content_sha256")
    if not isinstance(was, dict):
        return None
    changed = [
        name for kind, name in _CONTENT_KINDS.items()
        if was.get(kind) != now["content_sha256"].get(kind)
    ]  # fmt: skip
    return ", ".join(changed) or None


def _data_difference(saved: Any, now: dict[str, Any], run_dir: Path) -> tuple[str, str] | None:
    """None when ``now`` is the run's data (a note is logged for a moved copy, and for a run
    started before the content was recorded), else ``(why not, what to do)``.

    The same folder (its resolved path; runs before this stored the path as typed, taken
    relative to the current folder) must still hold the same number of images (renamed
    images are reported by the splits check) with the same content (``content_sha256``).
    Another folder is the run's data when it has the same layout, number of images, file
    names (``files_sha256``; runs without it: the splits check that follows insists on every
    image name they saved) and content.
    """
    follow = (
        "pass the run's data folder as --data (a copy of it elsewhere is accepted when it "
        "holds the same files)"
    )
    if not isinstance(saved, dict) or "path" not in saved:
        if saved == now:
            return None
        return f"data: run has {saved!r}, asked {now['path']!r}", follow
    same_count = saved.get("layout") == now["layout"] and saved.get("n_images") == now["n_images"]
    same_names = saved.get("files_sha256") in (None, now["files_sha256"])
    content = _content_difference(saved, now) if same_count and same_names else None
    if Path(saved["path"]).resolve() == Path(now["path"]):
        if not same_count:
            return (
                f"data: {now['path']} held {saved.get('n_images')} {saved.get('layout')}-layout "
                f"images when the run started and now holds {now['n_images']} "
                f"{now['layout']}-layout images",
                follow,
            )
        if content is not None:
            return (
                f"data: the content of its {content} changed since the run started "
                f"({now['path']}: the same {now['n_images']} images by name)",
                _CONTENT_ADVICE,
            )
    elif not (same_count and same_names):
        return (
            f"data: the run used {saved['path']} ({saved.get('n_images')} "
            f"{saved.get('layout')}-layout images), asked {now['path']} ({now['n_images']} "
            f"{now['layout']}-layout images" + (", other file names)" if same_count else ")"),
            follow,
        )
    elif content is not None:
        return (
            f"data: the run used {saved['path']}, asked {now['path']}: the same "
            f"{now['n_images']} {now['layout']}-layout images by name, but the content of its "
            f"{content} differs",
            _CONTENT_ADVICE,
        )
    else:
        checked = [
            what for key, what in (("files_sha256", "file names"), ("content_sha256", "content"))
            if key in saved
        ]  # fmt: skip
        log.warning(
            "%s: the run's data %s is now given as %s (same layout and %d images%s); "
            "continuing with it",
            run_dir, saved["path"], now["path"], now["n_images"],
            f", same {' and '.join(checked)}" if checked else "",
        )  # fmt: skip
    if not isinstance(saved.get("content_sha256"), dict):
        log.warning(
            "%s was started before the data's content was recorded (its config has no "
            "data.content_sha256): whether the masks or images of %s changed since cannot be "
            "checked; resuming, and recording their content now (later resumes compare with "
            "it). If they were relabelled, start a new --out instead",
            run_dir, now["path"],
        )  # fmt: skip
    return None


def _check_resume(saved: dict[str, Any], cfg: dict[str, Any], run_dir: Path) -> None:
    saved = {**_LEGACY_SETTINGS, **saved}
    saved.setdefault("split_seed", saved.get("seed"))  # runs split with their seed before
    if "face_crop_px" not in saved:
        # A run started before the face-crop scale was recorded: it trained on this data
        # folder (its path is checked below), so its labels.json tells the scale.
        saved["face_crop_px"] = cfg["face_crop_px"]
    saved["augment"] = legacy_augment(saved.get("augment", "none"))
    # groups: the --groups file's path (it may have moved); its content is the grouping's.
    special = {"out", "data", "world_size", "grouping", "groups"}
    diff = [
        f"{k}: run has {saved.get(k)!r}, asked {cfg[k]!r}"
        for k in cfg
        if k not in _RESUME_FREE and k not in special and saved.get(k) != cfg[k]
    ]
    advice = []
    if diff:
        advice.append("drop those settings from the command (the saved config.json is used)")
    data = _data_difference(saved.get("data"), cfg["data"], run_dir)
    if data is not None:
        diff.append(data[0])
        advice.append(data[1])
    # Which images share a split (runs before groups: see train()). Not compared when the
    # data's file names changed: the check of the saved splits names the missing images.
    was, now = saved.get("grouping", cfg["grouping"]), cfg["grouping"]
    saved_data = saved.get("data")
    names_were = saved_data.get("files_sha256") if isinstance(saved_data, dict) else None
    same_names = names_were in (None, cfg["data"]["files_sha256"])
    if was != now and same_names:
        diff.append(
            f"grouping: the run's images were {was.get('n_groups')} groups ({was.get('rule')}), "
            f"now {now['n_groups']} ({now['rule']}), so its saved splits would no longer keep "
            "each group together"
        )
        advice.append(
            "give the images the groups the run used (the --groups file it was started with, "
            "the same --group-by; its folds.json lists them)"
        )
    world = saved.get("world_size", 1)
    if world != cfg["world_size"]:
        # Each process takes batch_size images per step: the effective batch and the number
        # of steps per epoch depend on the process count.
        diff.append(
            f"world_size: run has {world} training process(es), this start has "
            f"{cfg['world_size']} (the effective batch and the steps per epoch would change)"
        )
        advice.append(
            "launch it as it was started: "
            + (
                "without torchrun (or --nproc_per_node=1)"
                if world == 1
                else f"torchrun --nproc_per_node={world} (the same number of processes)"
            )
        )
    if diff:
        raise InvalidInputError(
            f"{run_dir}: --resume must continue the same run; these settings differ: "
            + "; ".join(diff)
            + ". To resume, "
            + "; ".join(advice)
            + ". Or start a new --out"
        )


#: Keys every ``config.json`` a training run wrote holds (how a run folder is recognised).
_RUN_CONFIG_KEYS = ("data", "out", "loss", "base_channels", "epochs")


def _is_run_folder(folder: Path) -> bool:
    """Whether ``folder`` holds a ``config.json`` this training loop wrote."""
    try:
        saved = json.loads((folder / "config.json").read_text())
    except (OSError, ValueError):
        return False
    return isinstance(saved, dict) and all(k in saved for k in _RUN_CONFIG_KEYS)


def _check_new_out(out: Path, data: str | Path) -> None:
    """Refuse an ``out`` a new run cannot write to without harm: the data folder or one inside
    it (or one the data lies in), a run that exists (``last.pt``), or a folder holding other
    files, whose ``config.json`` / ``log.csv`` / ... the run would overwrite. A run folder
    whose run failed before its first epoch (no ``last.pt``) is started again.

    Raises:
        InvalidInputError: such a folder (the message says why and what to do).
    """
    here, read = out.resolve(), Path(data).resolve()
    if here == read or read in here.parents or here in read.parents:
        where = (
            "is the data folder" if here == read
            else "lies inside the data folder" if read in here.parents
            else "holds the data folder"
        )  # fmt: skip
        raise InvalidInputError(
            f"--out {out} {where} --data {data}: the run's files (checkpoints, config.json, "
            "log.csv, ...) and the labels would share a folder; choose a run folder apart from "
            "the data (e.g. --out runs/NAME)"
        )
    if out.exists() and not out.is_dir():
        raise InvalidInputError(f"--out {out} is a file; name a folder for the run")
    if (out / "last.pt").exists():
        raise InvalidInputError(
            f"{out} already holds a run (last.pt); pass --resume to continue it or choose "
            "a new --out folder"
        )
    if out.is_dir() and any(out.iterdir()) and not _is_run_folder(out):
        raise InvalidInputError(
            f"--out {out} already holds files and is not a training run folder (no config.json "
            "of 'wds-edge train'): the run would overwrite any config.json, log.csv, "
            "metrics.json or folds.json there; choose a new or empty folder for --out"
        )


def _remove_durably(path: Path) -> None:
    """Remove ``path`` (if there) and fsync its folder, so the removal survives a power cut."""
    try:
        path.unlink()
    except FileNotFoundError:
        return
    fsync_dir(path.parent)


def _warn_padded_crops(samples: list[LoadedSample], crop_size: int) -> None:
    """Warn when the training images fill less than half of the random crop on average: the
    rest of each crop is reflect padding (mirrored copies, labels mirrored with them), which
    costs steps and teaches little. Face labels never get here (a crop larger than their
    face crops is refused); DRIVE's 565 x 584 images fill 81 % of a 640 px crop."""
    if not samples:
        return
    shares = [
        min(s.mask.shape[0], crop_size) * min(s.mask.shape[1], crop_size) / crop_size**2
        for s in samples
    ]
    mean = float(np.mean(shares))
    if mean >= 0.5:
        return
    smallest = min(min(s.mask.shape) for s in samples)
    log.warning(
        "the %d training images fill %.0f%% of the %d px training crop on average (the smallest "
        "side is %d px): the rest of each crop is mirrored padding; pass a --crop-size near "
        "the images' size (e.g. %d)",
        len(samples), 100 * mean, crop_size, smallest, max(32, smallest // 32 * 32),
    )  # fmt: skip


def improves_on(jsi: float, loss: float, best: dict[str, Any]) -> bool:
    """Whether an epoch of validation ``jsi`` and ``loss`` replaces ``best`` (``{"jsi",
    "loss", "epoch"}``) as ``best.pt``: a higher pooled JSI, or the same JSI and a lower
    loss; on an exact tie the earlier epoch (``best``) is kept."""
    return jsi > best["jsi"] or (jsi == best["jsi"] and loss < best["loss"])


def _has_wrinkle(sample: LoadedSample) -> bool:
    """Whether the label has a wrinkle pixel where it is trained on and scored (its fov)."""
    return bool((sample.mask if sample.fov is None else sample.mask & sample.fov).any())


def _check_wrinkle_pixels(
    loaded: dict[str, list[LoadedSample]], config: TrainConfig, *, resumed: bool
) -> None:
    """Refuse data a run cannot learn from or be measured on: no wrinkle pixel in any mask
    (or in the training split), or a validation / test split without one. Over no wrinkle
    pixel the pooled JSI is 0 / 0, which the metrics define as 1.0 (nothing to find, nothing
    missed): a model that predicts nothing scores a perfect validation JSI, and ``best.pt``
    would lock onto the untrained first epoch.

    Raises:
        DataError: naming the images and what to do.
    """
    everything = [s for split in loaded.values() for s in split]
    if not any(_has_wrinkle(s) for s in everything):
        raise DataError(
            f"{config.data}: none of the {len(everything)} masks (masks/ inside their fov) has "
            "a wrinkle pixel: there is nothing to learn, and a model that finds nothing would "
            "score a perfect validation JSI. Check the labels: 0 = background, 255 = wrinkle "
            "(a label drawn in a colour or channel read as background, the wrong folder?); "
            "label the images again ('wds-edge label') and train on that folder"
        )
    new_out = (
        " This run's splits are saved in its checkpoints: start a new --out to draw others."
        if resumed
        else ""
    )
    if not any(_has_wrinkle(s) for s in loaded["train"]):
        raise DataError(
            f"{config.data}: the {len(loaded['train'])} training images have no wrinkle pixel "
            "in their masks, so there is nothing to learn (the labelled images all went to "
            "validation / test); draw other splits with another --split-seed, or add labelled "
            "images." + new_out
        )
    for split, what in (("val", "validation"), ("test", "test")):
        samples = loaded[split]
        if not samples or any(_has_wrinkle(s) for s in samples):
            continue
        names = [s.stem for s in samples]
        shown = ", ".join(names[:8]) + (", ..." if len(names) > 8 else "")
        fold = f" of --fold {config.fold}" if split == "test" else ""
        plural = len(samples) > 1
        raise DataError(
            f"{config.data}: the {len(samples)} {what} image{'s' if plural else ''} ({shown})"
            f"{fold} {'have' if plural else 'has'} no wrinkle pixel in "
            f"{'their masks' if plural else 'its mask'}: over no "
            f"wrinkle pixel a model that predicts nothing scores {what} JSI 1.0 (0 / 0 "
            "counts as perfect), "
            + (
                "so best.pt would be chosen on nothing. "
                if split == "val"
                else "so the fold's score would say nothing. "
            )
            + (
                "Validate on images with wrinkles: draw other splits with another "
                "--split-seed, hold out more validation images (--val-count / "
                "--val-fraction), cross-validate with --folds K --fold N, or add labelled "
                "images."
                if split == "val"
                else "Test on images with wrinkles: draw other folds with another "
                "--split-seed, use fewer --folds (larger test folds), or add labelled images."
            )
            + new_out
        )


def _check_resumable(raw: dict[str, Any], last_path: Path) -> None:
    """Refuse a ``last.pt`` without what a resume continues from: the optimizer and scheduler
    state and the extra's splits and best score (``best.pt`` has weights only)."""
    extra = raw.get("extra")
    lacks = [k for k in ("optimizer", "scheduler") if not isinstance(raw.get(k), dict)]
    lacks += [
        f"extra.{k}" for k in ("splits", "best") if not isinstance(extra, dict) or k not in extra
    ]
    if lacks:
        raise ModelError(
            f"{last_path} holds no optimizer state to resume from (it lacks "
            f"{', '.join(lacks)}): it is not a last.pt the training loop wrote (a best.pt "
            "copied over it?). Put the run's own last.pt back to --resume, or start a new --out"
        )


def train(
    config: TrainConfig,
    *,
    resume: bool = False,
    progress: Callable[[TrainProgress], None] | None = None,
) -> TrainResult:
    """Train a :class:`WrinkleUNet` as configured and write the run folder.

    A new run (``resume=False``) needs an ``out`` apart from the data that is new, empty, or
    a run folder whose run failed before its first epoch ended (no ``last.pt``).

    Raises:
        InvalidInputError / DataError: bad settings or data, or an ``out`` a new run may not
            write to (before any training).
    """
    config.validate()
    out = Path(config.out)
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    distributed = world > 1
    if distributed:
        import torch.distributed as dist

        device = resolve_distributed_device(config.device, int(os.environ.get("LOCAL_RANK", "0")))
        if not dist.is_initialized():
            dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
        if device.type == "cuda":
            torch.cuda.set_device(device)
    else:
        device = resolve_device(config.device)
    use_amp = config.amp and device.type == "cuda"
    used = {"device": str(device), "amp": use_amp}
    main = rank == 0
    emit = progress if (progress is not None and main) else (lambda _e: None)

    layout, all_samples = discover_samples(config.data)
    if not resume:  # before any rank writes (a wrong --data is reported first)
        _check_new_out(out, config.data)
    cfg = dataclasses.asdict(config)
    cfg["data"] = _data_identity(config.data, layout, all_samples)
    cfg["augment"] = resolve_augment(config.augment, layout, config.data)
    # The scale the model learns: the side of the face crops it is trained on (not the
    # random training crop, crop_size); export makes it the kiosk's input size.
    cfg["face_crop_px"] = labelled_face_crop_px(config.data) if layout == "generic" else None
    # A model export could not give the face-crop size as its input: refused before epoch 1.
    check_face_crop_stem(cfg["face_crop_px"], config.stem, config.data)
    cfg["in_channels"] = 4
    cfg["world_size"] = world
    if config.groups is not None:  # resolved: a resume from another folder still finds it
        cfg["groups"] = str(Path(config.groups).resolve())

    last_path, best_path = out / "last.pt", out / "best.pt"
    ckpt = None
    stems = [s.stem for s in all_samples]
    if resume:
        if not last_path.is_file():
            raise InvalidInputError(f"{last_path}: nothing to resume; start without --resume")
        try:
            ckpt = load_checkpoint(last_path, expected_dice=config.dice)
        except OutputKindError as exc:
            raise OutputKindError(
                f"{out}: --resume must continue the same run: {exc}. Resume with the run's "
                "own --dice or start a new --out"
            ) from exc
        _check_resumable(ckpt.raw, last_path)
    # The random training crop: a resume keeps the run's (compared below when one is given).
    if ckpt is not None:
        crop_size = config.crop_size or ckpt.config.get("crop_size", DEFAULT_CROP_SIZE)
    else:
        crop_size = resolve_crop_size(
            config.crop_size, cfg["face_crop_px"], config.stem, config.data
        )
    check_training_crop(crop_size, config.stem)
    if crop_size != config.crop_size:
        log.info("training on random %d px crops", crop_size)
        config = dataclasses.replace(config, crop_size=crop_size)
    cfg["crop_size"] = crop_size
    # Images that share a split. A run started before splits were cut by group (no
    # "grouping" in its config; "image" once resumed) keeps its splits, cut image by image.
    per_image = (
        ckpt is not None and (ckpt.config.get("grouping") or {"rule": "image"})["rule"] == "image"
    )
    if per_image:
        groups, rule = {stem: stem for stem in stems}, "image"
    else:
        saved_csv = ckpt is not None and cfg["groups"] == ckpt.config.get("groups")
        if saved_csv and cfg["groups"] is not None and not Path(cfg["groups"]).is_file():
            raise InvalidInputError(
                f"{out}: the run's --groups file {cfg['groups']} is not there any more (moved "
                "or deleted); to resume, pass --groups NEWPATH (the file where it is now, with "
                "the same image,group rows)"
            )
        groups = image_groups(stems, groups_csv=cfg["groups"], group_by=config.group_by)
        rule = grouping_rule(cfg["groups"], config.group_by)
    cfg["grouping"] = grouping_record(groups, rule)
    if ckpt is not None:
        saved_zw = ckpt.config.get("zone_weight", 1.0)
        if not any(s.zones is not None for s in all_samples) and saved_zw != 1.0:
            # Runs started before a zone weight needed zones/ masks could have one on data
            # without them: it never weighed anything (no pixel is in a zone), so the run goes
            # on with every pixel weighed alike, whatever --zone-weight this start asks. Its
            # config keeps the weight it was started with.
            log.warning(
                "%s was started with --zone-weight %g, but %s has no zones/ masks for it to "
                "act on: it never weighed anything; resuming with every pixel weighed alike",
                out, saved_zw, config.data,
            )  # fmt: skip
            cfg["zone_weight"] = saved_zw
            config = dataclasses.replace(config, zone_weight=1.0)
        _check_resume({**ckpt.config, "dice": ckpt.dice}, cfg, out)
        splits = ckpt.raw["extra"]["splits"]
        if per_image:
            by_video = image_groups(stems)
            n_videos = len(set(by_video.values()))
            if n_videos < len(stems):
                log.warning(
                    "%s was started before splits were cut by video / person: it keeps its "
                    "saved splits, cut image by image, where frames of one video can sit in "
                    "train, val and test at once (%d images are %d groups), so its validation "
                    "and test figures are optimistic; start a new --out to split by group",
                    out, len(stems), n_videos,
                )  # fmt: skip
        cfg["provenance"] = [
            *ckpt.config.get("provenance", []),
            run_provenance(ckpt.epoch, **used, world_size=world, epochs=config.epochs),
        ]
    else:
        splits = make_splits(
            stems, seed=config.split_seed, folds=config.folds, fold=config.fold,
            val_fraction=config.val_fraction, val_count=config.val_count, groups=groups,
        )  # fmt: skip
        cfg["provenance"] = [run_provenance(0, **used, world_size=world, epochs=config.epochs)]
    by_stem = {s.stem: s for s in all_samples}
    missing = sorted({s for v in splits.values() for s in v} - set(by_stem))
    if missing:  # a resumed run's saved splits name images that are gone or renamed
        shown = ", ".join(missing[:5]) + (", ..." if len(missing) > 5 else "")
        raise DataError(
            f"{config.data}: the run's saved splits name {len(missing)} image(s) that are not in "
            f"it ({shown}); restore them under their old names to --resume, or start a new --out"
        )
    # What the validation and test images are, image by image: 'wds-edge eval' checks that
    # the files it scores under their names are these (not other images named alike).
    cfg["split_digests"] = {
        k: {stem: sample_digests(by_stem[stem]) for stem in splits.get(k, [])}
        for k in ("val", "test")
    }
    loaded = {
        k: [load_sample(by_stem[s], config.mask_threshold) for s in v] for k, v in splits.items()
    }
    _check_wrinkle_pixels(loaded, config, resumed=ckpt is not None)
    if main:
        _warn_padded_crops(loaded["train"], config.crop_size)

    _seed_all(config.seed)
    model: torch.nn.Module = WrinkleUNet(
        4,
        config.base_channels,
        config.activation,  # type: ignore[arg-type]
        out_channels_for(config.dice),
        config.input_norm,
        config.stem,
    )
    if ckpt is not None:
        model.load_state_dict(ckpt.model.state_dict())
    model.to(device)
    net = model
    if distributed:
        from torch.nn.parallel import DistributedDataParallel

        if device.type == "cuda":  # SyncBatchNorm needs CUDA; CPU (gloo) keeps local BN
            model = torch.nn.SyncBatchNorm.convert_sync_batchnorm(model)
            net = model
        # The plain loss reads F1 only: heads 2-4 get no gradient, which DDP must be told.
        model = DistributedDataParallel(
            model,
            device_ids=[device.index] if device.type == "cuda" else None,
            find_unused_parameters=config.loss == "plain",
        )
    if ckpt is not None and config.epochs < ckpt.epoch:
        raise InvalidInputError(
            f"{out}: the run already completed {ckpt.epoch} epochs; --epochs {config.epochs} "
            "cannot shorten it"
        )
    horizon = int(ckpt.config.get("epochs", 0)) if ckpt is not None else 0
    if ckpt is not None and ckpt.epoch < horizon and config.epochs < horizon:
        # An interrupted run's epochs followed the cosine of its own horizon: finished at
        # fewer epochs it would be called an N-epoch run that no N-epoch run matches.
        raise InvalidInputError(
            f"{out}: the run was interrupted after epoch {ckpt.epoch} of {horizon}: its "
            f"learning rate followed the cosine schedule of {horizon} epochs, so --epochs "
            f"{config.epochs} would finish a run no {config.epochs}-epoch run matches. Resume "
            f"with --epochs {horizon} (or more, to extend it), or start a new --out for a "
            f"{config.epochs}-epoch run"
        )
    optimizer = torch.optim.Adam(_param_groups(net, config.weight_decay), lr=config.lr)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, _cosine_factor(config))
    scaler = torch.amp.GradScaler("cuda", enabled=use_amp)
    loss_fn = DeepSupervisionLoss(config.loss, config.wwm_fill, dice=config.dice)  # type: ignore[arg-type]

    start_epoch, rows = 0, []
    best = {"jsi": -1.0, "loss": float("inf"), "epoch": 0}
    if ckpt is not None:
        try:
            optimizer.load_state_dict(ckpt.raw["optimizer"])
            scheduler.load_state_dict(ckpt.raw["scheduler"])
        except (KeyError, ValueError, TypeError) as exc:
            raise ModelError(
                f"{last_path}: optimizer / scheduler state does not fit this version of the "
                f"training loop ({exc}); start a new run"
            ) from exc
        if ckpt.raw.get("scaler") and use_amp:
            scaler.load_state_dict(ckpt.raw["scaler"])
        start_epoch = ckpt.epoch
        # The saved lr belongs to the saved horizon; re-draw it for the (maybe longer) one.
        for group, base_lr in zip(optimizer.param_groups, scheduler.base_lrs, strict=True):
            group["lr"] = base_lr * _cosine_factor(config)(start_epoch)
        rows = list(ckpt.raw["extra"].get("log", []))
        best = dict(ckpt.raw["extra"]["best"])
        log.info("resuming %s at epoch %d of %d", out, start_epoch + 1, config.epochs)

    # Built before anything is written: data it cannot use is refused with an empty --out.
    dataset = CropDataset(loaded["train"], config.crop_size, cfg["augment"], config.seed,
                          zone_weight=config.zone_weight,
                          region_balance=config.region_balance)  # fmt: skip
    if dataset.region_weights:
        log.info("region balance: loss weights %s", dataset.region_weights)
    if main:
        out.mkdir(parents=True, exist_ok=True)
        write_json_atomic(out / "config.json", cfg)
        if start_epoch < config.epochs:
            # metrics.json is a finished run's (its best.pt's final figures): a resume that
            # trains on, interrupted, would leave the shorter run's beside the new best.pt.
            _remove_durably(out / "metrics.json")
        if dataset.region_weights:
            write_json_atomic(out / "region_weights.json", dataset.region_weights)
        write_json_atomic(
            out / "folds.json",
            {"seed": config.seed, "split_seed": config.split_seed, "folds": config.folds,
             "fold": config.fold, **splits,
             "grouping": cfg["grouping"], "groups": members_of(groups)},
        )  # fmt: skip
    writer = _tensorboard(out / "tb") if (main and config.tensorboard) else None

    sampler = None
    if distributed:
        from torch.utils.data.distributed import DistributedSampler

        sampler = DistributedSampler(dataset, shuffle=True, seed=config.seed)
    # A last batch of one image is dropped (its images are drawn in other epochs: the order
    # is shuffled): BatchNorm statistics of one image are the noisiest a step can get.
    # Per process under DDP, where every process has len(sampler) images.
    per_process = len(dataset if sampler is None else sampler)
    drop_last = per_process > config.batch_size and per_process % config.batch_size == 1
    steps = per_process // config.batch_size if drop_last else -(-per_process // config.batch_size)
    emit(TrainProgress("start", start_epoch, config.epochs, steps=steps))

    for epoch in range(start_epoch, config.epochs):
        t0 = time.perf_counter()
        dataset.set_epoch(epoch)
        generator = torch.Generator().manual_seed(config.seed * 100_003 + epoch)
        if sampler is not None:
            sampler.set_epoch(epoch)
        loader = DataLoader(
            dataset, batch_size=config.batch_size, shuffle=sampler is None, sampler=sampler,
            num_workers=config.workers, worker_init_fn=seed_worker, generator=generator,
            pin_memory=device.type == "cuda", drop_last=drop_last,
        )  # fmt: skip
        lr = optimizer.param_groups[0]["lr"]
        model.train()
        total, count = 0.0, 0
        for step, (x, m, f) in enumerate(loader, start=1):
            x, m, f = (t.to(device, non_blocking=True) for t in (x, m, f))
            with torch.autocast(device_type=device.type, dtype=torch.float16, enabled=use_amp):
                heads = model(x)
            loss = loss_fn(heads, m, f)
            optimizer.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
            total += float(loss.detach()) * x.shape[0]
            count += x.shape[0]
            emit(TrainProgress("step", epoch + 1, config.epochs, step, steps, float(loss.detach())))
        scheduler.step()

        if main:
            val = evaluate_samples(net, loaded["val"], device, config.threshold, loss_fn)
            vm = val["pooled"]
            improved = improves_on(vm["jsi"], val["loss"], best)
            if improved:
                best = {"jsi": vm["jsi"], "loss": val["loss"], "epoch": epoch + 1}
            row = {
                "epoch": epoch + 1, "lr": lr, "train_loss": total / max(count, 1),
                "val_loss": val["loss"], **{f"val_{k}": v for k, v in vm.items()},
                "best_epoch": best["epoch"], "time_s": round(time.perf_counter() - t0, 3),
            }  # fmt: skip
            rows.append(row)
            metrics = {
                "val": vm, "val_per_image_mean": val["per_image_mean"], "val_loss": val["loss"],
                "val_images": val["images"], "best_epoch": best["epoch"], "split": "val",
                "fold": config.fold, "folds": config.folds, "epoch": epoch + 1,
            }  # fmt: skip
            extra = {"splits": splits, "log": rows, "best": best}
            if improved:
                save_checkpoint(best_path, model=net, config=cfg, metrics=metrics,
                                epoch=epoch + 1, extra=extra)  # fmt: skip
            save_checkpoint(
                last_path, model=net, config=cfg, metrics=metrics, epoch=epoch + 1,
                optimizer=optimizer, scheduler=scheduler, scaler=scaler, extra=extra,
            )  # fmt: skip
            _write_csv(out / "log.csv", rows)
            if writer is not None:
                for k, v in row.items():
                    if k not in ("epoch", "best_epoch"):
                        writer.add_scalar(k, v, epoch + 1)
            emit(TrainProgress("epoch", epoch + 1, config.epochs, row=row))
        if distributed:
            torch.distributed.barrier()

    result_metrics: dict[str, Any] = {}
    if main:
        best_ckpt = load_checkpoint(best_path, map_location=device)
        result_metrics = dict(best_ckpt.metrics)
        if loaded["test"]:
            test = evaluate_samples(best_ckpt.model, loaded["test"], device, config.threshold)
            result_metrics.update(
                test=test["pooled"], test_per_image_mean=test["per_image_mean"],
                test_images=test["images"],
            )  # fmt: skip
            save_checkpoint(best_path, model=best_ckpt.model, config=cfg, metrics=result_metrics,
                            epoch=best_ckpt.epoch, extra=best_ckpt.raw["extra"])  # fmt: skip
            emit(TrainProgress("test", config.epochs, config.epochs, metrics=result_metrics))
        write_json_atomic(out / "metrics.json", result_metrics)
        if writer is not None:
            writer.close()
        emit(TrainProgress("done", config.epochs, config.epochs, metrics=result_metrics))
    if distributed:
        torch.distributed.barrier()
        torch.distributed.destroy_process_group()
    return TrainResult(
        out, best_path, last_path, int(best["epoch"]), result_metrics, rows, cfg["face_crop_px"]
    )


def _cosine_factor(config: TrainConfig) -> Callable[[int], float]:
    """Closed form of ``CosineAnnealingLR(T_max=epochs, eta_min=min_lr)`` as an lr factor.

    Closed form (not the recursive scheduler) so a resumed run with a larger ``epochs``
    follows the cosine of the new horizon exactly.
    """

    def factor(epoch: int) -> float:
        t = min(epoch, config.epochs) / config.epochs
        lr = config.min_lr + (config.lr - config.min_lr) * (1 + math.cos(math.pi * t)) / 2
        return lr / config.lr

    return factor


def _tensorboard(path: Path) -> Any:
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        log.debug("tensorboard is not installed; logging to log.csv only")
        return None
    return SummaryWriter(str(path))
