"""How much of a run's predicted wrinkle lies on the labeler's exclusion zones, measured on the
run's own VALIDATION images (the training side: never on held-out faces).

    python scripts/zone_weight_check.py runs/s24/zw1 runs/s24/zw4 --labels runs/s24/labels_train

For each run (``best.pt``, its ``folds.json`` validation stems) and each validation crop of
the ``label --auto`` folder: predicted pixels (probability > 0.5), the share of them inside
``zones/`` (lid margins, brows, hairline, outline, nostrils, lips, glasses, hair), pooled over
the images; and the run's validation JSI against the weak labels (``metrics.json``).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import cv2

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from wds_edge.errors import DataError, WdsEdgeError  # noqa: E402
from wds_edge_train.checkpoint import load_checkpoint  # noqa: E402
from wds_edge_train.evaluate import predict_probability  # noqa: E402


def check(run: Path, labels: Path) -> dict[str, object]:
    """The zone share and validation JSI of one run (see the module docstring)."""
    ckpt = load_checkpoint(run / "best.pt", map_location="cpu")
    stems = json.loads((run / "folds.json").read_text())["val"]
    predicted = on_zones = 0
    per_image = {}
    for stem in stems:
        image, zone = labels / "images" / f"{stem}.png", labels / "zones" / f"{stem}.png"
        missing = [str(p) for p in (image, zone) if not p.is_file()]
        if missing:
            raise DataError(
                f"{run}: its validation image {stem} is not in {labels} (no "
                f"{' / '.join(missing)}); pass the label --auto folder the run trained on"
            )
        rgb = cv2.cvtColor(cv2.imread(str(image)), cv2.COLOR_BGR2RGB)
        zones = cv2.imread(str(zone), cv2.IMREAD_GRAYSCALE) > 0
        pred = predict_probability(ckpt.model, rgb) > 0.5
        n, z = int(pred.sum()), int((pred & zones).sum())
        predicted, on_zones = predicted + n, on_zones + z
        per_image[stem] = {"predicted_px": n, "on_zones_px": z}
    metrics = json.loads((run / "metrics.json").read_text())
    return {
        "run": str(run), "zone_weight": ckpt.config.get("zone_weight"), "val_images": stems,
        "best_epoch": ckpt.epoch, "val_jsi": metrics["val"]["jsi"],
        "on_zones_share": on_zones / predicted if predicted else float("nan"),
        "predicted_px": predicted, "per_image": per_image,
    }  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("runs", type=Path, nargs="+", help="training run folders")
    ap.add_argument("--labels", type=Path, required=True, help="the label --auto training folder")
    args = ap.parse_args(argv)
    for sub in ("images", "zones"):
        if not (args.labels / sub).is_dir():
            ap.error(f"--labels {args.labels} has no {sub}/: pass the folder `wds-edge label "
                     "--auto` wrote for the runs (it holds images/ and zones/)")  # fmt: skip
    for run in args.runs:
        lacking = [n for n in ("best.pt", "folds.json", "metrics.json") if not (run / n).is_file()]
        if lacking:
            ap.error(f"{run} is not a finished training run (no {', '.join(lacking)})")
    try:
        rows = [check(run, args.labels) for run in args.runs]
    except WdsEdgeError as exc:
        ap.error(str(exc))
    print("| run | zone weight | best epoch | val JSI | predicted px | on zones |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {Path(str(r['run'])).name} | {r['zone_weight']} | {r['best_epoch']} | "
            f"{r['val_jsi']:.4f} | {r['predicted_px']} | {100 * r['on_zones_share']:.1f} % |"
        )
    print(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
