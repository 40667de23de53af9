"""How `label --auto` behaves at smaller face crops than the paper's 640 px.

For every face photo of ../shared/data/faces and faces_pd, label at each ``--sizes`` crop and
at 640 px; count labelled / failed / skipped (quality gates) photos per size and compare each
smaller label, resized to 640 px (nearest), with the 640 px one: Dice, and precision / recall
/ F1 where a pixel counts as matching within +-3 px at 640 px. This is the measurement behind
``MIN_CROP_SIZE_PX`` of ``wds_edge_train.labeling.auto``, which this script lowers for
itself: measuring below the floor is its purpose (benchmarks/RESULTS.md).

    python scripts/label_scale_check.py [--generation 2] [--sizes 128,160,192,224,256,320]
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import cv2
import numpy as np

from wds_edge.errors import WdsEdgeError
from wds_edge.io import read_image
from wds_edge_train.labeling import auto as auto_module
from wds_edge_train.labeling.auto import AutoLabeler
from wds_edge_train.labeling.auto_v2 import AutoLabelerV2
from wds_edge_train.labeling.labeled import ImageSkipped

SHARED = Path(os.environ.get("WDS_EDGE_SHARED", Path(__file__).resolve().parents[2] / "shared"))
REFERENCE_PX = 640
TOLERANCE = np.ones((7, 7), np.uint8)  # +-3 px at 640


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--generation", type=int, choices=(1, 2), default=2)
    parser.add_argument("--sizes", default="128,160,192,224,256,320")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    auto_module.MIN_CROP_SIZE_PX = 32  # the floor this script measures
    landmarker = os.environ.get(
        "WDS_EDGE_FACE_LANDMARKER", str(SHARED / "models" / "face_landmarker.task")
    )
    labeler_cls = AutoLabelerV2 if args.generation == 2 else AutoLabeler
    photos = sorted((SHARED / "data" / "faces").iterdir()) + sorted(
        p for p in (SHARED / "data" / "faces_pd").iterdir() if p.suffix.lower() != ".csv"
    )
    labelers = {
        s: labeler_cls(crop_size_px=s, landmarker_path=landmarker) for s in [*sizes, REFERENCE_PX]
    }
    counts = {s: {"labelled": 0, "failed": 0, "skipped": 0} for s in labelers}
    label_share = {s: [] for s in labelers}
    rows: dict[int, list[tuple[float, float, float]]] = {s: [] for s in sizes}
    try:
        for photo in photos:
            rgb = cv2.cvtColor(read_image(photo), cv2.COLOR_BGR2RGB)
            labels = {}
            for size, labeler in labelers.items():
                try:
                    result = labeler.label(rgb)
                except ImageSkipped:
                    counts[size]["skipped"] += 1
                    continue
                except WdsEdgeError:
                    counts[size]["failed"] += 1
                    continue
                counts[size]["labelled"] += 1
                label_share[size].append(100 * result.stats["label_fraction_of_face"])
                labels[size] = result.label.astype(bool)
            if REFERENCE_PX not in labels:
                continue
            ref = labels[REFERENCE_PX]
            ref_near = cv2.dilate(ref.astype(np.uint8), TOLERANCE) > 0
            for size in sizes:
                if size not in labels:
                    continue
                up = cv2.resize(
                    labels[size].astype(np.uint8),
                    (REFERENCE_PX, REFERENCE_PX),
                    interpolation=cv2.INTER_NEAREST,
                ).astype(bool)
                up_near = cv2.dilate(up.astype(np.uint8), TOLERANCE) > 0
                dice = 2 * (up & ref).sum() / max(1, up.sum() + ref.sum())
                precision = (up & ref_near).sum() / max(1, up.sum())
                recall = (ref & up_near).sum() / max(1, ref.sum())
                rows[size].append((dice, precision, recall))
    finally:
        for labeler in labelers.values():
            labeler.close()
    print(f"generation {args.generation}, {len(photos)} photos")
    print("crop px | labelled | failed | skipped | median label % of face")
    for size, c in counts.items():
        share = f"{np.median(label_share[size]):.2f}" if label_share[size] else "-"
        print(f"{size} | {c['labelled']} | {c['failed']} | {c['skipped']} | {share}")
    print(f"crop px | photos | Dice vs {REFERENCE_PX} | precision | recall | F1 (+-3 px)")
    for size in sizes:
        if not rows[size]:
            continue
        a = np.array(rows[size])
        f1 = np.mean(2 * a[:, 1] * a[:, 2] / np.maximum(a[:, 1] + a[:, 2], 1e-9))
        print(
            f"{size} | {len(a)} | {a[:, 0].mean():.2f} | {a[:, 1].mean():.2f} | "
            f"{a[:, 2].mean():.2f} | {f1:.2f}"
        )


if __name__ == "__main__":
    main()
