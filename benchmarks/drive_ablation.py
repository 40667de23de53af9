"""DRIVE ablation: the same U-Net trained with plain / ds / wds losses (issue 2 benchmark).

The 20 DRIVE training images are split once (same seed for every mode) into 16 training
and 4 validation images; each mode trains from the same initialisation and is scored on
the 4 validation images (whole images, pooled over the field of view, threshold 0.5) with
its best-on-validation checkpoint. There is no separate test set here (the DRIVE test
split is not in ../shared), so these are validation figures: the selection and the score
use the same 4 images, which favours every mode alike.

Usage::

    # reduced: a 2-core CPU, < 30 min for the three modes
    python benchmarks/drive_ablation.py --reduced
    # the paper's configuration (base 64, 200 epochs) on an NVIDIA GPU
    python benchmarks/drive_ablation.py --device cuda

Prints one table and writes ``OUT/results.json`` (default OUT: runs/drive_ablation).
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

#: reduced: fits a shared 2-core CPU; full: the paper (Adam 0.01 -> 1e-6 cosine, batch 4).
CONFIGS = {
    "reduced": {"base_channels": 16, "crop_size": 256, "epochs": 25, "batch_size": 4},
    # DRIVE is 565 x 584: 576 px crops cover almost the whole image (11 reflected columns).
    "full": {"base_channels": 64, "crop_size": 576, "epochs": 200, "batch_size": 4},
}
MODES = ("plain", "ds", "wds")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    default_data = Path(os.environ.get("WDS_EDGE_SHARED", REPO.parent / "shared"))
    parser.add_argument("--data", type=Path, default=default_data / "data/DRIVE/training")
    parser.add_argument("--out", type=Path, default=REPO / "runs" / "drive_ablation")
    parser.add_argument("--reduced", action="store_true", help="CPU configuration (< 30 min)")
    parser.add_argument("--modes", default=",".join(MODES), help="comma-separated loss modes")
    parser.add_argument("--epochs", type=int, help="override the configuration's epochs")
    parser.add_argument("--base", type=int, help="override the U-Net width")
    parser.add_argument("--crop-size", type=int, help="override the crop size")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (shared CPU)")
    args = parser.parse_args()

    import torch
    from rich.console import Console
    from rich.table import Table

    from train.loop import TrainConfig, train

    torch.set_num_threads(args.threads)
    name = "reduced" if args.reduced else "full"
    cfg = dict(CONFIGS[name])
    for key, value in (("epochs", args.epochs), ("base_channels", args.base),
                       ("crop_size", args.crop_size)):  # fmt: skip
        if value is not None:
            cfg[key] = value
    console = Console()
    results: dict[str, dict] = {}
    for mode in args.modes.split(","):
        run = args.out / mode
        if run.exists():
            shutil.rmtree(run)
        t0 = time.perf_counter()
        config = TrainConfig(
            data=str(args.data), out=str(run), loss=mode, seed=args.seed, val_count=4,
            device=args.device, tensorboard=False, **cfg,
        )  # fmt: skip
        console.print(f"[bold]{mode}[/]: training {cfg} ...")
        res = train(config)
        wall_s = time.perf_counter() - t0
        results[mode] = {**res.metrics["val"], "best_epoch": res.best_epoch, "wall_s": wall_s,
                         "val_images": res.metrics["val_images"]}  # fmt: skip
        console.print(f"  done in {wall_s / 60:.1f} min, best epoch {res.best_epoch}")

    table = Table(title=f"DRIVE ablation ({name}: {cfg}), 4 validation images, pooled in FOV")
    for col in ("loss", "JSI/IoU", "accuracy", "sensitivity", "specificity", "best epoch", "min"):
        table.add_column(col, justify="right")
    for mode, r in results.items():
        figures = [r[k] for k in ("jsi", "accuracy", "sensitivity", "specificity")]
        table.add_row(
            mode, *(f"{v:.4f}" for v in figures), str(r["best_epoch"]), f"{r['wall_s'] / 60:.1f}"
        )
    console.print(table)
    summary = {
        "config": name, "settings": cfg, "seed": args.seed, "device": args.device,
        "threads": args.threads, "torch": torch.__version__, "machine": platform.processor()
        or platform.machine(), "results": results,
    }  # fmt: skip
    from wds_edge.io import write_json_atomic

    write_json_atomic(args.out / "results.json", summary)
    console.print(f"wrote {args.out / 'results.json'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
