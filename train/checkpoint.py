"""Training checkpoints: one ``torch.save`` dict, written atomically, loaded with checks.

File contents (keys of :attr:`Checkpoint.raw`; stable, the export step reads them):

* ``format`` = ``"wds-edge-checkpoint"``, ``format_version`` = 1, ``torch_version``,
  ``created_utc`` (ISO 8601)
* ``model_config``: ``WrinkleUNet(**model_config)`` rebuilds the network
  (``in_channels``, ``base_channels``, ``activation``, ``out_channels``: 1 for
  ``--dice binary``, 2 for ``--dice two-class``; absent in older files = 1;
  ``input_norm``: ``unit`` or ``centred``, absent in older files = ``unit``);
  ``model_state``: its state dict.
  The network input is float32 NCHW ``[R, G, B, T] / 255`` (texture map of Eq. 1),
  H and W multiples of 16 (the network applies its ``input_norm`` itself); in eval mode it
  outputs the F1 wrinkle probability.
* ``config``: the resolved training configuration (:class:`wds_edge_train.loop.TrainConfig` as a
  dict), at least ``base_channels``, ``activation``, ``loss`` (wds | ds | plain),
  ``dice`` (binary | two-class; absent in older files = binary),
  ``epochs``, ``batch_size``, ``crop_size``, ``lr``, ``seed``, ``split_seed`` (the seed of
  the splits; absent in older files, which split with ``seed``), ``fold`` / ``folds``
  (None without cross-validation), ``data`` = ``{"path": str, "layout":
  "generic" | "drive", "n_images": int, "files_sha256": str, "content_sha256": {kind: str |
  None}}`` (``path`` resolved to an absolute path, older files hold it as typed;
  ``files_sha256``: SHA-256 of the sorted file names relative to it, absent in older files;
  ``content_sha256``: per kind ``images``, ``masks``, ``fov``, ``zones``, ``landmarks`` the
  SHA-256 of the files' contents (None: no such files) and ``labels_options`` that of the
  ``labels.json`` mode and options (None: none), absent in older files, which resume with a
  warning and record it; a resume accepts a moved copy with the same layout, count, names
  and content, and refuses the same names with other content); since the recipes exist also
  ``recipe``,
  ``augment`` (the resolved profile; older files hold a bool: true = ``kiosk``),
  ``input_norm``, ``amp``, ``wwm_fill`` and ``provenance`` (one entry per start / resume:
  git commit and dirty flag, device, AMP and process count used, library versions, CPU /
  GPU: :mod:`wds_edge_train.provenance`); ``world_size``: the number of training processes
  (torchrun), which a resume must keep;
  ``face_crop_px``: the side in px of the face crops the model was trained on (the data's
  ``labels.json``, ``wds-edge label --crop-size``: the face scale it learned, which export
  makes the kiosk's input size; ``crop_size`` is only the random training crop), None where
  unknown (DRIVE, data not written by ``wds-edge label``); absent in older files.
* ``metrics``: ``val`` = pooled ``{jsi, accuracy, sensitivity, specificity}`` on the
  validation images at the saved epoch, ``val_per_image_mean`` (same keys), ``val_loss``,
  ``val_images`` (stems), ``best_epoch`` (1-based epoch of the best validation JSI so far),
  ``split`` = ``"val"`` (the split these figures come from), ``fold`` / ``folds``; once the
  run has finished and has a test fold also ``test`` (pooled metrics), ``test_per_image_mean``
  and ``test_images``. The test fold never influences which checkpoint is kept.
* ``epoch``: number of completed epochs (1-based).
* ``optimizer``, ``scheduler``, ``scaler``: state dicts for resuming (or None);
  ``extra``: free-form dict (the loop stores the splits, its log rows and best score).
"""

from __future__ import annotations

import datetime as _dt
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from wds_edge.errors import ModelError
from wds_edge.io import write_bytes_atomic
from wds_edge_train.model import DICE_KINDS, WrinkleUNet, dice_for

__all__ = [
    "CHECKPOINT_FORMAT",
    "CHECKPOINT_VERSION",
    "Checkpoint",
    "OutputKindError",
    "save_checkpoint",
    "load_checkpoint",
]

CHECKPOINT_FORMAT = "wds-edge-checkpoint"
CHECKPOINT_VERSION = 1


class OutputKindError(ModelError):
    """A checkpoint of one output kind (``--dice binary`` / ``two-class``) used as the other."""


@dataclass
class Checkpoint:
    """A loaded checkpoint. ``model`` is rebuilt from ``model_config`` and in eval mode."""

    model: WrinkleUNet
    model_config: dict[str, Any]
    config: dict[str, Any]
    metrics: dict[str, Any]
    epoch: int
    raw: dict[str, Any]

    @property
    def dice(self) -> str:
        """``"binary"`` (1 logit channel, sigmoid) or ``"two-class"`` (2, softmax)."""
        return dice_for(self.model.out_channels)


def _unwrap(model: torch.nn.Module) -> torch.nn.Module:
    return model.module if hasattr(model, "module") else model  # DDP / DataParallel


def save_checkpoint(
    path: str | Path,
    *,
    model: torch.nn.Module,
    config: dict[str, Any],
    metrics: dict[str, Any],
    epoch: int,
    optimizer: torch.optim.Optimizer | None = None,
    scheduler: Any = None,
    scaler: Any = None,
    extra: dict[str, Any] | None = None,
) -> Path:
    """Write a checkpoint atomically (a crash never leaves a half-written file).

    Args:
        path: target file (``.pt``); parent folders are created.
        model: a :class:`WrinkleUNet` (or a DDP wrapper of one).
        config: resolved training config (JSON-compatible values).
        metrics: validation metrics (see the module docstring for the keys).
        epoch: completed epochs.
        optimizer, scheduler, scaler: saved for resuming when given.
        extra: any further JSON-compatible data.

    Returns:
        ``path`` as a :class:`Path`.
    """
    net = _unwrap(model)
    if not isinstance(net, WrinkleUNet):
        raise ModelError(f"save_checkpoint needs a WrinkleUNet, got {type(net).__name__}")
    payload = {
        "format": CHECKPOINT_FORMAT,
        "format_version": CHECKPOINT_VERSION,
        "torch_version": str(torch.__version__),
        "created_utc": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "model_config": net.config(),
        "model_state": {k: v.detach().cpu() for k, v in net.state_dict().items()},
        "config": config,
        "metrics": metrics,
        "epoch": int(epoch),
        "optimizer": optimizer.state_dict() if optimizer is not None else None,
        "scheduler": scheduler.state_dict() if scheduler is not None else None,
        "scaler": scaler.state_dict() if scaler is not None else None,
        "extra": extra or {},
    }
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    return write_bytes_atomic(path, buffer.getvalue())


def load_checkpoint(
    path: str | Path,
    map_location: str | torch.device = "cpu",
    *,
    expected_dice: str | None = None,
) -> Checkpoint:
    """Load a checkpoint written by :func:`save_checkpoint` and rebuild its model.

    Only plain data is unpickled (``torch.load(weights_only=True)``).

    Args:
        path: the ``.pt`` file.
        map_location: torch device of the rebuilt model (the file is read on the CPU; the
            optimizer state in ``raw`` stays there).
        expected_dice: ``"binary"`` / ``"two-class"`` to insist on that output kind;
            None accepts either (the model is rebuilt with the stored one).

    Raises:
        OutputKindError: the file's output kind is not ``expected_dice``, or its model and
            its training config disagree about it.
        ModelError: missing, corrupt or foreign file, unsupported format version, or weights
            that do not fit the stored architecture.
    """
    p = Path(path)
    if not p.is_file():
        raise ModelError(f"{p}: checkpoint not found; pass RUN_DIR/best.pt from 'wds-edge train'")
    try:
        raw = torch.load(p, map_location="cpu", weights_only=True)
    except MemoryError:
        raise
    except Exception as exc:  # arbitrary bytes make the unpickler raise anything:
        # UnpicklingError, EOFError, RuntimeError, and KeyError / IndexError for some text.
        # torch's own message suggests weights_only=False, which we never do for safety.
        raise ModelError(
            f"{p}: not a readable wds-edge checkpoint (corrupt, truncated, or not a plain-data "
            f"torch file: {type(exc).__name__}); pass a best.pt / last.pt written by "
            "'wds-edge train'"
        ) from exc
    if not isinstance(raw, dict) or raw.get("format") != CHECKPOINT_FORMAT:
        raise ModelError(
            f"{p}: not a wds-edge checkpoint (no 'format': '{CHECKPOINT_FORMAT}' entry; a bare "
            "state dict or another project's file?); train with 'wds-edge train'"
        )
    version = raw.get("format_version")
    if version != CHECKPOINT_VERSION:
        raise ModelError(
            f"{p}: checkpoint format version {version} is not supported (this wds-edge reads "
            f"version {CHECKPOINT_VERSION}); upgrade wds-edge or retrain"
        )
    model_config = raw.get("model_config")
    if model_config is None:
        raise ModelError(
            f"{p}: the checkpoint has no 'model_config' (the network's architecture); use the "
            "run's own best.pt / last.pt, or retrain"
        )
    config, metrics = raw.get("config") or {}, raw.get("metrics") or {}
    for key, value in (("model_config", model_config), ("config", config), ("metrics", metrics)):
        if not isinstance(value, dict):
            raise ModelError(
                f"{p}: the checkpoint's '{key}' is {type(value).__name__}, expected a dict; the "
                "file was not written by 'wds-edge train' or was altered: use the run's own "
                "best.pt / last.pt, or retrain"
            )
    try:
        epoch = int(raw.get("epoch", 0))
    except (TypeError, ValueError) as exc:
        raise ModelError(
            f"{p}: the checkpoint's 'epoch' is {raw.get('epoch')!r}, expected a whole number; "
            "use the run's own best.pt / last.pt, or retrain"
        ) from exc
    try:
        model = WrinkleUNet(**model_config)
    except (TypeError, ValueError, RuntimeError) as exc:  # InvalidInputError is a ValueError
        raise ModelError(
            f"{p}: the stored model_config {model_config!r} does not describe a wds-edge U-Net "
            f"({exc}); use the run's own best.pt / last.pt, or retrain"
        ) from exc
    try:
        model.load_state_dict(raw["model_state"])
    except (KeyError, TypeError, RuntimeError, AttributeError) as exc:
        raise ModelError(f"{p}: the weights do not fit the stored model config ({exc})") from exc
    # load_state_dict copies into the new module's CPU parameters: move the module itself.
    model.to(map_location)
    model.eval()
    _check_output_kind(p, raw, model, expected_dice)
    return Checkpoint(
        model=model,
        model_config=dict(model_config),
        config=dict(config),
        metrics=dict(metrics),
        epoch=epoch,
        raw=raw,
    )


def _check_output_kind(
    path: Path, raw: dict[str, Any], model: WrinkleUNet, expected: str | None
) -> None:
    stored = dice_for(model.out_channels)
    trained = (raw.get("config") or {}).get("dice", "binary")
    if trained != stored:
        raise OutputKindError(
            f"{path}: the model has {model.out_channels} output channel(s) ({stored}) but was "
            f"trained with --dice {trained}; the file is inconsistent, retrain it"
        )
    if expected is not None and expected != stored:
        if expected not in DICE_KINDS:
            raise OutputKindError(f"dice must be one of {tuple(DICE_KINDS)}, got {expected!r}")
        raise OutputKindError(
            f"{path}: a --dice {stored} checkpoint ({model.out_channels} output channel(s)) "
            f"cannot be used as --dice {expected}; pass --dice {stored} (or a {expected} "
            "checkpoint), or start a new run with a new --out"
        )
