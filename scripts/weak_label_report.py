"""First vs second generation weak labels on face photos: amount, placement, direction.

    python scripts/weak_label_report.py --images ../shared/data/faces \
        --landmarker ../shared/models/face_landmarker.task --out runs/weak_labels

Labels every photo with ``label --auto --auto-version 1`` and ``2`` (OUT/v1, OUT/v2: the
usual label folders, previews included) and prints, per photo and generation: the label
as % of the face, the share of label pixels on the eyelid-margin / brow / hairline /
outline zones (``wds_edge_train.labeling.exclusion``), and the share whose ridge direction is
within 45 degrees of the region's typical wrinkle direction
(``wds_edge_train.labeling.orientation``).
Then run ``wds-edge label-agreement OUT/v1 OUT/v2`` for the Pearson r between them.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from wds_edge.perception.regions import region_masks  # noqa: E402
from wds_edge_train.labeling.exclusion import exclusion_zones, union  # noqa: E402
from wds_edge_train.labeling.orientation import expected_direction, ridge_direction  # noqa: E402
from wds_edge_train.labeling.runner import LabelOptions, label_folder  # noqa: E402
from wds_edge_train.placement import OFF_ZONES  # noqa: E402


def _measure(folder: Path, stem: str) -> dict[str, float]:
    image = cv2.cvtColor(cv2.imread(str(folder / "images" / f"{stem}.png")), cv2.COLOR_BGR2RGB)
    label = cv2.imread(str(folder / "masks" / f"{stem}.png"), cv2.IMREAD_GRAYSCALE) > 0
    lm = np.asarray(json.loads((folder / "landmarks" / f"{stem}.json").read_text())[
        "landmarks_crop_px"
    ])  # fmt: skip
    regions = region_masks(lm, label.shape[0])
    zones = exclusion_zones(image, lm)
    off = union(zones, OFF_ZONES)
    exp = expected_direction(lm, regions)
    got = ridge_direction(image, 2.0)
    aligned = 0
    for name, r in regions.items():
        sel = label & r
        diff = np.abs((got[sel] - exp[name][sel] + np.pi / 2) % np.pi - np.pi / 2)
        aligned += int((diff < np.deg2rad(45)).sum())
    n = max(1, int(label.sum()))
    return {"label_px": int(label.sum()), "off": (label & off).sum() / n, "aligned": aligned / n}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--images", type=Path, required=True)
    ap.add_argument("--landmarker", type=Path, default=None)
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    rows: dict[str, dict[int, dict[str, float]]] = {}
    for version in (1, 2):
        out = args.out / f"v{version}"
        opts = LabelOptions(landmarker_path=args.landmarker, force=True, auto_version=version)
        summary = label_folder(args.images, out, auto=True, options=opts)
        for item in summary.items:
            if item.status != "ok":
                continue
            m = _measure(out, item.stem)
            m["face_pct"] = 100 * item.stats["label_fraction_of_face"]
            rows.setdefault(item.image, {})[version] = m
    print("| photo | v1 label % of face | v2 | v1 on lids/brows/hairline/outline % | v2 "
          "| v1 along the region's direction % | v2 |")  # fmt: skip
    print("|---|---|---|---|---|---|---|")
    for photo, by in rows.items():
        a, b = by.get(1), by.get(2)
        if a is None or b is None:
            continue
        print(
            f"| {photo} | {a['face_pct']:.2f} | {b['face_pct']:.2f} | {100 * a['off']:.1f} | "
            f"{100 * b['off']:.1f} | {100 * a['aligned']:.0f} | {100 * b['aligned']:.0f} |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
