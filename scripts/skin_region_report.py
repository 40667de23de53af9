"""Under-eye (and every region's) ratios before / after the skin-only regions (issue 21).

For each photo the bundled model's mask is scored twice on the same crop: on the bare region
polygons with "overall" over the whole in-frame crop (the scores before issue 21) and on the
counted skin regions (:func:`wds_edge.perception.skin_regions.skin_regions`, "overall" = their
union). Prints a Markdown table (ratios in %, area removed per region in % of its polygon) and
writes small overlays (the crop's upper part; left: bare polygons and every marked pixel,
right: the counted regions, counted pixels magenta, uncounted grey).

    python scripts/skin_region_report.py --photos ../shared/data/faces/*.jpg ... \
        --landmarker ../shared/models/face_landmarker.task --figures benchmarks/figures \
        --figure-photos biden2.jpg obama2.jpg ffhq_00117.png
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np

from wds_edge.analysis.analyzer import WrinkleAnalyzer
from wds_edge.analysis.overlay import REGION_COLORS_BGR, draw_crop_overlay
from wds_edge.analysis.scoring import score_regions
from wds_edge.io import read_image, write_image_atomic
from wds_edge.perception.regions import REGION_NAMES, region_masks, region_polygons


def _bare_scores(result):  # noqa: ANN001, ANN202
    crop = result.face_crop
    polygons = {
        n: m & crop.in_frame for n, m in region_masks(crop.landmarks_crop_px, crop.size_px).items()
    }
    scores = score_regions(result.wrinkle_mask, polygons, None, overall_mask=crop.in_frame)
    return scores, polygons


def _bare_overlay(result) -> np.ndarray:  # noqa: ANN001
    crop_bgr = np.ascontiguousarray(result.face_crop.crop_rgb[:, :, ::-1])
    out = crop_bgr.copy()
    out[result.wrinkle_mask] = (
        0.4 * out[result.wrinkle_mask] + 0.6 * np.array([255, 0, 255])
    ).astype(np.uint8)
    for name, poly in region_polygons(result.face_crop.landmarks_crop_px).items():
        cv2.polylines(out, [np.round(poly).astype(np.int32)], True, REGION_COLORS_BGR[name], 2)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", nargs="+", required=True)
    parser.add_argument("--landmarker", default=None)
    parser.add_argument("--figures", default=None, help="folder for the overlay PNGs")
    parser.add_argument("--figure-photos", nargs="*", default=[])
    args = parser.parse_args()
    print(
        "| photo | status | L under-eye bare | counted | removed | R under-eye bare | counted "
        "| removed | overall bare (crop) | overall counted | smile |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    removed_share: dict[str, list[float]] = {n: [] for n in REGION_NAMES}
    with WrinkleAnalyzer(
        landmarker_path=args.landmarker, backend="onnxruntime", precision="fp32"
    ) as analyzer:
        for path in sorted(args.photos, key=lambda p: Path(p).name):
            result = analyzer.analyze(read_image(path))
            name = Path(path).name
            if not result.segmented:
                print(f"| {name} | {result.status.value} | | | | | | | | | |")
                continue
            bare, polygons = _bare_scores(result)
            cells = []
            for region in ("left_under_eye", "right_under_eye"):
                area = max(1, int(np.count_nonzero(polygons[region])))
                cells += [f"{100 * bare[region].wrinkle_ratio:.2f}",
                          f"{100 * result.scores[region].wrinkle_ratio:.2f}",
                          f"{100 * result.scores[region].removed_px / area:.0f} %"]  # fmt: skip
            for region in REGION_NAMES:
                area = max(1, int(np.count_nonzero(polygons[region])))
                removed_share[region].append(result.scores[region].removed_px / area)
            smile = (result.expression or {}).get("smile", float("nan"))
            print(
                f"| {name} | ok | {' | '.join(cells)} | {100 * bare['overall'].wrinkle_ratio:.2f} "
                f"| {100 * result.scores['overall'].wrinkle_ratio:.2f} | {smile:.2f} |"
            )
            if args.figures and name in args.figure_photos:
                size = result.face_crop.size_px
                top = slice(int(0.45 * size), int(0.92 * size))
                after = draw_crop_overlay(
                    np.ascontiguousarray(result.face_crop.crop_rgb[:, :, ::-1]), result
                )
                panel = np.hstack([_bare_overlay(result)[top], after[top]])
                panel = cv2.resize(panel, (480, round(480 * panel.shape[0] / panel.shape[1])),
                                   interpolation=cv2.INTER_AREA)  # fmt: skip
                out = Path(args.figures) / f"issue21_regions_{Path(name).stem}.png"
                write_image_atomic(out, panel)
                print(f"<!-- wrote {out} -->")
    print("\nArea removed per region, % of its polygon (median over the analysed photos):")
    print(" / ".join(f"{n} {100 * np.median(v):.0f} %" for n, v in removed_share.items() if v))


if __name__ == "__main__":
    main()
