"""Training data that teaches a new model to reproduce a deployed one (knowledge distillation).

Issue 25: the bundled model's 16-channel full-resolution layers keep it at 36-47 ms per
OpenVINO BF16 call on an AMX CPU; a ``--stem space_to_depth`` U-Net runs in ~15 ms but a
model retrained on weak labels is a different model, which the starter-model rule judges by
ages (docs/starter_model_selection_rule.md). A student trained on the *deployed model's own
masks* claims something else: the same masks, faster. This script writes those labels.

Every photo (and every ``--every``-th frame of ``--video``) goes through the kiosk path of
:class:`~wds_edge.analysis.analyzer.WrinkleAnalyzer` with the teacher model (ONNX Runtime
FP32: landmarks -> kiosk crop -> model); a face that gets a crop is kept whatever its quality
status (the student must copy the teacher on small or dim faces too). Written, in the
generic layout ``wds-edge train --data`` reads:

* ``images/NAME.png``: the RGB kiosk crop the teacher saw;
* ``masks/NAME.png``: the teacher's mask (probability > its threshold) as 0 / 255;
* ``probs/NAME.png``: the teacher's probability as 16-bit PNG (p x 65535), for soft targets;
* ``teacher.json``: the teacher's name, version and sha256, the threshold, every source kept
  and every one skipped with its status.

  .venv/bin/python scripts/make_distill_data.py --out runs/distill/data \\
      --images ../shared/data/faces/astronaut.png ... --video ../shared/data/video/x.mp4 \\
      --every 3 --stop 180 --landmarker ../shared/models/face_landmarker.task
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np

from wds_edge._image_read import read_image
from wds_edge.analysis.analyzer import WrinkleAnalyzer
from wds_edge.analysis.config import AnalyzerConfig
from wds_edge.io import sha256_file, write_image_atomic, write_json_atomic
from wds_edge.model.bundled import default_model_path


def _sources(images: list[str], video: str | None, every: int, stop: int):
    """(name, BGR frame) of every photo file / folder entry, then the video's frames."""
    suffixes = {".jpg", ".jpeg", ".png", ".bmp", ".webp"}
    for item in images:
        p = Path(item)
        files = (
            sorted(q for q in p.iterdir() if q.suffix.lower() in suffixes) if p.is_dir() else [p]
        )
        for f in files:
            yield f.stem, read_image(f)
    if video is None:
        return
    cap = cv2.VideoCapture(video)
    if not cap.isOpened():
        raise SystemExit(f"error: cannot open video {video}")
    index = 0
    try:
        while index < stop:
            ok, frame = cap.read()
            if not ok:
                break
            if index % every == 0:
                yield f"{Path(video).stem}_{index:05d}", frame
            index += 1
    finally:
        cap.release()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", required=True, type=Path)
    ap.add_argument("--teacher", type=Path, default=None, help="wds-edge ONNX (default: bundled)")
    ap.add_argument("--images", nargs="*", default=[], help="photo files or folders")
    ap.add_argument("--video", default=None)
    ap.add_argument("--every", type=int, default=3, help="every N-th video frame")
    ap.add_argument("--stop", type=int, default=10**9, help="video frames read at most")
    ap.add_argument("--landmarker", default=None)
    args = ap.parse_args(argv)
    if args.every < 1:
        ap.error(f"--every must be >= 1, got {args.every}")
    teacher = args.teacher or Path(default_model_path())
    if args.out.exists() and any(args.out.iterdir()):
        ap.error(f"{args.out} is not empty; pass a new folder")
    for sub in ("images", "masks", "probs"):
        (args.out / sub).mkdir(parents=True, exist_ok=True)
    config = AnalyzerConfig(
        model_path=str(teacher),
        backend="onnxruntime",
        precision="fp32",
        landmarker_path=args.landmarker,
        warmup=False,
    )
    kept, skipped = [], []
    with WrinkleAnalyzer(config) as analyzer:
        threshold = float(analyzer.threshold)
        for name, frame in _sources(args.images, args.video, args.every, args.stop):
            located = analyzer.locate(frame)
            if located.crop_transform is None:
                skipped.append({"name": name, "status": str(located.status)})
                print(f"  skip {name}: {located.status}", file=sys.stderr)
                continue
            result = analyzer.segment(None, located, score=False)
            prob = result.wrinkle_prob
            crop_rgb = result.face_crop.crop_rgb
            write_image_atomic(
                args.out / "images" / f"{name}.png", cv2.cvtColor(crop_rgb, cv2.COLOR_RGB2BGR)
            )
            write_image_atomic(
                args.out / "masks" / f"{name}.png", ((prob > threshold) * 255).astype(np.uint8)
            )
            write_image_atomic(
                args.out / "probs" / f"{name}.png",
                np.clip(prob * 65535.0 + 0.5, 0, 65535).astype(np.uint16),
            )
            kept.append(
                {
                    "name": name,
                    "status": str(located.status),
                    "mask_share": float((prob > threshold).mean()),
                }
            )
            print(f"  {name}: {located.status}, mask {100 * kept[-1]['mask_share']:.2f} %")
        info = analyzer.model_info
    summary = {
        "teacher": {"path": str(teacher), "sha256": sha256_file(teacher), "model": info},
        "threshold": threshold,
        "crop_size_px": int(crop_rgb.shape[0]) if kept else None,
        "kept": kept,
        "skipped": skipped,
    }
    write_json_atomic(args.out / "teacher.json", summary)
    print(f"{len(kept)} crops written to {args.out}, {len(skipped)} sources skipped")
    return 0 if kept else 1


if __name__ == "__main__":
    raise SystemExit(main())
