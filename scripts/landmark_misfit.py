"""The landmark misfits the fusion tolerance rests on (issue 21, wds_edge/analysis/fusion.py).

Two measurements, both with the SDK's own crop and misfit (mean distance per landmark after a
similarity fit, iris ruler):

* a clip of one person: every good frame's misfit to the median landmarks of all of them;
* photos: each pair's misfit to each other (the second onto the first), labelled by file name,
  so pairs of one person and pairs of two people can be read apart.

    python scripts/landmark_misfit.py --video ../shared/data/video/portrait_motion_720p.mp4 \
        --photos ../shared/data/faces/*.jpg [--landmarker face_landmarker.task]
"""

from __future__ import annotations

import argparse
import itertools
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from wds_edge import AnalyzerConfig, WrinkleAnalyzer  # noqa: E402
from wds_edge.analysis.fusion import landmark_misfit_mm, misfit_mm  # noqa: E402
from wds_edge.capture import open_source  # noqa: E402
from wds_edge.errors import WdsEdgeError  # noqa: E402
from wds_edge.io import read_image  # noqa: E402
from wds_edge.perception.exclusion import mm_per_crop_px  # noqa: E402


def clip_misfits(analyzer: WrinkleAnalyzer, video: str) -> list[float]:
    """Each good frame's misfit (mm) to the median landmarks of the clip's good frames."""
    landmarks = []
    with open_source(video) as source:
        for frame in source:
            located = analyzer.locate(frame.image_bgr, timestamp_ms=frame.timestamp_ms)
            if located.status == "ok" and located.face_crop is not None:
                landmarks.append(located.face_crop.landmarks_crop_px)
    if len(landmarks) < 2:
        raise SystemExit(f"error: {video}: fewer than 2 good frames ({len(landmarks)})")
    return landmark_misfit_mm(landmarks)[1]


def photo_misfits(analyzer: WrinkleAnalyzer, photos: list[str]) -> list[tuple[str, str, float]]:
    """(photo a, photo b, misfit of b's landmarks fitted onto a's, mm) for each pair with a face."""
    found = {}
    for photo in photos:
        located = analyzer.locate(read_image(photo))
        if located.face_crop is None:
            print(f"{photo}: no usable face ({located.status}), left out")
            continue
        found[Path(photo).name] = np.asarray(located.face_crop.landmarks_crop_px, np.float64)
    rows = []
    for (a, pa), (b, pb) in itertools.combinations(found.items(), 2):
        rows.append((a, b, misfit_mm(pb, pa, mm_per_crop_px(pa))))
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--video", help="a clip of one person")
    parser.add_argument("--photos", nargs="*", default=[], help="photos (pairs are compared)")
    parser.add_argument("--landmarker", help="face_landmarker.task (default: search)")
    args = parser.parse_args(argv)
    if not args.video and len(args.photos) < 2:
        parser.error("give --video, or two or more --photos")
    try:
        with WrinkleAnalyzer(AnalyzerConfig(landmarker_path=args.landmarker)) as analyzer:
            if len(args.photos) >= 2:
                for a, b, mm in photo_misfits(analyzer, args.photos):
                    print(f"{a} ~ {b}: {mm:.2f} mm")
        if args.video:
            config = AnalyzerConfig(landmarker_path=args.landmarker, video_mode=True)
            with WrinkleAnalyzer(config) as analyzer:
                m = clip_misfits(analyzer, args.video)
            print(
                f"{args.video}: {len(m)} good frames, misfit to their median "
                f"min {min(m):.2f} / median {np.median(m):.2f} / max {max(m):.2f} mm"
            )
    except WdsEdgeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
